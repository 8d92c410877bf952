"""Functions that make new tensors: ``tensor``, ``zeros``, ``randn``, ..."""

from __future__ import annotations

from typing import Any

from ._backend import DEFAULT_FLOAT, SUPPORTED_DTYPES, xp
from .random import Generator, get_rng
from .tensor import DTypeLike, Tensor, as_dtype, new_tensor, shape_arg

_INT64 = xp.dtype(xp.int64)


def tensor(data: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Make a tensor from a number, a (nested) list or a NumPy array, copying the data.

    Parameters
    ----------
    data : array-like
        Python floats become float32 and ints int64, as in PyTorch; a NumPy array
        keeps its dtype. Object, string and complex data are refused.
    dtype : dtype, optional
        ``retrograd.float32``, ``float64``, ``int64``, ``bool`` or a NumPy dtype.
    requires_grad : bool, default=False
        Record operations on this tensor for backward (floating dtypes only).
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def _make(array: Any, requires_grad: bool) -> Tensor:
    out = new_tensor(array)
    out.requires_grad = requires_grad
    return out


def _float_dtype(dtype: DTypeLike, op: str) -> Any:
    return DEFAULT_FLOAT if dtype is None else as_dtype(dtype, op)


def zeros(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of shape ``size`` (float32 unless ``dtype`` says otherwise)."""
    return _make(xp.zeros(shape_arg(size), _float_dtype(dtype, "zeros")), requires_grad)


def ones(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of shape ``size`` (float32 unless ``dtype`` says otherwise)."""
    return _make(xp.ones(shape_arg(size), _float_dtype(dtype, "ones")), requires_grad)


def full(
    size: Any, fill_value: Any, dtype: DTypeLike = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value`` (dtype inferred as ``tensor`` does)."""
    if dtype is None:
        dtype = Tensor(fill_value).dtype
    return _make(xp.full(shape_arg((size,)), fill_value, as_dtype(dtype, "full")), requires_grad)


def zeros_like(input: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and, by default, the dtype) of ``input``."""
    dt = input.dtype if dtype is None else as_dtype(dtype, "zeros_like")
    return _make(xp.zeros(input.shape, dt), requires_grad)


def ones_like(input: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and, by default, the dtype) of ``input``."""
    dt = input.dtype if dtype is None else as_dtype(dtype, "ones_like")
    return _make(xp.ones(input.shape, dt), requires_grad)


def full_like(
    input: Tensor, fill_value: Any, dtype: DTypeLike = None, requires_grad: bool = False
) -> Tensor:
    """``fill_value`` with the shape (and, by default, the dtype) of ``input``."""
    dt = input.dtype if dtype is None else as_dtype(dtype, "full_like")
    return _make(xp.full(input.shape, fill_value, dt), requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from ``start`` (default 0) up to but not including ``end``, ``step`` apart.

    Integer arguments give int64, any float argument float32, as in PyTorch.
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange(): step must be nonzero")
    if dtype is None:
        all_int = all(isinstance(v, int) for v in (start, end, step))
        dtype = _INT64 if all_int else DEFAULT_FLOAT
    return _make(xp.arange(start, end, step, dtype=as_dtype(dtype, "arange")), requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: DTypeLike = None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    return _make(
        xp.linspace(start, end, steps, dtype=_float_dtype(dtype, "linspace")), requires_grad
    )


def eye(
    n: int, m: int | None = None, dtype: DTypeLike = None, requires_grad: bool = False
) -> Tensor:
    """An ``n`` x ``m`` matrix with ones on the diagonal."""
    return _make(xp.eye(n, m, dtype=_float_dtype(dtype, "eye")), requires_grad)


def rand(
    *size: Any,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples in [0, 1), reproducible under :func:`retrograd.manual_seed`."""
    dt = _float_dtype(dtype, "rand")
    return _make(get_rng(generator).random(shape_arg(size), dtype=dt), requires_grad)


def randn(
    *size: Any,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples, reproducible under :func:`retrograd.manual_seed`."""
    dt = _float_dtype(dtype, "randn")
    return _make(get_rng(generator).standard_normal(shape_arg(size), dtype=dt), requires_grad)


def randint(
    low: int,
    high: int | None = None,
    size: Any = (),
    generator: Generator | None = None,
    dtype: DTypeLike = None,
) -> Tensor:
    """Integers drawn uniformly from [``low``, ``high``)."""
    if high is None:
        low, high = 0, low
    dt = _INT64 if dtype is None else as_dtype(dtype, "randint")
    return new_tensor(get_rng(generator).integers(low, high, shape_arg((size,)), dtype=dt))


def randperm(n: int, generator: Generator | None = None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64)."""
    return new_tensor(get_rng(generator).permutation(n).astype(_INT64))


def rand_like(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Uniform samples with the shape and dtype of ``input``."""
    return rand(input.shape, generator=generator, dtype=input.dtype)


def randn_like(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Standard normal samples with the shape and dtype of ``input``."""
    return randn(input.shape, generator=generator, dtype=input.dtype)


def from_numpy(array: Any) -> Tensor:
    """A tensor that shares memory with a NumPy array (no copy)."""
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"from_numpy(): expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in SUPPORTED_DTYPES:
        as_dtype(array.dtype, "from_numpy")  # raises, naming the supported dtypes
    return new_tensor(array)
