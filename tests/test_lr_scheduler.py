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


# ---------------------------------------------------------------- the schedulers of issue 19


class Decay:
    """A callable object: LambdaLR's state_dict keeps its attributes (a function's it cannot)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, epoch: int) -> float:
        return self.rate**epoch


#: (id, optimizer, its options, scheduler factory given (lr_scheduler module, optimizer)).
MORE_CASES = [
    ("LambdaLR", "SGD", {}, lambda m, o: m.LambdaLR(o, lambda e: 1 / (1 + 0.05 * e))),
    ("LambdaLR-per-group", "Adam", {}, lambda m, o: m.LambdaLR(o, [Decay(0.97), lambda e: 0.5])),
    ("MultiplicativeLR", "SGD", {}, lambda m, o: m.MultiplicativeLR(o, lambda e: 0.98)),
    ("ConstantLR", "SGD", {}, lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=12)),
    ("ConstantLR-defaults", "RMSprop", {}, lambda m, o: m.ConstantLR(o)),
    ("PolynomialLR", "Adam", {}, lambda m, o: m.PolynomialLR(o, total_iters=60, power=2.0)),
    ("PolynomialLR-defaults", "Adagrad", {}, lambda m, o: m.PolynomialLR(o)),
    (
        "CosineAnnealingWarmRestarts",
        "SGD",
        {},
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.001),
    ),
    (
        "CosineAnnealingWarmRestarts-T_mult1",
        "NAdam",
        {},
        lambda m, o: m.CosineAnnealingWarmRestarts(o, 7),
    ),
    (
        "CyclicLR-triangular",
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.05], step_size_up=7, step_size_down=11),
    ),
    (
        "CyclicLR-triangular2-betas",
        "Adam",
        {},
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="triangular2"),
    ),
    (
        "CyclicLR-exp_range",
        "RMSprop",
        {"momentum": 0.5},
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.99),
    ),
    (
        "CyclicLR-no-momentum",
        "Adadelta",
        {},
        lambda m, o: m.CyclicLR(o, 0.1, 1.0, step_size_up=4, cycle_momentum=False),
    ),
    (
        "CyclicLR-scale_fn",
        "SGD",
        {"momentum": 0.5},
        lambda m, o: m.CyclicLR(
            o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 0.9**x, scale_mode="iterations"
        ),
    ),
    (
        "SequentialLR-warmup",
        "SGD",
        {},
        lambda m, o: m.SequentialLR(
            o,
            [m.LinearLR(o, start_factor=0.1, total_iters=10), m.ExponentialLR(o, gamma=0.95)],
            milestones=[10],
        ),
    ),
    (
        "SequentialLR-three",
        "Adam",
        {},
        lambda m, o: m.SequentialLR(
            o,
            [
                m.ConstantLR(o, factor=0.3, total_iters=5),
                m.CosineAnnealingLR(o, T_max=30),
                m.StepLR(o, step_size=10, gamma=0.5),
            ],
            milestones=[20, 50],
        ),
    ),
    (
        "ChainedScheduler",
        "SGD",
        {},
        lambda m, o: m.ChainedScheduler(
            [m.ConstantLR(o, factor=0.3, total_iters=5), m.ExponentialLR(o, gamma=0.97)]
        ),
    ),
    (
        "ChainedScheduler-in-SequentialLR",
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.SequentialLR(
            o,
            [
                m.ChainedScheduler([m.ConstantLR(o, total_iters=3), m.ExponentialLR(o, 0.9)]),
                m.PolynomialLR(o, total_iters=40),
            ],
            milestones=[30],
        ),
    ),
]


def run_schedule(case, steps, resume_at=None):
    """Ours and torch's rates (and momenta) for ``steps`` steps; ours may go through a
    ``state_dict`` round trip into fresh objects at step ``resume_at``."""
    _, opt_name, opt_kwargs, make = case
    opt, topt = make_optimizers(opt_name, opt_kwargs)
    sched, tsched = make(lr_scheduler, opt), make(torch.optim.lr_scheduler, topt)
    ours = [(sched.get_last_lr(), momenta(opt))]
    theirs = [(tsched.get_last_lr(), momenta(topt))]
    for k in range(steps):
        if k == resume_at:
            saved = copy.deepcopy((opt.state_dict(), sched.state_dict()))
            opt, _ = make_optimizers(opt_name, opt_kwargs)
            sched = make(lr_scheduler, opt)  # built before loading, as in PyTorch
            opt.load_state_dict(saved[0])
            sched.load_state_dict(saved[1])
            assert sched.get_last_lr() == ours[-1][0]
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        ours.append((sched.get_last_lr(), momenta(opt)))
        theirs.append((tsched.get_last_lr(), momenta(topt)))
    return ours, theirs


@pytest.mark.parametrize("case", MORE_CASES, ids=[c[0] for c in MORE_CASES])
@pytest.mark.parametrize("resume_at", [None, 50], ids=["straight", "resumed-at-50"])
def test_more_schedulers_equal_torch_for_100_steps(case, resume_at):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's warnings on rates read within step
        ours, theirs = run_schedule(case, 100, resume_at)
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, f"step {k}"
    assert len({tuple(lr) for lr, _ in ours}) > 1, "the schedule never moved"


@pytest.mark.parametrize(
    "case",
    [c for c in MORE_CASES if c[0].split("-")[0] in ("ConstantLR", "PolynomialLR", "LambdaLR")],
    ids=lambda c: c[0],
)
def test_more_closed_forms_equal_torch(case):
    _, opt_name, opt_kwargs, make = case
    opt, topt = make_optimizers(opt_name, opt_kwargs)
    sched, tsched = make(lr_scheduler, opt), make(torch.optim.lr_scheduler, topt)
    for epoch in [3, 12, 7, 30, 60, 0, 150]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched.step(epoch)
            tsched.step(epoch)
        assert sched.get_last_lr() == tsched.get_last_lr(), f"epoch {epoch}"


def test_cosine_warm_restarts_takes_fractional_epochs_like_torch():
    opt, topt = make_optimizers()
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2, eta_min=0.01)
    tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        topt, T_0=5, T_mult=2, eta_min=0.01
    )
    for epoch in [0.5, 1.25, 4.99, 5.0, 7.5, 14.9, 15.0, 40.3, 2.0]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no deprecation warning here, as in torch
            sched.step(epoch)
        tsched.step(epoch)
        assert sched.get_last_lr() == tsched.get_last_lr(), f"epoch {epoch}"
        assert (sched.T_cur, sched.T_i, sched.last_epoch) == (
            tsched.T_cur,
            tsched.T_i,
            tsched.last_epoch,
        )
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        sched.step(-1)


def test_lambda_state_dict_keeps_objects_attributes_not_functions():
    opt, topt = make_optimizers()
    sched = lr_scheduler.LambdaLR(opt, [Decay(0.9), lambda e: 1.0])
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, [Decay(0.9), lambda e: 1.0])
    sd, tsd = sched.state_dict(), tsched.state_dict()
    assert sd["lr_lambdas"] == tsd["lr_lambdas"] == [{"rate": 0.9}, None]
    sd["lr_lambdas"][0]["rate"] = 0.5
    other = lr_scheduler.LambdaLR(make_optimizers()[0], [Decay(0.1), lambda e: 2.0])
    other.load_state_dict(sd)
    assert other.lr_lambdas[0].rate == 0.5  # the object's attributes come back
    assert other.lr_lambdas[1](3) == 2.0  # the function stays the loader's own
    assert sched.lr_lambdas[0].rate == 0.9  # the saved dict was a copy


def test_composite_state_dict_holds_the_inner_schedulers_like_torch():
    case = next(c for c in MORE_CASES if c[0] == "SequentialLR-three")
    opt, topt = make_optimizers("Adam")
    sched, tsched = case[3](lr_scheduler, opt), case[3](torch.optim.lr_scheduler, topt)
    sd, tsd = sched.state_dict(), tsched.state_dict()
    assert set(sd) == set(tsd) and len(sd["_schedulers"]) == 3
    for ours, theirs in zip(sd["_schedulers"], tsd["_schedulers"], strict=True):
        assert ours["last_epoch"] == theirs["last_epoch"]
        assert ours["base_lrs"] == theirs["base_lrs"]


def one_group():
    return optim.SGD([rg.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)


MORE_ERROR_CASES = [
    (
        lambda: lr_scheduler.LambdaLR(two_groups(), [lambda e: 1.0]),
        ValueError,
        "Expected 2 lr_lambdas, but got 1",
    ),
    (
        lambda: lr_scheduler.MultiplicativeLR(two_groups(), 0.9),
        TypeError,
        "lr_lambda should be a function, but got float",
    ),
    (
        lambda: lr_scheduler.ConstantLR(two_groups(), factor=1.5),
        ValueError,
        "Constant multiplicative factor expected to be between 0 and 1",
    ),
    (
        lambda: lr_scheduler.CosineAnnealingWarmRestarts(two_groups(), T_0=0),
        ValueError,
        "Expected positive integer T_0, but got 0",
    ),
    (
        lambda: lr_scheduler.CosineAnnealingWarmRestarts(two_groups(), T_0=5, T_mult=1.5),
        ValueError,
        "Expected integer T_mult >= 1, but got 1.5",
    ),
    (
        lambda: lr_scheduler.CyclicLR(two_groups(), 0.01, 0.1, mode="square"),
        ValueError,
        "mode is invalid and scale_fn is None",
    ),
    (
        lambda: lr_scheduler.CyclicLR(two_groups(), 0.01, [0.1]),
        ValueError,
        "max_lr must have the same length as optimizer.param_groups",
    ),
    (
        lambda: lr_scheduler.CyclicLR(optim.Adagrad([rg.zeros(1, requires_grad=True)]), 0.01, 0.1),
        ValueError,
        "optimizer must support momentum or beta1",
    ),
    (
        lambda: lr_scheduler.SequentialLR(two_groups(), [], milestones=[]),
        ValueError,
        "SequentialLR expects at least one scheduler",
    ),
    (
        lambda: (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], [3]))(
            two_groups()
        ),
        ValueError,
        "number of schedulers provided to be one more than the number of milestone points",
    ),
    (
        lambda: lr_scheduler.SequentialLR(
            two_groups(), [lr_scheduler.StepLR(one_group(), 2)], milestones=[]
        ),
        ValueError,
        "expects all schedulers to belong to the same optimizer",
    ),
    (
        lambda: (lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(o)]))(
            two_groups()
        ),
        ValueError,
        "ChainedScheduler does not support `ReduceLROnPlateau`",
    ),
    (lambda: lr_scheduler.ChainedScheduler([]), ValueError, "expects at least one scheduler"),
]


@pytest.mark.parametrize("make,exc,message", MORE_ERROR_CASES)
def test_more_invalid_scheduler_arguments_are_refused(make, exc, message):
    with pytest.raises(exc, match=message):
        make()
