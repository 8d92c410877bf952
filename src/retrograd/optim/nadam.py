"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat, 2016)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import ndarray, xp
from ..tensor import Tensor
from .adam import DECOUPLED_DOC, AdamBase, moments_doc
from .optimizer import ParamsT, params_doc, refuse_unsupported
from .updates import add_, moments_


class NAdam(AdamBase):
    __doc__ = f"""NAdam, as ``torch.optim.NAdam``.

    With ``t`` the parameter's step count, starting at 1, and ``mu_t`` the
    scheduled momentum::

        g = dL/dw (negated when maximize) + weight_decay * w
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        P = mu_1 * ... * mu_t                           (the state's 'mu_product')
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        r = sqrt(v / (1 - beta2**t)) + eps
        w = w - lr * (1 - mu_t) / (1 - P) * g / r
              - lr * mu_{{t+1}} / (1 - P * mu_{{t+1}}) * m / r

    NOTE: ``eps`` is added after the bias correction, as in :class:`Adam`. The
    product ``P`` is kept rounded to float32, as PyTorch keeps it in a tensor of
    its default scalar dtype. With ``decoupled_weight_decay=True`` the decay is
    not added to the gradient; the weights shrink, ``w = w * (1 - lr * weight_decay)``,
    before the step (NAdamW).

    Updates work in place on ``param.array`` in the parameter's dtype. State per
    parameter: ``'step'`` (int), ``'mu_product'`` (float), ``'exp_avg'``, ``'exp_avg_sq'``.

    Parameters
    ----------
    {params_doc(lr="2e-3")}
    {moments_doc()}
    momentum_decay : float, default=4e-3
        Speed of the momentum schedule, >= 0.
    {DECOUPLED_DOC}
    foreach, maximize, capturable, differentiable
        As in PyTorch; only ``maximize`` may differ from its default.
    """

    checked_options = ("lr", "eps", "betas", "weight_decay", "momentum_decay")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        refuse_unsupported(
            "NAdam", foreach=foreach, capturable=capturable, differentiable=differentiable
        )
        extra = {"momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, lr, betas, eps, weight_decay, maximize, **extra)

    def _update(self, p: Tensor, grad: ndarray, group: dict[str, Any]) -> None:
        """One NAdam step on ``p.array``; see the class docstring for the rule."""
        param = p.array
        state, step = self._state_for(p, "exp_avg", "exp_avg_sq", mu_product=1.0)
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        momentum_decay = float(group["momentum_decay"])
        d = self._gradient(param, grad, group)  # w *= 1 - lr wd first when decoupled
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        mu_product = state["mu_product"] = float(np.float32(state["mu_product"]) * np.float32(mu))
        mu_product_next = mu_product * mu_next
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        tmp, denom = self._scratch(param, 1), self._scratch(param, 2)
        moments_(exp_avg, exp_avg_sq, d, beta1, beta2, tmp)  # m and v as Adam's
        xp.divide(exp_avg_sq, 1.0 - beta2**step, out=denom)
        xp.sqrt(denom, out=denom)
        denom += eps  # r = sqrt(v_hat) + eps
        xp.divide(d, denom, out=tmp)
        add_(param, -lr * (1.0 - mu) / (1.0 - mu_product), tmp, tmp)  # the gradient's share
        xp.divide(exp_avg, denom, out=tmp)
        add_(param, -lr * mu_next / (1.0 - mu_product_next), tmp, tmp)  # the momentum's share
