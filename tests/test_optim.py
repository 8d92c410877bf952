"""retrograd.optim against torch.optim: trajectories, closed-form steps, state_dict, errors."""

from __future__ import annotations

import copy
import inspect
import os
import pickle
import re
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import _blas, optim
from retrograd._backend import flush_subnormal
from retrograd.optim import lr_scheduler

# ---------------------------------------------------------------- the MLP in both libraries

SIZES = [(8, 4), (8,), (3, 8), (3,)]  # W1, b1, W2, b2 of a 4-8-3 network
N_BATCHES, BATCH = 4, 8

#: Elementwise tolerance per dtype. NOTE: float32 elements near zero keep the
#: absolute rounding error of the O(1) numbers they are computed from, and
#: PyTorch fuses multiply-adds (one rounding) where NumPy rounds twice. That error
#: grows with the steps: ~1e-7 a step for RMSprop with momentum on an Intel CPU
#: (MKL's AVX-512 kernels), 4.9e-6 after 40 steps on a weight crossing zero;
#: hence atol about 80 float32 ulps of 1. A wrong update is off by ~lr (1e-3 or
#: more). float64 agrees to ~1e-13 in these runs.
TRAJ_TOL = {
    np.float64: dict(rtol=1e-6, atol=1e-12),
    np.float32: dict(rtol=1e-4, atol=1e-5),
}


def make_problem(dtype, loss: str, seed: int = 0, hidden: int = 8):
    """Initial weights and N_BATCHES minibatches (inputs, targets) as arrays."""
    rng = np.random.default_rng(seed)
    sizes = SIZES if hidden == 8 else [(hidden, 4), (hidden,), (3, hidden), (3,)]
    scale = 0.5 if hidden == 8 else 0.5 * (8 / hidden) ** 0.5  # the same output scale
    weights = [(rng.standard_normal(s) * scale).astype(dtype) for s in sizes]
    X = rng.standard_normal((N_BATCHES * BATCH, 4)).astype(dtype)
    if loss == "mse":
        Y = rng.standard_normal((N_BATCHES * BATCH, 3)).astype(dtype)
    else:  # one-hot class targets for the cross-entropy
        Y = np.eye(3, dtype=dtype)[rng.integers(0, 3, N_BATCHES * BATCH)]
    batches = [(X[i::N_BATCHES], Y[i::N_BATCHES]) for i in range(N_BATCHES)]
    return weights, batches


def rg_loss(params, x, y, act: str, loss: str) -> rg.Tensor:
    W1, b1, W2, b2 = params
    h = x @ W1.T + b1
    h = h.tanh() if act == "tanh" else h.relu()
    out = h @ W2.T + b2
    if loss == "mse":
        return ((out - y) ** 2).mean()
    return -(out.log_softmax(1) * y).sum(1).mean()


def torch_loss(params, x, y, act: str, loss: str) -> torch.Tensor:
    W1, b1, W2, b2 = params
    h = x @ W1.T + b1
    h = torch.tanh(h) if act == "tanh" else torch.relu(h)
    out = h @ W2.T + b2
    if loss == "mse":
        return ((out - y) ** 2).mean()
    return -(torch.log_softmax(out, 1) * y).sum(1).mean()


def rg_params(weights) -> list[rg.Tensor]:
    return [rg.tensor(w.copy(), requires_grad=True) for w in weights]


def torch_params(weights) -> list[torch.Tensor]:
    return [torch.tensor(w.copy(), requires_grad=True) for w in weights]


def as_groups(params, group_opts):
    """The parameters as given to an optimizer: a plain list, or two groups (W1, b1 / W2, b2)."""
    if group_opts is None:
        return list(params)
    return [{"params": params[:2], **group_opts[0]}, {"params": params[2:], **group_opts[1]}]


def rg_train_step(opt, sched, params, batch, act, loss) -> float:
    x, y = rg.tensor(batch[0]), rg.tensor(batch[1])
    opt.zero_grad()
    value = rg_loss(params, x, y, act, loss)
    value.backward()
    opt.step()
    if isinstance(sched, lr_scheduler.ReduceLROnPlateau):
        sched.step(value.item())
    elif sched is not None:
        sched.step()
    return value.item()


def torch_train_step(opt, sched, params, batch, act, loss) -> float:
    x, y = torch.from_numpy(batch[0]), torch.from_numpy(batch[1])
    opt.zero_grad()
    value = torch_loss(params, x, y, act, loss)
    value.backward()
    opt.step()
    if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
        sched.step(value.item())
    elif sched is not None:
        sched.step()
    return value.item()


def assert_same_trajectory(
    name,
    kwargs,
    dtype,
    act="tanh",
    loss="mse",
    group_opts=None,
    sched=None,
    steps=50,
    hidden=8,
    tol=None,
    outliers=0.0,
):
    """Train the MLP in both libraries; every parameter must agree after every step.

    ``outliers``: the fraction of a parameter's entries allowed outside ``tol``
    (where float32 rounding decides a ReLU or the sign of a gradient of ~1e-9).
    Returns the learning rates seen, so that callers can check the schedule moved.
    """
    weights, batches = make_problem(dtype, loss, hidden=hidden)
    ours, theirs = rg_params(weights), torch_params(weights)
    opt = getattr(optim, name)(as_groups(ours, group_opts), **kwargs)
    topt = getattr(torch.optim, name)(as_groups(theirs, group_opts), **kwargs)
    s = ts = None
    if sched is not None:
        sched_name, sched_kwargs = sched
        s = getattr(lr_scheduler, sched_name)(opt, **sched_kwargs)
        ts = getattr(torch.optim.lr_scheduler, sched_name)(topt, **sched_kwargs)
    lrs = []
    for step in range(steps):
        batch = batches[step % N_BATCHES]
        loss_ours = rg_train_step(opt, s, ours, batch, act, loss)
        loss_theirs = torch_train_step(topt, ts, theirs, batch, act, loss)
        np.testing.assert_allclose(loss_ours, loss_theirs, **(tol or TRAJ_TOL[dtype]))
        for i, (p, t) in enumerate(zip(ours, theirs, strict=True)):
            assert p.dtype == dtype, f"step {step}: parameter {i} became {p.dtype}"
            tol_i = tol or TRAJ_TOL[dtype]
            if outliers and np.isclose(p.array, t.detach().numpy(), **tol_i).mean() >= 1 - outliers:
                continue
            np.testing.assert_allclose(
                p.array,
                t.detach().numpy(),
                err_msg=f"{name}{kwargs} step {step} parameter {i}",
                **tol_i,
            )
        got = [g["lr"] for g in opt.param_groups]
        want = [g["lr"] for g in topt.param_groups]
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"lr at step {step}")
        lrs.append(got)
    return lrs


# ---------------------------------------------------------------- trajectory equivalence

OPTIMIZER_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.05, nesterov=True)),
    ("SGD", dict(lr=0.01, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.01, betas=(0.0, 0.9))),  # beta1 = 0: torch.lerp's weight-1 branch
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, amsgrad=True)),
    ("AdamW", dict(lr=0.005, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True)),  # lerp weight >= 0.5
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.002, centered=True, momentum=0.5, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-6)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.005, betas=(0.8, 0.95), eps=1e-6, maximize=True)),
    ("RAdam", dict(lr=0.01)),  # the first 5 steps are momentum SGD (rho_t <= 5)
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9))),  # rectified from step 3 on
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.005, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, eps=1e-3, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.2, rho=0.95, eps=1e-4, maximize=True)),
]


def case_id(case) -> str:
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=[case_id(c) for c in OPTIMIZER_CASES])
def test_trajectory_matches_torch(case, dtype):
    name, kwargs = case
    i = OPTIMIZER_CASES.index(case)
    # alternate the network so that both activations and both losses meet every optimizer
    act, loss = [("tanh", "mse"), ("relu", "ce"), ("tanh", "ce"), ("relu", "mse")][i % 4]
    assert_same_trajectory(name, kwargs, dtype, act=act, loss=loss)


