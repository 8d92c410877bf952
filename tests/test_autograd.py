"""Semantics of the graph and of backward(), as PyTorch's."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd.autograd import Op
from retrograd.tensor import apply_op


def test_gradients_accumulate_across_backward_calls():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.array, [3 + 2, 3 + 4])


def test_tensor_used_twice_sums_both_paths():
    x = rg.tensor(3.0, requires_grad=True)
    y = x * x + x
    y.backward()
    assert x.grad.item() == 7.0


def test_non_leaf_grad_kept_only_after_retain_grad():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    k = h * 3
    h.retain_grad()
    assert h.retains_grad and not k.retains_grad
    (k * k).sum().backward()
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    ht = xt * 2
    kt = ht * 3
    ht.retain_grad()
    (kt * kt).sum().backward()
    np.testing.assert_allclose(h.grad.array, ht.grad.numpy())
    assert k.grad is None
    assert not h.is_leaf and x.is_leaf


def test_retained_grad_accumulates_like_torch():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    y = (h * h).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(h.grad.array, 2 * 2 * h.array)


def test_second_backward_through_freed_graph_raises():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.array, 4 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_backward_on_non_scalar_needs_gradient():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2,\)"):
        y.backward()
    with pytest.raises(RuntimeError, match="shape"):
        y.backward(rg.ones(3))
    y.backward(rg.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.array, [2.0, 20.0])


def test_backward_without_grad_raises():
    x = rg.tensor([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_leaf_backward_accumulates_gradient():
    x = rg.tensor(2.0, requires_grad=True)
    x.backward()
    x.backward(rg.tensor(3.0))
    assert x.grad.item() == 4.0


def test_shared_gradient_array_is_not_aliased():
    """Regression: add's backward hands one array to both inputs; leaves must not share it."""
    a = rg.tensor([1.0, 2.0], requires_grad=True)
    b = rg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.array *= 10  # an in-place gradient edit, as clipping does
    np.testing.assert_array_equal(b.grad.array, [1.0, 1.0])
    c = rg.tensor([1.0, 2.0], requires_grad=True)
    d = c.reshape(2, 1)
    d.backward(np.ones((2, 1), dtype=np.float32))
    assert not np.shares_memory(c.grad.array, np.ones(1))


def test_root_gradient_is_copied():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    g = rg.tensor([1.0, 1.0])
    x.backward(g)
    x.grad.array += 1
    np.testing.assert_array_equal(g.array, [1.0, 1.0])


def test_no_grad_records_nothing():
    x = rg.tensor([1.0], requires_grad=True)
    with rg.no_grad():
        y = x * 2
        assert not rg.is_grad_enabled()
        with rg.enable_grad():
            z = x * 2
    assert rg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad

    @rg.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad
    assert rg.is_grad_enabled()
    with rg.set_grad_enabled(False):
        assert not (x + 1).requires_grad


def test_no_grad_restored_after_exception():
    with pytest.raises(ValueError), rg.no_grad():
        raise ValueError
    assert rg.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    z = x * y
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.array, [2.0, 4.0])


def test_grad_fn_names_like_torch():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    assert (x + 1).grad_fn.name == "AddBackward0"
    assert (x * x).grad_fn.name == "MulBackward0"
    assert x.sum().grad_fn.name == "SumBackward0"
    assert x.grad_fn is None


def test_integer_tensors_never_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        rg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        rg.tensor([True]).requires_grad_()
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    assert not x.argmax().requires_grad
    assert not (x > 1).requires_grad


def test_long_chain_has_no_recursion_error():
    x = rg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    del y  # freeing a 200,000-deep chain must not overflow the stack either
    gc.collect()


def test_graph_is_released_with_its_output():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).exp().sum()
    node = weakref.ref(y.grad_fn)
    y.backward()
    del y
    assert node() is None  # no reference cycle keeps the graph alive


def test_mlp_memory_stays_flat():
    rg.manual_seed(0)
    x = rg.randn(16, 8)
    t = rg.randn(16, 1)
    w1 = rg.randn(8, 32, requires_grad=True)
    b1 = rg.zeros(32, requires_grad=True)
    w2 = rg.randn(32, 1, requires_grad=True)
    params = [w1, b1, w2]

    def step():
        loss = (((x @ w1 + b1).tanh() @ w2 - t) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with rg.no_grad():
            for p in params:
                p.array -= 1e-3 * p.grad.array
        return loss.item()

    for _ in range(200):
        step()
    gc.collect()
    tracemalloc.start()
    for _ in range(500):
        step()
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(4_300):
        step()
    gc.collect()
    now, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert now - base < 64 * 1024, f"memory grew by {now - base} bytes over 4,300 steps"


class _WrongShape(Op):
    def forward(self, a):
        return a * 2

    def backward(self, g):
        return (g.sum(),)


class _Forgets(Op):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return (g,)


def test_gradient_of_wrong_shape_names_the_op():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = apply_op(_WrongShape, x)
    with pytest.raises(RuntimeError, match=r"_WrongShapeBackward0.*shape \(\).*shape \(2,\)"):
        y.sum().backward()


def test_missing_gradient_is_an_error_not_a_silent_drop():
    x = rg.tensor([1.0], requires_grad=True)
    y = apply_op(_Forgets, x, x)
    with pytest.raises(ValueError):
        y.sum().backward()


def test_base_function_methods_raise():
    with pytest.raises(NotImplementedError):
        Op().forward(np.ones(1))
    with pytest.raises(NotImplementedError):
        Op().backward(np.ones(1))


def test_shape_mismatch_names_op_and_shapes_and_changes_nothing():
    a = rg.tensor(np.ones((2, 3)), requires_grad=True)
    b = rg.tensor(np.ones((4,)), requires_grad=True)
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        a + b
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4,\).*3.*4"):
        a @ b
    with pytest.raises(ValueError, match=r"reshape.*\(5,\).*\(2, 3\)"):
        a.reshape(5)
    with pytest.raises(ValueError, match="expand"):
        a.expand(4, 3)
    with pytest.raises(ValueError, match="cat"):
        rg.cat([a, b])
    with pytest.raises(ValueError, match="stack"):
        rg.stack([a, b])
    with pytest.raises(IndexError, match="dimension out of range"):
        a.sum(dim=2)
    assert a.grad is None and b.grad is None
    np.testing.assert_array_equal(a.array, np.ones((2, 3)))


def test_in_place_assignment_is_refused_while_recording():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 5.0
    with rg.no_grad():
        x[0] = 5.0
    assert x.array[0] == 5.0
