"""A typical first program: tensors, operators, autograd (checked by mypy and pyright)."""

from __future__ import annotations

import numpy as np

import retrograd as rg

x = rg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
w = rg.randn(2, 3, requires_grad=True)
b = rg.zeros(3)
y = (x @ w + b).relu()
loss = (y**2).mean()
loss.backward()
grad: rg.Tensor | None = x.grad
assert grad is not None
array: np.ndarray = grad.numpy()
shape: tuple[int, ...] = y.shape
value: float = loss.item()

with rg.no_grad():
    z = rg.exp(x) * 2 - rg.sigmoid(x).sum(dim=0)
print(z.detach().numpy(), array, shape, value, rg.float32, rg.cat([x, x], dim=0))
rg.manual_seed(0)
rg.set_num_threads(1)
n: int = rg.get_num_threads()

# Names that share a submodule's name: the function must win (pyright took rg.tensor
# for the module retrograd/tensor.py).
double = rg.randn(3, dtype=rg.float64, requires_grad=True)
ok: bool = rg.gradcheck(lambda t: (t * t).sum(), (double,))
t: rg.Tensor = rg.tensor(3.0)
print(ok, t, rg.functional.relu(t), rg.optim.SGD)
