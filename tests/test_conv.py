"""Convolutions against torch: conv1d/conv2d/conv_transpose2d, their layers and the CNN helpers.

Every case runs the same arrays through both libraries and compares the output
and the gradients of input, weight and bias, in float64 (1e-9 relative) and
float32 (1e-4); float64 gradients are also checked against central differences.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import retrograd as rg
import retrograd.nn as nn
from retrograd.nn import functional as CF
from retrograd.ops import conv as conv_ops

from .conftest import noncontiguous, tol

DTYPES = [np.float64, np.float32]
# torch warns that its own 'same' padding of even kernels copies the input.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def both(rg_fn, t_fn, arrays, dtype, seed=0, needs=None):
    """Run ``rg_fn`` and ``t_fn`` on the same arrays; compare outputs and every gradient."""
    needs = needs or [True] * len(arrays)
    ours = [rg.tensor(a.astype(dtype), requires_grad=r) for a, r in zip(arrays, needs, strict=True)]
    theirs = [
        torch.tensor(a.astype(dtype), requires_grad=r) for a, r in zip(arrays, needs, strict=True)
    ]
    y, yt = rg_fn(*ours), t_fn(*theirs)
    assert y.shape == tuple(yt.shape), f"shape {y.shape} != {tuple(yt.shape)}"
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.array, yt.detach().numpy(), **tol(dtype))
    g = np.random.default_rng(seed).standard_normal(yt.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if needs[i]:
            assert a.grad.dtype == np.dtype(dtype)
            np.testing.assert_allclose(
                a.grad.array, b.grad.numpy(), **tol(dtype), err_msg=f"arg {i}"
            )
        else:
            assert a.grad is None


def arr(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


# (N, C_in, H, W), (C_out, kh, kw), keywords: non-square kernels, strides, paddings,
# dilations, groups, and sizes that the windows do not tile.
CONV2D = [
    ((2, 3, 8, 8), (4, 3, 3), {}),
    ((2, 3, 9, 7), (5, 3, 2), {"stride": 2}),
    ((1, 2, 10, 11), (3, 1, 4), {"stride": (3, 2), "padding": (1, 2)}),
    ((2, 4, 9, 9), (6, 3, 3), {"groups": 2, "padding": 1}),
    ((2, 6, 7, 8), (6, 3, 3), {"groups": 6, "dilation": 2, "padding": 2}),
    ((3, 2, 12, 5), (4, 5, 3), {"dilation": (2, 1), "stride": (2, 1)}),
    ((2, 3, 8, 9), (4, 4, 2), {"padding": "same"}),
    ((2, 3, 8, 9), (4, 3, 4), {"padding": "same", "dilation": (1, 3)}),
    ((2, 3, 6, 5), (4, 6, 5), {"padding": "valid"}),
    ((1, 1, 28, 28), (6, 5, 5), {"padding": 2}),
    ((2, 5, 3, 3), (2, 3, 3), {"padding": 1, "stride": 3}),
    ((2, 4, 11, 13), (8, 3, 5), {"groups": 4, "stride": (2, 3), "padding": (0, 2)}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("xshape", "wspec", "kw"), CONV2D)
def test_conv2d_matches_torch(xshape, wspec, kw, bias, dtype):
    c = xshape[1] // kw.get("groups", 1)
    arrays = [arr(xshape, 1), arr((wspec[0], c, *wspec[1:]), 2)]
    if bias:
        arrays.append(arr(wspec[0], 3))
    both(
        lambda *a: CF.conv2d(*a, **kw),
        lambda *a: TF.conv2d(*a, **kw),
        arrays,
        dtype,
    )


CONV1D = [
    ((2, 3, 10), (4, 3), {}),
    ((2, 4, 17), (6, 4), {"stride": 3, "padding": 2, "groups": 2}),
    ((3, 2, 9), (5, 2), {"dilation": 3, "padding": "same"}),
    ((1, 3, 8), (2, 8), {"padding": "valid"}),
    ((2, 6, 40), (6, 5), {"groups": 3, "stride": 2, "dilation": 2, "padding": 1}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("xshape", "wspec", "kw"), CONV1D)
def test_conv1d_matches_torch(xshape, wspec, kw, dtype):
    c = xshape[1] // kw.get("groups", 1)
    arrays = [arr(xshape, 1), arr((wspec[0], c, wspec[1]), 2), arr(wspec[0], 3)]
    both(lambda *a: CF.conv1d(*a, **kw), lambda *a: TF.conv1d(*a, **kw), arrays, dtype)


CONV_T = [
    ((2, 3, 5, 5), (3, 4, 3, 3), {}),
    ((2, 4, 4, 6), (4, 2, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 5, 3), (4, 3, 2, 3), {"stride": (2, 3), "groups": 2, "output_padding": (1, 2)}),
    ((2, 2, 4, 4), (2, 3, 3, 3), {"dilation": 2, "padding": (2, 1), "output_padding": 1}),
    ((2, 3, 7, 6), (3, 2, 4, 4), {"stride": 1, "padding": 1}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("xshape", "wshape", "kw"), CONV_T)
def test_conv_transpose2d_matches_torch(xshape, wshape, kw, dtype):
    out = wshape[1] * kw.get("groups", 1)
    arrays = [arr(xshape, 1), arr(wshape, 2), arr(out, 3)]
    both(
        lambda *a: CF.conv_transpose2d(*a, **kw),
        lambda *a: TF.conv_transpose2d(*a, **kw),
        arrays,
        dtype,
    )


def test_conv_transpose1d_matches_torch():
    arrays = [arr((2, 4, 7), 1), arr((4, 3, 3), 2), arr(3, 3)]
    kw = {"stride": 2, "padding": 1, "output_padding": 1}
    both(
        lambda *a: CF.conv_transpose1d(*a, **kw),
        lambda *a: TF.conv_transpose1d(*a, **kw),
        arrays,
        np.float64,
    )


def test_conv2d_input_only_or_weight_only_gradients():
    x, w, b = arr((2, 3, 6, 6), 1), arr((4, 3, 3, 3), 2), arr(4, 3)
    for needs in ([True, False, False], [False, True, True], [False, False, True]):
        both(
            lambda *a: CF.conv2d(*a, padding=1), lambda *a: TF.conv2d(*a, padding=1),
            [x, w, b], np.float64, needs=needs,
        )  # fmt: skip


def test_conv2d_unbatched_input():
    both(
        lambda x, w: CF.conv2d(x, w, padding=1),
        lambda x, w: TF.conv2d(x, w, padding=1),
        [arr((3, 5, 6), 1), arr((2, 3, 3, 3), 2)],
        np.float64,
    )


@pytest.mark.parametrize("scratch", [1, 2000])
@pytest.mark.parametrize("stride", [1, 2])
def test_chunked_batch_matches_torch(monkeypatch, scratch, stride):
    """With a tiny scratch bound the batch runs in chunks (one sample each at 1 byte).

    Stride 1 takes the wide layout (whole padded rows, and the input gradient
    added back as one run per group and offset), stride 2 the strided one.
    """
    monkeypatch.setattr(conv_ops, "SCRATCH_BYTES", scratch)
    kw = {"padding": 1, "stride": (1, stride), "groups": 2}
    arrays = [arr((5, 4, 7, 8), 1), arr((6, 2, 3, 3), 2), arr(6, 3)]
    geo = conv_ops.Geometry((5, 4, 7, 8), (3, 3), (1, stride), ((1, 1), (1, 1)), (1, 1))
    assert geo.wide == (stride == 1)
    both(lambda *a: CF.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), arrays, np.float64)
    kt = {"stride": stride, "padding": 1, "output_padding": stride - 1, "dilation": (2, 1)}
    arrays = [arr((5, 4, 3, 4), 1), arr((4, 3, 3, 3), 2), arr(3, 3)]
    both(
        lambda *a: CF.conv_transpose2d(*a, **kt),
        lambda *a: TF.conv_transpose2d(*a, **kt),
        arrays,
        np.float64,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("c", "o"), [(4, 16), (4, 6), (2, 16)])
def test_weight_gradient_in_both_product_orders(c, o, dtype):
    """k = C*9 >= 32 and O >= 16 take ``cols @ g^T``; fewer of either ``g @ cols^T``."""
    arrays = [arr((3, c, 6, 7), 1), arr((o, c, 3, 3), 2), arr(o, 3)]
    both(lambda *a: CF.conv2d(*a, padding=1), lambda *a: TF.conv2d(*a, padding=1), arrays, dtype)


def test_float32_stays_float32_without_copies_to_float64():
    x = rg.tensor(arr((2, 3, 8, 8), 1).astype(np.float32), requires_grad=True)
    w = rg.tensor(arr((4, 3, 3, 3), 2).astype(np.float32), requires_grad=True)
    y = CF.conv2d(x, w, padding=1)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and w.grad.dtype == np.float32


# ---------------------------------------------------------------- gradcheck and hypothesis


def _leaf(shape, seed):
    return rg.tensor(arr(shape, seed), requires_grad=True)


@pytest.mark.parametrize(
    ("fn", "shapes"),
    [
        (lambda x, w, b: CF.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)),
         [(2, 2, 5, 6), (3, 2, 2, 3), (3,)]),
        (lambda x, w, b: CF.conv2d(x, w, b, groups=2, padding="same"),
         [(1, 4, 4, 5), (2, 2, 2, 3), (2,)]),
        (lambda x, w, b: CF.conv1d(x, w, b, stride=2, padding=1), [(2, 3, 7), (2, 3, 3), (2,)]),
        (lambda x, w, b: CF.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
         [(1, 2, 3, 3), (2, 3, 3, 2), (3,)]),
    ],
)  # fmt: skip
def test_gradcheck(fn, shapes):
    assert rg.gradcheck(fn, [_leaf(s, i) for i, s in enumerate(shapes)])


@st.composite
def conv_configs(draw):
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 9))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 9))
    n = draw(st.integers(1, 3))
    kwargs = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=groups)
    if draw(st.booleans()) and sh == sw == 1:
        kwargs["padding"] = "same"
    return (n, cin, h, w), (cout, cin // groups, kh, kw), kwargs


@settings(max_examples=40)
@given(conv_configs(), st.integers(0, 2**16))
def test_conv2d_hypothesis(config, seed):
    xshape, wshape, kw = config
    arrays = [arr(xshape, seed), arr(wshape, seed + 1), arr(wshape[0], seed + 2)]
    both(lambda *a: CF.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), arrays, np.float64)


@settings(max_examples=25)
@given(conv_configs(), st.integers(0, 2**16))
def test_conv_transpose2d_hypothesis(config, seed):
    (n, cin, h, w), (cout, _, kh, kw_), kw = config
    pads = (0, 0) if kw["padding"] == "same" else kw["padding"]
    groups = kw["groups"]
    # Keep the output non-empty: 2p <= (size-1)*s + d*(k-1).
    kw["padding"] = tuple(
        min(p, ((size - 1) * s + d * (k - 1)) // 2)
        for p, size, s, d, k in zip(
            pads, (h, w), kw["stride"], kw["dilation"], (kh, kw_), strict=True
        )
    )
    arrays = [arr((n, cin, h, w), seed), arr((cin, cout // groups, kh, kw_), seed + 1)]
    both(
        lambda *a: CF.conv_transpose2d(*a, **kw),
        lambda *a: TF.conv_transpose2d(*a, **kw),
        arrays,
        np.float64,
    )


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: CF.conv2d(rg.zeros(2, 3, 8, 8), rg.zeros(4, 2, 3, 3)),
         r"conv2d\(\): input of shape \(2, 3, 8, 8\) has 3 channels but weight of shape "
         r"\(4, 2, 3, 3\)"),
        (lambda: CF.conv2d(rg.zeros(2, 3, 4, 4), rg.zeros(4, 3, 5, 5), padding=0),
         r"conv2d\(\): input of shape \(2, 3, 4, 4\), padded to 4 along H, is smaller than "
         r"the \(dilated\) kernel 5"),
        (lambda: CF.conv2d(rg.zeros(2, 4, 8, 8), rg.zeros(3, 2, 3, 3), groups=2),
         r"conv2d\(\): groups=2 does not divide the 3 output channels"),
        (lambda: CF.conv2d(rg.zeros(2, 3, 8, 8), rg.zeros(4, 3, 3, 3), stride=2, padding="same"),
         "padding='same' is not supported for strided"),
        (lambda: CF.conv2d(rg.zeros(2, 3, 8, 8), rg.zeros(4, 3, 3, 3), rg.zeros(3)),
         r"bias must have shape \(4,\)"),
        (lambda: CF.conv2d(rg.zeros(3, 8, 8, 1, 1), rg.zeros(4, 3, 3, 3)),
         r"expected an input of shape \(N, C, H, W\)"),
        (lambda: CF.conv1d(rg.zeros(2, 3, 2), rg.zeros(4, 3, 5)),
         r"conv1d\(\): input of shape \(2, 3, 2\), padded to 2 along L"),
        (lambda: CF.conv_transpose2d(rg.zeros(1, 3, 4, 4), rg.zeros(2, 3, 3, 3)),
         r"conv_transpose2d\(\): input of shape \(1, 3, 4, 4\) has 3 channels but weight"),
        (lambda: CF.conv_transpose2d(rg.zeros(1, 2, 4, 4), rg.zeros(2, 3, 3, 3), output_padding=1),
         "output_padding"),
        (lambda: nn.Conv2d(4, 6, 3, groups=3), "in_channels=4 must be divisible by groups=3"),
        (lambda: nn.Conv2d(3, 6, 3, padding="full"), "padding must be 'same', 'valid' or ints"),
        (lambda: nn.Conv2d(3, 6, 0), r"kernel_size must be >= 1"),
        (lambda: nn.Conv2d(3, 6, 3, padding_mode="mirror"), "padding_mode must be one of"),
    ],
)  # fmt: skip
def test_bad_input_raises_a_clear_error(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_dtype_mismatch_raises():
    with pytest.raises(TypeError, match=r"conv2d\(\): input has dtype float64 but weight"):
        CF.conv2d(rg.zeros(1, 1, 4, 4, dtype=rg.float64), rg.zeros(1, 1, 3, 3))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_other_padding_modes_are_not_implemented(mode):
    with pytest.raises(NotImplementedError, match=f"padding_mode='{mode}' is not supported"):
        nn.Conv2d(3, 4, 3, padding_mode=mode)


# ---------------------------------------------------------------- layers vs torch


def _state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


LAYERS = [
    (lambda: nn.Conv2d(3, 4, 3), lambda: tnn.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    (lambda: nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, bias=False),
     lambda: tnn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, bias=False), (2, 4, 9, 8)),
    (lambda: nn.Conv2d(2, 3, 4, padding="same", dilation=2),
     lambda: tnn.Conv2d(2, 3, 4, padding="same", dilation=2), (1, 2, 9, 9)),
    (lambda: nn.Conv1d(3, 5, 3, stride=2, padding=1), lambda: tnn.Conv1d(3, 5, 3, stride=2, padding=1),
     (2, 3, 11)),
    (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
     lambda: tnn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
    (lambda: nn.BatchNorm2d(3), lambda: tnn.BatchNorm2d(3), (4, 3, 5, 6)),
    (lambda: nn.Unflatten(1, (2, 6)), lambda: tnn.Unflatten(1, (2, 6)), (3, 12, 2)),
    (lambda: nn.Unflatten(-1, (2, -1)), lambda: tnn.Unflatten(-1, (2, -1)), (3, 2, 8)),
]  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("make", "make_t", "shape"), LAYERS)
def test_layers_match_torch(make, make_t, shape, dtype):
    torch.manual_seed(0)
    t_mod = make_t()
    m = make()
    if dtype == np.float64:
        t_mod.double()
        m.double()
    # Keys and shapes are PyTorch's, so the state dict loads both ways.
    assert list(m.state_dict()) == list(t_mod.state_dict())
    m.load_state_dict(_state(t_mod))
    x = arr(shape, 5).astype(dtype)
    xr, xt = rg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = m(xr), t_mod(xt)
    np.testing.assert_allclose(y.array, yt.detach().numpy(), **tol(dtype))
    g = arr(yt.shape, 6).astype(dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xr.grad.array, xt.grad.numpy(), **tol(dtype))
    tp = dict(t_mod.named_parameters())
    for k, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.array, tp[k].grad.numpy(), **tol(dtype), err_msg=k)
    # ...and back: our (updated) state loads into torch with equal values.
    state = {k: torch.from_numpy(np.array(v.array)) for k, v in m.state_dict().items()}
    t2 = make_t()
    if dtype == np.float64:
        t2.double()
    t2.load_state_dict(state)
    for k, v in t2.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), m.state_dict()[k].array)


def test_batchnorm2d_running_stats_and_eval_match_torch():
    m, t_mod = nn.BatchNorm2d(3, momentum=0.3).double(), tnn.BatchNorm2d(3, momentum=0.3).double()
    for seed in range(3):
        x = arr((4, 3, 5, 5), seed) * 2 + 1
        np.testing.assert_allclose(
            m(rg.tensor(x)).array, t_mod(torch.tensor(x)).detach().numpy(), **tol(np.float64)
        )
    for k, v in t_mod.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].array, v.numpy(), **tol(np.float64), err_msg=k)
    m.eval()
    t_mod.eval()
    x = arr((2, 3, 4, 4), 9)
    np.testing.assert_allclose(
        m(rg.tensor(x)).array, t_mod(torch.tensor(x)).detach().numpy(), **tol(np.float64)
    )
    with pytest.raises(ValueError, match="expected 4D input"):
        m(rg.zeros(2, 3, 4))


def test_conv_layer_defaults_and_repr_match_torch():
    m, t_mod = (
        nn.Conv2d(6, 8, (3, 2), padding="same", groups=2),
        tnn.Conv2d(6, 8, (3, 2), padding="same", groups=2),
    )
    assert repr(m) == repr(t_mod)
    assert m.weight.shape == tuple(t_mod.weight.shape) and m.weight.dtype == np.float32
    # PyTorch's init: kaiming_uniform(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    bound = 1 / np.sqrt(3 * 3 * 2)
    assert np.abs(m.weight.array).max() <= bound and np.abs(m.bias.array).max() <= bound
    assert np.abs(m.weight.array).max() > 0.8 * bound
    for ours, theirs in [
        (nn.Conv1d(2, 3, 5, stride=2, bias=False), tnn.Conv1d(2, 3, 5, stride=2, bias=False)),
        (nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1), tnn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1)),
    ]:  # fmt: skip
        assert repr(ours) == repr(theirs)


def test_state_dict_through_safetensors_both_ways(tmp_path):
    from safetensors.torch import load_file, save_file

    t_mod = tnn.Sequential(tnn.Conv2d(1, 4, 3), tnn.BatchNorm2d(4), tnn.ReLU(), tnn.MaxPool2d(2))
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
    save_file(t_mod.state_dict(), tmp_path / "t.safetensors")
    m.load_state_dict(rg.serialization.load_file(tmp_path / "t.safetensors"))
    x = arr((2, 1, 8, 8), 0).astype(np.float32)
    np.testing.assert_allclose(
        m(rg.tensor(x)).array, t_mod(torch.tensor(x)).detach().numpy(), **tol(np.float32)
    )
    rg.serialization.save_file(m.state_dict(), tmp_path / "r.safetensors")
    t_mod.load_state_dict(load_file(tmp_path / "r.safetensors"))


def test_dropout2d_zeroes_whole_channels():
    rg.manual_seed(0)
    m = nn.Dropout2d(0.5)
    x = rg.ones(8, 16, 3, 3, requires_grad=True)
    y = m(x)
    per_channel = y.array.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0.2 < (per_channel[:, :, 0] == 0).mean() < 0.8
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, y.array)  # the gradient is the mask
    m.eval()
    assert m(x) is x
    with pytest.raises(ValueError, match=r"dropout2d\(\): expected an input of shape"):
        nn.Dropout2d()(rg.ones(3, 4))


def test_lenet_training_steps_match_torch():
    """LeNet-5 (float64), SGD with momentum from the same weights: equal losses step by step."""

    def lenet(lib):
        return lib.Sequential(
            lib.Conv2d(1, 6, 5, padding=2), lib.ReLU(), lib.MaxPool2d(2),
            lib.Conv2d(6, 16, 5), lib.ReLU(), lib.AvgPool2d(2), lib.Flatten(),
            lib.Linear(400, 120), lib.ReLU(), lib.Linear(120, 84), lib.ReLU(), lib.Linear(84, 10),
        ).double()  # fmt: skip

    torch.manual_seed(0)
    t_mod, m = lenet(tnn), lenet(nn)
    m.load_state_dict(_state(t_mod))
    rng = np.random.default_rng(0)
    labels = np.arange(16) % 10
    images = rng.random((10, 1, 28, 28))[labels] + 0.3 * rng.standard_normal((16, 1, 28, 28))
    x, y = rg.tensor(images), rg.tensor(labels)
    xt, yt = torch.tensor(images), torch.tensor(labels)
    opt = rg.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    t_opt = torch.optim.SGD(t_mod.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        loss = nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        t_loss = TF.cross_entropy(t_mod(xt), yt)
        t_opt.zero_grad()
        t_loss.backward()
        t_opt.step()
        np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-9)
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_functions_are_in_both_functional_paths():
    import retrograd.functional

    names = [
        "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
        "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
        "adaptive_max_pool1d", "adaptive_max_pool2d", "dropout2d",
    ]  # fmt: skip
    for name in names:
        assert name in CF.__all__, name
        assert getattr(retrograd.functional, name) is getattr(CF, name), name


W_NC = rg.tensor(arr((4, 3, 3, 3), 3))


@pytest.mark.parametrize(
    ("fn", "t_fn"),
    [
        (lambda x: CF.conv2d(x, W_NC, padding=1), lambda x: TF.conv2d(x, torch.tensor(W_NC.array), padding=1)),
        (lambda x: CF.conv2d(x, W_NC, stride=2), lambda x: TF.conv2d(x, torch.tensor(W_NC.array), stride=2)),
        (lambda x: CF.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
        (lambda x: CF.avg_pool2d(x, 3, 1, 1), lambda x: TF.avg_pool2d(x, 3, 1, 1)),
        (lambda x: CF.adaptive_max_pool2d(x, 3), lambda x: TF.adaptive_max_pool2d(x, 3)),
    ],
)  # fmt: skip
def test_noncontiguous_input(fn, t_fn):
    """Inputs in a layout other than C order (a transposed view) give the same results."""
    x = arr((2, 3, 7, 6), 1)
    xr = rg.from_numpy(noncontiguous(x)).requires_grad_()
    xt = torch.tensor(x, requires_grad=True)
    y, yt = fn(xr), t_fn(xt)
    np.testing.assert_allclose(y.array, yt.detach().numpy(), **tol(np.float64))
    g = arr(yt.shape, 2)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xr.grad.array, xt.grad.numpy(), **tol(np.float64))
