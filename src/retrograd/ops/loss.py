"""The losses' fused operations: each loss's forward and backward side by side, on arrays.

The public functions (``mse_loss``, ``cross_entropy``, ...) validate their inputs
and call these; they live in :mod:`retrograd.nn.functional`.
"""

from __future__ import annotations

from typing import Any

from .._backend import ndarray, xp
from ..autograd import Op
from ..autograd import higher as hg
from .elementwise import Softplus, stable_sigmoid

_INT64 = xp.dtype(xp.int64)
#: PyTorch clamps the logarithms of binary_cross_entropy at -100, so that p = 0 costs 100.
_LOG_FLOOR = -100.0
#: PyTorch's floor on x*(1 - x) in binary_cross_entropy's gradient: 1e-12 rounded to float32,
#: which is how PyTorch stores it, in float64 too.
_BCE_EPS = float(xp.float32(1e-12))


# ---------------------------------------------------------------- fused ops: regression


class SquaredError(Op):
    """d (a-b)**2 = (2(a-b)g, -2(a-b)g)."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b, self.d = a, b, a - b
        return self.d * self.d

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        ga = 2 * self.d * g
        return (ga if self.needs[0] else None, -ga if self.needs[1] else None)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a, b = hg.saved_input(self, 0, self.a), hg.saved_input(self, 1, self.b)
        ga = 2 * (a - b) * g
        return (ga if self.needs[0] else None, -ga if self.needs[1] else None)


class AbsoluteError(Op):
    """d |a-b| = (g*sign(a-b), -g*sign(a-b)); 0 where a == b, as PyTorch."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        d = a - b
        self.sign = xp.sign(d)
        return xp.abs(d)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        ga = g * self.sign
        return (ga if self.needs[0] else None, -ga if self.needs[1] else None)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        ga = g * hg.const(self.sign, g)
        return (ga if self.needs[0] else None, -ga if self.needs[1] else None)


class Huber(Op):
    """d huber(a-b) = (g*clip(a-b, -delta, delta), minus that)."""

    delta: float

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        d = a - b
        self.a, self.b, self.d = a, b, d
        ad = xp.abs(d)
        delta = self.delta
        return xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        ga = g * xp.clip(self.d, -self.delta, self.delta)
        return (ga if self.needs[0] else None, -ga if self.needs[1] else None)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        d = hg.saved_input(self, 0, self.a) - hg.saved_input(self, 1, self.b)
        ga = g * d.clamp(-self.delta, self.delta)
        return (ga if self.needs[0] else None, -ga if self.needs[1] else None)


class SmoothL1(Op):
    """d smooth_l1(a-b) = (g*clip((a-b)/beta, -1, 1), minus that), for beta > 0."""

    beta: float

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        d = a - b
        self.a, self.b, self.d = a, b, d
        ad = xp.abs(d)
        beta = self.beta
        return xp.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        ga = g * xp.clip(self.d / self.beta, -1, 1)
        return (ga if self.needs[0] else None, -ga if self.needs[1] else None)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        d = hg.saved_input(self, 0, self.a) - hg.saved_input(self, 1, self.b)
        ga = g * (d / self.beta).clamp(-1, 1)
        return (ga if self.needs[0] else None, -ga if self.needs[1] else None)


# ---------------------------------------------------------------- fused ops: classification


