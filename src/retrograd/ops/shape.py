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


# ---------------------------------------------------------------- scatter, flip, roll, repeat


def along(index: ndarray, axis: int) -> tuple[ndarray, ...]:
    """The advanced-index key that reads ``a[..., index[i,j,k], ...]`` at ``(i, j, k)``.

    PyTorch's gather/scatter addressing: along ``axis`` the position comes from
    ``index``, along every other axis it is the position in ``index`` itself.
    """
    grids = xp.indices(index.shape, sparse=True)
    return tuple(index if d == axis else grids[d] for d in range(index.ndim))


class Scatter(Op):
    """d scatter(base, src): base gets g except where written (scatter_add: all of g); src g[key].

    ``key`` is :func:`along`'s; ``head`` the slices of ``src`` that ``index`` covers.
    """

    key: tuple[ndarray, ...]
    head: tuple[slice, ...]
    add: bool

    def forward(self, base: ndarray, src: ndarray) -> ndarray:
        self.src_shape = src.shape
        out = base.copy()
        if self.add:
            xp.add.at(out, self.key, src[self.head])
        else:
            out[self.key] = src[self.head]
        return out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        gb = gs = None
        if self.needs[0]:
            gb = g
            if not self.add:
                gb = g.copy()
                gb[self.key] = 0
        if self.needs[1]:
            gs = xp.zeros(self.src_shape, dtype=g.dtype)
            gs[self.head] = g[self.key]
        return gb, gs

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        gb = gs = None
        if self.needs[0]:
            gb = g
            if not self.add:
                kept = xp.ones(g.shape, dtype=bool)
                kept[self.key] = False
                gb = hg.where(kept, g, 0.0)
        if self.needs[1]:
            picked = hg.call(Index, g, idx=self.key, advanced=True)
            gs = hg.call(IndexBackward, picked, idx=self.head, advanced=False, shape=self.src_shape)
        return gb, gs


class Flip(Op):
    """d flip(a) = g flipped back."""

    axes: tuple[int, ...]

    def forward(self, a: ndarray) -> ndarray:
        return xp.flip(a, self.axes)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (xp.flip(g, self.axes),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (hg.call(Flip, g, axes=self.axes),)


class Roll(Op):
    """d roll(a, shifts) = g rolled by -shifts."""

    shifts: tuple[int, ...]
    axes: tuple[int, ...] | None  # None: roll the flattened tensor

    def forward(self, a: ndarray) -> ndarray:
        return xp.roll(a, self.shifts, self.axes)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (xp.roll(g, tuple(-s for s in self.shifts), self.axes),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (hg.call(Roll, g, shifts=tuple(-s for s in self.shifts), axes=self.axes),)


class Repeat(Op):
    """d repeat(a, reps) = g cut into the copies and summed (as tile; leading reps add dims)."""

    reps: tuple[int, ...]

    def forward(self, a: ndarray) -> ndarray:
        self.src = a.shape
        return xp.tile(a, self.reps)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (_sum_copies(g, self.reps, self.src),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (_sum_copies(g, self.reps, self.src),)


def _sum_copies(g: Any, reps: tuple[int, ...], src: tuple[int, ...]) -> Any:
    """Sum ``g`` (an array or a Tensor) of shape reps*src over the copies: back to ``src``."""
    padded = (1,) * (len(reps) - len(src)) + tuple(src)
    pairs = tuple(n for r, s in zip(reps, padded, strict=True) for n in (r, s))
    summed = g.reshape(pairs).sum(tuple(range(0, 2 * len(reps), 2)))
    return summed.reshape(src)
