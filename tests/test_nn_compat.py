"""The PyTorch-compatibility layers and functions of issue 19 against torch 2.13.

Each function is run in both libraries on the same values, in float32 and float64:
outputs and gradients (of the input and of the parameters) must agree; float64
gradients are also checked against central differences; modules' state_dict keys
must be torch's; bad arguments must raise.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
import retrograd.nn as nn
import retrograd.nn.functional as F

DTYPES = [np.float32, np.float64]
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}


def close(ours, theirs, dtype) -> None:
    a = ours.array if isinstance(ours, rg.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, **TOL[dtype])


def both(fn_rg, fn_t, *arrays, dtype, grad_seed=0):
    """Run ``fn_rg`` and ``fn_t`` on the same inputs; compare outputs and input gradients.

    A gradient that torch leaves NaN (kl_div's target where it is 0) is compared elsewhere.
    """
    xs = [rg.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    y, yt = fn_rg(*xs), fn_t(*ts)
    close(y, yt, dtype)
    g = np.random.default_rng(grad_seed).normal(size=y.shape).astype(dtype)
    y.backward(rg.tensor(g))
    yt.backward(torch.from_numpy(g))
    for x, t in zip(xs, ts, strict=True):
        finite = torch.isfinite(t.grad).numpy()
        close(x.grad.array[finite], t.grad.numpy()[finite], dtype)
    return xs


def data(*shape, seed=0, scale=2.0):
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


# ---------------------------------------------------------------- activations

ACTIVATIONS = [
    (F.silu, TF.silu, nn.SiLU, tnn.SiLU),
    (F.mish, TF.mish, nn.Mish, tnn.Mish),
    (F.hardtanh, TF.hardtanh, nn.Hardtanh, tnn.Hardtanh),
    (F.logsigmoid, TF.logsigmoid, nn.LogSigmoid, tnn.LogSigmoid),
    (F.softsign, TF.softsign, nn.Softsign, tnn.Softsign),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("f, tf, mod, tmod", ACTIVATIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_activation_values_and_gradients(f, tf, mod, tmod, dtype):
    x = data(4, 5)
    both(f, tf, x, dtype=dtype)
    both(mod(), tmod(), x, dtype=dtype)
    assert repr(mod()) == repr(tmod())


@pytest.mark.parametrize("f, tf, mod, tmod", ACTIVATIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_activation_gradcheck_and_extremes(f, tf, mod, tmod):
    x = rg.tensor(data(3, 4, seed=1), dtype=rg.float64, requires_grad=True)
    assert rg.gradcheck(f, [x])
    big = np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], dtype=np.float32)
    out = f(rg.tensor(big))
    assert np.isfinite(out.array).all()
    close(out, tf(torch.from_numpy(big)), np.float32)


def test_hardtanh_bounds_and_gradient_at_the_kinks():
    x = np.array([-3.0, -2.0, -1.0, 0.5, 1.0, 2.0])
    both(
        lambda t: F.hardtanh(t, -2.0, 1.0), lambda t: TF.hardtanh(t, -2.0, 1.0), x, dtype=np.float64
    )
    assert repr(nn.Hardtanh(-2.0, 3.0, inplace=True)) == repr(tnn.Hardtanh(-2.0, 3.0, inplace=True))
    with pytest.raises(ValueError, match="min_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(rg.zeros(2), 1.0, 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, num", [((4, 3, 5), 3), ((4, 3), 1), ((6,), 1), ((2, 3, 2, 2), 3)])
def test_prelu(shape, num, dtype):
    m = nn.PReLU(num, init=0.1).to(dtype)
    tm = tnn.PReLU(num, init=0.1).to(getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():
        tm.weight.copy_(torch.linspace(-0.5, 0.5, num))
    m.load_state_dict(tm.state_dict())
    both(m, tm, data(*shape), dtype=dtype)
    close(m.weight.grad, tm.weight.grad, dtype)
    assert list(m.state_dict()) == list(tm.state_dict()) and repr(m) == repr(tm)
    x = rg.tensor(data(*shape, seed=3), dtype=rg.float64, requires_grad=True)
    w = rg.tensor(np.linspace(-0.5, 0.5, num), requires_grad=True)
    assert rg.gradcheck(F.prelu, [x, w])
    with pytest.raises(ValueError, match="prelu"):
        F.prelu(rg.zeros(2, 4), rg.zeros(3))


def test_prelu_default_init():
    assert np.all(nn.PReLU().weight.array == np.float32(0.25))
    with pytest.raises(ValueError, match="num_parameters"):
        nn.PReLU(0)


# ---------------------------------------------------------------- inplace=


@pytest.mark.parametrize(
    "mod, tmod",
    [
        (lambda: nn.ReLU(inplace=True), lambda: tnn.ReLU(inplace=True)),
        (lambda: nn.LeakyReLU(0.2, inplace=True), lambda: tnn.LeakyReLU(0.2, inplace=True)),
        (lambda: nn.ELU(inplace=True), lambda: tnn.ELU(inplace=True)),
        (lambda: nn.SiLU(inplace=True), lambda: tnn.SiLU(inplace=True)),
        (lambda: nn.Mish(inplace=True), lambda: tnn.Mish(inplace=True)),
        (lambda: nn.Hardtanh(inplace=True), lambda: tnn.Hardtanh(inplace=True)),
    ],
)
def test_inplace_modules_compute_the_same_result(mod, tmod):
    x = data(3, 4).astype(np.float32)
    ours, theirs = mod(), tmod()
    close(ours(rg.tensor(x)), theirs(torch.tensor(x)), np.float32)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(
    "name, args", [("relu", ()), ("leaky_relu", (0.2,)), ("elu", (1.0,)), ("silu", ()),
                   ("mish", ()), ("hardtanh", (-1.0, 1.0))],
)  # fmt: skip
def test_inplace_functions_compute_the_same_result_and_leave_the_input(name, args):
    x = data(3, 4)
    t = rg.tensor(x)
    out = getattr(F, name)(t, *args, inplace=True)
    close(out, getattr(TF, name)(torch.tensor(x), *args, inplace=True), np.float64)
    np.testing.assert_array_equal(t.array, x)  # a new tensor: no memory saved here


def test_dropout_training_flag():
    x = rg.ones(100, 10)
    assert F.dropout(x, 0.5, training=False) is x
    out = F.dropout(x, 0.5, training=True, inplace=True)
    assert set(np.unique(out.array)) <= {0.0, 2.0} and (out.array == 0).any()
    assert nn.Dropout(0.3, inplace=True).eval()(x) is x


# ---------------------------------------------------------------- embedding


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("scale", [False, True])
def test_embedding_against_torch(dtype, padding_idx, scale):
    w = data(7, 4)
    idx = np.array([[0, 2, 2, 6], [1, 2, 5, 6], [6, 6, 3, 0]])
    kw = {"padding_idx": padding_idx, "scale_grad_by_freq": scale}
    ours = nn.Embedding(7, 4, **kw).to(dtype)
    theirs = tnn.Embedding(7, 4, **kw).to(getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(w))
    ours.load_state_dict(theirs.state_dict())
    y, yt = ours(rg.tensor(idx)), theirs(torch.from_numpy(idx))
    close(y, yt, dtype)
    g = data(*y.shape, seed=4).astype(dtype)
    y.backward(rg.tensor(g))
    yt.backward(torch.from_numpy(g))
    close(ours.weight.grad, theirs.weight.grad, dtype)
    if padding_idx is not None:
        assert not ours.weight.grad.array[padding_idx].any()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)


def test_embedding_init_padding_row_and_gradcheck():
    rg.manual_seed(0)
    e = nn.Embedding(10, 3, padding_idx=4)
    assert not e.weight.array[4].any() and e.weight.array.std() > 0.5
    assert e.weight.dtype == rg.float32
    w = rg.tensor(data(5, 3), dtype=rg.float64, requires_grad=True)
    idx = rg.tensor([[0, 1, 1], [4, 4, 4]])
    # NOTE: padding_idx and scale_grad_by_freq change the gradient on purpose (PyTorch's
    # rules, compared with torch above); only the plain lookup is a true derivative.
    assert rg.gradcheck(lambda w: F.embedding(idx, w), [w])


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_embedding_max_norm_renormalises_rows_in_place_as_torch(norm_type):
    w = data(6, 4, scale=3.0)
    idx = np.array([0, 3, 3, 5])
    ours = nn.Embedding.from_pretrained(
        rg.tensor(w), freeze=False, max_norm=1.5, norm_type=norm_type
    )
    theirs = tnn.Embedding.from_pretrained(
        torch.tensor(w), freeze=False, max_norm=1.5, norm_type=norm_type
    )
    y, yt = ours(rg.tensor(idx)), theirs(torch.from_numpy(idx))
    close(y, yt, np.float64)
    close(ours.weight, theirs.weight, np.float64)  # rows 0, 3, 5 rescaled; 1, 2, 4 not
    y.sum().backward()
    yt.sum().backward()
    close(ours.weight.grad, theirs.weight.grad, np.float64)
    assert repr(ours) == repr(theirs)


def test_embedding_from_pretrained():
    w = rg.tensor(data(5, 2).astype(np.float32))
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad and e.weight.array is w.array  # shared, as PyTorch
    assert np.array_equal(e(rg.tensor([3])).array, w.array[[3]])
    e2 = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert e2.weight.requires_grad and e2.weight.array[1].any()  # not zeroed
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(rg.zeros(3))


def test_embedding_bad_arguments():
    e = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match="out of range"):
        e(rg.tensor([5]))
    with pytest.raises(IndexError, match="out of range"):
        e(rg.tensor([-1]))  # NumPy would wrap around silently
    with pytest.raises(TypeError, match="integer"):
        e(rg.tensor([1.0]))
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(5, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(rg.tensor([0]), e.weight, sparse=True)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="device"):
        nn.Embedding(5, 2, device="cuda")


def test_embedding_gradient_summing_is_exact_for_repeats():
    """Regression guard for the bincount scatter: many repeats of a row sum exactly."""
    w = rg.zeros(3, 2, requires_grad=True)
    idx = rg.tensor(np.array([1] * 1000 + [2] * 7))
    F.embedding(idx, w).sum().backward()
    np.testing.assert_array_equal(w.grad.array, [[0, 0], [1000, 1000], [7, 7]])


# ---------------------------------------------------------------- one_hot


def test_one_hot():
    idx = np.array([[0, 3], [2, 1]])
    for n in (-1, 5):
        ours = F.one_hot(rg.tensor(idx), n)
        theirs = TF.one_hot(torch.from_numpy(idx), n)
        assert ours.dtype == rg.int64
        np.testing.assert_array_equal(ours.array, theirs.numpy())
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(rg.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(rg.tensor([-1]))
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(rg.tensor([1.0]))


# ---------------------------------------------------------------- normalize


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1), (2.0, -1)])
def test_normalize(p, dim, dtype):
    x = data(4, 5)
    x[1] = 0.0  # a zero row: the eps branch
    both(lambda t: F.normalize(t, p, dim), lambda t: TF.normalize(t, p, dim), x, dtype=dtype)
    xg = rg.tensor(data(3, 4, seed=2), requires_grad=True)
    assert rg.gradcheck(lambda t: F.normalize(t, p, dim), [xg])


def test_normalize_bad_arguments():
    with pytest.raises(ValueError, match="p must be"):
        F.normalize(rg.ones(2, 2), p=0)
    with pytest.raises(IndexError, match="dim"):
        F.normalize(rg.ones(2, 2), dim=2)


# ---------------------------------------------------------------- pad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, pad",
    [((2, 3), (1, 2)), ((2, 3, 4), (1, 0, 2, 1)), ((2, 3, 4), (-1, 2)), ((2, 3), (0, 0, 1, 1)),
     ((1, 2, 3, 4), (1, 1, 0, 2, 1, 0, 2, 0))],
)  # fmt: skip
def test_pad_constant(shape, pad, dtype):
    x = data(*shape)
    both(lambda t: F.pad(t, pad, value=1.5), lambda t: TF.pad(t, pad, value=1.5), x, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "shape, pad",
    [((2, 5), (2, 1)), ((2, 3, 5), (3, 1)), ((2, 3, 4, 5), (1, 2, 3, 0)),
     ((1, 2, 3, 4, 5), (1, 1, 2, 0, 0, 2))],
)  # fmt: skip
def test_pad_other_modes(mode, shape, pad, dtype):
    x = data(*shape)
    f = lambda t: F.pad(t, pad, mode=mode)  # noqa: E731
    both(f, lambda t: TF.pad(t, pad, mode=mode), x, dtype=dtype)
    assert rg.gradcheck(f, [rg.tensor(x, requires_grad=True)])


def test_pad_bad_arguments():
    x = rg.zeros(2, 3)
    with pytest.raises(NotImplementedError, match="'symmetric'"):
        F.pad(x, (1, 1), mode="symmetric")
    with pytest.raises(ValueError, match="even length"):
        F.pad(x, (1,))
    with pytest.raises(ValueError, match="reflect"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="last 1 to 3"):
        F.pad(x, (1, 1, 1, 1), mode="replicate")  # 2 padded dims need a 3-D or 4-D input
    with pytest.raises(ValueError, match="only used by mode='constant'"):
        F.pad(rg.zeros(1, 3), (1, 1), mode="circular", value=2.0)
    with pytest.raises(ValueError, match="crops more"):
        F.pad(x, (-2, -2))
    with pytest.raises(NotImplementedError, match="negative amounts"):
        F.pad(rg.zeros(1, 4), (-1, 2), mode="reflect")


# ---------------------------------------------------------------- kl_div


def _mean_warns(reduction):
    """reduction='mean' warns (PyTorch's message); the others must not warn at all."""
    if reduction == "mean":
        return pytest.warns(UserWarning, match="batchmean")
    return warnings.catch_warnings(action="error")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target, dtype):
    logits = data(4, 5)
    inp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    p = np.abs(data(4, 5, seed=5))
    p[0, 1] = 0.0  # 0 log 0 = 0
    p = p / p.sum(1, keepdims=True)
    target = np.log(np.where(p > 0, p, 1e-3)) if log_target else p

    def ours(a, b):
        return F.kl_div(a, b, reduction=reduction, log_target=log_target)

    def theirs(a, b):
        return TF.kl_div(a, b, reduction=reduction, log_target=log_target)

    with _mean_warns(reduction):
        xs = both(ours, theirs, inp, target, dtype=dtype)
    mod = nn.KLDivLoss(reduction=reduction, log_target=log_target)
    assert mod.reduction == reduction
    with _mean_warns(reduction):
        out = mod(rg.tensor(inp), rg.tensor(target))
        close(out, theirs(torch.tensor(inp), torch.tensor(target)), np.float64)
    if reduction != "mean":
        xs = [rg.tensor(inp, requires_grad=True), rg.tensor(target + 0.1, requires_grad=True)]
        assert rg.gradcheck(ours, xs)


def test_kl_div_target_gradient_at_zero_is_finite():
    """A difference from PyTorch, on purpose: d(t log t)/dt at t = 0 is NaN there, -x here.

    (0 log 0 counts as 0, a constant; PyTorch's xlogy backward gives NaN.)
    """
    x = rg.tensor([-1.0, -2.0], requires_grad=True)
    t = rg.tensor([0.0, 1.0], requires_grad=True)
    F.kl_div(x, t, reduction="sum").backward()
    np.testing.assert_allclose(t.grad.array, [1.0, 1.0 + 0.0 + 2.0])
    np.testing.assert_allclose(x.grad.array, [0.0, -1.0])


def test_kl_div_bad_arguments():
    with pytest.raises(ValueError, match="reduction"):
        F.kl_div(rg.zeros(2), rg.zeros(2), reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match="shape"):
        F.kl_div(rg.zeros(2, 3), rg.zeros(3))


# ---------------------------------------------------------------- containers


def test_parameter_list_and_dict_match_torch():
    ws = [data(2, 3), data(3)]

    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.plist = nn.ParameterList([rg.tensor(w) for w in ws])
            self.pdict = nn.ParameterDict({"scale": nn.Parameter(rg.ones(3)), "b": rg.zeros(1)})

    class Theirs(tnn.Module):
        def __init__(self):
            super().__init__()
            self.plist = tnn.ParameterList([torch.tensor(w) for w in ws])
            self.pdict = tnn.ParameterDict(
                {"scale": tnn.Parameter(torch.ones(3)), "b": torch.zeros(1)}
            )

    ours, theirs = Ours(), Theirs()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours.parameters())
    pl = ours.plist
    pl.append(rg.ones(2))
    assert len(pl) == 3 and pl[-1].shape == (2,) and isinstance(pl[-1], nn.Parameter)
    assert [p.shape for p in pl[:2]] == [(2, 3), (3,)]
    pd = ours.pdict
    assert "scale" in pd and list(pd.keys()) == [
        "b",
        "scale",
    ]  # sorted, as torch and pd.get("nope") is None
    assert pd.pop("b").shape == (1,) and len(pd) == 1
    with pytest.raises(TypeError, match="Parameter"):
        nn.ParameterList(["x"])
    with pytest.raises(KeyError, match="nope"):
        pd["nope"]
    with pytest.raises(IndexError):
        pl[3]


