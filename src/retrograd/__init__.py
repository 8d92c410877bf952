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
    arange,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .nn.functional import elu, gelu, leaky_relu, softplus
from .random import Generator, default_generator, initial_seed, manual_seed
from .tensor import MaxResult, Tensor
from .tensor_functions import (
    abs,
    add,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    cos,
    div,
    eq,
    exp,
    flatten,
    ge,
    gt,
    le,
    log,
    log_softmax,
    logsumexp,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    ne,
    neg,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .threads import get_num_threads, set_num_threads

float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
int32 = _np.dtype(_np.int32)
int64 = _np.dtype(_np.int64)
bool = _np.dtype(_np.bool_)
float = float32
double = float64
long = int64

clip = clamp

__version__ = "0.1.0"

__all__ = [
    "Generator", "GradcheckError", "MaxResult", "Tensor", "abs", "add", "amax",
    "amin", "arange", "argmax", "argmin", "bool", "cat", "clamp", "clip", "cos",
    "default_generator", "div", "double", "elu", "enable_grad", "eq", "exp", "eye", "flatten",
    "float", "float32", "float64", "from_numpy", "full", "full_like", "ge", "gelu", "gradcheck",
    "gradgradcheck", "gt", "inference_mode", "initial_seed", "int32", "int64", "is_grad_enabled",
    "le", "leaky_relu", "linspace", "log", "log_softmax", "logsumexp", "long", "lt",
    "manual_seed", "matmul", "max", "maximum",
    "mean", "min", "minimum", "mul", "ne", "neg", "no_grad", "ones", "ones_like", "permute",
    "pow", "rand", "rand_like", "randint", "randn", "randn_like", "randperm", "relu", "reshape",
    "set_grad_enabled", "sigmoid", "sin", "softmax", "softplus", "sqrt", "squeeze", "stack",
    "std", "sub", "sum", "tanh", "tensor", "transpose", "unsqueeze", "var", "where", "zeros",
    "zeros_like",
]  # fmt: skip
__all__ += ["get_num_threads", "set_num_threads"]

# Layers and functions sit above the engine and import from it, so they come last.
from . import functional as functional  # noqa: E402
from . import nn as nn  # noqa: E402
from . import optim as optim  # noqa: E402

# NOTE: `from .tensor import Tensor` above makes the submodule `retrograd.tensor` an
# attribute of the package as well, and type checkers (pyright) take `rg.tensor` for the
# module if the function is imported before it. So the function is imported here, last.
from .creation import tensor as tensor  # noqa: E402

__all__ += ["History", "NonFiniteError", "fit", "load", "load_file", "save", "save_file"]
__all__ += ["data", "functional", "nn", "optim", "pipeline", "training"]

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
