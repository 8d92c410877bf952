"""retrograd.nn against torch.nn: layers, Module, containers, state_dict, repr and utils.

Every layer is built twice, once in each library, with the torch module's
weights loaded into the retrograd one; outputs, input gradients and parameter
gradients are compared in float32 and float64, and float64 gradients are also
checked against central differences with ``retrograd.gradcheck``.
"""

from __future__ import annotations

import copy
import math
import pickle
import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
import retrograd.functional as F
import retrograd.nn as nn

from .conftest import noncontiguous

DTYPES = [np.float32, np.float64]
TOL = {
    np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6),
    np.dtype(np.float64): dict(rtol=1e-10, atol=1e-12),
}


def close(ours, theirs, dtype=None) -> None:
    a = ours.array if isinstance(ours, rg.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    assert a.dtype == b.dtype, f"dtype {a.dtype} != {b.dtype}"
    if a.dtype.kind != "f":
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, **TOL[np.dtype(dtype or a.dtype)])


def torch_state(module: tnn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def twin(make_rg: Callable[[], nn.Module], t_mod: tnn.Module, dtype) -> nn.Module:
    """The retrograd module, cast to ``dtype``, with the torch module's state loaded."""
    if dtype == np.float64:
        t_mod.double()
    m = make_rg()
    if dtype == np.float64:
        m.double()
    m.load_state_dict(torch_state(t_mod))
    return m


def run_both(
    m: nn.Module, t_mod: tnn.Module, x: np.ndarray, seed: int = 0, cmp=None, layout: str = "C"
):
    """Forward and backward (with one random upstream gradient) through both; compare all.

    ``layout="other"`` gives our module the input in a layout that is not C order.
    """
    close_ = cmp or close
    if layout == "C":
        xr = rg.tensor(x, requires_grad=True)
    else:
        xr = rg.from_numpy(noncontiguous(x)).requires_grad_()
    xt = torch.tensor(x, requires_grad=True)
    yr, yt = m(xr), t_mod(xt)
    close_(yr, yt)
    g = np.random.default_rng(seed).standard_normal(yt.shape).astype(x.dtype)
    yr.backward(g)
    yt.backward(torch.from_numpy(g))
    close_(xr.grad, xt.grad)
    rp, tp = dict(m.named_parameters()), dict(t_mod.named_parameters())
    assert rp.keys() == tp.keys()
    for k in rp:
        assert tp[k].grad is not None, f"{k} received no gradient in torch"
        close_(rp[k].grad, tp[k].grad)
    return yr, yt


def data(shape, dtype, seed=0, scale=2.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


# ---------------------------------------------------------------- layers vs torch

LAYERS = {
    "linear": (lambda: nn.Linear(5, 3), lambda: tnn.Linear(5, 3), (4, 5)),
    "linear_nobias": (
        lambda: nn.Linear(5, 3, bias=False),
        lambda: tnn.Linear(5, 3, bias=False),
        (4, 5),
    ),
    "linear_3d": (lambda: nn.Linear(5, 3), lambda: tnn.Linear(5, 3), (2, 4, 5)),
    "linear_1d": (lambda: nn.Linear(5, 3), lambda: tnn.Linear(5, 3), (5,)),
    "flatten": (lambda: nn.Flatten(), lambda: tnn.Flatten(), (2, 3, 4, 5)),
    "flatten_0_2": (lambda: nn.Flatten(0, 2), lambda: tnn.Flatten(0, 2), (2, 3, 4, 5)),
    "layernorm": (lambda: nn.LayerNorm(6), lambda: tnn.LayerNorm(6), (4, 6)),
    "layernorm_2d": (lambda: nn.LayerNorm((3, 4)), lambda: tnn.LayerNorm((3, 4)), (2, 5, 3, 4)),
    "layernorm_nobias": (
        lambda: nn.LayerNorm(6, bias=False),
        lambda: tnn.LayerNorm(6, bias=False),
        (3, 6),
    ),
    "layernorm_noaffine": (
        lambda: nn.LayerNorm(6, elementwise_affine=False),
        lambda: tnn.LayerNorm(6, elementwise_affine=False),
        (3, 6),
    ),
    "relu": (nn.ReLU, tnn.ReLU, (3, 7)),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), lambda: tnn.LeakyReLU(0.2), (3, 7)),
    "leaky_relu_default": (nn.LeakyReLU, tnn.LeakyReLU, (3, 7)),
    "elu": (lambda: nn.ELU(0.7), lambda: tnn.ELU(0.7), (3, 7)),
    "gelu": (nn.GELU, tnn.GELU, (3, 7)),
    "gelu_tanh": (lambda: nn.GELU("tanh"), lambda: tnn.GELU("tanh"), (3, 7)),
    "sigmoid": (nn.Sigmoid, tnn.Sigmoid, (3, 7)),
    "tanh": (nn.Tanh, tnn.Tanh, (3, 7)),
    "softplus": (nn.Softplus, tnn.Softplus, (3, 7)),
    "softplus_beta": (
        lambda: nn.Softplus(beta=2.0, threshold=3.0),
        lambda: tnn.Softplus(beta=2.0, threshold=3.0),
        (3, 7),
    ),
    "softmax": (lambda: nn.Softmax(dim=1), lambda: tnn.Softmax(dim=1), (3, 7)),
    "softmax_0": (lambda: nn.Softmax(dim=0), lambda: tnn.Softmax(dim=0), (3, 7)),
    "log_softmax": (lambda: nn.LogSoftmax(dim=-1), lambda: tnn.LogSoftmax(dim=-1), (2, 3, 7)),
    "identity": (nn.Identity, tnn.Identity, (3, 7)),
}


