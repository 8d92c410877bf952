"""The array backend: every piece of array math in the engine goes through here.

``xp`` is the array module (NumPy today). A NumPy-compatible library such as
CuPy can replace it by rebinding the names below, without touching the ops.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as xp

from .validation import is_int

ndarray = xp.ndarray

_math_erf = xp.frompyfunc(math.erf, 1, 1)
_erf_impl: Any = None

#: Floating dtypes that may require gradients.
FLOAT_DTYPES = (xp.dtype(xp.float32), xp.dtype(xp.float64))
#: Every dtype a Tensor may hold.
SUPPORTED_DTYPES = (
    *FLOAT_DTYPES,
    xp.dtype(xp.int8),
    xp.dtype(xp.int16),
    xp.dtype(xp.int32),
    xp.dtype(xp.int64),
    xp.dtype(xp.uint8),
    xp.dtype(xp.bool_),
)
DEFAULT_FLOAT = xp.dtype(xp.float32)
#: The dtype Python floats and the float factories get: ``set_default_dtype`` changes it.
_default_float = [DEFAULT_FLOAT]


def default_float() -> Any:
    """The current default floating dtype (float32 unless ``set_default_dtype`` changed it)."""
    return _default_float[0]


def set_default_float(dtype: Any) -> None:
    """Make ``dtype`` (float32 or float64) the default floating dtype."""
    _default_float[0] = dtype


#: Per float dtype: the integer dtype of its bits and the mask of its exponent
#: field, which is zero exactly for zeros and subnormal numbers.
_EXPONENT_BITS = {
    xp.dtype(xp.float32): (xp.dtype(xp.int32), 0x7F800000),
    xp.dtype(xp.float64): (xp.dtype(xp.int64), 0x7FF0000000000000),
}


def flush_subnormal(a: ndarray, scratch: ndarray) -> None:
    """Set the subnormal entries of ``a`` to zero, in place (zeros become +0.0).

    Subnormal numbers (float32 below 1.2e-38, float64 below 2.2e-308) make
    multiplication, division and ``sqrt`` 40-50x slower on Intel CPUs, which
    handle them in microcode unless flush-to-zero is set, and NumPy never sets
    it. A decaying buffer such as Adam's ``m = 0.9*m`` of a weight whose
    gradient stays zero sinks into them and stays: ``0.9`` times the smallest
    subnormal rounds back to it.

    Works on the bits (three integer passes), so it never does arithmetic on a
    subnormal itself.

    Parameters
    ----------
    a : ndarray of float32 or float64
        Changed in place; any layout.
    scratch : ndarray
        An array of ``a``'s shape and dtype, overwritten.
    """
    int_dtype, exponent = _EXPONENT_BITS[a.dtype]
    bits, keep = a.view(int_dtype), scratch.view(int_dtype)
    xp.bitwise_and(bits, exponent, out=keep)
    xp.minimum(keep, 1, out=keep)  # 0 for zeros and subnormals, 1 for the rest
    xp.multiply(bits, keep, out=bits)


def erf(x: ndarray) -> ndarray:
    """Error function, elementwise, in the dtype of ``x``.

    scipy's vectorised erf when scipy is installed (imported on first use, so that
    ``import retrograd`` does not load scipy), else ``math.erf`` element by element.
    """
    global _erf_impl
    if _erf_impl is None:
        try:
            from scipy.special import erf as scipy_erf

            _erf_impl = scipy_erf
        except ImportError:  # pragma: no cover - scipy is optional for the core
            _erf_impl = False
    if _erf_impl is False:
        return _math_erf(x).astype(x.dtype)
    return _erf_impl(x)


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting: sum ``g`` down to ``shape`` (leading and size-1 axes).

    This is the one place where every op's broadcast gradient is reduced. It works
    on arrays and, in a recorded backward (``create_graph=True``), on Tensors
    (``sum`` and ``reshape``, with Tensor's keyword for keeping the axes).
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1
    )
    if axes:
        # keepdims: a sum over every axis of an array stays an array, not a NumPy scalar
        g = g.sum(axis=axes, keepdims=True) if type(g) is ndarray else g.sum(axes, keepdim=True)
    return g.reshape(shape)


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Turn ``dim`` (None, int or sequence) into a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    rank = max(ndim, 1)
    for d in dims:
        if not is_int(d):
            raise TypeError(f"{op}(): dim must be an int or a tuple of ints, got {dim!r}")
        if not -rank <= d < rank:
            raise IndexError(
                f"{op}(): dimension out of range (expected to be in range of "
                f"[{-rank}, {rank - 1}], but got {d})"
            )
        out.append(int(d) % rank)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}(): dim {dim!r} names the same dimension twice")
    if ndim == 0:
        return ()
    return tuple(sorted(out))


def expand_reduced(g: Any, shape: tuple[int, ...], axes: tuple[int, ...], keepdim: bool) -> Any:
    """Broadcast the gradient of a reduction over ``axes`` back to ``shape``.

    Works on arrays and on Tensors (a recorded backward), as :func:`sum_to`.
    """
    if not keepdim and axes:
        kept = list(g.shape)
        for ax in axes:  # sorted: each one lands at its place in shape
            kept.insert(ax, 1)
        g = g.reshape(tuple(kept))
    if type(g) is ndarray:
        return xp.broadcast_to(g, shape)
    return g if g.shape == shape else g.expand(*shape)
