"""Elementwise operations: binary arithmetic with broadcasting, unary math and activations."""

from __future__ import annotations

from typing import Any

from .._backend import erf, ndarray, sum_to, xp
from ..autograd import Op
from ..autograd import higher as hg

_SQRT_2 = 1.4142135623730951
_SQRT_2_OVER_PI = 0.7978845608028654
_INV_SQRT_2PI = 0.3989422804014327
_2_OVER_SQRT_PI = 1.1283791670955126

# ---------------------------------------------------------------- elementwise binary


class Add(Op):
    """d(a+b) = (g, g); saves nothing (the input shapes come from the graph)."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        return a + b

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        needs = self.needs
        return (
            sum_to(g, self.input_shape(0)) if needs[0] else None,
            sum_to(g, self.input_shape(1)) if needs[1] else None,
        )

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        needs = self.needs
        return (
            sum_to(g, self.input_shape(0)) if needs[0] else None,
            sum_to(g, self.input_shape(1)) if needs[1] else None,
        )


class Sub(Op):
    """d(a-b) = (g, -g); saves nothing (the input shapes come from the graph)."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        return a - b

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        needs = self.needs
        return (
            sum_to(g, self.input_shape(0)) if needs[0] else None,
            sum_to(-g, self.input_shape(1)) if needs[1] else None,
        )

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        needs = self.needs
        return (
            sum_to(g, self.input_shape(0)) if needs[0] else None,
            sum_to(-g, self.input_shape(1)) if needs[1] else None,
        )


class Mul(Op):
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

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a, b = hg.saved_input(self, 0, self.a), hg.saved_input(self, 1, self.b)
        return (
            sum_to(g * b, a.shape) if self.needs[0] else None,
            sum_to(g * a, b.shape) if self.needs[1] else None,
        )


class Div(Op):
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

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a, b = hg.saved_input(self, 0, self.a), hg.saved_input(self, 1, self.b)
        gb = g / b
        return (
            sum_to(gb, a.shape) if self.needs[0] else None,
            sum_to(-gb * a / b, b.shape) if self.needs[1] else None,
        )


class Pow(Op):
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

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a, b = hg.saved_input(self, 0, self.a), hg.saved_input(self, 1, self.b)
        ga = gb = None
        if self.needs[0]:
            ga = sum_to(hg.where(self.b == 0, 0.0, g * b * a ** (b - 1)), a.shape)
        if self.needs[1]:
            mask = (self.a == 0) & (self.b >= 0)
            loga = hg.where(mask, 1.0, a).log()  # log(1) = 0 where the mask zeroes gb anyway
            out = hg.saved_output(self, self.out)
            gb = sum_to(hg.where(mask, 0.0, g * out * loga), b.shape)
        return ga, gb


class PowScalar(Op):
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

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        c, a = self.c, hg.saved_input(self, 0, self.a)
        if c == 0:
            return (g * 0.0,)
        return (g * (2 * a) if c == 2 else g * c * a ** (c - 1),)


class RPowScalar(Op):
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

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        if self.c == 0:
            (ga,) = self.backward(g.array)
            return (hg.const(ga, g),)  # 0 or -inf: no further derivative
        out = hg.saved_output(self, self.out)
        return (g * out * float(xp.log(self.c)),)


