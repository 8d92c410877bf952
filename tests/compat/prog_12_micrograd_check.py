"""The micrograd lecture's check against PyTorch: a neuron by hand, gradients in float64.

torch.Tensor([...]).double(), requires_grad set after creation, tanh, backward,
.grad.item(), and the same through nn.functional on a batch.
"""

import torch

x1 = torch.Tensor([2.0]).double()
x1.requires_grad = True
x2 = torch.Tensor([0.0]).double()
x2.requires_grad = True
w1 = torch.Tensor([-3.0]).double()
w1.requires_grad = True
w2 = torch.Tensor([1.0]).double()
w2.requires_grad = True
b = torch.Tensor([6.8813735870195432]).double()
b.requires_grad = True
n = x1 * w1 + x2 * w2 + b
o = torch.tanh(n)
print(o.data.item())
o.backward()
grads = [t.grad.item() for t in (x1, w1, x2, w2)]

xs = torch.tensor([[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]])
ys = torch.tensor([1.0, -1.0, -1.0, 1.0])
W = torch.tensor([[0.1, -0.2, 0.3], [0.5, 0.1, -0.4]], requires_grad=True)
v = torch.tensor([0.3, -0.7], requires_grad=True)
losses = []
for k in range(20):
    ypred = torch.tanh(torch.tanh(xs @ W.T) @ v)
    loss = ((ypred - ys) ** 2).sum()
    W.grad = None
    v.grad = None
    loss.backward()
    for p in (W, v):
        p.data += -0.05 * p.grad
    losses.append(loss.item())

RESULT = {
    "same": {"o": o.item(), "grads": grads, "losses": losses},
    "check": {"dtype": o.dtype == torch.float64, "learned": losses[-1] < losses[0]},
}
