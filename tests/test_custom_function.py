"""Custom autograd Functions with PyTorch's API, against torch 2.13."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest
import torch

import retrograd as rg


def _legendre_fit(lib):
    """PyTorch's custom-Function tutorial: fit sin(x) with a + b P3(c + d x), manual updates."""

    class LegendrePolynomial3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    dtype = lib.float64
    x = lib.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = lib.sin(x)
    a = lib.full((), 0.0, dtype=dtype, requires_grad=True)
    b = lib.full((), -1.0, dtype=dtype, requires_grad=True)
    c = lib.full((), 0.0, dtype=dtype, requires_grad=True)
    d = lib.full((), 0.3, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    losses = []
    for _ in range(500):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with lib.no_grad():
            for p in (a, b, c, d):
                p.data = p.data - learning_rate * p.grad
                p.grad = None
    return np.array(losses), np.array([p.item() for p in (a, b, c, d)])


def test_legendre_tutorial_trains_the_same_as_torch():
    losses, params = _legendre_fit(rg)
    want_losses, want_params = _legendre_fit(torch)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-10)
    np.testing.assert_allclose(params, want_params, rtol=1e-9, atol=1e-12)
    assert losses[-1] < losses[0] / 5


def _scaled_pair(lib):
    class ScaledPair(lib.autograd.Function):
        """Two tensor inputs, a non-tensor argument and two outputs."""

        @staticmethod
        def forward(ctx, x, y, k):
            ctx.save_for_backward(x, y)
            ctx.k = k
            return x * y * k, x + y

        @staticmethod
        def backward(ctx, grad_prod, grad_sum):
            x, y = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, True, False)
            return grad_prod * y * ctx.k + grad_sum, grad_prod * x * ctx.k + grad_sum, None

    return ScaledPair


def _two_input_run(lib):
    fn = _scaled_pair(lib)
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = lib.tensor([3.0, -1.0], requires_grad=True)
    p, s = fn.apply(x, y, 2.0)
    (p.sum() * 3).backward(retain_graph=True)
    first = (x.grad.tolist(), y.grad.tolist())
    (p * s).sum().backward()
    return p.tolist(), s.tolist(), first, x.grad.tolist(), y.grad.tolist(), p.grad_fn.name()


def test_two_inputs_a_non_tensor_argument_and_two_outputs_match_torch():
    assert _two_input_run(rg) == _two_input_run(torch)


def test_only_one_output_used_gets_zeros_for_the_other():
    for lib in (rg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, -1.0], requires_grad=True)
        _, s = _scaled_pair(lib).apply(x, y, 2.0)
        s.sum().backward()
        assert x.grad.tolist() == [1.0, 1.0]