# ---------------------------------------------------------------- the BLAS path

#: Hidden units of the wide network: W1 (4200 x 4) is over _blas.MIN_SIZE and takes
#: the BLAS path, W2 (3 x 4200) is under it and takes the ufunc path.
WIDE = 4200
#: Every optimizer in float64; in float32 only those whose first steps do not blow
#: rounding noise up to full steps. NOTE: a few of the 16,800 float32 gradients of
#: W1 are ~1e-9, all noise, and RMSprop's and Adagrad's first steps (g / |g| times
#: 10 lr and lr) make steps of up to 0.1 from them, which differ from torch's by up
#: to 1e-2 whichever path runs. Their float32 arithmetic is the float64 code's, and
#: SGD and Adam test the float32 BLAS functions.
WIDE_CASES = [
    pytest.param(case, dtype, id=f"{case_id(case)}-{tag}")
    for case in OPTIMIZER_CASES
    for dtype, tag in ((np.float64, "f64"), (np.float32, "f32"))
    if dtype == np.float64 or case[0] in ("SGD", "Adam", "AdamW")
]


def test_numpy_wheels_openblas_is_found():
    # NumPy's own wheels bundle OpenBLAS; where this process runs on one, the fast
    # path must be in use, or every "blas" test below would test the ufuncs twice.
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    if "openblas" not in blas["name"] or sys.platform not in ("linux", "darwin"):
        pytest.skip(f"NumPy is built on {blas['name']}")
    assert _blas.available()


def test_blas_binds_numpys_openblas_even_when_scipys_is_loaded_first():
    # SciPy's wheel loads a second OpenBLAS with its own thread pool; updating
    # through it beside NumPy's products made a two-thread step 25 times slower.
    pytest.importorskip("scipy")
    if not _blas.available():
        pytest.skip("NumPy loaded no OpenBLAS with axpy in this process")
    code = "import scipy.linalg, retrograd._blas as b; print(b.available()); print(b.library)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found, path = out.stdout.splitlines()
    assert found == "True"
    assert path == _blas.library  # the one this process, without SciPy first, found
    assert os.path.basename(os.path.dirname(path)) in ("numpy.libs", ".dylibs"), path


@pytest.mark.parametrize(("case", "dtype"), WIDE_CASES)
def test_wide_trajectory_matches_torch(case, dtype, update_path):
    name, kwargs = case
    path, calls = update_path
    # NOTE: Adam's first step turns those noisy float32 gradients into steps of up to
    # lr (m / sqrt(v) is about g / |g|): they differ from torch's by ~2e-5. A wrong
    # update differs by ~lr = 1e-2 nearly everywhere. Up to 0.1% of the entries may be
    # off by more: where a hidden unit's input is within rounding of zero, float32
    # sums in another order (MKL's AVX-512 products against OpenBLAS's) decide
    # whether the ReLU fires; on an Intel CPU 3 of W1's 16,800 entries were, at step 8.
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else None
    outliers = 1e-3 if dtype == np.float32 else 0.0
    assert_same_trajectory(
        name,
        kwargs,
        dtype,
        act="relu",
        loss="ce",
        steps=12,
        hidden=WIDE,
        tol=tol,
        outliers=outliers,
    )
    done = [blas_fn for blas_fn, ok in calls if ok]
    if path == "blas":
        assert done, "no update went through BLAS"
        beta1 = kwargs.get("betas", (0.9, 0.999))[0]
        if name in ("AdamW", "RMSprop") or (name == "Adam" and beta1 != 0):
            assert "axpby" in done
    else:
        assert not done


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_updates_match_numpy(dtype):
    rng = np.random.default_rng(0)
    n = _blas.MIN_SIZE + 5
    x, y0 = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    if not _blas.available():
        pytest.skip("no BLAS in this process")
    ulp = np.finfo(dtype).eps * 8
    y = y0.copy()
    assert _blas.axpy(-0.3, x, y)
    np.testing.assert_allclose(y, y0 + dtype(-0.3) * x, rtol=ulp, atol=ulp)
    y = y0.copy()
    assert _blas.axpby(0.1, x, 0.9, y)
    np.testing.assert_allclose(y, dtype(0.1) * x + dtype(0.9) * y0, rtol=ulp, atol=ulp)


def test_blas_declines_what_it_cannot_do_and_leaves_y_alone():
    n = _blas.MIN_SIZE
    x, y = np.ones(n, np.float32), np.zeros(n, np.float32)
    declined = [
        (0.5, np.ones(n - 1, np.float32), np.zeros(n - 1, np.float32)),  # small
        (0.0, x, y),  # alpha 0: BLAS would skip the pass, y + 0*inf must be NaN
        (0.5, x.astype(np.float64), y),  # mixed dtypes
        (0.5, np.ones((2, n), np.float32).T, np.zeros((n, 2), np.float32)),  # not C order
        (0.5, np.ones(n, np.int64), np.zeros(n, np.int64)),  # not floating point
        (0.5, x.reshape(2, -1), y),  # shapes differ
    ]
    for alpha, a, b in declined:
        before = b.copy()
        assert not _blas.axpy(alpha, a, b)
        np.testing.assert_array_equal(b, before)
    assert not _blas.axpby(0.5, x, 0.0, y) and not _blas.axpby(0.0, x, 0.5, y)
    x.flags.writeable = False  # read-only arrays take the ufuncs, x or y
    assert not _blas.axpy(0.5, x, y)
    x.flags.writeable, y.flags.writeable = True, False
    assert not _blas.axpy(0.5, x, y) and not _blas.axpby(0.5, x, 0.5, y)
    np.testing.assert_array_equal(y, 0)


def test_sgd_with_lr_zero_and_an_infinite_gradient_is_nan_like_torch():
    # BLAS skips the pass for alpha = 0; torch computes w - 0 * inf = NaN.
    w = np.ones(_blas.MIN_SIZE, np.float32)
    g = np.full_like(w, np.inf)
    p, t = rg.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    p.grad, t.grad = rg.tensor(g), torch.tensor(g)
    with np.errstate(invalid="ignore"):  # 0 * inf, as intended
        optim.SGD([p], lr=0.0).step()
    torch.optim.SGD([t], lr=0.0).step()
    assert np.isnan(p.array).all() and torch.isnan(t).all()


def test_sgd_on_a_parameter_that_is_not_c_contiguous_matches_torch():
    # Such a parameter takes the ufunc path; the update must still be in place and right.
    w = np.random.default_rng(0).standard_normal((_blas.MIN_SIZE, 2)).astype(np.float32)
    p = rg.from_numpy(np.asfortranarray(w)).requires_grad_()
    t = torch.tensor(w, requires_grad=True)
    opt, topt = optim.SGD([p], lr=0.01, momentum=0.9), torch.optim.SGD([t], lr=0.01, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        (p * p * p).sum().backward()
        (t * t * t).sum().backward()
        opt.step()
        topt.step()
    assert np.shares_memory(p.array, w) is False and not p.array.flags.c_contiguous
    np.testing.assert_allclose(p.array, t.detach().numpy(), rtol=1e-6)


def test_blas_can_be_switched_off_by_environment(tmp_path):
    code = "import retrograd._blas as b; print(b.available())"
    env = {**os.environ, "RETROGRAD_BLAS": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


GROUP_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9), [{"lr": 0.2, "momentum": 0.5}, {}]),
    ("Adam", dict(lr=0.01), [{"lr": 0.03, "amsgrad": True}, {"weight_decay": 0.1}]),
    ("AdamW", dict(lr=0.01), [{}, {"lr": 0.002, "weight_decay": 0.5}]),
    ("RMSprop", dict(lr=0.01), [{"centered": True}, {"lr": 0.003, "momentum": 0.9}]),
    ("Adagrad", dict(lr=0.1), [{"lr": 0.3, "lr_decay": 0.1}, {}]),
    ("NAdam", dict(lr=0.01), [{"momentum_decay": 0.02}, {"lr": 0.003, "weight_decay": 0.1}]),
    ("RAdam", dict(lr=0.01), [{"betas": (0.9, 0.9)}, {"decoupled_weight_decay": True}]),
    ("Adamax", dict(lr=0.01), [{"lr": 0.02}, {"weight_decay": 0.2}]),
    ("Adadelta", dict(), [{"rho": 0.5}, {"lr": 0.3, "weight_decay": 0.1}]),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name,kwargs,group_opts", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_with_own_options_match_torch(name, kwargs, group_opts, dtype):
    assert_same_trajectory(name, kwargs, dtype, act="tanh", loss="ce", group_opts=group_opts)


