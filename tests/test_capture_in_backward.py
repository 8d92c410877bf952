"""``TrainStep(update_in_backward=True)``: plain SGD's update of the large weights in the backward.

The weight-gradient product adds ``-lr g^T x`` to the weight itself (one BLAS
``gemm`` with ``beta != 0``). Each test trains the same model from the same
seed eagerly (``TrainStep(enabled=False)``: forward, ``backward()``,
``optimizer.step()``) and with the update in the backward, and compares every
parameter to float rounding (the product is added unrounded), and checks that
the weights' ``.grad`` are None exactly when their update was made in the
backward pass (so the comparison would fail if it were made twice, or not at
all).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
from retrograd import _blas, nn, optim
from retrograd.capture import TrainStep
from retrograd.capture.optim import SGDInBackward
from retrograd.optim import lr_scheduler

pytestmark = pytest.mark.skipif(
    _blas.gemm_function(np.float32) is None, reason="NumPy's OpenBLAS is not reachable here"
)

SIZES = (200, 100, 12, 5)  # the first weight: 20,000 elements, of BLAS size; the others not
RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def make_model(sizes: tuple[int, ...] = SIZES, dtype: Any = np.float32, seed: int = 0) -> Any:
    rg.manual_seed(seed)
    layers: list[Any] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    return model.double() if dtype == np.float64 else model


def batches(n_steps: int, batch: int, width: int, dtype: Any, seed: int = 1) -> list[Any]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_steps):
        n = batch if i % 5 != 4 else max(1, batch // 3)  # a partial batch: another plan
        x = rng.standard_normal((n, width)).astype(dtype)
        out.append((rg.from_numpy(x), rg.from_numpy(rng.integers(0, SIZES[-1], n))))
    return out


def train(
    make_opt: Any,
    data: list[Any],
    *,
    in_backward: bool,
    dtype: Any = np.float32,
    sizes: tuple[int, ...] = SIZES,
    between: Any = None,
) -> tuple[Any, TrainStep, list[list[bool]]]:
    """The model after ``data``; the step; per step, which parameters' ``.grad`` were None."""
    model = make_model(sizes, dtype)
    opt = make_opt(model.parameters())
    step = TrainStep(model, nn.CrossEntropyLoss(), opt, update_in_backward=in_backward)
    if not in_backward:
        step.enabled = False
    none = []
    for i, (x, y) in enumerate(data):
        if between is not None:
            between(i, model, opt)
        step(x, y)
        none.append([p.grad is None for p in model.parameters()])
    return model, step, none


def assert_close(a: Any, b: Any, dtype: Any) -> None:
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(
            p.array, q.array, rtol=RTOL[dtype], atol=RTOL[dtype], err_msg=name
        )


SGDS = {
    "plain": lambda p: optim.SGD(p, lr=0.1),
    "weight-decay": lambda p: optim.SGD(p, lr=0.05, weight_decay=1e-2),
    "maximize-wd": lambda p: optim.SGD(p, lr=0.01, weight_decay=1e-3, maximize=True),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(SGDS))
def test_in_backward_equals_eager_sgd_to_rounding(name, dtype):
    data = batches(14, 16, SIZES[0], dtype)
    eager, _, eager_none = train(SGDS[name], data, in_backward=False, dtype=dtype)
    fused, step, fused_none = train(SGDS[name], data, in_backward=True, dtype=dtype)
    assert_close(eager, fused, dtype)
    assert step.replays >= 10, step.reason
    assert not any(any(row) for row in eager_none)
    # the first weight (20,000 elements) is updated in the backward once its plan has
    # the flat optimizer (from the second step on); the others keep their gradients
    assert fused_none[0] == [False] * 6
    assert all(row == [True] + [False] * 5 for row in fused_none[1:])
    assert step.updated_in_backward == sum(row[0] for row in fused_none) == len(data) - 1


@settings(max_examples=12, deadline=None)
@given(
    batch=st.integers(1, 70),
    hidden=st.integers(103, 130),
    width=st.sampled_from([200, 257]),
    transposed_input=st.booleans(),
)
def test_in_backward_any_shape_and_strided_input(batch, hidden, width, transposed_input):
    # Both weights of BLAS size (width x hidden >= 16,384, hidden x 160 too); the input
    # Fortran-ordered or C-ordered (the kernel reads rows of a C-ordered copy).
    sizes = (width, hidden, 160, SIZES[-1])
    data = batches(6, batch, width, np.float32, seed=batch)
    if transposed_input:
        data = [(rg.from_numpy(np.asfortranarray(x.array)), y) for x, y in data]
    eager, _, _ = train(SGDS["plain"], data, in_backward=False, sizes=sizes)
    fused, _, none = train(SGDS["plain"], data, in_backward=True, sizes=sizes)
    assert_close(eager, fused, np.float32)
    assert none[-1] == [True, False, True, False, False, False]


