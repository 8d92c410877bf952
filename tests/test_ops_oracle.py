"""Every differentiable op against PyTorch (values and gradients) and finite differences.

Each case is written once, as a function of a namespace ``L`` (``retrograd`` or
``torch``) and ``F`` (``retrograd.functional`` or ``torch.nn.functional``), because
the two APIs share their names. Inputs avoid kinks (relu, abs at 0; ties in max)
except in the dedicated tie tests of test_numerics.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import retrograd as rg
import retrograd.functional as RF

from .conftest import assert_close, noncontiguous, to_torch

UNARY_SHAPES = [(), (1,), (5,), (2, 3), (2, 1, 3), (0, 3)]
BINARY_SHAPES = [
    ((), ()),
    ((5,), (5,)),
    ((2, 3), (3,)),
    ((2, 1, 3), (4, 3)),
    ((4, 3), (2, 1, 3)),
    ((2, 3), ()),
    ((), (2, 3)),
    ((2, 1), (1, 3)),
    ((1,), (0,)),
    ((0, 3), (1, 3)),
]


@dataclass
class Case:
    name: str
    fn: Callable[..., Any]
    shapes: list[tuple[tuple[int, ...], ...]]
    domain: str = "real"  # "real", "positive", "away" (|x| >= 0.2), "unit" (-0.9..0.9)
    gradcheck: bool = True
    params: dict = field(default_factory=dict)


def _unary(name: str, fn: Callable[..., Any], domain: str = "away") -> Case:
    return Case(name, fn, [(s,) for s in UNARY_SHAPES], domain)


def _binary(name: str, fn: Callable[..., Any], domain: str = "away") -> Case:
    return Case(name, fn, list(BINARY_SHAPES), domain)


R3 = [((2, 3, 4),), ((3,),), ((1, 4),)]
R3_DIM = [((2, 3, 4),)]
R2 = [((2, 3, 4),), ((1, 4),)]


def _dims_fit(d) -> list:
    return R3 if d is None or isinstance(d, int) else R2


CASES = [
    # arithmetic, with tensors and with Python scalars on either side
    _binary("add", lambda L, F, a, b: a + b),
    _binary("sub", lambda L, F, a, b: a - b),
    _binary("mul", lambda L, F, a, b: a * b),
    _binary("div", lambda L, F, a, b: a / b),
    _binary("pow", lambda L, F, a, b: L.pow(a, b), "positive"),
    _binary("maximum", lambda L, F, a, b: L.maximum(a, b)),
    _binary("minimum", lambda L, F, a, b: L.minimum(a, b)),
    _binary("fn_add", lambda L, F, a, b: L.add(a, b)),
    _binary("fn_sub", lambda L, F, a, b: L.sub(a, b)),
    _binary("fn_mul", lambda L, F, a, b: L.mul(a, b)),
    _binary("fn_div", lambda L, F, a, b: L.div(a, b)),
    _unary("radd", lambda L, F, a: 2.5 + a),
    _unary("rsub", lambda L, F, a: 2.5 - a),
    _unary("rmul", lambda L, F, a: 2.5 * a),
    _unary("rdiv", lambda L, F, a: 2.5 / a),
    _unary("scalar_ops", lambda L, F, a: (a + 1) * 3 - a / 2),
    _unary("pow2", lambda L, F, a: a**2, "real"),
    _unary("pow3", lambda L, F, a: a**3, "real"),
    _unary("pow_neg", lambda L, F, a: a**-2),
    _unary("pow_half", lambda L, F, a: a**0.5, "positive"),
    _unary("pow0", lambda L, F, a: a**0, "real"),
    _unary("rpow", lambda L, F, a: 2.0**a, "real"),
    _unary("neg", lambda L, F, a: -a, "real"),
    _unary("fn_neg", lambda L, F, a: L.neg(a), "real"),
    _unary("abs", lambda L, F, a: L.abs(a)),
    _unary("exp", lambda L, F, a: L.exp(a), "real"),
    _unary("log", lambda L, F, a: L.log(a), "positive"),
    _unary("sqrt", lambda L, F, a: L.sqrt(a), "positive"),
    _unary("sin", lambda L, F, a: L.sin(a), "real"),
    _unary("cos", lambda L, F, a: L.cos(a), "real"),
    _unary("tanh", lambda L, F, a: L.tanh(a), "real"),
    _unary("sigmoid", lambda L, F, a: L.sigmoid(a), "real"),
    _unary("relu", lambda L, F, a: L.relu(a)),
    _unary("method_chain", lambda L, F, a: a.exp().sin().tanh().sigmoid().relu(), "real"),
    _unary("F_relu", lambda L, F, a: F.relu(a)),
    _unary("F_sigmoid", lambda L, F, a: F.sigmoid(a), "real"),
    _unary("F_tanh", lambda L, F, a: F.tanh(a), "real"),
    _unary("leaky_relu", lambda L, F, a: F.leaky_relu(a)),
    _unary("leaky_relu_0.2", lambda L, F, a: F.leaky_relu(a, 0.2)),
    _unary("elu", lambda L, F, a: F.elu(a)),
    _unary("elu_alpha", lambda L, F, a: F.elu(a, alpha=0.7)),
    _unary("gelu", lambda L, F, a: F.gelu(a), "real"),
    _unary("gelu_tanh", lambda L, F, a: F.gelu(a, approximate="tanh"), "real"),
    _unary("softplus", lambda L, F, a: F.softplus(a), "real"),
    _unary("softplus_beta", lambda L, F, a: F.softplus(a, beta=2.0, threshold=1.5)),
    _unary(
        "top_leaky_relu",
        lambda L, F, a: L.nn.functional.leaky_relu(a, 0.1) if L is torch else L.leaky_relu(a, 0.1),
    ),
    _unary("clamp", lambda L, F, a: L.clamp(a, -0.5, 0.7)),
    _unary("clamp_min", lambda L, F, a: a.clamp(min=0.3)),
    _unary("clamp_max", lambda L, F, a: a.clamp(max=0.3)),
    Case("clamp_tensor", lambda L, F, a, lo: L.clamp(a, min=lo), [((2, 3), (3,))], "away"),
    Case(
        "where",
        lambda L, F, a, b: L.where(a > 0, a, b),
        [((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 1, 3)), ((), (2,))],
        "away",
    ),
    Case("where_scalar", lambda L, F, a: L.where(a > 0, a, 0.5), [((2, 3),)], "away"),
    Case("masked_fill", lambda L, F, a: a.masked_fill(a < 0, 2.0), [((2, 3),)], "away"),
    # matmul, including 1-D operands, batches and broadcasting batches
    Case(
        "matmul",
        lambda L, F, a, b: a @ b,
        [
            ((3,), (3,)),
            ((3,), (3, 4)),
            ((2, 3), (3,)),
            ((2, 3), (3, 4)),
            ((5, 2, 3), (3, 4)),
            ((2, 3), (5, 3, 4)),
            ((5, 2, 3), (5, 3, 4)),
            ((2, 1, 2, 3), (4, 3, 2)),
            ((0, 3), (3, 4)),
            ((2, 0), (0, 4)),
            ((4,), (2, 4, 3)),
        ],
        "real",
    ),
    Case("fn_matmul", lambda L, F, a, b: L.matmul(a, b), [((2, 3), (3, 4))], "real"),
    # reductions
    *[
        Case(
            f"sum_{d}_{k}", lambda L, F, a, d=d, k=k: a.sum(dim=d, keepdim=k), _dims_fit(d), "real"
        )
        for d, k in [(None, False), (0, False), (-1, True), ((0, 1), False), ((0, 1), True)]
    ],
    *[
        Case(
            f"mean_{d}_{k}",
            lambda L, F, a, d=d, k=k: a.mean(dim=d, keepdim=k),
            _dims_fit(d),
            "real",
        )
        for d, k in [(None, False), (0, True), ((0, -1), False), ((0, -1), True)]
    ],
    Case("sum_all", lambda L, F, a: L.sum(a), [((),), ((2, 3),), ((0, 3),)], "real"),
    Case("mean_all", lambda L, F, a: L.mean(a), [((),), ((2, 3),)], "real"),
    *[
        Case(
            f"var_{d}_{k}_{c}",
            lambda L, F, a, d=d, k=k, c=c: a.var(dim=d, keepdim=k, correction=c),
            R3_DIM,
            "real",
        )
        for d, k, c in [(None, False, 1), (1, True, 1), ((0, 2), False, 0), (-1, False, 2)]
    ],
    Case("var_unbiased_false", lambda L, F, a: a.var(1, unbiased=False), R3_DIM, "real"),
    *[
        Case(f"std_{d}_{k}", lambda L, F, a, d=d, k=k: a.std(dim=d, keepdim=k), R3_DIM, "real")
        for d, k in [(None, False), (1, True), ((0, 2), False)]
    ],
    Case(
        "fn_var_std", lambda L, F, a: L.var(a, 0) + L.std(a, 1, keepdim=True), [((3, 3),)], "real"
    ),
    *[
        Case(f"amax_{d}_{k}", lambda L, F, a, d=d, k=k: a.amax(dim=d, keepdim=k), R3_DIM, "real")
        for d, k in [(None, False), (0, False), (-1, True), ((0, 2), False), ((0, 2), True)]
    ],
    *[
        Case(f"amin_{d}_{k}", lambda L, F, a, d=d, k=k: L.amin(a, dim=d, keepdim=k), R3_DIM, "real")
        for d, k in [(None, False), (1, True), ((1, 2), False)]
    ],
    Case("max_all", lambda L, F, a: a.max(), R3, "real"),
    Case("min_all", lambda L, F, a: L.min(a), R3, "real"),
    Case("max_dim", lambda L, F, a: a.max(dim=1).values, R3_DIM, "real"),
    Case("max_dim_keep", lambda L, F, a: a.max(-1, keepdim=True)[0], R3_DIM, "real"),
    Case("min_dim", lambda L, F, a: L.min(a, 0).values, R3_DIM, "real"),
    *[
        Case(
            f"logsumexp_{d}_{k}",
            lambda L, F, a, d=d, k=k: L.logsumexp(a, dim=d, keepdim=k),
            R3_DIM,
            "real",
        )
        for d, k in [(0, False), (-1, True), ((0, 2), False), ((1, 2), True)]
    ],
    Case("softmax", lambda L, F, a: a.softmax(-1), [((4, 5),), ((5,),), ((2, 3, 4),)], "real"),
    Case("softmax_0", lambda L, F, a: L.softmax(a, 0), [((4, 5),)], "real"),
    Case("log_softmax", lambda L, F, a: F.log_softmax(a, dim=1), [((4, 5),), ((2, 3, 4),)], "real"),
    Case("F_softmax", lambda L, F, a: F.softmax(a, dim=-1), [((4, 5),)], "real"),
    # shape ops
    Case("reshape", lambda L, F, a: a.reshape(3, -1) * 2, [((2, 3, 2),)], "real"),
    Case("reshape_tuple", lambda L, F, a: L.reshape(a, (6, 2)), [((2, 3, 2),)], "real"),
    Case("view", lambda L, F, a: a.view(-1) * 2, [((2, 3),), ((),)], "real"),
    Case("flatten", lambda L, F, a: a.flatten(1) * 2, [((2, 3, 4),)], "real"),
    Case("flatten_all", lambda L, F, a: L.flatten(a) * 2, [((2, 3, 4),), ((),)], "real"),
    Case("transpose", lambda L, F, a: a.transpose(0, 2) * 2, [((2, 3, 4),)], "real"),
    Case("fn_transpose", lambda L, F, a: L.transpose(a, 1, -1) @ a, [((2, 3, 3),)], "real"),
    Case("T", lambda L, F, a: a.T * 2, [((2, 3),)], "real"),
    Case("mT", lambda L, F, a: a.mT * 2, [((4, 2, 3),)], "real"),
    Case("permute", lambda L, F, a: a.permute(2, 0, 1) * 2, [((2, 3, 4),)], "real"),
    Case("fn_permute", lambda L, F, a: L.permute(a, (1, 0, 2)) * 2, [((2, 3, 4),)], "real"),
    Case("squeeze", lambda L, F, a: a.squeeze() * 2, [((2, 1, 3, 1),)], "real"),
    Case("squeeze_dim", lambda L, F, a: a.squeeze(1) * 2, [((2, 1, 3, 1),)], "real"),
    Case("squeeze_tuple", lambda L, F, a: L.squeeze(a, (1, 3)) * 2, [((2, 1, 3, 1),)], "real"),
    Case("unsqueeze", lambda L, F, a: a.unsqueeze(-1) * 2, [((2, 3),)], "real"),
    Case("fn_unsqueeze", lambda L, F, a: L.unsqueeze(a, 0) * 2, [((2, 3),)], "real"),
    Case("expand", lambda L, F, a: a.expand(4, 2, 3) * 2, [((2, 1),), ((1, 3),)], "real"),
    Case("expand_m1", lambda L, F, a: a.expand(-1, 5) * 2, [((3, 1),)], "real"),
    Case("expand_as", lambda L, F, a, b: a.expand_as(b) * b, [((3, 1), (3, 4))], "real"),
    Case("cat", lambda L, F, a, b: L.cat([a, b, a], dim=0), [((2, 3), (4, 3))], "real"),
    Case("cat_1", lambda L, F, a, b: L.cat((a, b), 1), [((2, 3), (2, 1))], "real"),
    Case("stack", lambda L, F, a, b: L.stack([a, b, a], dim=1), [((2, 3), (2, 3))], "real"),
    Case("stack_last", lambda L, F, a, b: L.stack([a, b], -1), [((2, 3), (2, 3))], "real"),
    # PyTorch's wider surface (issue 19): unary math
    _unary("log2", lambda L, F, a: L.log2(a), "positive"),
    _unary("log10", lambda L, F, a: a.log10(), "positive"),
    _unary("log1p", lambda L, F, a: L.log1p(a), "positive"),
    _unary("expm1", lambda L, F, a: a.expm1(), "real"),
    _unary("rsqrt", lambda L, F, a: L.rsqrt(a), "positive"),
    _unary("reciprocal", lambda L, F, a: a.reciprocal()),
    _unary("square", lambda L, F, a: L.square(a), "real"),
    _unary("sinh", lambda L, F, a: L.sinh(a), "real"),
    _unary("cosh", lambda L, F, a: a.cosh(), "real"),
    _unary("asin", lambda L, F, a: L.asin(a), "unit"),
    _unary("acos", lambda L, F, a: a.acos(), "unit"),
    _unary("atan", lambda L, F, a: L.atan(a), "real"),
    _unary("erf", lambda L, F, a: L.erf(a), "real"),
    _unary("rounding", lambda L, F, a: a.round() + a.floor() + L.ceil(a) + a.trunc() + a * 1),
    _unary("sign_frac", lambda L, F, a: L.sign(a) * a + a.frac()),
    _unary("round_decimals", lambda L, F, a: L.round(a, decimals=1) + a),
    _unary("nan_to_num", lambda L, F, a: L.nan_to_num(a) * 2, "real"),
    _unary("mod_floordiv", lambda L, F, a: a % 0.7 + (a.detach() // 0.3) * a),
    Case("lerp", lambda L, F, a, b, w: L.lerp(a, b, w), [((2, 3), (2, 3), (2, 3))], "real"),
    Case("lerp_scalar", lambda L, F, a, b: a.lerp(b, 0.3), [((2, 3), (3,))], "real"),
    Case("clamp_tensor_max", lambda L, F, a, hi: a.clamp(max=hi), [((2, 3), (2, 3))], "away"),
    # reductions, running sums and norms
    Case("prod_all", lambda L, F, a: L.prod(a), [((2, 3),), ((),), ((4,),)], "away"),
    Case("prod_dim", lambda L, F, a: a.prod(1), [((2, 3, 4),)], "away"),
    Case("prod_keep", lambda L, F, a: a.prod(-1, keepdim=True), [((2, 3),)], "away"),
    Case("cumsum", lambda L, F, a: L.cumsum(a, 0), [((4, 3),), ((5,),)], "real"),
    Case("cumsum_last", lambda L, F, a: a.cumsum(-1), [((2, 3, 4),)], "real"),
    Case("cumprod", lambda L, F, a: L.cumprod(a, 1), [((2, 4),)], "away"),
    Case("norm", lambda L, F, a: a.norm(), [((2, 3),), ((5,),)], "real"),
    Case("norm_dim", lambda L, F, a: L.norm(a, dim=1, keepdim=True), [((2, 3, 4),)], "real"),
    Case("norm_p1", lambda L, F, a: a.norm(p=1, dim=0), [((3, 4),)], "away"),
    Case("norm_p3", lambda L, F, a: L.norm(a, 3, dim=(0, 1)), [((3, 4),)], "away"),
    Case("norm_inf", lambda L, F, a: a.norm(p=float("inf"), dim=1), [((3, 4),)], "away"),
    Case("linalg_norm", lambda L, F, a: L.linalg.norm(a), [((3, 4),), ((5,),)], "real"),
    Case("linalg_vector_norm", lambda L, F, a: L.linalg.vector_norm(a, 3, dim=-1), R3_DIM, "away"),
    Case("linalg_fro", lambda L, F, a: L.linalg.norm(a, "fro"), [((3, 4),)], "real"),
    Case("sum_keepdims", lambda L, F, a: a.sum(1, keepdims=True) * a, [((2, 3),)], "real"),
    Case("std_keepdims", lambda L, F, a: a.std(0, keepdims=True) * a, [((4, 3),)], "real"),
    # indexing by tensors
    Case(
        "gather",
        lambda L, F, a: a.gather(1, L.tensor([[0, 2, 2], [1, 0, 1]])),
        [((2, 4),)],
        "real",
    ),
    Case(
        "gather_0",
        lambda L, F, a: L.gather(a, 0, L.tensor([[1, 0], [1, 1], [0, 1]])),
        [((2, 3),)],
        "real",
    ),
    Case(
        "take_along_dim",
        lambda L, F, a: L.take_along_dim(a, L.tensor([[0], [2]]), dim=1),
        [((2, 3),)],
        "real",
    ),
    Case(
        "scatter",
        lambda L, F, a, b: a.scatter(1, L.tensor([[2, 0], [1, 3]]), b),
        [((2, 4), (2, 2))],
        "real",
    ),
    Case(
        "scatter_add",
        lambda L, F, a, b: L.scatter_add(a, 0, L.tensor([[1, 0, 1], [1, 1, 0]]), b),
        [((2, 3), (2, 3))],
        "real",
    ),
    Case(
        "scatter_value",
        lambda L, F, a: a.scatter(1, L.tensor([[0], [2]]), 1.5) * a,
        [((2, 3),)],
        "real",
    ),
    Case(
        "index_select",
        lambda L, F, a: L.index_select(a, 1, L.tensor([2, 0, 2])),
        [((3, 4),)],
        "real",
    ),
    Case("masked_select", lambda L, F, a: a.masked_select(a > 0), [((3, 4),)], "away"),
    Case("sort", lambda L, F, a: L.sort(a, dim=1, descending=True).values, R3_DIM, "real"),
    Case("sort_0", lambda L, F, a: a.sort(0)[0], [((4, 3),)], "real"),
    Case("topk", lambda L, F, a: a.topk(2).values, R3_DIM, "real"),
    Case("topk_small", lambda L, F, a: L.topk(a, 2, dim=0, largest=False)[0], [((4, 3),)], "real"),
    # shape
    Case("flip", lambda L, F, a: L.flip(a, (0, 2)) * a, R3_DIM, "real"),
    Case("flip_method", lambda L, F, a: a.flip(1), [((2, 3),)], "real"),
    Case("roll", lambda L, F, a: L.roll(a, 1, 1) * a, [((2, 3),)], "real"),
    Case("roll_dims", lambda L, F, a: a.roll((1, -2), (0, 2)), R3_DIM, "real"),
    Case("roll_flat", lambda L, F, a: a.roll(2) * a, [((2, 3),)], "real"),
    Case("repeat", lambda L, F, a: a.repeat(2, 3) * 2, [((2, 3),)], "real"),
    Case("repeat_newdims", lambda L, F, a: a.repeat(2, 1, 2), [((2, 3),), ((3,),)], "real"),
    Case("tile", lambda L, F, a: L.tile(a, (2,)), [((2, 3),)], "real"),
    Case("repeat_interleave", lambda L, F, a: a.repeat_interleave(2, dim=1), [((2, 3),)], "real"),
    Case(
        "repeat_interleave_flat",
        lambda L, F, a: L.repeat_interleave(a, L.tensor([1, 0, 3, 2])),
        [((2, 2),)],
        "real",
    ),
    Case("narrow", lambda L, F, a: a.narrow(1, 1, 2) * 2, [((2, 4),)], "real"),
    Case(
        "split_chunk_unbind",
        lambda L, F, a: (
            L.cat([p * (i + 1) for i, p in enumerate(a.split(2, 1))], 1)
            + L.cat([p * (i + 5) for i, p in enumerate(L.chunk(a, 2, 0))], 0)
            + L.stack(L.unbind(a, 1), 1) * a
        ),
        [((2, 5),)],
        "real",
    ),
    Case("split_sizes", lambda L, F, a: L.split(a, [1, 3], 1)[1] * 2, [((2, 4),)], "real"),
    Case("tril", lambda L, F, a: L.tril(a) * 2, [((3, 4),), ((2, 3, 3),)], "real"),
    Case("triu", lambda L, F, a: a.triu(1) + L.triu(a, -1), [((3, 4),)], "real"),
    Case("diagonal", lambda L, F, a: a.diagonal() * 2, [((3, 4),), ((4, 3),)], "real"),
    Case("diagonal_offset", lambda L, F, a: L.diagonal(a, 1, 0, 2), [((3, 2, 4),)], "real"),
    Case("diagonal_below", lambda L, F, a: a.diagonal(-1), [((3, 4),)], "real"),
    Case("diag_matrix", lambda L, F, a: L.diag(a) * 2, [((4,),)], "real"),
    Case("diag_offset", lambda L, F, a: a.diag(1) + L.diag(a, -2).sum(), [((3,),)], "real"),
    Case("diag_of_matrix", lambda L, F, a: L.diag(a, 1), [((3, 4),)], "real"),
    Case("trace", lambda L, F, a: L.trace(a) * a, [((3, 3),), ((2, 4),)], "real"),
    # products
    Case("mm", lambda L, F, a, b: a.mm(b), [((2, 3), (3, 4))], "real"),
    Case("bmm", lambda L, F, a, b: L.bmm(a, b), [((5, 2, 3), (5, 3, 4))], "real"),
    Case("mv", lambda L, F, a, b: L.mv(a, b), [((2, 3), (3,))], "real"),
    Case("dot", lambda L, F, a, b: a.dot(b), [((3,), (3,))], "real"),
    Case("outer", lambda L, F, a, b: L.outer(a, b), [((3,), (4,))], "real"),
    Case("einsum_mm", lambda L, F, a, b: L.einsum("ij,jk->ik", a, b), [((2, 3), (3, 4))], "real"),
    Case(
        "einsum_batch",
        lambda L, F, a, b: L.einsum("bij,bkj->bik", a, b),
        [((5, 2, 3), (5, 4, 3))],
        "real",
    ),
    Case("einsum_sum", lambda L, F, a: L.einsum("ij->j", a), [((2, 3),)], "real"),
    Case("einsum_dot", lambda L, F, a, b: L.einsum("i,i", a, b), [((3,), (3,))], "real"),
    Case(
        "einsum_three",
        lambda L, F, a, b, c: L.einsum("ij,jk,k->i", a, b, c),
        [((2, 3), (3, 4), (4,))],
        "real",
    ),
    Case(
        "einsum_ellipsis",
        lambda L, F, a, b: L.einsum("...ij,jk->...ik", a, b),
        [((5, 2, 3), (3, 4))],
        "real",
    ),
    Case(
        "einsum_outer_sum", lambda L, F, a, b: L.einsum("ij,k->k", a, b), [((2, 3), (4,))], "real"
    ),
    # graphs where one tensor feeds several later ones
    _binary("reuse", lambda L, F, a, b: (a * b + a.tanh()) * (a - b.sigmoid()) + a),
    Case("mlp", lambda L, F, x, w, b: ((x @ w + b).tanh() ** 2).mean(), [((4, 3), (3, 5), (5,))]),
]

GETITEM_INDICES: list[Any] = [
    1,
    -1,
    slice(1, 3),
    (slice(None), 2),
    (Ellipsis, 1),
    (None, 1),
    (slice(None, None, 2), slice(None), None),
    np.array([0, 2, 0, 3]),  # repeated indices accumulate
    (np.array([0, 1, 0]), slice(1, 3)),
    (slice(None), np.array([2, 2, 0])),
    (np.array([[0, 1], [3, 3]]), np.array([[1, 0], [2, 2]])),
    np.array([True, False, True, True]),
    "mask",
    ([0, 0, 2],),
]


def _inputs(shapes, dtype, domain, rng):
    out = []
    for shape in shapes:
        if domain == "positive":
            arr = rng.uniform(0.3, 2.0, size=shape)
        elif domain == "unit":
            arr = rng.uniform(-0.9, 0.9, size=shape)
        elif domain == "away":
            arr = rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        else:
            arr = rng.uniform(-2.0, 2.0, size=shape)
        out.append(np.asarray(arr, dtype=dtype))
    return out


def _run(case: Case, arrays, dtype, rng, layout="C"):
    if layout == "C":
        ours = [rg.tensor(a, requires_grad=True) for a in arrays]
    else:  # the same values in another layout (x.T's): ops must not assume C order
        ours = [rg.from_numpy(noncontiguous(a)).requires_grad_() for a in arrays]
    theirs = [to_torch(a, requires_grad=True) for a in arrays]
    y = case.fn(rg, RF, *ours)
    yt = case.fn(torch, TF, *theirs)
    assert y.dtype == np.dtype(dtype), f"{case.name}: dtype {y.dtype} from {dtype} inputs"
    assert_close(y, yt, dtype)
    g = np.asarray(rng.uniform(-1, 1, size=yt.shape), dtype=dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
        tg = t.grad if t.grad is not None else torch.zeros_like(t)
        assert o.grad is not None, f"{case.name}: input {i} got no gradient"
        assert o.grad.dtype == np.dtype(dtype), f"{case.name}: grad dtype {o.grad.dtype}"
        assert_close(o.grad, tg, dtype)


PARAMS = [
    pytest.param(case, shapes, id=f"{case.name}-{'x'.join(map(str, shapes))}")
    for case in CASES
    for shapes in case.shapes
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("case", "shapes"), PARAMS)
def test_matches_torch(case: Case, shapes, dtype, rng):
    _run(case, _inputs(shapes, dtype, case.domain, rng), dtype, rng)


@pytest.mark.parametrize(
    ("case", "shapes"), [p for p in PARAMS if any(np.prod(s) > 1 for s in p.values[1])]
)
def test_matches_torch_on_noncontiguous_inputs(case: Case, shapes, rng):
    _run(case, _inputs(shapes, np.float64, case.domain, rng), np.float64, rng, layout="other")


@pytest.mark.parametrize(("case", "shapes"), PARAMS)
def test_second_backward_adds_into_the_same_grad_as_torch(case: Case, shapes, rng):
    """Two backward passes: ``.grad`` is the same tensor, holding the sum; nothing else moves.

    PyTorch adds a later gradient into ``.grad`` in place, so a reference kept between
    the passes sees the sum. A gradient array an op hands to two inputs, or one it also
    keeps, must not be added into twice (each input's sum is checked) and the inputs'
    values must not change.
    """
    arrays = _inputs(shapes, np.float64, case.domain, rng)
    ours = [rg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [to_torch(a, requires_grad=True) for a in arrays]
    kept, kept_t = [], []
    for _ in range(2):
        y, yt = case.fn(rg, RF, *ours), case.fn(torch, TF, *theirs)
        g = rng.uniform(-1, 1, size=yt.shape)
        y.backward(g)
        yt.backward(torch.from_numpy(g))
        kept.append([o.grad for o in ours])
        kept_t.append([t.grad for t in theirs])
    for i, (o, t, a) in enumerate(zip(ours, theirs, arrays, strict=True)):
        np.testing.assert_array_equal(o.detach().numpy(), a, err_msg=f"{case.name}: input {i}")
        if t.grad is None:
            continue
        assert_close(o.grad, t.grad, np.float64)
        assert (kept[0][i] is o.grad) == (kept_t[0][i] is t.grad), f"{case.name}: input {i}"
        assert_close(kept[0][i], t.grad, np.float64)


@pytest.mark.parametrize(
    ("case", "shapes"), [p for p in PARAMS if not any(0 in s for s in p.values[1])]
)  # size-0 inputs have no element to perturb; their gradients are compared with torch above
def test_gradcheck(case: Case, shapes, rng):
    arrays = _inputs(shapes, np.float64, case.domain, rng)
    inputs = [rg.tensor(a, requires_grad=True) for a in arrays]
    assert rg.gradcheck(lambda *xs: case.fn(rg, RF, *xs), inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", GETITEM_INDICES, ids=lambda i: repr(i).replace(" ", ""))
def test_getitem_matches_torch(index, dtype, rng):
    arr = np.asarray(rng.uniform(-2, 2, size=(4, 5)), dtype=dtype)
    if isinstance(index, str):  # a bool mask tensor of the full shape
        mask = arr > 0
        index_rg, index_t = rg.tensor(mask), torch.from_numpy(mask)
    else:
        index_rg = index_t = index
        if isinstance(index, np.ndarray):
            index_rg, index_t = rg.tensor(index), torch.from_numpy(index)
    case = Case("getitem", lambda L, F, a: a[index_rg if L is rg else index_t] * 3, [])
    _run(case, [arr], dtype, rng)
    x = rg.tensor(arr.astype(np.float64), requires_grad=True)
    assert rg.gradcheck(lambda a: a[index_rg] * 3, [x])


def test_max_dim_indices_match_torch(rng):
    arr = rng.integers(0, 3, size=(4, 6)).astype(np.float32)  # many ties
    for dim in (0, 1, -1):
        for keep in (False, True):
            v, i = rg.tensor(arr).max(dim, keepdim=keep)
            vt, it = torch.from_numpy(arr).max(dim, keepdim=keep)
            assert_close(v, vt)
            np.testing.assert_array_equal(i.array, it.numpy())
            v, i = rg.tensor(arr).min(dim=dim, keepdim=keep)
            vt, it = torch.from_numpy(arr).min(dim=dim, keepdim=keep)
            np.testing.assert_array_equal(i.array, it.numpy())


def test_comparisons_and_argmax_match_torch(rng):
    a = rng.integers(0, 3, size=(3, 4)).astype(np.float32)
    b = rng.integers(0, 3, size=(4,)).astype(np.float32)
    x, y = rg.tensor(a, requires_grad=True), rg.tensor(b)
    xt, yt = torch.from_numpy(a), torch.from_numpy(b)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        out = getattr(x, name)(y)
        assert out.dtype == rg.bool and not out.requires_grad
        np.testing.assert_array_equal(out.array, getattr(xt, name)(yt).numpy())
        np.testing.assert_array_equal(
            getattr(rg, name)(x, 1.0).array, getattr(torch, name)(xt, 1.0).numpy()
        )
    np.testing.assert_array_equal((x == y).array, (xt == yt).numpy())
    np.testing.assert_array_equal((x >= 1).array, (xt >= 1).numpy())
    for dim, keep in [(None, False), (0, False), (1, True)]:
        for fn in ("argmax", "argmin"):
            ours = getattr(rg, fn)(x, dim=dim, keepdim=keep)
            theirs = getattr(torch, fn)(xt, dim=dim, keepdim=keep)
            assert ours.dtype == rg.int64 and not ours.requires_grad
            np.testing.assert_array_equal(ours.array, theirs.numpy())