@pytest.mark.parametrize("layout", ["C", "other"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_torch(name, dtype, layout):
    make_rg, make_t, shape = LAYERS[name]
    torch.manual_seed(0)
    t_mod = make_t()
    if any(True for _ in t_mod.parameters()):  # random affine parameters, not just 1s and 0s
        with torch.no_grad():
            for p in t_mod.parameters():
                p.copy_(torch.randn(p.shape) * 0.5 + 1.0)
    m = twin(make_rg, t_mod, dtype)
    run_both(m, t_mod, data(shape, dtype), layout=layout)


BN_CASES = {
    "2d": (dict(), (8, 4)),
    "3d": (dict(), (5, 4, 3)),
    "momentum": (dict(momentum=0.3, eps=1e-3), (6, 4)),
    "cumulative": (dict(momentum=None), (6, 4, 2)),
    "no_affine": (dict(affine=False), (6, 4)),
    "no_stats": (dict(track_running_stats=False), (6, 4, 2)),
    "no_bias": (dict(bias=False), (6, 4)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", list(BN_CASES))
def test_batchnorm1d_train_then_eval_matches_torch(case, dtype):
    kw, shape = BN_CASES[case]
    torch.manual_seed(0)
    t_mod = tnn.BatchNorm1d(4, **kw)
    with torch.no_grad():
        for p in t_mod.parameters():
            p.copy_(torch.rand(4) + 0.5)
    m = twin(lambda: nn.BatchNorm1d(4, **kw), t_mod, dtype)
    # several training steps: outputs, gradients and the running statistics after each
    for step in range(4):
        m.zero_grad()
        t_mod.zero_grad()
        run_both(m, t_mod, data(shape, dtype, seed=step, scale=1 + step) + step, seed=step)
        for k, v in t_mod.state_dict().items():
            close(m.state_dict()[k], v)
    if t_mod.track_running_stats:
        assert int(m.num_batches_tracked.item()) == 4
        assert m.num_batches_tracked.dtype == np.int64
    m.eval()
    t_mod.eval()
    m.zero_grad()
    t_mod.zero_grad()
    run_both(m, t_mod, data(shape, dtype, seed=9))
    for k, v in t_mod.state_dict().items():  # evaluation leaves the statistics alone
        close(m.state_dict()[k], v)


def test_batchnorm1d_running_var_is_unbiased():
    m = nn.BatchNorm1d(2, momentum=1.0)
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]], dtype=np.float32)
    m(rg.tensor(x))
    np.testing.assert_allclose(m.running_mean.array, x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(m.running_var.array, x.var(0, ddof=1), rtol=1e-6)


def test_batchnorm1d_input_errors():
    m = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 1D"):
        m(rg.randn(3))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D"):
        m(rg.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3, .*\(N, 3\).*got \(4, 5\)"):
        m(rg.randn(4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        m(rg.randn(1, 3))
    m.eval()
    assert m(rg.randn(1, 3)).shape == (1, 3)  # one sample is fine with running statistics
    with pytest.raises(ValueError, match="num_features must be non-negative"):
        nn.BatchNorm1d(-2)


def test_batch_norm_functional_matches_torch():
    x = data((6, 3, 2), np.float64)
    rm, rv = np.zeros(3), np.ones(3)
    w, b = data(3, np.float64, 1), data(3, np.float64, 2)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    ours = F.batch_norm(
        rg.tensor(x), rg.tensor(rm), rg.tensor(rv), rg.tensor(w), rg.tensor(b), True, 0.2, 1e-3
    )
    theirs = TF.batch_norm(
        torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b), True, 0.2, 1e-3
    )
    close(ours, theirs)
    # the running statistics were updated in place through the tensors given
    r_m, r_v = rg.tensor(rm.copy()), rg.tensor(rv.copy())
    F.batch_norm(rg.tensor(x), r_m, r_v, training=True, momentum=0.2)
    TF.batch_norm(
        torch.tensor(x), trm2 := torch.tensor(rm), trv2 := torch.tensor(rv), None, None, True, 0.2
    )
    close(r_m, trm2)
    close(r_v, trv2)
    ours = F.batch_norm(rg.tensor(x), r_m, r_v)  # training=False by default, as torch
    close(ours, TF.batch_norm(torch.tensor(x), trm2, trv2))
    with pytest.raises(ValueError, match="running_mean and running_var are required"):
        F.batch_norm(rg.tensor(x), None, None)


def test_layer_norm_functional_and_errors():
    x = data((2, 3, 4), np.float64)
    close(F.layer_norm(rg.tensor(x), (3, 4)), TF.layer_norm(torch.tensor(x), (3, 4)))
    close(F.layer_norm(rg.tensor(x), 4, eps=0.1), TF.layer_norm(torch.tensor(x), (4,), eps=0.1))
    with pytest.raises(ValueError, match=r"does not end with normalized_shape \(3,\)"):
        F.layer_norm(rg.tensor(x), 3)
    with pytest.raises(ValueError, match=r"LayerNorm\(\(5,\).*expected input of shape \(\*, 5\)"):
        nn.LayerNorm(5)(rg.tensor(x))


# ---------------------------------------------------------------- gradcheck in float64


def functional_call(module: nn.Module, names: list[str], tensors, x):
    """Run ``module(x)`` with its parameters replaced by ``tensors`` (as torch.func)."""
    saved = []
    for name, t in zip(names, tensors, strict=True):
        owner, _, attr = name.rpartition(".")
        mod = module.get_submodule(owner)
        saved.append((mod, attr, mod._parameters[attr]))
        mod._parameters[attr] = t  # bypasses the Parameter check on purpose
    try:
        return module(x)
    finally:
        for mod, attr, p in saved:
            mod._parameters[attr] = p


GRADCHECK = {
    "linear": (lambda: nn.Linear(4, 3), (2, 4)),
    "linear_nobias": (lambda: nn.Linear(4, 3, bias=False), (2, 4)),
    "linear_3d": (lambda: nn.Linear(3, 2), (2, 2, 3)),
    "batchnorm_2d": (lambda: nn.BatchNorm1d(3), (4, 3)),
    "batchnorm_3d": (lambda: nn.BatchNorm1d(2), (3, 2, 2)),
    "batchnorm_eval": (lambda: nn.BatchNorm1d(3).eval(), (4, 3)),
    "batchnorm_noaffine": (lambda: nn.BatchNorm1d(3, affine=False), (4, 3)),
    "layernorm": (lambda: nn.LayerNorm(4), (3, 4)),
    "layernorm_2d": (lambda: nn.LayerNorm((2, 3)), (2, 2, 3)),
    "layernorm_nobias": (lambda: nn.LayerNorm(4, bias=False), (2, 4)),
    "flatten": (nn.Flatten, (2, 2, 3)),
    "relu": (nn.ReLU, (3, 4)),
    "leaky_relu": (lambda: nn.LeakyReLU(0.1), (3, 4)),
    "elu": (nn.ELU, (3, 4)),
    "gelu": (nn.GELU, (3, 4)),
    "gelu_tanh": (lambda: nn.GELU("tanh"), (3, 4)),
    "sigmoid": (nn.Sigmoid, (3, 4)),
    "tanh": (nn.Tanh, (3, 4)),
    "softplus": (lambda: nn.Softplus(beta=1.5, threshold=4.0), (3, 4)),
    "softmax": (lambda: nn.Softmax(dim=1), (3, 4)),
    "log_softmax": (lambda: nn.LogSoftmax(dim=0), (3, 4)),
    "identity": (nn.Identity, (3, 4)),
    "mlp": (
        lambda: nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Tanh(), nn.Linear(4, 2)),
        (3, 3),
    ),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck_layer(name):
    make, shape = GRADCHECK[name]
    rg.manual_seed(0)
    m = make().double()
    names = [n for n, _ in m.named_parameters()]
    params = []
    for p in m.parameters():
        # move affine parameters away from their 1/0 init so every term matters
        params.append(
            rg.tensor(
                p.array + 0.3 * np.random.default_rng(1).standard_normal(p.shape),
                requires_grad=True,
            )
        )
    if isinstance(m, nn.BatchNorm1d) and not m.training:
        m.running_mean.array[...] = [0.1, -0.2, 0.3]
        m.running_var.array[...] = [0.5, 1.5, 2.0]
    x = rg.tensor(data(shape, np.float64, seed=3) + 0.05, requires_grad=True)
    assert rg.gradcheck(lambda x, *ps: functional_call(m, names, ps, x), [x, *params])


def test_gradcheck_dropout_with_a_fixed_mask():
    m = nn.Dropout(0.4)
    x = rg.tensor(data((3, 5), np.float64), requires_grad=True)

    def fn(x):
        rg.manual_seed(5)  # the same mask on every call
        return m(x)

    assert rg.gradcheck(fn, [x])
    assert (fn(x).array == 0).any()  # the check really went through a mask


# ---------------------------------------------------------------- Linear


def test_linear_default_init_follows_torch():
    rg.manual_seed(0)
    m = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) and the bias rule both give it
    for p in (m.weight, m.bias):
        assert np.abs(p.array).max() <= bound
        assert np.abs(p.array).max() > 0.99 * bound
    np.testing.assert_allclose(m.weight.array.std(), bound / math.sqrt(3), rtol=0.02)
    t = tnn.Linear(400, 300)  # torch's own draw obeys the same bound
    assert t.weight.abs().max().item() <= bound
    assert m.weight.shape == (300, 400) and m.bias.shape == (300,)
    assert m.weight.dtype == np.float32 and m.weight.requires_grad and m.weight.is_leaf
    rg.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.array, m.weight.array)


def test_linear_dtype_and_errors():
    m = nn.Linear(4, 2, dtype=rg.float64)
    assert m.weight.dtype == np.float64 and m.bias.dtype == np.float64
    assert m(rg.randn(3, 4, dtype=rg.float64)).dtype == np.float64
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Linear(in_features=4, out_features=2, bias=True): expected input of shape (*, 4), "
            "got (3, 5)"
        ),
    ):
        m(rg.randn(3, 5, dtype=rg.float64))
    with pytest.raises(TypeError, match="input has dtype float32 but weight has dtype float64"):
        m(rg.randn(3, 4))
    with pytest.raises(ValueError, match="in_features must be non-negative, got -1"):
        nn.Linear(-1, 3)
    with pytest.raises(TypeError, match="out_features must be an int"):
        nn.Linear(3, 2.5)
    with pytest.raises(TypeError, match="floating dtype"):
        nn.Linear(3, 2, dtype=rg.int64)
    with pytest.raises(ValueError, match=r"linear\(\): bias must have shape \(2,\)"):
        F.linear(rg.randn(3, 4), rg.randn(2, 4), rg.randn(3))


