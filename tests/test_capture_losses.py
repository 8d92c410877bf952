"""Capture of every activation and loss the CLI names: replay equals eager bit for bit.

Each test trains the same model twice from the same seed, once replayed
(:class:`TrainStep`) and once eagerly (``enabled=False``), over the same
batches (a partial last batch among them, which captures a second plan), and
compares every loss and parameter with ``==``; each also checks that the steps
were replayed, so that the comparison is not eager against eager.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
from retrograd import capture, cli, nn, optim
from retrograd.capture import TrainStep
from retrograd.capture import kernels as K
from retrograd.nn.activation import ACTIVATIONS
from retrograd.nn.loss import LOSSES
from retrograd.serialization import load_file

from .test_capture import assert_same, mlp
from .test_capture import train as train_ce_or_mse
from .test_cli import invoke

#: Each activation of the registry, with options other than its defaults where it has any.
ACTIVATION_CASES: dict[str, Callable[[], Any]] = {
    "leaky_relu-0.2": lambda: nn.LeakyReLU(0.2),
    "elu-0.7": lambda: nn.ELU(alpha=0.7),
    "gelu-tanh": lambda: nn.GELU(approximate="tanh"),
    "softplus-2-1.5": lambda: nn.Softplus(beta=2.0, threshold=1.5),
    "hardtanh-0.3": lambda: nn.Hardtanh(-0.3, 0.4),
    "prelu-4": lambda: nn.PReLU(4, init=0.1),
    **{name: cls for name, cls in ACTIVATIONS.items()},
}

SIZES = [16] * 5 + [5] + [16] * 4 + [5]  # a partial last batch per "epoch"


def losses_and_state(
    captured: bool,
    make_model: Callable[[], Any],
    make_loss: Callable[[Any], Any],
    targets: Callable[[np.random.Generator, int], np.ndarray],
    dtype: Any = np.float32,
    sizes: list[int] = SIZES,
) -> tuple[list[float], list[np.ndarray], TrainStep]:
    """Train from seed 0 with ``make_loss(dtype)``; the losses, the state and the step object."""
    rg.manual_seed(0)
    model = make_model()
    if dtype == np.float64:
        model = model.double()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    step = TrainStep(model, make_loss(dtype), opt, enabled=captured)
    rng = np.random.default_rng(1)
    features = next(m.in_features for m in model if isinstance(m, nn.Linear))
    losses = []
    for n in sizes:
        x = rng.standard_normal((n, features)).astype(dtype)
        losses.append(step(rg.from_numpy(x), rg.from_numpy(targets(rng, n))).item())
    return losses, [t.array.copy() for t in model.state_dict().values()], step


def assert_replays_as_eager(*args: Any, **kw: Any) -> TrainStep:
    eager = losses_and_state(False, *args, **kw)
    captured = losses_and_state(True, *args, **kw)
    step = captured[2]
    assert step.eager_steps == 0 and step.reason is None, step.reason
    # NaN equals NaN here: a 'mean' over a batch of ignored targets only is NaN, as eager's
    np.testing.assert_array_equal(eager[0], captured[0])
    assert len(eager[1]) == len(captured[1])
    for a, b in zip(eager[1], captured[1], strict=True):
        np.testing.assert_array_equal(a, b)
    return step


def classes(c: int, low: int = 0) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.integers(low, c, n)


def values(c: int, dtype: Any) -> Callable[[np.random.Generator, int], np.ndarray]:
    # large enough that the losses' linear parts (|d| > delta, beta) are reached
    return lambda rng, n: (2 * rng.standard_normal((n, c))).astype(dtype)


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize("name", sorted(ACTIVATION_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_activation_replays_as_eager(name, dtype):
    make = ACTIVATION_CASES[name]
    # BatchNorm1d and Dropout around it (mlp's extra layers), and a second hidden layer
    eager = train_ce_or_mse(False, lambda: mlp((12, 4, 4, 3), act=make), _sgd, dtype=dtype)
    captured = train_ce_or_mse(True, lambda: mlp((12, 4, 4, 3), act=make), _sgd, dtype=dtype)
    assert_same(eager, captured)
    assert captured[2].eager_steps == 0 and captured[2].replays == 14


def _sgd(params: Any) -> Any:
    return optim.SGD(params, lr=0.1, momentum=0.9)


def test_an_activation_before_the_first_parameter_and_at_the_end_replays():
    # its input is the data (no gradient to send back) and its output the model's
    def make() -> Any:
        return nn.Sequential(nn.GELU(), nn.Linear(6, 5), nn.ELU(), nn.Linear(5, 3), nn.Softsign())

    assert_replays_as_eager(make, lambda dt: nn.MSELoss(), values(3, np.float32))


def test_prelu_first_its_slope_is_stepped_by_the_flat_optimizer():
    def make() -> Any:
        return nn.Sequential(nn.PReLU(6), nn.Linear(6, 4))

    step = assert_replays_as_eager(make, lambda dt: nn.CrossEntropyLoss(), classes(4))
    assert step._flat is not None and any(p is step.model[0].weight for p in step._flat.params)
    assert not np.all(step.model[0].weight.array == 0.25)  # it learned


def test_changing_an_activations_option_captures_again():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.1), nn.Linear(4, 2))
    twin = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.1), nn.Linear(4, 2))
    twin.load_state_dict(model.state_dict())
    steps = [
        TrainStep(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.5), enabled=on)
        for m, on in ((model, True), (twin, False))
    ]
    x = rg.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    y = rg.tensor(np.array([0, 1, 1, 0, 1]))
    for slope in (0.1, -2.0):
        model[1].negative_slope = twin[1].negative_slope = slope
        losses = [s(x, y).item() for s in steps]
        assert losses[0] == losses[1]
    assert steps[0].captures == 2 and steps[0].replays == 2
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(p.array, q.array)


# ---------------------------------------------------------------- losses

CE_CASES: dict[str, Callable[[Any], Any]] = {
    "smoothing": lambda dt: nn.CrossEntropyLoss(label_smoothing=0.2),
    "smoothing-sum": lambda dt: nn.CrossEntropyLoss(label_smoothing=0.1, reduction="sum"),
    "weight": lambda dt: nn.CrossEntropyLoss(weight=rg.tensor(np.array([1, 2, 0.5, 3], dt))),
    "weight-smoothing-sum": lambda dt: nn.CrossEntropyLoss(
        weight=rg.tensor(np.array([1, 2, 0.5, 3], dt)), label_smoothing=0.3, reduction="sum"
    ),
    # some batches hold class 2, others not: eager's fused op for those, as replay's
    "ignore-2": lambda dt: nn.CrossEntropyLoss(ignore_index=2),
    "ignore-2-smoothing": lambda dt: nn.CrossEntropyLoss(ignore_index=2, label_smoothing=0.2),
}


#: Some of these batches hold class 2 (the ignored one), others not (eager then runs its
#: fused op, and so must the replay).
CE_SIZES = [16, 3, 3, 16, 3, 3, 2]


@pytest.mark.parametrize("case", sorted(CE_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_with_options_replays_as_eager(case, dtype):
    assert_replays_as_eager(
        lambda: mlp((6, 8, 4)), CE_CASES[case], classes(4), dtype, sizes=CE_SIZES
    )


def test_an_ignored_class_is_looked_for_in_each_batch():
    step = assert_replays_as_eager(
        lambda: mlp((6, 8, 4)), CE_CASES["ignore-2"], classes(4), sizes=CE_SIZES
    )
    kernel = next(iter(step._plans.values())).loss
    seen = []
    for t in ([0, 1, 3], [2, 1, 0]):
        assert kernel.valid(np.array(t))
        seen.append(kernel.ignored)
    assert seen == [False, True]


def test_targets_equal_to_a_negative_ignore_index_are_skipped_as_eager():
    # -100 targets (PyTorch's padding) with weights: the general op, replayed
    weight = np.array([1, 2, 0.5, 3], np.float32)
    step = assert_replays_as_eager(
        lambda: mlp((6, 8, 4)),
        lambda dt: nn.CrossEntropyLoss(weight=rg.tensor(weight), label_smoothing=0.1),
        lambda rng, n: np.where(rng.random(n) < 0.3, -100, rng.integers(0, 4, n)),
    )
    assert step.replays == len(SIZES)


def test_a_target_out_of_range_runs_eagerly_and_raises_its_error():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4))
    loss_fn = nn.CrossEntropyLoss(ignore_index=1, label_smoothing=0.1)
    step = TrainStep(model, loss_fn, optim.SGD(model.parameters(), lr=0.1))
    x = rg.tensor(np.ones((3, 3), np.float32))
    step(x, rg.tensor(np.array([0, 1, 3])))
    assert step.reason is None
    with pytest.raises(ValueError, match="class index 4"):
        step(x, rg.tensor(np.array([0, 4, 1])))
    assert "not a class index" in step.reason


@pytest.mark.parametrize(
    ("loss_fn", "reason"),
    [
        (
            nn.CrossEntropyLoss(weight=rg.tensor(np.ones(4))),  # float64 weight, float32 output
            "weight is float64",
        ),
        (nn.CrossEntropyLoss(label_smoothing=0.1, reduction="none"), "reduction='none'"),
        (nn.HuberLoss(reduction="none"), "reduction='none'"),
    ],
)
def test_losses_not_captured_run_eagerly_with_the_reason(loss_fn, reason):
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4))
    step = TrainStep(model, loss_fn, optim.SGD(model.parameters(), lr=0.1))
    y = (
        np.array([0, 1, 3])
        if isinstance(loss_fn, nn.CrossEntropyLoss)
        else np.zeros((3, 4), np.float32)
    )
    # the plan only: eager's backward of an unreduced loss needs a gradient
    assert step._plan_for(rg.tensor(np.ones((3, 3), np.float32)), rg.tensor(y)) is None
    assert reason in step.reason


def test_a_weight_that_requires_grad_raises_as_eager():
    model = nn.Sequential(nn.Linear(3, 4))
    weight = rg.tensor(np.ones(4, np.float32), requires_grad=True)
    step = TrainStep(model, nn.CrossEntropyLoss(weight=weight), optim.SGD(model.parameters()))
    with pytest.raises(RuntimeError, match="weight receives no gradient"):
        step(rg.tensor(np.ones((3, 3), np.float32)), rg.tensor(np.array([0, 1, 3])))
    assert "requires grad" in step.reason


def test_a_class_weight_changed_in_place_is_read_by_the_replay():
    weight = rg.tensor(np.ones(4, np.float32))

    def loss(dt: Any) -> Any:
        return nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1)

    rg.manual_seed(0)
    model = mlp((6, 8, 4))
    twin = mlp((6, 8, 4))
    twin.load_state_dict(model.state_dict())
    steps = [
        TrainStep(m, loss(None), optim.SGD(m.parameters(), lr=0.5), enabled=on)
        for m, on in ((model, True), (twin, False))
    ]
    rng = np.random.default_rng(0)
    for i in range(4):
        weight.array[...] = rng.random(4)  # as a schedule of class weights would
        x, y = (
            rg.tensor(rng.standard_normal((8, 6)).astype(np.float32)),
            rg.tensor(rng.integers(0, 4, 8)),
        )
        rg.manual_seed(i)
        a = steps[0](x, y).item()
        rg.manual_seed(i)
        assert a == steps[1](x, y).item()
    assert steps[0].replays == 4


REGRESSION_CASES: dict[str, Callable[[Any], Any]] = {
    "l1": lambda dt: nn.L1Loss(),
    "l1-sum": lambda dt: nn.L1Loss(reduction="sum"),
    "huber-0.5": lambda dt: nn.HuberLoss(delta=0.5),
    "huber-sum": lambda dt: nn.HuberLoss(reduction="sum", delta=2.0),
    "smooth-l1-0.3": lambda dt: nn.SmoothL1Loss(beta=0.3),
    "smooth-l1-sum": lambda dt: nn.SmoothL1Loss(reduction="sum"),
    "smooth-l1-0": lambda dt: nn.SmoothL1Loss(beta=0.0),  # eager's L1
    "mse": lambda dt: nn.MSELoss(),
}


@pytest.mark.parametrize("case", sorted(REGRESSION_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regression_losses_replay_as_eager(case, dtype):
    assert_replays_as_eager(lambda: mlp((6, 8, 3)), REGRESSION_CASES[case], values(3, dtype), dtype)


def test_changing_a_losss_option_captures_again():
    loss_fn = nn.HuberLoss(delta=1.0)
    rg.manual_seed(0)
    model, twin = nn.Sequential(nn.Linear(3, 2)), nn.Sequential(nn.Linear(3, 2))
    twin.load_state_dict(model.state_dict())
    steps = [
        TrainStep(m, loss_fn, optim.SGD(m.parameters(), lr=0.1), enabled=on)
        for m, on in ((model, True), (twin, False))
    ]
    rng = np.random.default_rng(0)
    x, y = (rg.tensor(rng.standard_normal(s).astype(np.float32)) for s in ((4, 3), (4, 2)))
    for delta in (1.0, 0.01):
        loss_fn.delta = delta
        assert steps[0](x, y).item() == steps[1](x, y).item()
    assert steps[0].captures == 2


# ---------------------------------------------------------------- any options (hypothesis)

_ACTIVATION_STRATEGY = st.one_of(
    st.floats(-2, 2).map(lambda s: lambda: nn.LeakyReLU(s)),
    st.floats(0.1, 3).map(lambda a: lambda: nn.ELU(a)),
    st.sampled_from(["none", "tanh"]).map(lambda ap: lambda: nn.GELU(ap)),
    st.tuples(st.floats(0.2, 4), st.floats(-1, 5)).map(lambda bt: lambda: nn.Softplus(*bt)),
    st.tuples(st.floats(-2, 0), st.floats(0.01, 2)).map(lambda lh: lambda: nn.Hardtanh(*lh)),
    st.sampled_from([nn.SiLU, nn.Mish, nn.LogSigmoid, nn.Softsign, nn.PReLU, nn.Identity]),
)

_CE_STRATEGY = st.builds(
    dict,
    label_smoothing=st.sampled_from([0.0, 0.1, 1.0]),
    weighted=st.booleans(),
    ignore_index=st.sampled_from([-100, 0, 2]),
    reduction=st.sampled_from(["mean", "sum"]),
)


@settings(max_examples=25, deadline=None)
@given(
    act=_ACTIVATION_STRATEGY,
    ce=_CE_STRATEGY,
    hidden=st.integers(1, 6),
    sizes=st.lists(st.integers(1, 9), min_size=2, max_size=4),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_any_activation_and_cross_entropy_options_replay_as_eager(act, ce, hidden, sizes, dtype):
    weighted = ce.pop("weighted")

    def make_loss(dt: Any) -> Any:
        w = rg.tensor(np.array([0.5, 2.0, 1.0], dt)) if weighted else None
        return nn.CrossEntropyLoss(weight=w, **ce)

    def make() -> Any:
        return nn.Sequential(nn.Linear(4, hidden), act(), nn.Linear(hidden, 3))

    assert_replays_as_eager(make, make_loss, classes(3), dtype, sizes=sizes)


@settings(max_examples=15, deadline=None)
@given(
    kind=st.sampled_from(["l1", "huber", "smooth-l1"]),
    option=st.floats(0, 3),
    reduction=st.sampled_from(["mean", "sum"]),
    sizes=st.lists(st.integers(2, 9), min_size=2, max_size=4),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_any_regression_loss_options_replay_as_eager(kind, option, reduction, sizes, dtype):
    def make_loss(dt: Any) -> Any:
        if kind == "huber":
            return nn.HuberLoss(reduction=reduction, delta=option + 0.01)
        if kind == "smooth-l1":
            return nn.SmoothL1Loss(reduction=reduction, beta=option)
        return nn.L1Loss(reduction=reduction)

    assert_replays_as_eager(lambda: mlp((5, 4, 2)), make_loss, values(2, dtype), dtype, sizes=sizes)


# ---------------------------------------------------------------- retrograd train


def train_twice(tmp_path: Any, monkeypatch: Any, *options: str) -> None:
    """``retrograd train`` captured and with --no-capture: the captured run replayed every
    step (a spy on ``forward_backward``), and the two models are equal bit for bit."""
    ran: list[str | None] = []
    real = capture.TrainStep.forward_backward

    def spy(self: Any, x: Any, y: Any, keep_output: bool = False) -> Any:
        result = real(self, x, y, keep_output)
        ran.append(self.reason)
        return result

    monkeypatch.setattr(capture.TrainStep, "forward_backward", spy)
    weights = []
    for flag in ((), ("--no-capture",)):
        ran.clear()
        out = tmp_path / ("eager" if flag else "captured")
        result = invoke("train", *options, "--seed", "0", "--quiet", "--out", out, *flag)
        assert result.exit_code == 0, result.output
        assert ran
        if flag:
            assert all(r is not None for r in ran)
        else:
            assert all(r is None for r in ran), {r for r in ran if r}
        weights.append(load_file(str(out / cli.MODEL_FILE)))
    assert weights[0].keys() == weights[1].keys()
    for name, w in weights[0].items():
        np.testing.assert_array_equal(w, weights[1][name], err_msg=name)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_retrograd_train_replays_every_activation(activation, tmp_path, monkeypatch):
    train_twice(
        tmp_path, monkeypatch, "--data", "iris", "--hidden", "8,6", "--epochs", "2",
        "--activation", activation, "--dropout", "0.1",
    )  # fmt: skip


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_retrograd_train_replays_every_loss(loss, tmp_path, monkeypatch):
    data = "iris" if LOSSES[loss].task == "classification" else "diabetes"
    train_twice(
        tmp_path, monkeypatch, "--data", data, "--hidden", "8", "--epochs", "2", "--loss", loss
    )


def test_retrograd_train_with_label_smoothing_replays(tmp_path, monkeypatch):
    train_twice(
        tmp_path, monkeypatch, "--data", "iris", "--hidden", "8", "--epochs", "2",
        "--label-smoothing", "0.3",
    )  # fmt: skip


def test_the_kernels_run_by_the_eager_op_are_those_of_the_plan():
    # the kinds this file tests are planned as these kernels, not as eager steps
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Mish(), nn.PReLU(), nn.Identity(), nn.Linear(4, 2))
    step = TrainStep(model, nn.CrossEntropyLoss(label_smoothing=0.2), optim.SGD(model.parameters()))
    step(rg.tensor(np.ones((2, 3), np.float32)), rg.tensor(np.array([0, 1])))
    plan = next(iter(step._plans.values()))
    kinds = [type(k) for k in plan.kernels]
    assert kinds == [K.LinearKernel, K.OpKernel, K.PReLUKernel, K.LinearKernel]
    assert type(plan.loss) is K.CrossEntropyOpKernel


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu", "prelu"])
def test_retrograd_train_cnn_replays_other_activations(activation, tmp_path, monkeypatch):
    # on the convolutions' 4-D outputs, after BatchNorm2d, with the CNN's label smoothing
    train_twice(
        tmp_path, monkeypatch, "--data", "digits", "--arch", "cnn", "--epochs", "1",
        "--channels", "4", "--hidden", "16", "--activation", activation,
    )  # fmt: skip


# ---------------------------------------------------------------- the shared array functions


def _special_values(dtype: Any) -> np.ndarray:
    rng = np.random.default_rng(0)
    scaled = [rng.standard_normal(2000) * s for s in (1, 30, 1e4)]
    tiny = np.finfo(dtype).smallest_subnormal
    edges = [0.0, -0.0, np.inf, -np.inf, np.nan, tiny, -tiny, 88.7, -88.7, 745.2, -745.2]
    return np.concatenate([*scaled, edges]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_sigmoid_has_the_bits_of_its_where_form(dtype):
    # the branch-free numerator max(e, a >= 0) (SPEED) against the plain pick of 1/d or e/d
    from retrograd.ops.elementwise import stable_sigmoid

    a = _special_values(dtype)
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(a))
        expected = np.where(a >= 0, 1 / (1 + e), e / (1 + e))
    got = stable_sigmoid(a)
    assert got.dtype == dtype and got.tobytes() == expected.tobytes()
    kept = [np.empty_like(a) for _ in range(3)] + [np.empty(a.shape, bool)]
    assert stable_sigmoid(a, *kept) is kept[0] and kept[0].tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.01, -3.0, 0.0])
def test_leaky_relu_slopes_have_the_bits_of_its_where_form(dtype, slope):
    from retrograd.ops.elementwise import leaky_relu_slopes, leaky_relu_table

    a = _special_values(dtype)
    slopes = leaky_relu_slopes(a, leaky_relu_table(slope, dtype))
    with np.errstate(all="ignore"):
        assert (a * slopes).tobytes() == np.where(a > 0, a, a * slope).tobytes()
        g = _special_values(dtype)[::-1].copy()
        assert (g * slopes).tobytes() == np.where(a > 0, g, g * slope).tobytes()
