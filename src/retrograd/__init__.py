"""retrograd: neural networks trained by backpropagation, on NumPy.

The engine is a :class:`Tensor` with reverse-mode automatic differentiation whose
names and semantics follow PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

import numpy as _np

from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    BoolTensor,
    ByteTensor,
    DoubleTensor,
    FloatTensor,
    IntTensor,
    LongTensor,
    arange,
    as_tensor,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    linspace,
    logspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    set_default_dtype,
    zeros,
    zeros_like,
)
from .devices import device, get_default_device, set_default_device
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .nn.functional import elu, gelu, leaky_relu, softplus
from .random import Generator, default_generator, initial_seed, manual_seed, seed
from .tensor import MaxResult, Tensor
from .tensor_functions import (
    abs,
    acos,
    add,
    all,
    allclose,
    amax,
    amin,
    any,
    arccos,
    arcsin,
    arctan,
    argmax,
    argmin,
    argsort,
    asin,
    atan,
    bincount,
    bmm,
    cat,
    ceil,
    chunk,
    clamp,
    cos,
    cosh,
    cumprod,
    cumsum,
    diag,
    diagonal,
    div,
    dot,
    einsum,
    eq,
    equal,
    erf,
    exp,
    expm1,
    fix,
    flatten,
    flip,
    floor,
    floor_divide,
    frac,
    gather,
    ge,
    gt,
    histc,
    histogram,
    index_select,
    is_floating_point,
    is_tensor,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    lerp,
    log,
    log1p,
    log2,
    log10,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    logsumexp,
    lt,
    masked_select,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    mv,
    nan_to_num,
    narrow,
    ne,
    neg,
    nonzero,
    norm,
    numel,
    outer,
    permute,
    pow,
    prod,
    reciprocal,
    relu,
    remainder,
    repeat_interleave,
    reshape,
    roll,
    round,
    rsqrt,
    scatter,
    scatter_add,
    sigmoid,
    sign,
    sin,
    sinh,
    softmax,
    sort,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    t,
    take_along_dim,
    tanh,
    tile,
    topk,
    trace,
    transpose,
    tril,
    triu,
    trunc,
    unbind,
    unique,
    unsqueeze,
    var,
    where,
)
from .threads import get_num_threads, set_num_threads

# dtypes are NumPy's: ``t.dtype == retrograd.float32`` and ``np.float32`` compare equal.
float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
int8 = _np.dtype(_np.int8)
int16 = _np.dtype(_np.int16)
int32 = _np.dtype(_np.int32)
int64 = _np.dtype(_np.int64)
uint8 = _np.dtype(_np.uint8)
bool = _np.dtype(_np.bool_)
float = float32
double = float64
short = int16
int = int32
long = int64
finfo = _np.finfo
iinfo = _np.iinfo
#: ``torch.Size``: a shape is a tuple here (``t.shape == retrograd.Size([2, 3])`` holds).
Size = tuple

clip = clamp

__version__ = "0.1.0"

__all__ = [
    "BoolTensor", "ByteTensor", "DoubleTensor", "FloatTensor", "Generator", "GradcheckError",
    "IntTensor", "LongTensor", "MaxResult", "Size", "Tensor", "abs", "acos", "add", "all",
    "allclose", "amax", "amin", "any", "arange", "arccos", "arcsin", "arctan", "argmax",
    "argmin", "argsort", "as_tensor", "asin", "atan", "bernoulli", "bincount", "bmm", "bool",
    "cat", "ceil", "chunk", "clamp", "clip", "cos", "cosh", "cumprod", "cumsum", "diag", "diagonal",
    "default_generator", "device", "div", "dot", "double", "einsum", "elu", "empty",
    "empty_like", "enable_grad", "eq", "equal", "erf", "exp", "expm1", "eye", "finfo", "fix",
    "flatten", "flip", "float", "float32", "float64", "floor", "floor_divide", "frac",
    "from_numpy", "full", "full_like", "gather", "ge", "gelu", "get_default_device",
    "get_default_dtype", "gradcheck", "gradgradcheck", "gt", "histc", "histogram", "iinfo",
    "index_select", "inference_mode", "initial_seed", "int", "int16", "int32", "int64", "int8",
    "is_floating_point", "is_grad_enabled", "is_tensor", "isclose", "isfinite", "isinf",
    "isnan", "le", "leaky_relu", "lerp", "linspace", "log", "log10", "log1p", "log2",
    "log_softmax", "logical_and", "logical_not", "logical_or", "logspace", "logsumexp", "long",
    "lt", "manual_seed", "masked_select", "matmul", "max", "maximum", "mean", "min", "minimum",
    "mm", "mul", "multinomial", "mv", "nan_to_num", "narrow", "ne", "neg", "no_grad", "nonzero",
    "norm", "normal", "numel", "ones", "ones_like", "outer", "permute", "pow", "prod", "rand",
    "rand_like", "randint", "randn", "randn_like", "randperm", "reciprocal", "relu",
    "remainder", "repeat_interleave", "reshape", "roll", "round", "rsqrt", "scatter",
    "scatter_add", "seed", "set_default_device", "set_default_dtype", "set_grad_enabled",
    "short", "sigmoid", "sign", "sin", "sinh", "softmax", "softplus", "sort", "split", "sqrt",
    "square", "squeeze", "stack", "std", "sub", "sum", "t", "take_along_dim", "tanh", "tensor",
    "tile", "topk", "trace", "transpose", "tril", "triu", "trunc", "uint8", "unbind", "unique",
    "unsqueeze", "var", "where", "zeros", "zeros_like",
]  # fmt: skip
__all__ += ["get_num_threads", "set_num_threads"]

# Layers and functions sit above the engine and import from it, so they come last.
from . import cuda as cuda  # noqa: E402
from . import functional as functional  # noqa: E402
from . import linalg as linalg  # noqa: E402
from . import nn as nn  # noqa: E402
from . import optim as optim  # noqa: E402

# NOTE: `from .tensor import Tensor` above makes the submodule `retrograd.tensor` an
# attribute of the package as well, and type checkers (pyright) take `rg.tensor` for the
# module if the function is imported before it. So the function is imported here, last.
from .creation import tensor as tensor  # noqa: E402

__all__ += ["History", "NonFiniteError", "fit", "load", "load_file", "save", "save_file"]
__all__ += ["cuda", "data", "functional", "linalg", "nn", "optim", "pipeline", "training"]

# Loaded on first use, so that `import retrograd` stays fast (issue 8: under 0.2 s): the
# data sets, the training loop and the model files are not needed to build and train a
# network by hand; `explain` and `viz` are for teaching, `sklearn` imports scikit-learn.
_LAZY_SUBMODULES = (
    "data", "distributed", "explain", "pipeline", "serialization", "sklearn", "training",
    "utils", "viz",
)  # fmt: skip
#: Public names defined in a lazily loaded submodule: name -> submodule.
_LAZY_NAMES = {
    "History": "training",
    "NonFiniteError": "training",
    "fit": "training",
    "load": "serialization",
    "load_file": "serialization",
    "save": "serialization",
    "save_file": "serialization",
}


if _TYPE_CHECKING:  # the lazy names, for type checkers (mypy, pyright): see __getattr__
    from . import data as data
    from . import distributed as distributed
    from . import explain as explain
    from . import pipeline as pipeline
    from . import serialization as serialization
    from . import sklearn as sklearn
    from . import training as training
    from . import utils as utils
    from . import viz as viz
    from .serialization import load as load
    from .serialization import load_file as load_file
    from .serialization import save as save
    from .serialization import save_file as save_file
    from .training import History as History
    from .training import NonFiniteError as NonFiniteError
    from .training import fit as fit


def __getattr__(name: str) -> _Any:
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_LAZY_NAMES))