def test_linear_functional_matches_torch():
    x, w, b = data((3, 2, 4), np.float64), data((5, 4), np.float64, 1), data(5, np.float64, 2)
    xr, wr, br = (rg.tensor(a, requires_grad=True) for a in (x, w, b))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yr, yt = F.linear(xr, wr, br), TF.linear(xt, wt, bt)
    close(yr, yt)
    (yr * yr).sum().backward()
    (yt * yt).sum().backward()
    for a, c in ((xr, xt), (wr, wt), (br, bt)):
        close(a.grad, c.grad)
    close(F.linear(xr, wr), TF.linear(xt, wt))


def test_linear_is_one_fused_node():
    m = nn.Linear(3, 2)
    y = m(rg.randn(4, 3))
    assert y.grad_fn.name == "LinearBackward0"
    assert all(isinstance(n, nn.Parameter) for n in y.grad_fn.next[1:])


# ---------------------------------------------------------------- Dropout


def test_dropout_eval_is_identity_and_train_scales():
    m = nn.Dropout(0.25)
    x = rg.ones(200_000, requires_grad=True)
    m.eval()
    assert m(x) is x
    m.train()
    y = m(x)
    kept = y.array != 0
    np.testing.assert_allclose(y.array[kept], 1 / 0.75, rtol=1e-6)
    # zeroed fraction ~ p: the binomial std is 0.001, so 0.01 is a ten-sigma band
    assert abs((~kept).mean() - 0.25) < 0.01
    y.backward(np.full(y.shape, 2.0, dtype=np.float32))
    np.testing.assert_allclose(x.grad.array, 2.0 * kept / 0.75, rtol=1e-6)
    # same statistics as torch's dropout
    t = tnn.Dropout(0.25)(torch.ones(200_000))
    assert abs((t == 0).float().mean().item() - (~kept).mean()) < 0.015


