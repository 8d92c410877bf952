"""The top-level functions of the ``retrograd`` namespace: ``retrograd.exp(x)`` beside ``x.exp()``.

As in PyTorch (``torch.add``, ``torch.exp``, ``torch.sum``, ...): each one is the
function form of a :class:`~retrograd.tensor.Tensor` method or operator, and
accepts anything :func:`~retrograd.tensor.to_tensor` converts. ``matmul``,
``where``, ``clamp``, ``cat`` and ``stack`` are defined beside the Tensor in
:mod:`retrograd.tensor` (its methods call them) and re-exported here. The
functions of layers, activations with options and losses are in
:mod:`retrograd.nn.functional`.
"""

from __future__ import annotations

import builtins
from typing import Any

from . import ops
from .tensor import (
    MaxResult,
    Tensor,
    apply_op,
    cat,
    clamp,
    matmul,
    stack,
    to_tensor,
    where,
)


def add(input: Any, other: Any) -> Tensor:
    """Elementwise ``input + other`` with broadcasting."""
    return to_tensor(input) + other


def sub(input: Any, other: Any) -> Tensor:
    """Elementwise ``input - other`` with broadcasting."""
    return to_tensor(input) - other


def mul(input: Any, other: Any) -> Tensor:
    """Elementwise ``input * other`` with broadcasting."""
    return to_tensor(input) * other


def div(input: Any, other: Any) -> Tensor:
    """Elementwise true division ``input / other`` with broadcasting."""
    return to_tensor(input) / other


def pow(input: Any, exponent: Any) -> Tensor:
    """Elementwise ``input ** exponent``; a constant exponent never gives a NaN gradient."""
    if isinstance(input, Tensor):
        return input**exponent
    return to_tensor(exponent).__rpow__(input)


def neg(input: Tensor) -> Tensor:
    """Elementwise ``-input``."""
    return -to_tensor(input)


def abs(input: Tensor) -> Tensor:
    """Elementwise absolute value; gradient ``sign(x)`` (0 at 0)."""
    return to_tensor(input).abs()


def exp(input: Tensor) -> Tensor:
    """Elementwise ``e ** x``."""
    return to_tensor(input).exp()


def log(input: Tensor) -> Tensor:
    """Elementwise natural logarithm."""
    return to_tensor(input).log()


def sqrt(input: Tensor) -> Tensor:
    """Elementwise square root."""
    return to_tensor(input).sqrt()


def sin(input: Tensor) -> Tensor:
    """Elementwise sine."""
    return to_tensor(input).sin()


def cos(input: Tensor) -> Tensor:
    """Elementwise cosine."""
    return to_tensor(input).cos()


