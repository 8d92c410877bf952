"""The tutorial's textbook case, written as a PyTorch user writes it.

A 2-2-1 network with sigmoid activations learns XOR with MSE loss and plain
gradient descent (``optim.SGD`` without momentum: w_new = w_old - lr * dL/dw).
"""

from __future__ import annotations

import retrograd as rg
from retrograd import nn, optim


def main(epochs: int = 3000, lr: float = 2.0, seed: int = 3) -> float:
    rg.manual_seed(seed)
    x = rg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = rg.tensor([[0.0], [1.0], [1.0], [0.0]])
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)

    for epoch in range(epochs + 1):
        y_pred = model(x)  # step 1: forward pass
        loss = loss_fn(y_pred, y)  # step 2: compute the loss
        optimizer.zero_grad()
        loss.backward()  # step 3: backward pass, the chain rule layer by layer
        optimizer.step()  # gradient descent: w_new = w_old - lr * dL/dw
        if epoch % 300 == 0:  # step 4: repeat until the loss is minimal
            print(f"epoch {epoch:5d}  loss {loss.item():.6f}")
    with rg.no_grad():
        print("predictions:", [round(v, 3) for v in model(x).numpy().ravel().tolist()])
    return loss.item()


if __name__ == "__main__":
    main()
