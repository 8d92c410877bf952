"""Capture and replay of convolutional networks: replay equals eager bit for bit.

Every test trains the same model twice from the same seed, once replayed
(:class:`TrainStep`) and once eagerly (``enabled=False``), on the same batches
(a last partial batch among them, which captures a second plan), and compares
the losses, the gradients and the parameters with ``==``. Each also checks
that the steps were replayed, so that the comparison is not eager against
eager.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import retrograd as rg
from retrograd import nn, optim
from retrograd.capture import TrainStep
from retrograd.capture import conv_kernels as CK

from .test_capture import fit_with_and_without_capture, spy_on_flat_steps
from .test_capture_losses import train_twice


def lenet(padding: int = 2) -> nn.Sequential:
    """LeNet-5 (bench/conv.py's) on 1x28x28 images."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400 if padding == 2 else 256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )  # fmt: skip


def cnn1d() -> nn.Sequential:
    """A 1-D CNN on flat rows, as ``retrograd train --arch cnn`` builds them: Unflatten first."""
    return nn.Sequential(
        nn.Unflatten(1, (2, 20)), nn.Conv1d(2, 4, 3, padding="same"), nn.Tanh(),
        nn.MaxPool1d(2), nn.Conv1d(4, 6, 3, stride=2, dilation=2, groups=2, bias=False),
        nn.Sigmoid(), nn.MaxPool1d(3, stride=1, padding=1), nn.Flatten(), nn.Dropout(0.2),
        nn.Linear(18, 3),
    )  # fmt: skip


def make_optimizer(name: str, model: nn.Module) -> Any:
    if name == "sgd":
        return optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    return optim.Adam(model.parameters(), lr=0.01)


def train(
    make_model: Callable[[], nn.Module],
    shape: tuple[int, ...],
    n_classes: int,
    sizes: list[int],
    enabled: bool,
    dtype: Any = np.float32,
    optimizer: str = "sgd",
) -> tuple[list[float], list[np.ndarray], list[np.ndarray], TrainStep]:
    """Losses, final gradients and state (parameters, buffers) after batches of ``sizes``."""
    rg.manual_seed(0)
    model = make_model()
    if dtype == np.float64:
        model = model.double()
    opt = make_optimizer(optimizer, model)
    step = TrainStep(model, nn.CrossEntropyLoss(), opt, enabled=enabled)
    rng = np.random.default_rng(1)
    losses = []
    for n in sizes:
        x = rng.standard_normal((n, *shape)).astype(dtype)
        y = rng.integers(0, n_classes, n)
        losses.append(step(rg.tensor(x), rg.tensor(y)).item())
    grads = [p.grad.array.copy() for p in model.parameters()]
    state = [t.array.copy() for t in model.state_dict().values()]  # with BatchNorm's buffers
    return losses, grads, state, step


def assert_replay_equals_eager(
    make_model: Callable[[], nn.Module],
    shape: tuple[int, ...],
    n_classes: int,
    sizes: list[int],
    **kwargs: Any,
) -> None:
    replayed = train(make_model, shape, n_classes, sizes, True, **kwargs)
    eager = train(make_model, shape, n_classes, sizes, False, **kwargs)
    step = replayed[3]
    assert step.reason is None and step.replays == len(sizes) and step.eager_steps == 0
    np.testing.assert_array_equal(replayed[0], eager[0])  # NaN (a window of padding) == NaN
    for got, want in zip(replayed[1] + replayed[2], eager[1] + eager[2], strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


SIZES = [8, 8, 8, 8, 8, 8, 8, 8, 8, 5]  # ten steps, the last batch partial


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lenet5_replay_equals_eager(optimizer, dtype):
    assert_replay_equals_eager(lenet, (1, 28, 28), 10, SIZES, dtype=dtype, optimizer=optimizer)


def test_lenet5_without_padding_replays_equal_to_eager():
    # the first convolution unpadded (its windows not wide) and read straight from the batch
    assert_replay_equals_eager(lambda: lenet(padding=0), (1, 28, 28), 10, [6, 6, 6, 4])


def test_average_pools_replay_equal_to_eager():
    # the original LeNet-5's average pooling; one pool padded (its padding counted or not)
    def model() -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(3, 2, 1, count_include_pad=False),
            nn.Flatten(), nn.Linear(144, 10),
        )  # fmt: skip

    assert_replay_equals_eager(model, (1, 20, 20), 10, [6, 6, 6, 4])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_1d_cnn_replay_equals_eager(optimizer, dtype):
    # Unflatten of the batch, groups, dilation, stride, no bias, overlapping padded pools,
    # and dropout (the random stream advances as eagerly)
    assert_replay_equals_eager(cnn1d, (40,), 3, SIZES, dtype=dtype, optimizer=optimizer)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_the_cli_cnn_replays_equal_to_eager(batch_norm):
    # with batch_norm, BatchNorm2d after each convolution and BatchNorm1d in the head
    from retrograd.pipeline import build_cnn

    def model() -> nn.Module:
        return build_cnn((1, 8, 8), (4, 8), 3, (16,), 10, batch_norm=batch_norm, dropout=0.1)

    assert_replay_equals_eager(model, (64,), 10, [12, 12, 12, 7])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_of_conv_features_replays_equal_to_eager(dtype):
    # BatchNorm2d without affine parameters or with momentum=None (a cumulative average),
    # BatchNorm1d of (N, C, L) input; the running statistics equal too
    def model() -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3, affine=False), nn.ReLU(),
            nn.Conv2d(3, 4, 3, stride=2), nn.BatchNorm2d(4, momentum=None), nn.Flatten(2),
            nn.BatchNorm1d(4), nn.Tanh(), nn.Flatten(), nn.Linear(64, 3),
        )  # fmt: skip

    assert_replay_equals_eager(model, (2, 9, 9), 3, [6, 6, 6, 1], dtype=dtype)


