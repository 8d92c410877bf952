"""Stochastic gradient descent, with PyTorch's momentum, dampening and Nesterov rules."""

from __future__ import annotations

from typing import Any

from .._backend import ndarray, xp
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, params_doc, real_option, refuse_unsupported
from .updates import add_, mul_add_


class SGD(Optimizer):
    __doc__ = f"""Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    Without momentum the rule is plain gradient descent, ``w <- w - lr * dL/dw``.
    With momentum ``mu`` each parameter keeps a buffer ``v``::

        g = dL/dw (negated when maximize) + weight_decay * w
        v = g                              on the first step
        v = mu * v + (1 - dampening) * g   afterwards
        w = w - lr * (g + mu * v)          if nesterov
        w = w - lr * v                     otherwise

    NOTE: this is PyTorch's convention, where the buffer holds gradients and the
    learning rate multiplies it at the update; scikit-learn's buffer holds steps,
    ``v = mu * v - lr * g``. The two agree only while ``lr`` is constant.

    Updates work in place on ``param.array`` in the parameter's dtype: ``w += a * v``
    in one pass through BLAS ``axpy`` on large arrays (see :mod:`retrograd.optim.updates`),
    NumPy ``out=`` ufuncs over reused scratch arrays otherwise; the state is
    ``{{'momentum_buffer': array}}`` per parameter, only when ``momentum != 0``.

    Parameters
    ----------
    {params_doc(lr="1e-3")}
    momentum : float, default=0
        Momentum factor ``mu``, >= 0.
    dampening : float, default=0
        Dampening of the gradient's share in the momentum buffer.
    weight_decay : float, default=0
        L2 penalty, >= 0, added to the gradient as ``weight_decay * w``.
    nesterov : bool, default=False
        Nesterov momentum; requires ``momentum > 0`` and ``dampening == 0``.
    maximize : bool, default=False
        Ascend the objective instead of descending it.
    foreach, differentiable, fused
        As in PyTorch, accepted only at their defaults (None or False).
    """

    checked_options = ("lr", "momentum", "weight_decay")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        refuse_unsupported("SGD", foreach=foreach, differentiable=differentiable, fused=fused)
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> None:
        super()._check_options(options, where)
        dampening = real_option(options, "dampening", where)
        if options["nesterov"] and (options["momentum"] <= 0 or dampening != 0):
            raise ValueError(
                f"Nesterov momentum requires a momentum and zero dampening{where}; got "
                f"momentum={options['momentum']} and dampening={dampening}"
            )

    def _update(self, p: Tensor, grad: ndarray, group: dict[str, Any]) -> None:
        """One SGD step on ``p.array``; see the class docstring for the rule."""
        param = p.array
        lr, momentum = float(group["lr"]), float(group["momentum"])
        d = self._gradient(param, grad, group)
        step = self._scratch(param, 1)
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()
            else:
                # b = momentum b + (1 - dampening) d
                mul_add_(buf, momentum, 1.0 - float(group["dampening"]), d, step)
            if group["nesterov"]:
                xp.multiply(buf, momentum, out=step)
                xp.add(d, step, out=step)
                d = step
            else:
                d = buf
        add_(param, -lr, d, step)  # w -= lr d (d may be `step` itself: read elementwise)
