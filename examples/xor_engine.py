"""XOR with nothing but the engine: tensors, the chain rule, and gradient descent.

A 2-2-1 network with sigmoid activations, as in the backpropagation tutorial:
forward pass z = W x + b, a = sigmoid(z); loss L = mean((y_pred - y_true)^2);
backward pass by ``loss.backward()``; update w <- w - eta * dL/dw; repeat.
"""

from __future__ import annotations

import retrograd as rg


def main(epochs: int = 3000, lr: float = 2.0, seed: int = 3) -> float:
    rg.manual_seed(seed)
    x = rg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = rg.tensor([[0.0], [1.0], [1.0], [0.0]])
    w1 = (rg.randn(2, 2) * 1.5).requires_grad_()
    b1 = rg.zeros(2, requires_grad=True)
    w2 = (rg.randn(2, 1) * 1.5).requires_grad_()
    b2 = rg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]

    for epoch in range(epochs + 1):
        hidden = (x @ w1 + b1).sigmoid()  # step 1: forward pass, hidden layer
        y_pred = (hidden @ w2 + b2).sigmoid()  # ... and output layer
        loss = ((y_pred - y) ** 2).mean()  # step 2: the loss
        for p in params:
            p.grad = None
        loss.backward()  # step 3: the chain rule, output layer back to input
        with rg.no_grad():  # gradient descent: w_new = w_old - eta * dL/dw
            for p in params:
                p.array -= lr * p.grad.array
        if epoch % 300 == 0:
            print(f"epoch {epoch:5d}  loss {loss.item():.6f}")
    print("predictions:", [round(v, 3) for v in y_pred.detach().numpy().ravel().tolist()])
    return loss.item()


if __name__ == "__main__":
    main()
