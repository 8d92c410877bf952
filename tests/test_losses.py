"""The losses against PyTorch: values and gradients for every option, in float32 and float64.

Every case runs the same function name in ``retrograd.nn.functional`` and
``torch.nn.functional`` (their names and signatures agree), back-propagates a
random upstream gradient of the output's shape (so that every element of a
``reduction='none'`` output is checked), and compares the loss and the
gradient of each input that requires one. Then: ``gradcheck`` in float64,
stability at logits of ±1e4, the error messages for bad targets, and the
modules.
"""

from __future__ import annotations

import itertools
import re
import warnings
import zlib

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import retrograd as rg
import retrograd.nn.functional as RL
from retrograd import ops
from retrograd.nn import loss as rnn

from .conftest import assert_close, noncontiguous

FLOATS = [np.float32, np.float64]
REDUCTIONS = ["none", "mean", "sum"]


def _ours(a, requires_grad=False, layout="C"):
    if not isinstance(a, (np.ndarray, np.generic)):
        return a  # None, or a Python option
    if layout == "C":
        return rg.tensor(np.asarray(a), requires_grad=requires_grad)
    return rg.from_numpy(noncontiguous(a)).requires_grad_(requires_grad)


def _theirs(a, requires_grad=False):
    if not isinstance(a, (np.ndarray, np.generic)):
        return a
    return torch.from_numpy(np.array(a)).requires_grad_(requires_grad)


def check(name, args, kwargs, grads, dtype, seed=0):
    """Run ``<name>(*args, **kwargs)`` in both libraries; compare the loss and the gradients.

    ``args`` and array-valued ``kwargs`` are NumPy arrays; ``grads`` lists the
    positions in ``args`` whose gradients are compared. Our side runs twice: on
    C-ordered arrays and on the same values in another layout (``x.T``'s).
    Returns our loss.
    """
    theirs = [_theirs(a, i in grads) for i, a in enumerate(args)]
    ref = getattr(TF, name)(*theirs, **{k: _theirs(v) for k, v in kwargs.items()})
    up = np.random.default_rng(seed + 1).uniform(0.5, 1.5, ref.shape).astype(dtype)
    ref.backward(torch.from_numpy(up))
    for layout in ("C", "other"):
        ours = [_ours(a, i in grads, layout) for i, a in enumerate(args)]
        opts = {k: _ours(v, layout=layout) for k, v in kwargs.items()}
        out = getattr(RL, name)(*ours, **opts)
        assert out.dtype == np.dtype(dtype)
        assert_close(out, ref, dtype)
        out.backward(up)
        for i in grads:
            assert ours[i].grad is not None, f"no gradient reached argument {i} ({layout} layout)"
            assert_close(ours[i].grad, theirs[i].grad, dtype)
    return out


