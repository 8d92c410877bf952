"""Checkpoint and resume: save model and optimizer state dicts mid-training, load, continue.

The resumed run must repeat the uninterrupted one step for step.
"""

import os
import tempfile

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(8)
X = torch.from_numpy(rng.standard_normal((64, 4)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 3, 64))
init = [rng.normal(0, 0.4, s).astype(np.float32) for s in [(8, 4), (8,), (3, 8), (3,)]]


def build():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    with torch.no_grad():
        for p, v in zip(model.parameters(), init):
            p.copy_(torch.from_numpy(v))
    return model, torch.optim.Adam(model.parameters(), lr=0.05)


def steps(model, opt, n):
    losses = []
    for _ in range(n):
        loss = nn.CrossEntropyLoss()(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


model, opt = build()
straight = steps(model, opt, 20)

model, opt = build()
first = steps(model, opt, 10)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "checkpoint.pt")
    torch.save({"epoch": 10, "model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
model, opt = build()
missing, unexpected = model.load_state_dict(checkpoint["model"])
opt.load_state_dict(checkpoint["optimizer"])
resumed = first + steps(model, opt, 10)

RESULT = {
    "same": {"straight": straight, "resumed": resumed, "epoch": checkpoint["epoch"]},
    "check": {
        "resume_is_exact": resumed == straight,
        "keys": not missing and not unexpected,
        "state": sorted(checkpoint["optimizer"]) == ["param_groups", "state"],
    },
}
