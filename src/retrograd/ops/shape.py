"""Shape operations: reshape, permute, expand, indexing, cat and stack."""

from __future__ import annotations

import itertools
from typing import Any

from .._backend import ndarray, sum_to, xp
from ..autograd import Op
from ..autograd import higher as hg

# ---------------------------------------------------------------- shape ops


class Reshape(Op):
    """d reshape(a) = g reshaped back."""

    shape: tuple[int, ...]

    def forward(self, a: ndarray) -> ndarray:
        self.src = a.shape
        return a.reshape(self.shape)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g.reshape(self.src),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g.reshape(self.src),)


class Permute(Op):
    """d permute(a, dims) = g permuted by the inverse permutation."""

    dims: tuple[int, ...]

    def forward(self, a: ndarray) -> ndarray:
        return a.transpose(self.dims)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g.transpose(tuple(xp.argsort(self.dims))),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g.permute(*(int(d) for d in xp.argsort(self.dims))),)


class Expand(Op):
    """d expand(a) = g summed back to a's shape (expand's backward is a sum)."""

    shape: tuple[int, ...]

    def forward(self, a: ndarray) -> ndarray:
        self.src = a.shape
        return xp.broadcast_to(a, self.shape)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (sum_to(g, self.src),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (sum_to(g, self.src),)


class Index(Op):
    """d a[idx] = g scattered into zeros; repeated indices accumulate."""

    idx: Any
    advanced: bool

    def forward(self, a: ndarray) -> ndarray:
        self.shape = a.shape
        return a[self.idx]

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        out = xp.zeros(self.shape, dtype=g.dtype)
        if self.advanced:
            xp.add.at(out, self.idx, g)
        else:
            out[self.idx] = g
        return (out,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (hg.call(IndexBackward, g, idx=self.idx, advanced=self.advanced, shape=self.shape),)


class IndexBackward(Op):
    """Index's backward as an op: g scattered into zeros of ``shape``; its backward is g[idx]."""

    idx: Any
    advanced: bool
    shape: tuple[int, ...]

    def forward(self, g: ndarray) -> ndarray:
        out = xp.zeros(self.shape, dtype=g.dtype)
        if self.advanced:
            xp.add.at(out, self.idx, g)
        else:
            out[self.idx] = g
        return out

    def backward(self, gg: ndarray) -> tuple[ndarray | None, ...]:
        return (gg[self.idx],)

    def backward_graph(self, gg: Any) -> tuple[Any, ...]:
        return (hg.call(Index, gg, idx=self.idx, advanced=self.advanced),)


class Cat(Op):
    """d cat(xs, axis) = g split back into the pieces."""

    axis: int

    def forward(self, *xs: ndarray) -> ndarray:
        self.bounds = xp.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return tuple(xp.split(g, self.bounds, axis=self.axis))

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        lead = (slice(None),) * self.axis
        edges = [0, *(int(b) for b in self.bounds), g.shape[self.axis]]
        return tuple(g[(*lead, slice(lo, hi))] for lo, hi in itertools.pairwise(edges))


class Stack(Op):
    """d stack(xs, axis) = g unstacked along axis."""

    axis: int

    def forward(self, *xs: ndarray) -> ndarray:
        return xp.stack(xs, axis=self.axis)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return tuple(xp.moveaxis(g, self.axis, 0))

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        lead = (slice(None),) * self.axis
        return tuple(g[(*lead, i)] for i in range(g.shape[self.axis]))
