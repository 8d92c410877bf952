"""In-place vector updates through the BLAS that NumPy already loaded: one pass each.

An optimizer step is bound by memory traffic. ``y += a * x`` in NumPy is two
passes over an array-sized temporary (``t = a * x``, then ``y += t``), because no
ufunc scales and adds at once; BLAS's ``axpy`` does it in one pass, and
``axpby`` (``y = a * x + b * y``) replaces three. On the 784-256-128-10 MLP of
``bench/mlp.py`` at batch 32, SGD through ``axpy`` took 30-40 microseconds off
a 550 microsecond step on two threads.

The functions come from the OpenBLAS of NumPy's own wheel, found among the
libraries this process has already loaded (``RTLD_NOLOAD``), so no second BLAS,
with its own thread pool, is ever started, and thread limits set with
threadpoolctl apply. Where there is no such library (NumPy built on MKL or
Accelerate, Windows, CuPy arrays) or ``RETROGRAD_BLAS=0`` is set, the functions
return False and the caller does the update with NumPy ufuncs.

Results may differ from the ufunc path in the last bit: BLAS kernels use fused
multiply-adds, so ``a * x + y`` is rounded once instead of twice.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ._backend import ndarray, xp

#: Arrays with fewer elements take the ufunc path: the ctypes call and the two
#: pointer lookups (about 3.5 microseconds) cost more than the pass they save.
MIN_SIZE = 16384

_funcs: dict[tuple[str, Any], Any] | None = None  # (name, dtype) -> BLAS function; {} if none


def _candidates() -> list[str]:
    """Paths of OpenBLAS libraries that may be loaded in this process."""
    paths: list[str] = []
    try:
        with open("/proc/self/maps") as maps:  # Linux: exactly what is loaded
            for line in maps:
                path = line.rsplit(" ", 1)[-1].strip()
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:  # macOS: the places NumPy's wheels put their OpenBLAS
        import glob

        root = os.path.dirname(os.path.dirname(xp.__file__))
        for pattern in ("numpy/.dylibs/*openblas*", "numpy.libs/*openblas*"):
            paths += glob.glob(os.path.join(root, pattern))
    return paths


def _load() -> dict[tuple[str, Any], Any]:
    """Bind ``{s,d}axpy`` and ``{s,d}axpby`` from an already loaded OpenBLAS, or nothing."""
    if os.environ.get("RETROGRAD_BLAS", "1") == "0" or xp.__name__ != "numpy":
        return {}
    if not hasattr(os, "RTLD_NOLOAD") or sys.platform == "win32":
        return {}
    import ctypes

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
            funcs = {}
            for letter, dtype, real in (
                ("s", xp.float32, ctypes.c_float),
                ("d", xp.float64, ctypes.c_double),
            ):
                ptr = ctypes.c_void_p
                axpy = getattr(lib, f"{prefix}cblas_{letter}axpy{suffix}", None)
                axpby = getattr(lib, f"{prefix}cblas_{letter}axpby{suffix}", None)
                if axpy is None or axpby is None:
                    break
                axpy.restype = axpby.restype = None
                axpy.argtypes = [integer, real, ptr, integer, ptr, integer]
                axpby.argtypes = [integer, real, ptr, integer, real, ptr, integer]
                funcs["axpy", xp.dtype(dtype)] = axpy
                funcs["axpby", xp.dtype(dtype)] = axpby
            else:
                return funcs
    return {}


def _usable(name: str, x: ndarray, y: ndarray) -> Any:
    """The BLAS function for ``y`` updated from ``x``, or None when the ufuncs must do it."""
    global _funcs
    if y.size < MIN_SIZE:
        return None
    if _funcs is None:
        _funcs = _load()
    if (
        type(x) is not ndarray
        or type(y) is not ndarray
        or x.dtype != y.dtype
        or x.shape != y.shape
        or not x.flags.c_contiguous
        or not y.flags.c_contiguous
        or not y.flags.writeable
    ):
        return None
    return _funcs.get((name, y.dtype))


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
    func = _usable("axpy", x, y) if alpha != 0 else None
    if func is None:
        return False
    func(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
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
    func = _usable("axpby", x, y) if alpha != 0 and beta != 0 else None
    if func is None:
        return False
    func(y.size, alpha, x.ctypes.data, 1, beta, y.ctypes.data, 1)
    return True


def available() -> bool:
    """True when the one-pass BLAS updates are in use in this process."""
    global _funcs
    if _funcs is None:
        _funcs = _load()
    return bool(_funcs)
