"""The tables and losses the estimators share, as ``sklearn/neural_network/_base.py``.

The hidden activations by name, the output activations, scikit-learn's data
losses (log-loss, binary log-loss, half squared error, half Poisson deviance)
and the dtype check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, xlogy

from .. import nn
from ..nn.activation import ACTIVATIONS as _REGISTRY

__all__ = [
    "ACTIVATIONS",
    "EPS",
    "OUT_ACTIVATIONS",
    "batch_log_losses",
    "check_dtype",
    "clipped_log",
    "data_loss",
    "softmax",
]

#: Hidden-layer activation names (scikit-learn's, then retrograd's) to module classes, the
#: classes taken from the registry :data:`retrograd.nn.activation.ACTIVATIONS`. The keys stay
#: scikit-learn's ('logistic'), checked exactly as scikit-learn checks its parameters.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "identity": _REGISTRY["identity"],
    "logistic": _REGISTRY["sigmoid"],
    "tanh": _REGISTRY["tanh"],
    "relu": _REGISTRY["relu"],
    "gelu": _REGISTRY["gelu"],
    "leaky_relu": _REGISTRY["leaky_relu"],
    "elu": _REGISTRY["elu"],
}


def softmax(z: np.ndarray) -> np.ndarray:
    """The row-wise softmax of ``z`` (a new array)."""
    # NOTE: the ufuncs' reduce is what ndarray.max/sum call, without their Python wrappers.
    z = z - np.maximum.reduce(z, axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= np.add.reduce(z, axis=1, keepdims=True)
    return z


#: Output activation names (``out_activation_``) to functions of the raw outputs.
OUT_ACTIVATIONS = {"identity": lambda z: z, "logistic": expit, "softmax": softmax, "exp": np.exp}
#: The clipping bound of the log-losses (scikit-learn's ``np.finfo(dtype).eps``), looked up once.
EPS = {np.dtype(t): np.finfo(t).eps for t in (np.float32, np.float64)}


def data_loss(kind: str, y: np.ndarray, p: np.ndarray, sw: np.ndarray | None) -> float:
    """scikit-learn's losses (``sklearn/neural_network/_base.py``) on the outputs ``p``.

    For 'log_loss' (softmax output) ``y`` holds the class index of each row.
    """
    if kind == "squared_error":
        return float(0.5 * np.average((y - p) ** 2, weights=sw, axis=0).mean())
    if kind == "poisson":
        return float(np.average(xlogy(y, y / p) - y + p, weights=sw, axis=0).sum())
    if kind == "log_loss":
        # One class per row: the log-loss reads only the true class's probability (a
        # gather, not a product with the one-hot matrix; the same numbers).
        logp = clipped_log(p[np.arange(len(y)), y])
        if sw is None:
            return -float(np.add.reduce(logp) / len(y))  # what logp.mean() computes
        return float(-np.dot(sw, logp) / sw.sum())
    eps = EPS[p.dtype]  # 'binary_log_loss' from here: logistic outputs, binary or multilabel
    p = np.clip(p, eps, 1 - eps)
    return float(-np.average(xlogy(y, p) + xlogy(1 - y, 1 - p), weights=sw, axis=0).sum())


def clipped_log(p: np.ndarray) -> np.ndarray:
    """``log(clip(p, eps, 1 - eps))`` in place, as scikit-learn's log-loss clips."""
    eps = EPS[p.dtype]
    np.maximum(p, eps, out=p)  # np.clip's numbers, without its wrapper's cost
    np.minimum(p, 1 - eps, out=p)
    return np.log(p, out=p)


def batch_log_losses(p_true: np.ndarray, batch_size: int) -> list[float]:
    """The log-loss of each batch of an epoch, from each row's true-class probability.

    Batches as ``gen_batches(len(p_true), batch_size)``; the numbers are
    :func:`data_loss`'s for each batch, bit for bit (a row sum of a 2-D
    array is the same pairwise sum as the sum of that row alone). ``p_true``
    is overwritten.
    """
    logp, n = clipped_log(p_true), len(p_true)
    n_full = n - n % batch_size
    means = list(np.add.reduce(logp[:n_full].reshape(-1, batch_size), axis=1) / batch_size)
    if n_full < n:
        means.append(np.add.reduce(logp[n_full:]) / (n - n_full))
    return [-float(m) for m in means]


def check_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as float32 or float64, or a ValueError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt
