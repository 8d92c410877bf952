"""How many threads NumPy's BLAS runs each matrix product on: one policy for all of retrograd.

Every matrix product of the engine (``Tensor.matmul``, ``nn.Linear``, the
convolutions, and so ``fit()``, the scikit-learn estimators and the CLI, which
train through them) and every one-pass optimizer update of :mod:`retrograd._blas`
first asks this module
for threads, by the work of the call, as PyTorch's ``GRAIN_SIZE`` does for its
loops: a call gets one thread per :data:`GRAIN` multiply-adds, at least one and
at most :func:`get_num_threads`. Small products run on one thread, so that a
thread never waits for a peer that the operating system has put off the CPU.

Why: OpenBLAS splits any product over 262,144 multiply-adds over all its
threads, and its threads wait for each other at the end of every call. On a
machine where another process keeps one core busy, the waiting thread of a
two-thread product sits out the other's time slice: a digits MLP trained by a
hand-written loop took 1.1-7.4 s instead of 0.12-0.17 s (issue 20), and a
128x784 @ 784x256 float32 product here took 45 ms on two threads against 0.37 ms
on one. Large products still get every thread (``docs/threads.md``).

The ceiling :func:`get_num_threads` is, as in PyTorch, the user's
:func:`set_num_threads`, else the BLAS's own count when retrograd first used it
(which OpenBLAS takes from ``OPENBLAS_NUM_THREADS``, ``GOTO_NUM_THREADS`` or
``OMP_NUM_THREADS``, else the number of cores). A change made behind
retrograd's back (``threadpoolctl.threadpool_limits``) is noticed at the next
call and becomes the ceiling, so scikit-learn-style limits keep working.

The thread count is set through OpenBLAS's ``openblas_set_num_threads`` in the
copy NumPy loaded (found as :mod:`retrograd._blas` finds its ``axpy``), else
through threadpoolctl when it is installed (MKL, BLIS, another OpenBLAS), else
not at all: then the BLAS runs as configured and :func:`get_num_threads` only
reports the ceiling. The current count is cached, so a call costs one
``openblas_get_num_threads`` (about 0.25 microseconds) and the switch (about
0.65) happens only when the count changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from ._backend import xp
from .validation import is_int

#: Multiply-adds (or, for a vector update, elements) each thread must get before
#: a call is split over threads. Two threads paid on an idle 2-core Xeon from
#: the 32x784 @ 784x256 product (6.4 million multiply-adds; docs/benchmarks.md);
#: the digits MLP's 200x64 @ 64x100 (1.3 million) stays on one thread.
GRAIN = 1 << 21

# None: not bound yet; () once bound and there is nothing to call.
_backend: tuple[Callable[[], int], Callable[[int], None]] | tuple[()] | None = None
_user: int | None = None  # set_num_threads's value
_ceiling: int | None = None  # the BLAS's count when bound, or the last outside change
_applied: int | None = None  # what this module last set the BLAS to


# ---------------------------------------------------------------- finding NumPy's BLAS


def openblas_candidates() -> list[str]:
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


def openblas() -> tuple[Any, Callable[[str], Any], str] | None:
    """NumPy's loaded OpenBLAS: ``(library, symbol, path)``, or None.

    ``symbol("cblas_saxpy")`` returns the function under the name this build
    gives it (NumPy's wheels: ``scipy_cblas_saxpy64_``), or None.
    """
    if xp.__name__ != "numpy" or not hasattr(os, "RTLD_NOLOAD") or sys.platform == "win32":
        return None
    for path in openblas_candidates():
        try:  # RTLD_NOLOAD: a handle to the loaded copy, never a new one
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_NOW)
        except OSError:
            continue
        # Symbol names of NumPy's wheels (scipy-openblas, 64-bit integers), of
        # openblas64_ builds, and of plain OpenBLAS.
        for prefix, suffix in (("scipy_", "64_"), ("", "64_"), ("scipy_", ""), ("", "")):
            if getattr(lib, f"{prefix}openblas_get_config{suffix}", None) is not None:

                def symbol(name: str, lib: Any = lib, prefix: str = prefix, suffix: str = suffix):
                    return getattr(lib, f"{prefix}{name}{suffix}", None)

                return lib, symbol, path
    return None


def _bind() -> tuple[Callable[[], int], Callable[[int], None]] | tuple[()]:
    """``(get, set)`` of the BLAS's thread count, or ``()`` where it cannot be set."""
    found = openblas()
    if found is not None:
        _, symbol, _ = found
        get, set_ = symbol("openblas_get_num_threads"), symbol("openblas_set_num_threads")
        if get is not None and set_ is not None:
            # NOTE: the getter runs before every product: as a PYFUNCTYPE it keeps the GIL
            # and skips ctypes' argument setup (about 1,360 instructions a call against 1,760).
            get = ctypes.PYFUNCTYPE(ctypes.c_int)(ctypes.cast(get, ctypes.c_void_p).value)
            set_.restype, set_.argtypes = None, [ctypes.c_int]
            return get, set_
    try:  # MKL, BLIS or an OpenBLAS of another name: threadpoolctl knows them
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return ()
    blas = ThreadpoolController().select(user_api="blas").lib_controllers
    if len(blas) != 1:  # none, or several BLAS: no single count to set
        return ()
    return blas[0].get_num_threads, blas[0].set_num_threads


def _bound() -> tuple[Callable[[], int], Callable[[int], None]] | tuple[()]:
    global _backend, _ceiling, _applied
    if _backend is None:
        _backend = _bind()
        if _backend:
            _ceiling = _applied = max(1, int(_backend[0]()))
    return _backend


# ---------------------------------------------------------------- the user's setting


def get_num_threads() -> int:
    """The most threads a matrix product may use, as ``torch.get_num_threads``.

    Returns
    -------
    int
        The value of the last :func:`set_num_threads`; before any, the BLAS's
        own thread count when retrograd first used it (``OPENBLAS_NUM_THREADS``,
        ``OMP_NUM_THREADS``, or the number of cores), or a later change made
        with threadpoolctl. Where the BLAS cannot be controlled, the number of
        CPUs this process may run on.
    """
    if _user is not None:
        return _user
    if _bound():
        _observe()
        return _ceiling  # type: ignore[return-value]
    return _cpu_count()


def set_num_threads(n: int) -> None:
    """Let matrix products use at most ``n`` BLAS threads, as ``torch.set_num_threads``.

    Small products still run on one thread (see :data:`GRAIN`); ``n = 1`` runs
    every product on one thread.

    Parameters
    ----------
    n : int
        A positive integer.

    Raises
    ------
    TypeError
        ``n`` is not an integer (a bool is not one), where PyTorch raises a
        RuntimeError.
    ValueError
        ``n`` is 0 or negative.
    """
    global _user
    if not is_int(n):
        raise TypeError(f"set_num_threads expects an int, but got {type(n).__name__} ({n!r})")
    if n <= 0:
        raise ValueError(f"set_num_threads expects a positive integer, got {n}")
    _user = int(n)
    _cap(_user)


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """:func:`set_num_threads` inside the block, the previous ceiling after it.

    Parameters
    ----------
    n : int or None
        A positive integer; None changes nothing.
    """
    global _user
    if n is None:
        yield
        return
    before = _user
    set_num_threads(n)
    try:
        yield
    finally:
        _user = before
        if before is not None:
            _cap(before)


# ---------------------------------------------------------------- the policy


def threads_for(work: int, ceiling: int) -> int:
    """Threads for a call of ``work`` multiply-adds: one per :data:`GRAIN`, 1 to ``ceiling``."""
    return max(1, min(ceiling, work // GRAIN))


def for_work(work: int) -> None:
    """Set the BLAS's thread count for the next call, one of ``work`` multiply-adds.

    Called by every op that runs a matrix product and by the vector updates of
    :mod:`retrograd._blas`. The count stays for any BLAS call that follows.
    """
    global _applied, _ceiling
    backend = _backend if _backend is not None else _bound()
    if not backend:
        return
    # NOTE: _observe and threads_for written out: this runs before every product.
    now = backend[0]()
    if now != _applied:  # changed outside retrograd (threadpoolctl): the new ceiling
        _ceiling = _applied = max(1, now)
    n = work // GRAIN
    if n < 2:
        n = 1
    else:
        n = min(n, _user if _user is not None else _ceiling)  # type: ignore[type-var]
    if n != _applied:
        backend[1](n)  # only on a change: a switch costs about 0.65 microseconds
        _applied = n


def matmul_work(a: Any, b: Any) -> int:
    """Multiply-adds of ``a @ b`` for arrays of any matmul shapes (1-D, 2-D, batched)."""
    m = a.shape[-2] if a.ndim > 1 else 1
    n = b.shape[-1] if b.ndim > 1 else 1
    return max(a.size * n, b.size * m)


def _cap(n: int) -> None:
    """Lower the BLAS's count to ``n`` now, for BLAS calls that do not ask :func:`for_work`."""
    global _applied
    backend = _bound()
    if backend:
        _observe()
        if _applied > n:  # type: ignore[operator]
            backend[1](n)
            _applied = n


def _observe() -> None:
    """Take an outside change of the BLAS's count (threadpoolctl) as the new ceiling."""
    global _ceiling, _applied
    now = _backend[0]()  # type: ignore[index]
    if now != _applied:
        _ceiling = _applied = max(1, int(now))


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


__all__ = ["GRAIN", "for_work", "get_num_threads", "matmul_work", "num_threads"]
__all__ += ["set_num_threads", "threads_for"]
