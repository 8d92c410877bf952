"""retrograd.nn.init against torch.nn.init: gains, fans and the distributions' parameters.

The random streams differ from torch's, so distributions are compared through
their bounds, means and standard deviations on large tensors; the tolerances
are many standard errors wide, and the shapes are chosen so that a wrong fan
mode or gain would move the statistic far outside them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.init as tinit

import retrograd as rg
import retrograd.nn as nn
from retrograd.nn import init

SHAPES = [(3, 4), (7, 2), (5, 3, 2), (6, 4, 3, 3), (2, 1, 1, 1, 1), (1, 9)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(rg.zeros(shape)) == (
        tinit._calculate_fan_in_and_fan_out(torch.zeros(shape))
    )
    for mode in ("fan_in", "fan_out", "FAN_IN"):
        assert init._calculate_correct_fan(rg.zeros(shape), mode) == (
            tinit._calculate_correct_fan(torch.zeros(shape), mode)
        )


def test_fan_errors():
    for shape in [(), (5,)]:
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            init._calculate_fan_in_and_fan_out(rg.zeros(shape))
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            init.xavier_uniform_(rg.zeros(shape))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(rg.zeros(3, 3), mode="fan_avg")


@pytest.mark.parametrize(
    "nonlinearity, param",
    [
        ("linear", None),
        ("conv1d", None),
        ("conv2d", None),
        ("conv3d", None),
        ("conv_transpose1d", None),
        ("conv_transpose2d", None),
        ("conv_transpose3d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0),
        ("leaky_relu", 0.2),
        ("leaky_relu", 1),
        ("leaky_relu", math.sqrt(5)),
        ("selu", None),
    ],
)
def test_gains_match_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        tinit.calculate_gain(nonlinearity, param), rel=1e-15
    )


def test_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity softsign"):
        init.calculate_gain("softsign")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")


N = 400_000  # standard error of a std estimate: std / sqrt(2N) ~ 0.1 %


def _stats(x: np.ndarray) -> tuple[float, float, float]:
    return float(x.mean()), float(x.std()), float(np.abs(x).max())


def test_uniform_and_normal():
    rg.manual_seed(0)
    x = rg.zeros(N)
    assert init.uniform_(x, -2.0, 3.0) is x
    assert x.array.min() >= -2.0 and x.array.max() < 3.0
    mean, std, _ = _stats(x.array)
    assert mean == pytest.approx(0.5, abs=0.02)
    assert std == pytest.approx(5 / math.sqrt(12), rel=0.01)
    y = rg.zeros(N, dtype=rg.float64)
    init.normal_(y, 1.5, 0.25)
    assert y.dtype == np.float64
    mean, std, _ = _stats(y.array)
    assert mean == pytest.approx(1.5, abs=0.005)
    assert std == pytest.approx(0.25, rel=0.01)
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(x, 1.0, 0.0)
    with pytest.raises(TypeError, match="floating point"):
        init.normal_(rg.zeros(3, dtype=rg.int64))


def test_constants_in_place_without_recording():
    p = nn.Parameter(rg.randn(3, 4))
    arr = p.array
    assert init.constant_(p, 0.3) is p
    np.testing.assert_array_equal(p.array, np.full((3, 4), 0.3, dtype=np.float32))
    assert p.array is arr and p.is_leaf and p.requires_grad and p.grad_fn is None
    init.zeros_(p)
    assert not p.array.any()
    init.ones_(p)
    assert (p.array == 1).all()
    init.xavier_uniform_(p)
    assert p.is_leaf and p.dtype == np.float32


def _torch_std(fn, shape, **kw) -> float:
    torch.manual_seed(0)
    return float(fn(torch.empty(shape), **kw).std())


# shapes with fan_in != fan_out (by 8x) so that the mode matters
BIG = [(2000, 250), (250, 2000), (100, 50, 4)]


@pytest.mark.parametrize("shape", BIG)
@pytest.mark.parametrize("gain", [1.0, 0.5, init.calculate_gain("relu")])
def test_xavier_matches_torch(shape, gain):
    fan_in, fan_out = tinit._calculate_fan_in_and_fan_out(torch.empty(shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    rg.manual_seed(1)
    u = init.xavier_uniform_(rg.zeros(shape), gain=gain).array
    assert np.abs(u).max() <= bound * (1 + 1e-6) and np.abs(u).max() > 0.999 * bound
    assert u.std() == pytest.approx(std, rel=0.01)
    assert _torch_std(tinit.xavier_uniform_, shape, gain=gain) == pytest.approx(u.std(), rel=0.02)
    n = init.xavier_normal_(rg.zeros(shape), gain=gain).array
    assert n.std() == pytest.approx(std, rel=0.01) and abs(n.mean()) < 0.01 * std
    assert _torch_std(tinit.xavier_normal_, shape, gain=gain) == pytest.approx(n.std(), rel=0.02)


@pytest.mark.parametrize("shape", BIG)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize(
    "nonlinearity, a", [("leaky_relu", 0), ("leaky_relu", math.sqrt(5)), ("relu", 0), ("tanh", 0)]
)
def test_kaiming_matches_torch(shape, mode, nonlinearity, a):
    fan = tinit._calculate_correct_fan(torch.empty(shape), mode)
    std = tinit.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    rg.manual_seed(2)
    kw = dict(a=a, mode=mode, nonlinearity=nonlinearity)
    u = init.kaiming_uniform_(rg.zeros(shape), **kw).array
    assert np.abs(u).max() <= bound * (1 + 1e-6) and np.abs(u).max() > 0.999 * bound
    assert u.std() == pytest.approx(std, rel=0.01)
    assert _torch_std(tinit.kaiming_uniform_, shape, **kw) == pytest.approx(u.std(), rel=0.02)
    n = init.kaiming_normal_(rg.zeros(shape), **kw).array
    assert n.std() == pytest.approx(std, rel=0.01)
    assert _torch_std(tinit.kaiming_normal_, shape, **kw) == pytest.approx(n.std(), rel=0.02)


def test_kaiming_defaults_are_torchs():
    # defaults: a=0, mode='fan_in', nonlinearity='leaky_relu' -> std = sqrt(2 / fan_in)
    x = init.kaiming_normal_(rg.zeros(3000, 300)).array
    assert x.std() == pytest.approx(math.sqrt(2 / 300), rel=0.01)
    assert _torch_std(tinit.kaiming_normal_, (3000, 300)) == pytest.approx(x.std(), rel=0.02)


def test_trunc_normal_stays_in_bounds():
    rg.manual_seed(3)
    x = init.trunc_normal_(rg.zeros(N), mean=0.5, std=1.0, a=-0.5, b=1.0).array
    assert x.min() >= -0.5 and x.max() <= 1.0
    torch.manual_seed(0)
    t = tinit.trunc_normal_(torch.empty(N), mean=0.5, std=1.0, a=-0.5, b=1.0)
    assert x.mean() == pytest.approx(float(t.mean()), abs=0.01)
    assert x.std() == pytest.approx(float(t.std()), rel=0.02)


def test_reproducible_under_manual_seed_and_generator():
    rg.manual_seed(11)
    a = init.kaiming_uniform_(rg.zeros(20, 10)).array.copy()
    rg.manual_seed(11)
    b = init.kaiming_uniform_(rg.zeros(20, 10)).array.copy()
    c = init.kaiming_uniform_(rg.zeros(20, 10)).array.copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    g1 = init.normal_(rg.zeros(50), generator=rg.Generator(5)).array
    g2 = init.normal_(rg.zeros(50), generator=rg.Generator(5)).array
    np.testing.assert_array_equal(g1, g2)


def test_zero_element_tensor_warns_like_torch():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(rg.zeros(0, 3))
    with pytest.warns(UserWarning, match="zero-element"):
        tinit.kaiming_uniform_(torch.zeros(0, 3))