def _log_softmax(x: ndarray, axis: int) -> ndarray:
    # NOTE: shifting by the max keeps exp() <= 1, so logits of ±1e4 stay finite.
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class _ClassIndexLoss(Op):
    """Shared by NLL and CrossEntropy: per-target weights, the reduction, the gradient scale.

    ``target`` holds class indices along ``axis`` of the input (already validated);
    ``weight`` is the (C,) array of class weights or None.
    """

    target: ndarray
    weight: ndarray | None
    ignore_index: int
    reduction: str
    axis: int

    def _prepare(self, x: ndarray) -> None:
        self.keep = self.target != self.ignore_index
        safe = xp.where(self.keep, self.target, 0)  # ignored targets point at class 0, weight 0
        self.idx = xp.expand_dims(safe, self.axis)
        self.valid = self.keep.astype(x.dtype)
        self.wt = self.valid if self.weight is None else self.weight[safe] * self.valid

    def _reduce(self, per: ndarray) -> ndarray:
        if self.reduction == "none":
            self.denom = 1
            return per
        total = per.sum()
        if self.reduction == "sum":
            self.denom = 1
            return total
        # PyTorch's weighted mean: divide by the summed weights of the non-ignored targets
        # (NaN when there are none).
        self.denom = self.wt.sum()
        with xp.errstate(divide="ignore", invalid="ignore"):
            return total / self.denom

    def _onehot(self, dtype: Any) -> ndarray:
        onehot = xp.zeros(self.shape, dtype=dtype)
        xp.put_along_axis(onehot, self.idx, 1, self.axis)
        return onehot

    def _reduce_composed(self, per: Any) -> Any:
        """``_reduce`` in Tensor ops (the mean's total weight is a constant)."""
        if self.reduction == "none":
            return per
        with xp.errstate(divide="ignore", invalid="ignore"):
            return per.sum() if self.reduction == "sum" else per.sum() / float(self.denom)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return hg.by_recompute(self, (self.x,), self.composed, g)

    def _scale(self, grad: ndarray, g: ndarray) -> ndarray:
        """``grad`` (of the input's shape) times the output gradient ``g`` of its sample.

        Ignored samples get exactly 0, whatever ``grad`` holds for them, even when 'mean'
        divided by a total weight of 0 (as PyTorch, which never writes their gradient).
        """
        with xp.errstate(divide="ignore", invalid="ignore"):
            s = xp.where(self.keep, g / self.denom, 0).astype(grad.dtype, copy=False)
        return grad * xp.expand_dims(s, self.axis)


class NLL(_ClassIndexLoss):
    """d nll = -g*w[t]/denom at each target's class, 0 at the others and at ignored targets."""

    def forward(self, logp: ndarray) -> ndarray:
        self._prepare(logp)
        self.x, self.shape = logp, logp.shape
        picked = xp.take_along_axis(logp, self.idx, self.axis).squeeze(self.axis)
        return self._reduce(-self.wt * picked)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        out = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(out, self.idx, -xp.expand_dims(self.wt, self.axis), self.axis)
        return (self._scale(out, g),)

    def composed(self, logp: Any) -> Any:
        """The forward in Tensor ops."""
        picked = (logp * hg.const(self._onehot(logp.dtype), logp)).sum(dim=self.axis)
        return self._reduce_composed(-hg.const(self.wt, logp) * picked)