class Maximum(Op):
    """d max(a, b): g goes to the larger input; ties split it half and half, as PyTorch."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return _select_backward(self, g, self.a > self.b)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return _select_backward_graph(self, g, self.a > self.b)


class Minimum(Op):
    """d min(a, b): g goes to the smaller input; ties split it half and half, as PyTorch."""

    def forward(self, a: ndarray, b: ndarray) -> ndarray:
        self.a, self.b = a, b
        return xp.minimum(a, b)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return _select_backward(self, g, self.a < self.b)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return _select_backward_graph(self, g, self.a < self.b)


def _select_backward(fn: Op, g: ndarray, a_wins: ndarray) -> tuple[ndarray | None, ...]:
    a, b = fn.a, fn.b
    tie = a == b
    half = g * 0.5
    ga = gb = None
    if fn.needs[0]:
        ga = sum_to(xp.where(tie, half, xp.where(a_wins, g, 0)), a.shape)
    if fn.needs[1]:
        gb = sum_to(xp.where(tie, half, xp.where(a_wins, 0, g)), b.shape)
    return ga, gb


def _select_backward_graph(fn: Op, g: Any, a_wins: ndarray) -> tuple[Any, ...]:
    tie = fn.a == fn.b
    half = g * 0.5
    ga = gb = None
    if fn.needs[0]:
        ga = sum_to(hg.where(tie, half, hg.where(a_wins, g, 0.0)), fn.a.shape)
    if fn.needs[1]:
        gb = sum_to(hg.where(tie, half, hg.where(a_wins, 0.0, g)), fn.b.shape)
    return ga, gb


class Where(Op):
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

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (
            None,
            sum_to(hg.where(self.cond, g, 0.0), self.sa) if self.needs[1] else None,
            sum_to(hg.where(self.cond, 0.0, g), self.sb) if self.needs[2] else None,
        )


# ---------------------------------------------------------------- elementwise unary


class Neg(Op):
    """d(-a) = -g."""

    def forward(self, a: ndarray) -> ndarray:
        return -a

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (-g,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (-g,)


class Abs(Op):
    """d|a| = g*sign(a) (0 at a == 0, as PyTorch)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.abs(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * xp.sign(self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * hg.const(xp.sign(self.a), g),)


class Exp(Op):
    """d exp(a) = g*exp(a)."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = xp.exp(a)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * self.out,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * hg.saved_output(self, self.out),)


class Log(Op):
    """d log(a) = g/a."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.log(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g / self.a,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g / hg.saved_input(self, 0, self.a),)


class Sqrt(Op):
    """d sqrt(a) = g/(2*sqrt(a))."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = xp.sqrt(a)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g / (2 * self.out),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g / (2 * hg.saved_output(self, self.out)),)


class Sin(Op):
    """d sin(a) = g*cos(a)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.sin(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * xp.cos(self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * hg.saved_input(self, 0, self.a).cos(),)


class Cos(Op):
    """d cos(a) = -g*sin(a)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.cos(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (-g * xp.sin(self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (-g * hg.saved_input(self, 0, self.a).sin(),)


class Tanh(Op):
    """d tanh(a) = g*(1 - tanh(a)**2)."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = xp.tanh(a)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * (1 - self.out * self.out),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        t = hg.saved_output(self, self.out)
        return (g * (1 - t * t),)


def stable_sigmoid(
    a: ndarray,
    out: ndarray | None = None,
    e: ndarray | None = None,
    d: ndarray | None = None,
    pos: ndarray | None = None,
) -> ndarray:
    """``1 / (1 + exp(-a))`` on an array, finite for any ``a`` (shared by the sigmoid ops).

    ``1 / (1 + e)`` where ``a >= 0`` and ``e / (1 + e)`` elsewhere, ``e = exp(-|a|)``.
    ``out``, ``e``, ``d`` (of a's float dtype) and ``pos`` (bool) are kept arrays of
    a's shape (a replayed step's, :class:`~retrograd.capture.kernels.SigmoidKernel`),
    else new ones.
    """
    if out is None:
        dtype = a.dtype if a.dtype.kind == "f" else xp.result_type(a.dtype, 1.0)
        out, e, d = (xp.empty_like(a, dtype=dtype) for _ in range(3))
        pos = xp.empty_like(a, dtype=bool)
    # NOTE: exp of -|a| only, so a = ±1e4 neither overflows nor loses the small side.
    xp.abs(a, out=e)
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    xp.add(1, e, out=d)
    # SPEED: the numerator is max(e, a >= 0): 1 where a >= 0 (as e <= 1), else e (>= 0, or
    # NaN, which max keeps), the same bits as xp.where's pick of 1/d or e/d without its
    # branch per element (36 against 166 µs for 32,768 float32 elements).
    xp.greater_equal(a, 0, out=pos)
    xp.maximum(e, pos, out=e)
    return xp.divide(e, d, out=out)


class Sigmoid(Op):
    """d sigmoid(a) = g*s*(1 - s); computed without overflow for any a."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = stable_sigmoid(a)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        s = self.out
        return (g * s * (1 - s),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        s = hg.saved_output(self, self.out)
        return (g * s * (1 - s),)


_ZEROS: dict[Any, ndarray] = {}


def _zero(dtype: Any) -> ndarray:
    """A cached 0-d zero of ``dtype``.

    SPEED: NumPy converts a Python ``0`` operand on every ufunc call; a zero of the
    array's dtype saves about 2,700 instructions a call (four calls in a step of the
    MLP benchmark; docs/benchmarks.md).
    """
    zero = _ZEROS.get(dtype)
    if zero is None:
        zero = _ZEROS[dtype] = xp.zeros((), dtype=dtype)
        zero.flags.writeable = False
    return zero


class ReLU(Op):
    """d relu(a) = g*(a > 0); the gradient at 0 is 0, as PyTorch."""

    def forward(self, a: ndarray) -> ndarray:
        # NOTE: out > 0 exactly where a > 0 (NaN in both is not > 0), so the output is
        # saved instead of a mask: one array pass less in forward, the mask built in backward.
        self.out = xp.maximum(a, _zero(a.dtype))
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        out = self.out
        return (g * (out > _zero(out.dtype)),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * hg.const(self.out > 0, g),)


def leaky_relu_slopes(
    a: ndarray, table: ndarray, mask: ndarray | None = None, out: ndarray | None = None
) -> ndarray:
    """Each element's slope: 1 where ``a > 0``, else ``table[0]`` (``table`` is ``[slope, 1]``).

    ``a * slopes`` is ``where(a > 0, a, a * slope)`` bit for bit (a product by 1 is
    exact) and so is ``g * slopes`` for the gradient. SPEED: a gather from the
    two-entry table by the mask has no branch; ``xp.where`` over a random mask
    mispredicts one per element (37 against 128 µs for 32,768 float32 elements).
    ``mask`` and ``out`` are kept arrays of a's shape (a replayed step's), else new.
    """
    mask = xp.greater(a, _zero(a.dtype), out=mask)
    return xp.take(table, mask.view(xp.uint8), out=out)


def leaky_relu_table(negative_slope: float, dtype: Any) -> ndarray:
    """``[negative_slope, 1]`` in ``dtype``: the slopes :func:`leaky_relu_slopes` gathers."""
    return xp.array((negative_slope, 1), dtype=dtype)


class LeakyReLU(Op):
    """d leaky_relu(a) = g if a > 0 else g*slope (slope at 0, as PyTorch)."""

    negative_slope: float

    def forward(self, a: ndarray) -> ndarray:
        table = leaky_relu_table(self.negative_slope, a.dtype)
        self.slopes = leaky_relu_slopes(a, table)
        return a * self.slopes

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * self.slopes,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * hg.const(self.slopes, g),)


class ELU(Op):
    """d elu(a) = g if a > 0 else g*alpha*exp(a)."""

    alpha: float

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        self.mask = a > 0
        self.e = xp.exp(xp.minimum(a, 0))
        return xp.where(self.mask, a, self.alpha * (self.e - 1))

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (xp.where(self.mask, g, g * self.alpha * self.e),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        # exp(min(a, 0)) from the saved input, clamped where the mask discards it anyway
        e = hg.saved_input(self, 0, self.a).clamp(max=0).exp()
        return (hg.where(self.mask, g, g * self.alpha * e),)


class Erf(Op):
    """d erf(a) = g*2/sqrt(pi)*exp(-a**2) (recorded by GELU's second derivative)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return erf(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * _2_OVER_SQRT_PI * xp.exp(-self.a * self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a = hg.saved_input(self, 0, self.a)
        return (g * _2_OVER_SQRT_PI * (-a * a).exp(),)


class GELU(Op):
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

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a = hg.saved_input(self, 0, self.a)
        if self.approximate == "tanh":
            t = (_SQRT_2_OVER_PI * (a + 0.044715 * a**3)).tanh()
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a * a)
            return (g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * dinner),)
        cdf = 0.5 * (1 + hg.call(Erf, a / _SQRT_2))
        pdf = _INV_SQRT_2PI * (-0.5 * a * a).exp()
        return (g * (cdf + a * pdf),)


