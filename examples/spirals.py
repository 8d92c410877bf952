"""A two-hidden-layer ReLU network on two interleaved spirals, a non-linear 2-D problem."""

from __future__ import annotations

import numpy as np

import retrograd as rg
from retrograd import nn, optim


def make_spirals(n: int = 1000, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two spirals of ``n // 2`` points each, one per class."""
    rng = np.random.default_rng(seed)
    m = n // 2
    t = np.sqrt(rng.uniform(0, 1, m)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    x = np.concatenate([arm, -arm]) + rng.normal(scale=noise, size=(2 * m, 2))
    y = np.concatenate([np.zeros(m), np.ones(m)]).astype(np.int64)
    return (x / x.std()).astype(np.float32), y


def main(epochs: int = 100, seed: int = 0) -> float:
    rg.manual_seed(seed)
    x, y = make_spirals(seed=seed)
    perm = np.random.default_rng(seed).permutation(len(x))
    train, test = perm[:800], perm[800:]
    model = nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)
    )
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    xt, yt = rg.tensor(x[train]), rg.tensor(y[train])
    for epoch in range(epochs):
        order = np.random.default_rng(seed + epoch).permutation(len(train))
        for start in range(0, len(order), 64):
            idx = order[start : start + 64]
            loss = loss_fn(model(xt[idx]), yt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % 20 == 0:
            print(f"epoch {epoch:4d}  loss {loss.item():.4f}")
    with rg.no_grad():
        pred = model(rg.tensor(x[test])).argmax(1).numpy()
    accuracy = float((pred == y[test]).mean())
    print(f"test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
