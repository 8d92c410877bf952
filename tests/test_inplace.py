"""In-place operations, version counters, views and ``.data``, each checked against PyTorch.

Most tests run one function twice, once with ``M = retrograd`` and once with
``M = torch`` (the two share these names), and compare values, gradients and
whether an error was raised.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import retrograd as rg

DTYPES = ["float32", "float64"]
TOLS = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-14)}


def T(M, data, dtype="float32", requires_grad=False):
    """``M.tensor`` for M = retrograd or torch."""
    return M.tensor(np.asarray(data, dtype=dtype), requires_grad=requires_grad)


def arr(t) -> np.ndarray:
    return t.detach().numpy().copy()


def both(fn, *args):
    """``fn(M, *args)`` under retrograd and torch: the results, or the errors raised."""
    out = []
    for M in (rg, torch):
        try:
            out.append(fn(M, *args))
        except RuntimeError as e:
            out.append(e)
    return out


def assert_same(a, b, dtype="float64"):
    if isinstance(b, Exception):
        assert isinstance(a, Exception), f"torch raised {b!r}; retrograd returned {a!r}"
        return
    assert not isinstance(a, Exception), f"retrograd raised {a!r}; torch did not"
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(arr(x), arr(y), **TOLS[dtype])


X = [0.5, 1.5, 2.0, 3.0]
MASK = [True, False, True, False]

# Every in-place op: (name, the call on a tensor of X's shape)
OPS = {
    "add_": lambda M, t: t.add_(T(M, [1.0, 2, 3, 4], t.numpy().dtype.name if False else _dt(t))),
    "add_alpha": lambda M, t: t.add_(T(M, [1.0, 2, 3, 4], _dt(t)), alpha=-0.5),
    "add_scalar": lambda M, t: t.add_(2.5),
    "sub_": lambda M, t: t.sub_(T(M, [1.0, 2, 3, 4], _dt(t))),
    "sub_alpha": lambda M, t: t.sub_(T(M, [1.0, 2, 3, 4], _dt(t)), alpha=2),
    "mul_": lambda M, t: t.mul_(T(M, [1.0, -2, 3, 4], _dt(t))),
    "mul_scalar": lambda M, t: t.mul_(3),
    "div_": lambda M, t: t.div_(T(M, [2.0, 4, 5, 8], _dt(t))),
    "pow_": lambda M, t: t.pow_(2),
    "pow_float": lambda M, t: t.pow_(1.5),
    "pow_tensor": lambda M, t: t.pow_(T(M, [1.0, 2, 0.5, 3], _dt(t))),
    "neg_": lambda M, t: t.neg_(),
    "abs_": lambda M, t: t.sub_(2).abs_(),
    "zero_": lambda M, t: t.zero_(),
    "fill_": lambda M, t: t.fill_(7.0),
    "copy_": lambda M, t: t.copy_(T(M, [9.0, 8, 7, 6], _dt(t))),
    "copy_broadcast": lambda M, t: t.copy_(T(M, 4.0, _dt(t))),
    "clamp_": lambda M, t: t.clamp_(1.0, 2.5),
    "clamp_min_": lambda M, t: t.clamp_min_(1.0),
    "clamp_max_": lambda M, t: t.clamp_max_(1.8),
    "exp_": lambda M, t: t.exp_(),
    "log_": lambda M, t: t.log_(),
    "sqrt_": lambda M, t: t.sqrt_(),
    "relu_": lambda M, t: t.sub_(1).relu_(),
    "sigmoid_": lambda M, t: t.sigmoid_(),
    "tanh_": lambda M, t: t.tanh_(),
    "masked_fill_": lambda M, t: t.masked_fill_(M.tensor(MASK), -1.0),
    "iadd": lambda M, t: _aug(t, "+=", 2.0),
    "isub": lambda M, t: _aug(t, "-=", T(M, [1.0, 2, 3, 4], _dt(t))),
    "imul": lambda M, t: _aug(t, "*=", 0.5),
    "idiv": lambda M, t: _aug(t, "/=", 4.0),
    "ipow": lambda M, t: _aug(t, "**=", 3),
    "setitem_slice": lambda M, t: _set(t, slice(1, 3), 5.0),
    "setitem_tensor": lambda M, t: _set(t, slice(0, 2), T(M, [3.0, 4], _dt(t))),
    "setitem_int": lambda M, t: _set(t, 2, -3.0),
    "setitem_mask": lambda M, t: _set(t, M.tensor(MASK), 0.25),
    "setitem_list": lambda M, t: _set(t, M.tensor([3, 0]), T(M, [1.0, 2], _dt(t))),
}


def _dt(t) -> str:
    return str(t.dtype).replace("torch.", "")


def _aug(t, op, v):
    u = t
    if op == "+=":
        u += v
    elif op == "-=":
        u -= v
    elif op == "*=":
        u *= v
    elif op == "/=":
        u /= v
    else:
        u **= v
    assert u is t
    return u


def _set(t, idx, v):
    t[idx] = v
    return t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(OPS))
def test_values_and_version(op, dtype):
    def run(M):
        t = T(M, X, dtype)
        a = t.numpy()
        out = OPS[op](M, t)
        assert (out is t and t.numpy() is a) or M is torch  # the same tensor, the same memory
        return [t, M.tensor(float(t._version))]

    r, p = both(run)
    assert_same(r, p, dtype)
    assert r[0].dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(OPS))
def test_gradient_through_inplace_on_non_leaf(op, dtype):
    """y = x * w; y.op_(...); (y * c).sum().backward(): x's gradient as torch's."""

    def run(M):
        x = T(M, X, dtype, requires_grad=True)
        y = x * T(M, [1.0, 0.5, 1.0, 2.0], dtype)
        OPS[op](M, y)
        (y * T(M, [1.0, 2.0, 3.0, 4.0], dtype)).sum().backward()
        return [y, x.grad]

    assert_same(*both(run), dtype)


def test_gradient_flows_to_the_inplace_operand():
    def run(M):
        x = T(M, X, "float64", requires_grad=True)
        w = T(M, [1.0, 2, 3, 4], "float64", requires_grad=True)
        y = x * 2
        y.mul_(w)
        y.add_(w, alpha=3)
        y[1:3] = w[:2] * w[2:]
        z = M.zeros(4, dtype=M.float64)
        z.copy_(y)
        z.sum().backward()
        return [z, x.grad, w.grad]

    assert_same(*both(run))


def test_integer_tensors_refuse_float_results_as_torch():
    t = rg.tensor([1, 2, 3])
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        t += 1.5
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        t /= 2
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        t.exp_()
    t += 2
    t *= 3
    assert t.tolist() == [9, 12, 15] and t.dtype == rg.int64
    b = rg.tensor([True, False])
    with pytest.raises(
        RuntimeError, match="result type Long can't be cast to the desired output type Bool"
    ):
        b += 1
    with torch.no_grad():  # the same in torch
        with pytest.raises(
            RuntimeError, match="result type Float can't be cast to the desired output type Long"
        ):
            u = torch.tensor([1, 2, 3])
            u += 1.5


def test_augmented_operators_keep_identity_and_memory():
    for dtype in DTYPES:
        t = rg.tensor(np.asarray(X, dtype=dtype))
        before, a = id(t), t.array
        t += 1
        t -= rg.tensor([1.0, 1, 1, 1])
        t *= 2
        t /= 2
        t **= 2
        assert id(t) == before and t.array is a
        np.testing.assert_allclose(t.numpy(), np.asarray(X) ** 2)
        assert t._version == 5


def test_float32_tensor_updated_by_float64_keeps_its_dtype():
    t = rg.zeros(3)
    t += rg.ones(3, dtype=rg.float64)
    assert t.dtype == rg.float32 and t.tolist() == [1.0, 1.0, 1.0]


def test_shape_mismatch_raises():
    with pytest.raises(
        RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"
    ):
        rg.zeros(3).add_(rg.ones(2, 3))


# ---------------------------------------------------------------- the leaf rule


@pytest.mark.parametrize(
    "op", ["add_", "mul_scalar", "zero_", "fill_", "copy_", "exp_", "iadd", "setitem_slice"]
)
def test_leaf_that_requires_grad_raises_outside_no_grad(op):
    for M in (rg, torch):
        x = T(M, X, requires_grad=True)
        with pytest.raises(
            RuntimeError,
            match="a leaf Variable that requires grad is being used in an in-place operation",
        ):
            OPS[op](M, x)
        assert x.tolist() == X  # nothing changed
        with M.no_grad():
            OPS[op](M, x)
        assert x._version >= 1 and x.is_leaf and x.requires_grad and x.grad_fn is None


def test_view_of_leaf_raises():
    for M in (rg, torch):
        x = T(M, X, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            x[1:3].mul_(2)


# ---------------------------------------------------------------- version counters

# Out-of-place ops whose input (y) and output (z) may be saved for backward.
USES = {
    "add": lambda M, y, w: y + w,
    "sub": lambda M, y, w: y - 2.0,
    "neg": lambda M, y, w: -y,
    "mul_const": lambda M, y, w: y * 3.0,
    "mul_tensor_no_grad": lambda M, y, w: y * w.detach(),
    "mul_tensor_grad": lambda M, y, w: y * w,
    "const_mul": lambda M, y, w: w.detach() * y,
    "div_by": lambda M, y, w: y / w,
    "div_of": lambda M, y, w: w / y,
    "pow2": lambda M, y, w: y**2,
    "pow_tensor": lambda M, y, w: y**w,
    "exp": lambda M, y, w: y.exp(),
    "log": lambda M, y, w: y.log(),
    "sqrt": lambda M, y, w: y.sqrt(),
    "tanh": lambda M, y, w: y.tanh(),
    "sigmoid": lambda M, y, w: y.sigmoid(),
    "relu": lambda M, y, w: y.relu(),
    "abs": lambda M, y, w: y.abs(),
    "clamp": lambda M, y, w: y.clamp(0.0, 2.0),
    "sin": lambda M, y, w: y.sin(),
    "sum": lambda M, y, w: y.sum() * M.ones(4),
    "mean": lambda M, y, w: y.mean() * M.ones(4),
    "matmul": lambda M, y, w: (y.reshape(2, 2) @ w.reshape(2, 2)).reshape(4),
    "matmul_const": lambda M, y, w: (y.reshape(2, 2) @ w.detach().reshape(2, 2)).reshape(4),
    "reshape": lambda M, y, w: y.reshape(2, 2).reshape(4) * 1,
    "index": lambda M, y, w: y[[0, 1, 1, 3]],
    "softmax": lambda M, y, w: y.softmax(0),
}


@pytest.mark.parametrize("where", ["input", "output", "operand"])
@pytest.mark.parametrize("use", sorted(USES))
def test_version_error_exactly_where_torch_raises(use, where):
    """Modify the input, the output or the other operand in place after the op, then backward."""

    def run(M):
        x = T(M, X, "float64", requires_grad=True)
        w = T(M, [1.0, 2, 0.5, 1.5], "float64", requires_grad=True)
        y = x * 1
        z = USES[use](M, y, w)
        out = z * 1  # z's consumer saves nothing that z's change would break
        if where == "input":
            y.add_(1.0)
        elif where == "output":
            z.mul_(2.0)
            out = z.sum() * M.ones(4, dtype=M.float64)
        else:
            with M.no_grad():
                w.mul_(2.0)
        out.sum().backward()
        return [x.grad, w.grad if w.grad is not None else M.zeros(4)]

    r, p = both(run)
    if isinstance(p, Exception) or isinstance(r, Exception):
        assert isinstance(r, Exception) and isinstance(p, Exception), (r, p)
        assert "modified by an inplace operation" in str(r)
        assert "is at version 1; expected version 0 instead" in str(r)
    else:
        assert_same(r, p)


def test_version_error_names_the_op_and_the_tensor():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y.log()
    y.mul_(2)
    with pytest.raises(RuntimeError) as e:
        z.sum().backward()
    msg = str(e.value)
    assert (
        "modified by an inplace operation: [float32 [2]], which is output 0 of MulBackward0" in msg
    )
    assert "input 0 of LogBackward0" in msg and "is at version 1; expected version 0" in msg
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="output 0 of ExpBackward0, is at version 1"):
        y.sum().backward() if False else (y * y).sum().backward()


def test_saved_output_of_an_inplace_op_is_checked_at_its_new_version():
    def run(M):
        x = T(M, X, "float64", requires_grad=True)
        y = x * 1
        y.exp_()  # saves its result: y at version 1
        z = y * 1
        z.sum().backward()
        return [x.grad]

    assert_same(*both(run))

    def run2(M):
        x = T(M, X, "float64", requires_grad=True)
        y = x * 1
        y.exp_()
        y.add_(1)  # version 2: exp_'s saved result changed
        y.sum().backward()
        return [x.grad]

    r, p = both(run2)
    assert isinstance(r, RuntimeError) and isinstance(p, RuntimeError)
    assert "is at version 2; expected version 1" in str(r)


@pytest.mark.parametrize("where", ["input", "target"])
def test_mse_loss_saves_both_operands_as_torch(where):
    def run(M):
        x = T(M, X, "float64", requires_grad=True)
        y = x * 1
        t = T(M, [1.0, 0.0, 2.0, 1.0], "float64")
        loss = M.nn.functional.mse_loss(y, t)
        with M.no_grad():
            (y if where == "input" else t).mul_(2.0)
        loss.backward()
        return [x.grad]

    r, p = both(run)
    assert isinstance(r, RuntimeError) and isinstance(p, RuntimeError)
    assert "modified by an inplace operation" in str(r) and "SquaredErrorBackward0" in str(r)


def test_listed_loss_ops_save_what_the_scan_of_their_arrays_finds():
    """The table entries that spare training steps the scan change nothing it decides."""
    from retrograd import ops
    from retrograd.ops import saved
    from retrograd.tensor import apply_op

    x, y = rg.randn(4, 3, requires_grad=True), rg.randn(4, 3)
    target = np.array([0, 2, 1, 1])
    for cls, inputs, params in [
        (ops.SoftmaxCrossEntropy, (x,), {"target": target, "mean": True}),
        (ops.SquaredError, (x, y), {}),
    ]:
        out = apply_op(cls, *inputs, **params)
        assert saved._scan(out.grad_fn, inputs, out) == cls.saves


def test_no_grad_change_of_a_saved_tensor_still_raises():
    for M in (rg, torch):
        x = T(M, X, requires_grad=True)
        y = x * 1
        z = y.tanh()
        with M.no_grad():
            z.zero_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_detach_shares_the_version_counter_and_data_does_not():
    for M in (rg, torch):
        x = T(M, X, requires_grad=True)
        y = x * 2
        d = y.detach()
        d.add_(1)
        assert y._version == 1 and d._version == 1 and y.tolist() == [2.0, 4.0, 5.0, 7.0]
        x.data.mul_(0)  # .data: same memory, own counter
        assert x._version == 0 and x.tolist() == [0.0] * 4
        x.detach().zero_()
        assert x._version == 1


# ---------------------------------------------------------------- views

VIEWS = {
    "slice": lambda y: y[1:3],
    "step": lambda y: y[::2],
    "row": lambda y: y.view(2, 2)[1],
    "column": lambda y: y.view(2, 2)[:, 0],
    "view": lambda y: y.view(2, 2),
    "reshape": lambda y: y.reshape(4, 1),
    "t": lambda y: y.view(2, 2).t(),
    "T": lambda y: y.view(2, 2).T,
    "transpose": lambda y: y.view(2, 2).transpose(0, 1),
    "permute": lambda y: y.view(1, 2, 2).permute(2, 0, 1),
    "squeeze": lambda y: y.view(1, 4).squeeze(0),
    "unsqueeze": lambda y: y.unsqueeze(1),
    "flatten": lambda y: y.view(2, 2).flatten(),
    "view_of_view": lambda y: y[1:].view(3, 1)[1:],
}


@pytest.mark.parametrize("kind", sorted(VIEWS))
def test_view_shares_memory_and_version_with_base(kind):
    def run(M):
        y = T(M, X, "float64")
        v = VIEWS[kind](y)
        assert v._base is y
        v.mul_(10)
        assert y._version == v._version == 1
        y.add_(1)
        assert v._version == 2
        return [y, v]

    assert_same(*both(run))


@pytest.mark.parametrize(
    "op", ["mul_scalar", "add_", "exp_", "zero_", "copy_broadcast", "relu_", "fill_"]
)
@pytest.mark.parametrize("kind", sorted(VIEWS))
def test_inplace_through_a_view_gradients_as_torch(kind, op):
    """CopySlices: y = x * 1; v = view(y); v.op_(); (y * c).sum().backward()."""

    def run(M):
        x = T(M, X, "float64", requires_grad=True)
        y = x * T(M, [1.0, 2, 3, 4], "float64")
        v = VIEWS[kind](y)
        shape = v.shape
        flat = v.reshape(-1) if False else v
        if op in ("add_", "copy_"):
            flat.add_(T(M, np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape), "float64"))
        else:
            OPS[op](M, flat) if op not in ("mul_scalar",) else flat.mul_(3)
        loss = (y * T(M, [1.0, -1, 2, 0.5], "float64")).sum() + (v * v).sum()
        loss.backward()
        return [y, v, x.grad]

    assert_same(*both(run))


def test_write_into_a_slice_of_a_tensor_that_needs_no_grad_from_one_that_does():
    def run(M):
        w = T(M, [1.0, 2], "float64", requires_grad=True)
        y = M.zeros(4, dtype=M.float64)
        y[1:3] = w * 3
        y[0] = w[1]
        assert y.requires_grad and y.grad_fn is not None
        (y * y).sum().backward()
        return [y, w.grad]

    assert_same(*both(run))


def test_copy_slices_example_from_the_brief():
    x = rg.tensor([1.0, 1, 1, 1], requires_grad=True)
    y = x * 1
    v = y[1:3]
    v.mul_(2)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 2.0, 1.0]
    assert y.grad_fn.name == "CopySlices"


def test_inplace_on_an_expanded_tensor_raises():
    for M in (rg, torch):
        e = M.ones(1).expand(3)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            e.add_(1)


def test_reshape_that_copies_is_not_a_view():
    y = rg.tensor(np.arange(6.0)).view(2, 3).t()
    r = y.reshape(6)  # not contiguous: a copy, as torch's reshape
    assert r._base is None
    r.add_(1)
    assert y._version == 0 and y.array.min() == 0


# ---------------------------------------------------------------- random fills


def test_uniform_and_normal_follow_nn_init_streams():
    for name in ("uniform_", "normal_"):
        a = rg.zeros(3, 4)
        b = rg.zeros(3, 4)
        getattr(a, name)(generator=rg.Generator(5))
        getattr(rg.nn.init, name)(b, generator=rg.Generator(5))
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert a._version == 1
    t = rg.zeros(1000).uniform_(-2, 3)
    assert -2 <= t.min().item() and t.max().item() <= 3
    t = rg.zeros(4000, dtype=rg.float64).normal_(1.0, 0.5)
    assert abs(t.mean().item() - 1.0) < 0.05 and abs(t.std().item() - 0.5) < 0.05
    with pytest.raises(RuntimeError, match="leaf Variable"):
        rg.zeros(2, requires_grad=True).uniform_()


def test_format_of_a_tensor():
    assert f"{rg.tensor(1.23456):.2f}" == "1.23"
    assert f"{rg.tensor([2.5]):.1f}" == "2.5"
    assert f"{rg.tensor([1.0, 2.0])}" == str(rg.tensor([1.0, 2.0]))


# ---------------------------------------------------------------- manual update loops

LR = 0.05


def _manual_update(p, idiom):
    if idiom == "isub_no_grad":
        with rg.no_grad():
            p -= LR * p.grad
    elif idiom == "data_iadd":
        p.data += -LR * p.grad
    elif idiom == "data_sub_":
        p.data.sub_(LR * p.grad)
    elif idiom == "sub_no_grad":
        with rg.no_grad():
            p.sub_(LR * p.grad)
    elif idiom == "add_alpha_no_grad":
        with rg.no_grad():
            p.add_(p.grad, alpha=-LR)


def _train(update, zero, steps=30):
    rg.manual_seed(0)
    model = rg.nn.Sequential(rg.nn.Linear(3, 8), rg.nn.Tanh(), rg.nn.Linear(8, 1))
    params = list(model.parameters())
    ids = [(id(p), p.array) for p in params]
    opt = rg.optim.SGD(params, lr=LR)
    g = np.random.default_rng(0)
    X = rg.tensor(g.normal(size=(64, 3)).astype(np.float32))
    y = rg.tensor(g.normal(size=(64, 1)).astype(np.float32))
    losses = []
    for _ in range(steps):
        loss = ((model(X) - y) ** 2).mean()
        losses.append(loss.item())
        if update == "sgd":
            opt.zero_grad()
            loss.backward()
            opt.step()
            continue
        loss.backward()
        for p in model.parameters():
            _manual_update(p, update)
            if zero == "zero_":
                p.grad.zero_()
            else:
                p.grad = None
    # the model's own parameters changed in place
    assert [(id(p), p.array) for p in model.parameters()] == ids or update == "sgd"
    return losses


@pytest.mark.parametrize("zero", ["zero_", "none"])
@pytest.mark.parametrize(
    "update", ["isub_no_grad", "data_iadd", "data_sub_", "sub_no_grad", "add_alpha_no_grad"]
)
def test_manual_update_loops_train_like_sgd(update, zero):
    ref = _train("sgd", None)
    got = _train(update, zero)
    assert got[-1] < 0.8 * got[0]  # it learns
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_inplace_update_of_a_parameter_outside_no_grad_raises():
    p = rg.nn.Linear(2, 1).weight
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p -= 0.1


def fit_polynomial(M, steps=300, lr=1e-6):
    """PyTorch's "learning PyTorch with examples" in our own words: a cubic fitted to sin(x).

    Raw tensors, a hand-written loss, backward, and the update written as learners do.
    """
    dtype = M.float64
    x = M.linspace(-np.pi, np.pi, 2000, dtype=dtype)
    y = M.sin(x)
    start = np.random.default_rng(0).normal(size=4)
    a, b, c, d = (M.tensor(float(v), dtype=dtype, requires_grad=True) for v in start)
    losses = []
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with M.no_grad():
            a -= lr * a.grad
            b -= lr * b.grad
            c.sub_(lr * c.grad)
            d.add_(d.grad, alpha=-lr)
            for p in (a, b):
                p.grad = None
            for p in (c, d):
                p.grad.zero_()
    return losses, [a.item(), b.item(), c.item(), d.item()]


def test_polynomial_fit_with_manual_updates_matches_torch():
    (ours, coefs), (ref, ref_coefs) = fit_polynomial(rg), fit_polynomial(torch)
    assert ours[-1] < 0.05 * ours[0]
    np.testing.assert_allclose(ours, ref, rtol=1e-9)
    np.testing.assert_allclose(coefs, ref_coefs, rtol=1e-9)


def test_docs_examples_run():
    """Every python block of docs/autograd.md's in-place section runs as written."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "autograd.md").read_text()
    start = text.index("## In-place operations and views")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    blocks = re.findall(r"```python\n(.+?)\n```", section, flags=re.S)
    assert len(blocks) == 5
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "docs/autograd.md", "exec"), scope)


@pytest.mark.parametrize("through", ["sibling", "base"])
def test_other_views_see_a_write_in_their_gradients(through):
    """Views taken before a write (through another view, or into the base) follow it."""

    def run(M):
        x = T(M, X, "float64", requires_grad=True)
        y = x * 1
        u = y[0:2]
        c = y.view(2, 2).t()
        if through == "sibling":
            y[1:3].mul_(3)
        else:
            y.mul_(T(M, [2.0, 3, 4, 5], "float64"))
        (u * T(M, [1.0, 2], "float64")).sum().backward(retain_graph=True)
        g1 = x.grad.clone()
        (c * c).sum().backward()
        return [u, c, g1, x.grad]

    assert_same(*both(run))


def test_autograd_grad_and_create_graph_check_versions_too():
    for M in (rg, torch):
        x = T(M, X, "float64", requires_grad=True)
        y = x * 1
        z = y.log()
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            M.autograd.grad(z.sum(), x)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward(create_graph=True)