SCHEDULER_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9), ("StepLR", dict(step_size=7, gamma=0.5))),
    ("Adam", dict(lr=0.02), ("MultiStepLR", dict(milestones=[5, 15, 15, 30], gamma=0.3))),
    ("RMSprop", dict(lr=0.01, momentum=0.5), ("ExponentialLR", dict(gamma=0.95))),
    ("AdamW", dict(lr=0.02), ("CosineAnnealingLR", dict(T_max=20, eta_min=1e-3))),
    ("Adagrad", dict(lr=0.2), ("LinearLR", dict(start_factor=0.25, total_iters=10))),
    (
        "SGD",
        dict(lr=0.1, nesterov=True, momentum=0.9),
        ("OneCycleLR", dict(max_lr=0.1, total_steps=50)),
    ),
    (
        "Adam",
        dict(lr=0.01),
        (
            "OneCycleLR",
            dict(max_lr=0.05, total_steps=60, three_phase=True, anneal_strategy="linear"),
        ),
    ),
    (
        "RMSprop",
        dict(lr=0.01, momentum=0.5),
        ("OneCycleLR", dict(max_lr=0.02, epochs=5, steps_per_epoch=10)),
    ),
    (
        "SGD",
        dict(lr=0.2, momentum=0.5),
        ("ReduceLROnPlateau", dict(factor=0.5, patience=1, threshold=0.02, cooldown=1)),
    ),
    (
        "Adam",
        dict(lr=0.02),
        ("ReduceLROnPlateau", dict(factor=0.3, patience=0, threshold=0.01, threshold_mode="abs")),
    ),
]


SCHEDULER_CASES += [
    ("SGD", dict(lr=0.1, momentum=0.5), ("LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + 0.1 * e)))),
    ("NAdam", dict(lr=0.02), ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.97))),
    ("RAdam", dict(lr=0.02), ("ConstantLR", dict(factor=0.25, total_iters=12))),
    ("Adamax", dict(lr=0.02), ("PolynomialLR", dict(total_iters=40, power=2.0))),
    ("Adam", dict(lr=0.02), ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=2))),
    (
        "SGD",
        dict(lr=0.1, momentum=0.9),
        ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=6, step_size_down=4)),
    ),
    (
        "NAdam",
        dict(lr=0.01),
        ("CyclicLR", dict(base_lr=0.001, max_lr=0.02, step_size_up=5, mode="triangular2")),
    ),
    (
        "Adadelta",
        dict(lr=1.0),
        (
            "CyclicLR",
            dict(
                base_lr=0.2, max_lr=2.0, step_size_up=4, mode="exp_range", gamma=0.97,
                cycle_momentum=False,
            ),
        ),
    ),
]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "name,kwargs,sched",
    SCHEDULER_CASES,
    ids=[f"{c[0]}-{c[2][0]}-{i}" for i, c in enumerate(SCHEDULER_CASES)],
)
def test_trajectory_with_scheduler_matches_torch(name, kwargs, sched, dtype):
    group_opts = [{}, {"lr": kwargs["lr"] / 2}]
    lrs = assert_same_trajectory(
        name, kwargs, dtype, act="tanh", loss="ce", group_opts=group_opts, sched=sched
    )
    assert len({tuple(lr) for lr in lrs}) > 1, "the schedule never changed the learning rate"


# ---------------------------------------------------------------- subnormal state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_subnormal_zeroes_the_subnormals_and_nothing_else(dtype):
    info = np.finfo(dtype)
    tiny, sub = info.tiny, info.smallest_subnormal
    subnormal = [sub, -sub, tiny / 2, -tiny * (1 - info.eps)]
    normal = [0.0, tiny, -tiny, 1.0, -2.5, info.max, np.inf, -np.inf, np.nan]
    block = np.full((len(subnormal) + len(normal), 3), 7.0, dtype)
    block[:, 1] = subnormal + normal
    column = block[:, 1]  # a strided view: any layout works
    flush_subnormal(column, np.empty_like(column))
    assert np.all(column[: len(subnormal)] == 0)
    np.testing.assert_array_equal(column[len(subnormal) :], np.array(normal, dtype))
    assert np.all(block[:, [0, 2]] == 7.0)


def _subnormal(a):
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)


SINKING_CASES = [
    ("Adam", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, centered=True)),
]


@pytest.mark.parametrize("flush", [True, False], ids=["flush", "no-flush"])
@pytest.mark.parametrize("case", SINKING_CASES, ids=[case_id(c) for c in SINKING_CASES])
def test_state_sinking_into_subnormals_is_flushed_and_steps_stay_torchs(case, flush, monkeypatch):
    # One gradient, then zeros, as a dead ReLU unit gets: the moments decay by 0.9 a
    # step into subnormal numbers (40-50x slower arithmetic on Intel CPUs) and stay,
    # since 0.9 times the smallest subnormal rounds back to it. The flush sets them
    # to zero; the parameters must not notice (steps of 1e-30 and less).
    name, kwargs = case
    if not flush:
        monkeypatch.setattr(optim.Optimizer, "flush_every", 0)
    first = np.array([1e-17, -1e-30, 0.5, 0.0, 2.0], np.float32)
    w = np.array([0.3, -1e-3, 1.0, 0.25, -2.0], np.float32)
    p, t = rg.tensor(w.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
    opt, topt = getattr(optim, name)([p], **kwargs), getattr(torch.optim, name)([t], **kwargs)
    for step in range(400):
        g = first if step == 0 else np.zeros_like(first)
        p.grad, t.grad = rg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(
            p.array, t.detach().numpy(), rtol=1e-6, atol=0, err_msg=f"step {step}"
        )
    ours = [a for a in opt.state[p].values() if isinstance(a, np.ndarray)]
    theirs = [
        topt.state[t][k].numpy() for k, a in opt.state[p].items() if isinstance(a, np.ndarray)
    ]
    assert any(_subnormal(a).any() for a in theirs), "the case never reached subnormal numbers"
    assert any(_subnormal(a).any() for a in ours) is not flush
    for a, b in zip(ours, theirs, strict=True):
        normal = ~(_subnormal(a) | _subnormal(b))
        np.testing.assert_allclose(a[normal], b[normal], rtol=1e-4, atol=0)


# ---------------------------------------------------------------- closed-form single steps


def one_step(opt_cls, w, g, steps=1, **kwargs):
    """``w`` after ``steps`` updates with the constant gradient ``g``, in float64."""
    p = rg.tensor(np.array(w, dtype=np.float64), requires_grad=True)
    opt = opt_cls([p], **kwargs)
    for _ in range(steps):
        p.grad = rg.tensor(np.array(g, dtype=np.float64))
        opt.step()
    return p.array, opt


def test_sgd_plain_step_is_w_minus_lr_times_grad():
    w, _ = one_step(optim.SGD, [1.0, -2.0, 0.5], [0.5, 0.25, -4.0], lr=0.1)
    np.testing.assert_array_equal(w, [1.0 - 0.1 * 0.5, -2.0 - 0.1 * 0.25, 0.5 + 0.1 * 4.0])


def test_sgd_momentum_dampening_two_steps_by_hand():
    # v1 = g (no dampening on the first step); v2 = 0.9 v1 + (1 - 0.5) g
    w, opt = one_step(optim.SGD, [1.0], [2.0], steps=2, lr=0.1, momentum=0.9, dampening=0.5)
    v1 = 2.0
    v2 = 0.9 * v1 + 0.5 * 2.0
    np.testing.assert_allclose(w, [1.0 - 0.1 * v1 - 0.1 * v2], rtol=1e-15)
    p = opt.param_groups[0]["params"][0]
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [v2], rtol=1e-15)


