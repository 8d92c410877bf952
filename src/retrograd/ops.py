"""The differentiable operations: one small class each, forward and backward side by side.

Every class works on arrays only. ``forward`` receives the input arrays (op
parameters are attributes set by ``apply``) and returns the output array;
``backward`` receives the output's gradient and returns one gradient per input.
Gradients of broadcast operands are reduced by :func:`retrograd._backend.sum_to`.
"""

from __future__ import annotations

from typing import Any

from ._backend import erf, expand_reduced, ndarray, sum_to, xp
from .autograd import Function

_SQRT_2 = 1.4142135623730951
_SQRT_2_OVER_PI = 0.7978845608028654
_INV_SQRT_2PI = 0.3989422804014327

_ZEROS: dict = {}


def _zero(dtype: Any) -> ndarray:
    """A cached 0-d zero of ``dtype``: comparing with it is faster than with Python's 0."""
    _ZEROS[dtype] = z = xp.zeros((), dtype=dtype)
    return z


# ---------------------------------------------------------------- elementwise binary


class Add(Function):
    """d(a+b) = (g, g); saves nothing (the input shapes come from the graph)."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        return a + b

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        needs = self.needs
        return (
            sum_to(g, self.input_shape(0)) if needs[0] else None,
            sum_to(g, self.input_shape(1)) if needs[1] else None,
        )


class Sub(Function):
    """d(a-b) = (g, -g); saves nothing (the input shapes come from the graph)."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        return a - b

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        needs = self.needs
        return (
            sum_to(g, self.input_shape(0)) if needs[0] else None,
            sum_to(-g, self.input_shape(1)) if needs[1] else None,
        )


class Mul(Function):
    """d(a*b) = (g*b, g*a)."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b = a, b
        return a * b

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a, b = self.a, self.b
        return (
            sum_to(g * b, a.shape) if self.needs[0] else None,
            sum_to(g * a, b.shape) if self.needs[1] else None,
        )


class Div(Function):
    """d(a/b) = (g/b, -g*a/b**2)."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b = a, b
        return a / b

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a, b = self.a, self.b
        gb = g / b
        return (
            sum_to(gb, a.shape) if self.needs[0] else None,
            sum_to(-gb * a / b, b.shape) if self.needs[1] else None,
        )


class Pow(Function):
    """d(a**b) = (g*b*a**(b-1), g*a**b*log(a)); 0 where PyTorch masks them."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a, b = self.a, self.b
        ga = gb = None
        if self.needs[0]:
            # NOTE: b * a**(b-1), never b * out / a: no 0/0 at a == 0, no NaN for a < 0.
            ga = sum_to(xp.where(b == 0, 0, g * b * a ** (b - 1)), a.shape)
        if self.needs[1]:
            with xp.errstate(divide="ignore", invalid="ignore"):
                gb = g * self.out * xp.log(a)
            gb = sum_to(xp.where((a == 0) & (b >= 0), 0, gb), b.shape)
        return ga, gb


class PowScalar(Function):
    """d(a**c) = g*c*a**(c-1) for a constant c (0 when c == 0)."""

    c: float

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return a**self.c

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        c = self.c
        if c == 0:
            return (xp.zeros_like(self.a),)
        # NOTE: a**(c-1) with c an int stays real for a < 0; c == 2 avoids a power call.
        return (g * (2 * self.a) if c == 2 else g * c * self.a ** (c - 1),)


class RPowScalar(Function):
    """d(c**a) = g*c**a*log(c) for a constant base c (0 where c == 0 and a >= 0)."""

    c: float

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        self.out = xp.asarray(self.c, dtype=a.dtype) ** a
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        if self.c == 0:  # d(0**a) is 0 for a >= 0 and -inf (times g) below, as PyTorch
            with xp.errstate(invalid="ignore"):
                return (xp.where(self.a >= 0, 0, g * -xp.inf).astype(g.dtype),)
        return (g * self.out * xp.log(xp.asarray(self.c, dtype=g.dtype)),)


class Maximum(Function):
    """d max(a, b): g goes to the larger input; ties split it half and half, as PyTorch."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return _select_backward(self, g, self.a > self.b)


