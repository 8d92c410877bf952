"""Gradients of gradients: second derivatives of every op against PyTorch and gradgradcheck.

The cases come from the op table of test_ops_oracle.py (so a new op there is covered
here too) and from the fused layer and loss ops below. For each case, at a point away
from kinks, in float64: the first derivative ``g = grad(f(x), x, v, create_graph=True)``
is itself differentiated, ``grad(sum(g * w), (x, v))``, and compared with PyTorch's.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF
import torch.nn.functional as TF

import retrograd as rg
import retrograd.functional as RF
from retrograd import autograd, ops
from retrograd.autograd import functional as AF
from retrograd.autograd import versions

from .conftest import assert_close
from .test_ops_oracle import GETITEM_INDICES, PARAMS, Case, _inputs

TIGHT = dict(rtol=1e-8, atol=1e-10)


def _second_derivatives(L, F, fn, arrays, v, w):
    """grad(sum(grad(fn(x), x, v, create_graph) * w), (x, v)) in library ``L``."""
    if L is torch:
        xs = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
        vt = torch.from_numpy(v.copy()).requires_grad_()
        y = fn(torch, TF, *xs)
        gs = torch.autograd.grad(y, xs, vt, create_graph=True, allow_unused=True)
        wrap = torch.from_numpy
    else:
        xs = [rg.tensor(a, requires_grad=True) for a in arrays]
        vt = rg.tensor(v, requires_grad=True)
        y = fn(rg, RF, *xs)
        gs = autograd.grad(y, xs, vt, create_graph=True, allow_unused=True)
        wrap = rg.tensor
    first = [None if g is None else g.detach() for g in gs]
    terms = [(g * wrap(wi)).sum() for g, wi in zip(gs, w, strict=True) if g is not None]
    live = [t for t in terms if t.requires_grad]
    if not live:  # the first derivative does not depend on x or v
        return first, [None] * (len(xs) + 1)
    total = live[0]
    for t in live[1:]:
        total = total + t
    lib_grad = torch.autograd.grad if L is torch else autograd.grad
    return first, list(lib_grad(total, [*xs, vt], allow_unused=True))


def _compare(got, want, shapes, name):
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        if a is None and b is None:
            continue
        a = np.zeros(shapes[i]) if a is None else a.detach().array
        b = np.zeros(shapes[i]) if b is None else b.detach().numpy(force=True)
        np.testing.assert_allclose(a, b, err_msg=f"{name}: input {i}", **TIGHT)


def _check_against_torch(name, fn, arrays, rng):
    y = fn(torch, TF, *[torch.from_numpy(a.copy()) for a in arrays])
    v = rng.uniform(-1, 1, size=tuple(y.shape))
    w = [rng.uniform(-1, 1, size=a.shape) for a in arrays]
    first, second = _second_derivatives(rg, RF, fn, arrays, v, w)
    first_t, second_t = _second_derivatives(torch, TF, fn, arrays, v, w)
    shapes = [a.shape for a in arrays]
    _compare(first, first_t, shapes, f"{name} (first derivative)")
    _compare(second, second_t, [*shapes, v.shape], name)


# ---------------------------------------------------------------- the op table

NONEMPTY = [p for p in PARAMS if not any(0 in s for s in p.values[1])]


@pytest.mark.parametrize(("case", "shapes"), NONEMPTY)
def test_second_derivative_matches_torch(case: Case, shapes, rng):
    arrays = _inputs(shapes, np.float64, case.domain, rng)
    _check_against_torch(case.name, case.fn, arrays, rng)


@pytest.mark.parametrize(("case", "shapes"), NONEMPTY)
def test_gradgradcheck(case: Case, shapes, rng):
    arrays = _inputs(shapes, np.float64, case.domain, rng)
    inputs = [rg.tensor(a, requires_grad=True) for a in arrays]
    assert rg.gradgradcheck(lambda *xs: case.fn(rg, RF, *xs), inputs)


@pytest.mark.parametrize("index", GETITEM_INDICES, ids=lambda i: repr(i).replace(" ", ""))
def test_getitem_second_derivative(index, rng):
    arr = rng.uniform(-2, 2, size=(4, 5))
    if isinstance(index, str):
        mask = arr > 0
        idx_rg, idx_t = rg.tensor(mask), torch.from_numpy(mask)
    elif isinstance(index, np.ndarray):
        idx_rg, idx_t = rg.tensor(index), torch.from_numpy(index)
    else:
        idx_rg = idx_t = index
    _check_against_torch(
        "getitem", lambda L, F, a: a[idx_rg if L is rg else idx_t] ** 3, [arr], rng
    )
    assert rg.gradgradcheck(lambda a: a[idx_rg] ** 3, [rg.tensor(arr, requires_grad=True)])


# ---------------------------------------------------------------- fused layers and losses

_TARGET = np.array([2, 0, 1, 2])
_TARGET_IGN = np.array([2, -100, 1, 0])
_CW = np.array([0.5, 2.0, 1.5])


def _idx(L, t):
    return torch.from_numpy(t) if L is torch else rg.tensor(t)


def _c(L, a):
    return torch.from_numpy(np.asarray(a)) if L is torch else rg.tensor(np.asarray(a))


FUSED = [
    Case("linear", lambda L, F, x, w, b: F.linear(x, w, b).tanh(), [((4, 3), (2, 3), (2,))]),
    Case("linear_3d_nobias", lambda L, F, x, w: F.linear(x, w) ** 2, [((2, 4, 3), (2, 3))]),
    Case(
        "batch_norm_train",
        lambda L, F, x, w, b: F.batch_norm(x, None, None, w, b, training=True) ** 2,
        [((5, 3), (3,), (3,)), ((4, 3, 2), (3,), (3,))],
    ),
    Case(
        "batch_norm_eval",
        lambda L, F, x, w, b: (
            F.batch_norm(x, _c(L, [0.1, -0.2, 0.3]), _c(L, [1.5, 0.5, 2.0]), w, b, training=False)
            ** 2
        ),
        [((5, 3), (3,), (3,))],
    ),
    Case(
        "batch_norm_plain",
        lambda L, F, x: F.batch_norm(x, None, None, training=True) ** 3,
        [((6, 2),)],
    ),
    Case(
        "layer_norm",
        lambda L, F, x, w, b: F.layer_norm(x, (3,), w, b) ** 2,
        [((4, 3), (3,), (3,))],
    ),
    Case("layer_norm_2d", lambda L, F, x: F.layer_norm(x, (2, 3)) ** 3, [((2, 2, 3),)]),
    Case("mse", lambda L, F, a, b: F.mse_loss(a.tanh(), b), [((4, 3), (4, 3))]),
    Case("l1", lambda L, F, a, b: F.l1_loss(a**2, b), [((4, 3), (4, 3))], "away"),
    Case("huber", lambda L, F, a, b: F.huber_loss(a**2, b, delta=0.8), [((4, 3), (4, 3))]),
    Case("smooth_l1", lambda L, F, a, b: F.smooth_l1_loss(a**2, b, beta=0.7), [((4, 3), (4, 3))]),
    Case("cross_entropy", lambda L, F, x: F.cross_entropy(x, _idx(L, _TARGET)), [((4, 3),)]),
    Case(
        "cross_entropy_sum",
        lambda L, F, x: F.cross_entropy(x, _idx(L, _TARGET), reduction="sum"),
        [((4, 3),)],
    ),
    Case(
        "cross_entropy_weighted_smooth",
        lambda L, F, x: F.cross_entropy(
            x, _idx(L, _TARGET_IGN), weight=_c(L, _CW), label_smoothing=0.2
        ),
        [((4, 3),)],
    ),
    Case(
        "cross_entropy_none_kdim",
        lambda L, F, x: F.cross_entropy(x, _idx(L, np.array([[0, 2], [1, 1]])), reduction="none"),
        [((2, 3, 2),)],
    ),
    Case(
        "cross_entropy_probs",
        lambda L, F, x, p: F.cross_entropy(x, p.softmax(1)),
        [((4, 3), (4, 3))],
    ),
    Case(
        "nll",
        lambda L, F, x: F.nll_loss(x.log_softmax(1), _idx(L, _TARGET_IGN), weight=_c(L, _CW)),
        [((4, 3),)],
    ),
    Case(
        "bce",
        lambda L, F, x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid(), weight=_c(L, _CW)),
        [((4, 3), (4, 3))],
    ),
    Case(
        "bce_with_logits",
        lambda L, F, x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()),
        [((4, 3), (4, 3))],
    ),
    Case(
        "bce_with_logits_pos_weight",
        lambda L, F, x, y: F.binary_cross_entropy_with_logits(
            x, y.sigmoid(), weight=_c(L, _CW), pos_weight=_c(L, [2.0, 0.5, 1.0])
        ),
        [((4, 3), (4, 3))],
    ),
]

POOLS = [
    Case("max_pool2d", lambda L, F, x: F.max_pool2d(x, 2) ** 2, [((2, 2, 4, 4),)]),
    Case(
        "max_pool2d_overlap_pad",
        lambda L, F, x: F.max_pool2d(x**3, 3, stride=2, padding=1),
        [((1, 2, 5, 5),)],
    ),
    Case("max_pool1d", lambda L, F, x: F.max_pool1d(x, 2) ** 2, [((2, 3, 6),)]),
    Case("avg_pool2d", lambda L, F, x: F.avg_pool2d(x, 2) ** 2, [((2, 2, 4, 4),)]),
    Case(
        "avg_pool2d_pad",
        lambda L, F, x: F.avg_pool2d(x**2, 3, stride=2, padding=1) ** 2,
        [((1, 2, 5, 5),)],
    ),
    Case("avg_pool1d", lambda L, F, x: F.avg_pool1d(x, 3) ** 2, [((2, 3, 6),)]),
    Case(
        "adaptive_avg_pool2d",
        lambda L, F, x: F.adaptive_avg_pool2d(x, (2, 3)) ** 2,
        [((1, 2, 5, 7),)],
    ),
    Case(
        "adaptive_max_pool2d",
        lambda L, F, x: F.adaptive_max_pool2d(x, (2, 3)) ** 2,
        [((1, 2, 5, 7),)],
    ),
    Case("adaptive_max_pool1d", lambda L, F, x: F.adaptive_max_pool1d(x, 3) ** 2, [((2, 2, 7),)]),
]
CONVS = [
    Case(
        "conv2d",
        lambda L, F, x, w, b: F.conv2d(x, w, b, padding=1) ** 2,
        [((2, 2, 4, 5), (3, 2, 3, 3), (3,))],
    ),
    Case(
        "conv2d_stride_dilation",
        lambda L, F, x, w: F.conv2d(x, w, stride=2, dilation=2, padding=(2, 1)).tanh(),
        [((1, 2, 7, 6), (2, 2, 3, 2))],
    ),
    Case(
        "conv2d_groups",
        lambda L, F, x, w: F.conv2d(x, w, groups=2) ** 2,
        [((1, 4, 4, 4), (2, 2, 2, 2))],
    ),
    Case("conv1d", lambda L, F, x, w: F.conv1d(x, w, padding=1) ** 2, [((2, 2, 6), (3, 2, 3))]),
    Case(
        "conv_transpose2d",
        lambda L, F, x, w, b: (
            F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1) ** 2
        ),
        [((1, 2, 3, 3), (2, 3, 3, 3), (3,))],
    ),
    Case(
        "conv_transpose2d_groups_dilation",
        lambda L, F, x, w: F.conv_transpose2d(x, w, groups=2, dilation=2).tanh(),
        [((1, 4, 3, 2), (4, 1, 2, 2))],
    ),
    Case(
        "conv_transpose1d",
        lambda L, F, x, w: F.conv_transpose1d(x, w, stride=2) ** 2,
        [((2, 2, 4), (2, 3, 3))],
    ),
]
_EMB_IDX = np.array([[0, 3, 1], [3, 3, 4]])
# Ops added after the op table: activations, layer helpers, padding, embedding, kl_div.
LAYERS = [
    Case("hardtanh", lambda L, F, x: F.hardtanh(x, -0.7, 1.3) ** 3, [((4, 3),)], "away"),
    Case("logsigmoid", lambda L, F, x: F.logsigmoid(x), [((4, 3),)]),
    Case("mish", lambda L, F, x: F.mish(x), [((4, 3),)]),
    Case("silu", lambda L, F, x: F.silu(x), [((4, 3),)]),
    Case("softsign", lambda L, F, x: F.softsign(x), [((4, 3),)], "away"),
    Case("prelu", lambda L, F, x, w: F.prelu(x, w) ** 2, [((4, 3), (3,)), ((2, 3, 5), (1,))]),
    Case("normalize", lambda L, F, x: F.normalize(x, dim=1) ** 3, [((4, 3),)]),
    Case("normalize_p1_dim0", lambda L, F, x: F.normalize(x**2, p=1.0, dim=0), [((4, 3),)]),
    Case(
        "embedding",
        lambda L, F, w: F.embedding(_idx(L, _EMB_IDX), w) ** 3,
        [((5, 2),)],
    ),
    Case(
        "embedding_padding_idx",
        lambda L, F, w: F.embedding(_idx(L, _EMB_IDX), w, padding_idx=3).tanh(),
        [((5, 2),)],
    ),
    Case(
        "kl_div",
        lambda L, F, x, t: F.kl_div(x.log_softmax(1), t.softmax(1), reduction="batchmean"),
        [((4, 3), (4, 3))],
    ),
    Case(
        "kl_div_log_target",
        lambda L, F, x, t: F.kl_div(x.log_softmax(1), t, reduction="sum", log_target=True),
        [((4, 3), (4, 3))],
    ),
] + [
    Case(
        f"pad_{mode}",
        lambda L, F, x, mode=mode: F.pad(x**2, (2, 1, 1, 0), mode=mode) ** 2,
        [((1, 2, 3, 4),)],
    )
    for mode in ("constant", "reflect", "replicate", "circular")
]
FUSED += POOLS + CONVS + LAYERS

FUSED_PARAMS = [
    pytest.param(case, shapes, id=f"{case.name}-{'x'.join(map(str, shapes))}")
    for case in FUSED
    for shapes in case.shapes
]


@pytest.mark.parametrize(("case", "shapes"), FUSED_PARAMS)
def test_fused_second_derivative_matches_torch(case: Case, shapes, rng):
    arrays = _inputs(shapes, np.float64, case.domain, rng)
    _check_against_torch(case.name, case.fn, arrays, rng)


@pytest.mark.parametrize(("case", "shapes"), FUSED_PARAMS)
def test_fused_gradgradcheck(case: Case, shapes, rng):
    arrays = _inputs(shapes, np.float64, case.domain, rng)
    inputs = [rg.tensor(a, requires_grad=True) for a in arrays]
    assert rg.gradgradcheck(lambda *xs: case.fn(rg, RF, *xs), inputs)


def test_dropout_second_derivative(rng):
    """Dropout is linear: its first derivative is mask*v, which gradgradcheck checks."""
    x = rg.tensor(rng.uniform(-1, 1, size=(4, 5)), requires_grad=True)

    def f(a):
        rg.manual_seed(3)  # the same mask at every evaluation
        return RF.dropout(a, 0.4, training=True) * a

    assert rg.gradgradcheck(f, [x])
    mask = f(rg.tensor(np.ones((4, 5)))).array
    xt = torch.from_numpy(x.array.copy()).requires_grad_()
    (gt,) = torch.autograd.grad((xt * torch.from_numpy(mask) * xt).sum(), xt, create_graph=True)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    (g,) = autograd.grad(f(x).sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    assert_close(g, gt, **TIGHT)
    assert_close(h, ht, **TIGHT)


def test_every_op_has_a_recorded_backward():
    """Each op of the engine defines backward_graph, or create_graph would raise for it."""
    classes = [
        c
        for _, c in inspect.getmembers(ops, inspect.isclass)
        if issubclass(c, autograd.Op) and c is not autograd.Op
    ]
    assert len(classes) >= 50
    classes += [versions.CopySlices, versions.AsStrided, versions.IndexPut]  # in-place writes
    missing = [c.__name__ for c in classes if not hasattr(c, "backward_graph")]
    assert not missing, f"ops without a second derivative: {missing}"


def test_an_op_without_backward_graph_raises_naming_it():
    class Twice(autograd.Op):
        def forward(self, a):
            return 2 * a

        def backward(self, g):
            return (2 * g,)

    from retrograd.tensor import apply_op

    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = apply_op(Twice, x).sum()
    assert autograd.grad(y, x)[0].tolist() == [2.0, 2.0]  # first order works
    y = apply_op(Twice, x).sum()
    with pytest.raises(RuntimeError, match="TwiceBackward0: second derivatives are not supported"):
        autograd.grad(y, x, create_graph=True)


# ---------------------------------------------------------------- grad() and backward()


def test_grad_does_not_accumulate_and_returns_tensors():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = autograd.grad((x**3).sum(), x)
    assert isinstance(g, rg.Tensor) and not g.requires_grad
    assert g.tolist() == [3.0, 12.0, 27.0]
    assert x.grad is None


def test_grad_of_a_non_leaf_and_several_outputs():
    x = rg.tensor([1.0, 2.0], dtype=rg.float64, requires_grad=True)
    h = x * 3
    y1, y2 = (h**2).sum(), h.sin().sum()
    gh, gx = autograd.grad([y1, y2], [h, x])
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ht = xt * 3
    ght, gxt = torch.autograd.grad([(ht**2).sum(), ht.sin().sum()], [ht, xt])
    assert_close(gh, ght, **TIGHT)
    assert_close(gx, gxt, **TIGHT)


def test_create_graph_results_require_grad_and_retain_the_graph():
    x = rg.tensor([0.5, -1.0], requires_grad=True)
    y = (x.exp() * x).sum()
    (g,) = autograd.grad(y, x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    (again,) = autograd.grad(y, x)  # retain_graph defaulted to create_graph=True
    np.testing.assert_allclose(again.array, g.array)


def test_backward_create_graph_accumulates_a_differentiable_grad():
    x = rg.tensor([0.3, 1.1], dtype=rg.float64, requires_grad=True)
    (x.sin() ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.sum().backward()
    xt = torch.tensor([0.3, 1.1], dtype=torch.float64, requires_grad=True)
    (gt,) = torch.autograd.grad((xt.sin() ** 3).sum(), xt, create_graph=True)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    assert_close(x.grad, ht, **TIGHT)


def test_backward_inputs_accumulates_only_into_them():
    a = rg.tensor([1.0, 2.0], requires_grad=True)
    b = rg.tensor([3.0, 4.0], requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [3.0, 4.0] and b.grad is None


def test_allow_unused_false_raises_naming_the_input():
    x = rg.tensor([1.0], requires_grad=True)
    z = rg.tensor([2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(2,\)\) was not used"):
        autograd.grad((x * 2).sum(), [x, z])
    gx, gz = autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gx.tolist() == [2.0] and gz is None


def test_non_scalar_output_needs_grad_outputs():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        autograd.grad(x * 2, x)
    (g,) = autograd.grad(x * 2, x, grad_outputs=rg.tensor([1.0, -1.0]))
    assert g.tolist() == [2.0, -2.0]


def test_second_backward_through_a_freed_graph_raises():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        autograd.grad(y, x)
    y = (x.exp() * x).sum()
    (g,) = autograd.grad(y, x, create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match="second time"):
        autograd.grad(g.sum(), x)


# ---------------------------------------------------------------- networks


def _mlp_params(rng):
    return [
        rng.normal(size=(8, 4)) * 0.5,
        rng.normal(size=8) * 0.1,
        rng.normal(size=(3, 8)) * 0.5,
        rng.normal(size=3) * 0.1,
    ]


def _mlp_loss(L, F, x, y, w1, b1, w2, b2):
    return F.cross_entropy(F.linear(F.linear(x, w1, b1).tanh(), w2, b2), y)


def test_hessian_vector_product_of_an_mlp_loss(rng):
    arrays = _mlp_params(rng)
    x, y = rng.normal(size=(5, 4)), np.array([0, 2, 1, 1, 0])
    vs = [rng.normal(size=a.shape) for a in arrays]
    ps = [rg.tensor(a, requires_grad=True) for a in arrays]
    gs = autograd.grad(_mlp_loss(rg, RF, rg.tensor(x), rg.tensor(y), *ps), ps, create_graph=True)
    dot = sum(((g * rg.tensor(v)).sum() for g, v in zip(gs, vs, strict=True)), rg.tensor(0.0))
    hv = autograd.grad(dot, ps)
    pts = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    loss_t = _mlp_loss(torch, TF, torch.from_numpy(x), torch.from_numpy(y), *pts)
    gts = torch.autograd.grad(loss_t, pts, create_graph=True)
    hvt = torch.autograd.grad(
        sum((g * torch.from_numpy(v)).sum() for g, v in zip(gts, vs, strict=True)), pts
    )
    for a, b in zip(hv, hvt, strict=True):
        assert_close(a, b, **TIGHT)


def test_gradient_penalty_training_step_matches_torch(rng):
    """One SGD step on loss + ||dL/dx||^2 (a gradient penalty) equals torch's."""
    arrays = _mlp_params(rng)
    x, y = rng.normal(size=(5, 4)), np.array([0, 2, 1, 1, 0])

    def step(L, F, opt_cls, grad_fn):
        ps = [
            (rg.nn.Parameter(rg.tensor(a)) if L is rg else torch.nn.Parameter(torch.tensor(a)))
            for a in arrays
        ]
        xt = (rg.tensor(x) if L is rg else torch.tensor(x)).requires_grad_()
        yt = rg.tensor(y) if L is rg else torch.tensor(y)
        opt = opt_cls(ps, lr=0.1, momentum=0.9)
        loss = _mlp_loss(L, F, xt, yt, *ps)
        (gx,) = grad_fn(loss, xt, create_graph=True)
        total = loss + (gx * gx).sum()
        opt.zero_grad()
        total.backward()
        opt.step()
        return total, ps

    total, ps = step(rg, RF, rg.optim.SGD, autograd.grad)
    total_t, ps_t = step(torch, TF, torch.optim.SGD, torch.autograd.grad)
    assert_close(total, total_t, **TIGHT)
    for p, pt in zip(ps, ps_t, strict=True):
        assert_close(p, pt, **TIGHT)