def test_sgd_nesterov_weight_decay_maximize_one_step_by_hand():
    # g = -grad + wd * w = -2 + 0.1 * 1; v = g; w -= lr * (g + mu * v)
    w, _ = one_step(
        optim.SGD,
        [1.0],
        [2.0],
        lr=0.1,
        momentum=0.9,
        weight_decay=0.1,
        nesterov=True,
        maximize=True,
    )
    g = -2.0 + 0.1 * 1.0
    np.testing.assert_allclose(w, [1.0 - 0.1 * (g + 0.9 * g)], rtol=1e-15)


def test_adam_two_steps_by_hand_with_eps_after_bias_correction():
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-3  # a large eps shows where it is added
    g = np.array([0.5, -3.0])
    w, _ = one_step(optim.Adam, [1.0, 1.0], g, steps=2, lr=lr, betas=(b1, b2), eps=eps)
    expected = np.array([1.0, 1.0])
    m = v = np.zeros(2)
    for t in (1, 2):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - b2**t) + eps
        expected = expected - lr / (1 - b1**t) * m / denom
    np.testing.assert_allclose(w, expected, rtol=1e-14)
    # TensorFlow's placement (eps added to sqrt(v) before the bias correction) differs
    keras = np.array([1.0, 1.0])
    m = v = np.zeros(2)
    for t in (1, 2):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        keras = keras - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    assert np.abs(w - keras).max() > 1e-4


def test_adam_amsgrad_uses_the_largest_second_moment():
    p = rg.tensor(np.array([1.0]), requires_grad=True)
    opt = optim.Adam([p], lr=0.1, betas=(0.0, 0.5), amsgrad=True, eps=0.0)
    p.grad = rg.tensor(np.array([4.0]))
    opt.step()  # v1 = 0.5 * 16 = 8; v_max = 8
    p.grad = rg.tensor(np.array([1.0]))
    before = p.array.copy()
    opt.step()  # v2 = 0.5 * 8 + 0.5 * 1 = 4.5 < v_max = 8; m = 1 (beta1 = 0)
    expected = before - 0.1 * 1.0 / (np.sqrt(8.0) / np.sqrt(1 - 0.5**2))
    np.testing.assert_allclose(p.array, expected, rtol=1e-15)
    assert opt.state[p]["max_exp_avg_sq"][0] == 8.0


def test_adam_beta1_zero_keeps_the_first_moment_exactly_the_gradient():
    # torch.lerp_ switches formulas at weight 0.5 so that weight 1 gives `end` exactly;
    # start + 1 * (end - start) would be off by a rounding error.
    rng = np.random.default_rng(3)
    p = rg.tensor(rng.standard_normal(1000), requires_grad=True)
    tp = torch.tensor(p.array.copy(), requires_grad=True)
    opt = optim.Adam([p], betas=(0.0, 0.9))
    topt = torch.optim.Adam([tp], betas=(0.0, 0.9))
    for _ in range(2):
        g = rng.standard_normal(1000) * 1e3
        p.grad, tp.grad = rg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_array_equal(opt.state[p]["exp_avg"], g)
        np.testing.assert_array_equal(topt.state[tp]["exp_avg"].numpy(), g)


def test_adamw_decays_the_weights_not_the_gradient():
    lr, wd = 0.1, 0.5
    w, opt = one_step(optim.AdamW, [2.0], [0.3], lr=lr, weight_decay=wd, eps=0.0)
    # step 1: w *= 1 - lr * wd, then the bias-corrected Adam step is lr * sign(g)
    np.testing.assert_allclose(w, [2.0 * (1 - lr * wd) - lr], rtol=1e-15)
    p = opt.param_groups[0]["params"][0]
    np.testing.assert_allclose(opt.state[p]["exp_avg"], [0.1 * 0.3], rtol=1e-15)


def test_rmsprop_one_step_by_hand_plain_centered_momentum():
    g, lr, alpha, eps = 2.0, 0.01, 0.9, 1e-8
    w, _ = one_step(optim.RMSprop, [1.0], [g], lr=lr, alpha=alpha, eps=eps)
    s = (1 - alpha) * g * g
    np.testing.assert_allclose(w, [1.0 - lr * g / (np.sqrt(s) + eps)], rtol=1e-15)
    w, _ = one_step(optim.RMSprop, [1.0], [g], lr=lr, alpha=alpha, eps=eps, centered=True)
    a = (1 - alpha) * g
    np.testing.assert_allclose(w, [1.0 - lr * g / (np.sqrt(s - a * a) + eps)], rtol=1e-14)
    w, _ = one_step(optim.RMSprop, [1.0], [g], steps=2, lr=lr, alpha=alpha, momentum=0.5)
    s1, s2 = s, alpha * s + (1 - alpha) * g * g
    b1 = g / (np.sqrt(s1) + eps)
    b2 = 0.5 * b1 + g / (np.sqrt(s2) + eps)
    np.testing.assert_allclose(w, [1.0 - lr * b1 - lr * b2], rtol=1e-14)


def test_adagrad_three_steps_by_hand_with_lr_decay_and_initial_value():
    g, lr, decay, init, eps = 0.5, 0.1, 0.2, 0.3, 1e-10
    w, _ = one_step(
        optim.Adagrad,
        [1.0],
        [g],
        steps=3,
        lr=lr,
        lr_decay=decay,
        initial_accumulator_value=init,
        eps=eps,
    )
    expected, s = 1.0, init
    for t in (1, 2, 3):
        s += g * g
        expected -= lr / (1 + (t - 1) * decay) * g / (np.sqrt(s) + eps)
    np.testing.assert_allclose(w, [expected], rtol=1e-15)


def test_nadam_two_steps_by_hand_with_the_momentum_schedule():
    b1, b2, lr, eps, psi = 0.9, 0.999, 0.01, 1e-8, 4e-3
    g = np.array([0.5, -3.0])
    w, opt = one_step(optim.NAdam, [1.0, 1.0], g, steps=2, lr=lr, eps=eps)
    expected, m, v, product = np.array([1.0, 1.0]), np.zeros(2), np.zeros(2), 1.0
    for t in (1, 2):
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        product = float(np.float32(product) * np.float32(mu))  # torch keeps it in float32
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        r = np.sqrt(v / (1 - b2**t)) + eps
        expected = expected - lr * (1 - mu) / (1 - product) * g / r
        expected = expected - lr * mu_next / (1 - product * mu_next) * m / r
    np.testing.assert_allclose(w, expected, rtol=1e-14)
    p = opt.param_groups[0]["params"][0]
    assert opt.state[p]["mu_product"] == product


def test_radam_is_momentum_sgd_until_the_variance_is_tractable():
    # with beta2 = 0.999, rho_t = 1, 2, 3, 4, 5 for t = 1..5: no adaptive step yet
    g, lr, b1 = np.array([0.5, -3.0]), 0.01, 0.9
    w, _ = one_step(optim.RAdam, [1.0, 1.0], g, steps=5, lr=lr)
    np.testing.assert_allclose(w, 1.0 - 5 * lr * g, rtol=1e-13)  # m_hat = g for a constant g
    # from t = 6 on (rho_6 > 5) the step is rectified and adaptive: about lr * sign(g) * rect
    w6, _ = one_step(optim.RAdam, [1.0, 1.0], g, steps=6, lr=lr)
    b2, t = 0.999, 6
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    rect = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    m_hat = g  # (1 - b1^t) / (1 - b1^t)
    adaptive = np.sqrt(1 - b2**t) / (np.sqrt((1 - b2**t) * g * g) + 1e-8)
    np.testing.assert_allclose(w6, w - lr * m_hat * adaptive * rect, rtol=1e-12)
    assert b1 == 0.9