class Minimum(Function):
    """d min(a, b): g goes to the smaller input; ties split it half and half, as PyTorch."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b = a, b
        return xp.minimum(a, b)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return _select_backward(self, g, self.a < self.b)


def _select_backward(fn: Function, g: ndarray, a_wins: ndarray) -> tuple[ndarray | None, ...]:
    a, b = fn.a, fn.b
    tie = a == b
    half = g * 0.5
    ga = gb = None
    if fn.needs[0]:
        ga = sum_to(xp.where(tie, half, xp.where(a_wins, g, 0)), a.shape)
    if fn.needs[1]:
        gb = sum_to(xp.where(tie, half, xp.where(a_wins, 0, g)), b.shape)
    return ga, gb


class Where(Function):
    """d where(c, a, b) = (where(c, g, 0), where(c, 0, g)); the condition gets none."""

    def forward(self, cond: ndarray, a: ndarray, b: ndarray) -> ndarray:
        self.cond, self.sa, self.sb = cond, a.shape, b.shape
        return xp.where(cond, a, b)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        zero = xp.zeros((), dtype=g.dtype)
        return (
            None,
            sum_to(xp.where(self.cond, g, zero), self.sa) if self.needs[1] else None,
            sum_to(xp.where(self.cond, zero, g), self.sb) if self.needs[2] else None,
        )


# ---------------------------------------------------------------- elementwise unary


class Neg(Function):
    """d(-a) = -g."""

    def forward(self, a: ndarray) -> ndarray:
        return -a

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (-g,)


class Abs(Function):
    """d|a| = g*sign(a) (0 at a == 0, as PyTorch)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.abs(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * xp.sign(self.a),)


class Exp(Function):
    """d exp(a) = g*exp(a)."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = xp.exp(a)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * self.out,)


class Log(Function):
    """d log(a) = g/a."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.log(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g / self.a,)


class Sqrt(Function):
    """d sqrt(a) = g/(2*sqrt(a))."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = xp.sqrt(a)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g / (2 * self.out),)


class Sin(Function):
    """d sin(a) = g*cos(a)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.sin(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * xp.cos(self.a),)


class Cos(Function):
    """d cos(a) = -g*sin(a)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.cos(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (-g * xp.sin(self.a),)


class Tanh(Function):
    """d tanh(a) = g*(1 - tanh(a)**2)."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = xp.tanh(a)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * (1 - self.out * self.out),)


def _sigmoid(a: ndarray) -> ndarray:
    # NOTE: exp of -|a| only, so a = ±1e4 neither overflows nor loses the small side.
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    """d sigmoid(a) = g*s*(1 - s); computed without overflow for any a."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = _sigmoid(a)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        s = self.out
        return (g * s * (1 - s),)


class ReLU(Function):
    """d relu(a) = g*(a > 0); the gradient at 0 is 0, as PyTorch."""

    def forward(self, a: ndarray) -> ndarray:
        zero = _ZEROS.get(a.dtype)
        if zero is None:
            zero = _zero(a.dtype)
        # NOTE: out > 0 exactly where a > 0 (NaN in both is not > 0), so the output is
        # saved instead of a mask: one array pass less in forward, the mask built in backward.
        self.out, self.zero = xp.maximum(a, zero), zero
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * (self.out > self.zero),)


class LeakyReLU(Function):
    """d leaky_relu(a) = g if a > 0 else g*slope (slope at 0, as PyTorch)."""

    negative_slope: float

    def forward(self, a: ndarray) -> ndarray:
        self.mask = a > 0
        return xp.where(self.mask, a, a * self.negative_slope)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (xp.where(self.mask, g, g * self.negative_slope),)


class ELU(Function):
    """d elu(a) = g if a > 0 else g*alpha*exp(a)."""

    alpha: float

    def forward(self, a: ndarray) -> ndarray:
        self.mask = a > 0
        self.e = xp.exp(xp.minimum(a, 0))
        return xp.where(self.mask, a, self.alpha * (self.e - 1))

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (xp.where(self.mask, g, g * self.alpha * self.e),)


class GELU(Function):
    """d gelu(a) = g*(Phi(a) + a*phi(a)); ``approximate='tanh'`` uses the tanh form."""

    approximate: str

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        if self.approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * a**3))
            return 0.5 * a * (1 + self.t)
        self.cdf = 0.5 * (1 + erf(a / _SQRT_2))
        return a * self.cdf

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a = self.a
        if self.approximate == "tanh":
            t = self.t
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a * a)
            return (g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * dinner),)
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * a * a)
        return (g * (self.cdf + a * pdf),)


class Softplus(Function):
    """d softplus(a) = g*sigmoid(beta*a); linear where beta*a > threshold, as PyTorch."""

    beta: float
    threshold: float

    def forward(self, a: ndarray) -> ndarray:
        z = a * self.beta
        self.z = z
        # NOTE: log1p(exp(-|z|)) + max(z, 0) is finite for z = ±1e4.
        soft = (xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(z, 0)) / self.beta
        return xp.where(z > self.threshold, a, soft)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        z = self.z
        return (xp.where(z > self.threshold, g, g * _sigmoid(z)),)


class Clamp(Function):
    """d clamp(a, lo, hi) = g where lo <= a <= hi (bounds inclusive, as PyTorch), else 0."""

    lo: Any
    hi: Any

    def forward(self, a: ndarray) -> ndarray:
        lo, hi = self.lo, self.hi
        mask = xp.ones(a.shape, dtype=bool)
        out = a
        if lo is not None:
            mask &= a >= lo
            out = xp.maximum(out, xp.asarray(lo, dtype=a.dtype))
        if hi is not None:
            mask &= a <= hi
            out = xp.minimum(out, xp.asarray(hi, dtype=a.dtype))
        self.mask = mask
        return out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * self.mask,)


class Cast(Function):
    """d cast(a) = g cast back to a's dtype."""

    dtype: Any

    def forward(self, a: ndarray) -> ndarray:
        self.src = a.dtype
        return a.astype(self.dtype)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g.astype(self.src),)


