"""Linear algebra: the matrix product."""

from __future__ import annotations

from typing import Any

from .. import threads
from .._backend import ndarray, sum_to, xp
from ..autograd import Op
from ..autograd import higher as hg

# ---------------------------------------------------------------- matmul


class MatMul(Op):
    """d(a@b) = (g@b^T, a^T@g), with 1-D operands promoted and batch axes summed back.

    NOTE: each direction first sets NumPy's BLAS threads by the product's size
    (:mod:`retrograd.threads`); the two gradient products do as much work as the forward.
    """

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b = a, b
        threads.for_work(threads.matmul_work(a, b))
        return a @ b

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a, b = self.a, self.b
        threads.for_work(threads.matmul_work(a, b))
        if a.ndim == 2 and b.ndim == 2:  # the common case: no promotion, no batch axes
            return (
                g @ b.swapaxes(0, 1) if self.needs[0] else None,
                a.swapaxes(0, 1) @ g if self.needs[1] else None,
            )
        # Promote 1-D operands to matrices, as matmul itself does, then undo it.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:
            g2 = xp.reshape(g, (1, 1))
        elif a.ndim == 1:
            g2 = xp.expand_dims(g, -2)
        elif b.ndim == 1:
            g2 = xp.expand_dims(g, -1)
        else:
            g2 = g
        ga = gb = None
        if self.needs[0]:
            ga = sum_to(g2 @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if self.needs[1]:
            gb = sum_to(a2.swapaxes(-1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a, b = hg.saved_input(self, 0, self.a), hg.saved_input(self, 1, self.b)
        # The same promotion of 1-D operands as backward, on Tensors.
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(1) if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:
            g2 = g.reshape(1, 1)
        elif a.ndim == 1:
            g2 = g.unsqueeze(-2)
        elif b.ndim == 1:
            g2 = g.unsqueeze(-1)
        else:
            g2 = g
        ga = gb = None
        if self.needs[0]:
            ga = sum_to(g2 @ b2.transpose(-1, -2), a2.shape).reshape(a.shape)
        if self.needs[1]:
            gb = sum_to(a2.transpose(-1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb
