"""retrograd.capture.optim: the optimizer's step over flat buffers equals eager's, bit for bit.

Each test trains the same model from the same seed with ``TrainStep(...,
enabled=False)`` (eager forward, backward and ``optimizer.step()``) and with
``TrainStep`` (replayed, the optimizer stepped by :class:`FlatOptimizer`), and
compares losses, parameters and the optimizer's state with ``==``. The first
layer has 20,000 weights, above ``_blas.MIN_SIZE``, so that its region takes
the one-pass BLAS path while the small parameters are packed into one
ufunc region, as in eager.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import retrograd as rg
from retrograd import _blas, nn, optim
from retrograd.capture import TrainStep
from retrograd.capture import kernels as K
from retrograd.capture import optim as CO
from retrograd.capture.optim import FlatOptimizer, regions
from retrograd.optim import lr_scheduler

SIZES = (200, 100, 12, 5)  # the first weight: 20,000 elements, a region of its own


def make_model(sizes: tuple[int, ...] = SIZES) -> Any:
    layers: list[Any] = [nn.Linear(sizes[0], sizes[1]), nn.ReLU()]
    layers += [nn.Linear(sizes[1], sizes[2]), nn.BatchNorm1d(sizes[2]), nn.Tanh()]
    layers += [nn.Linear(sizes[2], sizes[3])]
    return nn.Sequential(*layers)


def data(n_steps: int, batch: int = 16, seed: int = 1) -> list[tuple[Any, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_steps):
        n = batch if i % 7 != 6 else 5  # a partial batch now and then: an eager step or a new plan
        x = rng.standard_normal((n, SIZES[0])).astype(np.float32)
        out.append((rg.from_numpy(x), rg.from_numpy(rng.integers(0, SIZES[-1], n))))
    return out


OPTIMIZERS: dict[str, Callable[[Any], Any]] = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd-maximize-wd": lambda p: optim.SGD(p, lr=0.01, weight_decay=1e-2, maximize=True),
    "momentum-dampening": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1),
    "nesterov-wd": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adam-amsgrad-wd": lambda p: optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=1e-2),
    "adam-maximize": lambda p: optim.Adam(p, lr=1e-3, maximize=True, betas=(0.8, 0.99)),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "adamw-amsgrad": lambda p: optim.AdamW(p, lr=1e-2, amsgrad=True, weight_decay=0.1),
}


def run(
    captured: bool,
    make_opt: Callable[[Any], Any],
    n_steps: int = 40,
    scheduler: Callable[[Any], Any] | None = None,
) -> tuple[list[float], Any, Any, TrainStep]:
    """Train from seed 0; the losses, the model, the optimizer and the step object."""
    rg.manual_seed(0)
    model = make_model()
    opt = make_opt(model.parameters())
    sched = scheduler(opt) if scheduler else None
    step = TrainStep(model, nn.CrossEntropyLoss(), opt, enabled=captured)
    losses = []
    for i, (x, y) in enumerate(data(n_steps)):
        losses.append(step(x, y).item())
        if sched is not None and i % 5 == 4:
            sched.step()
    return losses, model, opt, step


def assert_same_training(a: tuple, b: tuple) -> None:
    """Equal losses, parameters and buffers, and optimizer states, bit for bit."""
    assert a[0] == b[0]
    for (ka, va), (kb, vb) in zip(
        a[1].state_dict().items(), b[1].state_dict().items(), strict=True
    ):
        assert ka == kb
        np.testing.assert_array_equal(va.array, vb.array, err_msg=ka)
    sa, sb = a[2].state_dict(), b[2].state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sorted(sa["state"]) == sorted(sb["state"])
    for i, entries in sa["state"].items():
        assert list(entries) == list(sb["state"][i])
        for name, value in entries.items():
            np.testing.assert_array_equal(value, sb["state"][i][name], err_msg=f"{i} {name}")


def assert_flat(step: TrainStep, opt: Any) -> FlatOptimizer:
    """The optimizer was captured: parameters, gradients and state arrays view flat buffers."""
    flat = step._flat
    assert flat is not None and flat.optimizer is opt
    for p in opt.param_groups[0]["params"]:
        assert p.array.base is flat.flat
        assert p.grad is None or p.grad.array.base is flat.flat_grad
    for r in flat.regions:
        for p in r.params:
            for name, value in opt.state[p].items():
                if isinstance(value, np.ndarray):
                    assert value.base is r.state[name], name
    return flat


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_captured_optimizer_equals_eager_bit_for_bit(name):
    eager = run(False, OPTIMIZERS[name])
    captured = run(True, OPTIMIZERS[name])
    assert_same_training(eager, captured)
    assert captured[3].replays == 40 and captured[3].eager_steps == 0
    flat = assert_flat(captured[3], captured[2])
    assert len(flat.regions) == 2  # the 20,000 weights; the other five parameters packed


@pytest.mark.parametrize("name", ["nesterov-wd", "adamw-amsgrad"])
def test_a_scheduler_changes_the_captured_lr(name):
    def sched(o: Any) -> Any:
        return lr_scheduler.StepLR(o, step_size=1, gamma=0.5)

    eager = run(False, OPTIMIZERS[name], scheduler=sched)
    captured = run(True, OPTIMIZERS[name], scheduler=sched)
    assert_same_training(eager, captured)
    assert captured[0] != run(True, OPTIMIZERS[name])[0]  # the schedule did change training


@pytest.mark.parametrize("name", ["momentum-dampening", "adam-amsgrad-wd"])
def test_state_dict_round_trip_mid_training_resumes_exactly(name):
    """Saved after 15 captured steps, loaded into a fresh model and optimizer, trained on."""
    batches = data(30)
    eager = run(False, OPTIMIZERS[name], n_steps=30)

    rg.manual_seed(0)
    model = make_model()
    opt = OPTIMIZERS[name](model.parameters())
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    losses = [step(x, y).item() for x, y in batches[:15]]
    saved_model, saved_opt = model.state_dict(), opt.state_dict()

    model2 = make_model()
    model2.load_state_dict(saved_model)
    opt2 = OPTIMIZERS[name](model2.parameters())
    opt2.load_state_dict(saved_opt)
    step2 = TrainStep(model2, nn.CrossEntropyLoss(), opt2)
    losses += [step2(x, y).item() for x, y in batches[15:]]
    assert_same_training(eager, (losses, model2, opt2))
    assert_flat(step2, opt2)


def test_load_state_dict_into_the_captured_optimizer_is_gathered_on_the_next_step():
    eager = run(False, OPTIMIZERS["adam"], n_steps=20)
    rg.manual_seed(0)
    model = make_model()
    opt = OPTIMIZERS["adam"](model.parameters())
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    batches = data(20)
    losses = [step(x, y).item() for x, y in batches[:10]]
    opt.load_state_dict(opt.state_dict())  # fresh arrays, no longer views of the flat state
    p = opt.param_groups[0]["params"][0]
    assert opt.state[p]["exp_avg"].base is None
    losses += [step(x, y).item() for x, y in batches[10:]]
    assert_same_training(eager, (losses, model, opt))
    assert_flat(step, opt)


def test_state_is_visible_and_written_through_between_steps():
    """Writing into ``optimizer.state[p]`` changes the next captured step, as eagerly."""

    def train(captured: bool) -> tuple:
        rg.manual_seed(0)
        model = make_model()
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        step = TrainStep(model, nn.CrossEntropyLoss(), opt, enabled=captured)
        losses = []
        for i, (x, y) in enumerate(data(12)):
            losses.append(step(x, y).item())
            if i == 4:
                for s in opt.state.values():
                    s["momentum_buffer"] *= 0.5
        return losses, model, opt

    assert_same_training(train(False), train(True))


def test_unsupported_optimizers_and_groups_step_eagerly_with_the_same_result():
    def two_groups(p: Any) -> Any:
        p = list(p)
        return optim.SGD([{"params": p[:2]}, {"params": p[2:], "lr": 0.01}], lr=0.1)

    cases: dict[str, tuple[Callable[[Any], Any], int]] = {
        "rmsprop": (lambda p: optim.RMSprop(p, lr=1e-3, momentum=0.5), 10),
        "two groups": (two_groups, 10),
        # the last bias is never zeroed: its gradient accumulates, eagerly, from step 2 on
        "a subset": (lambda p: optim.Adam(list(p)[:-1], lr=1e-2), 1),
    }
    for name, (make_opt, replays) in cases.items():
        eager = run(False, make_opt, n_steps=10)
        captured = run(True, make_opt, n_steps=10)
        assert_same_training(eager, captured)
        assert captured[3]._flat is None, name
        assert captured[3].replays == replays, name  # forward and backward still replayed


def test_a_group_added_mid_training_steps_eagerly():
    rg.manual_seed(0)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    batches = data(6)
    for x, y in batches[:3]:
        step(x, y)
    flat = step._flat
    assert flat is not None
    extra = rg.zeros(3, requires_grad=True)
    opt.add_param_group({"params": [extra]})
    assert not flat.step()  # the group changed: TrainStep runs optimizer.step() instead
    for x, y in batches[3:]:
        step(x, y)  # still trains: the eager step updates every parameter that has a gradient
    assert step.replays == 6


def test_different_step_counts_fall_back_to_the_eager_step():
    rg.manual_seed(0)
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    batches = data(4)
    step(*batches[0])
    flat = step._flat
    p = opt.param_groups[0]["params"][-1]
    opt.state[p]["step"] = 7
    opt.zero_grad()
    step.forward_backward(*batches[1])
    assert not flat.step()
    opt.step()  # what step_optimizer does then
    assert opt.state[p]["step"] == 8


def test_a_replaced_parameter_array_is_flattened_again():
    rg.manual_seed(0)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    batches = data(4)
    step(*batches[0])
    first = step._flat
    model[0].weight.data = model[0].weight.array.copy()
    step(*batches[1])
    assert step._flat is not first and step.captures == 2
    assert_flat(step, opt)


def test_regions_pack_small_parameters_below_the_blas_size():
    assert regions([20, 30, 5], 16) == [(0, 1), (1, 2), (2, 3)]
    assert regions([40, 3, 4, 5, 6], 16) == [(0, 1), (1, 4), (4, 5)]
    assert regions([3, 4], 16) == [(0, 2)]
    assert regions([3, 40, 4], 16) == [(0, 1), (1, 2), (2, 3)]
    assert regions([], 16) == []
    big = _blas.MIN_SIZE
    assert regions([big, big - 1, 1], big) == [(0, 1), (1, 2), (2, 3)]


# ------------------------------------------------------------ the first weight, stored transposed
def test_the_first_weight_is_stored_transposed_and_the_others_are_not():
    captured = run(True, OPTIMIZERS["adam"], n_steps=3)
    model, opt = captured[1], captured[2]
    w = model[0].weight
    assert w.array.flags.f_contiguous and not w.array.flags.c_contiguous
    assert not w.is_contiguous()
    assert w.grad is None or w.grad.array.flags.f_contiguous
    assert opt.state[w]["exp_avg"].flags.f_contiguous  # the state is laid out as the weight
    for p in list(model.parameters())[1:]:
        assert p.array.flags.c_contiguous


@pytest.mark.parametrize(
    ("n", "k", "m"), [(32, 784, 256), (16, 200, 100), (5, 200, 100), (64, 64, 100), (3, 7, 2)]
)
def test_products_of_a_transposed_weight_equal_eager(n, k, m):
    """Whatever the probe decides for these sizes, the kernel's products equal eager's."""
    rng = np.random.default_rng(n + k + m)
    layer = nn.Linear(k, m)
    w = rng.standard_normal((m, k)).astype(np.float32)
    x = rng.standard_normal((n, k)).astype(np.float32)
    g = rng.standard_normal((n, m)).astype(np.float32)
    results, layouts = [], []
    for order in ("C", "F"):
        layer.weight.array = np.array(w, order=order)
        kernel = K.LinearKernel(layer, n, np.float32, needs_gx=True)
        kernel.x, kernel.g = x, g
        kernel.forward()
        kernel.backward()
        results.append((kernel.out.copy(), kernel.gx.copy(), kernel.gw.copy(), kernel.gb.copy()))
        layouts.append(kernel.gw.flags.f_contiguous)
    for c, f in zip(*results, strict=True):
        np.testing.assert_array_equal(c, f)
    assert layouts == [False, True]  # the gradient is laid out as its weight


def test_where_the_probe_finds_another_rounding_the_weight_is_copied(monkeypatch):
    monkeypatch.setattr(K, "transposed_rounds_as_eager", lambda *args: False)
    eager = run(False, OPTIMIZERS["momentum-dampening"], n_steps=10)
    captured = run(True, OPTIMIZERS["momentum-dampening"], n_steps=10)
    assert_same_training(eager, captured)
    plans = captured[3]._plans.values()
    assert all(plan.kernels[0].copy is not None for plan in plans)
    assert captured[1][0].weight.array.flags.f_contiguous


def test_blas_updates_take_two_fortran_ordered_arrays_and_refuse_mixed_layouts():
    rng = np.random.default_rng(0)
    shape = (_blas.MIN_SIZE // 64, 128)
    x = np.asfortranarray(rng.standard_normal(shape).astype(np.float32))
    y = np.asfortranarray(rng.standard_normal(shape).astype(np.float32))
    y_t = y.T.copy()  # C-contiguous: the same values in the same memory order
    if not _blas.available():
        pytest.skip("no OpenBLAS loaded by NumPy")
    assert _blas.axpy(0.5, x, y)
    assert _blas.axpy(0.5, x.T, y_t)
    np.testing.assert_array_equal(y, y_t.T)
    assert not _blas.axpy(0.5, np.ascontiguousarray(x), y)  # another element order


# ------------------------------------------------------------ the update chunk by chunk (Chunks)
RULES: dict[str, Callable[[Any], Any]] = {
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adam-amsgrad-wd": lambda p: optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=1e-2),
    "adam-maximize": lambda p: optim.Adam(p, lr=1e-3, maximize=True, betas=(0.8, 0.99)),
    "adam-maximize-wd-amsgrad": lambda p: optim.Adam(
        p, lr=1e-3, maximize=True, weight_decay=0.1, amsgrad=True, eps=1e-3
    ),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "adamw-amsgrad-maximize": lambda p: optim.AdamW(
        p, lr=1e-2, amsgrad=True, weight_decay=0.1, maximize=True
    ),
    # beta1 = 0: _blas refuses a zero scalar, eager takes the ufunc path, so does the region
    "adam-beta1-0": lambda p: optim.Adam(p, lr=1e-2, betas=(0.0, 0.9)),
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd-maximize-wd": lambda p: optim.SGD(p, lr=0.01, weight_decay=1e-2, maximize=True),
    "momentum-dampening": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1),
    "nesterov-wd": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "nesterov-maximize-wd": lambda p: optim.SGD(
        p, lr=0.05, momentum=0.5, nesterov=True, weight_decay=1e-2, maximize=True
    ),
    # dampening = 1: the gradient's share is 0, which _blas refuses: the ufunc path again
    "momentum-dampening-1": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=1.0),
}
#: Steps of 6 that the chunks take: the first makes the state (not without momentum);
#: the last two rules take the ufunc path every time, as eagerly
CHUNKED_STEPS = {"sgd": 6, "sgd-maximize-wd": 6, "adam-beta1-0": 0, "momentum-dampening-1": 0}


@pytest.fixture
def chunked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of chunks of each step that Chunks took (not those left to _update)."""
    if not _blas.available():
        pytest.skip("no OpenBLAS loaded by NumPy: every region takes the ufunc path")
    steps: list[int] = []
    for rule in (CO.AdamChunks, CO.SGDChunks):

        def spy(self: Any, group: Any, state: Any, step: Any = rule.step) -> bool:
            done = step(self, group, state)
            if done:
                steps.append(len(self.bounds))
            return done

        monkeypatch.setattr(rule, "step", spy)
    return steps


