"""A character-level MLP language model with raw tensors (Bengio et al. 2003).

After the second "makemore" lecture: an embedding table C indexed by a block of
characters, emb.view, tanh, F.cross_entropy, minibatches, a learning-rate decay,
then sampling with softmax and multinomial.
"""

import numpy as np
import torch
import torch.nn.functional as F

words = (
    "emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily "
    "elizabeth mila ella avery sofia camila aria scarlett victoria madison luna grace"
).split()
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
V = len(stoi)
block_size = 3


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


Xtr, Ytr = build_dataset(words)
rng = np.random.default_rng(4)


def param(*shape, scale=1.0):
    return torch.tensor(rng.standard_normal(shape) * scale, dtype=torch.float32)


C = param(V, 2)
W1 = param(6, 50, scale=(5 / 3) / 6**0.5)
b1 = param(50, scale=0.01)
W2 = param(50, V, scale=0.01)
b2 = param(V, scale=0.0)
parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters), "parameters")
for p in parameters:
    p.requires_grad = True

lossi = []
for i in range(120):
    ix = torch.from_numpy(rng.integers(0, Xtr.shape[0], 32))  # torch.randint's stream differs
    emb = C[Xtr[ix]]
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Ytr[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.1 if i < 80 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    lossi.append(loss.log10().item())

with torch.no_grad():
    emb = C[Xtr]
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
    full_loss = F.cross_entropy(h @ W2 + b2, Ytr).item()
smoothed = torch.tensor(lossi).view(-1, 10).mean(1).tolist()

g = torch.Generator().manual_seed(2147483647 + 10)
names = []
for _ in range(5):
    out, context = [], [0] * block_size
    while len(out) < 20:
        emb = C[torch.tensor([context])]
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        probs = F.softmax(h @ W2 + b2, dim=1)
        ix = torch.multinomial(probs, num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        out.append(ix)
        if ix == 0:
            break
    names.append("".join(itos[i] for i in out))

RESULT = {
    "same": {"log10_losses": lossi, "smoothed": smoothed, "full_loss": full_loss},
    "check": {
        "learned": full_loss < 2.9,
        "names": all(set(n) <= set(stoi) for n in names) and len(names) == 5,
    },
}
