"""In-place vector updates through the BLAS that NumPy already loaded: one pass each.

An optimizer step is bound by memory traffic. ``y += a * x`` in NumPy is two
passes over an array-sized temporary (``t = a * x``, then ``y += t``), because no
ufunc scales and adds at once; BLAS's ``axpy`` does it in one pass, and
``axpby`` (``y = a * x + b * y``) replaces three. On the parameters of the
784-256-128-10 MLP of ``bench/mlp.py`` (one thread, fixed gradients) SGD's
``step()`` went from 68 to 45 microseconds and Adam's from 395 to 322.

The functions come from the OpenBLAS of NumPy's own wheel, found among the
libraries this process has already loaded (``RTLD_NOLOAD``), so no second BLAS,
with its own thread pool, is ever started (SciPy's OpenBLAS is never taken),
and thread limits set with threadpoolctl apply. Where there is no such library
(NumPy built on MKL or Accelerate, Windows, CuPy arrays) or ``RETROGRAD_BLAS=0``
is set, the functions return False and the caller does the update with NumPy
ufuncs.

Results may differ from the ufunc path in the last bit: BLAS kernels use fused
multiply-adds, so ``a * x + y`` is rounded once instead of twice.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

from ._backend import ndarray, xp

#: Arrays with fewer elements take the ufunc path: the ctypes call and the two
#: pointer lookups (about 2 microseconds) cost more than the pass they save.
MIN_SIZE = 16384

# dtype -> BLAS function, bound on first use; empty where there is no such BLAS
_axpy: dict[Any, Any] | None = None
_axpby: dict[Any, Any] | None = None
library: str | None = None  # the path of the OpenBLAS in use, once bound


def _candidates() -> list[str]:
    """Paths of the OpenBLAS that NumPy runs on, if this process has it loaded.

    NOTE: SciPy's wheels bring their own OpenBLAS, and once SciPy is imported
    both are loaded; binding SciPy's would start its thread pool beside NumPy's
    (measured: a two-thread step took 15 ms instead of 0.6). So NumPy's own copy
    (in ``numpy.libs`` or ``numpy/.dylibs``) comes first, and a lone OpenBLAS
    elsewhere (a system or conda NumPy linked to a shared one) is taken only when
    it is the only one loaded.
    """
    root = os.path.dirname(os.path.dirname(os.path.realpath(xp.__file__)))
    own_dirs = (os.path.join(root, "numpy.libs"), os.path.join(root, "numpy", ".dylibs"))
    loaded: list[str] = []
    try:
        with open("/proc/self/maps") as maps:  # Linux: exactly what is loaded
            for line in maps:
                path = line.rsplit(" ", 1)[-1].strip()
                if "openblas" in os.path.basename(path).lower() and path not in loaded:
                    loaded.append(path)
    except OSError:  # macOS: where NumPy's wheels put their OpenBLAS (RTLD_NOLOAD checks it)
        import glob

        for d in own_dirs:
            loaded += glob.glob(os.path.join(d, "*openblas*"))
    own = [p for p in loaded if os.path.dirname(os.path.realpath(p)) in own_dirs]
    if own:
        return own
    return loaded if len(loaded) == 1 else []


def _bind() -> tuple[dict[Any, Any], dict[Any, Any], str | None]:
    """``{dtype: axpy}``, ``{dtype: axpby}`` and the library's path, or nothing."""
    if os.environ.get("RETROGRAD_BLAS", "1") == "0" or xp.__name__ != "numpy":
        return {}, {}, None
    if not hasattr(os, "RTLD_NOLOAD") or sys.platform == "win32":
        return {}, {}, None
    for path in _candidates():
        try:  # RTLD_NOLOAD: a handle to the loaded copy, never a new one
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_NOW)
        except OSError:
            continue
        # Symbol names of NumPy's wheels (scipy-openblas, 64-bit integers), of
        # openblas64_ builds, and of plain OpenBLAS.
        for prefix, suffix in (("scipy_", "64_"), ("", "64_"), ("scipy_", ""), ("", "")):
            config = getattr(lib, f"{prefix}openblas_get_config{suffix}", None)
            if config is None:
                continue
            config.restype = ctypes.c_char_p
            integer = ctypes.c_int64 if b"USE64BITINT" in (config() or b"") else ctypes.c_int32
            ptr = ctypes.c_void_p
            axpys, axpbys = {}, {}
            for letter, dtype, real in (
                ("s", xp.float32, ctypes.c_float),
                ("d", xp.float64, ctypes.c_double),
            ):
                axpy = getattr(lib, f"{prefix}cblas_{letter}axpy{suffix}", None)
                axpby = getattr(lib, f"{prefix}cblas_{letter}axpby{suffix}", None)
                if axpy is None or axpby is None:
                    break
                axpy.restype = axpby.restype = None
                axpy.argtypes = [integer, real, ptr, integer, ptr, integer]
                axpby.argtypes = [integer, real, ptr, integer, real, ptr, integer]
                axpys[xp.dtype(dtype)], axpbys[xp.dtype(dtype)] = axpy, axpby
            else:
                return axpys, axpbys, path
    return {}, {}, None


def _load() -> None:
    global _axpy, _axpby, library
    _axpy, _axpby, library = _bind()


def _fits(x: ndarray, y: ndarray) -> bool:
    """Whether BLAS can read ``x`` and write ``y`` as flat vectors of one dtype."""
    return (
        type(x) is ndarray
        and type(y) is ndarray
        and x.shape == y.shape
        and x.dtype == y.dtype
        and x.flags.c_contiguous
        and y.flags.c_contiguous
        and x.flags.writeable  # from_buffer below asks for a writeable buffer
        and y.flags.writeable
    )


def _address(a: ndarray) -> int:
    # NOTE: a third of the time of a.ctypes.data (0.4 against 1.4 microseconds).
    return ctypes.addressof(ctypes.c_char.from_buffer(a))


def axpy(alpha: float, x: ndarray, y: ndarray) -> bool:
    """``y += alpha * x`` in one pass, when BLAS can; returns False (``y`` untouched) if not.

    Parameters
    ----------
    alpha : float
        Not 0: BLAS skips the pass for 0 and would leave ``y`` unchanged where
        ``x`` holds inf or NaN, while ``y + 0 * x`` becomes NaN there.
    x, y : ndarray
        Same shape and floating dtype, C-contiguous, not overlapping.
    """
    if y.size < MIN_SIZE or alpha == 0:
        return False
    if _axpy is None:
        _load()
    func = _axpy.get(y.dtype)  # type: ignore[union-attr]
    if func is None or not _fits(x, y):
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
        Same shape and floating dtype, C-contiguous, not overlapping.
    """
    if y.size < MIN_SIZE or alpha == 0 or beta == 0:
        return False
    if _axpby is None:
        _load()
    func = _axpby.get(y.dtype)  # type: ignore[union-attr]
    if func is None or not _fits(x, y):
        return False
    func(y.size, alpha, _address(x), 1, beta, _address(y), 1)
    return True


def available() -> bool:
    """True when the one-pass BLAS updates are in use in this process."""
    if _axpy is None:
        _load()
    return bool(_axpy)