@pytest.fixture
def chunk_steps(chunked: list[int], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """As ``chunked``, with small chunks: 1,024 float32 or 512 float64 elements."""
    monkeypatch.setattr(CO, "CHUNK_BYTES", 4096)
    return chunked


def step_both(name: str, size: int, dtype: Any, n_steps: int = 6) -> None:
    """One parameter of ``size`` elements stepped eagerly and flat, compared after each step."""
    rng = np.random.default_rng(size)
    start = rng.standard_normal(size).astype(dtype)
    eager, flat_p = rg.from_numpy(start.copy()), rg.from_numpy(start.copy())
    eager.requires_grad = flat_p.requires_grad = True
    opt_e, opt_f = RULES[name]([eager]), RULES[name]([flat_p])
    flat = FlatOptimizer.build(opt_f, [flat_p])
    assert flat is not None
    for i in range(n_steps):
        g = rng.standard_normal(size).astype(dtype) * 10.0**-i  # moments of several scales
        g[:7] = 0.0  # zero gradients: v stays 0 there, the update divides by eps
        eager.grad = rg.from_numpy(g.copy())
        opt_e.step()
        flat.flat_grad[...] = g
        assert flat.step()
        np.testing.assert_array_equal(flat_p.array, eager.array, err_msg=f"step {i}")
        for key, value in opt_e.state[eager].items():
            np.testing.assert_array_equal(opt_f.state[flat_p][key], value, err_msg=key)


def test_sgd_leaves_a_region_for_several_threads_to_eager_and_adam_chunks_it(
    chunk_steps, monkeypatch
):
    """SGD's passes over a region big enough for two BLAS threads stay whole (eager's)."""
    from retrograd import threads

    monkeypatch.setattr(threads, "GRAIN", 10_000)  # 40,961 elements: four grains
    with threads.num_threads(2):
        step_both("nesterov-wd", 40_961, np.float32)
        assert chunk_steps == []
        step_both("adam", 40_961, np.float32)
        assert chunk_steps == [41] * CHUNKED_STEPS.get("adam", 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [_blas.MIN_SIZE, 20_000, 40_961])
@pytest.mark.parametrize("name", sorted(RULES))
def test_adam_chunk_by_chunk_equals_eager_bit_for_bit(chunk_steps, name, size, dtype):
    """Sizes a whole number of chunks or not; every option; the ufunc path for a zero scalar."""
    step_both(name, size, dtype)
    chunks = -(-size // (4096 // np.dtype(dtype).itemsize))
    assert chunk_steps == [chunks] * CHUNKED_STEPS.get(name, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["adamw-amsgrad-maximize", "nesterov-maximize-wd"])
def test_chunks_of_the_default_size_equal_eager(chunked, name, dtype):
    size = 300_007  # 3 chunks in float32, 5 in float64
    step_both(name, size, dtype, n_steps=3)
    assert chunked == [-(-size // (CO.CHUNK_BYTES // np.dtype(dtype).itemsize))] * 2


@pytest.mark.parametrize("name", ["adam-amsgrad-wd", "adamw-amsgrad-maximize", "nesterov-wd"])
def test_captured_training_in_small_chunks_equals_eager(chunk_steps, name):
    """The 20,000 weights in 20 chunks, with partial batches, a scheduler and a reload between."""

    def sched(o: Any) -> Any:
        return lr_scheduler.StepLR(o, step_size=1, gamma=0.7)

    eager = run(False, RULES[name], scheduler=sched)
    captured = run(True, RULES[name], scheduler=sched)
    assert_same_training(eager, captured)
    assert chunk_steps and set(chunk_steps) == {20}
    assert_flat(captured[3], captured[2])


def test_adam_switched_to_amsgrad_mid_training_makes_the_maximum_then_chunks(chunk_steps):
    def train(captured: bool) -> tuple:
        rg.manual_seed(0)
        model = make_model()
        opt = optim.Adam(model.parameters(), lr=1e-2)
        step = TrainStep(model, nn.CrossEntropyLoss(), opt, enabled=captured)
        losses = []
        for i, (x, y) in enumerate(data(12)):
            losses.append(step(x, y).item())
            if i == 5:
                opt.param_groups[0]["amsgrad"] = True
        return losses, model, opt

    captured = train(True)
    assert_same_training(train(False), captured)
    # the first step makes the state, the one after the switch AMSGrad's maximum: eagerly
    assert chunk_steps == [20] * (12 - 2)
    assert "max_exp_avg_sq" in captured[2].state[captured[1][0].weight]


def test_sgd_momentum_switched_on_mid_training_makes_the_buffer_then_chunks(chunk_steps):
    def train(captured: bool) -> tuple:
        rg.manual_seed(0)
        model = make_model()
        opt = optim.SGD(model.parameters(), lr=0.05)
        step = TrainStep(model, nn.CrossEntropyLoss(), opt, enabled=captured)
        losses = []
        for i, (x, y) in enumerate(data(12)):
            losses.append(step(x, y).item())
            if i == 5:
                opt.param_groups[0]["momentum"] = 0.9
        return losses, model, opt

    captured = train(True)
    assert_same_training(train(False), captured)
    assert chunk_steps == [20] * (12 - 1)  # the step that makes the buffer: eagerly
    assert "momentum_buffer" in captured[2].state[captured[1][0].weight]