# ---------------------------------------------------------------- autograd.functional


def _fns(L):
    def f(x):
        return (x.exp() * 2).sin() * x

    def f2(x, w):
        return ((w @ x).tanh() ** 2).sum()

    def f_multi(x, w):
        return (w @ x).sigmoid(), (x * x).sum()

    return f, f2, f_multi


def _pair_close(a, b):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _pair_close(x, y)
    else:
        assert_close(a, b, **TIGHT)


@pytest.mark.parametrize("create_graph", [False, True])
def test_functional_matches_torch(create_graph, rng):
    xa, wa, va = rng.normal(size=3), rng.normal(size=(2, 3)), rng.normal(size=3)
    f, f2, f_multi = _fns(rg)
    x, w, v = (rg.tensor(a) for a in (xa, wa, va))
    xt, wt, vt = (torch.from_numpy(a.copy()) for a in (xa, wa, va))
    kw = {"create_graph": create_graph}
    _pair_close(AF.jacobian(f, x, **kw), TAF.jacobian(f, xt, **kw))
    _pair_close(AF.jacobian(f2, (x, w), **kw), TAF.jacobian(f2, (xt, wt), **kw))
    _pair_close(AF.jacobian(f_multi, (x, w), **kw), TAF.jacobian(f_multi, (xt, wt), **kw))
    _pair_close(AF.hessian(f2, (x, w), **kw), TAF.hessian(f2, (xt, wt), **kw))
    _pair_close(
        AF.hessian(lambda a: f(a).sum(), x, **kw), TAF.hessian(lambda a: f(a).sum(), xt, **kw)
    )
    _pair_close(AF.vjp(f, x, v, **kw), TAF.vjp(f, xt, vt, **kw))
    _pair_close(AF.vjp(f2, (x, w), **kw), TAF.vjp(f2, (xt, wt), **kw))
    _pair_close(AF.jvp(f, x, v, **kw), TAF.jvp(f, xt, vt, **kw))
    _pair_close(
        AF.jvp(lambda a: (a[:2] * a[1:]).sum(), x, v, **kw),
        TAF.jvp(lambda a: (a[:2] * a[1:]).sum(), xt, vt, **kw),
    )
    _pair_close(
        AF.hvp(lambda a: f(a).sum(), x, v, **kw), TAF.hvp(lambda a: f(a).sum(), xt, vt, **kw)
    )
    _pair_close(
        AF.hvp(f2, (x, w), (v, rg.tensor(wa)), **kw),
        TAF.hvp(f2, (xt, wt), (vt, torch.from_numpy(wa)), **kw),
    )


