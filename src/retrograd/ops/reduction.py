"""Reductions: sums, means, variances, extremes, logsumexp, softmax."""

from __future__ import annotations

from typing import Any

from .._backend import expand_reduced, ndarray, xp
from ..autograd import Op
from ..autograd import higher as hg

# ---------------------------------------------------------------- reductions


class Sum(Op):
    """d sum(a, axes) = g broadcast back over the reduced axes."""

    axes: tuple[int, ...]
    keepdim: bool

    def forward(self, a: ndarray) -> ndarray:
        self.shape = a.shape
        return a.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (expand_reduced(g, self.shape, self.axes, self.keepdim),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (expand_reduced(g, self.shape, self.axes, self.keepdim),)


class Mean(Op):
    """d mean(a, axes) = g/n broadcast back over the reduced axes."""

    axes: tuple[int, ...]
    keepdim: bool

    def forward(self, a: ndarray) -> ndarray:
        self.shape = a.shape
        n = 1
        for ax in self.axes:
            n *= a.shape[ax]
        self.n = n
        total = a.sum(axis=self.axes, keepdims=self.keepdim)
        if n == 0:  # the mean of nothing is NaN, as in PyTorch
            return xp.full_like(total, xp.nan)
        return total / xp.asarray(n, dtype=a.dtype)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        n = self.n
        return (expand_reduced(g / n if n else g, self.shape, self.axes, self.keepdim),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        n = self.n
        return (expand_reduced(g / n if n else g, self.shape, self.axes, self.keepdim),)


class Var(Op):
    """d var(a) = g*2*(a - mean)/(n - correction)."""

    axes: tuple[int, ...]
    keepdim: bool
    correction: float

    def forward(self, a: ndarray) -> ndarray:
        n = 1
        for ax in self.axes:
            n *= a.shape[ax]
        self.denom = max(n - self.correction, 0)
        self.a = a
        self.centered = a - a.mean(axis=self.axes, keepdims=True)
        with xp.errstate(divide="ignore", invalid="ignore"):
            ss = (self.centered * self.centered).sum(axis=self.axes, keepdims=self.keepdim)
            return ss / xp.asarray(self.denom, dtype=a.dtype)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        g = expand_reduced(g, self.centered.shape, self.axes, self.keepdim)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (g * (2 / xp.asarray(self.denom, dtype=g.dtype)) * self.centered,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a = hg.saved_input(self, 0, self.a)
        centered = a - a.mean(dim=self.axes, keepdim=True)
        g = expand_reduced(g, a.shape, self.axes, self.keepdim)
        with xp.errstate(divide="ignore"):
            return (g * float(2 / xp.float64(self.denom)) * centered,)


class Std(Var):
    """d std(a) = g*(a - mean)/((n - correction)*std); 0 where std is 0, as PyTorch."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = xp.sqrt(super().forward(a))
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        out = self.out
        safe = xp.where(out == 0, 1, out)
        (gv,) = super().backward(xp.where(out == 0, 0, g / (2 * safe)))
        return (gv,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        out = hg.saved_output(self, self.out)
        zero = self.out.reshape(self.out_shape) == 0
        safe = hg.where(zero, 1.0, out)
        return super().backward_graph(hg.where(zero, 0.0, g / (2 * safe)))


class AMax(Op):
    """d amax(a) = g shared evenly among the elements equal to the max, as PyTorch."""

    axes: tuple[int, ...]
    keepdim: bool
    smallest: bool = False

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        red = a.min if self.smallest else a.max
        self.out = red(axis=self.axes, keepdims=True)
        return (
            self.out
            if self.keepdim
            else self.out.reshape(tuple(n for i, n in enumerate(a.shape) if i not in self.axes))
        )

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        mask = self.a == self.out
        count = mask.sum(axis=self.axes, keepdims=True)
        g = expand_reduced(g, self.a.shape, self.axes, self.keepdim)
        return (g * mask / count.astype(g.dtype),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        mask = self.a == self.out
        count = mask.sum(axis=self.axes, keepdims=True)
        g = expand_reduced(g, self.a.shape, self.axes, self.keepdim)
        return (g * hg.const(mask / count, g),)


class MaxDim(Op):
    """d max(a, dim) = g sent to the returned index (the first of ties), as PyTorch."""

    axis: int
    keepdim: bool
    smallest: bool = False

    def forward(self, a: ndarray) -> ndarray:
        arg = xp.argmin if self.smallest else xp.argmax
        self.idx = xp.expand_dims(arg(a, axis=self.axis), self.axis)
        self.shape = a.shape
        out = xp.take_along_axis(a, self.idx, axis=self.axis)
        return out if self.keepdim else xp.squeeze(out, self.axis)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        out = xp.zeros(self.shape, dtype=g.dtype)
        if not self.keepdim:
            g = xp.expand_dims(g, self.axis)
        xp.put_along_axis(out, self.idx, g, axis=self.axis)
        return (out,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        onehot = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(onehot, self.idx, 1, axis=self.axis)
        g = expand_reduced(g, self.shape, (self.axis,), self.keepdim)
        return (g * hg.const(onehot, g),)


class LogSumExp(Op):
    """d logsumexp(a) = g*softmax(a); stable for |a| of 1e4 and for rows of -inf."""

    axes: tuple[int, ...]
    keepdim: bool

    def forward(self, a: ndarray) -> ndarray:
        m = a.max(axis=self.axes, keepdims=True) if a.size else xp.zeros((1,) * a.ndim, a.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        e = xp.exp(a - m)
        s = e.sum(axis=self.axes, keepdims=True)
        with xp.errstate(divide="ignore"):
            out = xp.log(s) + m
        self.a, self.out = a, out
        return (
            out
            if self.keepdim
            else out.reshape(tuple(n for i, n in enumerate(a.shape) if i not in self.axes))
        )

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        g = expand_reduced(g, self.a.shape, self.axes, self.keepdim)
        with xp.errstate(invalid="ignore"):
            p = xp.exp(self.a - self.out)
        return (g * xp.nan_to_num(p, nan=0.0),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a = hg.saved_input(self, 0, self.a)
        out = hg.saved_output(self, self.out).reshape(self.out.shape)
        g = expand_reduced(g, a.shape, self.axes, self.keepdim)
        with xp.errstate(invalid="ignore"):
            defined = ~xp.isnan(self.a - self.out)  # NaN in rows of -inf: softmax 0 there
        diff = hg.where(defined, a, 0.0) - hg.where(defined, out, 0.0)
        return (g * hg.where(defined, diff, -xp.inf).exp(),)


class Softmax(Op):
    """d softmax(a) = s*(g - sum(g*s)) along ``axis``."""

    axis: int

    def forward(self, a: ndarray) -> ndarray:
        e = xp.exp(a - a.max(axis=self.axis, keepdims=True))
        self.out = e / e.sum(axis=self.axis, keepdims=True)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        s = self.out
        gs = g * s
        return (gs - s * gs.sum(axis=self.axis, keepdims=True),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        s = hg.saved_output(self, self.out)
        gs = g * s
        return (gs - s * gs.sum(dim=self.axis, keepdim=True),)


class LogSoftmax(Op):
    """d log_softmax(a) = g - softmax(a)*sum(g) along ``axis``."""

    axis: int

    def forward(self, a: ndarray) -> ndarray:
        shifted = a - a.max(axis=self.axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        out = hg.saved_output(self, self.out)
        return (g - out.exp() * g.sum(dim=self.axis, keepdim=True),)
