"""Creating tensors: dtypes, attributes, printing, randomness, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import retrograd as rg


@pytest.mark.parametrize(
    "data",
    [1.5, 3, True, [1.0, 2.0], [1, 2], [[1, 2], [3, 4]], [True, False], [], [[1.0], [2.5]]],
)
def test_dtype_inference_matches_torch(data):
    ours, theirs = rg.tensor(data), torch.tensor(data)
    assert ours.dtype == theirs.numpy().dtype
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.array, theirs.numpy())


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64, np.bool_, np.uint8])
def test_numpy_arrays_keep_their_dtype(dtype):
    arr = np.zeros(3, dtype=dtype)
    assert rg.tensor(arr).dtype == np.dtype(dtype)
    assert rg.tensor(arr[0]).dtype == np.dtype(dtype)


def test_tensor_copies_its_data():
    arr = np.ones(3)
    t = rg.tensor(arr)
    arr[0] = 5
    assert t.array[0] == 1
    shared = rg.from_numpy(arr)
    arr[1] = 7
    assert shared.array[1] == 7


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(rg.float32, np.float32), (rg.float64, np.float64), (rg.int64, np.int64),
     (rg.bool, np.bool_), (np.float64, np.float64), ("float32", np.float32)],
)  # fmt: skip
def test_dtype_argument(dtype, expected):
    assert rg.tensor([1, 0], dtype=dtype).dtype == np.dtype(expected)
    assert rg.zeros(2, dtype=dtype).dtype == np.dtype(expected)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.array([object()], dtype=object), "dtype object"),
        (["a", "b"], "dtype <U1"),
        (np.array([1 + 2j]), "complex128"),
        ([[1, 2], [3]], "rectangular"),
    ],
)
def test_bad_data_is_refused(data, match):
    with pytest.raises((TypeError, ValueError), match=match):
        rg.tensor(data)


def test_bad_dtype_is_refused():
    with pytest.raises(TypeError, match="unsupported dtype complex64"):
        rg.tensor([1.0], dtype=np.complex64)
    with pytest.raises(TypeError, match="unsupported dtype float16"):
        rg.zeros(2, dtype=np.float16)
    with pytest.raises(TypeError, match="not a dtype"):
        rg.tensor([1.0], dtype="nonsense")


def test_attributes():
    x = rg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert x.shape == (1, 3) and x.ndim == 2 and x.dim() == 2 and x.numel() == 3
    assert x.size() == (1, 3) and x.size(1) == 3 and len(x) == 1
    assert x.T.shape == (3, 1)
    assert x.is_leaf and x.requires_grad and x.grad is None
    d = x.detach()  # a leaf without gradient that shares x's values, as torch's
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert isinstance(d.numpy(), np.ndarray) and np.shares_memory(d.numpy(), x.array)
    np.testing.assert_array_equal(d.numpy(), [[1.0, 2.0, 3.0]])
    assert rg.tensor(2.5).item() == 2.5
    assert float(rg.tensor([2.5])) == 2.5
    assert x.tolist() == [[1.0, 2.0, 3.0]]
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    with pytest.raises(ValueError, match="3 elements"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    assert [r.shape for r in rg.zeros(3, 2)] == [(2,), (2,), (2,)]


def test_cast_is_differentiable():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == rg.float64
    (y * y).sum().backward()
    assert x.grad.dtype == rg.float32
    np.testing.assert_allclose(x.grad.array, [2.0, 4.0])
    assert x.long().dtype == rg.int64 and not x.long().requires_grad
    assert x.to(rg.float32) is x
    c = x.clone()
    assert c is not x and c.grad_fn is not None


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.tensor([1.0, 2.5, -3.0]),
        lambda L: L.tensor([1.0, 2.0]),
        lambda L: L.tensor([[1, 2], [3, 4]]),
        lambda L: L.tensor([True, False]),
        lambda L: L.tensor([1.0, 2.0], dtype=L.float64),
        lambda L: L.tensor([1.5], requires_grad=True),
        lambda L: L.tensor(2.5),
        lambda L: L.tensor([1.0, 2.0], requires_grad=True) * 2,
        lambda L: L.tensor([1.0, 2.0], requires_grad=True).sum(),
        lambda L: L.zeros(0, 3),
    ],
)
def test_repr_like_torch(make):
    assert repr(make(rg)) == repr(make(torch)).replace("torch.", "retrograd.")


def test_creation_functions_match_torch():
    pairs = [
        (rg.zeros(2, 3), torch.zeros(2, 3)),
        (rg.ones((2, 3)), torch.ones((2, 3))),
        (rg.full((2, 2), 7.0), torch.full((2, 2), 7.0)),
        (rg.full((2,), 7), torch.full((2,), 7)),
        (rg.arange(5), torch.arange(5)),
        (rg.arange(1, 4, 0.5), torch.arange(1, 4, 0.5)),
        (rg.arange(0.0, 1.0, 0.25), torch.arange(0.0, 1.0, 0.25)),
        (rg.eye(3), torch.eye(3)),
        (rg.eye(2, 3), torch.eye(2, 3)),
        (rg.linspace(0, 1, 5), torch.linspace(0, 1, 5)),
        (
            rg.zeros_like(rg.ones(2, dtype=rg.float64)),
            torch.zeros_like(torch.ones(2, dtype=torch.float64)),
        ),
        (rg.ones_like(rg.zeros(3)), torch.ones_like(torch.zeros(3))),
    ]
    for ours, theirs in pairs:
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_allclose(ours.array, theirs.numpy())
    assert rg.zeros(2, requires_grad=True).requires_grad


def test_manual_seed_makes_random_functions_reproducible():
    rg.manual_seed(42)
    a = (rg.rand(3, 2), rg.randn(4), rg.randint(0, 10, (5,)), rg.randperm(6))
    rg.manual_seed(42)
    b = (rg.rand(3, 2), rg.randn(4), rg.randint(0, 10, (5,)), rg.randperm(6))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.array, y.array)
    assert a[0].dtype == rg.float32 and a[1].dtype == rg.float32 and a[2].dtype == rg.int64
    assert sorted(a[3].tolist()) == list(range(6))
    assert ((a[0].array >= 0) & (a[0].array < 1)).all()
    g = rg.Generator().manual_seed(3)
    h = rg.Generator(3)
    np.testing.assert_array_equal(rg.randn(5, generator=g).array, rg.randn(5, generator=h).array)
    assert rg.randn(2, dtype=rg.float64).dtype == rg.float64


def test_randn_statistics():
    rg.manual_seed(0)
    x = rg.randn(200_000, dtype=rg.float64).array
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01


def test_ndarray_operand_dispatches_to_tensor():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    assert isinstance(y, rg.Tensor) and y.requires_grad
    z = np.ones(2, dtype=np.float32) - x
    np.testing.assert_array_equal(z.array, [0.0, -1.0])


def test_tensors_are_hashable_by_identity():
    a, b = rg.tensor([1.0]), rg.tensor([1.0])
    assert len({a, b}) == 2
    assert {a: 1}[a] == 1


def test_getitem_errors_are_clear():
    x = rg.zeros(2, 3)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[5]
    with pytest.raises(IndexError, match="integer or bool"):
        x[rg.tensor([0.5])]


def test_setitem_without_grad():
    x = rg.zeros(2, 3)
    x[0, 1] = 4.0
    x[rg.tensor([True, False])] = rg.ones(3)
    np.testing.assert_array_equal(x.array, [[1, 1, 1], [0, 0, 0]])
