"""Anomaly detection (NaN in backward names the forward op) and inference mode, against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd.autograd import detect_anomaly, is_anomaly_enabled, set_detect_anomaly


def _nan_backward(lib):
    a = lib.tensor([0.0, 1.0], requires_grad=True)
    y = a.sqrt() * 0  # sqrt'(0) = inf, and inf * 0 = nan
    y.sum().backward()
    return a


def test_nan_in_backward_names_the_forward_op_like_torch():
    for lib, anomaly in ((rg, rg.autograd.detect_anomaly), (torch, torch.autograd.detect_anomaly)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with anomaly(), pytest.raises(RuntimeError) as info:
                _nan_backward(lib)
        assert "Function 'SqrtBackward0' returned nan values in its 0th output" in str(info.value)


def test_anomaly_error_shows_where_the_forward_op_was_called():
    with (
        np.errstate(divide="ignore", invalid="ignore"),
        detect_anomaly(),
        pytest.raises(RuntimeError) as info,
    ):
        _nan_backward(rg)
    message = str(info.value)
    assert "forward operation Sqrt" in message
    assert "y = a.sqrt() * 0" in message and "test_anomaly.py" in message


def test_without_anomaly_mode_nan_passes_silently_like_torch():
    with np.errstate(divide="ignore", invalid="ignore"):
        got = _nan_backward(rg).grad.numpy()
    want = _nan_backward(torch).grad.numpy()
    np.testing.assert_array_equal(got, want)  # [nan, 0]
    assert np.isnan(got[0])


def test_nodes_keep_no_traceback_outside_anomaly_mode():
    y = rg.tensor([1.0], requires_grad=True).exp()
    assert "forward_trace" not in y.grad_fn.__dict__
    with detect_anomaly():
        z = rg.tensor([1.0], requires_grad=True).exp()
    assert "exp()" in z.grad_fn.__dict__["forward_trace"]


def test_set_detect_anomaly_switches_globally_and_as_a_context():
    assert not is_anomaly_enabled()
    set_detect_anomaly(True)
    try:
        assert is_anomaly_enabled()
        with (
            np.errstate(divide="ignore", invalid="ignore"),
            pytest.raises(RuntimeError, match="nan"),
        ):
            _nan_backward(rg)
    finally:
        set_detect_anomaly(False)
    assert not is_anomaly_enabled()
    with set_detect_anomaly(True):
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
    with set_detect_anomaly(True, check_nan=False), np.errstate(divide="ignore", invalid="ignore"):
        _nan_backward(rg)  # tracebacks only: no error


def test_detect_anomaly_as_a_decorator_and_finite_gradients_pass():
    @detect_anomaly()
    def step():
        assert is_anomaly_enabled()
        x = rg.tensor([1.0, 2.0], requires_grad=True)
        (x.exp() * x).sum().backward()
        return x.grad

    np.testing.assert_allclose(step().numpy(), np.exp([1, 2]) * (1 + np.array([1, 2])), rtol=1e-6)
    assert not is_anomaly_enabled()


def test_anomaly_names_a_custom_function():
    class Bad(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    with detect_anomaly(), pytest.raises(RuntimeError, match="Function 'BadBackward' returned nan"):
        Bad.apply(rg.tensor([1.0], requires_grad=True)).sum().backward()


# ------------------------------------------------------------------ inference mode
def test_inference_mode_marks_tensors_and_records_nothing_like_torch():
    for lib in (rg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.inference_mode():
            y = x * 2
            z = lib.tensor([1.0])
            assert not lib.is_grad_enabled()
        assert y.is_inference() and z.is_inference() and not x.is_inference()
        assert not y.requires_grad and y.grad_fn is None
        assert lib.is_grad_enabled() and not (x * 2).is_inference()


def test_inference_mode_decorator_nesting_and_false():
    @rg.inference_mode()
    def predict(t):
        return t * 2

    x = rg.tensor([1.0], requires_grad=True)
    assert predict(x).is_inference()
    with rg.inference_mode(False):
        assert not (x * 2).is_inference() and (x * 2).requires_grad
    with rg.inference_mode():
        with rg.enable_grad():  # recording again, and x requires grad: not an inference output
            assert (x * 2).requires_grad
        assert rg.autograd.is_inference_mode_enabled()
    assert not rg.autograd.is_inference_mode_enabled()


def test_model_prediction_under_inference_mode_matches_no_grad():
    rg.manual_seed(0)
    model = rg.nn.Sequential(rg.nn.Linear(3, 4), rg.nn.ReLU(), rg.nn.Linear(4, 2))
    x = rg.randn(5, 3)
    with rg.no_grad():
        want = model(x).numpy()
    with rg.inference_mode():
        got = model(x)
    assert got.is_inference()
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.zeros(2, 3),
        lambda L: L.ones(2),
        lambda L: L.full((2,), 1.5),
        lambda L: L.arange(4),
        lambda L: L.eye(2),
        lambda L: L.randn(3),
        lambda L: L.rand(3),
        lambda L: L.randint(0, 5, (3,)),
        lambda L: L.randperm(4),
        lambda L: L.zeros_like(L.ones(2)),
        lambda L: L.from_numpy(np.ones(3)),
        lambda L: L.tensor([1.0, 2.0]),
    ],
)
def test_factories_inside_inference_mode_make_inference_tensors(make):
    with torch.inference_mode():
        assert make(torch).is_inference()
    with rg.inference_mode():
        assert make(rg).is_inference()
    assert not make(rg).is_inference()
