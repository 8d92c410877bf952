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

from .._backend import ndarray, xp
from ..autograd import Op
from ..autograd import higher as hg


class Linear(Op):
    """d(x@W^T + b) = (g@W, g^T@x, sum(g)), over ``x`` flattened to (N, in_features)."""

    has_bias: bool

    def forward(self, x: ndarray, w: ndarray, *bias: ndarray) -> ndarray:
        self.x, self.w = x, w
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
        if x.ndim == 2:
            g2, x2 = g, x
            gx = g @ w if needs[0] else None
        else:
            g2, x2 = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
            gx = (g2 @ w).reshape(x.shape) if needs[0] else None
        gw = g2.T @ x2 if needs[1] else None
        if not self.has_bias:
            return gx, gw
        gb = g2.sum(axis=0) if needs[2] else None
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
