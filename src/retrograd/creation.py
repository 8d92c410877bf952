"""Functions that make new tensors: ``tensor``, ``zeros``, ``randn``, ..., as PyTorch's.

Every factory accepts PyTorch's ``device=`` (the CPU only: any other device raises,
see :mod:`retrograd.devices`), and the float factories follow
:func:`set_default_dtype`. The random ones draw from ``generator`` (a
:class:`retrograd.Generator`) or the default generator that
:func:`retrograd.manual_seed` seeds.
"""

from __future__ import annotations

from typing import Any

from ._backend import FLOAT_DTYPES, SUPPORTED_DTYPES, default_float, set_default_float, xp
from .devices import check_device
from .random import Generator, get_rng, sample_multinomial
from .tensor import DTypeLike, Tensor, as_dtype, new_tensor, shape_arg, to_array, to_tensor
from .validation import is_int

_INT64 = xp.dtype(xp.int64)


def set_default_dtype(d: DTypeLike) -> None:
    """Make ``d`` (``float32`` or ``float64``) the dtype of Python floats and float factories.

    As ``torch.set_default_dtype``: ``tensor(1.0)``, ``zeros``, ``randn``, ``arange``
    with a float argument and new layers' parameters get it.
    """
    dt = as_dtype(d, "set_default_dtype")
    if dt not in FLOAT_DTYPES:
        raise TypeError(
            f"set_default_dtype(): only float32 and float64 can be the default, got {dt}"
        )
    set_default_float(dt)


def get_default_dtype() -> Any:
    """The default floating dtype (``float32`` unless :func:`set_default_dtype` changed it)."""
    return default_float()


