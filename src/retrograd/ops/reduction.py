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


# ---------------------------------------------------------------- products and running sums


def _exclusive_product(a: ndarray, axis: int) -> ndarray:
    """The product of every element of ``a`` along ``axis`` but the one in place (exact at 0)."""
    ones = xp.ones_like(xp.take(a, [0], axis=axis))
    left = xp.cumprod(xp.concatenate([ones, xp.delete(a, -1, axis=axis)], axis=axis), axis=axis)
    flipped = xp.flip(a, axis)
    right = xp.cumprod(
        xp.concatenate([ones, xp.delete(flipped, -1, axis=axis)], axis=axis), axis=axis
    )
    return left * xp.flip(right, axis)


class Prod(Op):
    """d prod(a) = g*prod(others): products left and right of each element, so exact at 0."""

    axis: int | None  # None: over all elements
    keepdim: bool

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        self.out = a.prod(axis=self.axis, keepdims=self.keepdim)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a = self.a
        if self.axis is None:
            others = _exclusive_product(a.reshape(-1), 0).reshape(a.shape) if a.size else a
            return (g.reshape((1,) * a.ndim) * others if a.ndim else g * others,)
        g = expand_reduced(g, a.shape, (self.axis,), self.keepdim)
        return (g * _exclusive_product(a, self.axis) if a.size else g * a,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a = hg.saved_input(self, 0, self.a)
        if self.axis is None:
            excl = _others_product(a.reshape(-1)).reshape(a.shape)
            return (g * excl,)
        excl = _others_product(a.transpose(self.axis, -1)).transpose(self.axis, -1)
        return (expand_reduced(g, a.shape, (self.axis,), self.keepdim) * excl,)


def _rows_without_self(x: Any) -> Any:
    """``m[..., i, j] = x[..., j]``, with 1 where ``j == i``: row i is x without element i."""
    n = x.shape[-1]
    rows = x.unsqueeze(-2).expand(*x.shape[:-1], n, n)
    return hg.where(xp.eye(n, dtype=bool), 1.0, rows)


def _others_product(x: Any) -> Any:
    """The product of the other elements along the last axis, recorded (exact at 0).

    NOTE: an n x n product instead of out / x, so that the recorded gradient stays
    exact where x has zeros, at every order; it is only built under create_graph.
    """
    return hg.call(Prod, _rows_without_self(x), axis=x.ndim, keepdim=False)


class Cumsum(Op):
    """d cumsum(a) = the reversed running sum of g."""

    axis: int

    def forward(self, a: ndarray) -> ndarray:
        return xp.cumsum(a, axis=self.axis, dtype=a.dtype)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (_reversed_cumsum(g, self.axis),)


def _reversed_cumsum(g: Any, axis: int) -> Any:
    """``sum from i to the end`` along ``axis`` of a recorded Tensor."""
    from .shape import Flip  # the shape ops sit beside this file

    flipped = hg.call(Flip, g, axes=(axis,))
    return hg.call(Flip, hg.call(Cumsum, flipped, axis=axis), axes=(axis,))


class Cumprod(Op):
    """d cumprod(a)_i = sum over j >= i of g_j*out_j/a_i; exact where a has zeros."""

    axis: int

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        self.out = xp.cumprod(a, axis=self.axis, dtype=a.dtype)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a, ax = self.a, self.axis
        if (a != 0).all():
            rev = xp.flip(xp.cumsum(xp.flip(g * self.out, ax), axis=ax), ax)
            return (rev / a,)
        # NOTE: with a zero, out/a is 0/0: sum the products without element i directly.
        am, gm = xp.moveaxis(a, ax, -1), xp.moveaxis(g, ax, -1)
        n = am.shape[-1]
        out = xp.zeros_like(am)
        for i in range(n):
            without = am.copy()
            without[..., i] = 1
            prods = xp.cumprod(without, axis=-1)
            out[..., i] = (gm[..., i:] * prods[..., i:]).sum(axis=-1)
        return (xp.moveaxis(out, -1, ax),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        # m[..., i, j] = the running product to j with element i left out (exact at 0)
        ax = self.axis
        x = hg.saved_input(self, 0, self.a).transpose(ax, -1)
        m = hg.call(Cumprod, _rows_without_self(x), axis=x.ndim)
        n = x.shape[-1]
        later = ~xp.tri(n, n, -1, dtype=bool)  # j >= i
        terms = hg.where(later, g.transpose(ax, -1).unsqueeze(-2) * m, 0.0)
        return (terms.sum(-1).transpose(ax, -1),)


class Norm(Op):
    """d ||a||_p: g*a*|a|**(p-2)/||a||**(p-1) (p = 2: g*a/||a||), 0 where the norm is 0."""

    p: float
    axes: tuple[int, ...]
    keepdim: bool

    def forward(self, a: ndarray) -> ndarray:
        p, axes = self.p, self.axes
        self.a = a
        absa = xp.abs(a)
        if p == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=True))
        elif p == 1:
            out = absa.sum(axis=axes, keepdims=True)
        elif p == xp.inf:
            out = absa.max(axis=axes, keepdims=True, initial=0)
        elif p == -xp.inf:
            out = absa.min(axis=axes, keepdims=True)
        elif p == 0:
            out = (a != 0).sum(axis=axes, keepdims=True).astype(a.dtype)
        else:
            out = (absa**p).sum(axis=axes, keepdims=True) ** (1 / p)
        self.out = out
        return out if self.keepdim else xp.squeeze(out, axis=axes)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a, out, p = self.a, self.out, self.p
        g = expand_reduced(g, a.shape, self.axes, self.keepdim)
        if p == 1:
            return (g * xp.sign(a),)
        if p == 0:
            return (xp.zeros_like(a),)
        if p in (xp.inf, -xp.inf):  # ties share the gradient evenly, as amax
            mask = xp.abs(a) == out
            return (g * xp.sign(a) * mask / mask.sum(axis=self.axes, keepdims=True),)
        safe = xp.where(out == 0, 1, out)
        scale = a / safe if p == 2 else a * xp.abs(a) ** (p - 2) / safe ** (p - 1)
        return (g * xp.where(out == 0, 0, scale),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        p, axes, keep = self.p, self.axes, self.keepdim

        def composed(x: Any) -> Any:
            if p == 2:
                return (x * x).sum(axes, keepdim=keep).sqrt()
            if p == 1:
                return x.abs().sum(axes, keepdim=keep)
            if p in (xp.inf, -xp.inf):
                return x.abs().amax(axes, keep) if p > 0 else x.abs().amin(axes, keep)
            if p == 0:
                return (x * 0.0).sum(axes, keepdim=keep)
            return (x.abs() ** p).sum(axes, keepdim=keep) ** (1 / p)

        return hg.by_recompute(self, (self.a,), composed, g)
