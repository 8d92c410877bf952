"""Fused operations of the layers: forward and backward side by side, on arrays.

Composing ``linear``, ``batch_norm`` and ``layer_norm`` from engine ops would
record five to ten nodes each and keep as many intermediate arrays alive; the
fused versions record one node and save only what the gradient needs. Their
gradients are checked against PyTorch and against central differences in
``tests/test_nn.py``.

Optional inputs (bias, weight) are passed only when present, so the number of
inputs, and of returned gradients, depends on the ``has_weight``/``has_bias``
flags.
"""

from __future__ import annotations

from typing import Any

from .. import threads
from .._backend import ndarray, sum_to, xp
from ..autograd import Op
from ..autograd import higher as hg


class Linear(Op):
    """d(x@W^T + b) = (g@W, g^T@x, sum(g)), over ``x`` flattened to (N, in_features).

    NOTE: the three products do the same work, ``x.size * out_features``
    multiply-adds, which sets NumPy's BLAS threads (:mod:`retrograd.threads`).
    """

    has_bias: bool

    def forward(self, x: ndarray, w: ndarray, *bias: ndarray) -> ndarray:
        self.x, self.w = x, w
        threads.for_work(x.size * w.shape[0])
        if x.ndim == 2:
            out = x @ w.T
            if bias:
                out += bias[0]  # out is a fresh array, so in place is safe
            return out
        out = x.reshape(-1, w.shape[1]) @ w.T
        if bias:
            out += bias[0]
        return out.reshape((*x.shape[:-1], w.shape[0]))

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        x, w = self.x, self.w
        needs = self.needs
        threads.for_work(x.size * w.shape[0])
        if x.ndim == 2:
            g2, x2 = g, x
            gx = g @ w if needs[0] else None
        else:
            g2, x2 = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
            gx = (g2 @ w).reshape(x.shape) if needs[0] else None
        gw = g2.T @ x2 if needs[1] else None
        if not self.has_bias:
            return gx, gw
        gb = xp.add.reduce(g2, axis=0) if needs[2] else None  # SPEED: g2.sum, see ops/loss.py
        return gx, gw, gb

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        x, w = hg.saved_input(self, 0, self.x), hg.saved_input(self, 1, self.w)
        g2, x2 = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
        gx = (g2 @ w).reshape(x.shape) if self.needs[0] else None
        gw = g2.T @ x2 if self.needs[1] else None
        if not self.has_bias:
            return gx, gw
        return gx, gw, g2.sum(dim=0) if self.needs[2] else None


class Dropout(Op):
    """d(x*mask) = g*mask, where ``mask`` already holds the 1/(1-p) scale."""

    mask: ndarray

    def forward(self, x: ndarray) -> ndarray:
        return x * self.mask

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * self.mask,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * hg.const(self.mask, g),)


def _affine_grads(
    fn: Op, g: ndarray, xhat: ndarray, axes: tuple[int, ...], param_shape: tuple[int, ...]
) -> list[ndarray | None]:
    """Gradients of ``xhat*w + b`` for w and b (those present), reduced over ``axes``."""
    out: list[ndarray | None] = []
    i = 1
    if fn.has_weight:
        out.append((g * xhat).sum(axis=axes).reshape(param_shape) if fn.needs[i] else None)
        i += 1
    if fn.has_bias:
        out.append(g.sum(axis=axes).reshape(param_shape) if fn.needs[i] else None)
    return out


def _apply_affine(
    y: ndarray, params: tuple[ndarray, ...], has_weight: bool, bshape: tuple[int, ...]
) -> ndarray:
    i = 0
    if has_weight:
        y *= params[0].reshape(bshape)
        i = 1
    if len(params) > i:
        y += params[i].reshape(bshape)
    return y


def _affine_composed(fn: Op, xhat: Any, params: tuple[Any, ...], bshape: tuple[int, ...]) -> Any:
    """``xhat*w + b`` (those present) in Tensor ops."""
    i = 0
    if fn.has_weight:
        xhat = xhat * params[0].reshape(bshape)
        i = 1
    if len(params) > i:
        xhat = xhat + params[i].reshape(bshape)
    return xhat