class CrossEntropy(_ClassIndexLoss):
    """d ce = (softmax - onehot)*w[t]/denom; with label smoothing eps the target becomes
    ``(1-eps)*w[t]*onehot + eps/C*w`` and softmax is scaled by that target's total weight.
    """

    label_smoothing: float

    def forward(self, x: ndarray) -> ndarray:
        self._prepare(x)
        self.x, self.shape = x, x.shape
        axis, eps = self.axis, self.label_smoothing
        self.logp = logp = _log_softmax(x, axis)
        per = -self.wt * xp.take_along_axis(logp, self.idx, axis).squeeze(axis)
        if eps:
            self.wb = 1 if self.weight is None else self._along_axis(self.weight, x.ndim)
            weighted = logp if self.weight is None else logp * self.wb
            smooth = -weighted.sum(axis=axis) * self.valid
            per = (1 - eps) * per + (eps / x.shape[axis]) * smooth
        return self._reduce(per)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        axis, eps = self.axis, self.label_smoothing
        p = xp.exp(self.logp)
        n_classes = p.shape[axis]
        # The target distribution q = (1-eps)*w[t]*onehot + eps/C*w; the gradient s*p - q,
        # with s = sum(q). Ignored samples are zeroed by _scale.
        at_target = (1 - eps) * self.wt
        total = at_target
        if eps:
            w_sum = n_classes if self.weight is None else self.weight.sum()
            total = at_target + (eps / n_classes) * w_sum
        grad = p * xp.expand_dims(total, axis)
        picked = xp.take_along_axis(grad, self.idx, axis) - xp.expand_dims(at_target, axis)
        xp.put_along_axis(grad, self.idx, picked, axis)
        if eps:
            grad -= (eps / n_classes) * self.wb
        return (self._scale(grad, g),)

    def _along_axis(self, w: ndarray, ndim: int) -> ndarray:
        """The (C,) class weights shaped to broadcast along the class axis of an ndim input."""
        shape = [1] * ndim
        shape[self.axis] = w.shape[0]
        return w.reshape(shape)

    def composed(self, x: Any) -> Any:
        """The forward in Tensor ops."""
        axis, eps = self.axis, self.label_smoothing
        logp = x.log_softmax(axis)
        picked = (logp * hg.const(self._onehot(x.dtype), x)).sum(dim=axis)
        per = -hg.const(self.wt, x) * picked
        if eps:
            weighted = logp if self.weight is None else logp * hg.const(self.wb, x)
            smooth = -weighted.sum(dim=axis) * hg.const(self.valid, x)
            per = (1 - eps) * per + (eps / x.shape[axis]) * smooth
        return self._reduce_composed(per)


_ROW_OFFSETS: dict[tuple[int, int], ndarray] = {}


def _row_offsets(n: int, c: int) -> ndarray:
    """``[0, c, 2c, ..., (n-1)c]``, cached read-only: the flat index of each row's start."""
    off = _ROW_OFFSETS.get((n, c))
    if off is None:
        if len(_ROW_OFFSETS) >= 64:  # many batch sizes: keep the cache small
            _ROW_OFFSETS.clear()
        off = _ROW_OFFSETS[(n, c)] = xp.arange(0, n * c, c, dtype=_INT64)
        off.flags.writeable = False
    return off