def tanh(input: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return to_tensor(input).tanh()


def sigmoid(input: Tensor) -> Tensor:
    """Elementwise logistic function ``1 / (1 + exp(-x))``, finite for any x."""
    return to_tensor(input).sigmoid()


def relu(input: Tensor) -> Tensor:
    """Elementwise ``max(x, 0)``; the gradient at 0 is 0, as PyTorch."""
    return to_tensor(input).relu()


def maximum(input: Tensor, other: Any) -> Tensor:
    """Elementwise maximum; where they tie, each input gets half the gradient (as PyTorch)."""
    return to_tensor(input).maximum(other)


def minimum(input: Tensor, other: Any) -> Tensor:
    """Elementwise minimum; where they tie, each input gets half the gradient (as PyTorch)."""
    return to_tensor(input).minimum(other)


def softmax(input: Tensor, dim: int) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, computed after subtracting the max."""
    return to_tensor(input).softmax(dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``; finite for inputs of magnitude 1e4."""
    return to_tensor(input).log_softmax(dim)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Sum over all elements or over ``dim`` (int or tuple)."""
    return to_tensor(input).sum(dim, keepdim)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Mean over all elements or over ``dim`` (int or tuple)."""
    return to_tensor(input).mean(dim, keepdim)


def var(
    input: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (default 1)."""
    return to_tensor(input).var(dim, unbiased, keepdim, correction=correction)


def std(
    input: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    """Standard deviation over ``dim`` with Bessel's ``correction`` (default 1)."""
    return to_tensor(input).std(dim, unbiased, keepdim, correction=correction)


def amax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Largest value over ``dim``; ties share the gradient evenly."""
    return to_tensor(input).amax(dim, keepdim)


def amin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Smallest value over ``dim``; ties share the gradient evenly."""
    return to_tensor(input).amin(dim, keepdim)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor | MaxResult:
    """Largest value overall, or ``(values, indices)`` along ``dim``."""
    return to_tensor(input).max(dim, keepdim)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor | MaxResult:
    """Smallest value overall, or ``(values, indices)`` along ``dim``."""
    return to_tensor(input).min(dim, keepdim)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, stable for any magnitude."""
    return to_tensor(input).logsumexp(dim, keepdim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (the first of ties)."""
    return to_tensor(input).argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest value (the first of ties)."""
    return to_tensor(input).argmin(dim, keepdim)


def reshape(input: Tensor, shape: Any) -> Tensor:
    """The same values in a new shape."""
    return to_tensor(input).reshape(shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim`` to ``end_dim``."""
    return to_tensor(input).flatten(start_dim, end_dim)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    return to_tensor(input).transpose(dim0, dim1)


def permute(input: Tensor, dims: Any) -> Tensor:
    """Reorder the dimensions."""
    return to_tensor(input).permute(dims)


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Remove dimensions of size 1."""
    return to_tensor(input).squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1."""
    return to_tensor(input).unsqueeze(dim)


def _compare(name: str):  # type: ignore[no-untyped-def]
    def fn(input: Any, other: Any) -> Tensor:
        return getattr(to_tensor(input), name)(other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise comparison ``{name}``, a bool tensor with no gradient."
    return fn


eq = _compare("eq")
ne = _compare("ne")
lt = _compare("lt")
le = _compare("le")
gt = _compare("gt")
ge = _compare("ge")


# ---------------------------------------------------------------- PyTorch's wider surface


def numel(input: Tensor) -> int:
    """The number of elements."""
    return to_tensor(input).numel()


def is_tensor(obj: Any) -> bool:
    """True for a retrograd Tensor (or Parameter)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """True for a float32 or float64 tensor."""
    return to_tensor(input).is_floating_point()


def _unary(name: str, doc: str):  # type: ignore[no-untyped-def]
    def fn(input: Any) -> Tensor:
        return getattr(to_tensor(input), name)()

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


log2 = _unary("log2", "Elementwise base-2 logarithm.")
log10 = _unary("log10", "Elementwise base-10 logarithm.")
log1p = _unary("log1p", "Elementwise ``log(1 + x)``, exact for tiny x.")
expm1 = _unary("expm1", "Elementwise ``exp(x) - 1``, exact for tiny x.")
rsqrt = _unary("rsqrt", "Elementwise ``1 / sqrt(x)``.")
reciprocal = _unary("reciprocal", "Elementwise ``1 / x``.")
square = _unary("square", "Elementwise ``x * x``.")
sinh = _unary("sinh", "Elementwise hyperbolic sine.")
cosh = _unary("cosh", "Elementwise hyperbolic cosine.")
asin = arcsin = _unary("asin", "Elementwise arcsine.")
acos = arccos = _unary("acos", "Elementwise arccosine.")
atan = arctan = _unary("atan", "Elementwise arctangent.")
erf = _unary("erf", "Elementwise error function.")
floor = _unary("floor", "Elementwise floor (gradient 0).")
ceil = _unary("ceil", "Elementwise ceiling (gradient 0).")
trunc = fix = _unary("trunc", "Round toward zero (gradient 0).")
sign = _unary("sign", "-1, 0 or 1 by the sign of each element (gradient 0).")
frac = _unary("frac", "The fractional part ``x - trunc(x)``.")
isnan = _unary("isnan", "True where the value is NaN.")
isinf = _unary("isinf", "True where the value is +-inf.")
isfinite = _unary("isfinite", "True where the value is finite.")
logical_not = _unary("logical_not", "Elementwise not (bool result).")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round to ``decimals`` places, halves to even (gradient 0)."""
    return to_tensor(input).round(decimals)


def remainder(input: Any, other: Any) -> Tensor:
    """``input mod other`` with the sign of ``other``, as Python's ``%``."""
    return to_tensor(input) % other


def floor_divide(input: Any, other: Any) -> Tensor:
    """``floor(input / other)``."""
    return to_tensor(input) // other


def logical_and(input: Any, other: Any) -> Tensor:
    """Elementwise and (bool result)."""
    return to_tensor(input).logical_and(other)


def logical_or(input: Any, other: Any) -> Tensor:
    """Elementwise or (bool result)."""
    return to_tensor(input).logical_or(other)


def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:
    """``input + weight * (end - input)``."""
    return to_tensor(input).lerp(end, weight)


def nan_to_num(
    input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """NaN and infinities replaced; see :meth:`Tensor.nan_to_num`."""
    return to_tensor(input).nan_to_num(nan, posinf, neginf)


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and values."""
    return to_tensor(input).equal(other)


def isclose(
    input: Tensor, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|``."""
    return to_tensor(input).isclose(other, rtol, atol, equal_nan)


def allclose(
    input: Tensor, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> bool:
    """True when :func:`isclose` holds everywhere."""
    return to_tensor(input).allclose(other, rtol, atol, equal_nan)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where any element is nonzero, over all or along ``dim``."""
    return to_tensor(input).any(dim, keepdim)


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where every element is nonzero, over all or along ``dim``."""
    return to_tensor(input).all(dim, keepdim)


def prod(
    input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Product over all elements or along ``dim``."""
    return to_tensor(input).prod(dim, keepdim, dtype=dtype)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim``."""
    return to_tensor(input).cumsum(dim, dtype=dtype)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim``."""
    return to_tensor(input).cumprod(dim, dtype=dtype)


def norm(
    input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """The ``p``-norm over ``dim``; see :meth:`Tensor.norm`."""
    return to_tensor(input).norm(p, dim, keepdim, dtype)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index``; see :meth:`Tensor.gather`."""
    return to_tensor(input).gather(dim, index)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """:func:`gather` with broadcasting; see :meth:`Tensor.take_along_dim`."""
    return to_tensor(input).take_along_dim(indices, dim)


def scatter(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Any = None,
    *,
    value: Any = None,
    reduce: Any = None,
) -> Tensor:
    """A copy of ``input`` with ``src`` written at ``index``; see :meth:`Tensor.scatter`."""
    return to_tensor(input).scatter(dim, index, src, value=value, reduce=reduce)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index``."""
    return to_tensor(input).scatter_add(dim, index, src)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices at ``index`` along ``dim``."""
    return to_tensor(input).index_select(dim, index)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements where ``mask`` is True, 1-D."""
    return to_tensor(input).masked_select(mask)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """The indices of the nonzero elements."""
    return to_tensor(input).nonzero(as_tuple=as_tuple)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """``(values, indices)`` sorted along ``dim``."""
    return to_tensor(input).sort(dim, descending, stable)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort along ``dim``."""
    return to_tensor(input).argsort(dim, descending, stable)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    return to_tensor(input).topk(k, dim, largest, sorted)


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct values; see :meth:`Tensor.unique`."""
    return to_tensor(input).unique(sorted, return_inverse, return_counts, dim)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each non-negative integer occurs."""
    return to_tensor(input).bincount(weights, minlength)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts in equal bins; see :meth:`Tensor.histc`."""
    return to_tensor(input).histc(bins, min, max)


def histogram(
    input: Tensor, bins: Any = 100, *, range: Any = None, weight: Any = None, density: bool = False
) -> Any:
    """``(hist, bin_edges)``; see :meth:`Tensor.histogram`."""
    return to_tensor(input).histogram(bins, range=range, weight=weight, density=density)


def flip(input: Tensor, dims: Any) -> Tensor:
    """Reverse the order along ``dims``."""
    return to_tensor(input).flip(dims)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift cyclically along ``dims``."""
    return to_tensor(input).roll(shifts, dims)


def tile(input: Tensor, dims: Any) -> Tensor:
    """Repeat the tensor along each dimension."""
    return to_tensor(input).tile(dims)


def repeat_interleave(input: Tensor, repeats: Any, dim: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times, next to itself."""
    return to_tensor(input).repeat_interleave(repeats, dim)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The slice ``start:start + length`` along ``dim``."""
    return to_tensor(input).narrow(dim, start, length)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces along ``dim``; see :meth:`Tensor.split`."""
    return to_tensor(tensor).split(split_size_or_sections, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` equal pieces along ``dim``."""
    return to_tensor(input).chunk(chunks, dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``."""
    return to_tensor(input).unbind(dim)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions."""
    return to_tensor(input).tril(diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions."""
    return to_tensor(input).triu(diagonal)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the matrix in ``dim1``, ``dim2``; see :meth:`Tensor.diagonal`."""
    return to_tensor(input).diagonal(offset, dim1, dim2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A vector's diagonal matrix, or a matrix's diagonal."""
    return to_tensor(input).diag(diagonal)


def trace(input: Tensor) -> Tensor:
    """The sum of a matrix's main diagonal."""
    return to_tensor(input).trace()


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix (0-D and 1-D tensors as they are)."""
    return to_tensor(input).t()


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """The product of two matrices."""
    return to_tensor(input).mm(mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """The product of two batches of matrices."""
    return to_tensor(input).bmm(mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """The product of a matrix and a vector."""
    return to_tensor(input).mv(vec)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """The inner product of two 1-D tensors."""
    return to_tensor(input).dot(other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two 1-D tensors."""
    return to_tensor(input).outer(vec2)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Sum of products named by subscripts, as ``torch.einsum('ij,jk->ik', a, b)``.

    Operands may be given one by one or as one list. ``...`` stands for the same
    leading dimensions in every operand. Not supported (raise): a subscript
    repeated within one operand (diagonals, traces) and broadcasting a size-1
    dimension against a larger one.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ts = [to_tensor(x) for x in operands]
    inputs, output = _einsum_subscripts(equation.replace(" ", ""), ts)
    sizes: dict[str, int] = {}
    for subs, x in zip(inputs, ts, strict=True):
        if len(set(subs)) != len(subs):
            raise NotImplementedError(
                f"einsum({equation!r}): a subscript repeated within one operand ({subs!r}: a "
                "diagonal or trace) is not supported; use diagonal()/sum instead"
            )
        for c, n in zip(subs, x.shape, strict=True):
            if sizes.setdefault(c, n) != n:
                raise ValueError(
                    f"einsum({equation!r}): subscript {c!r} has size {sizes[c]} in one operand "
                    f"and {n} in another (shapes {[tuple(x.shape) for x in ts]})"
                )
    dtypes = {x.array.dtype for x in ts}
    if len(dtypes) > 1:
        raise TypeError(
            f"einsum({equation!r}): operands have different dtypes {sorted(map(str, dtypes))}"
        )
    return apply_op(ops.Einsum, *ts, inputs=tuple(inputs), output=output)


def _einsum_subscripts(equation: str, ts: list[Tensor]) -> tuple[list[str], str]:
    """The subscripts of each operand and of the output, ellipses spelled out in spare letters."""
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ts):
        raise ValueError(f"einsum({equation!r}): {len(terms)} subscripts for {len(ts)} operands")
    used = set(equation)
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    n_ell = builtins.max(
        (t.ndim - len(s.replace("...", "")) for s, t in zip(terms, ts, strict=True) if "..." in s),
        default=0,
    )
    ell = "".join(spare[:n_ell])
    inputs = []
    for s, t in zip(terms, ts, strict=True):
        if "..." in s:
            k = t.ndim - len(s.replace("...", ""))
            s = s.replace("...", ell[n_ell - k :])
        if len(s) != t.ndim:
            raise ValueError(
                f"einsum({equation!r}): subscripts {s!r} for an operand of shape {t.shape}"
            )
        inputs.append(s)
    if arrow:
        output = rhs.replace("...", ell)
    else:  # implicit: the letters that appear once, in alphabetical order, after the ellipsis
        letters = "".join(terms).replace("...", "")
        output = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return inputs, output


__all__ = [
    "abs",
    "acos",
    "add",
    "all",
    "allclose",
    "amax",
    "amin",
    "any",
    "arccos",
    "arcsin",
    "arctan",
    "argmax",
    "argmin",
    "argsort",
    "asin",
    "atan",
    "bincount",
    "bmm",
    "cat",
    "ceil",
    "chunk",
    "clamp",
    "cos",
    "cosh",
    "cumprod",
    "cumsum",
    "diag",
    "diagonal",
    "div",
    "dot",
    "einsum",
    "eq",
    "equal",
    "erf",
    "exp",
    "expm1",
    "fix",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "frac",
    "gather",
    "ge",
    "gt",
    "histc",
    "histogram",
    "index_select",
    "is_floating_point",
    "is_tensor",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "lerp",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "logical_and",
    "logical_not",
    "logical_or",
    "logsumexp",
    "lt",
    "masked_select",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mm",
    "mul",
    "mv",
    "nan_to_num",
    "narrow",
    "ne",
    "neg",
    "nonzero",
    "norm",
    "numel",
    "outer",
    "permute",
    "pow",
    "prod",
    "reciprocal",
    "relu",
    "remainder",
    "repeat_interleave",
    "reshape",
    "roll",
    "round",
    "rsqrt",
    "scatter",
    "scatter_add",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "t",
    "take_along_dim",
    "tanh",
    "tile",
    "topk",
    "trace",
    "transpose",
    "tril",
    "triu",
    "trunc",
    "unbind",
    "unique",
    "unsqueeze",
    "var",
    "where",
]
