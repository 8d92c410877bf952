"""PyTorch's names beyond the op table (issue 19): devices, dtypes, factories, generators,
and the tensor methods without a gradient, each against torch 2.13.

The differentiable ones (gather, scatter, cumsum, norm, einsum, ...) are in the op
table of test_ops_oracle.py, which also checks their second derivatives.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import retrograd as rg

from .conftest import assert_close


def same(ours, theirs) -> None:
    """Equal values, shape and dtype (as NumPy sees torch's)."""
    a, b = np.asarray(ours.array), theirs.numpy()
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_array_equal(a, b)


@pytest.fixture
def ints():
    rng = np.random.default_rng(0)
    return rng.integers(0, 5, size=(4, 6))


# ---------------------------------------------------------------- devices


def test_device_objects_and_cuda_as_torch():
    d = rg.device("cpu")
    assert str(d) == "cpu" and d.type == "cpu" and d == "cpu" and d == rg.device("cpu")
    assert str(rg.device("cpu", 0)) == "cpu:0" == str(rg.device("cpu:0"))
    assert rg.cuda.is_available() is False and rg.cuda.device_count() == 0
    pick = rg.device("cuda" if rg.cuda.is_available() else "cpu")
    x = rg.ones(2, device=pick)
    assert x.device == rg.device("cpu") and x.device.type == "cpu" and not x.is_cuda
    assert x.to(pick) is x and x.cpu() is x and x.pin_memory() is x
    assert x.to(torch.device("cpu")) is x and x.to("cpu", rg.float64).dtype == rg.float64
    assert x.to(device="cpu", dtype=rg.float64, non_blocking=True).dtype == rg.float64
    rg.set_default_device("cpu")
    assert rg.get_default_device() == "cpu"


@pytest.mark.parametrize(
    "call",
    [
        lambda: rg.device("cuda"),
        lambda: rg.device("cuda:0"),
        lambda: rg.zeros(2, device="cuda"),
        lambda: rg.tensor([1.0], device="cuda"),
        lambda: rg.randn(2, device=torch.device("cuda")),
        lambda: rg.arange(3, device="mps"),
        lambda: rg.ones(2).to("cuda"),
        lambda: rg.ones(2).cuda(),
        lambda: rg.ones(2).new_zeros(2, device="cuda"),
        lambda: rg.set_default_device("cuda"),
        lambda: rg.Generator(device="cuda"),
        lambda: rg.ones(2).to(0),
    ],
)
def test_any_other_device_is_refused_naming_it(call):
    with pytest.raises(ValueError, match="runs on the CPU only"):
        call()


def test_every_factory_accepts_device_cpu():
    like = rg.ones(2, 3)
    made = [
        rg.tensor([1.0], device="cpu"),
        rg.as_tensor([1.0], device="cpu"),
        rg.zeros(2, device="cpu"),
        rg.ones(2, device="cpu"),
        rg.empty(2, device="cpu"),
        rg.full((2,), 3.0, device="cpu"),
        rg.zeros_like(like, device="cpu"),
        rg.ones_like(like, device="cpu"),
        rg.empty_like(like, device="cpu"),
        rg.full_like(like, 2.0, device="cpu"),
        rg.arange(3, device="cpu"),
        rg.linspace(0, 1, 3, device="cpu"),
        rg.logspace(0, 1, 3, device="cpu"),
        rg.eye(2, device="cpu"),
        rg.rand(2, device="cpu"),
        rg.randn(2, device="cpu"),
        rg.randint(0, 3, (2,), device="cpu"),
        rg.randperm(3, device="cpu"),
        rg.rand_like(like, device="cpu"),
        rg.randn_like(like, device="cpu"),
        rg.normal(0.0, 1.0, (2,), device="cpu"),
    ]
    assert all(t.device == "cpu" for t in made)


# ---------------------------------------------------------------- dtypes and constructors


def test_dtype_objects_compare_as_torchs():
    pairs = [
        (rg.float32, torch.float32), (rg.float, torch.float), (rg.float64, torch.float64),
        (rg.double, torch.double), (rg.int64, torch.int64), (rg.long, torch.long),
        (rg.int32, torch.int32), (rg.int, torch.int), (rg.bool, torch.bool),
        (rg.uint8, torch.uint8), (rg.int16, torch.int16), (rg.int8, torch.int8),
    ]  # fmt: skip
    for ours, theirs in pairs:
        assert rg.zeros(1, dtype=ours).dtype == ours
        assert np.dtype(ours) == torch.zeros(1, dtype=theirs).numpy().dtype
    x = rg.tensor([1.5, -2.5])
    for method in ("float", "double", "long", "int", "bool"):
        same(getattr(x, method)(), getattr(torch.tensor([1.5, -2.5]), method)())
    assert x.type_as(rg.tensor([1])).dtype == rg.int64
    assert x.is_floating_point() and not x.long().is_floating_point()
    assert rg.finfo(rg.float32).eps == torch.finfo(torch.float32).eps
    assert rg.tensor([[1, 2]]).shape == rg.Size([1, 2])


def test_legacy_typed_constructors_as_torch():
    same(rg.FloatTensor([1, 2]), torch.FloatTensor([1, 2]))
    same(rg.LongTensor([1.0, 2.0]), torch.LongTensor([1, 2]))
    same(rg.DoubleTensor([[1, 2]]), torch.DoubleTensor([[1, 2]]))
    same(rg.BoolTensor([1, 0]), torch.BoolTensor([True, False]))
    same(rg.IntTensor([3]), torch.IntTensor([3]))
    same(rg.ByteTensor([3]), torch.ByteTensor([3]))
    assert rg.FloatTensor(2, 3).shape == (2, 3) and rg.FloatTensor(2, 3).dtype == rg.float32


def test_set_default_dtype_reaches_python_floats_factories_and_layers():
    assert rg.get_default_dtype() == rg.float32
    try:
        rg.set_default_dtype(rg.float64)
        torch.set_default_dtype(torch.float64)
        assert rg.get_default_dtype() == rg.float64
        for make in (
            lambda L: L.tensor(1.5),
            lambda L: L.zeros(2),
            lambda L: L.randn(2),
            lambda L: L.arange(0.0, 1.0, 0.5),
            lambda L: L.linspace(0, 1, 3),
            lambda L: L.tensor([1, 2]) * 0.5,
            lambda L: L.nn.Linear(2, 3).weight,
        ):
            assert make(rg).dtype == make(torch).numpy(force=True).dtype == np.float64
        with pytest.raises(TypeError, match="only float32 and float64"):
            rg.set_default_dtype(rg.int64)
    finally:
        rg.set_default_dtype(rg.float32)
        torch.set_default_dtype(torch.float32)
    assert rg.tensor(1.5).dtype == rg.float32


def test_factories_match_torch():
    same(rg.arange(5), torch.arange(5))
    same(rg.arange(1, 2, 0.25), torch.arange(1, 2, 0.25))
    same(rg.logspace(0, 2, 3), torch.logspace(0, 2, 3))
    same(rg.logspace(0, 3, 4, base=2), torch.logspace(0, 3, 4, base=2))
    same(rg.empty(2, 3), torch.zeros(2, 3))
    assert rg.empty_like(rg.ones(2, dtype=rg.int64)).dtype == rg.int64
    a = np.arange(6.0).reshape(2, 3)
    t = rg.as_tensor(a)
    assert t.array is a  # shares memory, as torch.as_tensor of an array
    assert rg.as_tensor(t) is t and rg.as_tensor(t, rg.float32).dtype == rg.float32
    same(rg.as_tensor([1, 2]), torch.as_tensor([1, 2]))
    x = rg.tensor([[1.0, 2.0]], dtype=rg.float64)
    same(x.new_zeros(2, 3), torch.zeros(2, 3, dtype=torch.float64))
    same(x.new_ones((2,)), torch.ones(2, dtype=torch.float64))
    same(x.new_full((2,), 7), torch.full((2,), 7.0, dtype=torch.float64))
    same(x.new_tensor([1, 2]), torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert x.new_empty(3).shape == (3,) and x.new_zeros(2, dtype=rg.int64).dtype == rg.int64
    assert x.new_zeros(2, requires_grad=True).requires_grad


# ---------------------------------------------------------------- generators


def test_generator_streams_are_reproducible_for_every_random_function():
    def draws(g):
        p = rg.tensor([0.1, 0.2, 0.7])
        return [
            rg.rand(3, generator=g),
            rg.randn(2, 2, generator=g),
            rg.randint(0, 10, (4,), generator=g),
            rg.randint(10, (4,), generator=g),
            rg.randperm(5, generator=g),
            rg.normal(0.0, 2.0, (3,), generator=g),
            rg.normal(rg.zeros(3), rg.ones(3), generator=g),
            rg.bernoulli(rg.full((5,), 0.5), generator=g),
            rg.multinomial(p, 4, replacement=True, generator=g),
            rg.multinomial(p, 2, generator=g),
            p.multinomial(3, replacement=True, generator=g),
            rg.rand_like(rg.ones(2), generator=g),
            rg.randn_like(rg.ones(2), generator=g),
            rg.zeros(3).normal_(generator=g),
            rg.zeros(3).uniform_(generator=g),
            rg.nn.init.normal_(rg.zeros(3), generator=g),
            rg.nn.init.kaiming_uniform_(rg.zeros(3, 2), generator=g),
        ]

    a = draws(rg.Generator().manual_seed(2147483647))
    b = draws(rg.Generator().manual_seed(2147483647))
    c = draws(rg.Generator().manual_seed(1))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.array, y.array)
    assert any(not np.array_equal(x.array, z.array) for x, z in zip(a, c, strict=True))
    g = rg.Generator("cpu")
    assert g.device == "cpu" and g.initial_seed() == 0
    assert isinstance(rg.Generator().seed(), int)


def test_randint_forms_and_dtypes_as_torch():
    assert rg.randint(10, (3,)).shape == (3,) and rg.randint(10, (3,)).dtype == rg.int64
    assert rg.randint(2, 4, (2, 2)).array.min() >= 2
    assert rg.randint(0, 3, (2,), dtype=rg.int32).dtype == rg.int32
    with pytest.raises(TypeError, match="size"):
        rg.randint(0, 10)
    with pytest.raises(ValueError, match="low < high"):
        rg.randint(5, 5, (1,))


def test_multinomial_laws_and_errors():
    g = rg.Generator().manual_seed(0)
    p = rg.tensor([1.0, 0.0, 3.0])  # unnormalised weights, as torch accepts
    draws = rg.multinomial(p, 4000, replacement=True, generator=g)
    assert draws.dtype == rg.int64 and draws.shape == (4000,)
    counts = np.bincount(draws.array, minlength=3) / 4000
    np.testing.assert_allclose(counts, [0.25, 0.0, 0.75], atol=0.03)
    rows = rg.multinomial(rg.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]), 2, generator=g)
    assert rows.shape == (2, 2)
    for row in rows.tolist():
        assert len(set(row)) == 2  # without replacement: distinct
    assert 0 not in rows[1].tolist()
    with pytest.raises(ValueError, match="without replacement"):
        rg.multinomial(rg.tensor([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="non-negative"):
        rg.multinomial(rg.tensor([1.0, -1.0]), 1)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        rg.multinomial(rg.ones(2, 2, 2), 1)
    with pytest.raises(ValueError, match="positive int"):
        rg.ones(3).multinomial(0)


def test_normal_and_bernoulli_shapes_and_laws():
    g = rg.Generator().manual_seed(3)
    x = rg.normal(2.0, 0.5, size=(20000,), generator=g)
    assert abs(float(x.mean()) - 2.0) < 0.02 and abs(float(x.std()) - 0.5) < 0.02
    y = rg.normal(rg.zeros(2, 3, dtype=rg.float64), 1.0, generator=g)
    assert y.shape == (2, 3) and y.dtype == rg.float64
    b = rg.bernoulli(rg.full((20000,), 0.3), generator=g)
    assert b.dtype == rg.float32 and abs(float(b.mean()) - 0.3) < 0.02
    with pytest.raises(ValueError, match="std"):
        rg.normal(0.0, -1.0, (2,))


# ---------------------------------------------------------------- methods without a gradient


def test_sort_argsort_topk_indices_match_torch():
    rng = np.random.default_rng(1)
    a = rng.permutation(24).reshape(4, 6).astype(np.float32)  # no ties: torch's order is defined
    x, xt = rg.tensor(a), torch.from_numpy(a)
    for dim in (0, 1, -1):
        for desc in (False, True):
            v, i = x.sort(dim, descending=desc)
            vt, it = xt.sort(dim, descending=desc)
            same(v, vt)
            same(i, it)
            same(rg.argsort(x, dim, descending=desc), torch.argsort(xt, dim, descending=desc))
        for largest in (True, False):
            v, i = rg.topk(x, 3, dim=dim, largest=largest)
            vt, it = torch.topk(xt, 3, dim=dim, largest=largest)
            same(v, vt)
            same(i, it)
    ties = rg.tensor([2.0, 1.0, 2.0, 1.0])
    same(ties.sort(stable=True).indices, torch.tensor([2.0, 1, 2, 1]).sort(stable=True).indices)
    same(
        ties.sort(descending=True, stable=True)[1],
        torch.tensor([2.0, 1, 2, 1]).sort(descending=True, stable=True)[1],
    )
    with pytest.raises(ValueError, match="topk"):
        x.topk(7)


def test_counting_and_searching_match_torch(ints):
    x, xt = rg.tensor(ints), torch.from_numpy(ints)
    same(x.unique(), xt.unique())
    for a, b in zip(
        rg.unique(x, return_inverse=True, return_counts=True),
        torch.unique(xt, return_inverse=True, return_counts=True),
        strict=True,
    ):
        same(a, b)
    flat = x.reshape(-1)
    same(flat.bincount(), xt.reshape(-1).bincount())
    same(rg.bincount(flat, minlength=9), torch.bincount(xt.reshape(-1), minlength=9))
    w = rg.linspace(0, 1, flat.numel(), dtype=rg.float64)
    same(flat.bincount(w), xt.reshape(-1).bincount(torch.from_numpy(w.array)))
    same(x.nonzero(), xt.nonzero())
    for value in (0, 3):
        same(rg.tensor(value).nonzero(), torch.tensor(value).nonzero())
        same(rg.tensor([value]).nonzero(), torch.tensor([value]).nonzero())
        for a, b in zip(
            rg.tensor(value).nonzero(as_tuple=True),
            torch.tensor(value).nonzero(as_tuple=True),
            strict=True,
        ):
            same(a, b)
    for a, b in zip(x.nonzero(as_tuple=True), xt.nonzero(as_tuple=True), strict=True):
        same(a, b)
    for a, b in zip(rg.where(x > 2), torch.where(xt > 2), strict=True):
        same(a, b)
    f = rg.tensor(ints.astype(np.float32))
    ft = torch.from_numpy(ints.astype(np.float32))
    same(rg.histc(f, bins=4, min=0, max=3), torch.histc(ft, bins=4, min=0, max=3))
    same(f.histc(bins=5), ft.histc(bins=5))
    for a, b in zip(rg.histogram(f, bins=3), torch.histogram(ft, bins=3), strict=True):
        assert_close(a, b)  # the edges may differ in the last bit
    h = f.histogram(rg.tensor([0.0, 1.0, 4.0]), density=True)
    ht = ft.histogram(torch.tensor([0.0, 1.0, 4.0]), density=True)
    assert_close(h.hist, ht.hist)
    assert_close(h.bin_edges, ht.bin_edges)


def test_predicates_and_logic_match_torch():
    a = np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -2.0], dtype=np.float32)
    x, xt = rg.tensor(a), torch.from_numpy(a)
    for name in ("isnan", "isinf", "isfinite", "logical_not", "sign"):
        same(getattr(x, name)(), getattr(xt, name)())
        same(getattr(rg, name)(x), getattr(torch, name)(xt))
    same(x.nan_to_num(), xt.nan_to_num())
    same(rg.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0), xt.nan_to_num(1.0, 2.0, -3.0))
    b = x > 0
    bt = xt > 0
    same(b.logical_and(x < 2), bt.logical_and(xt < 2))
    same(rg.logical_or(b, x < -1), torch.logical_or(bt, xt < -1))
    same(b ^ (x < 2), bt ^ (xt < 2))
    y, yt = rg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    assert rg.equal(y, rg.tensor([1.0, 2.0])) and not y.equal(rg.tensor([1.0]))
    assert y.allclose(y + 1e-7) == yt.allclose(yt + 1e-7) is True
    assert rg.allclose(y, y + 1e-3) == torch.allclose(yt, yt + 1e-3) is False
    same(rg.isclose(y, rg.tensor([1.0, 2.1])), torch.isclose(yt, torch.tensor([1.0, 2.1])))


