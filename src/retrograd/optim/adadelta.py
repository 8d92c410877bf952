"""Adadelta: steps scaled by the ratio of running RMS of past steps to that of gradients."""

from __future__ import annotations

from typing import Any

from .._backend import ndarray, xp
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    ParamsT,
    check_nonnegative,
    params_doc,
    real_option,
    refuse_unsupported,
)
from .updates import add_, mul_add_


class Adadelta(Optimizer):
    __doc__ = f"""Adadelta (Zeiler, 2012), as ``torch.optim.Adadelta``::

        g = dL/dw (negated when maximize) + weight_decay * w
        s = rho * s + (1 - rho) * g * g
        delta = sqrt(a + eps) / sqrt(s + eps) * g
        a = rho * a + (1 - rho) * delta * delta
        w = w - lr * delta

    NOTE: the paper has no learning rate (``lr=1``, PyTorch's default); ``eps``
    sits inside both square roots, so the first steps have size ``sqrt(eps)``-ish.

    Updates work in place on ``param.array`` in the parameter's dtype. State per
    parameter: ``'step'`` (int), ``'square_avg'``, ``'acc_delta'``.

    Parameters
    ----------
    {params_doc(lr="1.0", meaning="Scale of the step")}
    rho : float, default=0.9
        Decay rate of both running averages, in [0, 1].
    eps : float, default=1e-6
        Added inside the square roots, >= 0.
    weight_decay : float, default=0
        L2 penalty, >= 0.
    foreach, capturable, maximize, differentiable
        As in PyTorch; only ``maximize`` may differ from its default.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        refuse_unsupported(
            "Adadelta", foreach=foreach, capturable=capturable, differentiable=differentiable
        )
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> None:
        super()._check_options(options, where)
        rho = real_option(options, "rho", where)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {options['rho']}{where}; expected 0 <= rho <= 1")
        check_nonnegative(options, "eps", where)
        check_nonnegative(options, "weight_decay", where)

    def _update(self, p: Tensor, grad: ndarray, group: dict[str, Any]) -> None:
        """One Adadelta step on ``p.array``; see the class docstring for the rule."""
        param = p.array
        state, _ = self._state_for(p, "square_avg", "acc_delta")
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        d = self._gradient(param, grad, group)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        std, delta = self._scratch(param, 1), self._scratch(param, 2)
        xp.multiply(d, d, out=std)
        mul_add_(square_avg, rho, 1.0 - rho, std, std)  # s = rho s + (1 - rho) d^2
        xp.add(square_avg, eps, out=std)
        xp.sqrt(std, out=std)
        xp.add(acc_delta, eps, out=delta)
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= d  # delta = sqrt(a + eps) / sqrt(s + eps) * d
        xp.multiply(delta, delta, out=std)
        mul_add_(acc_delta, rho, 1.0 - rho, std, std)  # a = rho a + (1 - rho) delta^2
        add_(param, -lr, delta, std)  # w -= lr delta