def test_adamax_one_step_by_hand_eps_inside_the_maximum():
    g, lr, eps = np.array([0.5, -3.0, 0.0]), 0.01, 1e-3
    w, opt = one_step(optim.Adamax, [1.0, 1.0, 1.0], g, lr=lr, eps=eps)
    # m = 0.1 g; u = max(0, |g| + eps); w -= lr / (1 - 0.9) * m / u
    np.testing.assert_allclose(w, 1.0 - lr * g / (np.abs(g) + eps), rtol=1e-15)
    p = opt.param_groups[0]["params"][0]
    np.testing.assert_allclose(opt.state[p]["exp_inf"], np.abs(g) + eps, rtol=1e-15)


def test_adadelta_two_steps_by_hand():
    g, lr, rho, eps = 2.0, 1.0, 0.9, 1e-6
    w, _ = one_step(optim.Adadelta, [1.0], [g], steps=2)
    expected, s, a = 1.0, 0.0, 0.0
    for _ in range(2):
        s = rho * s + (1 - rho) * g * g
        delta = np.sqrt(a + eps) / np.sqrt(s + eps) * g
        a = rho * a + (1 - rho) * delta * delta
        expected -= lr * delta
    np.testing.assert_allclose(w, [expected], rtol=1e-15)


# ---------------------------------------------------------------- LBFGS


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def regression_problem(dtype):
    """Least squares for a linear model with 5 inputs and a bias, on 40 noisy rows.

    NOTE: convex on purpose: on a small tanh network the two libraries' last-bit
    differences grew tenfold an iteration (ill-conditioned curvature pairs), to
    1e-6 after 120 iterations, although each iteration is PyTorch's.
    """
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 5)).astype(dtype)
    y = (X @ rng.standard_normal((5, 1)) + 0.3 + 0.1 * rng.standard_normal((40, 1))).astype(dtype)
    weights = [np.zeros((5, 1), dtype), np.zeros(1, dtype)]

    def loss(lib, params, X, y):
        w, b = params
        return ((X @ w + b - y) ** 2).mean()

    return weights, (X, y), loss


LBFGS_CASES = [
    ("regression", dict()),
    ("regression", dict(line_search_fn="strong_wolfe")),
    ("regression", dict(lr=0.5, history_size=3, max_iter=7)),
    ("regression", dict(line_search_fn="strong_wolfe", history_size=2, max_iter=4, max_eval=6)),
    ("rosenbrock", dict(lr=0.05, max_iter=5)),
    ("rosenbrock", dict(line_search_fn="strong_wolfe", history_size=5, max_iter=10)),
]


def lbfgs_run(problem, kwargs, dtype, steps, lib):
    """``[(loss, parameters)]`` for each of ``steps`` LBFGS steps in ``lib`` (rg or torch).

    Also returns the optimizer and the loss function of the current parameters.
    """
    make = rg.tensor if lib is rg else torch.tensor
    if problem == "rosenbrock":
        params = [make(np.array([-1.5, 2.0], dtype=dtype), requires_grad=True)]

        def value():
            return rosenbrock(params[0])
    else:
        weights, (X, y), loss = regression_problem(dtype)
        params = [make(w.copy(), requires_grad=True) for w in weights]
        X, y = make(X), make(y)

        def value():
            return loss(lib, params, X, y)

    opt = (optim.LBFGS if lib is rg else torch.optim.LBFGS)(params, **kwargs)

    def closure():
        opt.zero_grad()
        out = value()
        out.backward()
        return out

    history = []
    for _ in range(steps):
        loss_value = opt.step(closure)
        history.append((loss_value.item(), [np.array(p.detach().numpy()) for p in params]))
    return history, opt, value


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "problem,kwargs", LBFGS_CASES, ids=[f"{p}-{case_id(('', k))}" for p, k in LBFGS_CASES]
)
def test_lbfgs_trajectory_matches_torch(problem, kwargs, dtype):
    # NOTE: in float32 only the first step (up to max_iter iterations) is compared: on
    # Rosenbrock the line search's choices, and on the converged regression the stopping
    # tests (a loss change under 1e-9), rest on the last bit, where the two libraries'
    # gradients and dot products round differently (fused multiply-adds, summation order).
    steps = 50 if dtype == np.float64 else 1
    ours, opt, value = lbfgs_run(problem, kwargs, dtype, steps, rg)
    theirs, topt, _ = lbfgs_run(problem, kwargs, dtype, steps, torch)
    tol = TRAJ_TOL[dtype]
    for step, ((loss_ours, ps), (loss_theirs, ts)) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(loss_ours, loss_theirs, **tol, err_msg=f"loss, step {step}")
        for p, t in zip(ps, ts, strict=True):
            assert p.dtype == dtype
            np.testing.assert_allclose(p, t, **tol, err_msg=f"step {step}")
    p, t = opt.param_groups[0]["params"][0], topt.param_groups[0]["params"][0]
    if dtype == np.float64:
        assert opt.state[p]["func_evals"] == topt.state[t]["func_evals"]
        assert opt.state[p]["n_iter"] == topt.state[t]["n_iter"]
    assert value().item() < ours[0][0] / (2 if steps > 1 else 1), "LBFGS did not reduce the loss"


def test_lbfgs_with_strong_wolfe_solves_rosenbrock():
    history, _, _ = lbfgs_run(
        "rosenbrock", dict(line_search_fn="strong_wolfe"), np.float64, steps=6, lib=rg
    )
    np.testing.assert_allclose(history[-1][1][0], [1.0, 1.0], atol=1e-5)


def test_lbfgs_state_dict_resume_is_bit_identical():
    kwargs = dict(line_search_fn="strong_wolfe", history_size=3, max_iter=2)
    straight, _, _ = lbfgs_run("regression", kwargs, np.float64, 6, rg)

    weights, (X, y), loss = regression_problem(np.float64)
    params = [rg.tensor(w.copy(), requires_grad=True) for w in weights]
    X, y = rg.tensor(X), rg.tensor(y)

    def closure_for(opt, params):
        def closure():
            opt.zero_grad()
            out = loss(rg, params, X, y)
            out.backward()
            return out

        return closure

    opt = optim.LBFGS(params, **kwargs)
    for _ in range(3):
        opt.step(closure_for(opt, params))
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    assert set(saved["state"][0]) >= {"d", "t", "old_dirs", "old_stps", "ro", "prev_flat_grad"}
    resumed = [rg.tensor(p.array.copy(), requires_grad=True) for p in params]
    opt2 = optim.LBFGS(resumed, **kwargs)
    opt2.load_state_dict(saved)
    for _ in range(3):
        opt2.step(closure_for(opt2, resumed))
    for a, b in zip(resumed, straight[-1][1], strict=True):
        np.testing.assert_array_equal(a.array, b)
    assert not np.array_equal(straight[-1][1][0], straight[-2][1][0]), "the last steps moved"


def test_lbfgs_returns_early_at_a_stationary_point_like_torch():
    p = rg.tensor(np.zeros(3), requires_grad=True)
    opt = optim.LBFGS([p])
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        out = (p * p).sum()
        out.backward()
        return out

    assert opt.step(closure).item() == 0.0
    assert len(calls) == 1 and opt.state[p]["func_evals"] == 1


def test_lbfgs_refuses_a_step_without_closure_and_param_groups():
    p = leaf()
    with pytest.raises(ValueError, match="needs a closure"):
        optim.LBFGS([p]).step()
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [leaf()]}])
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([p]).add_param_group({"params": [leaf()]})
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        torch.optim.LBFGS([{"params": [torch.zeros(1)]}, {"params": [torch.zeros(1)]}])


# ---------------------------------------------------------------- options retrograd lacks


