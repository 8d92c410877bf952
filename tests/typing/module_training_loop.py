"""An nn.Module subclass trained by a hand-written loop with optim and a DataLoader."""

from __future__ import annotations

import numpy as np

import retrograd as rg
import retrograd.nn.functional as F
from retrograd import nn, optim
from retrograd.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, n_in: int, n_hidden: int, n_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_out)
        self.drop = nn.Dropout(0.1)

    def forward(self, x: rg.Tensor) -> rg.Tensor:
        return self.fc2(self.drop(F.relu(self.fc1(x))))


rng = np.random.default_rng(0)
X = rg.from_numpy(rng.standard_normal((64, 4)).astype(np.float32))
y = rg.from_numpy(rng.integers(0, 3, 64))
loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)
model = Net(4, 8, 3)
opt = optim.Adam(model.parameters(), lr=1e-2)
scheduler = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
loss_fn = nn.CrossEntropyLoss()
for _epoch in range(2):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    scheduler.step()
model.eval()
with rg.no_grad():
    predicted = model(X).argmax(dim=1)
accuracy: float = (predicted == y).float().mean().item()
state = model.state_dict()
model.load_state_dict(state)
n_params: int = sum(p.numel() for p in model.parameters())
print(accuracy, n_params, opt.state_dict()["param_groups"][0]["lr"])