class BatchNorm(Op):
    """Batch normalisation with given per-channel ``mean``/``var``, then ``xhat*w + b``.

    With batch statistics (``batch=True``), ``m`` elements per channel and ``gh = g*w``::

        dx = invstd/m * (m*gh - sum(gh) - xhat*sum(gh*xhat))

    With running statistics (constants): ``dx = gh*invstd``.
    """

    has_weight: bool
    has_bias: bool
    eps: float
    batch: bool
    mean: ndarray
    var: ndarray

    def forward(self, x: ndarray, *params: ndarray) -> ndarray:
        axes = (0, *range(2, x.ndim))
        bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.axes, self.bshape = axes, bshape
        self.param_shape = (x.shape[1],)
        mean = self.mean.reshape(bshape).astype(x.dtype, copy=False)
        var = self.var.reshape(bshape).astype(x.dtype, copy=False)
        invstd = 1.0 / xp.sqrt(var + self.eps)
        xhat = (x - mean) * invstd
        self.xhat, self.invstd = xhat, invstd
        self.x, self.params = x, params
        self.w = params[0] if self.has_weight else None
        return _apply_affine(xhat.copy(), params, self.has_weight, bshape)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        xhat, invstd, axes = self.xhat, self.invstd, self.axes
        gx = None
        if self.needs[0]:
            gh = g * self.w.reshape(self.bshape) if self.has_weight else g
            if self.batch:
                m = xhat.size // xhat.shape[1]
                s1 = gh.sum(axis=axes, keepdims=True)
                s2 = (gh * xhat).sum(axis=axes, keepdims=True)
                gx = (invstd / m) * (m * gh - s1 - xhat * s2)
            else:
                gx = gh * invstd
        return (gx, *_affine_grads(self, g, xhat, axes, self.param_shape))

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return hg.by_recompute(self, (self.x, *self.params), self.composed, g)

    def composed(self, x: Any, *params: Any) -> Any:
        """The forward in Tensor ops (the batch statistics as functions of x)."""
        if self.batch:
            mean = x.mean(dim=self.axes, keepdim=True)
            xc = x - mean
            var = (xc * xc).mean(dim=self.axes, keepdim=True)
            xhat = xc / (var + self.eps).sqrt()
        else:
            xhat = (x - hg.const(self.mean.reshape(self.bshape), x)) * hg.const(self.invstd, x)
        return _affine_composed(self, xhat, params, self.bshape)


class LayerNorm(Op):
    """Normalisation over the last ``ndims`` axes, followed by ``xhat*w + b``.

    With ``m`` normalised elements per row and ``gh = g*w``::

        dx = invstd * (gh - mean(gh) - xhat*mean(gh*xhat))
    """

    has_weight: bool
    has_bias: bool
    eps: float
    ndims: int

    def forward(self, x: ndarray, *params: ndarray) -> ndarray:
        axes = tuple(range(x.ndim - self.ndims, x.ndim))
        self.axes = axes
        self.lead = tuple(range(x.ndim - self.ndims))
        self.param_shape = x.shape[x.ndim - self.ndims :]
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        invstd = 1.0 / xp.sqrt(var + self.eps)
        xhat = xc * invstd
        self.xhat, self.invstd = xhat, invstd
        self.x, self.params = x, params
        self.w = params[0] if self.has_weight else None
        return _apply_affine(xhat.copy(), params, self.has_weight, self.param_shape)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        xhat, axes = self.xhat, self.axes
        gx = None
        if self.needs[0]:
            gh = g * self.w if self.has_weight else g
            m1 = gh.mean(axis=axes, keepdims=True)
            m2 = (gh * xhat).mean(axis=axes, keepdims=True)
            gx = self.invstd * (gh - m1 - xhat * m2)
        return (gx, *_affine_grads(self, g, xhat, self.lead, self.param_shape))

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return hg.by_recompute(self, (self.x, *self.params), self.composed, g)

    def composed(self, x: Any, *params: Any) -> Any:
        """The forward in Tensor ops."""
        xc = x - x.mean(dim=self.axes, keepdim=True)
        var = (xc * xc).mean(dim=self.axes, keepdim=True)
        return _affine_composed(self, xc / (var + self.eps).sqrt(), params, self.param_shape)