#: Each optimizer's options of PyTorch's faster or differentiable paths.
TORCH_ONLY_OPTIONS = {
    "SGD": ["foreach", "differentiable", "fused"],
    "Adam": ["foreach", "capturable", "differentiable", "fused"],
    "AdamW": ["foreach", "capturable", "differentiable", "fused"],
    "RMSprop": ["capturable", "foreach", "differentiable"],
    "Adagrad": ["foreach", "differentiable", "fused"],
    "NAdam": ["foreach", "capturable", "differentiable"],
    "RAdam": ["foreach", "capturable", "differentiable"],
    "Adamax": ["foreach", "capturable", "differentiable"],
    "Adadelta": ["foreach", "capturable", "differentiable"],
}
TORCH_ONLY_CASES = [(name, opt) for name, opts in TORCH_ONLY_OPTIONS.items() for opt in opts]


@pytest.mark.parametrize(
    "name,option", TORCH_ONLY_CASES, ids=[f"{n}-{o}" for n, o in TORCH_ONLY_CASES]
)
def test_unsupported_torch_options_raise_naming_the_option(name, option):
    with pytest.raises(ValueError, match=rf"{name}\({option}=True\) is not supported"):
        getattr(optim, name)([leaf()], **{option: True})
    assert option in inspect.signature(getattr(torch.optim, name)).parameters


@pytest.mark.parametrize("name", list(TORCH_ONLY_OPTIONS))
def test_torch_options_at_their_default_behaviour_are_accepted(name):
    for off in (None, False):
        kwargs = {o: off if o in ("foreach", "fused") else False for o in TORCH_ONLY_OPTIONS[name]}
        p = leaf()
        opt = getattr(optim, name)([p], **kwargs)
        p.grad = rg.ones(2)
        opt.step()
        assert not any(o in opt.param_groups[0] for o in kwargs)  # not stored: nothing to save


# ---------------------------------------------------------------- state_dict and resume

RESUME_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), ("StepLR", dict(step_size=6, gamma=0.7))),
    ("Adam", dict(lr=0.01, amsgrad=True), ("CosineAnnealingLR", dict(T_max=15))),
    ("AdamW", dict(lr=0.01), ("OneCycleLR", dict(max_lr=0.03, total_steps=40))),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5), ("ExponentialLR", dict(gamma=0.97))),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01), ("LinearLR", dict(total_iters=25))),
    ("SGD", dict(lr=0.1, momentum=0.5), ("ReduceLROnPlateau", dict(patience=0, threshold=0.05))),
    ("Adam", dict(lr=0.01), ("MultiStepLR", dict(milestones=[10, 25]))),
    ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1), ("ConstantLR", {})),
    ("RAdam", dict(lr=0.01), ("PolynomialLR", dict(total_iters=30))),
    ("Adamax", dict(lr=0.01), ("CosineAnnealingWarmRestarts", dict(T_0=6, T_mult=2))),
    ("Adadelta", dict(lr=1.0), ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.98))),
    ("SGD", dict(lr=0.1, momentum=0.9), ("CyclicLR", dict(base_lr=0.01, max_lr=0.1))),
    ("NAdam", dict(lr=0.01), ("CyclicLR", dict(base_lr=0.001, max_lr=0.01, step_size_up=7))),
]


def build(name, kwargs, sched, params):
    opt = getattr(optim, name)(as_groups(params, [{}, {"lr": kwargs["lr"] / 3}]), **kwargs)
    s = getattr(lr_scheduler, sched[0])(opt, **sched[1])
    return opt, s


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "name,kwargs,sched", RESUME_CASES, ids=[f"{c[0]}-{c[2][0]}" for c in RESUME_CASES]
)
def test_state_dict_resume_is_bit_identical(name, kwargs, sched, dtype):
    weights, batches = make_problem(dtype, "ce")

    def run(opt, s, params, start, stop):
        for step in range(start, stop):
            rg_train_step(opt, s, params, batches[step % N_BATCHES], "tanh", "ce")

    straight = rg_params(weights)
    opt, s = build(name, kwargs, sched, straight)
    run(opt, s, straight, 0, 40)

    first = rg_params(weights)
    opt1, s1 = build(name, kwargs, sched, first)
    run(opt1, s1, first, 0, 20)
    saved = copy.deepcopy({"optimizer": opt1.state_dict(), "scheduler": s1.state_dict()})
    saved = pickle.loads(pickle.dumps(saved))  # a checkpoint on disk survives too
    del opt1, s1

    resumed = [rg.tensor(p.array.copy(), requires_grad=True) for p in first]  # fresh tensors
    opt2, s2 = build(name, kwargs, sched, resumed)
    opt2.load_state_dict(saved["optimizer"])
    s2.load_state_dict(saved["scheduler"])
    run(opt2, s2, resumed, 20, 40)

    for a, b in zip(resumed, straight, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a.array, b.array)
    assert s2.get_last_lr() == s.get_last_lr()
    for ours, ref in zip(opt2.state.values(), opt.state.values(), strict=True):
        assert ours.keys() == ref.keys()
        for k in ours:
            np.testing.assert_array_equal(ours[k], ref[k])


def trained_adam(steps=3):
    params = [
        rg.tensor(np.arange(3.0), requires_grad=True),
        rg.tensor(np.ones((2, 2)), requires_grad=True),
    ]
    opt = optim.Adam(params, lr=0.1, amsgrad=True)
    for _ in range(steps):
        for p in params:
            p.grad = rg.tensor(np.full(p.shape, 0.5))
        opt.step()
    return opt, params


def test_state_dict_layout_is_pytorchs():
    opt, params = trained_adam()
    sd = opt.state_dict()
    tparams = [torch.tensor(p.array.copy(), requires_grad=True) for p in params]
    topt = torch.optim.Adam(tparams, lr=0.1, amsgrad=True)
    for p in tparams:
        p.grad = torch.full(p.shape, 0.5, dtype=p.dtype)
    topt.step()
    tsd = topt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert list(sd["state"]) == list(tsd["state"]) == [0, 1]
    assert set(sd["state"][0]) == set(tsd["state"][0])
    assert sd["state"][0]["step"] == 3
    assert sd["param_groups"][0]["params"] == tsd["param_groups"][0]["params"] == [0, 1]
    ours = {k: v for k, v in sd["param_groups"][0].items()}
    theirs = {k: tsd["param_groups"][0][k] for k in ours}  # ours is a subset of torch's keys
    assert ours == theirs


def test_state_dict_shares_no_array_with_the_optimizer():
    opt, params = trained_adam()
    sd = opt.state_dict()
    for i, p in enumerate(params):
        for k, arr in opt.state[p].items():
            if isinstance(arr, np.ndarray):
                assert not np.shares_memory(arr, sd["state"][i][k]), k
    before = {k: v.copy() for k, v in opt.state[params[0]].items() if isinstance(v, np.ndarray)}
    sd["state"][0]["exp_avg"][...] = 123.0
    sd["param_groups"][0]["betas"] = (0.1, 0.2)
    for k, v in before.items():
        np.testing.assert_array_equal(opt.state[params[0]][k], v)
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)


def test_load_state_dict_copies_and_casts_to_the_parameter_dtype():
    opt, _ = trained_adam()
    sd = opt.state_dict()
    p32 = [
        rg.tensor(np.zeros(3, np.float32), requires_grad=True),
        rg.zeros(2, 2, requires_grad=True),
    ]
    fresh = optim.Adam(p32, lr=0.5)
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["lr"] == 0.1 and fresh.param_groups[0]["params"] == p32
    assert fresh.state[p32[0]]["exp_avg"].dtype == np.float32
    sd["state"][0]["exp_avg_sq"][...] = -1.0
    assert (fresh.state[p32[0]]["exp_avg_sq"] > 0).all()


