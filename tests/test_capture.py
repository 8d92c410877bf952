"""retrograd.capture: a replayed training step equals the eager one, bit for bit, or runs eagerly.

Each test trains the same model twice from the same seed, once with
``TrainStep(..., enabled=False)`` (the eager engine) and once captured, over
the same batches, and compares every loss and every parameter exactly; the
oracle tests compare the captured training with PyTorch's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
from retrograd import nn, optim
from retrograd.capture import TrainStep
from retrograd.optim import lr_scheduler

ROOT = Path(__file__).resolve().parent.parent


def mlp(sizes: tuple[int, ...] = (12, 16, 8, 4), act: type = nn.ReLU, extra: bool = True) -> Any:
    """Linear, activation, Dropout and BatchNorm1d layers: every kernel once."""
    layers: list[Any] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if extra and i == 0:
                layers.append(nn.BatchNorm1d(b))
            layers.append(act())
            if extra:
                layers.append(nn.Dropout(0.25))
    return nn.Sequential(*layers)


def batches(n_in: int, n_out: int, sizes: list[int], kind: str, dtype: Any, seed: int = 1):
    rng = np.random.default_rng(seed)
    for n in sizes:
        x = rng.standard_normal((n, n_in)).astype(dtype)
        if kind == "ce":
            y = rng.integers(0, n_out, n)
        else:
            y = rng.standard_normal((n, n_out)).astype(dtype)
        yield rg.from_numpy(x), rg.from_numpy(y)


def train(
    captured: bool,
    make_model: Callable[[], Any],
    make_opt: Callable[[Any], Any],
    kind: str = "ce",
    sizes: list[int] | None = None,
    dtype: Any = np.float32,
    scheduler: Callable[[Any], Any] | None = None,
    reduction: str = "mean",
) -> tuple[list[float], list[np.ndarray], TrainStep]:
    """Train from seed 0; the losses, the final parameters and buffers, and the step object."""
    rg.manual_seed(0)
    model = make_model()
    if dtype == np.float64:
        model = model.double()
    opt = make_opt(model.parameters())
    sched = scheduler(opt) if scheduler else None
    loss_fn = (
        nn.CrossEntropyLoss(reduction=reduction)
        if kind == "ce"
        else nn.MSELoss(reduction=reduction)
    )
    step = TrainStep(model, loss_fn, opt, enabled=captured)
    first, last = model[0], model[-1]
    sizes = sizes or [16] * 6 + [5] + [16] * 6 + [5]  # a partial last batch per "epoch"
    losses = []
    for i, (x, y) in enumerate(batches(first.in_features, last.out_features, sizes, kind, dtype)):
        losses.append(step(x, y).item())
        if sched is not None and i % 3 == 2:
            sched.step()
    state = [t.array.copy() for t in model.state_dict().values()]
    return losses, state, step


def assert_same(a: tuple, b: tuple) -> None:
    assert a[0] == b[0]
    assert len(a[1]) == len(b[1])
    for x, y in zip(a[1], b[1], strict=True):
        np.testing.assert_array_equal(x, y)


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1),
    "nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adam-amsgrad-wd": lambda p: optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=1e-2),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "rmsprop": lambda p: optim.RMSprop(p, lr=1e-3, momentum=0.5),
}


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("kind", ["ce", "mse"])
def test_replay_equals_eager_bit_for_bit(opt, kind):
    eager = train(False, mlp, OPTIMIZERS[opt], kind)
    captured = train(True, mlp, OPTIMIZERS[opt], kind)
    assert_same(eager, captured)
    step = captured[2]
    assert step.captures == 2 and step.eager_steps == 0  # the full and the partial batch
    assert step.replays == 14 and eager[2].eager_steps == 14


@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh, nn.Sigmoid])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_each_activation_dtype_and_reduction(act, dtype, reduction):
    def make() -> Any:
        return mlp(act=act)

    for kind in ("ce", "mse"):
        args = (make, OPTIMIZERS["adam"], kind, None, dtype, None, reduction)
        assert_same(train(False, *args), train(True, *args))


SCHEDULERS = {
    "step": lambda o: lr_scheduler.StepLR(o, step_size=1, gamma=0.5),
    "onecycle": lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10),
    "cosine": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=3),
}


@pytest.mark.parametrize("sched", sorted(SCHEDULERS))
@pytest.mark.parametrize("opt", ["nesterov", "adamw"])
def test_schedulers_change_the_replayed_lr(sched, opt):
    eager = train(False, mlp, OPTIMIZERS[opt], scheduler=SCHEDULERS[sched])
    captured = train(True, mlp, OPTIMIZERS[opt], scheduler=SCHEDULERS[sched])
    assert_same(eager, captured)
    constant = train(True, mlp, OPTIMIZERS[opt])
    assert constant[0] != captured[0]  # the schedule did change the training


def test_dropout_advances_the_random_stream_as_eager():
    train(True, mlp, OPTIMIZERS["sgd"])
    after_captured = rg.rand(3).array
    train(False, mlp, OPTIMIZERS["sgd"])
    after_eager = rg.rand(3).array
    np.testing.assert_array_equal(after_captured, after_eager)


def test_batchnorm_running_statistics_and_count_follow_eager():
    eager, captured = (train(c, mlp, OPTIMIZERS["adam"]) for c in (False, True))
    assert_same(eager, captured)  # state_dict: running_mean, running_var, num_batches_tracked
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, momentum=None), nn.Linear(3, 2))
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    for x, y in batches(4, 2, [8, 8, 8], "ce", np.float32):
        step(x, y)
    assert step.replays == 3
    assert int(model[1].num_batches_tracked.array) == 3


@pytest.mark.parametrize("opt", ["momentum", "adam"])
def test_float32_training_matches_torch(opt):
    torch = pytest.importorskip("torch")
    rg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(12, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(),
        nn.Linear(8, 4), nn.Sigmoid(), nn.Linear(4, 3),
    )  # fmt: skip
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(12, 16), torch.nn.BatchNorm1d(16), torch.nn.Tanh(),
        torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4), torch.nn.Sigmoid(),
        torch.nn.Linear(4, 3),
    )  # fmt: skip
    with torch.no_grad():
        for p, tp in zip(model.state_dict().values(), tmodel.state_dict().values(), strict=True):
            tp.copy_(torch.from_numpy(p.array.copy()))
    if opt == "adam":  # few steps: Adam's m/sqrt(v) magnifies rounding where g is near 0
        opt, topt, steps = optim.Adam(model.parameters()), torch.optim.Adam(tmodel.parameters()), 8
        atol = 2e-3
    else:
        atol = 1e-4
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        topt, steps = torch.optim.SGD(tmodel.parameters(), lr=0.05, momentum=0.9), 20
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    tloss_fn = torch.nn.CrossEntropyLoss()
    for x, y in batches(12, 3, [32] * steps + [7], "ce", np.float32):
        loss = step(x, y).item()
        topt.zero_grad()
        tloss = tloss_fn(tmodel(torch.from_numpy(x.array)), torch.from_numpy(y.array))
        tloss.backward()
        topt.step()
        assert loss == pytest.approx(tloss.item(), rel=1e-4, abs=1e-5)
    assert step.replays == steps + 1
    for p, tp in zip(model.state_dict().values(), tmodel.state_dict().values(), strict=True):
        # Adam moves an element by up to lr a step whatever its gradient's size, so
        # an element whose gradient is rounding noise may differ by a few lr.
        np.testing.assert_allclose(p.array, tp.numpy(), rtol=1e-3, atol=atol)


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=2, max_size=4),
    batch=st.integers(2, 9),
    last=st.integers(2, 9),
    kind=st.sampled_from(["ce", "mse"]),
)
def test_any_layer_and_batch_sizes_replay_as_eager(sizes, batch, last, kind):
    sizes = [max(2, s) if i == len(sizes) - 1 else s for i, s in enumerate(sizes)]

    def make() -> Any:
        return mlp(tuple(sizes))

    run = [batch, batch, last, batch, last]
    eager = train(False, make, OPTIMIZERS["momentum"], kind, run)
    captured = train(True, make, OPTIMIZERS["momentum"], kind, run)
    assert_same(eager, captured)
    assert captured[2].eager_steps == 0


# ---------------------------------------------------------------- fallbacks and guards


def test_an_unsupported_layer_runs_eagerly_with_the_reason():
    def make() -> Any:
        return nn.Sequential(nn.Linear(12, 8), nn.LayerNorm(8), nn.Linear(8, 4))

    eager = train(False, make, OPTIMIZERS["adam"])
    captured = train(True, make, OPTIMIZERS["adam"])
    assert_same(eager, captured)
    assert captured[2].replays == 0 and "LayerNorm is not captured" in captured[2].reason


def test_a_model_that_is_not_a_sequential_runs_eagerly():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x: Any) -> Any:
            return self.fc(x)

    step = TrainStep(Net(), nn.CrossEntropyLoss(), None)
    x, y = next(batches(3, 2, [4], "ce", np.float32))
    loss, _ = step.forward_backward(x, y)
    assert loss.grad_fn is not None and "not an nn.Sequential" in step.reason


def test_eval_mode_gets_its_own_plan_and_batchnorm_eval_runs_eagerly():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5), nn.Linear(3, 2))
    step = TrainStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    data = list(batches(4, 2, [6, 6, 6, 6], "ce", np.float32))
    step(*data[0])
    model.eval()
    state = rg.random.default_generator.get_state()
    step(*data[1])
    assert step.captures == 2 and step.reason is None
    assert rg.random.default_generator.get_state() == state  # eval: no dropout draw
    model.train()
    step(*data[2])
    assert step.captures == 2 and step.replays == 3  # the training plan again
    bn = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2)).eval()
    step = TrainStep(bn, nn.CrossEntropyLoss(), optim.SGD(bn.parameters(), lr=0.1))
    step(*data[3])
    assert step.replays == 0 and "eval mode" in step.reason


def test_a_replaced_layer_or_parameter_array_is_captured_again():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    data = list(batches(4, 2, [6] * 4, "ce", np.float32))
    step(*data[0])
    model[0].weight.data = rg.zeros(3, 4)  # a new array: the old plan would read the old one
    step(*data[1])
    assert step.captures == 2
    np.testing.assert_array_equal(model[0].weight.grad.array.shape, (3, 4))
    new = nn.Linear(3, 2)
    model[2] = new
    opt.add_param_group({"params": list(new.parameters())})
    opt.zero_grad()
    step.forward_backward(*data[2])
    assert step.captures == 3 and new.weight.grad is not None
    frozen = model[0].weight.requires_grad_(False)
    opt.zero_grad()
    step.forward_backward(*data[3])
    assert "does not require grad" in step.reason and frozen.grad is None


def test_existing_gradients_accumulate_eagerly():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    step = TrainStep(model, nn.CrossEntropyLoss())
    x, y = next(batches(4, 2, [6], "ce", np.float32))
    step.forward_backward(x, y)
    once = model[0].weight.grad.array.copy()
    step.forward_backward(x, y)  # no zero_grad: the gradients add up, as backward() does
    assert "already has a gradient" in step.reason
    np.testing.assert_allclose(model[0].weight.grad.array, 2 * once, rtol=1e-6)


def test_hooks_out_of_range_targets_and_no_grad_run_eagerly():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    x, y = next(batches(4, 2, [6], "ce", np.float32))
    step(x, y)
    bad = rg.tensor([0, 1, 2, 0, 1, 0])
    with pytest.raises((IndexError, ValueError), match="2"):
        step(x, bad)  # eager raises its own error: no silent read of the next row
    assert "class index" in step.reason
    seen = []
    handle = model[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    step(x, y)
    assert seen == [(6, 3)] and "hooks" in step.reason
    handle.remove()
    model[2].weight.register_hook(lambda g: g * 0)
    step(x, y)
    assert "hooks" in step.reason
    with rg.no_grad(), pytest.raises(RuntimeError):
        step(x, y)


def test_disabled_runs_eagerly_and_optimizer_is_needed_to_step():
    model = nn.Sequential(nn.Linear(4, 2))
    step = TrainStep(model, nn.CrossEntropyLoss())
    x, y = next(batches(4, 2, [3], "ce", np.float32))
    with pytest.raises(ValueError, match="optimizer"):
        step(x, y)


def test_the_example_in_docs_runs():
    text = (ROOT / "docs" / "capture.md").read_text()
    example = re.findall(r"```python\n(.+?)\n```", text, re.S)[0]
    namespace: dict = {}
    exec(compile(example, "docs/capture.md", "exec"), namespace)
    assert namespace["step"].replays > 0 and namespace["step"].reason is None
    assert namespace["loss"].item() < namespace["first"]


def fit_with_and_without_capture(
    make_model: Any, make_opt: Any, x: np.ndarray, y: np.ndarray, epochs: int, check: Any
) -> None:
    """``fit`` the same model captured and eagerly; equal histories and weights, bit for bit.

    ``check(capture, steps)`` runs after each fit (``steps``: the steps it took), for the
    caller's spies.
    """
    from retrograd.data import DataLoader, TensorDataset
    from retrograd.training import fit

    results = []
    for capture in (True, False):
        rg.manual_seed(0)
        model = make_model()
        loader = DataLoader(
            TensorDataset(rg.from_numpy(x), rg.from_numpy(y)), batch_size=16, shuffle=True
        )
        val = [(rg.from_numpy(x[:20]), rg.from_numpy(y[:20]))]
        history = fit(
            model, nn.CrossEntropyLoss(), make_opt(model.parameters()), loader, val,
            max_epochs=epochs, metric="accuracy", progress=False, capture=capture,
        )  # fmt: skip
        results.append((history.train_loss, history.train_metric, history.val_loss, model))
        check(capture, epochs * len(loader))
    (loss_c, metric_c, val_c, model_c), (loss_e, metric_e, val_e, model_e) = results
    assert loss_c == loss_e and metric_c == metric_e and val_c == val_e
    for a, b in zip(model_c.state_dict().values(), model_e.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.array, b.array)


def spy_on_flat_steps(monkeypatch: Any) -> list[bool]:
    """What each ``FlatOptimizer.step`` call returned, from now on."""
    from retrograd.capture.optim import FlatOptimizer

    flat_steps: list[bool] = []
    real_step = FlatOptimizer.step

    def spy(self: Any) -> bool:
        done = real_step(self)
        flat_steps.append(done)
        return done

    monkeypatch.setattr(FlatOptimizer, "step", spy)
    return flat_steps


@pytest.mark.parametrize(
    ("batch_norm", "optimizer", "hidden"),
    [(False, "sgd", 8), (True, "sgd", 8), (False, "adam", 8), (False, "sgd", 3000)],
)
def test_fit_captures_by_default_and_capture_false_gives_the_same_history(
    batch_norm, optimizer, hidden, monkeypatch
):
    # fit replays the step and its optimizer update over flat buffers (chunked where a
    # weight is of BLAS size: 6 x 3000); capture=False runs both eagerly. The spy shows
    # that the flat update ran, and only when captured.
    flat_steps = spy_on_flat_steps(monkeypatch)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)

    def make_model():
        layers = [
            nn.Linear(6, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(hidden, 2),
        ]  # fmt: skip
        return nn.Sequential(*(m for m in layers if batch_norm or type(m) is not nn.BatchNorm1d))

    def make_opt(params):
        if optimizer == "sgd":
            return optim.SGD(params, lr=0.1, momentum=0.9)
        return optim.Adam(params, lr=0.01)

    def check(capture, steps):
        assert (len(flat_steps) == steps and all(flat_steps)) if capture else not flat_steps
        flat_steps.clear()

    fit_with_and_without_capture(make_model, make_opt, x, y, 4, check)
