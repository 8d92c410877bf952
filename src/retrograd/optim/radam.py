"""RAdam: Adam whose adaptive step is switched on once the variance estimate is reliable."""

from __future__ import annotations

import math
from typing import Any

from .._backend import ndarray, xp
from ..tensor import Tensor
from .adam import DECOUPLED_DOC, AdamBase, moments_doc
from .optimizer import ParamsT, params_doc, refuse_unsupported
from .updates import add_, moments_


class RAdam(AdamBase):
    __doc__ = f"""Rectified Adam (Liu et al., 2019), as ``torch.optim.RAdam``.

    With ``t`` the parameter's step count, starting at 1::

        g = dL/dw (negated when maximize) + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        w = w - lr * m_hat * sqrt(1 - beta2**t) / (sqrt(v) + eps) * rect   if rho_t > 5
        w = w - lr * m_hat                                                  otherwise
        rect = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))

    While ``rho_t <= 5`` (the first steps: 5 with the default betas) the variance
    estimate is too noisy and the step is plain momentum SGD. With
    ``decoupled_weight_decay=True`` the weights shrink, ``w = w * (1 - lr * weight_decay)``,
    instead of the decay entering the gradient (RAdamW).

    Updates work in place on ``param.array`` in the parameter's dtype. State per
    parameter: ``'step'`` (int), ``'exp_avg'``, ``'exp_avg_sq'``.

    Parameters
    ----------
    {params_doc(lr="1e-3")}
    {moments_doc()}
    {DECOUPLED_DOC}
    foreach, maximize, capturable, differentiable
        As in PyTorch; only ``maximize`` may differ from its default.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        refuse_unsupported(
            "RAdam", foreach=foreach, capturable=capturable, differentiable=differentiable
        )
        extra = {"decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, lr, betas, eps, weight_decay, maximize, **extra)

    def _update(self, p: Tensor, grad: ndarray, group: dict[str, Any]) -> None:
        """One RAdam step on ``p.array``; see the class docstring for the rule."""
        param = p.array
        state, step = self._state_for(p, "exp_avg", "exp_avg_sq")
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        d = self._gradient(param, grad, group)  # w *= 1 - lr wd first when decoupled
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        update, tmp = self._scratch(param, 1), self._scratch(param, 2)
        moments_(exp_avg, exp_avg_sq, d, beta1, beta2, tmp)  # m and v as Adam's
        bias_correction1 = 1.0 - beta1**step
        bias_correction2 = 1.0 - beta2**step
        xp.divide(exp_avg, bias_correction1, out=update)
        update *= lr  # lr * m_hat
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt(
                (rho_t - 4.0)
                * (rho_t - 2.0)
                * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
            )
            xp.sqrt(exp_avg_sq, out=tmp)
            tmp += eps
            xp.divide(bias_correction2**0.5, tmp, out=tmp)  # the adaptive learning rate
            update *= tmp
            update *= rect
        add_(param, -1.0, update, tmp)
