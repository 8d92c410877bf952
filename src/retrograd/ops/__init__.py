"""Every differentiable operation: one small class each, forward and backward side by side.

Every class works on arrays only. ``forward`` receives the input arrays (op
parameters are attributes set when the op is applied) and returns the output
array; ``backward`` receives the output's gradient and returns one gradient per
input. Gradients of broadcast operands are reduced by
:func:`retrograd._backend.sum_to`.

- :mod:`.elementwise`: arithmetic, unary math, activations, clamp, cast;
- :mod:`.reduction`: sum, mean, var, std, amax, max along a dim, logsumexp, softmax;
- :mod:`.shape`: reshape, permute, expand, indexing, cat, stack;
- :mod:`.linalg`: the matrix product;
- :mod:`.nn`: the layers' fused ops (linear, dropout, batch and layer norm, PReLU,
  embedding, pad, normalize);
- :mod:`.loss`: the losses' fused ops;
- :mod:`.conv`: convolutions and transposed convolutions;
- :mod:`.pool`: max, average and adaptive pooling.
"""

from __future__ import annotations

from .conv import Conv, ConvTranspose
from .elementwise import (
    ELU,
    GELU,
    Abs,
    Add,
    Cast,
    Clamp,
    Cos,
    Div,
    Exp,
    Hardtanh,
    LeakyReLU,
    Log,
    LogSigmoid,
    Maximum,
    Minimum,
    Mish,
    Mul,
    Neg,
    Pow,
    PowScalar,
    ReLU,
    RPowScalar,
    Sigmoid,
    SiLU,
    Sin,
    Softplus,
    Softsign,
    Sqrt,
    Sub,
    Tanh,
    Where,
)
from .linalg import MatMul
from .loss import (
    NLL,
    AbsoluteError,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    Huber,
    SmoothL1,
    SoftmaxCrossEntropy,
    SquaredError,
)
from .nn import BatchNorm, Dropout, Embedding, LayerNorm, Linear, Normalize, Pad, PReLU
from .pool import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, MaxPool
from .reduction import AMax, LogSoftmax, LogSumExp, MaxDim, Mean, Softmax, Std, Sum, Var
from .shape import Cat, Expand, Index, Permute, Reshape, Stack

__all__ = [
    "AMax",
    "Abs",
    "AbsoluteError",
    "AdaptiveAvgPool",
    "AdaptiveMaxPool",
    "Add",
    "AvgPool",
    "BatchNorm",
    "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits",
    "Cast",
    "Cat",
    "Clamp",
    "Conv",
    "ConvTranspose",
    "Cos",
    "CrossEntropy",
    "Div",
    "Dropout",
    "ELU",
    "Embedding",
    "Exp",
    "Expand",
    "GELU",
    "Hardtanh",
    "Huber",
    "Index",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "Log",
    "LogSigmoid",
    "LogSoftmax",
    "LogSumExp",
    "MatMul",
    "MaxDim",
    "MaxPool",
    "Maximum",
    "Mean",
    "Minimum",
    "Mish",
    "Mul",
    "NLL",
    "Neg",
    "Normalize",
    "PReLU",
    "Pad",
    "Permute",
    "Pow",
    "PowScalar",
    "RPowScalar",
    "ReLU",
    "Reshape",
    "SiLU",
    "Sigmoid",
    "Sin",
    "SmoothL1",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Softplus",
    "Softsign",
    "Sqrt",
    "SquaredError",
    "Stack",
    "Std",
    "Sub",
    "Sum",
    "Tanh",
    "Var",
    "Where",
]