def test_any_all_argmax_keepdim_and_keepdims_match_torch(ints):
    x, xt = rg.tensor(ints), torch.from_numpy(ints)
    for dim in (None, 0, 1):
        kw = {} if dim is None else {"dim": dim}
        same(x.any(**kw), xt.any(**kw))
        same(rg.all(x > 0, **kw), torch.all(xt > 0, **kw))
    same(x.any(1, keepdim=True), xt.any(1, keepdim=True))
    same(x.argmax(1, keepdims=True), xt.argmax(1, keepdims=True))
    f, ft = x.float(), xt.float()
    for name in ("sum", "mean", "std", "var", "amax", "amin", "logsumexp"):
        assert_close(getattr(f, name)(1, keepdims=True), getattr(ft, name)(1, keepdims=True))
    same(f.max(0, keepdims=True).values, ft.max(0, keepdims=True).values)


def test_integer_reductions_and_arithmetic_keep_torchs_dtypes(ints):
    x, xt = rg.tensor(ints), torch.from_numpy(ints)
    same(x.cumsum(1), xt.cumsum(1))
    same(x.cumprod(0), xt.cumprod(0))
    same(x.prod(), xt.prod())
    same(x.prod(1, keepdim=True), xt.prod(1, keepdim=True))
    same(x.to(rg.int32).prod(), xt.int().prod())
    same(x // 2, xt // 2)
    same(x % 3, xt % 3)
    same(-x % 3, -xt % 3)
    same(rg.remainder(x, 4), torch.remainder(xt, 4))
    same(rg.floor_divide(x, 2), torch.floor_divide(xt, 2))
    same(x.round(), xt.round())
    f = rg.tensor([-1.5, -0.5, 0.5, 1.5, 2.5])
    same(f.round(), torch.tensor([-1.5, -0.5, 0.5, 1.5, 2.5]).round())  # halves to even
    same(rg.log2(x.float() + 1), torch.log2(xt.float() + 1))
    same(x.sqrt().dtype and rg.log1p(x), torch.log1p(xt))  # integers become float


def test_prod_and_cumprod_gradients_are_exact_at_zeros():
    for arr in ([2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 3.0, 4.0], [1.5, -2.0, 0.5, 0.0]):
        a = np.array(arr)
        for fn in (
            lambda L, t: t.prod(),
            lambda L, t: L.prod(t.reshape(2, 2), 1),
            lambda L, t: t.cumprod(0),
            lambda L, t: L.cumprod(t.reshape(2, 2), 1),
        ):
            x = rg.tensor(a, requires_grad=True)
            xt = torch.tensor(a, requires_grad=True)
            y, yt = fn(rg, x), fn(torch, xt)
            w = np.linspace(0.5, 1.5, y.numel()).reshape(y.shape)
            y.backward(rg.tensor(w))
            yt.backward(torch.tensor(w))
            assert_close(y, yt)
            assert_close(x.grad, xt.grad)
    for fn in (lambda t: t.prod(), lambda t: t.cumprod(0).sum()):  # second order, at zeros
        x = rg.tensor([2.0, 0.0, 3.0, 0.0], dtype=rg.float64, requires_grad=True)
        xt = torch.tensor([2.0, 0.0, 3.0, 0.0], dtype=torch.float64, requires_grad=True)
        (g,) = rg.autograd.grad(fn(x), x, create_graph=True)
        (gt,) = torch.autograd.grad(fn(xt), xt, create_graph=True)
        assert_close(g, gt)
        w = np.array([0.5, -1.0, 2.0, 1.5])
        assert_close(
            rg.autograd.grad((g * rg.tensor(w)).sum(), x)[0],
            torch.autograd.grad((gt * torch.tensor(w)).sum(), xt)[0],
        )


def test_einsum_refusals_name_the_equation():
    a = rg.ones(3, 3)
    with pytest.raises(NotImplementedError, match="repeated within one operand"):
        rg.einsum("ii->", a)
    with pytest.raises(ValueError, match="subscript 'j'"):
        rg.einsum("ij,jk->ik", rg.ones(2, 3), rg.ones(4, 2))
    with pytest.raises(ValueError, match="2 subscripts for 1 operands"):
        rg.einsum("ij,jk", a)
    same(
        rg.einsum("ij,jk", [rg.ones(2, 3), rg.ones(3, 2)]),
        torch.einsum("ij,jk", torch.ones(2, 3), torch.ones(3, 2)),
    )


def test_shape_and_index_errors_name_the_op():
    x = rg.ones(2, 3)
    with pytest.raises(ValueError, match="mm\\(\\): expected 2-D and 2-D"):
        x.mm(rg.ones(3))
    with pytest.raises(ValueError, match="bmm"):
        rg.bmm(rg.ones(2, 2, 3), rg.ones(3, 3, 2))
    with pytest.raises(ValueError, match="dot"):
        rg.dot(x, x)
    with pytest.raises(IndexError, match="gather\\(\\): index out of range"):
        x.gather(1, rg.tensor([[3, 0, 0], [0, 0, 0]]))
    with pytest.raises(TypeError, match="integer tensor"):
        x.gather(1, rg.tensor([[0.0]]))
    with pytest.raises(ValueError, match="split\\(\\): sizes"):
        x.split([1, 1], 1)
    with pytest.raises(IndexError, match="narrow"):
        x.narrow(1, 2, 2)
    with pytest.raises(ValueError, match="repeat"):
        x.repeat(2)
    with pytest.raises(ValueError, match="'nuc'"):
        x.norm("nuc")
    with pytest.raises(NotImplementedError, match="matrix norm"):
        rg.linalg.norm(x, 2)
    with pytest.raises(ValueError, match="scatter\\(\\): reduce"):
        x.scatter(1, rg.tensor([[0]]), 1.0, reduce="multiply")
    with pytest.raises(NotImplementedError, match="unique\\(dim"):
        x.unique(dim=0)


def test_scatter_in_place_and_one_hot_pattern_as_torch():
    y = rg.tensor([2, 0, 1])
    yt = torch.tensor([2, 0, 1])
    same(
        rg.zeros(3, 4).scatter_(1, y.unsqueeze(1), 1.0),
        torch.zeros(3, 4).scatter_(1, yt.unsqueeze(1), 1.0),
    )
    acc = rg.zeros(4)
    acc.scatter_add_(0, rg.tensor([1, 1, 3]), rg.tensor([1.0, 2.0, 3.0]))
    same(
        acc, torch.zeros(4).scatter_add_(0, torch.tensor([1, 1, 3]), torch.tensor([1.0, 2.0, 3.0]))
    )


def test_python_protocols_as_torch():
    loss = rg.tensor(0.123456)
    assert f"{loss:.4f}" == f"{torch.tensor(0.123456):.4f}" == "0.1235"
    img = rg.rand(3, 4)
    assert np.asarray(img).dtype == np.float32 and np.asarray(img).shape == (3, 4)
    assert [10, 20, 30][rg.tensor(1)] == 20
    assert bool(rg.tensor([True])) and not bool(rg.tensor(0.0))
    x = rg.ones(2, 3)
    assert x.nelement() == x.numel() == rg.numel(x) == 6 and x.dim() == 2 and x.size(1) == 3
    assert x.contiguous() is x and x.is_contiguous() and not x.t().is_contiguous()
    assert x.element_size() == 4 and rg.is_tensor(x) and not rg.is_tensor(x.array)


def test_legacy_tensor_constructor_and_python_values_keep_torchs_dtypes():
    same(rg.Tensor([1, 2]), torch.Tensor([1, 2]))
    same(rg.Tensor([[True, False]]), torch.Tensor([[True, False]]))
    assert rg.Tensor(np.array([1, 2])).dtype == rg.int64  # a NumPy array keeps its dtype
    t = rg.zeros(3, dtype=rg.float64)
    t[0] = 0.1  # in float64, not rounded through float32
    t[1:] = [1 / 3, 2 / 3]
    tt = torch.zeros(3, dtype=torch.float64)
    tt[0] = 0.1
    tt[1:] = torch.tensor([1 / 3, 2 / 3], dtype=torch.float64)
    same(t, tt)
    same(
        rg.zeros(2, dtype=rg.float64).copy_([0.1, 0.2]),
        torch.tensor([0.1, 0.2], dtype=torch.float64),
    )


# ---------------------------------------------------------------- hypothesis: shapes and dims

SHAPES = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def _pair(shape, seed):
    a = np.random.default_rng(seed).standard_normal(shape)
    return rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _check(fn, shape, seed):
    x, xt = _pair(shape, seed)
    y, yt = fn(rg, x), fn(torch, xt)
    assert_close(y, yt)
    w = np.random.default_rng(seed + 1).standard_normal(yt.shape)
    y.backward(rg.tensor(w))
    yt.backward(torch.tensor(w))
    assert_close(x.grad, xt.grad)


@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 1000))
def test_running_sums_sort_and_flips_on_any_shape(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[dim]))
    shift = data.draw(st.integers(-5, 5))
    _check(lambda L, t: L.cumsum(t, dim), shape, seed)
    _check(lambda L, t: t.cumprod(dim), shape, seed)
    _check(lambda L, t: t.prod(dim, keepdim=True), shape, seed)
    _check(lambda L, t: L.sort(t, dim, descending=True).values, shape, seed)
    _check(lambda L, t: t.topk(k, dim).values, shape, seed)
    _check(lambda L, t: L.flip(t, (dim,)), shape, seed)
    _check(lambda L, t: t.roll(shift, dim), shape, seed)
    _check(lambda L, t: t.norm(dim=dim), shape, seed)


