"""In-place array updates that optimizers are written with; each one always succeeds.

Each helper names one line of an update rule, as PyTorch's ``_single_tensor_*``
functions write it with ``add_``, ``mul_`` and ``lerp_``:

- :func:`direction`: ``(-grad if maximize else grad) + weight_decay * param``, the
  gradient a rule follows;
- :func:`add_`: ``y += alpha * x`` (the step itself, ``param -= lr * d``);
- :func:`mul_add_`: ``y = beta * y + alpha * x`` (momentum buffers, second moments);
- :func:`moving_average_`: ``avg = beta * avg + (1 - beta) * x`` without scratch;
- :func:`lerp_`: ``start += weight * (end - start)``, rounded as ``torch.lerp_``;
- :func:`moments_`: Adam's two moment estimates, as PyTorch's NAdam and RAdam write them.

Where it pays (large float arrays, an OpenBLAS loaded by NumPy) the first three
run as one BLAS pass (:mod:`retrograd._blas`); otherwise they run as NumPy ufuncs
with ``out=``, over a ``scratch`` array of ``y``'s shape that the caller owns, so
that a step allocates nothing. The two ways may differ in the last bit (BLAS uses
fused multiply-adds). The scikit-learn solvers use the same helpers.
"""

from __future__ import annotations

from typing import Any

from .. import _blas
from .._backend import ndarray, xp


def direction(
    param: ndarray, grad: ndarray, maximize: bool, weight_decay: Any, out: ndarray
) -> ndarray:
    """The gradient a rule follows: ``(-grad if maximize else grad) + weight_decay * param``.

    Parameters
    ----------
    param, grad : ndarray
        Read only.
    maximize : bool
    weight_decay : float or NumPy scalar
        The L2 coefficient added to the gradient (0 for none).
    out : ndarray of grad's shape
        Where the direction is written when it is not ``grad`` itself.

    Returns
    -------
    ndarray
        ``grad`` itself (to be read only) when neither applies, else ``out``.
    """
    if not maximize and weight_decay == 0:
        return grad
    if weight_decay == 0:
        xp.negative(grad, out=out)
        return out
    xp.multiply(param, weight_decay, out=out)
    if maximize:
        xp.subtract(out, grad, out=out)
    else:
        xp.add(grad, out, out=out)
    return out


def add_(y: ndarray, alpha: float, x: ndarray, scratch: ndarray) -> None:
    """``y += alpha * x`` in place.

    Parameters
    ----------
    y : ndarray
        Updated in place.
    alpha : float
    x : ndarray of y's shape
        Read only; it may be ``scratch`` itself.
    scratch : ndarray of y's shape
        Overwritten (the ufunc path's ``alpha * x``).
    """
    if not _blas.axpy(alpha, x, y):
        xp.multiply(x, alpha, out=scratch)
        y += scratch


def mul_add_(y: ndarray, beta: float, alpha: float, x: ndarray, scratch: ndarray) -> None:
    """``y = beta * y + alpha * x`` in place (``y.mul_(beta).add_(x, alpha=alpha)``).

    Parameters
    ----------
    y : ndarray
        Updated in place.
    beta, alpha : float
    x : ndarray of y's shape
        Read only, unless it is ``scratch`` itself.
    scratch : ndarray of y's shape
        Overwritten with ``alpha * x`` when ``alpha != 1`` on the ufunc path.
    """
    if _blas.axpby(alpha, x, beta, y):
        return
    y *= beta
    if alpha == 1.0:
        y += x
    else:
        xp.multiply(x, alpha, out=scratch)
        y += scratch


def moving_average_(avg: ndarray, x: ndarray, beta: float) -> None:
    """``avg = beta * avg + (1 - beta) * x`` in place, with no scratch array.

    The ufunc path computes ``beta * (avg - x) + x``: three passes, ``x`` only read.
    """
    if not _blas.axpby(1.0 - beta, x, beta, avg):
        avg -= x
        avg *= beta
        avg += x


def lerp_(start: ndarray, end: ndarray, weight: float, scratch: ndarray) -> None:
    """``start += weight * (end - start)`` in place, rounded as ``torch.lerp_`` rounds it.

    NOTE: PyTorch switches to ``end - (1 - weight) * (end - start)`` for weights of
    0.5 and more, which is exact at weight 1; ``scratch`` has start's shape.
    """
    xp.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1.0 - weight
        xp.subtract(end, scratch, out=start)


def moments_(
    exp_avg: ndarray, exp_avg_sq: ndarray, g: ndarray, beta1: float, beta2: float, scratch: ndarray
) -> None:
    """``m = beta1 m + (1 - beta1) g`` (as ``lerp_``) and ``v = beta2 v + (1 - beta2) g * g``.

    ``scratch`` (of g's shape) is overwritten; ``g`` is only read.
    """
    lerp_(exp_avg, g, 1.0 - beta1, scratch)
    xp.multiply(g, g, out=scratch)
    mul_add_(exp_avg_sq, beta2, 1.0 - beta2, scratch, scratch)


__all__ = ["add_", "lerp_", "moments_", "moving_average_", "mul_add_"]