def test_dropout_mask_is_reproducible_under_manual_seed():
    m = nn.Dropout(0.5)
    x = rg.randn(50, 20)
    rg.manual_seed(7)
    a = m(x)
    rg.manual_seed(7)
    b = m(x)
    c = m(x)
    np.testing.assert_array_equal(a.array, b.array)
    assert not np.array_equal(b.array, c.array)
    g = rg.Generator(3)
    d = F.dropout(x, 0.5, generator=g)
    np.testing.assert_array_equal(d.array, F.dropout(x, 0.5, generator=rg.Generator(3)).array)


def test_dropout_edge_probabilities_and_validation():
    x = rg.randn(4, 5, dtype=rg.float64)
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).array, np.zeros((4, 5)))
    assert F.dropout(x, 0.9, training=False) is x
    for p in (-0.1, 1.5, "0.5", True):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, p)
    assert nn.Dropout(0.3)(x).dtype == np.float64


# ---------------------------------------------------------------- Module


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(8, 2), nn.Linear(8, 2)])
        self.extra = nn.ModuleDict({"norm": nn.LayerNorm(2), "act": nn.GELU()})
        self.scale = nn.Parameter(rg.ones(2))

    def forward(self, x):
        h = self.features(x)
        return (
            self.extra["act"](self.extra["norm"](self.heads[0](h) + self.heads[1](h))) * self.scale
        )


class TNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.features = tnn.Sequential(tnn.Linear(4, 8), tnn.BatchNorm1d(8), tnn.ReLU())
        self.heads = tnn.ModuleList([tnn.Linear(8, 2), tnn.Linear(8, 2)])
        self.extra = tnn.ModuleDict({"norm": tnn.LayerNorm(2), "act": tnn.GELU()})
        self.scale = tnn.Parameter(torch.ones(2))

    def forward(self, x):
        h = self.features(x)
        return (
            self.extra["act"](self.extra["norm"](self.heads[0](h) + self.heads[1](h))) * self.scale
        )


def make_pair():
    return Net(), TNet()