@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 1000))
def test_repeats_and_gathers_on_any_shape(shape, data, seed):
    reps = tuple(data.draw(st.lists(st.integers(1, 3), min_size=len(shape), max_size=4)))
    dim = data.draw(st.integers(0, len(shape) - 1))
    rng = np.random.default_rng(seed)
    idx_shape = tuple(data.draw(st.integers(1, n)) if d != dim else 3 for d, n in enumerate(shape))
    index = rng.integers(0, shape[dim], idx_shape)
    _check(lambda L, t: t.repeat(*reps), shape, seed)
    _check(lambda L, t: L.tile(t, reps[-len(shape) :]), shape, seed)
    _check(lambda L, t: t.gather(dim, L.tensor(index)), shape, seed)
    _check(lambda L, t: t.repeat_interleave(2, dim=dim), shape, seed)
    src = rng.standard_normal(idx_shape)
    _check(lambda L, t: t.scatter_add(dim, L.tensor(index), L.tensor(src)), shape, seed)


@given(n=st.integers(1, 4), m=st.integers(1, 4), k=st.integers(1, 4), b=st.integers(1, 3))
def test_einsum_agrees_with_matmul_and_torch(n, m, k, b):
    rng = np.random.default_rng(n * 100 + m * 10 + k)
    a, c = rng.standard_normal((b, n, k)), rng.standard_normal((k, m))
    for eq in ("bnk,km->bnm", "...k,km->...m", "bnk,km->mb", "bnk,km"):
        xs = [rg.tensor(a, requires_grad=True), rg.tensor(c, requires_grad=True)]
        ts = [torch.tensor(a, requires_grad=True), torch.tensor(c, requires_grad=True)]
        y, yt = rg.einsum(eq, *xs), torch.einsum(eq, *ts)
        assert_close(y, yt)
        y.sum().backward()
        yt.sum().backward()
        for x, t in zip(xs, ts, strict=True):
            assert_close(x.grad, t.grad)


def test_indexing_with_a_range_is_advanced_indexing_as_torch():
    a = np.arange(12.0).reshape(3, 4)
    for key in (range(3), (range(3), [0, 2, 1]), (slice(None), range(1, 3))):
        x, xt = rg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, yt = x[key], xt[key]
        same(y.detach(), yt.detach())
        (y * y).sum().backward()
        (yt * yt).sum().backward()
        same(x.grad, xt.grad)
    d, dt = rg.tensor(a), torch.tensor(a)
    d[range(3), rg.tensor([0, 2, 1])] -= 1
    dt[range(3), torch.tensor([0, 2, 1])] -= 1
    same(d, dt)