def test_set_materialize_grads_false_passes_none():
    for lib in (rg, torch):
        seen = []

        class Pair(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                seen.append((g1 is None, g2 is None))
                return g1 * 2

        x = lib.tensor([1.0], requires_grad=True)
        a, _ = Pair.apply(x)
        a.sum().backward()
        assert seen == [(False, True)] and x.grad.tolist() == [2.0]


def test_mark_non_differentiable_output():
    def run(lib):
        class SortWithIndex(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                idx = x.argmax().reshape(1)
                top = x.amax().reshape(1)
                ctx.mark_non_differentiable(idx)
                ctx.save_for_backward(x)
                ctx.idx = int(idx.item())
                return top, idx

            @staticmethod
            def backward(ctx, g_top, g_idx):
                (x,) = ctx.saved_tensors
                out = lib.zeros_like(x)
                out[ctx.idx] = g_top[0]
                return out

        x = lib.tensor([1.0, 5.0, 2.0], requires_grad=True)
        top, idx = SortWithIndex.apply(x)
        (top * 2).sum().backward()
        return idx.requires_grad, top.requires_grad, x.grad.tolist()

    assert run(rg) == run(torch) == (False, True, [0.0, 2.0, 0.0])


def test_setup_context_style():
    def run(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(x):
                return x**3

            @staticmethod
            def setup_context(ctx, inputs, output):
                (x,) = inputs
                ctx.save_for_backward(x)

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x**2 * g

        x = lib.tensor([1.0, -2.0], requires_grad=True)
        Cube.apply(x).sum().backward()
        return x.grad.tolist()

    assert run(rg) == run(torch) == [3.0, 12.0]


def test_forward_runs_without_recording():
    seen = []

    class Probe(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            seen.append((rg.is_grad_enabled(), y.requires_grad))
            return y

        @staticmethod
        def backward(ctx, g):
            seen.append(rg.is_grad_enabled())
            return g * 2

    x = rg.tensor([1.0], requires_grad=True)
    y = Probe.apply(x)
    assert y.requires_grad and not y.is_leaf
    y.sum().backward()
    assert seen == [(False, False), False]
    with rg.no_grad():
        assert not Probe.apply(x).requires_grad


@pytest.mark.parametrize(
    ("grads", "message"),
    [
        (lambda g: g, r"function ScaleBackward returned an incorrect number of gradients"),
        (
            lambda g: (g, g),
            "function ScaleBackward returned a gradient different than None at "
            "position 2, but the corresponding forward input was not a",
        ),
    ],
    ids=["wrong count", "gradient for a non-tensor"],
)
def test_bad_gradients_raise_naming_the_function_like_torch(grads, message):
    for lib in (rg, torch):

        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return grads(g)

        x = lib.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=message):
            Scale.apply(x, 2.0).sum().backward()


def test_gradient_of_wrong_shape_names_the_function():
    class Wrong(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WrongBackward returned a gradient of shape \(\)"):
        Wrong.apply(x).sum().backward()


def test_extra_none_gradients_are_accepted():
    class Extra(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    x = rg.tensor([1.0], requires_grad=True)
    Extra.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0]


def test_saved_tensors_after_backward_raise_and_save_needs_tensors():
    class Keep(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, None)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            _, none = ctx.saved_tensors
            assert none is None
            return g * 2

    x = rg.tensor([1.0], requires_grad=True)
    y = Keep.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        _ = y.grad_fn.saved_tensors
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()

    class Bad(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(3)
            return x

    with pytest.raises(TypeError, match="argument 0 is of type int"):
        Bad.apply(x)


def test_function_is_not_instantiated():
    with pytest.raises(RuntimeError, match="apply"):
        rg.autograd.Function()


def test_output_and_graph_are_freed_without_cycles():
    class Square(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * x
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, _ = ctx.saved_tensors
            return 2 * x * g

    gc.disable()
    try:
        y = Square.apply(rg.tensor([1.0], requires_grad=True))
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_gradcheck_on_custom_functions():
    sp = _scaled_pair(rg)
    x = rg.tensor([0.3, -0.7], dtype=rg.float64, requires_grad=True)
    y = rg.tensor([1.1, 0.4], dtype=rg.float64, requires_grad=True)
    assert rg.gradcheck(lambda a, b: sp.apply(a, b, 1.5), [x, y])

    class Softsign(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x / (1 + x.abs())

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g / (1 + x.abs()) ** 2

    assert rg.gradcheck(Softsign.apply, [rg.randn(3, 2, dtype=rg.float64, requires_grad=True)])


def test_tensor_gradient_runs_backward_with_grad_enabled_for_create_graph():
    """The engine interface for create_graph: a Tensor gradient in, Tensors (recorded) out."""

    class Cube(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * g

    x = rg.tensor([2.0], requires_grad=True)
    y = Cube.apply(x)
    (gx,) = y.grad_fn.backward(rg.tensor([1.0]))
    assert isinstance(gx, rg.Tensor) and gx.requires_grad and gx.tolist() == [12.0]
    gx.sum().backward()  # d/dx 3x^2 = 6x
    assert x.grad.tolist() == [12.0]
    (ga,) = Cube.apply(x).grad_fn.backward(np.ones(1, np.float32))
    assert isinstance(ga, np.ndarray)


def test_once_differentiable_backward_runs_without_recording():
    class Sq(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @rg.autograd.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = rg.tensor([3.0], requires_grad=True)
    (gx,) = Sq.apply(x).grad_fn.backward(rg.tensor([1.0], requires_grad=True))
    assert gx.tolist() == [6.0] and not gx.requires_grad


def test_hooks_and_retain_grad_on_custom_function_outputs():
    for lib in (rg, torch):
        fn = _scaled_pair(lib)
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, -1.0], requires_grad=True)
        p, s = fn.apply(x, y, 2.0)
        p.retain_grad()
        s.register_hook(lambda g: g * 0)
        (p + s).sum().backward()
        assert p.grad.tolist() == [1.0, 1.0]
        assert x.grad.tolist() == [6.0, -2.0]


def test_second_derivative_through_a_custom_function_matches_torch():
    def run(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x**3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x**2 * g

        x = lib.tensor([2.0, -1.0], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x)
        return g.tolist(), h.tolist()

    assert run(rg) == run(torch)


# ------------------------------------------------------------------ saved tensors and versions
def _mul_saving_input_and_output(lib):
    class MulSave(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            y = x * w
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y / x, g * x

    return MulSave


def _modify_saved(lib, case):
    """Record MulSave on (a·1, b), change a saved tensor in place per ``case``, then backward."""
    fn = _mul_saving_input_and_output(lib)
    a = lib.tensor([1.0, 2.0], requires_grad=True, dtype=lib.float64)
    b = lib.tensor([3.0, 4.0], requires_grad=True, dtype=lib.float64)
    h = a * 1
    out = fn.apply(h, b)
    if case == "input":
        h.add_(1)
    elif case == "output":
        with lib.no_grad():
            out.mul_(2)
    elif case == "output, recorded":
        out.mul_(2)
    elif case == "unsaved input":
        with lib.no_grad():
            b.add_(1)
    elif case == "after create_graph":  # h changes between two passes: the recorded Div sees it
        (gh,) = lib.autograd.grad(out.sum(), h, create_graph=True)
        h.add_(1)
        return gh.sum()
    return out.sum()


@pytest.mark.parametrize(
    "case", ["input", "output", "output, recorded", "unsaved input", "after create_graph", "none"]
)
def test_inplace_change_to_a_saved_tensor_raises_as_in_torch(case):
    """ctx.save_for_backward is version-checked like the engine's own ops (torch's error)."""
    errors = {}
    for lib in (rg, torch):
        loss = _modify_saved(lib, case)
        try:
            loss.backward()
            errors[lib] = None
        except RuntimeError as e:
            errors[lib] = str(e)
    assert (errors[rg] is None) == (errors[torch] is None), errors
    if errors[torch] is not None:
        assert "modified by an inplace operation" in errors[torch]
        assert "modified by an inplace operation" in errors[rg]
        assert "is at version 1; expected version 0" in errors[rg]
    if case == "input":
        assert "output 0 of AddBackward0 and input 0 of MulSaveBackward" in errors[rg]
    if case in ("output", "output, recorded"):
        assert "output 0 of MulSaveBackward" in errors[rg]
    if case == "after create_graph":
        assert "input 1 of DivBackward0" in errors[rg]


def test_a_gradient_returned_twice_or_kept_is_not_added_into():
    """backward may return a saved tensor or one tensor for two inputs; .grad adds in place."""

    class Twice(rg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return a, a  # the saved input itself, for both inputs

    a = rg.tensor([1.0, 2.0], requires_grad=True)
    b = rg.tensor([3.0, 4.0], requires_grad=True)
    for _ in range(3):
        Twice.apply(a, b).sum().backward()
    np.testing.assert_array_equal(a.detach().numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 6.0])
    np.testing.assert_array_equal(b.grad.numpy(), [3.0, 6.0])