def test_functional_create_graph_is_differentiable(rng):
    xa = rng.normal(size=3)
    x = rg.tensor(xa, requires_grad=True)
    xt = torch.from_numpy(xa.copy()).requires_grad_()
    h = AF.hessian(lambda a: (a.sin() * a**2).sum(), x, create_graph=True)
    ht = TAF.hessian(lambda a: (a.sin() * a**2).sum(), xt, create_graph=True)
    assert h.requires_grad
    (d,) = autograd.grad(h.sum(), x)
    (dt,) = torch.autograd.grad(ht.sum(), xt)
    assert_close(d, dt, **TIGHT)


def test_functional_strict_and_vectorize():
    x = rg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="independent of input 0"):
        AF.jacobian(lambda a: rg.tensor([1.0]) * 2, x, strict=True)
    assert AF.jacobian(lambda a: rg.tensor([1.0]) * 2, x).tolist() == [[0.0, 0.0]]
    with pytest.raises(NotImplementedError, match="vectorize=True"):
        AF.jacobian(lambda a: a * 2, x, vectorize=True)
    with pytest.raises(RuntimeError, match="single tensor with one element"):
        AF.hessian(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="v has shapes"):
        AF.vjp(lambda a: a * 2, x, rg.tensor([1.0]))


def test_gradgradcheck_catches_a_wrong_second_derivative():
    """A backward_graph that drops a term fails gradgradcheck (the check can fail)."""
    from retrograd.autograd import higher as hg
    from retrograd.tensor import apply_op

    class BadSquare(autograd.Op):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, g):
            return (2 * g * self.a,)

        def backward_graph(self, g):
            return (2 * g * hg.const(self.a, g),)  # a constant: the second derivative is lost

    x = rg.tensor([0.5, -1.5], dtype=rg.float64, requires_grad=True)
    with pytest.raises(rg.GradcheckError):
        rg.gradgradcheck(lambda a: apply_op(BadSquare, a), [x])
    assert autograd.gradgradcheck is rg.gradgradcheck