class SoftmaxCrossEntropy(Op):
    """d ce = (softmax(x) - onehot(t)) * g/n: (N, C) logits, valid class indices, no weights.

    The common case of :class:`CrossEntropy` with nothing to weigh, smooth or ignore,
    in fewer array passes: it saves the shifted exponentials and their row sums, and
    reads the log-probability of the target class only.
    """

    target: ndarray
    mean: bool

    def forward(self, x: ndarray) -> ndarray:
        # NOTE: shifting by the row max keeps exp() <= 1, so logits of ±1e4 stay finite.
        # SPEED: the ufuncs' reduce is ndarray.max/sum without their Python wrappers (about
        # 700 instructions a call; docs/benchmarks.md).
        shifted = x - xp.maximum.reduce(x, axis=1, keepdims=True)
        e = xp.exp(shifted)
        s = xp.add.reduce(e, axis=1, keepdims=True)
        self.x, self.e, self.s = x, e, s
        # The targets as flat indices into the (N, C) arrays: a 1-D take and a 1-D
        # subtract in backward, 3.5 µs a step less than indexing with (rows, target).
        self.flat = flat = self.target + _row_offsets(*x.shape)
        total = xp.add.reduce(xp.log(s), axis=None) - xp.add.reduce(
            shifted.reshape(-1).take(flat), axis=None
        )
        return total / x.dtype.type(x.shape[0]) if self.mean else total

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        # NOTE: order="C", so that reshape(-1) below is a view that the flat indices
        # write through; logits of another layout (x.T) would give exp() that layout.
        grad = xp.divide(self.e, self.s, order="C")
        grad.reshape(-1)[self.flat] -= 1
        grad *= g / g.dtype.type(grad.shape[0]) if self.mean else g
        return (grad,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return hg.by_recompute(self, (self.x,), self.composed, g)

    def composed(self, x: Any) -> Any:
        """The forward in Tensor ops."""
        onehot = xp.zeros(x.shape, dtype=x.dtype)
        onehot.reshape(-1)[self.flat] = 1
        total = -(x.log_softmax(1) * hg.const(onehot, x)).sum()
        return total / x.shape[0] if self.mean else total


class BinaryCrossEntropy(Op):
    """d bce = (g*w*(x - y)/max(x(1-x), 1e-12), g*w*(log(1-x) - log(x))), as PyTorch."""

    weight: ndarray | None

    def forward(self, x: ndarray, y: ndarray) -> ndarray:
        self.x, self.y = x, y
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), _LOG_FLOOR)
            log_1mx = xp.maximum(xp.log1p(-x), _LOG_FLOOR)
        out = -(y * log_x + (1 - y) * log_1mx)
        return out if self.weight is None else out * self.weight

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        x, y = self.x, self.y
        if self.weight is not None:
            g = g * self.weight
        gx = gy = None
        if self.needs[0]:
            # NOTE: the floor keeps the gradient finite (±1e12 g) at x = 0 and x = 1.
            gx = g * (x - y) / xp.maximum((1 - x) * x, _BCE_EPS)
        if self.needs[1]:
            with xp.errstate(divide="ignore"):  # ±inf at x = 0 and 1, as PyTorch
                gy = g * (xp.log1p(-x) - xp.log(x))
        return gx, gy

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return hg.by_recompute(self, (self.x, self.y), self.composed, g)

    def composed(self, x: Any, y: Any) -> Any:
        """The forward in Tensor ops."""
        log_x = x.log().clamp(min=_LOG_FLOOR)
        log_1mx = (1 - x).log().clamp(min=_LOG_FLOOR)
        out = -(y * log_x + (1 - y) * log_1mx)
        return out if self.weight is None else out * hg.const(self.weight, x)


class BinaryCrossEntropyWithLogits(Op):
    """d = (g*w*(lw*sigmoid(x) - pw*y), g*w*(-x - (pw - 1)*log sigmoid(x))), lw = 1 + (pw-1)*y.

    Without ``pos_weight`` (pw = 1) these are g*w*(sigmoid(x) - y) and -g*w*x.
    """

    weight: ndarray | None
    pos_weight: ndarray | None

    def forward(self, x: ndarray, y: ndarray) -> ndarray:
        self.x, self.y = x, y
        # NOTE: log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)): finite for x = ±1e4.
        self.log_sig = xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))
        pw = self.pos_weight
        log_weight = 1 if pw is None else 1 + (pw - 1) * y
        out = (1 - y) * x - log_weight * self.log_sig
        return out if self.weight is None else out * self.weight

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        x, y, pw = self.x, self.y, self.pos_weight
        if self.weight is not None:
            g = g * self.weight
        gx = gy = None
        if self.needs[0]:
            s = stable_sigmoid(x)
            gx = g * (s - y) if pw is None else g * ((1 + (pw - 1) * y) * s - pw * y)
        if self.needs[1]:
            gy = -g * x if pw is None else g * (-x - (pw - 1) * self.log_sig)
        return gx, gy

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return hg.by_recompute(self, (self.x, self.y), self.composed, g)

    def composed(self, x: Any, y: Any) -> Any:
        """The forward in Tensor ops: log sigmoid(x) = -softplus(-x)."""
        log_sig = -hg.call(Softplus, -x, beta=1.0, threshold=float("inf"))
        pw = self.pos_weight
        log_weight = 1 if pw is None else 1 + (hg.const(pw, x) - 1) * y
        out = (1 - y) * x - log_weight * log_sig
        return out if self.weight is None else out * hg.const(self.weight, x)