# ---------------------------------------------------------------- matmul


class MatMul(Function):
    """d(a@b) = (g@b^T, a^T@g), with 1-D operands promoted and batch axes summed back."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b = a, b
        return a @ b

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a, b = self.a, self.b
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


# ---------------------------------------------------------------- reductions


class Sum(Function):
    """d sum(a, axes) = g broadcast back over the reduced axes."""

    axes: tuple[int, ...]
    keepdim: bool

    def forward(self, a: ndarray) -> ndarray:
        self.shape = a.shape
        return a.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (expand_reduced(g, self.shape, self.axes, self.keepdim),)


class Mean(Function):
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


class Var(Function):
    """d var(a) = g*2*(a - mean)/(n - correction)."""

    axes: tuple[int, ...]
    keepdim: bool
    correction: float

    def forward(self, a: ndarray) -> ndarray:
        n = 1
        for ax in self.axes:
            n *= a.shape[ax]
        self.denom = max(n - self.correction, 0)
        self.centered = a - a.mean(axis=self.axes, keepdims=True)
        with xp.errstate(divide="ignore", invalid="ignore"):
            ss = (self.centered * self.centered).sum(axis=self.axes, keepdims=self.keepdim)
            return ss / xp.asarray(self.denom, dtype=a.dtype)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        g = expand_reduced(g, self.centered.shape, self.axes, self.keepdim)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (g * (2 / xp.asarray(self.denom, dtype=g.dtype)) * self.centered,)


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


class AMax(Function):
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


class MaxDim(Function):
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


class LogSumExp(Function):
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


class Softmax(Function):
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


class LogSoftmax(Function):
    """d log_softmax(a) = g - softmax(a)*sum(g) along ``axis``."""

    axis: int

    def forward(self, a: ndarray) -> ndarray:
        shifted = a - a.max(axis=self.axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)


# ---------------------------------------------------------------- shape ops


class Reshape(Function):
    """d reshape(a) = g reshaped back."""

    shape: tuple[int, ...]

    def forward(self, a: ndarray) -> ndarray:
        self.src = a.shape
        return a.reshape(self.shape)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g.reshape(self.src),)


class Permute(Function):
    """d permute(a, dims) = g permuted by the inverse permutation."""

    dims: tuple[int, ...]

    def forward(self, a: ndarray) -> ndarray:
        return a.transpose(self.dims)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g.transpose(tuple(xp.argsort(self.dims))),)


class Expand(Function):
    """d expand(a) = g summed back to a's shape (expand's backward is a sum)."""

    shape: tuple[int, ...]

    def forward(self, a: ndarray) -> ndarray:
        self.src = a.shape
        return xp.broadcast_to(a, self.shape)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (sum_to(g, self.src),)


class Index(Function):
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


class Cat(Function):
    """d cat(xs, axis) = g split back into the pieces."""

    axis: int

    def forward(self, *xs: ndarray) -> ndarray:
        self.bounds = xp.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return tuple(xp.split(g, self.bounds, axis=self.axis))


class Stack(Function):
    """d stack(xs, axis) = g unstacked along axis."""

    axis: int

    def forward(self, *xs: ndarray) -> ndarray:
        return xp.stack(xs, axis=self.axis)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return tuple(xp.moveaxis(g, self.axis, 0))
