"""fit() with a validation loader, then save and load a state dict and a checkpoint."""

from __future__ import annotations

import os
import tempfile

import numpy as np

import retrograd as rg
from retrograd import nn, optim
from retrograd.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
X = rg.from_numpy(rng.standard_normal((80, 3)).astype(np.float32))
y = rg.from_numpy(rng.standard_normal((80, 1)).astype(np.float32))
train = DataLoader(TensorDataset(X[:60], y[:60]), batch_size=20)
val = DataLoader(TensorDataset(X[60:], y[60:]), batch_size=20)
model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
history: rg.History = rg.fit(model, nn.MSELoss(), opt, train, val, max_epochs=3, progress=False)
print(history.train_loss[-1], len(history.train_loss))

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "model.pt")
    rg.save(model.state_dict(), path)
    state = rg.load(path)
    model.load_state_dict(state)
    rg.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    checkpoint = rg.load(path)
    opt.load_state_dict(checkpoint["optimizer"])
