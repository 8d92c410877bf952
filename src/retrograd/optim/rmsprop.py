"""RMSprop: divide by a running root mean square of the gradient (optionally centered)."""

from __future__ import annotations

from typing import Any

from .._backend import ndarray, xp
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, params_doc, refuse_unsupported
from .updates import add_, lerp_, mul_add_


class RMSprop(Optimizer):
    __doc__ = f"""RMSprop, as ``torch.optim.RMSprop``::

        g = dL/dw (negated when maximize) + weight_decay * w
        s = alpha * s + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g                (centered)
        r = sqrt(s - a * a) + eps  if centered  else  sqrt(s) + eps
        b = momentum * b + g / r;   w = w - lr * b     if momentum > 0
        w = w - lr * g / r                             otherwise

    NOTE: ``eps`` is added outside the square root, as in PyTorch (Keras adds it
    inside), and the momentum buffer holds ``g / r``, not a step: ``lr``
    multiplies it at the update, as in :class:`SGD`.

    Updates work in place on ``param.array`` in the parameter's dtype, through BLAS
    ``axpby``/``axpy`` on large arrays (see :mod:`retrograd.optim.updates`) and NumPy ``out=``
    ufuncs over reused scratch arrays. State per parameter: ``'step'``
    (int), ``'square_avg'`` and, when used, ``'momentum_buffer'`` and ``'grad_avg'``.

    Parameters
    ----------
    {params_doc(lr="1e-2")}
    alpha : float, default=0.99
        Smoothing constant of the running averages, >= 0.
    eps : float, default=1e-8
        Added to the denominator, >= 0.
    weight_decay : float, default=0
        L2 penalty, >= 0.
    momentum : float, default=0
        Momentum factor, >= 0.
    centered : bool, default=False
        Subtract the squared running mean of the gradient (an estimate of its variance).
    maximize : bool, default=False
        Ascend the objective instead of descending it.
    capturable, foreach, differentiable
        As in PyTorch, accepted only at their defaults (None or False).
    """

    checked_options = ("lr", "eps", "momentum", "weight_decay", "alpha")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
    ) -> None:
        refuse_unsupported(
            "RMSprop", capturable=capturable, foreach=foreach, differentiable=differentiable
        )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad: ndarray, group: dict[str, Any]) -> None:
        """One RMSprop step on ``p.array``; see the class docstring for the rule."""
        param = p.array
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        momentum = float(group["momentum"])
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        d = self._gradient(param, grad, group)
        square_avg = state["square_avg"]
        avg = self._scratch(param, 1)
        xp.multiply(d, d, out=avg)
        mul_add_(square_avg, alpha, 1.0 - alpha, avg, avg)
        if group["centered"]:
            grad_avg = _state_array(state, "grad_avg", param)
            lerp_(grad_avg, d, 1.0 - alpha, avg)
            xp.multiply(grad_avg, grad_avg, out=avg)
            xp.subtract(square_avg, avg, out=avg)
            # NOTE: square_avg >= grad_avg**2 in exact arithmetic, but rounding, or
            # square_avg's subnormal entries set to zero (Optimizer.flush_every), can
            # leave the difference a hair below zero, where sqrt gives NaN (and torch
            # does): it is clamped at zero. A NaN gradient still propagates.
            xp.maximum(avg, 0.0, out=avg)
            xp.sqrt(avg, out=avg)
        else:
            xp.sqrt(square_avg, out=avg)
        avg += eps
        step = self._scratch(param, 2)
        xp.divide(d, avg, out=step)
        if momentum > 0:
            buf = _state_array(state, "momentum_buffer", param)
            mul_add_(buf, momentum, 1.0, step, avg)
            step = buf
        add_(param, -lr, step, avg)  # avg is free now


def _state_array(state: dict[str, Any], name: str, param: ndarray) -> ndarray:
    """``state[name]``, made (zeros) when an option that needs it was switched on later."""
    arr = state.get(name)
    if arr is None:
        arr = state[name] = xp.zeros_like(param)
    return arr