def test_load_state_dict_refuses_a_different_layout():
    opt, params = trained_adam()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.Adam(params[:1]).load_state_dict(sd)
    other = [rg.zeros(5, requires_grad=True), rg.zeros(2, 2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"'exp_avg' of shape \(3,\) for parameter 0"):
        optim.Adam(other).load_state_dict(sd)


def test_adamw_stays_decoupled_after_loading_an_adam_state():
    opt, params = trained_adam()
    w = optim.AdamW(params)
    w.load_state_dict(opt.state_dict())
    assert w.param_groups[0]["decoupled_weight_decay"] is True


def test_adagrad_state_exists_from_construction_like_torch():
    p = rg.zeros(3, requires_grad=True)
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    tp = torch.zeros(3, requires_grad=True)
    topt = torch.optim.Adagrad([tp], initial_accumulator_value=0.25)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert list(sd["state"]) == list(tsd["state"]) == [0]
    assert sd["state"][0]["step"] == 0
    np.testing.assert_array_equal(sd["state"][0]["sum"], tsd["state"][0]["sum"].numpy())


# ---------------------------------------------------------------- step, zero_grad, groups


def test_zero_grad_sets_none_by_default_or_fills_zeros():
    p = rg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and (grad.array == 0).all()
    opt.zero_grad()
    assert p.grad is None


def test_parameters_without_gradient_are_skipped_and_get_no_state():
    a, b = rg.tensor([1.0], requires_grad=True), rg.tensor([2.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * 3).sum().backward()
    opt.step()
    assert b.array[0] == 2.0 and b not in opt.state and opt.state[a]["step"] == 1


def test_step_runs_the_closure_with_gradients_enabled_and_returns_its_loss():
    p = rg.tensor([3.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with rg.no_grad():
        loss = opt.step(closure)
    assert calls == [9.0] and loss.item() == 9.0
    assert p.array[0] == 3.0 - 0.25 * 6.0


def test_frozen_parameter_in_the_list_matches_torch():
    weights, batches = make_problem(np.float64, "mse")
    ours, theirs = rg_params(weights), torch_params(weights)
    ours[1].requires_grad_(False)
    theirs[1].requires_grad_(False)
    opt = optim.Adam(ours, lr=0.01)
    topt = torch.optim.Adam(theirs, lr=0.01)
    for step in range(10):
        rg_train_step(opt, None, ours, batches[step % N_BATCHES], "tanh", "mse")
        torch_train_step(topt, None, theirs, batches[step % N_BATCHES], "tanh", "mse")
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.array, t.detach().numpy(), rtol=1e-10)
    np.testing.assert_array_equal(ours[1].array, weights[1])


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "Adam"])
def test_add_param_group_later_matches_torch(name):
    weights, batches = make_problem(np.float64, "mse")
    ours, theirs = rg_params(weights), torch_params(weights)
    opt = getattr(optim, name)(ours[:2], lr=0.05)
    topt = getattr(torch.optim, name)(theirs[:2], lr=0.05)
    for step in range(12):
        if step == 4:
            opt.add_param_group({"params": ours[2:], "lr": 0.01})
            topt.add_param_group({"params": theirs[2:], "lr": 0.01})
        rg_train_step(opt, None, ours, batches[step % N_BATCHES], "tanh", "mse")
        torch_train_step(topt, None, theirs, batches[step % N_BATCHES], "tanh", "mse")
        for p, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.array, t.detach().numpy(), rtol=1e-10)
    assert opt.param_groups[1]["lr"] == 0.01


def test_state_is_keyed_by_the_parameter_and_kept_in_its_dtype():
    p = rg.randn(4, 3, requires_grad=True)  # float32
    opt = optim.RMSprop([p], momentum=0.9, centered=True)
    (p * p).sum().backward()
    opt.step()
    assert list(opt.state) == [p]
    assert set(opt.state[p]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}
    assert p.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
        lambda ps: optim.Adam(ps, amsgrad=True, weight_decay=0.1, maximize=True),
        lambda ps: optim.AdamW(ps),
        lambda ps: optim.RMSprop(ps, centered=True, momentum=0.9, weight_decay=0.1),
        lambda ps: optim.Adagrad(ps, weight_decay=0.1, maximize=True),
        lambda ps: optim.NAdam(ps, weight_decay=0.1, maximize=True),
        lambda ps: optim.RAdam(ps, betas=(0.9, 0.9), weight_decay=0.1),
        lambda ps: optim.Adamax(ps, weight_decay=0.1),
        lambda ps: optim.Adadelta(ps, weight_decay=0.1),
    ],
    ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax", "Adadelta"],
)
def test_a_step_allocates_nothing_parameter_sized_after_the_first(make):
    big = rg.tensor(np.random.default_rng(0).standard_normal(200_000), requires_grad=True)
    opt = make([big])
    big.grad = rg.tensor(np.ones(200_000))
    opt.step()  # creates the state and the scratch arrays
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < big.array.nbytes / 4, f"a step allocated {peak} bytes"


