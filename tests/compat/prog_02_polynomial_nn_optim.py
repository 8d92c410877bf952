"""The same fit with nn.Sequential, nn.MSELoss and an optimizer (RMSprop).

After PyTorch's "Learning PyTorch with Examples" (polynomial_optim).
"""

import math

import numpy as np
import torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
rng = np.random.default_rng(1)
with torch.no_grad():
    for param in model.parameters():
        param.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, param.shape).astype(np.float32)))
loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-3
optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
losses = []
for t in range(200):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

linear_layer = model[0]
coefficients = [linear_layer.bias.item(), *linear_layer.weight[:, 0].tolist()]
print(f"Result: y = {coefficients}")
RESULT = {
    "same": {"losses": losses, "coefficients": coefficients},
    "check": {
        "converged": losses[-1] < losses[0] / 10,
        "params": len(list(model.parameters())) == 2,
    },
}
