"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

from .._backend import ndarray, xp
from ..tensor import Tensor
from .adam import AdamBase
from .optimizer import ParamsT, params_doc, refuse_unsupported
from .updates import add_, lerp_


class Adamax(AdamBase):
    __doc__ = f"""Adamax (Kingma & Ba, 2015, section 7), as ``torch.optim.Adamax``.

    With ``t`` the parameter's step count, starting at 1::

        g = dL/dw (negated when maximize) + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        w = w - lr / (1 - beta1**t) * m / u

    NOTE: ``eps`` is added to ``|g|`` inside the maximum, as in PyTorch, so ``u``
    is never zero.

    Updates work in place on ``param.array`` in the parameter's dtype. State per
    parameter: ``'step'`` (int), ``'exp_avg'``, ``'exp_inf'``.

    Parameters
    ----------
    {params_doc(lr="2e-3")}
    betas : tuple of float, default=(0.9, 0.999)
        Decay rates of the first moment and of the infinity norm, each in [0, 1).
    eps : float, default=1e-8
        Added to ``|g|``, >= 0.
    weight_decay : float, default=0
        L2 penalty, >= 0.
    foreach, maximize, differentiable, capturable
        As in PyTorch; only ``maximize`` may differ from its default.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        refuse_unsupported(
            "Adamax", foreach=foreach, differentiable=differentiable, capturable=capturable
        )
        super().__init__(params, lr, betas, eps, weight_decay, maximize)

    def _update(self, p: Tensor, grad: ndarray, group: dict[str, Any]) -> None:
        """One Adamax step on ``p.array``; see the class docstring for the rule."""
        param = p.array
        state, step = self._state_for(p, "exp_avg", "exp_inf")
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        d = self._gradient(param, grad, group)
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        tmp = self._scratch(param, 1)
        lerp_(exp_avg, d, 1.0 - beta1, tmp)  # m = beta1 m + (1 - beta1) d
        exp_inf *= beta2
        xp.abs(d, out=tmp)
        tmp += eps
        xp.maximum(exp_inf, tmp, out=exp_inf)  # u = max(beta2 u, |d| + eps)
        xp.divide(exp_avg, exp_inf, out=tmp)
        add_(param, -lr / (1.0 - beta1**step), tmp, tmp)  # w -= lr / (1 - beta1^t) * m / u
