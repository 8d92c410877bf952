"""retrograd.optim.lr_scheduler against torch.optim.lr_scheduler, float for float."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import optim
from retrograd.optim import lr_scheduler

STEPS = 120


def make_optimizers(opt_name="SGD", opt_kwargs=None, lrs=(0.1, 0.04)):
    """The same two-group optimizer in both libraries (no gradients: only the rates move)."""
    opt_kwargs = {"lr": lrs[0], **(opt_kwargs or {})}
    ours = [rg.zeros(2, requires_grad=True), rg.zeros(3, requires_grad=True)]
    theirs = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    opt = getattr(optim, opt_name)(
        [{"params": ours[:1]}, {"params": ours[1:], "lr": lrs[1]}], **opt_kwargs
    )
    topt = getattr(torch.optim, opt_name)(
        [{"params": theirs[:1]}, {"params": theirs[1:], "lr": lrs[1]}], **opt_kwargs
    )
    return opt, topt


def momenta(opt):
    return [g.get("momentum", g.get("betas")) for g in opt.param_groups]


SCHEDULE_CASES = [
    ("StepLR", dict(step_size=10, gamma=0.5), "SGD", {}),
    ("StepLR", dict(step_size=3), "Adam", {}),
    ("MultiStepLR", dict(milestones=[10, 30, 30, 80], gamma=0.2), "SGD", {}),
    ("ExponentialLR", dict(gamma=0.97), "RMSprop", {}),
    ("CosineAnnealingLR", dict(T_max=25, eta_min=0.001), "SGD", {}),
    ("CosineAnnealingLR", dict(T_max=100), "AdamW", {}),
    ("LinearLR", dict(), "SGD", {}),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=80), "Adagrad", {}),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], total_steps=STEPS), "SGD", {"momentum": 0.9}),
    (
        "OneCycleLR",
        dict(max_lr=0.05, total_steps=STEPS + 5, three_phase=True, anneal_strategy="linear"),
        "Adam",
        {},
    ),
    ("OneCycleLR", dict(max_lr=0.3, epochs=12, steps_per_epoch=10, pct_start=0.5), "RMSprop", {}),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=STEPS, cycle_momentum=False), "Adagrad", {}),
]
CASE_IDS = [f"{c[0]}-{i}" for i, c in enumerate(SCHEDULE_CASES)]


@pytest.mark.parametrize("name,kwargs,opt_name,opt_kwargs", SCHEDULE_CASES, ids=CASE_IDS)
def test_learning_rates_equal_torch_for_120_steps(name, kwargs, opt_name, opt_kwargs):
    opt, topt = make_optimizers(opt_name, opt_kwargs)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    assert sched.last_epoch == tsched.last_epoch == 0
    assert sched.get_last_lr() == tsched.get_last_lr()
    seen = set()
    for step in range(STEPS):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert sched.last_epoch == tsched.last_epoch
        assert sched.get_last_lr() == tsched.get_last_lr(), f"step {step}"
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        assert momenta(opt) == momenta(topt), f"step {step}"
        seen.add(tuple(sched.get_last_lr()))
    assert len(seen) > 2, "the schedule never moved"


CLOSED_FORM_CASES = [c for c in SCHEDULE_CASES if c[0] != "OneCycleLR"]


@pytest.mark.parametrize(
    "name,kwargs,opt_name,opt_kwargs",
    CLOSED_FORM_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CLOSED_FORM_CASES)],
)
def test_step_with_epoch_uses_torchs_closed_form(name, kwargs, opt_name, opt_kwargs):
    opt, topt = make_optimizers(opt_name, opt_kwargs)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for epoch in [3, 10, 7, 30, 31, 99, 0, 150]:
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tsched.step(epoch)
        assert sched.last_epoch == epoch
        assert sched.get_last_lr() == tsched.get_last_lr(), f"epoch {epoch}"


def test_closed_and_chainable_forms_agree_up_to_rounding():
    opt, _ = make_optimizers()
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=30, eta_min=0.01)
    for _ in range(45):
        sched.step()
        chained = sched.get_last_lr()
        np.testing.assert_allclose(chained, sched._get_closed_form_lr(), rtol=1e-12)


def metric(k: int) -> float:
    """A loss that falls in ever longer plateaus, with small noise."""
    return 1.0 / (1 + math.isqrt(k)) + 0.003 * math.sin(1.7 * k)


PLATEAU_CASES = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(patience=1, factor=0.5, cooldown=3, threshold=0.05),
    dict(patience=0, threshold=0.01, threshold_mode="abs", min_lr=[0.02, 0.001]),
    dict(mode="max", patience=1, factor=0.7),
    dict(mode="max", patience=3, threshold_mode="abs", threshold=0.002, min_lr=0.005),
    dict(patience=0, factor=0.9, eps=0.005),
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES, ids=[str(c) for c in PLATEAU_CASES])
def test_reduce_on_plateau_equals_torch(kwargs):
    opt, topt = make_optimizers("SGD", {"momentum": 0.5})
    sched = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    sign = -1.0 if kwargs.get("mode") == "max" else 1.0
    assert sched.get_last_lr() == tsched.get_last_lr()
    for k in range(STEPS):
        value = sign * metric(k)
        # a one-element Tensor is accepted, as a torch scalar is by torch
        sched.step(rg.tensor(value, dtype=rg.float64) if k % 2 else value)
        tsched.step(value)
        state = (sched.best, sched.num_bad_epochs, sched.cooldown_counter, sched.last_epoch)
        tstate = (tsched.best, tsched.num_bad_epochs, tsched.cooldown_counter, tsched.last_epoch)
        assert state == tstate, f"step {k}"
        assert sched.get_last_lr() == tsched.get_last_lr(), f"step {k}"
    first = [0.1, 0.04]
    if kwargs.get("eps") == 0.005:
        assert sched.get_last_lr()[1] == first[1]  # 10% of 0.04 is under eps: never reduced
    else:
        assert sched.get_last_lr() != first, "the rate was never reduced"


STATE_CASES = [*SCHEDULE_CASES, ("ReduceLROnPlateau", dict(patience=1, factor=0.5), "SGD", {})]


@pytest.mark.parametrize(
    "name,kwargs,opt_name,opt_kwargs",
    STATE_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(STATE_CASES)],
)
def test_state_dict_resume_continues_the_schedule_exactly(name, kwargs, opt_name, opt_kwargs):
    def step(sched, opt, k):
        opt.step()
        if name == "ReduceLROnPlateau":
            sched.step(metric(k))
        else:
            sched.step()

    opt, _ = make_optimizers(opt_name, opt_kwargs)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    straight = []
    for k in range(STEPS):
        step(sched, opt, k)
        straight.append(sched.get_last_lr())

    opt1, _ = make_optimizers(opt_name, opt_kwargs)
    sched1 = getattr(lr_scheduler, name)(opt1, **kwargs)
    for k in range(50):
        step(sched1, opt1, k)
    saved = copy.deepcopy((opt1.state_dict(), sched1.state_dict()))
    assert "optimizer" not in saved[1]

    opt2, _ = make_optimizers(opt_name, opt_kwargs)
    sched2 = getattr(lr_scheduler, name)(opt2, **kwargs)  # built before loading, as in PyTorch
    opt2.load_state_dict(saved[0])
    sched2.load_state_dict(saved[1])
    resumed = [sched2.get_last_lr()]
    for k in range(50, STEPS):
        step(sched2, opt2, k)
        resumed.append(sched2.get_last_lr())
    assert resumed == straight[49:]
    assert momenta(opt2) == momenta(opt)


def test_scheduler_state_dict_is_a_copy():
    opt, _ = make_optimizers()
    sched = lr_scheduler.MultiStepLR(opt, milestones=[2, 4])
    sd = sched.state_dict()
    sd["milestones"][100] = 5
    sd["base_lrs"][0] = 99.0
    assert 100 not in sched.milestones and sched.base_lrs[0] == 0.1
    sched.get_last_lr()[0] = 7.0
    assert sched.get_last_lr()[0] == 0.1


def test_multisteplr_state_survives_a_format_without_counter():
    # checkpoint formats built on JSON give the milestones back as a plain dict
    opt, _ = make_optimizers()
    sched = lr_scheduler.MultiStepLR(opt, milestones=[2, 4, 4])
    sd = sched.state_dict()
    sd["milestones"] = dict(sd["milestones"])
    fresh = lr_scheduler.MultiStepLR(make_optimizers()[0], milestones=[1])
    fresh.load_state_dict(sd)
    with pytest.warns(UserWarning):
        fresh.step(5)
    assert fresh.get_last_lr() == [0.1 * 0.1**3, 0.04 * 0.1**3]


def test_resuming_with_last_epoch_matches_torch():
    opt, topt = make_optimizers()
    for o in (opt, topt):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
    sched = lr_scheduler.StepLR(opt, step_size=4, gamma=0.5, last_epoch=9)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=4, gamma=0.5, last_epoch=9)
    for _ in range(10):
        assert sched.get_last_lr() == tsched.get_last_lr()
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


def test_onecycle_refuses_to_step_past_total_steps_like_torch():
    opt, topt = make_optimizers("SGD", {"momentum": 0.9})
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    topt.step()  # torch warns when its scheduler steps twice without the optimizer
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total"):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        tsched.step()


def test_base_scheduler_get_lr_must_be_overridden():
    class Incomplete(lr_scheduler.LRScheduler):
        pass

    opt, _ = make_optimizers()
    with pytest.raises(NotImplementedError, match="Incomplete must implement get_lr"):
        Incomplete(opt)


def two_groups():
    return make_optimizers()[0]


ERROR_CASES = [
    (lambda: lr_scheduler.StepLR("sgd", step_size=2), TypeError, "str is not an Optimizer"),
    (
        lambda: lr_scheduler.StepLR(two_groups(), step_size=0),
        ValueError,
        "step_size must be a positive",
    ),
    (
        lambda: lr_scheduler.CosineAnnealingLR(two_groups(), T_max=0),
        ValueError,
        "T_max must be positive",
    ),
    (
        lambda: lr_scheduler.LinearLR(two_groups(), start_factor=0),
        ValueError,
        "Starting multiplicative factor expected to be greater than 0",
    ),
    (
        lambda: lr_scheduler.LinearLR(two_groups(), end_factor=1.5),
        ValueError,
        "Ending multiplicative factor expected to be between 0 and 1",
    ),
    (lambda: lr_scheduler.ExponentialLR(two_groups(), 0.9, last_epoch=3), KeyError, "initial_lr"),
    (
        lambda: lr_scheduler.OneCycleLR(two_groups(), max_lr=0.1),
        ValueError,
        r"You must define either total_steps OR \(epochs AND steps_per_epoch\)",
    ),
    (
        lambda: lr_scheduler.OneCycleLR(two_groups(), max_lr=0.1, total_steps=0),
        ValueError,
        "Expected positive integer total_steps, but got 0",
    ),
    (
        lambda: lr_scheduler.OneCycleLR(two_groups(), max_lr=0.1, total_steps=9, pct_start=1.5),
        ValueError,
        "Expected float between 0 and 1 pct_start, but got 1.5",
    ),
    (
        lambda: lr_scheduler.OneCycleLR(
            two_groups(), max_lr=0.1, total_steps=9, anneal_strategy="exp"
        ),
        ValueError,
        "anneal_strategy must be one of 'cos' or 'linear', instead got exp",
    ),
    (
        lambda: lr_scheduler.OneCycleLR(two_groups(), max_lr=[0.1], total_steps=9),
        ValueError,
        "max_lr must have the same length as optimizer.param_groups",
    ),
    (
        lambda: lr_scheduler.OneCycleLR(
            optim.Adagrad([rg.zeros(1, requires_grad=True)]), max_lr=0.1, total_steps=9
        ),
        ValueError,
        "optimizer must support momentum or beta1",
    ),
    (
        lambda: lr_scheduler.ReduceLROnPlateau(two_groups(), factor=1.0),
        ValueError,
        "Factor should be < 1.0",
    ),
    (
        lambda: lr_scheduler.ReduceLROnPlateau(two_groups(), mode="low"),
        ValueError,
        "mode 'low' is unknown",
    ),
    (
        lambda: lr_scheduler.ReduceLROnPlateau(two_groups(), threshold_mode="pct"),
        ValueError,
        "threshold mode 'pct' is unknown",
    ),
    (
        lambda: lr_scheduler.ReduceLROnPlateau(two_groups(), min_lr=[0.1]),
        ValueError,
        "expected 2 min_lrs, got 1",
    ),
]


@pytest.mark.parametrize("make,exc,message", ERROR_CASES)
def test_invalid_scheduler_arguments_are_refused(make, exc, message):
    with pytest.raises(exc, match=message):
        make()
