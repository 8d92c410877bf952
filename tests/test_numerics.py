"""Numerical choices decided in the ops: kinks, ties, extremes, dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import retrograd as rg
import retrograd.functional as RF

from .conftest import assert_close, to_torch

FLOATS = [np.float32, np.float64]


def _grad_pair(fn_rg, fn_t, arrays, dtype):
    xs = [rg.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]
    ts = [to_torch(x) for x in xs]
    y, yt = fn_rg(*xs), fn_t(*ts)
    assert_close(y, yt, dtype)
    y.sum().backward()
    yt.sum().backward()
    for x, t in zip(xs, ts, strict=True):
        assert_close(x.grad, t.grad, dtype)
    return xs


@pytest.mark.parametrize("dtype", FLOATS)
def test_relu_gradient_at_zero_is_zero(dtype):
    (x,) = _grad_pair(rg.relu, torch.relu, [[-1.0, 0.0, 2.0]], dtype)
    np.testing.assert_array_equal(x.grad.array, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_kinks_follow_torch(dtype):
    zero = [[-1.0, 0.0, 1.0]]
    _grad_pair(rg.abs, torch.abs, zero, dtype)
    _grad_pair(lambda x: RF.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), zero, dtype)
    _grad_pair(lambda x: RF.elu(x, 0.5), lambda x: TF.elu(x, 0.5), zero, dtype)
    _grad_pair(
        lambda x: RF.softplus(x, 1.0, 1.0), lambda x: TF.softplus(x, 1.0, 1.0), [[1.0]], dtype
    )


@pytest.mark.parametrize("dtype", FLOATS)
def test_ties_send_gradient_where_torch_does(dtype):
    tie = [[[1.0, 3.0, 3.0, 2.0], [3.0, 3.0, 3.0, 0.0]]]
    _grad_pair(lambda x: x.max(), lambda x: x.max(), tie, dtype)
    _grad_pair(lambda x: x.min(), lambda x: x.min(), tie, dtype)
    _grad_pair(lambda x: x.amax(1), lambda x: x.amax(1), tie, dtype)
    _grad_pair(lambda x: x.amax((0, 1)), lambda x: x.amax((0, 1)), tie, dtype)
    _grad_pair(lambda x: x.amin(0, keepdim=True), lambda x: x.amin(0, keepdim=True), tie, dtype)
    _grad_pair(lambda x: x.max(1).values, lambda x: x.max(1).values, tie, dtype)
    _grad_pair(lambda x: x.min(0)[0], lambda x: x.min(0)[0], tie, dtype)
    pair = [[1.0, 2.0, 5.0], [1.0, 3.0, 4.0]]
    _grad_pair(rg.maximum, torch.maximum, pair, dtype)
    _grad_pair(rg.minimum, torch.minimum, pair, dtype)
    bounds = [[-1.0, 0.0, 0.5, 1.0, 2.0]]
    (x,) = _grad_pair(lambda x: x.clamp(0.0, 1.0), lambda x: x.clamp(0.0, 1.0), bounds, dtype)
    np.testing.assert_array_equal(x.grad.array, [0, 1, 1, 1, 0])  # bounds are inclusive


@pytest.mark.parametrize("dtype", FLOATS)
def test_maximum_tie_splits_gradient_in_half(dtype):
    a = rg.tensor([2.0], dtype=dtype, requires_grad=True)
    b = rg.tensor([2.0], dtype=dtype, requires_grad=True)
    rg.maximum(a, b).backward(rg.tensor([1.0], dtype=dtype))
    assert a.grad.item() == b.grad.item() == 0.5


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mag", [1000.0, 1e4])
def test_saturating_functions_stay_finite(dtype, mag):
    vals = [[[-mag, -1.0, 0.0, 1.0, mag]]]
    fns = [
        (rg.sigmoid, torch.sigmoid),
        (rg.tanh, torch.tanh),
        (RF.softplus, TF.softplus),
        (lambda x: RF.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1)),
        (lambda x: RF.softmax(x, 1), lambda x: TF.softmax(x, 1)),
        (lambda x: rg.logsumexp(x, 1), lambda x: torch.logsumexp(x, 1)),
        (lambda x: RF.gelu(x), lambda x: TF.gelu(x)),
        (lambda x: RF.elu(x), lambda x: TF.elu(x)),
    ]
    for f, ft in fns:
        xs = [rg.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in vals]
        ts = [to_torch(x) for x in xs]
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = f(*xs)
        yt = ft(*ts)
        assert np.isfinite(y.array).all()
        assert_close(y, yt, dtype)
        g = np.linspace(-1, 1, y.numel()).reshape(y.shape).astype(dtype)
        y.backward(g)
        yt.backward(torch.from_numpy(g))
        assert np.isfinite(xs[0].grad.array).all()
        assert_close(xs[0].grad, ts[0].grad, dtype)


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    x = rg.tensor([[-np.inf, -np.inf], [0.0, -np.inf]], requires_grad=True)
    y = rg.logsumexp(x, 1)
    yt = torch.logsumexp(to_torch(x), 1)
    np.testing.assert_array_equal(y.array, yt.detach().numpy())
    y.sum().backward()
    assert np.isfinite(x.grad.array).all()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("c", [2, 3, 2.0, -1, -2.0, 0, 1])
def test_pow_constant_exponent_negative_base_no_nan(dtype, c):
    vals = [[-2.0, -0.5, 0.5, 2.0]]
    (x,) = _grad_pair(lambda x: x**c, lambda x: x**c, vals, dtype)
    assert not np.isnan(x.grad.array).any()


def test_pow_zero_base_gradients_match_torch():
    _grad_pair(lambda x: x**2, lambda x: x**2, [[0.0, 1.0]], np.float64)
    _grad_pair(lambda x: x**0, lambda x: x**0, [[0.0, 1.0]], np.float64)
    _grad_pair(lambda x: 0.0**x, lambda x: 0.0**x, [[2.0, 0.5]], np.float64)


def test_std_of_constant_has_zero_gradient():
    (x,) = _grad_pair(lambda x: x.std(), lambda x: x.std(), [[1.5, 1.5, 1.5]], np.float64)
    np.testing.assert_array_equal(x.grad.array, [0, 0, 0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_float_dtype_is_kept_by_every_scalar_combination(dtype):
    x = rg.tensor([1.0, 2.0], dtype=dtype, requires_grad=True)
    outs = [x + 1, 1 + x, x * 2.5, 2.5 * x, x / 3, 3 / x, x - 1.5, x**2, 2**x, x**0.5, -x,
            x.exp(), x.mean(), x.var(), rg.where(x > 1, x, 0.0), x.clamp(0.5, 1.5),
            RF.gelu(x), RF.softplus(x), x.softmax(0), rg.maximum(x, 1.0)]  # fmt: skip
    for y in outs:
        assert y.dtype == np.dtype(dtype)
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == np.dtype(dtype)


def test_mixed_float_dtypes_promote_like_torch():
    a = rg.tensor([1.0], dtype=rg.float32, requires_grad=True)
    b = rg.tensor([2.0], dtype=rg.float64, requires_grad=True)
    y = a * b
    assert y.dtype == (torch.ones(1) * torch.ones(1, dtype=torch.float64)).numpy().dtype
    y.backward(rg.ones(1, dtype=rg.float64))
    assert a.grad.dtype == rg.float32 and b.grad.dtype == rg.float64


def test_integer_tensors_behave_like_torch():
    i = rg.tensor([1, 2, 3])
    assert i.dtype == rg.int64
    assert (i / 2).dtype == rg.float32  # true division makes float32, as torch
    np.testing.assert_allclose((i / 2).array, [0.5, 1.0, 1.5])
    assert (i * 2).dtype == rg.int64
    assert (i * 2.5).dtype == rg.float32
    assert i.sum().dtype == rg.int64
    assert rg.tensor([True, False]).sum().item() == 1
    with pytest.raises(TypeError, match="floating point"):
        i.mean()


@pytest.mark.parametrize("dims", [(0, 2), (2, 0), (-1, 0), (1,)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_tuple_dim_reductions(dims, keepdim, rng):
    a = rng.normal(size=(2, 3, 4))
    for name in ("sum", "mean", "amax", "amin", "var", "std", "logsumexp"):
        x = rg.tensor(a, requires_grad=True)
        t = to_torch(x)
        y = getattr(x, name)(dims, keepdim=keepdim)
        yt = getattr(t, name)(dims, keepdim=keepdim)
        assert_close(y, yt)
        y.sum().backward()
        yt.sum().backward()
        assert_close(x.grad, t.grad)


def test_size_zero_reductions_follow_torch():
    x = rg.zeros(0, 3, requires_grad=True)
    t = to_torch(x)
    for name in ("sum", "mean"):
        y, yt = getattr(x, name)(0), getattr(t, name)(0)
        np.testing.assert_array_equal(y.array, yt.detach().numpy())
    y = x.sum()
    y.backward()
    assert x.grad.shape == (0, 3)
    with pytest.raises(RuntimeError, match="empty"):
        x.amax()
