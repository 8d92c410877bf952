"""In-place vector updates through the BLAS that NumPy already loaded: one pass each.

An optimizer step is bound by memory traffic. ``y += a * x`` in NumPy is two
passes over an array-sized temporary (``t = a * x``, then ``y += t``), because no
ufunc scales and adds at once; BLAS's ``axpy`` does it in one pass, and
``axpby`` (``y = a * x + b * y``) replaces three. On the parameters of the
784-256-128-10 MLP of ``bench/mlp.py`` (one thread, fixed gradients) SGD's
``step()`` went from 68 to 45 microseconds and Adam's from 395 to 322.

The functions come from the OpenBLAS of NumPy's own wheel, found among the
libraries this process has already loaded (``RTLD_NOLOAD``, by
:func:`retrograd.threads.openblas`), so no second BLAS, with its own thread
pool, is ever started (SciPy's OpenBLAS is never taken); each call takes its
thread count from :mod:`retrograd.threads`, by its size. Where there is no such library
(NumPy built on MKL or Accelerate, Windows, CuPy arrays) or ``RETROGRAD_BLAS=0``
is set, the functions return False and the caller does the update with NumPy
ufuncs.

Results may differ from the ufunc path in the last bit: BLAS kernels use fused
multiply-adds, so ``a * x + y`` is rounded once instead of twice.

:func:`gemm_function` hands out the same library's ``cblas_?gemm`` for
:mod:`retrograd.capture`, which adds a weight-gradient product to the weight
itself (``beta != 0``) when SGD's update is made in the backward pass.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

from . import threads
from ._backend import ndarray, xp

#: Arrays with fewer elements take the ufunc path: the ctypes call and the two
#: pointer lookups (about 2 microseconds) cost more than the pass they save.
MIN_SIZE = 16384

# dtype -> BLAS function, bound on first use; empty where there is no such BLAS
_axpy: dict[Any, Any] | None = None
_axpby: dict[Any, Any] | None = None
_gemm: dict[Any, Any] = {}
library: str | None = None  # the path of the OpenBLAS in use, once bound

#: CBLAS's enumerations (``cblas.h``), for :func:`gemm_function`'s callers.
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


def _bind() -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any], str | None]:
    """``{dtype: axpy}``, ``{dtype: axpby}``, ``{dtype: gemm}`` and the library's path."""
    found = threads.openblas()
    if os.environ.get("RETROGRAD_BLAS", "1") == "0" or found is None:
        return {}, {}, {}, None
    _, symbol, path = found
    config = symbol("openblas_get_config")
    config.restype = ctypes.c_char_p
    integer = ctypes.c_int64 if b"USE64BITINT" in (config() or b"") else ctypes.c_int32
    ptr, enum = ctypes.c_void_p, ctypes.c_int
    axpys, axpbys, gemms = {}, {}, {}
    for letter, dtype, real in (
        ("s", xp.float32, ctypes.c_float),
        ("d", xp.float64, ctypes.c_double),
    ):
        axpy, axpby = symbol(f"cblas_{letter}axpy"), symbol(f"cblas_{letter}axpby")
        if axpy is None or axpby is None:
            return {}, {}, {}, None
        axpy.restype = axpby.restype = None
        axpy.argtypes = [integer, real, ptr, integer, ptr, integer]
        axpby.argtypes = [integer, real, ptr, integer, real, ptr, integer]
        axpys[xp.dtype(dtype)], axpbys[xp.dtype(dtype)] = axpy, axpby
        gemm = symbol(f"cblas_{letter}gemm")
        if gemm is not None:
            gemm.restype = None
            # order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc
            gemm.argtypes = [enum, enum, enum, *[integer] * 3, real, ptr, integer]
            gemm.argtypes += [ptr, integer, real, ptr, integer]
            gemms[xp.dtype(dtype)] = gemm
    return axpys, axpbys, gemms, path


def _load() -> None:
    global _axpy, _axpby, _gemm, library
    _axpy, _axpby, _gemm, library = _bind()