class PReLU(Op):
    """d prelu(x, w) = (g if x > 0 else g*w, sum of g*x where x <= 0); w is per channel (dim 1)."""

    def forward(self, x: ndarray, w: ndarray) -> ndarray:
        # w has 1 or C entries; it broadcasts along dim 1 (dim 0 for a 1-D input).
        self.wb = w.reshape((-1,) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else w
        self.x, self.w, self.pos = x, w, x > 0
        return xp.where(self.pos, x, x * self.wb)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        gx = xp.where(self.pos, g, g * self.wb) if self.needs[0] else None
        gw = None
        if self.needs[1]:
            gw = sum_to(xp.where(self.pos, 0, g * self.x), self.wb.shape).reshape(-1)
        return gx, gw

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        shape = self.wb.shape

        def composed(x: Any, w: Any) -> Any:
            return hg.where(self.pos, x, x * w.reshape(shape))

        return hg.by_recompute(self, (self.x, self.w), composed, g)


class Embedding(Op):
    """d weight[indices] = the rows of g summed into the rows they were read from.

    ``padding_idx``'s row gets no gradient; ``scale_grad_by_freq`` divides each
    row's gradient by how often its index occurs in ``indices`` (PyTorch's rules).
    """

    indices: ndarray
    padding_idx: int | None
    scale_grad_by_freq: bool

    def forward(self, w: ndarray) -> ndarray:
        self.w, (self.rows, self.dim) = w, w.shape
        return w[self.indices]

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        flat = self.indices.reshape(-1)
        g2 = g.reshape(-1, self.dim)
        counts = xp.bincount(flat, minlength=self.rows)
        if self.scale_grad_by_freq:
            g2 = g2 / counts[flat][:, None]
        # NOTE: one bincount over (row, column) cells beats np.add.at by 1.2-9x (measured
        # for 27-10000 rows, 96-4096 lookups) and sums in float64 before the cast back.
        cells = (flat[:, None] * self.dim + xp.arange(self.dim)).reshape(-1)
        gw = xp.bincount(cells, weights=g2.reshape(-1), minlength=self.rows * self.dim)
        gw = gw.reshape(self.rows, self.dim).astype(g.dtype, copy=False)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return (gw,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        if self.scale_grad_by_freq:
            # NOTE: PyTorch's double backward ignores the scaling; refused rather than differ
            raise hg.unsupported(self)
        if self.padding_idx is None:
            return hg.by_recompute(self, (self.w,), lambda w: w[self.indices], g)
        keep = xp.ones((self.rows, 1))
        keep[self.padding_idx] = 0  # the padding row is a constant: its gradient is 0

        return hg.by_recompute(self, (self.w,), lambda w: (w * hg.const(keep, w))[self.indices], g)


class Pad(Op):
    """d pad(x) = g with the padding cut off (constant mode), or summed back (other modes).

    ``pads`` holds ``(before, after)`` for every axis of ``x``; in constant mode a
    negative amount crops. The modes other than constant read ``x`` through one index array per
    padded axis (``numpy.pad`` of ``arange``), and backward adds the gradient of
    every copy back into the element it was read from.
    """

    pads: tuple[tuple[int, int], ...]
    mode: str
    value: float

    def forward(self, x: ndarray) -> ndarray:
        self.shape = x.shape
        if self.mode == "constant":
            crop = tuple(
                slice(max(-lo, 0), n - max(-hi, 0))
                for (lo, hi), n in zip(self.pads, x.shape, strict=True)
            )
            grow = [(max(lo, 0), max(hi, 0)) for lo, hi in self.pads]
            return xp.pad(x[crop], grow, mode="constant", constant_values=self.value)
        np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[self.mode]
        self.index = {}
        for axis, ((lo, hi), n) in enumerate(zip(self.pads, x.shape, strict=True)):
            if lo or hi:
                index = xp.pad(xp.arange(n), (lo, hi), mode=np_mode)
                self.index[axis] = index
                x = xp.take(x, index, axis=axis)
        return x

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        if self.mode == "constant":
            keep = tuple(
                slice(max(lo, 0), g.shape[i] - max(hi, 0)) for i, (lo, hi) in enumerate(self.pads)
            )
            regrow = [(max(-lo, 0), max(-hi, 0)) for lo, hi in self.pads]
            return (xp.pad(g[keep], regrow),)
        for axis in reversed(list(self.index)):
            moved = xp.moveaxis(g, axis, 0)
            acc = xp.zeros((self.shape[axis], *moved.shape[1:]), dtype=g.dtype)
            xp.add.at(acc, self.index[axis], moved)
            g = xp.moveaxis(acc, 0, axis)
        return (g,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        # The rule is linear in g: the same slicing (constant mode) or, per axis, a
        # product with the 0/1 matrix that sums the copies back (the other modes).
        if self.mode == "constant":
            keep = tuple(
                slice(max(lo, 0), n - max(hi, 0))
                for (lo, hi), n in zip(self.pads, g.shape, strict=True)
            )
            regrow = tuple((max(-lo, 0), max(-hi, 0)) for lo, hi in self.pads)
            out = g[keep]
            if any(lo or hi for lo, hi in regrow):
                out = hg.call(Pad, out, pads=regrow, mode="constant", value=0.0)
            return (out,)
        for axis in reversed(list(self.index)):
            index = self.index[axis]
            onehot = xp.zeros((index.size, self.shape[axis]), dtype=g.array.dtype)
            onehot[xp.arange(index.size), index] = 1
            moved = g.transpose(axis, -1) if axis != g.ndim - 1 else g
            summed = moved @ hg.const(onehot, g)
            g = summed.transpose(axis, -1) if axis != g.ndim - 1 else summed
        return (g,)


class Normalize(Op):
    """d (x / max(||x||_p, eps)) along ``axis``: g/d - [n >= eps] * sum(g*x)/d^2 * dn/dx.

    With ``n = ||x||_p`` and ``dn/dx = sign(x)|x|^(p-1) / n^(p-1)``; below ``eps`` the
    denominator is the constant ``eps`` (clamp_min passes the gradient at ``n == eps``).
    """

    p: float
    axis: int
    eps: float

    def forward(self, x: ndarray) -> ndarray:
        p, axis = self.p, self.axis
        ax = xp.abs(x)
        if p == 2:
            n = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        elif p == 1:
            n = ax.sum(axis=axis, keepdims=True)
        else:
            n = (ax**p).sum(axis=axis, keepdims=True) ** (1.0 / p)
        self.x, self.n = x, n
        self.d = xp.maximum(n, xp.asarray(self.eps, dtype=x.dtype))
        return x / self.d

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        x, n, d, p = self.x, self.n, self.d, self.p
        on = n >= self.eps
        s = xp.where(on, (g * x).sum(axis=self.axis, keepdims=True) / (d * d), 0)
        if p == 2:
            dn = x / xp.where(on & (n > 0), n, 1)
        elif p == 1:
            dn = xp.sign(x)
        else:
            ax = xp.abs(x)
            with xp.errstate(divide="ignore", invalid="ignore"):
                dn = xp.where(ax > 0, xp.sign(x) * ax ** (p - 1), 0)
            dn = dn / xp.where(on & (n > 0), n, 1) ** (p - 1)
        return (g / d - s * dn,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        p, axis, eps = self.p, self.axis, self.eps

        def composed(x: Any) -> Any:
            if p == 2:
                n = (x * x).sum(dim=axis, keepdim=True).sqrt()
            else:
                n = (x.abs() ** p).sum(dim=axis, keepdim=True) ** (1.0 / p)
            return x / n.clamp(min=eps)

        return hg.by_recompute(self, (self.x,), composed, g)
