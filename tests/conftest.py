"""Shared helpers for the oracle tests: convert to PyTorch and compare."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

import retrograd as rg

settings.register_profile(
    "retrograd",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# CI replays the same examples every run (a new random example is for development runs to find);
# it draws more of them.
settings.register_profile(
    "ci", parent=settings.get_profile("retrograd"), derandomize=True, max_examples=100
)
settings.load_profile("ci" if os.environ.get("CI") else "retrograd")

torch.set_num_threads(1)

TOL = {
    np.dtype(np.float32): dict(rtol=1e-4, atol=1e-5),
    np.dtype(np.float64): dict(rtol=1e-9, atol=1e-11),
}


def tol(dtype) -> dict:
    """Comparison tolerances for a dtype: float32 loose, float64 tight."""
    return TOL[np.dtype(dtype)]


def to_torch(x: rg.Tensor | np.ndarray, requires_grad: bool | None = None) -> torch.Tensor:
    """A torch leaf with the same values and dtype."""
    arr = x.array if isinstance(x, rg.Tensor) else x
    t = torch.from_numpy(np.array(arr, copy=True))
    rq = (
        x.requires_grad
        if requires_grad is None and isinstance(x, rg.Tensor)
        else bool(requires_grad)
    )
    return t.requires_grad_(rq)


def assert_close(ours, theirs, dtype=None, **kw) -> None:
    """Compare a retrograd tensor (or array) with a torch tensor (or array)."""
    a = ours.array if isinstance(ours, rg.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    opts = dict(tol(dtype or (a.dtype if a.dtype.kind == "f" else np.float64)))
    opts.update(kw)
    np.testing.assert_allclose(a, b, **opts)


def noncontiguous(a: np.ndarray) -> np.ndarray:
    """The values of ``a`` in a layout that is not C-contiguous (for 1-D and up).

    Fortran order where that differs from C order (the layout of ``x.T``), else
    every other element of a larger buffer. Ops that assume C order, for instance
    by writing through ``reshape(-1)``, give wrong answers on these.
    """
    a = np.asarray(a)
    out = np.asfortranarray(a)
    if out.flags.c_contiguous:
        buf = np.zeros((*a.shape, 2), a.dtype)
        out = buf[..., 0]
        out[...] = a
    if a.size > 1:
        assert not out.flags.c_contiguous
    return out


@pytest.fixture(params=["blas", "ufuncs"])
def update_path(request, monkeypatch):
    """Optimizer updates with BLAS (``retrograd._blas``) or with NumPy ufuncs only.

    Returns ``(path, calls)``: ``calls`` gets ``(name, done)`` for every call of
    ``_blas.axpy`` and ``_blas.axpby``, ``done`` being whether BLAS did the update.
    """
    from retrograd import _blas

    if request.param == "ufuncs":
        monkeypatch.setattr(_blas, "_axpy", {})
        monkeypatch.setattr(_blas, "_axpby", {})
    elif not _blas.available():
        pytest.skip("NumPy loaded no OpenBLAS with axpy in this process")
    calls: list[tuple[str, bool]] = []

    def spy(name):
        real = getattr(_blas, name)

        def call(*args):
            done = real(*args)
            calls.append((name, done))
            return done

        return call

    for name in ("axpy", "axpby"):
        monkeypatch.setattr(_blas, name, spy(name))
    return request.param, calls


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