# ---------------------------------------------------------------- Module


def test_module_to_device_and_dtype_keeps_parameter_identity():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    w = m[0].weight
    assert m.to("cpu") is m and m.to(torch.device("cpu")) is m and m.cpu() is m
    m.to(torch.device("cpu"), rg.float64)
    assert m[0].weight is w and w.dtype == rg.float64 and m[1].running_mean.dtype == rg.float64
    assert m[1].num_batches_tracked.dtype == rg.int64  # integer buffers are not cast
    m.to(rg.zeros(1, dtype=rg.float32))
    assert w.dtype == rg.float32
    m.to(device="cpu", dtype=rg.float64, non_blocking=True)
    assert w.dtype == rg.float64
    assert m.float() is m and w.dtype == rg.float32
    with pytest.raises(ValueError, match="runs on the CPU only"):
        m.to("cuda")
    with pytest.raises(ValueError, match="runs on the CPU only"):
        m.to("cuda:0", rg.float32)
    with pytest.raises(TypeError, match="floating point"):
        m.to(rg.int64)
    with pytest.raises(TypeError, match="unexpected"):
        m.to(memory_format=None)


def test_module_traversal_and_buffers_match_torch():
    def build(lib):
        mod = lib.Sequential(lib.Linear(2, 3), lib.Sequential(lib.ReLU(), lib.Linear(3, 1)))
        mod.register_buffer("scale", (rg if lib is nn else torch).ones(2))
        mod.register_buffer("tmp", (rg if lib is nn else torch).zeros(2), persistent=False)
        return mod

    ours, theirs = build(nn), build(tnn)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_modules(prefix="m")] == [
        n for n, _ in theirs.named_modules(prefix="m")
    ]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())  # 'tmp' left out
    assert ours.get_parameter("1.1.bias") is ours[1][1].bias
    assert ours.get_buffer("scale") is ours.scale
    with pytest.raises(AttributeError, match="nope"):
        ours.get_parameter("1.nope")
    seen = []
    ours.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]
    ours.requires_grad_(False)
    assert not any(p.requires_grad for p in ours.parameters())