@pytest.mark.parametrize("padding", [0, 1])
def test_a_pool_as_first_layer_reads_each_batch(padding):
    # unpadded, its windows view the batch itself: made again for each new batch array
    def model() -> nn.Module:
        return nn.Sequential(
            nn.MaxPool2d(2, padding=padding), nn.Conv2d(1, 2, 3), nn.ReLU(),
            nn.AvgPool2d(2, padding=padding), nn.Flatten(), nn.Linear(8 if padding else 2, 3),
        )  # fmt: skip

    assert_replay_equals_eager(model, (1, 8, 8), 3, [4, 4, 4, 3])


def test_reshapes_of_strided_arrays_copy_as_eager_reshape_does():
    # The padded convolution's output (its windows wide: a strided view) and its input's
    # gradient (the inside of a padded buffer) cannot be reshaped without a copy.
    def model() -> nn.Module:
        return nn.Sequential(
            nn.Linear(12, 72), nn.Unflatten(1, (2, 6, 6)), nn.Conv2d(2, 3, 3, padding=1),
            nn.Flatten(), nn.Tanh(), nn.Linear(108, 3),
        )  # fmt: skip

    assert_replay_equals_eager(model, (12,), 3, [5, 5, 5, 2])
    plan = train(model, (12,), 3, [5], True)[3]._last
    reshapes = [k for k in plan.kernels if isinstance(k, CK.ReshapeKernel)]
    assert [k._copy_x is not None for k in reshapes] == [False, True]
    assert [k._copy_g is not None for k in reshapes] == [True, False]


