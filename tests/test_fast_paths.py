"""The fast paths the engine keeps give what the general paths give, and what PyTorch gives.

Each is taken only in a common case (cross-entropy on (N, C) logits with no
weights, smoothing or ignored targets; ``nn.Linear`` on a 2-D input of its own
dtype; the cached seed gradient of a scalar's backward); these tests run both
sides of each condition against PyTorch, so a fast path can neither drift from
the general one nor swallow an error.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import retrograd as rg
import retrograd.nn.functional as RL
from retrograd import ops

from .conftest import assert_close

FLOATS = [np.float32, np.float64]


def _ce_case(dtype, n=7, c=5, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * 3).astype(dtype)
    t = rng.integers(0, c, n)
    return x, t


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_fast_path_matches_torch(dtype, reduction):
    x, t = _ce_case(dtype)
    ours = rg.tensor(x, requires_grad=True)
    loss = RL.cross_entropy(ours, rg.tensor(t), reduction=reduction)
    assert isinstance(loss.grad_fn, ops.SoftmaxCrossEntropy)  # the fast path ran
    loss.backward(rg.tensor(np.array(1.7, dtype=dtype)))
    theirs = torch.tensor(x, requires_grad=True)
    ref = TF.cross_entropy(theirs, torch.tensor(t), reduction=reduction)
    ref.backward(torch.tensor(1.7, dtype=theirs.dtype))
    assert loss.dtype == dtype
    assert ours.grad.dtype == dtype
    assert_close(loss.array, ref.detach().numpy())
    assert_close(ours.grad.array, theirs.grad.numpy())


@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_fast_path_equals_general_path(dtype):
    x, t = _ce_case(dtype, n=33, c=10, seed=1)
    fast = rg.tensor(x, requires_grad=True)
    general = rg.tensor(x, requires_grad=True)
    RL.cross_entropy(fast, rg.tensor(t)).backward()
    # class weights of ones give the same loss through the general op
    loss = RL.cross_entropy(general, rg.tensor(t), weight=rg.ones(10, dtype=dtype))
    assert isinstance(loss.grad_fn, ops.CrossEntropy)
    loss.backward()
    assert_close(fast.grad.array, general.grad.array)


def test_cross_entropy_with_ignored_target_takes_the_general_path():
    x, t = _ce_case(np.float64)
    t[2] = -100
    ours = rg.tensor(x, requires_grad=True)
    loss = RL.cross_entropy(ours, rg.tensor(t))
    assert isinstance(loss.grad_fn, ops.CrossEntropy)
    loss.backward()
    theirs = torch.tensor(x, requires_grad=True)
    TF.cross_entropy(theirs, torch.tensor(t)).backward()
    assert_close(ours.grad.array, theirs.grad.numpy())
    assert np.all(ours.grad.array[2] == 0)


def test_cross_entropy_fast_path_is_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    ours = rg.tensor(x, requires_grad=True)
    loss = RL.cross_entropy(ours, rg.tensor(np.array([1, 2])))
    loss.backward()
    ref = TF.cross_entropy(torch.tensor(x), torch.tensor([1, 2]))
    assert np.isfinite(loss.item()) and np.all(np.isfinite(ours.grad.array))
    assert_close(loss.array, ref.numpy())


def test_cross_entropy_fast_path_backward_twice_with_retain_graph():
    x, t = _ce_case(np.float64)
    ours = rg.tensor(x, requires_grad=True)
    loss = RL.cross_entropy(ours, rg.tensor(t))
    loss.backward(retain_graph=True)
    first = ours.grad.array.copy()
    loss.backward()
    assert_close(ours.grad.array, 2 * first)


def test_cross_entropy_out_of_range_target_still_raises():
    x, t = _ce_case(np.float32)
    t[0] = 5
    with pytest.raises(ValueError, match="out of range"):
        RL.cross_entropy(rg.tensor(x), rg.tensor(t))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_linear_module_fast_and_general_paths_match_torch(dtype, shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    ours = rg.nn.Linear(4, 3, dtype=dtype)
    theirs = torch.nn.Linear(4, 3, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.array))
        theirs.bias.copy_(torch.from_numpy(ours.bias.array))
    xo = rg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    g = rng.standard_normal((*shape[:-1], 3)).astype(dtype)
    ours(xo).backward(rg.tensor(g))
    theirs(xt).backward(torch.from_numpy(g))
    assert_close(xo.grad.array, xt.grad.numpy())
    assert_close(ours.weight.grad.array, theirs.weight.grad.numpy())
    assert_close(ours.bias.grad.array, theirs.bias.grad.numpy())


def test_linear_module_refuses_another_dtype_with_the_full_message():
    layer = rg.nn.Linear(4, 3)
    with pytest.raises(TypeError, match="float64 but weight has dtype float32"):
        layer(rg.zeros(2, 4, dtype=rg.float64))
    with pytest.raises(ValueError, match="in_features"):
        layer(rg.zeros(2, 5))


def test_relu_module_on_a_parameter_and_a_tensor():
    p = rg.nn.Parameter(rg.tensor([-1.0, 0.0, 2.0]))
    out = rg.nn.ReLU()(p)
    out.sum().backward()
    assert out.tolist() == [0.0, 0.0, 2.0]
    assert p.grad.tolist() == [0.0, 0.0, 1.0]  # relu'(0) = 0, as PyTorch


def test_scalar_seed_gradient_is_not_shared_with_leaves():
    # the seed of loss.backward() is a cached read-only array: leaves must get copies
    x = rg.tensor(2.0, requires_grad=True)
    x.backward()
    x.grad.array += 1.0  # writeable, and not the cache
    y = rg.tensor(3.0, requires_grad=True)
    (y * 1.0).backward()
    assert y.grad.item() == 1.0
    z = rg.tensor([1.0, 2.0], requires_grad=True)
    z.sum().backward()
    z.grad.array[0] = 5.0
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    w.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("bad", [-1, -100, 10])
def test_cross_entropy_negative_or_large_target_is_ignored_or_refused(bad):
    x, t = _ce_case(np.float32, c=10)
    t[1] = bad
    if bad == -100:  # the default ignore_index: ignored, through the general op
        loss = RL.cross_entropy(rg.tensor(x, requires_grad=True), rg.tensor(t))
        assert isinstance(loss.grad_fn, ops.CrossEntropy)
    else:
        with pytest.raises(ValueError, match="out of range"):
            RL.cross_entropy(rg.tensor(x), rg.tensor(t))


@pytest.mark.parametrize(
    ("targets", "ignore_index", "op"),
    [
        ([0, 4, 2, 1], -100, ops.SoftmaxCrossEntropy),  # every target a class
        ([0, 4, 2, 1], 3, ops.SoftmaxCrossEntropy),  # ignore_index a class no target holds
        ([0, 3, 2, 1], 3, ops.CrossEntropy),  # ... and one that a target holds
        ([0, -1, 2, -1], -1, ops.CrossEntropy),  # a negative ignore_index, held
        ([0, -100, 4, 1], -100, ops.CrossEntropy),
    ],
)
def test_cross_entropy_looks_for_ignored_targets_only_where_they_can_be(targets, ignore_index, op):
    """The range check decides the op: the fused one exactly when no target is ignored."""
    x = np.random.default_rng(3).standard_normal((4, 5))
    ours = rg.tensor(x, requires_grad=True)
    loss = RL.cross_entropy(ours, rg.tensor(targets), ignore_index=ignore_index)
    assert type(loss.grad_fn) is op
    loss.backward()
    theirs = torch.tensor(x, requires_grad=True)
    ref = TF.cross_entropy(theirs, torch.tensor(targets), ignore_index=ignore_index)
    ref.backward()
    assert_close(loss.array, ref.detach().numpy())
    assert_close(ours.grad.array, theirs.grad.numpy())


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64])
def test_cross_entropy_target_checks_on_every_integer_dtype_and_shape(dtype):
    x = rg.randn(2, 3, 4)  # (N, C, d1): targets of shape (N, d1)
    ok = np.array([[0, 1, 2, 0], [2, 2, 1, 0]], dtype=dtype)
    assert np.isfinite(RL.cross_entropy(x, rg.tensor(ok)).item())
    bad = ok.copy()
    bad[1, 3] = 3
    with pytest.raises(ValueError, match="class index 3, out of range for 3 classes"):
        RL.cross_entropy(x, rg.tensor(bad))
    if dtype != np.uint8:
        bad[1, 3] = -2
        with pytest.raises(ValueError, match="class index -2"):
            RL.cross_entropy(x, rg.tensor(bad), ignore_index=-1)
    empty = RL.cross_entropy(rg.randn(0, 3), rg.tensor(np.zeros(0, dtype=dtype)), reduction="sum")
    assert empty.item() == 0.0