def test_load_state_dict_strict_and_not_as_torch():
    ours, theirs = nn.Linear(2, 3), tnn.Linear(2, 3)
    sd = {"weight": np.zeros((3, 2), np.float32), "extra": np.ones(1, np.float32)}
    with pytest.raises(RuntimeError) as e_ours:
        ours.load_state_dict(sd)
    with pytest.raises(RuntimeError) as e_theirs:
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    assert str(e_ours.value) == str(e_theirs.value)
    res = ours.load_state_dict(sd, strict=False)
    res_t = theirs.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    assert res.missing_keys == res_t.missing_keys == ["bias"]
    assert res.unexpected_keys == res_t.unexpected_keys == ["extra"]
    assert not ours.weight.array.any()


def test_extra_repr_is_used_by_repr():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 1)

        def extra_repr(self):
            return "factor=2"

    assert re.match(r"Scaled\(\n  factor=2\n  \(fc\): Linear", repr(Scaled()))


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    amounts=st.lists(st.integers(-1, 3), min_size=2, max_size=8),
    mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]),
)
def test_pad_any_shape_against_torch(shape, amounts, mode):
    """Both succeed with the same values and gradients, or both raise."""
    k = min(len(amounts) // 2, len(shape))
    pad = amounts[: 2 * k]
    x = data(*shape)
    if mode != "constant" and min(pad, default=0) < 0:
        with pytest.raises(NotImplementedError, match="negative amounts|last 1 to 3"):
            F.pad(rg.tensor(x), pad, mode=mode)  # PyTorch crops in its own orders here
        return
    try:
        expected = TF.pad(torch.tensor(x, requires_grad=True), pad, mode=mode)
    except (RuntimeError, ValueError, NotImplementedError):
        with pytest.raises((ValueError, NotImplementedError)):
            F.pad(rg.tensor(x), pad, mode=mode)
        return
    if expected.numel() == 0:
        return
    both(
        lambda t: F.pad(t, pad, mode=mode), lambda t: TF.pad(t, pad, mode=mode), x, dtype=np.float64
    )


@pytest.mark.parametrize(
    "f, tf",
    [
        (F.silu, TF.silu),
        (F.mish, TF.mish),
        (F.logsigmoid, TF.logsigmoid),
        (F.softsign, TF.softsign),
        (lambda t: F.hardtanh(t, -1.5, 1.0), lambda t: TF.hardtanh(t, -1.5, 1.0)),
        (lambda t: F.normalize(t, 3.0, 1), lambda t: TF.normalize(t, 3.0, 1)),
        (lambda t: F.normalize(t), lambda t: TF.normalize(t)),
        (lambda t: F.pad(t, (1, 2), value=3.0), lambda t: TF.pad(t, (1, 2), value=3.0)),
        (lambda t: F.pad(t, (-1, 2)), lambda t: TF.pad(t, (-1, 2))),
        (lambda t: F.pad(t, (2, 1), mode="reflect"), lambda t: TF.pad(t, (2, 1), mode="reflect")),
        (lambda t: F.pad(t, (3, 1), mode="circular"), lambda t: TF.pad(t, (3, 1), mode="circular")),
        (
            lambda t: F.pad(t, (1, 2), mode="replicate"),
            lambda t: TF.pad(t, (1, 2), mode="replicate"),
        ),
    ],
)
def test_second_derivatives_match_torch(f, tf):
    """backward(create_graph=True) through the new ops, then backward again, as torch."""
    x0 = data(3, 4)
    c = data(3, 4, seed=7)
    x = rg.tensor(x0, requires_grad=True)
    (gx,) = rg.autograd.grad((f(x) ** 2).sum(), [x], create_graph=True)
    (gx * rg.tensor(c)).sum().backward()
    xt = torch.tensor(x0, requires_grad=True)
    (gt,) = torch.autograd.grad((tf(xt) ** 2).sum(), [xt], create_graph=True)
    (gt * torch.tensor(c)).sum().backward()
    close(gx, gt, np.float64)
    close(x.grad, xt.grad, np.float64)


def test_second_derivatives_of_prelu_and_embedding_match_torch():
    x0, w0 = data(3, 2, 4), np.array([0.2, -0.3])
    x, w = rg.tensor(x0, requires_grad=True), rg.tensor(w0, requires_grad=True)
    xt, wt = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    gx, gw = rg.autograd.grad((F.prelu(x, w) ** 2).sum(), [x, w], create_graph=True)
    gxt, gwt = torch.autograd.grad((TF.prelu(xt, wt) ** 2).sum(), [xt, wt], create_graph=True)
    (gx.sum() + (gw * gw).sum()).backward()
    (gxt.sum() + (gwt * gwt).sum()).backward()
    close(x.grad, xt.grad, np.float64)
    close(w.grad, wt.grad, np.float64)
    e0, idx = data(5, 3), np.array([[0, 2, 2], [4, 1, 0]])
    e, et = rg.tensor(e0, requires_grad=True), torch.tensor(e0, requires_grad=True)
    (g,) = rg.autograd.grad((F.embedding(rg.tensor(idx), e) ** 3).sum(), [e], create_graph=True)
    (gt,) = torch.autograd.grad(
        (TF.embedding(torch.from_numpy(idx), et) ** 3).sum(), [et], create_graph=True
    )
    g.sum().backward()
    gt.sum().backward()
    close(e.grad, et.grad, np.float64)
    e.grad = et.grad = None  # padding_idx: the padding row is a constant, as in torch
    (g,) = rg.autograd.grad(
        (F.embedding(rg.tensor(idx), e, padding_idx=0) ** 3).sum(), [e], create_graph=True
    )
    (gt,) = torch.autograd.grad(
        (TF.embedding(torch.from_numpy(idx), et, padding_idx=0) ** 3).sum(), [et], create_graph=True
    )
    g.sum().backward()
    gt.sum().backward()
    close(e.grad, et.grad, np.float64)
    with pytest.raises(RuntimeError, match="second derivatives are not supported"):
        rg.autograd.grad(
            F.embedding(rg.tensor(idx), e, scale_grad_by_freq=True).sum(), [e], create_graph=True
        )[0].sum().backward()
