"""Fit y = sin(x) with a cubic polynomial: raw tensors, autograd, manual updates.

After PyTorch's "Learning PyTorch with Examples" (polynomial_autograd).
"""

import math

import numpy as np
import torch

dtype = torch.float
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# the tutorial draws these with torch.randn; one NumPy draw makes both libraries start equal
init = np.random.default_rng(0).standard_normal(4)
a = torch.tensor(init[0], device=device, dtype=dtype, requires_grad=True)
b = torch.tensor(init[1], device=device, dtype=dtype, requires_grad=True)
c = torch.tensor(init[2], device=device, dtype=dtype, requires_grad=True)
d = torch.tensor(init[3], device=device, dtype=dtype, requires_grad=True)

losses = []
learning_rate = 1e-6
for t in range(300):
    y_pred = a + b * x + c * x**2 + d * x**3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"{loss:.4f}", loss.item())
    losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
RESULT = {
    "same": {"losses": losses, "coefficients": [a.item(), b.item(), c.item(), d.item()]},
    "check": {"converged": losses[-1] < losses[0] / 10},
}