def _rng(*key) -> np.random.Generator:
    """A generator seeded by the test's parameters (crc32: stable across processes)."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


# ---------------------------------------------------------------- regression losses

REGRESSION = [
    ("mse_loss", {}),
    ("l1_loss", {}),
    ("huber_loss", {}),
    ("huber_loss", {"delta": 0.3}),
    ("smooth_l1_loss", {}),
    ("smooth_l1_loss", {"beta": 0.3}),
    ("smooth_l1_loss", {"beta": 0.0}),
]
SHAPES = [(), (7,), (2, 3, 4)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("name", "opts"), REGRESSION, ids=lambda v: str(v))
def test_regression_losses_match_torch(name, opts, shape, reduction, dtype):
    rng = _rng(name, str(opts), shape, reduction)
    x = (2 * rng.standard_normal(shape)).astype(dtype)  # both sides of delta and beta
    y = rng.standard_normal(shape).astype(dtype)
    check(name, [x, y], dict(opts, reduction=reduction), grads=(0, 1), dtype=dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_weight_matches_torch(name, reduction, dtype):
    # mse and l1 divide a weighted mean by sum(weight), huber by the count: both as PyTorch.
    rng = _rng(name, reduction, "weight")
    x, y = (2 * rng.standard_normal((2, 5))).astype(dtype), rng.standard_normal((2, 5))
    w = rng.uniform(0.1, 3.0, (2, 5)).astype(dtype)
    check(name, [x, y.astype(dtype)], {"weight": w, "reduction": reduction}, (0, 1), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_regression_kinks_follow_torch(dtype):
    # d = 0 (l1's kink), |d| = delta = beta = 1 (huber's and smooth_l1's), and both sides.
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], dtype=dtype)
    y = np.zeros(7, dtype=dtype)
    for name in ["l1_loss", "huber_loss", "smooth_l1_loss"]:
        check(name, [x, y], {"reduction": "none"}, (0, 1), dtype)
    check("smooth_l1_loss", [x, y], {"reduction": "sum", "beta": 0.0}, (0, 1), dtype)
    got = RL.l1_loss(rg.tensor(x, requires_grad=True), rg.tensor(y), reduction="sum")
    assert got.item() == pytest.approx(7.0)


def test_integer_target_is_promoted_as_torch():
    # (PyTorch's huber_loss fails in backward with an integer target; ours promotes it too.)
    x = np.array([0.5, 1.5, -2.0], dtype=np.float32)
    y = np.array([1, 2, -2])
    for name in ["mse_loss", "l1_loss", "smooth_l1_loss"]:
        out = check(name, [x, y], {}, (0,), np.float32)
        assert out.dtype == rg.float32


def test_mixed_float_dtypes_promote_as_torch():
    x = np.array([0.5, 1.5, -2.0], dtype=np.float32)
    y = np.array([0.25, 1.0, 3.0], dtype=np.float64)
    ours = RL.mse_loss(rg.tensor(x, requires_grad=True), rg.tensor(y))
    ref = TF.mse_loss(torch.from_numpy(x), torch.from_numpy(y))
    assert ours.dtype == rg.float64 and ref.dtype == torch.float64
    assert_close(ours, ref)


def test_mse_of_empty_tensors_is_nan_as_torch():
    out = RL.mse_loss(rg.zeros(0), rg.zeros(0))
    assert np.isnan(out.item()) and torch.isnan(TF.mse_loss(torch.zeros(0), torch.zeros(0)))
    assert RL.mse_loss(rg.zeros(0), rg.zeros(0), reduction="sum").item() == 0.0


def test_mse_closed_form():
    # The convention: mean over all elements, no factor 1/2.
    out = RL.mse_loss(rg.tensor([[1.0, 2.0], [3.0, 5.0]]), rg.tensor([[0.0, 0.0], [3.0, 3.0]]))
    assert out.item() == pytest.approx((1 + 4 + 0 + 4) / 4)


# ---------------------------------------------------------------- cross-entropy and nll

# (input shape, target shape): (C,), (N, C), (N, C, d1), (N, C, d1, d2)
CLASS_SHAPES = [((5,), ()), ((6, 5), (6,)), ((3, 5, 4), (3, 4)), ((2, 5, 2, 3), (2, 2, 3))]
IGNORE = [None, -100, 1]  # no ignored targets; the default; a real class as ignore_index


def _class_case(in_shape, t_shape, ignore, dtype, rng, scale=3.0):
    x = (scale * rng.standard_normal(in_shape)).astype(dtype)
    n_classes = in_shape[0] if len(in_shape) == 1 else in_shape[1]
    t = rng.integers(0, n_classes, t_shape)
    if ignore is not None and t.size > 1:
        t.flat[0] = ignore  # ignore_index=1 also hits wherever class 1 was drawn
        t.flat[-1] = 0 if ignore == 1 else t.flat[-1]  # keep a non-ignored target
    opts = {} if ignore is None else {"ignore_index": ignore}
    return x, t, n_classes, opts


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", IGNORE)
@pytest.mark.parametrize(("in_shape", "t_shape"), CLASS_SHAPES, ids=str)
def test_cross_entropy_class_indices_match_torch(
    in_shape, t_shape, ignore, weighted, label_smoothing, reduction, dtype
):
    rng = _rng(in_shape, ignore, weighted, label_smoothing, reduction)
    x, t, c, opts = _class_case(in_shape, t_shape, ignore, dtype, rng)
    if weighted:
        opts["weight"] = rng.uniform(0.2, 2.0, c).astype(dtype)
    opts.update(reduction=reduction, label_smoothing=label_smoothing)
    check("cross_entropy", [x, t], opts, (0,), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_full_label_smoothing_matches_torch(reduction, dtype):
    rng = _rng("ls1", reduction)
    x, t, c, _ = _class_case((6, 4), (6,), None, dtype, rng)
    w = rng.uniform(0.2, 2.0, c).astype(dtype)
    opts = dict(weight=w, reduction=reduction, label_smoothing=1.0, ignore_index=2)
    check("cross_entropy", [x, t], opts, (0,), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("in_shape", [(5,), (4, 5), (2, 5, 3)], ids=str)
def test_cross_entropy_probabilities_match_torch(
    in_shape, weighted, label_smoothing, reduction, dtype
):
    rng = _rng(in_shape, weighted, label_smoothing, reduction, "probs")
    x = (3 * rng.standard_normal(in_shape)).astype(dtype)
    axis = 0 if len(in_shape) == 1 else 1
    q = rng.uniform(0.0, 1.0, in_shape)
    q = (q / q.sum(axis=axis, keepdims=True)).astype(dtype)
    opts = dict(reduction=reduction, label_smoothing=label_smoothing)
    if weighted:
        opts["weight"] = rng.uniform(0.2, 2.0, in_shape[axis]).astype(dtype)
    check("cross_entropy", [x, q], opts, (0, 1), dtype)  # the target gets a gradient too


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", IGNORE)
@pytest.mark.parametrize(("in_shape", "t_shape"), CLASS_SHAPES, ids=str)
def test_nll_loss_matches_torch(in_shape, t_shape, ignore, weighted, reduction, dtype):
    rng = _rng(in_shape, ignore, weighted, reduction, "nll")
    x, t, c, opts = _class_case(in_shape, t_shape, ignore, dtype, rng)
    if weighted:
        opts["weight"] = rng.uniform(0.2, 2.0, c).astype(dtype)
    check("nll_loss", [x, t], dict(opts, reduction=reduction), (0,), dtype)


def test_cross_entropy_weighted_mean_closed_form():
    # Two samples, classes weighted 1, 2, 3; the second sample is ignored. The mean divides
    # by the weights of the non-ignored targets, w[2] = 3, not by the count.
    x = rg.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], dtype=rg.float64, requires_grad=True)
    loss = RL.cross_entropy(x, rg.tensor([2, -100]), weight=rg.tensor([1.0, 2.0, 3.0]))
    assert loss.item() == pytest.approx(3 * np.log(3) / 3)
    loss.backward()
    np.testing.assert_allclose(x.grad.array, [[1 / 3, 1 / 3, -2 / 3], [0, 0, 0]], atol=1e-12)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("weighted", [False, True])
def test_all_targets_ignored_gives_nan_mean_as_torch(name, weighted):
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.full(3, -100)
    opts = {"weight": np.ones(4)} if weighted else {}
    out = check(name, [x, t], opts, (0,), np.float64)
    assert np.isnan(out.item())
    check(name, [x, t], dict(opts, reduction="sum"), (0,), np.float64)


def test_empty_batch_matches_torch():
    x, t = np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    for reduction in REDUCTIONS:
        check("cross_entropy", [x, t], {"reduction": reduction}, (0,), np.float64)
        check("nll_loss", [x, t], {"reduction": reduction}, (0,), np.float64)
    check("cross_entropy", [x, np.zeros((0, 3))], {}, (0,), np.float64)


def test_uint8_targets_with_negative_ignore_index():
    # Regression: the range check compared uint8 targets with ignore_index=-100 before
    # widening them; PyTorch accepts uint8 (Byte) class indices.
    x = np.random.default_rng(1).standard_normal((4, 3))
    check("cross_entropy", [x, np.array([0, 2, 1, 2], dtype=np.uint8)], {}, (0,), np.float64)


def test_cross_entropy_is_one_fused_node():
    x = rg.randn(4, 3, requires_grad=True)
    loss = RL.cross_entropy(x, rg.tensor([0, 1, 2, 1]), label_smoothing=0.1)
    assert isinstance(loss.grad_fn, ops.CrossEntropy)
    assert loss.grad_fn.next[0] is x  # straight from the logits: log-softmax is fused in
    out = RL.binary_cross_entropy_with_logits(x, rg.rand(4, 3), reduction="none")
    assert isinstance(out.grad_fn, ops.BinaryCrossEntropyWithLogits)
    assert out.grad_fn.next[0] is x and out.grad_fn.next[1] is None


def test_no_gradient_is_recorded_under_no_grad():
    x = rg.randn(4, 3, requires_grad=True)
    w = rg.ones(3, requires_grad=True)
    with rg.no_grad():
        loss = RL.cross_entropy(x, rg.tensor([0, 1, 2, 1]), weight=w)
    assert loss.grad_fn is None and not loss.requires_grad


# ---------------------------------------------------------------- binary cross-entropy


def _weight(kind, shape, rng, dtype):
    if kind is None:
        return None
    w_shape = shape if kind == "full" else shape[-1:]
    return rng.uniform(0.2, 2.0, w_shape).astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, "full", "last"])
@pytest.mark.parametrize("shape", [(), (6,), (3, 4)], ids=str)
def test_binary_cross_entropy_matches_torch(shape, weight, reduction, dtype):
    rng = _rng(shape, weight, reduction, "bce")
    x = rng.uniform(0.05, 0.95, shape).astype(dtype)
    y = rng.uniform(0.0, 1.0, shape).astype(dtype)
    opts = {"reduction": reduction, "weight": _weight(weight, shape, rng, dtype)}
    check("binary_cross_entropy", [x, y], opts, (0, 1), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [None, "last", "full"])
@pytest.mark.parametrize("weight", [None, "full", "last"])
@pytest.mark.parametrize("shape", [(), (6,), (3, 4)], ids=str)
def test_binary_cross_entropy_with_logits_matches_torch(
    shape, weight, pos_weight, reduction, dtype
):
    rng = _rng(shape, weight, pos_weight, reduction, "bcel")
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    y = rng.uniform(0.0, 1.0, shape).astype(dtype)
    opts = {
        "reduction": reduction,
        "weight": _weight(weight, shape, rng, dtype),
        "pos_weight": _weight(pos_weight, shape, rng, dtype),
    }
    check("binary_cross_entropy_with_logits", [x, y], opts, (0, 1), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_binary_cross_entropy_clamps_log_at_minus_100_as_torch(dtype):
    # p = 0 or 1 with the opposite label: loss 100 (not inf); the input gradient is floored
    # at ±1e12 and the target gradient is ±inf, all as PyTorch.
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype)
    y = np.array([1.0, 0.0, 0.3, 0.6, 1.0], dtype=dtype)
    out = check("binary_cross_entropy", [x, y], {"reduction": "none"}, (0, 1), dtype)
    assert out.array[0] == pytest.approx(100.0) and out.array[1] == pytest.approx(100.0)


# ---------------------------------------------------------------- stability at ±1e4


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_is_stable_for_huge_logits(reduction, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    t = np.array([1, 2, 0])  # the first sample's target has probability exp(-2e4)
    w = np.array([0.5, 2.0, 1.0], dtype=dtype)
    for opts in [{}, {"weight": w, "label_smoothing": 0.1}]:
        out = check("cross_entropy", [x, t], dict(opts, reduction=reduction), (0,), dtype)
        assert np.isfinite(out.array).all()
    q = np.array([[0.2, 0.3, 0.5], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]], dtype=dtype)
    out = check("cross_entropy", [x, q], {"reduction": reduction}, (0, 1), dtype)
    assert np.isfinite(out.array).all()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_is_stable_for_huge_logits(reduction, dtype):
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5], dtype=dtype)
    pw = np.array([3.0], dtype=dtype)
    for opts in [{}, {"pos_weight": pw, "weight": np.full(5, 0.5, dtype=dtype)}]:
        opts = dict(opts, reduction=reduction)
        out = check("binary_cross_entropy_with_logits", [x, y], opts, (0, 1), dtype)
        assert np.isfinite(out.array).all()
    none = RL.binary_cross_entropy_with_logits(rg.tensor(x), rg.tensor(y), reduction="none")
    np.testing.assert_allclose(none.array[:4], [1e4, 1e4, 0.0, 0.0])


# ---------------------------------------------------------------- gradcheck in float64


def _gradcheck_cases():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4))
    away = np.where(rng.random((3, 4)) < 0.5, -1, 1) * rng.uniform(0.2, 0.7, (3, 4))
    y = x + away  # |x - y| in [0.2, 0.7]: away from l1's kink and from delta = beta = 1
    t = np.array([0, 3, -100])
    t3 = rng.integers(0, 4, (3, 2))
    w = rng.uniform(0.5, 2.0, 4)
    p = rng.uniform(0.1, 0.9, (3, 4))
    q = rng.dirichlet(np.ones(4), 3)
    x3 = rng.standard_normal((3, 4, 2))
    return [
        ("mse_loss", [x, y], {}),
        ("mse_loss", [x, y], {"weight": w.reshape(1, 4).repeat(3, 0)}),
        ("l1_loss", [x, y], {"reduction": "none"}),
        ("huber_loss", [x, y], {"delta": 1.0}),
        ("huber_loss", [x, y], {"delta": 0.3, "reduction": "sum"}),
        ("smooth_l1_loss", [x, y], {"beta": 0.3}),
        ("smooth_l1_loss", [x, y], {"beta": 1.0, "reduction": "none"}),
        ("cross_entropy", [x, t], {"weight": w, "label_smoothing": 0.2}),
        ("cross_entropy", [x, t], {"reduction": "none", "label_smoothing": 0.1}),
        ("cross_entropy", [x3, t3], {"weight": w, "reduction": "sum"}),
        ("cross_entropy", [x, q], {"weight": w, "label_smoothing": 0.2}),
        ("nll_loss", [x, t], {"weight": w}),
        ("nll_loss", [x3, t3], {"reduction": "none"}),
        ("binary_cross_entropy", [p, q], {"weight": w}),
        ("binary_cross_entropy", [p, q], {"reduction": "none"}),
        ("binary_cross_entropy_with_logits", [x, q], {"weight": w, "pos_weight": 2 * w}),
        ("binary_cross_entropy_with_logits", [x, q], {"reduction": "none"}),
    ]


@pytest.mark.parametrize(("name", "args", "opts"), _gradcheck_cases(), ids=lambda v: str(v)[:40])
def test_gradcheck_float64(name, args, opts):
    fn = getattr(RL, name)
    inputs = [rg.tensor(a, requires_grad=a.dtype.kind == "f") for a in args]
    kwargs = {k: _ours(v) for k, v in opts.items()}
    assert rg.gradcheck(lambda *xs: fn(*xs, **kwargs), inputs)


def test_gradcheck_catches_a_wrong_gradient():
    # The checks above can fail: a loss whose backward is off by a factor fails gradcheck.
    class Wrong(ops.SquaredError):
        def backward(self, g):
            ga, gb = super().backward(g)
            return (None if ga is None else 1.01 * ga, gb)

    from retrograd.tensor import apply_op

    x = rg.tensor([[0.5, -1.0]], dtype=rg.float64, requires_grad=True)
    y = rg.tensor([[0.0, 0.0]], dtype=rg.float64)
    with pytest.raises(rg.GradcheckError):
        rg.gradcheck(lambda a: apply_op(Wrong, a, y), [x])


def test_gradcheck_perturbs_inputs_of_any_layout():
    # A Fortran-ordered input: perturbing through reshape(-1) would change a copy, and
    # every numeric gradient would be 0.
    x = rg.from_numpy(noncontiguous(np.arange(1.0, 7.0).reshape(2, 3))).requires_grad_()
    y = rg.from_numpy(noncontiguous(np.zeros((2, 3))))
    assert rg.gradcheck(lambda a: RL.mse_loss(a, y, reduction="none"), [x])


# ---------------------------------------------------------------- errors say expected vs got


def _raises(exc, *fragments):
    """``pytest.raises(exc)`` whose message must also contain every fragment (no regex)."""
    pattern = "".join(f"(?=.*{re.escape(f)})" for f in fragments)
    return pytest.raises(exc, match=re.compile(pattern, re.DOTALL))


X = rg.randn(2, 3)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: RL.mse_loss(X, X, reduction=r),
        lambda r: RL.l1_loss(X, X, reduction=r),
        lambda r: RL.huber_loss(X, X, reduction=r),
        lambda r: RL.smooth_l1_loss(X, X, reduction=r),
        lambda r: RL.cross_entropy(X, rg.tensor([0, 1]), reduction=r),
        lambda r: RL.nll_loss(X, rg.tensor([0, 1]), reduction=r),
        lambda r: RL.binary_cross_entropy(X.sigmoid(), X.sigmoid(), reduction=r),
        lambda r: RL.binary_cross_entropy_with_logits(X, X.sigmoid(), reduction=r),
        lambda r: rnn.MSELoss(reduction=r),
        lambda r: rnn.CrossEntropyLoss(reduction=r),
    ],
)
def test_bad_reduction_names_the_choices(call):
    with _raises(ValueError, "'none', 'mean', 'sum'", "'avg'"):
        call("avg")
    summed = call("sum")  # the right spelling is accepted and means what it says
    if isinstance(summed, rg.nn.Module):
        assert summed.reduction == "sum"
    else:
        assert summed.shape == ()
        assert_close(summed.array, call("none").sum().array)


def test_regression_target_of_another_shape_is_an_error_not_a_broadcast():
    with _raises(ValueError, "(3,)", "(3, 1)", "same as input shape"):
        RL.mse_loss(rg.randn(3, 1), rg.randn(3))
    with _raises(ValueError, "weight shape (2,)", "(3,)"):
        RL.mse_loss(rg.randn(3), rg.randn(3), weight=rg.ones(2))
    with _raises(TypeError, "floating point", "int64"):
        RL.l1_loss(rg.tensor([1, 2]), rg.tensor([1, 2]))
    with _raises(ValueError, "delta must be positive", "0.0"):
        RL.huber_loss(X, X, delta=0.0)
    with _raises(ValueError, "beta must be non-negative", "-1.0"):
        RL.smooth_l1_loss(X, X, beta=-1.0)


def test_cross_entropy_float_targets_of_index_shape():
    with _raises(TypeError, "must be integers", "float32", "(2,)", "target.long()", "(2, 3)"):
        RL.cross_entropy(X, rg.tensor([0.0, 1.0]))


def test_cross_entropy_integer_targets_of_input_shape():
    with _raises(TypeError, "class probabilities", "floating point", "int64", "(2,)"):
        RL.cross_entropy(X, rg.tensor([[0, 1, 0], [1, 0, 0]]))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_index_out_of_range_names_value_and_range(name):
    fn = getattr(RL, name)
    with _raises(ValueError, "class index 5", "3 classes", "0 to 2", "ignore_index=-100"):
        fn(X, rg.tensor([0, 5]))
    with _raises(ValueError, "class index -1", "0 to 2"):
        fn(X, rg.tensor([-1, 0]))
    with _raises(ValueError, "class index 3", "0 to 2"):  # C itself is one past the end
        fn(X, rg.tensor([2, 3]))
    with _raises(ValueError, "class index 7", "ignore_index=3"):
        fn(X, rg.tensor([7, 3]), ignore_index=3)
    assert np.isfinite(fn(X, rg.tensor([0, 3]), ignore_index=3).item())  # 3 is ignored


def test_cross_entropy_range_check_sees_negative_targets_as_large():
    # The range check reads int64 targets as uint64 in one max: the most negative int64
    # and a strided (non-contiguous) target must still be caught, and a valid strided one
    # must give torch's loss.
    most_negative = np.iinfo(np.int64).min
    with _raises(ValueError, f"class index {most_negative}", "0 to 2"):
        RL.cross_entropy(X, rg.from_numpy(np.array([0, most_negative])))
    strided = np.array([[0, -1], [2, -1]])[:, 0]
    assert not strided.flags.c_contiguous
    got = RL.cross_entropy(X, rg.from_numpy(strided)).item()
    want = TF.cross_entropy(torch.from_numpy(X.numpy()), torch.from_numpy(strided)).item()
    assert got == pytest.approx(want, rel=1e-6)
    with _raises(ValueError, "class index -1", "0 to 2"):
        RL.cross_entropy(X, rg.from_numpy(np.array([[0, 1], [-1, 1]])[:, 0]))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_target_shape_and_batch_mismatch(name):
    fn = getattr(RL, name)
    with _raises(ValueError, "(2,)", "got target of shape (3,)", "input batch size 2", "3)"):
        fn(X, rg.tensor([0, 1, 2]))
    with _raises(ValueError, "(2, 4)", "got target of shape (2, 5)"):
        fn(rg.randn(2, 3, 4), rg.zeros(2, 5, dtype=rg.int64))
    with _raises(ValueError, "(C,), (N, C) or (N, C, d1, ...)", "0-d"):
        fn(rg.tensor(1.0), rg.tensor(0))
    with _raises(ValueError, "weight", "(3,)", "(2,)"):
        fn(X, rg.tensor([0, 1]), weight=rg.ones(2))


def test_nll_loss_rejects_float_targets():
    with _raises(TypeError, "must be integers", "float32"):
        RL.nll_loss(X, rg.tensor([0.0, 1.0]))
    with _raises(ValueError, "class-index targets must have shape (2,)", "(2, 3)"):
        RL.nll_loss(X, rg.tensor([[0, 1, 0], [1, 0, 0]]))


def test_cross_entropy_option_errors():
    t = rg.tensor([0, 1])
    with _raises(ValueError, "label_smoothing", "[0, 1]", "1.5"):
        RL.cross_entropy(X, t, label_smoothing=1.5)
    with _raises(ValueError, "ignore_index=1", "class-probability"):
        RL.cross_entropy(X, rg.rand(2, 3), ignore_index=1)
    with _raises(TypeError, "ignore_index must be an int", "1.0"):
        RL.cross_entropy(X, t, ignore_index=1.0)
    with _raises(RuntimeError, "weight receives no gradient", "detach()"):
        RL.cross_entropy(X, t, weight=rg.ones(3, requires_grad=True))
    with _raises(TypeError, "weight must be a floating point", "int64"):
        RL.cross_entropy(X, t, weight=rg.tensor([1, 2, 3]))


def test_binary_cross_entropy_errors():
    p = rg.tensor([0.2, 0.7])
    with _raises(ValueError, "input must lie in [0, 1]", "1.5", "binary_cross_entropy_with_logits"):
        RL.binary_cross_entropy(rg.tensor([0.2, 1.5]), p)
    with _raises(ValueError, "input must lie in [0, 1]", "nan"):
        RL.binary_cross_entropy(rg.tensor([0.2, float("nan")]), p)
    with _raises(ValueError, "target must lie in [0, 1]", "-0.5"):
        RL.binary_cross_entropy(p, rg.tensor([-0.5, 1.0]))
    for fn in [RL.binary_cross_entropy, RL.binary_cross_entropy_with_logits]:
        with _raises(TypeError, "target must be a floating point", "int64", "target.float()"):
            fn(p, rg.tensor([0, 1]))
        with _raises(ValueError, "(2, 1)", "(2,)"):
            fn(p, rg.tensor([[0.0], [1.0]]))
        with _raises(ValueError, "weight of shape (3,)", "broadcast", "(2,)"):
            fn(p, p, weight=rg.ones(3))
    with _raises(ValueError, "pos_weight of shape (2, 2)", "(2,)"):
        RL.binary_cross_entropy_with_logits(p, p, pos_weight=rg.ones(2, 2))


# ---------------------------------------------------------------- deprecated size_average/reduce


@pytest.mark.parametrize(
    ("size_average", "reduce"), list(itertools.product([None, True, False], repeat=2))[1:]
)
def test_legacy_size_average_and_reduce_map_as_torch(size_average, reduce):
    x = np.random.default_rng(2).standard_normal((3, 4))
    y = np.random.default_rng(3).standard_normal((3, 4))
    with pytest.warns(UserWarning, match="deprecated"):
        ours = RL.mse_loss(rg.tensor(x), rg.tensor(y), size_average, reduce)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TF.mse_loss(torch.from_numpy(x), torch.from_numpy(y), size_average, reduce)
        mod = tnn.MSELoss(size_average, reduce)
    assert_close(ours, ref)
    with pytest.warns(UserWarning, match="deprecated"):
        assert rnn.MSELoss(size_average, reduce).reduction == mod.reduction


# ---------------------------------------------------------------- modules


def _module_cases():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 3))
    y = rng.standard_normal((4, 3))
    t = np.array([0, 2, -100, 1])
    w = rng.uniform(0.5, 2.0, 3)
    p = rng.uniform(0.1, 0.9, (4, 3))
    q = rng.uniform(0.0, 1.0, (4, 3))
    return [
        ("MSELoss", {}, x, y),
        ("MSELoss", {"reduction": "sum"}, x, y),
        ("L1Loss", {"reduction": "none"}, x, y),
        ("HuberLoss", {"delta": 0.5}, x, y),
        ("SmoothL1Loss", {"beta": 0.5, "reduction": "sum"}, x, y),
        ("CrossEntropyLoss", {}, x, t),
        ("CrossEntropyLoss", {"weight": w, "label_smoothing": 0.1, "ignore_index": 2}, x, t % 3),
        ("CrossEntropyLoss", {"weight": w}, x, q),
        ("NLLLoss", {"weight": w, "reduction": "none"}, x, t),
        ("BCELoss", {"weight": w}, p, q),
        ("BCEWithLogitsLoss", {"weight": w, "pos_weight": 2 * w}, x, q),
        ("BCEWithLogitsLoss", {"pos_weight": w, "reduction": "none"}, x, q),
    ]


@pytest.mark.parametrize(("name", "opts", "x", "y"), _module_cases(), ids=lambda v: str(v)[:30])
def test_modules_match_torch(name, opts, x, y):
    ours = getattr(rnn, name)(**{k: _ours(v) for k, v in opts.items()})
    theirs = getattr(tnn, name)(**{k: _theirs(v) for k, v in opts.items()})
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # weights are buffers
    assert list(ours.parameters()) == []
    xr, xt = rg.tensor(x, requires_grad=True), _theirs(x, True)
    out, ref = ours(xr, _ours(y)), theirs(xt, _theirs(y))
    assert_close(out, ref)
    up = np.ones(ref.shape)
    out.backward(up)
    ref.backward(torch.from_numpy(up))
    assert_close(xr.grad, xt.grad)


def test_module_buffers_follow_dtype_casts():
    m = rnn.BCEWithLogitsLoss(weight=rg.ones(3), pos_weight=rg.ones(3))
    assert [b.dtype for b in m.buffers()] == [rg.float32, rg.float32]
    m.double()
    assert [b.dtype for b in m.buffers()] == [rg.float64, rg.float64]
    loss = m(rg.randn(2, 3, dtype=rg.float64), rg.rand(2, 3, dtype=rg.float64))
    assert loss.dtype == rg.float64


def test_module_constructor_defaults_are_torchs():
    for name in rnn.__all__:
        ours, theirs = getattr(rnn, name)(), getattr(tnn, name)()
        assert ours.reduction == theirs.reduction == "mean"
        for attr in ["ignore_index", "label_smoothing", "delta", "beta", "weight", "pos_weight"]:
            if hasattr(theirs, attr):
                assert getattr(ours, attr) == getattr(theirs, attr), (name, attr)


# ---------------------------------------------------------------- hypothesis: shapes


@st.composite
def class_problems(draw):
    n = draw(st.integers(1, 4))
    c = draw(st.integers(1, 5))
    extra = draw(st.lists(st.integers(1, 3), max_size=2))
    seed = draw(st.integers(0, 2**16))
    return n, c, tuple(extra), seed, draw(st.sampled_from(REDUCTIONS)), draw(st.booleans())


@given(class_problems())
def test_cross_entropy_any_shape_matches_torch(problem):
    n, c, extra, seed, reduction, weighted = problem
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *extra))
    t = rng.integers(-1, c, (n, *extra))  # -1 plays ignore_index
    if (t == -1).all():
        t.flat[0] = 0
    opts = dict(reduction=reduction, ignore_index=-1, label_smoothing=0.1)
    if weighted:
        opts["weight"] = rng.uniform(0.5, 2.0, c)
    check("cross_entropy", [x, t], opts, (0,), np.float64, seed)
    check("nll_loss", [x, t], {"reduction": reduction, "ignore_index": -1}, (0,), np.float64)


@given(
    st.lists(st.integers(1, 4), max_size=3),
    st.sampled_from(["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"]),
    st.sampled_from(REDUCTIONS),
    st.integers(0, 2**16),
)
def test_regression_any_shape_matches_torch(shape, name, reduction, seed):
    rng = np.random.default_rng(seed)
    x, y = 2 * rng.standard_normal(shape), rng.standard_normal(shape)
    check(name, [x, y], {"reduction": reduction}, (0, 1), np.float64, seed)


@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.sampled_from(REDUCTIONS),
    st.floats(-30, 30),
    st.integers(0, 2**16),
)
def test_bce_with_logits_any_shape_and_scale_matches_torch(shape, reduction, scale, seed):
    rng = np.random.default_rng(seed)
    x, y = scale * rng.standard_normal(shape), rng.uniform(0, 1, shape)
    pw = rng.uniform(0.5, 3.0, shape[-1:])
    opts = {"reduction": reduction, "pos_weight": pw}
    check("binary_cross_entropy_with_logits", [x, y], opts, (0, 1), np.float64, seed)