def test_names_and_order_match_torch():
    ours, theirs = make_pair()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [type(m).__name__ for m in ours.modules()][1:] == [
        type(m).__name__ for m in theirs.modules()
    ][1:]
    assert [type(m).__name__ for m in ours.children()] == [
        type(m).__name__ for m in theirs.children()
    ]
    n_torch = sum(p.numel() for p in theirs.parameters())
    assert sum(p.numel() for p in ours.parameters()) == n_torch == ours.num_parameters()
    assert len(list(ours.buffers())) == len(list(theirs.buffers())) == 3


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_whole_model_matches_torch_after_loading_its_state_dict(dtype):
    ours, theirs = make_pair()
    if dtype == np.float64:
        ours.double()
        theirs.double()
    ours.load_state_dict(torch_state(theirs))
    x = data((5, 4), dtype)

    def cmp(a, b):
        # NOTE: LayerNorm(2) after BatchNorm over 5 samples amplifies float32 rounding
        # (its backward subtracts nearly equal terms), so float32 gets 1e-4 here.
        a, b = np.asarray(a.array), b.detach().numpy()
        assert a.dtype == b.dtype
        opts = TOL[a.dtype] if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(a, b, **opts)

    for _ in range(2):  # training mode: batch statistics, updates of running ones
        ours.zero_grad()
        theirs.zero_grad()
        run_both(ours, theirs, x, cmp=cmp)
    for k, v in theirs.state_dict().items():
        close(ours.state_dict()[k], v)
    ours.eval()
    theirs.eval()
    close(ours(rg.tensor(x)), theirs(torch.tensor(x)))


def test_shared_parameters_are_listed_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(3, 5)
            self.dec = nn.Linear(5, 3)
            self.dec.weight = self.enc.weight  # a (5, 3) weight used both ways
            self.again = self.enc

    class TTied(tnn.Module):
        def __init__(self):
            super().__init__()
            self.enc = tnn.Linear(3, 5)
            self.dec = tnn.Linear(5, 3)
            self.dec.weight = self.enc.weight
            self.again = self.enc

    ours, theirs = Tied(), TTied()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert list(ours.state_dict()) == list(theirs.state_dict())  # the state_dict keeps both
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters()) == 15 + 5 + 3
    assert len(list(ours.named_parameters(remove_duplicate=False))) == len(
        list(theirs.named_parameters(remove_duplicate=False))
    )


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    t = rg.randn(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, rg.Tensor) and p.is_leaf and p.requires_grad
    assert p.array is t.array  # shares the array, as torch.nn.Parameter
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(rg.tensor([1, 2]))
    (p * 2).sum().backward()
    np.testing.assert_array_equal(p.grad.array, np.full((2, 3), 2.0, dtype=np.float32))
    assert type(p * 2) is rg.Tensor


def test_setattr_registration_and_errors():
    m = nn.Module()
    m.w = nn.Parameter(rg.ones(2))
    m.child = nn.Linear(2, 2)
    m.register_buffer("stat", rg.zeros(2))
    m.register_buffer("tmp", rg.zeros(1), persistent=False)
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["child"]
    assert list(m.state_dict()) == ["w", "stat", "child.weight", "child.bias"]
    assert [n for n, _ in m.named_buffers()] == ["stat", "tmp"]
    with pytest.raises(TypeError, match=r"cannot assign 'Tensor' as parameter 'w'"):
        m.w = rg.ones(2)
    m.w = None  # allowed: an absent parameter
    assert m.w is None and "w" not in dict(m.named_parameters())
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'stat'"):
        m.stat = 3
    m.stat = rg.ones(2)
    assert m._buffers["stat"].array.sum() == 2
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'child'"):
        m.child = 3
    m.child = nn.Linear(3, 3)  # a module replaces a module
    # re-assigning a name to another kind moves it between registries
    m.child = nn.Parameter(rg.ones(1))
    assert "child" in m._parameters and "child" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        _ = m.nope
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", rg.zeros(1))
    with pytest.raises(KeyError, match="be empty or contain"):
        m.register_buffer("a.b", rg.zeros(1))
    del m.stat
    assert "stat" not in m._buffers

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(rg.ones(1))

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Early()

    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match='missing the "forward" method'):
        NoForward()(rg.ones(1))


def test_non_persistent_buffer_matches_torch():
    ours, theirs = nn.Module(), tnn.Module()
    ours.register_buffer("a", rg.zeros(1))
    ours.register_buffer("b", rg.zeros(1), persistent=False)
    theirs.register_buffer("a", torch.zeros(1))
    theirs.register_buffer("b", torch.zeros(1), persistent=False)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["a"]


def test_train_eval_is_recursive():
    ours, _ = make_pair()
    assert all(m.training for m in ours.modules())
    assert ours.eval() is ours
    assert not any(m.training for m in ours.modules())
    ours.features.train()
    assert ours.features[1].training and not ours.training and not ours.heads[0].training
    with pytest.raises(ValueError, match="boolean"):
        ours.train("yes")


def test_zero_grad_and_requires_grad_():
    m = nn.Linear(3, 2)
    m(rg.randn(4, 3)).sum().backward()
    grad = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is grad and not grad.array.any()
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())
    assert m.num_parameters(only_trainable=True) == 0 and m.num_parameters() == 8
    assert not m(rg.randn(4, 3)).requires_grad


def test_apply_visits_children_first_like_torch():
    ours, theirs = make_pair()
    seen_ours, seen_theirs = [], []
    ours.apply(lambda m: seen_ours.append(type(m).__name__))
    theirs.apply(lambda m: seen_theirs.append(type(m).__name__))
    assert seen_ours[:-1] == seen_theirs[:-1] and seen_ours[-1] == "Net"

    def init_linear(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)

    ours.apply(init_linear)
    assert not ours.heads[1].bias.array.any()