def _doc_examples() -> list[str]:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "autograd.md").read_text()
    start = text.index("## Higher-order gradients")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end > 0 else len(text)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    # the two-method sketch of an op is an excerpt, not a runnable example
    return [b for b in blocks if "class Sin(Op)" not in b]


def test_docs_examples_run():
    blocks = _doc_examples()
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/autograd.md", "exec"), namespace)


def test_docs_op_sketch_is_the_real_rule():
    """The Sin excerpt in the docs is what ops/elementwise.py says."""
    source = inspect.getsource(ops.Sin)
    assert "return (g * xp.cos(self.a),)" in source
    assert "return (g * hg.saved_input(self, 0, self.a).cos(),)" in source


def test_logsumexp_row_of_minus_inf_stays_finite_under_create_graph():
    """The recorded gradient equals the first-order one (0 on a row of -inf), no NaN."""
    a = np.array([[1.0, 2.0], [-np.inf, -np.inf]])
    x = rg.tensor(a, requires_grad=True)
    (g,) = autograd.grad(rg.logsumexp(x, 1).sum(), x, create_graph=True)
    (g1,) = autograd.grad(rg.logsumexp(x, 1).sum(), x)
    np.testing.assert_array_equal(g.array, g1.array)
    (h,) = autograd.grad((g * rg.tensor([[1.0, 0.0], [1.0, 1.0]])).sum(), x)
    assert np.isfinite(h.array).all() and (h.array[1] == 0).all()


