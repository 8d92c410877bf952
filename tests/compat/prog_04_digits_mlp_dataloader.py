"""An MLP classifier on scikit-learn's digits, with Dataset, DataLoader and Adam.

The classic small training script: a module subclass, a device, train/eval modes,
accuracy under no_grad.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

device = "cuda" if torch.cuda.is_available() else "cpu"
digits = load_digits()
X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target, dtype=torch.long)
train = TensorDataset(X[:1400], y[:1400])
test = TensorDataset(X[1400:], y[1400:])
train_loader = DataLoader(train, batch_size=64, shuffle=False, num_workers=0, drop_last=True)
test_loader = DataLoader(test, batch_size=128, pin_memory=True)


class MLP(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


model = MLP(64, 32, 10).to(device)
rng = np.random.default_rng(2)
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.1, p.shape).astype(np.float32)))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.CrossEntropyLoss()

epoch_losses = []
for epoch in range(5):
    model.train()
    batch_losses = []
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        batch_losses.append(loss.item())
    epoch_losses.append(sum(batch_losses) / len(batch_losses))
    print(f"epoch {epoch}: loss {epoch_losses[-1]:.4f}")

model.eval()
correct = 0
with torch.no_grad():
    for xb, yb in test_loader:
        pred = model(xb).argmax(dim=1)
        correct += (pred == yb).sum().item()
accuracy = correct / len(test)
print(f"test accuracy {accuracy:.3f}")
RESULT = {
    "same": {"epoch_losses": epoch_losses, "accuracy": accuracy},
    "check": {"learned": accuracy > 0.8},
}