def test_double_and_float_cast_in_place():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    w = m[0].weight
    m(rg.randn(4, 3)).sum().backward()
    assert m.double() is m
    assert m[0].weight is w and w.dtype == np.float64 and w.grad.dtype == np.float64
    assert m[1].running_mean.dtype == np.float64
    assert m[1].num_batches_tracked.dtype == np.int64
    assert m(rg.randn(4, 3, dtype=rg.float64)).dtype == np.float64
    m.float()
    assert w.dtype == np.float32 and m[1].running_var.dtype == np.float32
    m.to(rg.float64)
    assert w.dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        m.to(rg.int32)


def test_deepcopy_and_pickle_give_independent_equal_models():
    ours, _ = make_pair()
    x = rg.randn(3, 4)
    ours.eval()
    for clone in (copy.deepcopy(ours), pickle.loads(pickle.dumps(ours))):
        np.testing.assert_array_equal(clone(x).array, ours(x).array)
        assert clone.features[0].weight is not ours.features[0].weight
        assert isinstance(clone.features[0].weight, nn.Parameter)
        clone.features[0].weight.array[...] = 0
        assert ours.features[0].weight.array.any()


def test_get_submodule():
    ours, _ = make_pair()
    assert ours.get_submodule("features.1") is ours.features[1]
    assert ours.get_submodule("") is ours
    with pytest.raises(AttributeError, match="no submodule `missing`"):
        ours.get_submodule("features.missing")


# ---------------------------------------------------------------- state_dict


def seq_pair():
    torch.manual_seed(0)
    theirs = tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.ReLU(), tnn.Linear(4, 2))
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    return ours, theirs


def test_state_dict_keys_and_values():
    ours, theirs = seq_pair()
    sd = ours.state_dict()
    assert (
        list(sd)
        == list(theirs.state_dict())
        == [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked",
            "3.weight",
            "3.bias",
        ]
    )
    assert not sd["0.weight"].requires_grad
    assert sd["1.num_batches_tracked"].dtype == np.int64 and sd["1.num_batches_tracked"].shape == ()
    assert sd["0.weight"].array is ours[0].weight.array  # shares memory, as torch
    assert ours.state_dict(keep_vars=True)["0.weight"] is ours[0].weight


def test_load_torch_state_dict_gives_identical_outputs():
    ours, theirs = seq_pair()
    x = data((5, 3), np.float32)
    theirs(torch.tensor(x))  # move the running statistics away from 0 and 1
    result = ours.load_state_dict(torch_state(theirs))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    ours.eval()
    theirs.eval()
    close(ours(rg.tensor(x)), theirs(torch.tensor(x)))
    # torch tensors are accepted directly, and the way back works too
    ours.load_state_dict(theirs.state_dict())
    back = tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.ReLU(), tnn.Linear(4, 2))
    back.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
    )
    back.eval()
    close(ours(rg.tensor(x)), back(torch.tensor(x)))


def test_load_state_dict_copies_and_keeps_dtype():
    ours, theirs = seq_pair()
    sd = {
        k: v.astype(np.float64) if v.dtype.kind == "f" else v
        for k, v in torch_state(theirs).items()
    }
    w = ours[0].weight
    ours.load_state_dict(sd)
    assert ours[0].weight is w and w.dtype == np.float32 and w.requires_grad
    np.testing.assert_allclose(w.array, sd["0.weight"], rtol=1e-7)
    sd["0.weight"][...] = 7.0  # the module holds a copy
    assert not (w.array == 7.0).any()
    sd["1.num_batches_tracked"] = np.array(5)
    ours.load_state_dict(sd)
    assert ours[1].num_batches_tracked.item() == 5
    assert ours[1].num_batches_tracked.dtype == np.int64


def test_load_state_dict_strict_errors_list_keys_and_shapes():
    ours, theirs = seq_pair()
    sd = torch_state(theirs)
    del sd["3.bias"]
    sd["3.extra"] = np.zeros(1)
    sd["9.weight"] = np.zeros(1)
    with pytest.raises(RuntimeError) as info:
        ours.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "3.bias".' in msg
    # as torch: the root reports the keys of no child first, then each child its own
    assert 'Unexpected key(s) in state_dict: "9.weight", "3.extra".' in msg
    with pytest.raises(RuntimeError) as tinfo:  # torch reports the same keys
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    assert 'Missing key(s) in state_dict: "3.bias".' in str(tinfo.value)
    assert str(tinfo.value) == msg
    # strict=False: load what matches and report the rest
    before = ours[3].bias.array.copy()
    result = ours.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["3.bias"]
    assert result.unexpected_keys == ["9.weight", "3.extra"]
    np.testing.assert_array_equal(ours[3].weight.array, sd["3.weight"])
    np.testing.assert_array_equal(ours[3].bias.array, before)
    # a shape mismatch raises even when strict=False, naming the key and both shapes
    sd = torch_state(theirs)
    sd["0.weight"] = np.zeros((3, 4), dtype=np.float32)
    for strict in (True, False):
        with pytest.raises(
            RuntimeError,
            match=re.escape(
                "size mismatch for 0.weight: copying a param with shape (3, 4) from checkpoint, "
                "the shape in current model is (4, 3)."
            ),
        ):
            ours.load_state_dict(sd, strict=strict)
    with pytest.raises(TypeError, match="dict-like"):
        ours.load_state_dict([1, 2])