def test_backward_create_graph_fills_retained_grads():
    x = rg.tensor([0.5, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    (h.sin()).sum().backward(create_graph=True)
    np.testing.assert_allclose(h.grad.array, np.cos(h.array), rtol=1e-6)
    assert h.grad.requires_grad  # recorded: cos(h) depends on x


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_third_derivative_through_a_pool_matches_torch(pool, rng):
    arr = rng.normal(size=(1, 2, 4, 4))
    w = rng.normal(size=arr.shape)

    def third(L, F, lib_grad, x):
        y = (getattr(F, pool)(x, 2) ** 4).sum()
        (g,) = lib_grad(y, x, create_graph=True)
        (h,) = lib_grad(
            (g * (torch.from_numpy(w) if L is torch else rg.tensor(w))).sum(), x, create_graph=True
        )
        return lib_grad(h.sum(), x)[0]

    ours = third(rg, RF, autograd.grad, rg.tensor(arr, requires_grad=True))
    theirs = third(torch, TF, torch.autograd.grad, torch.from_numpy(arr.copy()).requires_grad_())
    assert_close(ours, theirs, **TIGHT)


def test_third_derivative_of_gelu_records_erf(rng):
    """GELU's second derivative records erf; its third derivative goes through Erf's rule."""
    arr = rng.uniform(-2, 2, size=(3, 4))

    def third(L, F, lib_grad, x):
        (g,) = lib_grad(F.gelu(x).sum(), x, create_graph=True)
        (h,) = lib_grad(g.sum(), x, create_graph=True)
        return lib_grad((h * h).sum(), x)[0]

    ours = third(rg, RF, autograd.grad, rg.tensor(arr, requires_grad=True))
    theirs = third(torch, TF, torch.autograd.grad, torch.from_numpy(arr.copy()).requires_grad_())
    assert_close(ours, theirs, **TIGHT)


def test_second_derivative_through_a_dtype_cast_matches_torch(rng):
    """Cast: a float32 detour in a float64 computation, differentiated twice."""
    arr = rng.uniform(-1, 1, size=(3, 4))

    def second(lib, lib_grad, x):
        y = (x.float().sin().double() * x).sum()
        (g,) = lib_grad(y, x, create_graph=True)
        return g, lib_grad((g * g).sum(), x)[0]

    ours = second(rg, autograd.grad, rg.tensor(arr, requires_grad=True))
    theirs = second(torch, torch.autograd.grad, torch.from_numpy(arr.copy()).requires_grad_())
    for a, b in zip(ours, theirs, strict=True):
        assert_close(a.detach(), b.detach(), rtol=1e-6, atol=1e-7)


def _inplace_writes(L, F, x, v):
    """Writes into a slice, through a transposed and a reshaped view, and by an index array."""
    y = x * x
    y[:, 1] = v.exp() * x[:, 0]  # a slice: CopySlices
    z = y.t()
    z[0].mul_(x[:, 2])  # through a view of a view: CopySlices, AsStrided
    flat = y.view(-1)
    flat[1:4].add_(v.sum() ** 2)  # a flat view
    idx = np.array([0, 1])
    rows = torch.from_numpy(idx) if L is torch else rg.tensor(idx)
    y[rows, 2 - rows] = v * v  # an index array: IndexPut
    y[1:, :2] = v[:1].sin()  # a broadcast value
    # z and flat, read after the base changed, are taken again from it: AsStrided
    return (y.sin() * y).sum(-1) + z[1] * x[:, 1] + flat[2:4].exp()


def test_second_derivative_through_inplace_writes_and_views_matches_torch(rng):
    """CopySlices, AsStrided and IndexPut record their gradients: twice, three times, as torch."""
    arrays = [rng.uniform(-1, 1, size=(2, 3)), rng.uniform(-1, 1, size=(2,))]
    _check_against_torch("inplace writes", _inplace_writes, arrays, rng)
    inputs = [rg.tensor(a, requires_grad=True) for a in arrays]
    assert rg.gradgradcheck(lambda x, v: _inplace_writes(rg, RF, x, v), inputs)

    def third(L, lib_grad, x, v):
        (gx, gv) = lib_grad(_inplace_writes(L, None, x, v).sum(), [x, v], create_graph=True)
        (hx,) = lib_grad((gx * gx).sum() + gv.sum(), x, create_graph=True)
        return lib_grad((hx**2).sum(), [x, v])

    ours = third(rg, autograd.grad, *[rg.tensor(a, requires_grad=True) for a in arrays])
    theirs = third(
        torch, torch.autograd.grad, *[torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    )
    for a, b in zip(ours, theirs, strict=True):
        assert_close(a, b, **TIGHT)