def _fits(x: ndarray, y: ndarray) -> bool:
    """Whether BLAS can read ``x`` and write ``y`` as flat vectors of one dtype.

    Both C-contiguous, or both Fortran-contiguous (a weight that
    :mod:`retrograd.capture` stores transposed, and its state): either way
    their elements lie in the same order in memory.
    """
    if not (
        type(x) is ndarray
        and type(y) is ndarray
        and x.shape == y.shape
        and x.dtype == y.dtype
        and x.flags.writeable  # from_buffer below asks for a writeable buffer
        and y.flags.writeable
    ):
        return False
    xf, yf = x.flags, y.flags
    return (xf.c_contiguous and yf.c_contiguous) or (xf.f_contiguous and yf.f_contiguous)


def _address(a: ndarray) -> int:
    # NOTE: a third of the time of a.ctypes.data (0.4 against 1.4 microseconds); from_buffer
    # takes C-contiguous buffers only, and a Fortran-contiguous array's transpose is one.
    return ctypes.addressof(ctypes.c_char.from_buffer(a if a.flags.c_contiguous else a.T))


def _kernel(name: str, x: ndarray, y: ndarray) -> Any:
    """The bound ``name`` (axpy or axpby) for ``y``'s dtype, its threads set; None if BLAS can't."""
    if _axpy is None:
        _load()
    func = (_axpy if name == "axpy" else _axpby).get(y.dtype)  # type: ignore[union-attr]
    if func is None or not _fits(x, y):
        return None
    threads.for_work(y.size)
    return func


def axpy(alpha: float, x: ndarray, y: ndarray) -> bool:
    """``y += alpha * x`` in one pass, when BLAS can; returns False (``y`` untouched) if not.

    Parameters
    ----------
    alpha : float
        Not 0: BLAS skips the pass for 0 and would leave ``y`` unchanged where
        ``x`` holds inf or NaN, while ``y + 0 * x`` becomes NaN there.
    x, y : ndarray
        Same shape and floating dtype, both C- or both Fortran-contiguous, not overlapping.
    """
    func = _kernel("axpy", x, y) if y.size >= MIN_SIZE and alpha != 0 else None
    if func is None:
        return False
    func(y.size, alpha, _address(x), 1, _address(y), 1)
    return True


def axpby(alpha: float, x: ndarray, beta: float, y: ndarray) -> bool:
    """``y = alpha * x + beta * y`` in one pass, when BLAS can; returns False if not.

    Parameters
    ----------
    alpha, beta : float
        Neither 0 (BLAS would skip reading ``x`` or ``y``, and drop their NaNs).
    x, y : ndarray
        Same shape and floating dtype, both C- or both Fortran-contiguous, not overlapping.
    """
    usable = y.size >= MIN_SIZE and alpha != 0 and beta != 0
    func = _kernel("axpby", x, y) if usable else None
    if func is None:
        return False
    func(y.size, alpha, _address(x), 1, beta, _address(y), 1)
    return True


def available() -> bool:
    """True when the one-pass BLAS updates are in use in this process."""
    if _axpy is None:
        _load()
    return bool(_axpy)


def functions(dtype: Any) -> tuple[Any, Any] | None:
    """The bound ctypes ``(axpy, axpby)`` for ``dtype``, for callers that pass addresses
    themselves (:mod:`retrograd.capture.optim`); None where BLAS is not used."""
    if not available():
        return None
    axpy, axpby = _axpy.get(dtype), _axpby.get(dtype)  # type: ignore[union-attr]
    return None if axpy is None or axpby is None else (axpy, axpby)


def gemm_function(dtype: Any) -> Any:
    """The bound ctypes ``cblas_?gemm`` for ``dtype`` (``C = alpha op(A) op(B) + beta C``).

    For callers that pass addresses themselves (:mod:`retrograd.capture`'s update
    inside the backward pass); None where BLAS is not used.
    """
    if not available():
        return None
    return _gemm.get(xp.dtype(dtype))
