"""The character MLP as an nn.Module: nn.Embedding, nn.Linear, nn.Tanh, SGD with momentum.

Trained on fixed minibatches, then names sampled with multinomial from a Generator.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

text = "hello world. the quick brown fox jumps over the lazy dog. pack my box with five dozen jugs."
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
V, block = len(chars), 4
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
X = torch.stack([data[i : i + block] for i in range(len(data) - block)])
Y = data[block:]


class CharMLP(nn.Module):
    def __init__(self, vocab, emb_dim, hidden):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb_dim)
        self.net = nn.Sequential(
            nn.Linear(block * emb_dim, hidden), nn.Tanh(), nn.Linear(hidden, vocab)
        )

    def forward(self, idx):
        e = self.emb(idx)
        return self.net(e.view(e.shape[0], -1))


model = CharMLP(V, 8, 32)
rng = np.random.default_rng(5)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, p.shape).astype(np.float32)))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

losses = []
order = np.random.default_rng(6).permutation(len(X))
for step in range(60):
    ix = torch.from_numpy(order[(step * 16) % len(X) :][:16])
    logits = model(X[ix])
    loss = F.cross_entropy(logits, Y[ix])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

model.eval()
with torch.no_grad():
    full = F.cross_entropy(model(X), Y).item()
    g = torch.Generator().manual_seed(42)
    context = X[:1]
    out = []
    for _ in range(20):
        probs = F.softmax(model(context), dim=-1)
        nxt = torch.multinomial(probs, num_samples=1, generator=g)
        out.append(chars[nxt.item()])
        context = torch.cat([context[:, 1:], nxt], dim=1)

RESULT = {
    "same": {"losses": losses, "full": full},
    "check": {"learned": full < losses[0], "sample": len(out) == 20 and set(out) <= set(chars)},
}