def test_momentum_is_not_fused_and_stays_bit_equal():
    opt = lambda p: optim.SGD(p, lr=0.05, momentum=0.9)  # noqa: E731
    data = batches(8, 16, SIZES[0], np.float32)
    eager, _, _ = train(opt, data, in_backward=False)
    fused, step, none = train(opt, data, in_backward=True)
    for p, q in zip(eager.parameters(), fused.parameters(), strict=True):
        np.testing.assert_array_equal(p.array, q.array)
    assert not any(any(row) for row in none)
    assert step.replays >= 5 and step.updated_in_backward == 0


def test_lr_changes_and_a_momentum_switched_on_are_followed():
    # A scheduler changes the lr every step; at step 6 momentum is switched on by hand:
    # from then on the weight is updated by the flat step again, with its momentum buffer.
    def between(i, model, opt):
        if i == 6:
            opt.param_groups[0]["momentum"] = 0.5
        sched = between.scheds.setdefault(id(opt), lr_scheduler.StepLR(opt, 1, gamma=0.8))
        if i:
            sched.step()

    between.scheds = {}
    data = batches(10, 16, SIZES[0], np.float32)
    eager, _, _ = train(SGDS["plain"], data, in_backward=False, between=between)
    fused, _, none = train(SGDS["plain"], data, in_backward=True, between=between)
    assert_close(eager, fused, np.float32)
    assert none[5][0] and not none[6][0]


def test_a_loaded_state_dict_sets_the_lr_of_the_update_in_backward():
    # load_state_dict replaces the group's dict: the update reads the group as it is now.
    def between(i, model, opt):
        if i == 4:
            state = opt.state_dict()
            state["param_groups"][0]["lr"] = 0.01
            opt.load_state_dict(state)

    data = batches(8, 16, SIZES[0], np.float32)
    eager, _, _ = train(SGDS["plain"], data, in_backward=False, between=between)
    fused, step, _ = train(SGDS["plain"], data, in_backward=True, between=between)
    assert_close(eager, fused, np.float32)
    assert step.updated_in_backward >= 6


def test_eager_steps_between_replays_update_each_weight_once():
    # A hook makes steps 3 and 4 eager: their backward fills every .grad and
    # optimizer.step() updates every parameter; the replays around them fuse.
    def between(i, model, opt):
        if i == 3:
            between.handle = model[0].register_forward_hook(lambda m, a, out: None)
        if i == 5:
            between.handle.remove()

    data = batches(9, 16, SIZES[0], np.float32)
    eager, _, _ = train(SGDS["plain"], data, in_backward=False, between=between)
    fused, step, none = train(SGDS["plain"], data, in_backward=True, between=between)
    assert_close(eager, fused, np.float32)
    assert step.eager_steps == 2 and step.updated_in_backward == 6
    assert [row[0] for row in none] == [False, True, True, False, False, True, True, True, True]


def test_forward_backward_alone_never_updates():
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = TrainStep(model, nn.CrossEntropyLoss(), opt, update_in_backward=True)
    (x, y), (x2, y2) = batches(2, 16, SIZES[0], np.float32)
    step(x, y)
    step(x, y)  # captured, and the update made in the backward
    before = [p.array.copy() for p in model.parameters()]
    opt.zero_grad()
    step.forward_backward(x2, y2)
    assert all(p.grad is not None for p in model.parameters())
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.array, b)


def test_only_plain_sgd_and_large_2d_weights_are_chosen():
    model = make_model()
    params = list(model.parameters())
    chosen = SGDInBackward.build(optim.SGD(params, lr=0.1), params)
    assert chosen is not None and chosen.ids == {id(params[0])}
    assert SGDInBackward.build(optim.Adam(params), params) is None
    small = list(make_model((20, 10, 5)).parameters())
    assert SGDInBackward.build(optim.SGD(small, lr=0.1), small) is None


def test_without_a_large_weight_nothing_is_updated_in_backward():
    sizes = (20, 10, 5)  # no weight of 16,384 elements
    data = batches(4, 16, sizes[0], np.float32)
    _, step, none = train(SGDS["plain"], data, in_backward=True, sizes=sizes)
    assert step.replays >= 3 and step.updated_in_backward == 0
    assert not any(any(row) for row in none)


@pytest.mark.parametrize("make_opt", [lambda p: optim.Adam(p), lambda p: None])
def test_another_optimizer_than_sgd_is_refused(make_opt):
    model = make_model()
    with pytest.raises(ValueError, match=r"update_in_backward=True.*not an optim.SGD"):
        TrainStep(
            model, nn.CrossEntropyLoss(), make_opt(model.parameters()), update_in_backward=True
        )


def test_in_backward_is_off_by_default_and_grads_are_kept():
    data = batches(4, 16, SIZES[0], np.float32)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = TrainStep(model, nn.CrossEntropyLoss(), opt)
    for x, y in data:
        step(x, y)
        assert all(p.grad is not None for p in model.parameters())