def test_load_state_dict_without_num_batches_tracked_like_torch():
    ours, theirs = seq_pair()
    sd = torch_state(theirs)
    del sd["1.num_batches_tracked"]
    for key in sd:  # values that differ from both models' own, to see that they load
        sd[key] = sd[key] + 1
    ours[1].num_batches_tracked.array[...] = 3
    with torch.no_grad():
        theirs[1].num_batches_tracked.fill_(3)
    # no error, as in torch (state_dicts from before the buffer), and the count is kept
    ours.load_state_dict(sd)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    assert ours[1].num_batches_tracked.item() == theirs[1].num_batches_tracked.item() == 3
    for key, value in sd.items():
        np.testing.assert_array_equal(ours.state_dict()[key], value)


# ---------------------------------------------------------------- repr


def test_repr_matches_torch_for_a_nested_model():
    def build(lib):
        return lib.Sequential(
            OrderedDict(
                [
                    ("flat", lib.Flatten()),
                    ("body", lib.Sequential(lib.Linear(12, 8), lib.BatchNorm1d(8, momentum=None))),
                    (
                        "acts",
                        lib.ModuleList([lib.ReLU(), lib.ReLU(), lib.LeakyReLU(0.2), lib.ELU()]),
                    ),
                    (
                        "heads",
                        lib.ModuleDict(
                            {
                                "a": lib.Linear(8, 2, bias=False),
                                "b": lib.Sequential(lib.LayerNorm((8,)), lib.GELU("tanh")),
                            }
                        ),
                    ),
                    ("drop", lib.Dropout(0.1)),
                    ("sp", lib.Softplus(beta=2.0)),
                    ("misc", lib.ModuleList([lib.Sigmoid(), lib.Tanh(), lib.Identity()])),
                    ("sm", lib.Softmax(dim=1)),
                    ("lsm", lib.LogSoftmax(dim=-1)),
                    ("ln", lib.LayerNorm(4, elementwise_affine=False, eps=1e-6)),
                    ("bn", lib.BatchNorm1d(3, affine=False, track_running_stats=False)),
                    ("bn2", lib.BatchNorm1d(3, bias=False)),
                    ("empty", lib.ModuleList()),
                ]
            )
        )

    assert repr(build(nn)) == repr(build(tnn))
    assert repr(nn.ReLU(inplace=True)) == repr(tnn.ReLU(inplace=True))
    assert repr(nn.LeakyReLU(inplace=True)) == repr(tnn.LeakyReLU(inplace=True))

    class Custom(nn.Module):
        def __init__(self, lib):
            super().__init__()
            self.block = lib.Sequential(lib.Linear(2, 2))
            self.out = lib.Linear(2, 1)

    class TCustom(tnn.Module):
        def __init__(self, lib):
            super().__init__()
            self.block = lib.Sequential(lib.Linear(2, 2))
            self.out = lib.Linear(2, 1)

    assert repr(Custom(nn)).replace("Custom", "X") == repr(TCustom(tnn)).replace("TCustom", "X")


# ---------------------------------------------------------------- containers


