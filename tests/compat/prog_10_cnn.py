"""A small CNN on the 8x8 digits: Conv2d, MaxPool2d, BatchNorm2d, Flatten, Dropout in eval.

Trained with Adam on fixed batches; dropout only at evaluation (where it is the identity),
since the two libraries draw different masks.
"""

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

digits = load_digits()
X = torch.tensor(digits.data[:512] / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
y = torch.tensor(digits.target[:512])

model = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=3, padding=1, bias=False),  # batch norm cancels a bias
    nn.BatchNorm2d(6),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(6, 8, 3),
    nn.ReLU(),
    nn.Flatten(),
    nn.Dropout(0.0),
    nn.Linear(8 * 2 * 2, 10),
)
rng = np.random.default_rng(9)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "1." in name[:2]:  # batch norm keeps its ones and zeros
            continue
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, p.shape).astype(np.float32)))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()

losses = []
for epoch in range(4):
    for i in range(0, 512, 64):
        xb, yb = X[i : i + 64], y[i : i + 64]
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

model.eval()
with torch.no_grad():
    accuracy = (model(X).argmax(1) == y).float().mean().item()
running_mean = model[1].running_mean.tolist()
RESULT = {
    "same": {"losses": losses, "running_mean": running_mean},
    "check": {"learned": accuracy > 0.5, "params": sum(p.numel() for p in model.parameters()) > 0},
}
