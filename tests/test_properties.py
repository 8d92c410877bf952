"""Property tests: random shapes, broadcasting and random compositions against PyTorch."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import retrograd as rg
import retrograd.functional as RF

from .conftest import assert_close, to_torch

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.5 + b * b),
    "max": lambda a, b: a.maximum(b) if isinstance(a, rg.Tensor) else torch.maximum(a, b),
}
UNARY = {
    "tanh": lambda L, F, a: L.tanh(a),
    "sigmoid": lambda L, F, a: L.sigmoid(a),
    "sin": lambda L, F, a: L.sin(a),
    "softplus": lambda L, F, a: F.softplus(a),
    "gelu": lambda L, F, a: F.gelu(a),
    "square": lambda L, F, a: a * a,
    "exp_bounded": lambda L, F, a: L.exp(L.tanh(a)),
    "sum_keep": lambda L, F, a: a.sum(-1, keepdim=True) if a.ndim else a,
    "mean_keep0": lambda L, F, a: a.mean(0, keepdim=True) if a.ndim else a,
    "softmax": lambda L, F, a: F.softmax(a, -1) if a.ndim else a,
    "logsumexp_keep": lambda L, F, a: L.logsumexp(a, -1, keepdim=True) if a.ndim else a,
    "amax_keep": lambda L, F, a: a.amax(-1, keepdim=True) if a.ndim else a,
}


def _values(shape, seed, dtype=np.float64):
    return np.random.default_rng(seed).uniform(-1.5, 1.5, size=shape).astype(dtype)


@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
    op=st.sampled_from(sorted(BINARY)),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_broadcast_binary_matches_torch(shapes, op, dtype, seed):
    a_shape, b_shape = shapes.input_shapes
    a = rg.tensor(_values(a_shape, seed, dtype), requires_grad=True)
    b = rg.tensor(_values(b_shape, seed + 1, dtype), requires_grad=True)
    at, bt = to_torch(a), to_torch(b)
    y, yt = BINARY[op](a, b), BINARY[op](at, bt)
    assert_close(y, yt, dtype)
    g = _values(yt.shape, seed + 2, dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(a.grad, at.grad, dtype)
    assert_close(b.grad, bt.grad, dtype)


@given(
    shape=array_shapes(min_dims=1, max_dims=4, max_side=4),
    data=st.data(),
    keepdim=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_reductions_over_random_dims_match_torch(shape, data, keepdim, seed):
    ndim = len(shape)
    dims = data.draw(
        st.lists(
            st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim, unique_by=lambda d: d % ndim
        )
    )
    dim = tuple(dims) if len(dims) > 1 else dims[0]
    name = data.draw(st.sampled_from(["sum", "mean", "amax", "amin", "logsumexp", "var"]))
    if name == "var" and np.prod([shape[d] for d in dims]) < 2:
        return
    x = rg.tensor(_values(shape, seed), requires_grad=True)
    xt = to_torch(x)
    y = getattr(x, name)(dim, keepdim=keepdim)
    yt = getattr(xt, name)(dim, keepdim=keepdim)
    assert_close(y, yt)
    g = _values(yt.shape, seed + 1)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad)


@st.composite
def programs(draw):
    """A random graph: inputs of broadcastable shapes, ops that reuse earlier values."""
    shapes = draw(mutually_broadcastable_shapes(num_shapes=3, min_dims=1, max_dims=3, max_side=3))
    steps = []
    n_values = 3
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            steps.append(
                ("u", draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, n_values - 1)))
            )
        else:
            i = draw(st.integers(0, n_values - 1))
            j = draw(st.integers(0, n_values - 1))
            steps.append(("b", draw(st.sampled_from(sorted(BINARY))), i, j))
        n_values += 1
    return shapes.input_shapes, steps


def _execute(steps, inputs, L, F):
    values = list(inputs)
    for step in steps:
        if step[0] == "u":
            values.append(UNARY[step[1]](L, F, values[step[2]]))
        else:
            values.append(BINARY[step[1]](values[step[2]], values[step[3]]))
    return sum(v.sum() for v in values[3:])  # every intermediate feeds the output


@given(program=programs(), seed=st.integers(0, 2**16))
def test_random_compositions_match_torch(program, seed):
    shapes, steps = program
    xs = [rg.tensor(_values(s, seed + i), requires_grad=True) for i, s in enumerate(shapes)]
    ts = [to_torch(x) for x in xs]
    y = _execute(steps, xs, rg, RF)
    yt = _execute(steps, ts, torch, TF)
    assert_close(y, yt, rtol=1e-8, atol=1e-9)
    y.backward()
    yt.backward()
    for x, t in zip(xs, ts, strict=True):
        expected = t.grad if t.grad is not None else torch.zeros_like(t)
        got = x.grad.array if x.grad is not None else np.zeros(x.shape)
        assert_close(got, expected, rtol=1e-8, atol=1e-9)


@given(program=programs(), seed=st.integers(0, 2**16))
def test_random_compositions_pass_gradcheck(program, seed):
    shapes, steps = program
    xs = [rg.tensor(_values(s, seed + i), requires_grad=True) for i, s in enumerate(shapes)]
    assert rg.gradcheck(lambda *a: _execute(steps, a, rg, RF), xs, atol=1e-5, rtol=1e-4)


@given(
    shape=array_shapes(min_dims=2, max_dims=4, max_side=4),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_shape_op_chains_match_torch(shape, data, seed):
    x = rg.tensor(_values(shape, seed), requires_grad=True)
    xt = to_torch(x)
    perm = data.draw(st.permutations(range(len(shape))))
    d0, d1 = data.draw(st.integers(0, len(shape) - 1)), data.draw(st.integers(0, len(shape) - 1))

    def chain(a):
        b = a.permute(*perm).transpose(d0, d1).unsqueeze(1)
        c = b.reshape(-1, b.shape[-1]).flatten()
        return (c * c).sum() + c[::2].sum() + b.squeeze(1)[0].sum() * 2

    y, yt = chain(x), chain(xt)
    assert_close(y, yt)
    y.backward()
    yt.backward()
    assert_close(x.grad, xt.grad)