def test_base_class_update_must_be_overridden():
    class Incomplete(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

    p = rg.zeros(2, requires_grad=True)
    opt = Incomplete([p])
    p.grad = rg.ones(2)
    with pytest.raises(NotImplementedError, match="Incomplete must implement _update"):
        opt.step()


def test_step_refuses_a_gradient_of_the_wrong_shape():
    p = rg.zeros(2, requires_grad=True)
    opt = optim.SGD([p])
    p.grad = rg.zeros(3)
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*\.grad has shape \(3,\)"):
        opt.step()


def test_registry_names_every_optimizer():
    assert optim.OPTIMIZERS == {
        "sgd": optim.SGD,
        "adam": optim.Adam,
        "adamw": optim.AdamW,
        "rmsprop": optim.RMSprop,
        "adagrad": optim.Adagrad,
        "nadam": optim.NAdam,
        "radam": optim.RAdam,
        "adamax": optim.Adamax,
        "adadelta": optim.Adadelta,
    }
    assert optim.get_optimizer("AdamW") is optim.AdamW
    assert optim.get_optimizer("NAdam") is optim.NAdam
    # LBFGS needs a closure, which the training loop behind the CLI does not pass
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'; expected one of 'sgd'"):
        optim.get_optimizer("lbfgs")


def test_repr_lists_each_group_like_torch():
    opt = optim.SGD([rg.zeros(1, requires_grad=True)], lr=0.5)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.5\n" in text


# ---------------------------------------------------------------- validation


def leaf():
    return rg.zeros(2, requires_grad=True)


VALIDATION_CASES = [
    (lambda: optim.SGD([leaf()], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda: optim.Adam([leaf()], lr=float("nan")), ValueError, "Invalid learning rate: nan"),
    (lambda: optim.SGD([leaf()], lr="0.1"), TypeError, "lr must be a real number"),
    (lambda: optim.SGD([leaf()], momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (lambda: optim.SGD([leaf()], weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (
        lambda: optim.SGD([leaf()], nesterov=True),
        ValueError,
        "Nesterov momentum requires a momentum and zero dampening",
    ),
    (
        lambda: optim.SGD([leaf()], momentum=0.9, dampening=0.1, nesterov=True),
        ValueError,
        "Nesterov momentum requires a momentum and zero dampening",
    ),
    (lambda: optim.Adam([leaf()], eps=-1e-8), ValueError, "Invalid epsilon value: -1e-08"),
    (
        lambda: optim.Adam([leaf()], betas=(1.0, 0.999)),
        ValueError,
        "Invalid beta parameter at index 0: 1.0",
    ),
    (
        lambda: optim.AdamW([leaf()], betas=(0.9, -0.1)),
        ValueError,
        "Invalid beta parameter at index 1: -0.1",
    ),
    (lambda: optim.Adam([leaf()], betas=(0.9,)), ValueError, "betas must be a pair"),
    (lambda: optim.AdamW([leaf()], weight_decay=-0.01), ValueError, "Invalid weight_decay value"),
    (lambda: optim.RMSprop([leaf()], alpha=-0.9), ValueError, "Invalid alpha value: -0.9"),
    (lambda: optim.RMSprop([leaf()], momentum=-1), ValueError, "Invalid momentum value: -1"),
    (lambda: optim.Adagrad([leaf()], lr_decay=-1), ValueError, "Invalid lr_decay value: -1"),
    (
        lambda: optim.Adagrad([leaf()], initial_accumulator_value=-1),
        ValueError,
        "Invalid initial_accumulator_value value: -1",
    ),
    (lambda: optim.NAdam([leaf()], momentum_decay=-1), ValueError, "Invalid momentum_decay"),
    (lambda: optim.NAdam([leaf()], betas=(0.9, 1.0)), ValueError, "Invalid beta parameter at"),
    (lambda: optim.RAdam([leaf()], eps=-1), ValueError, "Invalid epsilon value: -1"),
    (lambda: optim.Adamax([leaf()], lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda: optim.Adamax([leaf()], weight_decay=-1), ValueError, "Invalid weight_decay"),
    (lambda: optim.Adadelta([leaf()], rho=1.5), ValueError, "Invalid rho value: 1.5"),
    (lambda: optim.Adadelta([leaf()], eps=-1), ValueError, "Invalid epsilon value: -1"),
    (lambda: optim.LBFGS([leaf()], lr=-1), ValueError, "Invalid learning rate: -1"),
    (
        lambda: optim.LBFGS([leaf()], line_search_fn="backtracking"),
        ValueError,
        "line_search_fn must be None or 'strong_wolfe', got 'backtracking'",
    ),
    (lambda: optim.LBFGS([leaf()], max_iter=0), ValueError, "max_iter must be an int >= 1"),
    (lambda: optim.LBFGS([leaf()], history_size=2.5), ValueError, "history_size must be an int"),
    (lambda: optim.SGD([]), ValueError, "optimizer got an empty parameter list"),
    (lambda: optim.SGD(leaf()), TypeError, "should be an iterable of Tensors or dicts"),
    (lambda: optim.SGD({leaf()}), TypeError, "ordered collections"),
    (lambda: optim.SGD([np.zeros(2)]), TypeError, "can only optimize Tensors, but parameter 0"),
    (
        lambda: optim.SGD([rg.tensor([1, 2])]),
        TypeError,
        "floating dtype, but parameter 0 of param group 0 has dtype int64",
    ),
    (lambda: optim.SGD([leaf() * 2]), ValueError, "can't optimize a non-leaf Tensor"),
    (lambda: optim.SGD([{"lr": 0.1}]), ValueError, "must have a 'params' entry"),
    (
        lambda: optim.SGD([{"params": [leaf()], "lr": -1.0}], lr=0.1),
        ValueError,
        re.escape("Invalid learning rate: -1.0 (param group 0)"),
    ),
    (
        lambda: optim.Adam([{"params": [leaf()]}, {"params": [leaf()], "betas": (0.9, 1.0)}]),
        ValueError,
        re.escape("Invalid beta parameter at index 1: 1.0 (param group 1)"),
    ),
]


@pytest.mark.parametrize("make,exc,message", VALIDATION_CASES)
def test_invalid_options_are_refused_at_construction(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


def test_the_same_parameter_twice_is_refused():
    p = leaf()
    with pytest.raises(
        ValueError, match=r"same parameter twice in param group 0 \(parameters 0 and 2\)"
    ):
        optim.SGD([p, leaf(), p])
    with pytest.raises(ValueError, match="appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [leaf(), p]}])
    opt = optim.SGD([p])
    with pytest.raises(ValueError, match="appear in more than one parameter group"):
        opt.add_param_group({"params": p})


def test_torch_refuses_the_same_options():
    """The cases above that PyTorch also refuses raise there too (same exception type)."""
    t = torch.zeros(2, requires_grad=True)
    for make in [
        lambda: torch.optim.SGD([t], lr=-0.1),
        lambda: torch.optim.SGD([t], nesterov=True),
        lambda: torch.optim.Adam([t], betas=(1.0, 0.999)),
        lambda: torch.optim.RMSprop([t], alpha=-0.9),
        lambda: torch.optim.Adagrad([t], lr_decay=-1),
        lambda: torch.optim.SGD([]),
        lambda: torch.optim.NAdam([t], momentum_decay=-1),
        lambda: torch.optim.RAdam([t], eps=-1),
        lambda: torch.optim.Adamax([t], lr=-1),
        lambda: torch.optim.Adadelta([t], rho=1.5),
        lambda: torch.optim.LBFGS([t], lr=-1),
    ]:
        with pytest.raises(ValueError):
            make()


def test_no_warning_on_a_normal_run():
    weights, batches = make_problem(np.float32, "mse")
    params = rg_params(weights)
    opt = optim.Adam(params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for step in range(3):
            rg_train_step(opt, None, params, batches[step], "tanh", "mse")


def test_the_example_in_docs_runs_and_fits_the_line(capsys):
    text = (Path(__file__).resolve().parent.parent / "docs" / "optim.md").read_text()
    example = re.findall(r"```python\n(.+?)\n```", text, re.S)[0]
    namespace: dict = {}
    exec(compile(example, "docs/optim.md", "exec"), namespace)
    assert namespace["loss"].item() < 1e-4
    np.testing.assert_allclose(namespace["w"].array.ravel(), [1.0, -2.0, 0.5], atol=1e-2)
    assert capsys.readouterr().out


# ---------------------------------------------------------------- update helpers


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [7, _blas.MIN_SIZE + 3])  # the ufunc path, and BLAS where found
def test_update_helpers_compute_their_formula(dtype, size):
    from retrograd.optim import updates

    rng = np.random.default_rng(0)
    y0, x = rng.standard_normal((2, size)).astype(dtype)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-13, "atol": 1e-14}
    scratch = np.empty_like(y0)
    y = y0.copy()
    updates.add_(y, -0.3, x, scratch)
    np.testing.assert_allclose(y, y0 - 0.3 * x, **tol)
    for alpha in (1.0, 0.25):
        y = y0.copy()
        updates.mul_add_(y, 0.9, alpha, x, scratch)
        np.testing.assert_allclose(y, 0.9 * y0 + alpha * x, **tol)
    y = y0.copy()
    updates.moving_average_(y, x, 0.9)
    np.testing.assert_allclose(y, 0.9 * y0 + 0.1 * x, **tol)
    for weight in (0.1, 0.9):
        y = y0.copy()
        updates.lerp_(y, x, weight, scratch)
        np.testing.assert_allclose(y, y0 + weight * (x - y0), **tol)
    m, v = y0.copy(), np.abs(y0)
    updates.moments_(m, v, x, 0.9, 0.99, scratch)
    np.testing.assert_allclose(m, 0.9 * y0 + 0.1 * x, **tol)
    np.testing.assert_allclose(v, 0.99 * np.abs(y0) + 0.01 * x * x, **tol)
    # x may be the scratch array itself (the optimizers pass their last temporary)
    y, s = y0.copy(), x.copy()
    updates.add_(y, 2.0, s, s)
    np.testing.assert_allclose(y, y0 + 2.0 * x, **tol)
    y, s = y0.copy(), x.copy()
    updates.mul_add_(y, 0.5, 0.25, s, s)
    np.testing.assert_allclose(y, 0.5 * y0 + 0.25 * x, **tol)


@pytest.mark.parametrize(
    "cls",
    [
        optim.SGD,
        optim.Adam,
        optim.AdamW,
        optim.Adagrad,
        optim.RMSprop,
        optim.Adadelta,
        optim.Adamax,
        optim.NAdam,
        optim.RAdam,
    ],
)
def test_the_assembled_docstring_names_every_parameter(cls):
    """The docstrings insert the shared ``params`` entry: the rendered text stays complete."""
    doc = inspect.getdoc(cls)
    section = doc.split("Parameters\n----------\n", 1)[1]
    names = [n for n in inspect.signature(cls).parameters if n != "self"]
    entries = {
        name.strip()
        for line in section.splitlines()
        if line and not line[0].isspace()
        for name in line.split(" : ")[0].split(",")
    }
    assert set(names) <= entries, sorted(set(names) - entries)
    assert section.startswith("params : iterable of Tensor or iterable of dict\n")
    assert "lr : float, default=" in section
    assert "{" not in section
