"""Pooling against torch: max, average and adaptive pools, functions and layers.

Values and input gradients in float64 (1e-9 relative) and float32 (1e-4),
indices exactly; float64 gradients also against central differences.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import retrograd as rg
import retrograd.nn as nn
from retrograd.nn import functional as CF

from .conftest import tol

DTYPES = [np.float64, np.float32]


def arr(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def both(rg_fn, t_fn, x, dtype, seed=0):
    """Compare outputs (and indices, when returned) and the input gradient."""
    xr = rg.tensor(x.astype(dtype), requires_grad=True)
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    y, yt = rg_fn(xr), t_fn(xt)
    if isinstance(yt, tuple):
        assert isinstance(y, tuple)
        assert y[1].dtype == np.int64
        np.testing.assert_array_equal(y[1].array, yt[1].numpy())
        y, yt = y[0], yt[0]
    assert y.shape == tuple(yt.shape), f"shape {y.shape} != {tuple(yt.shape)}"
    np.testing.assert_allclose(y.array, yt.detach().numpy(), **tol(dtype))
    g = np.random.default_rng(seed).standard_normal(yt.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert xr.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(xr.grad.array, xt.grad.numpy(), **tol(dtype))


MAX2D = [
    ((2, 3, 8, 8), {"kernel_size": 2}),
    ((2, 3, 9, 7), {"kernel_size": 2}),  # odd sizes: the last row/column is dropped
    ((2, 3, 9, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((1, 2, 10, 9), {"kernel_size": (3, 2), "stride": (2, 1), "dilation": (2, 3)}),
    ((2, 2, 7, 7), {"kernel_size": 3, "stride": 1, "padding": 1, "return_indices": True}),
    ((2, 2, 6, 11), {"kernel_size": 2, "stride": 3, "ceil_mode": True, "return_indices": True}),
    ((1, 3, 5, 5), {"kernel_size": 5, "padding": 2, "stride": 2, "dilation": 1}),
    ((3, 5, 5), {"kernel_size": 2, "return_indices": True}),  # unbatched
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "kw"), MAX2D)
def test_max_pool2d_matches_torch(shape, kw, dtype):
    both(lambda x: CF.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), arr(shape, 1), dtype)


AVG2D = [
    ((2, 3, 8, 8), {"kernel_size": 2}),
    ((2, 3, 9, 7), {"kernel_size": (3, 2)}),
    ((2, 3, 9, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((2, 3, 9, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ((1, 2, 6, 11), {"kernel_size": (2, 4), "stride": (3, 2), "padding": (1, 2), "ceil_mode": True,
                     "count_include_pad": False}),
    ((2, 5, 5), {"kernel_size": 2, "stride": 1}),
]  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "kw"), AVG2D)
def test_avg_pool2d_matches_torch(shape, kw, dtype):
    both(lambda x: CF.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), arr(shape, 1), dtype)


POOL1D = [
    ((2, 3, 10), {"kernel_size": 2}),
    ((2, 3, 11), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((1, 2, 13), {"kernel_size": 4, "stride": 3, "padding": 2}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "kw"), POOL1D)
def test_pool1d_matches_torch(shape, kw, dtype):
    x = arr(shape, 2)
    both(lambda x: CF.avg_pool1d(x, **kw), lambda x: TF.avg_pool1d(x, **kw), x, dtype)
    kw = {**kw, "return_indices": True, "dilation": 1}
    both(lambda x: CF.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("shape", "size"),
    [((2, 3, 8, 8), 1), ((2, 3, 9, 7), 3), ((1, 2, 7, 10), (4, 6)), ((2, 3, 5, 6), (None, 4)),
     ((2, 2, 5, 5), (7, 8)), ((3, 6, 7), (2, 3))],
)  # fmt: skip
def test_adaptive_pools_match_torch(shape, size, dtype):
    x = arr(shape, 3)
    both(
        lambda x: CF.adaptive_avg_pool2d(x, size),
        lambda x: TF.adaptive_avg_pool2d(x, size),
        x,
        dtype,
    )
    both(
        lambda x: CF.adaptive_max_pool2d(x, size, return_indices=True),
        lambda x: TF.adaptive_max_pool2d(x, size, return_indices=True),
        x,
        dtype,
    )


@pytest.mark.parametrize("size", [1, 3, 7, 12])
def test_adaptive_pools_1d_match_torch(size):
    x = arr((2, 3, 7), 4)
    both(
        lambda x: CF.adaptive_avg_pool1d(x, size),
        lambda x: TF.adaptive_avg_pool1d(x, size),
        x,
        np.float64,
    )
    both(
        lambda x: CF.adaptive_max_pool1d(x, size, True),
        lambda x: TF.adaptive_max_pool1d(x, size, True),
        x,
        np.float64,
    )


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    """Windows of zeros (a ReLU's output): PyTorch's gradient goes to the first element."""
    x = np.zeros((1, 2, 4, 6))
    x[0, 1, 1, 1] = x[0, 1, 0, 0] = 3.0
    both(
        lambda x: CF.max_pool2d(x, 2, return_indices=True),
        lambda x: TF.max_pool2d(x, 2, return_indices=True),
        x,
        np.float64,
    )
    both(lambda x: CF.max_pool2d(x, 3, 1, 1), lambda x: TF.max_pool2d(x, 3, 1, 1), x, np.float64)
    both(
        lambda x: CF.adaptive_max_pool2d(x, 2),
        lambda x: TF.adaptive_max_pool2d(x, 2),
        x,
        np.float64,
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: CF.max_pool2d(x, 3, 2, 1, ceil_mode=True),
        lambda x: CF.max_pool2d(x, (2, 3), 1, dilation=2),
        lambda x: CF.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda x: CF.adaptive_avg_pool2d(x, (3, 2)),
        lambda x: CF.adaptive_max_pool2d(x, (2, 4)),
        lambda x: CF.max_pool1d(x.flatten(2), 3, 2),
        lambda x: CF.avg_pool1d(x.flatten(2), 4, 3, 2),
    ],
)
def test_gradcheck(fn):
    # Distinct values well apart: no ties, and central differences never cross a kink.
    x = np.random.default_rng(0).permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) / 10.0
    assert rg.gradcheck(fn, [rg.tensor(x, requires_grad=True)], eps=1e-4)


@st.composite
def pool_configs(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 10))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 10))
    kwargs = dict(
        kernel_size=(kh, kw), stride=(sh, sw), padding=(ph, pw), ceil_mode=draw(st.booleans())
    )
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), kwargs, (dh, dw)


@settings(max_examples=60)
@given(pool_configs(), st.booleans(), st.integers(0, 2**16))
def test_pools_hypothesis(config, include_pad, seed):
    shape, kw, dilation = config
    x = arr(shape, seed)
    # A dilated window may fall entirely into the padding; PyTorch gives it -inf and an
    # index outside the window, which retrograd does not copy.
    k = {**kw, "dilation": dilation}
    assume(np.isfinite(TF.max_pool2d(torch.tensor(x), **k).numpy()).all())
    km = {**kw, "dilation": dilation, "return_indices": True}
    both(lambda x: CF.max_pool2d(x, **km), lambda x: TF.max_pool2d(x, **km), x, np.float64)
    ka = {**kw, "count_include_pad": include_pad}
    both(lambda x: CF.avg_pool2d(x, **ka), lambda x: TF.avg_pool2d(x, **ka), x, np.float64)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: CF.max_pool2d(rg.zeros(1, 1, 4, 4), 2, padding=2),
         r"max_pool2d\(\): padding should be at most half of the kernel size"),
        (lambda: CF.max_pool2d(rg.zeros(1, 1, 2, 2), 3),
         r"max_pool2d\(\): input of shape \(1, 1, 2, 2\) is too small for kernel 3"),
        (lambda: CF.avg_pool2d(rg.zeros(1, 4), 2),
         r"avg_pool2d\(\): expected an input of shape \(N, C, H, W\) or \(C, H, W\), got \(1, 4\)"),
        (lambda: CF.avg_pool2d(rg.zeros(1, 1, 4), 2),
         r"avg_pool2d\(\): input of shape \(1, 1, 4\) is too small for kernel 2"),
        (lambda: CF.max_pool1d(rg.zeros(1, 1, 4), 0), r"kernel_size must be >= 1"),
        (lambda: CF.adaptive_avg_pool2d(rg.zeros(1, 1, 4, 4), (2, 0)), "output_size must be positive"),
        (lambda: CF.max_pool2d(rg.zeros(1, 1, 4, 4, dtype=rg.int64), 2), "floating point"),
    ],
)  # fmt: skip
def test_bad_input_raises_a_clear_error(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_divisor_override_is_not_supported():
    with pytest.raises(NotImplementedError, match="divisor_override"):
        CF.avg_pool2d(rg.zeros(1, 1, 4, 4), 2, divisor_override=3)
    with pytest.raises(NotImplementedError, match="divisor_override"):
        nn.AvgPool2d(2, divisor_override=3)


LAYERS = [
    (lambda lib: lib.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 3, 9, 8)),
    (lambda lib: lib.MaxPool2d(2, return_indices=True), (2, 3, 8, 8)),
    (lambda lib: lib.MaxPool1d(3, 2, dilation=2), (2, 3, 13)),
    (lambda lib: lib.AvgPool2d((2, 3), padding=1, count_include_pad=False), (2, 3, 7, 8)),
    (lambda lib: lib.AvgPool1d(3, ceil_mode=True), (2, 3, 10)),
    (lambda lib: lib.AdaptiveAvgPool2d((3, None)), (2, 3, 7, 8)),
    (lambda lib: lib.AdaptiveAvgPool1d(4), (2, 3, 10)),
    (lambda lib: lib.AdaptiveMaxPool2d(2, return_indices=True), (2, 3, 7, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("make", "shape"), LAYERS)
def test_layers_match_torch(make, shape, dtype):
    m, t_mod = make(nn), make(tnn)
    assert repr(m) == repr(t_mod)
    assert m.state_dict() == {} and dict(t_mod.state_dict()) == {}
    both(m, t_mod, arr(shape, 7), dtype)
