"""A custom autograd Function (the Legendre polynomial P3) inside a manual training loop.

After PyTorch's "Learning PyTorch with Examples" (polynomial_custom_function).
"""

import math

import numpy as np
import torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

init = [0.0, -1.0, 0.0, 0.3]
a, b, c, d = (torch.full((), v, dtype=dtype, requires_grad=True) for v in init)

losses = []
learning_rate = 5e-6
for t in range(200):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        for param in (a, b, c, d):
            param -= learning_rate * param.grad
            param.grad = None

check = torch.autograd.gradcheck(
    LegendrePolynomial3.apply, (torch.tensor(np.linspace(-1, 1, 5), requires_grad=True),)
)
RESULT = {
    "same": {"losses": losses, "final": [a.item(), b.item(), c.item(), d.item()]},
    "check": {"gradcheck": bool(check), "converged": losses[-1] < losses[0]},
}