def tensor(
    data: Any,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Make a tensor from a number, a (nested) list or a NumPy array, copying the data.

    Parameters
    ----------
    data : array-like
        Python floats become the default float dtype (float32) and ints int64, as
        in PyTorch; a NumPy array keeps its dtype. Object, string and complex data
        are refused.
    dtype : dtype, optional
        ``retrograd.float32``, ``float64``, ``int64``, ``bool`` or a NumPy dtype.
    device : {None, 'cpu'}, optional
        Accepted for the CPU; any other device raises.
    requires_grad : bool, default=False
        Record operations on this tensor for backward (floating dtypes only).
    pin_memory : bool, default=False
        Accepted; without a GPU there is nothing to pin.
    """
    check_device(device, "tensor")
    return _make(to_array(data, dtype, "tensor"), requires_grad)


def as_tensor(data: Any, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory with a tensor or NumPy array already of ``dtype``."""
    check_device(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, xp.ndarray) and data.dtype in SUPPORTED_DTYPES:
        if dtype is None or as_dtype(dtype, "as_tensor") == data.dtype:
            return new_tensor(data)
    return new_tensor(to_array(data, dtype, "as_tensor"))


def _make(array: Any, requires_grad: bool) -> Tensor:
    out = new_tensor(array)
    out.requires_grad = requires_grad
    return out


def _float_dtype(dtype: DTypeLike, op: str) -> Any:
    return default_float() if dtype is None else as_dtype(dtype, op)


def zeros(
    *size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of zeros of shape ``size`` (the default float dtype unless ``dtype`` says)."""
    check_device(device, "zeros")
    return _make(xp.zeros(shape_arg(size), _float_dtype(dtype, "zeros")), requires_grad)


def ones(
    *size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ones of shape ``size`` (the default float dtype unless ``dtype`` says)."""
    check_device(device, "ones")
    return _make(xp.ones(shape_arg(size), _float_dtype(dtype, "ones")), requires_grad)


def empty(
    *size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of shape ``size`` to be filled by the caller (here: zeros, never garbage)."""
    check_device(device, "empty")
    return _make(xp.zeros(shape_arg(size), _float_dtype(dtype, "empty")), requires_grad)


def full(
    size: Any,
    fill_value: Any,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value`` (dtype inferred as ``tensor`` does)."""
    check_device(device, "full")
    if dtype is None:
        dtype = to_array(fill_value, None, "full").dtype
    return _make(xp.full(shape_arg((size,)), fill_value, as_dtype(dtype, "full")), requires_grad)


def _like(input: Tensor, dtype: DTypeLike, device: Any, op: str) -> Any:
    check_device(device, op)
    return to_tensor(input).dtype if dtype is None else as_dtype(dtype, op)


def zeros_like(
    input: Tensor, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Zeros with the shape (and, by default, the dtype) of ``input``."""
    dt = _like(input, dtype, device, "zeros_like")
    return _make(xp.zeros(input.shape, dt), requires_grad)


def ones_like(
    input: Tensor, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Ones with the shape (and, by default, the dtype) of ``input``."""
    dt = _like(input, dtype, device, "ones_like")
    return _make(xp.ones(input.shape, dt), requires_grad)


def empty_like(
    input: Tensor, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A tensor shaped like ``input`` to be filled by the caller (here: zeros)."""
    dt = _like(input, dtype, device, "empty_like")
    return _make(xp.zeros(input.shape, dt), requires_grad)


def full_like(
    input: Tensor,
    fill_value: Any,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``fill_value`` with the shape (and, by default, the dtype) of ``input``."""
    dt = _like(input, dtype, device, "full_like")
    return _make(xp.full(input.shape, fill_value, dt), requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from ``start`` (default 0) up to but not including ``end``, ``step`` apart.

    Integer arguments give int64, any float argument the default float dtype, as in PyTorch.
    """
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange(): step must be nonzero")
    if dtype is None:
        all_int = all(is_int(v) for v in (start, end, step))
        dtype = _INT64 if all_int else default_float()
    return _make(xp.arange(start, end, step, dtype=as_dtype(dtype, "arange")), requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    check_device(device, "linspace")
    return _make(
        xp.linspace(start, end, steps, dtype=_float_dtype(dtype, "linspace")), requires_grad
    )


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    check_device(device, "logspace")
    dt = _float_dtype(dtype, "logspace")
    return _make(xp.logspace(start, end, steps, base=base).astype(dt), requires_grad)


def eye(
    n: int,
    m: int | None = None,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """An ``n`` x ``m`` matrix with ones on the diagonal."""
    check_device(device, "eye")
    return _make(xp.eye(n, m, dtype=_float_dtype(dtype, "eye")), requires_grad)


def _typed(dtype: Any, name: str) -> Any:
    def make(*args: Any) -> Tensor:
        if args and all(is_int(a) for a in args):  # FloatTensor(2, 3): a shape
            return _make(xp.zeros(tuple(int(a) for a in args), dtype), False)
        if len(args) == 1 and isinstance(args[0], tuple) and all(is_int(a) for a in args[0]):
            return Tensor(list(args[0]), dtype=dtype)
        if len(args) > 1:
            raise TypeError(f"{name}(): expected data or sizes, got {args!r}")
        return Tensor([] if not args else args[0], dtype=dtype)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = (
        f"``{name}(data)`` copies data as a {xp.dtype(dtype)} tensor; ``{name}(*sizes)`` "
        "makes one of that shape (zeros), as PyTorch's legacy constructor."
    )
    return make


FloatTensor = _typed(xp.float32, "FloatTensor")
DoubleTensor = _typed(xp.float64, "DoubleTensor")
LongTensor = _typed(xp.int64, "LongTensor")
IntTensor = _typed(xp.int32, "IntTensor")
BoolTensor = _typed(xp.bool_, "BoolTensor")
ByteTensor = _typed(xp.uint8, "ByteTensor")


# ---------------------------------------------------------------- random


def rand(
    *size: Any,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples in [0, 1), reproducible under :func:`retrograd.manual_seed`."""
    check_device(device, "rand")
    dt = _float_dtype(dtype, "rand")
    return _make(get_rng(generator).random(shape_arg(size), dtype=dt), requires_grad)


def randn(
    *size: Any,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples, reproducible under :func:`retrograd.manual_seed`."""
    check_device(device, "randn")
    dt = _float_dtype(dtype, "randn")
    return _make(get_rng(generator).standard_normal(shape_arg(size), dtype=dt), requires_grad)


def randint(
    low: int,
    high: Any = None,
    size: Any = None,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers drawn uniformly from [low, high): ``(high, size)`` or ``(low, high, size)``."""
    check_device(device, "randint")
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint(): missing the size argument, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    dt = _INT64 if dtype is None else as_dtype(dtype, "randint")
    if not low < high:
        raise ValueError(f"randint(): expected low < high, got low={low}, high={high}")
    draws = get_rng(generator).integers(low, high, shape_arg((size,)))
    return _make(draws.astype(dt), requires_grad)


def randperm(
    n: int,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64)."""
    check_device(device, "randperm")
    dt = _INT64 if dtype is None else as_dtype(dtype, "randperm")
    return _make(get_rng(generator).permutation(n).astype(dt), requires_grad)


def rand_like(
    input: Tensor,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: Any = None,
) -> Tensor:
    """Uniform samples with the shape and dtype of ``input``."""
    dt = _like(input, dtype, device, "rand_like")
    return rand(input.shape, generator=generator, dtype=dt)


def randn_like(
    input: Tensor,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: Any = None,
) -> Tensor:
    """Standard normal samples with the shape and dtype of ``input``."""
    dt = _like(input, dtype, device, "randn_like")
    return randn(input.shape, generator=generator, dtype=dt)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Samples of N(mean, std**2): tensors ``mean`` and ``std`` broadcast, or numbers and ``size``.

    No gradient flows to ``mean`` and ``std`` (the samples are a new leaf).
    """
    check_device(device, "normal")
    m = mean.array if isinstance(mean, Tensor) else mean
    s = std.array if isinstance(std, Tensor) else std
    if xp.any(xp.asarray(s) < 0):
        raise ValueError(f"normal(): std must be >= 0, got {std!r}")
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if size is not None:
        if tensors:
            raise TypeError("normal(): size is for numbers mean and std; tensors give the shape")
        shape = shape_arg((size,))
        dt = _float_dtype(dtype, "normal")
    else:
        shape = xp.broadcast_shapes(*(xp.shape(v) for v in (m, s)))
        dt = tensors[0].dtype if tensors and dtype is None else _float_dtype(dtype, "normal")
    draws = get_rng(generator).normal(m, s, shape)
    return _make(xp.asarray(draws, dtype=dt), requires_grad)


def bernoulli(
    input: Tensor, p: float | None = None, *, generator: Generator | None = None
) -> Tensor:
    """1 with probability ``input`` (or ``p``) elementwise, else 0, in ``input``'s dtype."""
    t = to_tensor(input)
    prob = t.array if p is None else xp.full(t.shape, p)
    if prob.size and (prob.min() < 0 or prob.max() > 1):
        raise ValueError("bernoulli(): probabilities must be in [0, 1]")
    draws = get_rng(generator).random(t.shape) < prob
    return new_tensor(draws.astype(t.array.dtype))


def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Indices drawn with probabilities proportional to ``input`` (a row, or one per row).

    Parameters
    ----------
    input : Tensor of shape (n,) or (rows, n)
        Non-negative weights, not necessarily summing to 1.
    num_samples : int
        Draws per row; at most the number of nonzero weights without replacement.
    replacement : bool, default=False
        Draw with replacement; without it, each index at most once.
    generator : Generator, optional
        The source of randomness (default: the global generator).

    Returns
    -------
    Tensor of int64, shape (num_samples,) or (rows, num_samples).
    """
    return new_tensor(
        sample_multinomial(to_tensor(input).array, num_samples, replacement, generator)
    )


def from_numpy(array: Any) -> Tensor:
    """A tensor that shares memory with a NumPy array (no copy)."""
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"from_numpy(): expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in SUPPORTED_DTYPES:
        as_dtype(array.dtype, "from_numpy")  # raises, naming the supported dtypes
    return new_tensor(array)