def test_sequential_behaves_like_torch():
    layers = lambda lib: [lib.Linear(2, 3), lib.ReLU(), lib.Linear(3, 1), lib.Tanh()]  # noqa: E731
    ours, theirs = nn.Sequential(*layers(nn)), tnn.Sequential(*layers(tnn))
    assert len(ours) == 4
    assert type(ours[1]).__name__ == "ReLU" and ours[-1] is ours[3]
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    sub, tsub = ours[1:3], theirs[1:3]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == list(tsub._modules) == [
        "1",
        "2",
    ]
    for seq in (ours, theirs):
        del seq[1]
    assert list(ours._modules) == list(theirs._modules)
    ours.insert(1, nn.Sigmoid())
    theirs.insert(1, tnn.Sigmoid())
    ours.append(nn.Identity())
    theirs.append(tnn.Identity())
    assert repr(ours) == repr(theirs)
    assert type(ours.pop(0)).__name__ == type(theirs.pop(0)).__name__
    assert repr(ours) == repr(theirs)
    ours[0] = nn.GELU()
    assert isinstance(ours[0], nn.GELU)
    with pytest.raises(IndexError, match="out of range"):
        ours[10]
    with pytest.raises(TypeError, match="expected a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    x = rg.randn(3, 2)
    np.testing.assert_array_equal(named(x).array, named.act(named.fc(x)).array)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2)])
    ml.append(nn.ReLU()).extend([nn.Tanh(), nn.Sigmoid()])
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Tanh", "Sigmoid"]
    assert list(ml._modules) == ["0", "1", "2", "3", "4"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2", "3"] and isinstance(ml[0], nn.Linear)
    assert list(ml.state_dict()) == ["0.weight", "0.bias"]
    ml += [nn.ELU()]
    assert len(ml) == 5 and len(ml + ml) == 10
    with pytest.raises(TypeError, match="iterable of modules"):
        ml.extend(nn.ReLU())
    with pytest.raises(NotImplementedError):
        ml(rg.ones(1))

    md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    md["c"] = nn.Tanh()
    md.update([("d", nn.Sigmoid())])
    assert list(md) == list(md.keys()) == ["a", "b", "c", "d"] and "a" in md and len(md) == 4
    assert list(md.state_dict()) == ["a.weight", "a.bias"]
    assert isinstance(md.pop("c"), nn.Tanh) and "c" not in md
    assert [type(v).__name__ for v in md.values()] == ["Linear", "ReLU", "Sigmoid"]
    with pytest.raises(KeyError, match="no module 'z'"):
        md["z"]
    with pytest.raises(ValueError, match="pair"):
        md.update([nn.ReLU()])
    md.clear()
    assert len(md) == 0


# ---------------------------------------------------------------- utils


def grads_pair(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    ours, theirs = [], []
    for s in shapes:
        v, g = rng.standard_normal(s), rng.standard_normal(s) * 3
        p = nn.Parameter(rg.tensor(v))
        p.grad = rg.tensor(g)
        t = torch.tensor(v, requires_grad=True)
        t.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    ours.append(nn.Parameter(rg.ones(2, dtype=rg.float64)))  # no grad: skipped
    theirs.append(torch.ones(2, dtype=torch.float64, requires_grad=True))
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = grads_pair()
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    close(total, t_total)
    for p, t in zip(ours, theirs, strict=True):
        if t.grad is None:
            assert p.grad is None
        else:
            close(p.grad, t.grad)
    if max_norm < 1:  # it clipped: the new total is max_norm
        new = nn.utils.clip_grad_norm_(ours, 1e9, norm_type)
        np.testing.assert_allclose(new.item(), max_norm, rtol=1e-5)


def test_clip_grad_norm_single_tensor_nonfinite_and_empty():
    p = nn.Parameter(rg.tensor([3.0, 4.0]))
    p.grad = rg.tensor([3.0, 4.0])
    grad = p.grad
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    assert p.grad is grad  # in place, as torch
    np.testing.assert_allclose(p.grad.array, [0.6, 0.8], rtol=1e-5)
    p.grad = rg.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([nn.Parameter(rg.ones(2))], 1.0).item() == 0.0


def test_clip_grad_value_and_vector_round_trip_match_torch():
    ours, theirs = grads_pair(1)
    nn.utils.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(ours[:3], theirs[:3], strict=True):
        close(p.grad, t.grad)
    with pytest.raises(ValueError, match="non-negative"):
        nn.utils.clip_grad_value_(ours, -1.0)
    vec = nn.utils.parameters_to_vector(ours)
    close(vec, torch.nn.utils.parameters_to_vector(theirs))
    nn.utils.vector_to_parameters(vec * 2, ours)
    torch.nn.utils.vector_to_parameters(torch.nn.utils.parameters_to_vector(theirs) * 2, theirs)
    for p, t in zip(ours, theirs, strict=True):
        close(p.array, t.detach().numpy())
    with pytest.raises(ValueError, match=r"vec must have shape \(26,\)"):
        nn.utils.vector_to_parameters(rg.ones(3, dtype=rg.float64), ours)


def test_functional_namespaces():
    import retrograd.nn.functional as NF

    assert NF.linear is F.linear and NF.relu is F.relu and rg.nn is nn
    assert rg.functional.batch_norm is F.batch_norm
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        NF.nope  # noqa: B018
    # every public name is defined (or imported) in nn.functional itself: no proxy
    assert set(F.__all__) == set(NF.__all__)
    for name in NF.__all__:
        assert name in vars(NF) and getattr(F, name) is vars(NF)[name]
    assert NF.cross_entropy.__module__ == "retrograd.nn.functional"


def test_nn_functional_imports_only_the_engine():
    # the layer modules import nn.functional; it must not import them back (no cycle)
    import ast

    import retrograd.nn.functional as NF

    tree = ast.parse(Path(NF.__file__).read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0 and node.module
    }
    imported |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0 and not node.module
        for alias in node.names
    }
    engine = {"ops", "_backend", "autograd", "random", "tensor", "tensor_functions", "validation"}
    engine.add("_docstrings")  # stdlib only: the shared docstring fields
    assert imported and imported <= engine, imported - engine


# ---------------------------------------------------------------- shapes (hypothesis)


@settings(max_examples=25, deadline=None)
@given(
    lead=st.lists(st.integers(0, 3), min_size=0, max_size=3),
    dims=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    bias=st.booleans(),
)
def test_linear_any_leading_shape_matches_torch(lead, dims, bias):
    n_in, n_out = dims
    t_mod = tnn.Linear(n_in, n_out, bias=bias).double()
    m = twin(lambda: nn.Linear(n_in, n_out, bias=bias), t_mod, np.float64)
    run_both(m, t_mod, data((*lead, n_in), np.float64))


@settings(max_examples=25, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    norm=st.lists(st.integers(1, 4), min_size=1, max_size=2),
    affine=st.booleans(),
)
def test_layernorm_any_shape_matches_torch(lead, norm, affine):
    norm = tuple(norm)
    t_mod = tnn.LayerNorm(norm, elementwise_affine=affine).double()
    with torch.no_grad():
        for p in t_mod.parameters():
            p.copy_(torch.randn(p.shape, dtype=torch.float64))
    m = twin(lambda: nn.LayerNorm(norm, elementwise_affine=affine), t_mod, np.float64)
    run_both(m, t_mod, data((*lead, *norm), np.float64) + 1.0)