class Softplus(Op):
    """d softplus(a) = g*sigmoid(beta*a); linear where beta*a > threshold, as PyTorch."""

    beta: float
    threshold: float

    def forward(self, a: ndarray) -> ndarray:
        z = a * self.beta
        self.a, self.z = a, z
        # NOTE: log1p(exp(-|z|)) + max(z, 0) is finite for z = ±1e4.
        soft = (xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(z, 0)) / self.beta
        return xp.where(z > self.threshold, a, soft)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        z = self.z
        return (xp.where(z > self.threshold, g, g * stable_sigmoid(z)),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        s = (hg.saved_input(self, 0, self.a) * self.beta).sigmoid()
        return (hg.where(self.z > self.threshold, g, g * s),)


class Clamp(Op):
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

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * hg.const(self.mask, g),)


class Cast(Op):
    """d cast(a) = g cast back to a's dtype."""

    dtype: Any

    def forward(self, a: ndarray) -> ndarray:
        self.src = a.dtype
        return a.astype(self.dtype)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g.astype(self.src),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g.to(self.src),)


# ---------------------------------------------------------------- more activations (PyTorch's)


class SiLU(Op):
    """d silu(a) = g*s*(1 + a*(1 - s)) with s = sigmoid(a); silu(a) = a*s."""

    def forward(self, a: ndarray) -> ndarray:
        self.a, self.s = a, stable_sigmoid(a)
        return a * self.s

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a, s = self.a, self.s
        return (g * s * (1 + a * (1 - s)),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return hg.by_recompute(self, (self.a,), lambda x: x * x.sigmoid(), g)


class Mish(Op):
    """d mish(a) = g*(t + a*sigmoid(a)*(1 - t^2)) with t = tanh(softplus(a)); mish(a) = a*t."""

    def forward(self, a: ndarray) -> ndarray:
        # NOTE: the stable softplus, so a = ±1e4 gives a (resp. -0.0), not NaN.
        self.a = a
        self.t = xp.tanh(xp.log1p(xp.exp(-xp.abs(a))) + xp.maximum(a, 0))
        return a * self.t

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        a, t = self.a, self.t
        return (g * (t + a * stable_sigmoid(a) * (1 - t * t)),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        def composed(x: Any) -> Any:
            return x * hg.call(Softplus, x, beta=1.0, threshold=20.0).tanh()

        return hg.by_recompute(self, (self.a,), composed, g)


class Hardtanh(Op):
    """d hardtanh(a) = g where lo < a < hi, else 0 (bounds exclusive, as PyTorch's hardtanh)."""

    lo: float
    hi: float

    def forward(self, a: ndarray) -> ndarray:
        self.mask = (a > self.lo) & (a < self.hi)
        return xp.clip(a, xp.asarray(self.lo, dtype=a.dtype), xp.asarray(self.hi, dtype=a.dtype))

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * self.mask,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (hg.where(self.mask, g, 0.0),)


class LogSigmoid(Op):
    """d log(sigmoid(a)) = g*sigmoid(-a); finite for a = ±1e4."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a)))

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * stable_sigmoid(-self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        def composed(x: Any) -> Any:
            return -hg.call(Softplus, -x, beta=1.0, threshold=20.0)

        return hg.by_recompute(self, (self.a,), composed, g)


class Softsign(Op):
    """d (a/(1 + |a|)) = g/(1 + |a|)^2."""

    def forward(self, a: ndarray) -> ndarray:
        self.a, self.d = a, 1 + xp.abs(a)
        return a / self.d

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g / (self.d * self.d),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return hg.by_recompute(self, (self.a,), lambda x: x / (x.abs() + 1), g)


# ---------------------------------------------------------------- more unary math (PyTorch's)


class Log1p(Op):
    """d log(1 + a) = g/(1 + a); exact for tiny a."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.log1p(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g / (1 + self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g / (1 + hg.saved_input(self, 0, self.a)),)


class Expm1(Op):
    """d (exp(a) - 1) = g*exp(a) = g*(out + 1); exact for tiny a."""

    def forward(self, a: ndarray) -> ndarray:
        self.out = xp.expm1(a)
        return self.out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * (self.out + 1),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * (hg.saved_output(self, self.out) + 1),)


class Sinh(Op):
    """d sinh(a) = g*cosh(a)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.sinh(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * xp.cosh(self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * hg.call(Cosh, hg.saved_input(self, 0, self.a)),)


class Cosh(Op):
    """d cosh(a) = g*sinh(a)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.cosh(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g * xp.sinh(self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * hg.call(Sinh, hg.saved_input(self, 0, self.a)),)


class Asin(Op):
    """d asin(a) = g/sqrt(1 - a**2) (inf at |a| = 1, NaN beyond, as PyTorch)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.arcsin(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (g / xp.sqrt(1 - self.a * self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a = hg.saved_input(self, 0, self.a)
        return (g / (1 - a * a).sqrt(),)


class Acos(Op):
    """d acos(a) = -g/sqrt(1 - a**2)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.arccos(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (-g / xp.sqrt(1 - self.a * self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a = hg.saved_input(self, 0, self.a)
        return (-g / (1 - a * a).sqrt(),)


class Atan(Op):
    """d atan(a) = g/(1 + a**2)."""

    def forward(self, a: ndarray) -> ndarray:
        self.a = a
        return xp.arctan(a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (g / (1 + self.a * self.a),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        a = hg.saved_input(self, 0, self.a)
        return (g / (1 + a * a),)


#: The piecewise-constant functions of :class:`Rounding`, by PyTorch's name.
ROUNDING = {
    "round": xp.round,  # NOTE: halves to even, as torch.round
    "floor": xp.floor,
    "ceil": xp.ceil,
    "trunc": xp.trunc,
    "sign": lambda a: xp.nan_to_num(xp.sign(a), nan=0.0),  # sign(NaN) = 0, as torch.sign
}


class Rounding(Op):
    """d round(a) = 0 (also floor, ceil, trunc, sign): flat between the jumps, as PyTorch."""

    fn: str

    def forward(self, a: ndarray) -> ndarray:
        return ROUNDING[self.fn](a)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (xp.zeros_like(g),)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (g * 0.0,)
