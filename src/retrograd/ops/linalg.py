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


# ---------------------------------------------------------------- einsum


class Einsum(Op):
    """d einsum(..., x_k, ...) = einsum of g with the other operands, to x_k's subscripts.

    ``inputs`` are the operands' subscripts and ``output`` the result's, one letter
    per dimension (ellipses already spelled out); no letter repeats within an operand.
    A letter summed away in x_k alone comes back by broadcasting.
    """

    inputs: tuple[str, ...]
    output: str

    def forward(self, *xs: ndarray) -> ndarray:
        self.xs = xs
        return xp.einsum(f"{','.join(self.inputs)}->{self.output}", *xs)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return tuple(
            _einsum_grad(self, k, g, self.xs, xp.einsum, xp.broadcast_to) if need else None
            for k, need in enumerate(self.needs)
        )

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        xs = tuple(hg.saved_input(self, i, x) for i, x in enumerate(self.xs))

        def einsum(eq: str, *ts: Any) -> Any:
            ins, out = eq.split("->")
            return hg.call(Einsum, *ts, inputs=tuple(ins.split(",")), output=out)

        return tuple(
            _einsum_grad(self, k, g, xs, einsum, lambda t, s: t.expand(*s)) if need else None
            for k, need in enumerate(self.needs)
        )


def _einsum_grad(node: Einsum, k: int, g: Any, xs: tuple[Any, ...], einsum: Any, bcast: Any) -> Any:
    subs = node.inputs[k]
    others = [i for i in range(len(xs)) if i != k]
    present = set(node.output).union(*(node.inputs[i] for i in others))
    kept = "".join(c for c in subs if c in present)
    terms = ",".join([node.output, *(node.inputs[i] for i in others)])
    out = einsum(f"{terms}->{kept}", g, *(xs[i] for i in others))
    if kept == subs:
        return out
    shape = xs[k].shape
    with_ones = tuple(shape[i] if c in present else 1 for i, c in enumerate(subs))
    return bcast(out.reshape(with_ones), shape)
