"""One head of causal self-attention over a batch of sequences, trained to predict a shift.

After the "GPT from scratch" lecture: torch.tril, masked_fill with -inf, softmax, the
scaled product with transpose, bmm and einsum, nn.LayerNorm, AdamW with clipping.
"""

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

torch.manual_seed(1337)
B, T, C, V = 4, 8, 16, 11
rng = np.random.default_rng(10)
tokens = torch.from_numpy(rng.integers(0, V, (B, T + 1)))
x_idx, targets = tokens[:, :-1], tokens[:, 1:]


class Head(nn.Module):
    def __init__(self, head_size):
        super().__init__()
        self.key = nn.Linear(C, head_size, bias=False)
        self.query = nn.Linear(C, head_size, bias=False)
        self.value = nn.Linear(C, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(T, T)))

    def forward(self, x):
        _, T, _ = x.shape
        k, q = self.key(x), self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = F.softmax(wei, dim=-1)
        v = self.value(x)
        return torch.bmm(wei, v)


class TinyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, C)
        self.pos = nn.Embedding(T, C)
        self.head = Head(C)
        self.ln = nn.LayerNorm(C)
        self.out = nn.Linear(C, V)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        x = x + self.head(self.ln(x))
        logits = self.out(x)
        return torch.einsum("btv->btv", logits)


model = TinyModel()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.2, p.shape).astype(np.float32)))
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
losses = []
for step in range(40):
    logits = model(x_idx)
    loss = F.cross_entropy(logits.view(B * T, V), targets.reshape(B * T))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    losses.append(loss.item())

with torch.no_grad():
    probs = F.softmax(model(x_idx)[:, -1, :], dim=-1)
    top = torch.topk(probs, 3, dim=-1)
RESULT = {
    "same": {"losses": losses, "top_values": top.values.tolist(), "norm": float(norm)},
    "check": {"learned": losses[-1] < 0.9 * losses[0], "top_indices": top.indices.shape == (B, 3)},
}