def test_activation_gradient_after_a_padded_pool_is_contiguous_as_eagers():
    # Regression: ReLU's backward multiplied in place the pool's input gradient, the
    # inside of a padded buffer (strided), and the convolution's weight gradient then
    # multiplied the strided array: one element differed in the last bit (batch of 3).
    def model() -> nn.Module:
        return nn.Sequential(
            nn.Conv1d(1, 2, 1, bias=False), nn.ReLU(), nn.MaxPool1d(2, 1, 1), nn.Flatten(),
            nn.Linear(12, 3),
        )  # fmt: skip

    assert_replay_equals_eager(model, (1, 5), 3, [4, 4, 3])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=st.sampled_from([1, 2]),
    size=st.integers(5, 9),
    c0=st.sampled_from([1, 2]),
    convs=st.lists(
        st.tuples(
            st.sampled_from([1, 2]),  # groups (when the channels split)
            st.integers(1, 3),  # output channels per group
            st.integers(1, 3),  # kernel
            st.integers(1, 2),  # stride
            st.integers(0, 2),  # padding
            st.integers(1, 2),  # dilation
            st.booleans(),  # bias
            st.sampled_from(["relu", "tanh", "sigmoid"]),
        ),
        min_size=1,
        max_size=2,
    ),
    pooling=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(1, 2)),
    average=st.booleans(),  # else max; an average pool counts the padding or not (its dilation: 1)
    ceil_mode=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_conv_and_pool_options_replay_equal_to_eager(
    d, size, c0, convs, pooling, average, ceil_mode, dtype
):
    conv = nn.Conv1d if d == 1 else nn.Conv2d
    if average:
        pool = nn.AvgPool1d if d == 1 else nn.AvgPool2d
    else:
        pool = nn.MaxPool1d if d == 1 else nn.MaxPool2d
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    shape = (c0, *([size] * d))

    def body() -> nn.Sequential:
        layers: list[nn.Module] = []
        channels = c0
        for groups, per_group, kernel, stride, padding, dilation, bias, act in convs:
            groups = groups if channels % groups == 0 else 1
            out = groups * per_group
            layers += [conv(channels, out, kernel, stride, padding, dilation, groups, bias)]
            layers += [acts[act]()]
            channels = out
        pk, ps, pp, pd = pooling
        pp = min(pp, pk // 2)
        if average:  # pd: whether the padding counts
            layers += [pool(pk, ps, pp, ceil_mode=ceil_mode, count_include_pad=pd == 1)]
        else:
            layers += [pool(pk, ps, pp, pd, ceil_mode=ceil_mode)]
        layers += [nn.Flatten()]
        return nn.Sequential(*layers)

    try:
        width = body()(rg.tensor(np.zeros((1, *shape), dtype=np.float32))).shape[1]
    except ValueError:
        assume(False)  # eager refuses these shapes: nothing to compare
        return

    def model() -> nn.Module:
        return nn.Sequential(*body(), nn.Linear(width, 3))

    assert_replay_equals_eager(model, shape, 3, [4, 4, 3], dtype=dtype)


def test_fit_replays_a_cnn_and_capture_false_gives_the_same_history(monkeypatch):
    conv_steps = []
    real_forward = CK.ConvKernel.forward

    def spy_forward(self):
        conv_steps.append(self)
        real_forward(self)

    monkeypatch.setattr(CK.ConvKernel, "forward", spy_forward)
    flat_steps = spy_on_flat_steps(monkeypatch)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((90, 40)).astype(np.float32)
    y = (x[:, :20].sum(axis=1) > 0).astype(np.int64)

    def check(capture, steps):
        if capture:  # two convolutions per step, the optimizer over flat buffers
            assert len(conv_steps) == 2 * steps and len(flat_steps) == steps and all(flat_steps)
        else:
            assert not conv_steps and not flat_steps
        conv_steps.clear()
        flat_steps.clear()

    fit_with_and_without_capture(
        cnn1d, lambda params: optim.SGD(params, lr=0.1, momentum=0.9), x, y, 3, check
    )


@pytest.mark.parametrize(
    ("layer", "width", "reason"),
    [
        (lambda: nn.BatchNorm2d(4).eval(), 64, "BatchNorm2d in eval mode is not captured"),
        (lambda: nn.AdaptiveAvgPool2d(2), 16, "AdaptiveAvgPool2d is not captured"),
        (lambda: nn.MaxPool2d(2, return_indices=True), 16, "return_indices"),
    ],
)
def test_layers_not_captured_run_eagerly_with_a_reason(layer, width, reason):
    rg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), layer(), nn.Flatten(), nn.Linear(width, 2))
    step = TrainStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    x = rg.tensor(np.zeros((2, 1, 6, 6), dtype=np.float32))
    y = rg.tensor(np.array([0, 1]))
    if reason == "return_indices":  # eager raises too (Flatten of a tuple)
        with pytest.raises((TypeError, AttributeError)):
            step(x, y)
    else:
        step(x, y)
    assert reason in step.reason and step.replays == 0


@pytest.mark.parametrize("layer", [nn.Flatten(0), nn.Flatten(-4), nn.Unflatten(0, (1, 2))])
def test_a_reshape_of_the_batch_axis_runs_eagerly(layer):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), layer)
    step = TrainStep(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1))
    out = model(rg.tensor(np.ones((2, 1, 4, 4), dtype=np.float32)))
    step(rg.tensor(np.ones((2, 1, 4, 4), dtype=np.float32)), rg.zeros(*out.shape))
    assert step.replays == 0 and "batch axis" in step.reason


def test_unbatched_conv_input_runs_eagerly():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(0), nn.Linear(2 * 4 * 4, 2))
    step = TrainStep(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1))
    step(rg.tensor(np.ones((1, 6, 6), dtype=np.float32)), rg.tensor(np.zeros(2, np.float32)))
    assert step.replays == 0 and "unbatched" in step.reason


def test_retrograd_train_cnn_gives_the_same_model_with_and_without_capture(tmp_path, monkeypatch):
    # the CNN's default label smoothing (0.2) included: every captured step replays
    train_twice(
        tmp_path, monkeypatch, "--data", "digits", "--arch", "cnn", "--epochs", "2",
        "--channels", "4,8", "--hidden", "32",
    )  # fmt: skip


def test_changing_a_layers_window_captures_again():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.Flatten())
    model.append(nn.Linear(18, 2))
    step = TrainStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    x = rg.tensor(np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32))
    y = rg.tensor(np.array([0, 1]))
    step(x, y)
    model[0].padding = (0, 0)  # the output shrinks to 4x4: Linear(18) no longer fits
    model[3] = nn.Linear(8, 2)
    step.optimizer = optim.SGD(model.parameters(), lr=0.1)
    step(x, y)
    assert step.captures == 2 and step.reason is None
    model[1].stride = (1, 1)  # 3x3 windows of the 4x4 output: Linear(8) no longer fits
    with pytest.raises(ValueError, match="Linear"):
        step(x, y)
