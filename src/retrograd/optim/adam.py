"""Adam and AdamW: moment estimates with bias correction, PyTorch's eps placement."""

from __future__ import annotations

from typing import Any

from .._backend import ndarray, xp
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, StateDict, params_doc, refuse_unsupported
from .updates import add_, moving_average_, mul_add_


class AdamBase(Optimizer):
    """What Adam, AdamW, NAdam, RAdam and Adamax share: the options every one of them takes.

    ``lr``, ``betas``, ``eps``, ``weight_decay`` and ``maximize`` become the
    defaults, checked alike; a subclass passes its own options (``amsgrad``,
    ``momentum_decay``, ...) as keywords, after refusing the PyTorch options it
    does not implement. Each subclass keeps PyTorch's signature and its own
    :meth:`_update`.
    """

    checked_options = ("lr", "eps", "betas", "weight_decay")

    def __init__(
        self,
        params: ParamsT,
        lr: float,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
        maximize: bool,
        **options: Any,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, {**defaults, **options})


def moments_doc(weight_decay: str = "0", decay: str = "L2 penalty (or decoupled decay)") -> str:
    """The ``betas``, ``eps`` and ``weight_decay`` entries of an Adam-family Parameters section.

    Inserted by the f-string docstrings as :func:`~.optimizer.params_doc` is; continuation
    lines carry the class docstring's 8-space indent.
    """
    return (
        "betas : tuple of float, default=(0.9, 0.999)\n"
        "        Decay rates ``(beta1, beta2)`` of the first and second moments, each in [0, 1).\n"
        "    eps : float, default=1e-8\n"
        "        Added to the denominator, >= 0.\n"
        f"    weight_decay : float, default={weight_decay}\n"
        f"        {decay}, >= 0."
    )


#: The ``decoupled_weight_decay`` entry of Adam's, NAdam's and RAdam's Parameters sections.
DECOUPLED_DOC = (
    "decoupled_weight_decay : bool, default=False\n"
    "        Shrink the weights directly instead of adding the decay to the gradient."
)


#: The ``amsgrad``, ``maximize`` and unsupported-flag entries of Adam's and AdamW's
#: Parameters sections.
ADAM_FLAGS_DOC = (
    "amsgrad : bool, default=False\n"
    "        Divide by the largest second moment seen so far.\n"
    "    maximize : bool, default=False\n"
    "        Ascend the objective instead of descending it.\n"
    "    foreach, capturable, differentiable, fused\n"
    "        As in PyTorch, accepted only at their defaults (None or False)."
)


class Adam(AdamBase):
    __doc__ = f"""Adam (optionally AMSGrad), as ``torch.optim.Adam``.

    With ``t`` the parameter's step count, starting at 1::

        g = dL/dw (negated when maximize) + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                          (amsgrad; v_max replaces v below)
        w = w - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    NOTE: ``eps`` is added to the bias-corrected ``sqrt(v / (1 - beta2**t))``, as
    in PyTorch and the paper's Algorithm 1; TensorFlow adds it to ``sqrt(v)``
    before the correction, which changes the step while ``sqrt(v)`` is not far
    above ``eps``. With ``decoupled_weight_decay=True`` the decay is not added to
    the gradient; the weights shrink instead, ``w = w * (1 - lr * weight_decay)``,
    before the step (that is :class:`AdamW`).

    Updates work in place on ``param.array`` in the parameter's dtype, through BLAS
    ``axpby``/``axpy`` on large arrays (see :mod:`retrograd.optim.updates`) and NumPy ``out=``
    ufuncs over reused scratch arrays. State per parameter: ``'step'``
    (int), ``'exp_avg'``, ``'exp_avg_sq'`` and, with amsgrad, ``'max_exp_avg_sq'``.

    Parameters
    ----------
    {params_doc(lr="1e-3")}
    {moments_doc()}
    {ADAM_FLAGS_DOC}
    {DECOUPLED_DOC}
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        refuse_unsupported(
            "Adam",
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
        )
        extra = {"amsgrad": amsgrad, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, lr, betas, eps, weight_decay, maximize, **extra)

    def _update(self, p: Tensor, grad: ndarray, group: dict[str, Any]) -> None:
        """One Adam step on ``p.array``; see the class docstring for the rule."""
        param = p.array
        state, step = self._state_for(p, "exp_avg", "exp_avg_sq")
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        d = self._gradient(param, grad, group)  # w *= 1 - lr wd first when decoupled
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        tmp = self._scratch(param, 1)
        # NOTE: the step is bound by memory traffic and by sqrt: seven array passes
        # where BLAS does moving_average_, mul_add_ and add_ in one each, twelve without.
        moving_average_(exp_avg, d, beta1)  # m = beta1 m + (1 - beta1) d
        xp.multiply(d, d, out=tmp)
        mul_add_(exp_avg_sq, beta2, 1.0 - beta2, tmp, tmp)  # v = beta2 v + (1 - beta2) d^2
        bias_correction1 = 1.0 - beta1**step
        bias_correction2_sqrt = (1.0 - beta2**step) ** 0.5
        second = exp_avg_sq
        if group["amsgrad"]:
            second = state.get("max_exp_avg_sq")
            if second is None:  # the first step with amsgrad (on from the start, or switched on)
                second = state["max_exp_avg_sq"] = xp.zeros_like(param)
            xp.maximum(second, exp_avg_sq, out=second)
        # m / (sqrt(v)/bc2 + eps) = bc2 * m / (sqrt(v) + eps*bc2): the bias correction of
        # the second moment moves into two scalars, one array pass less than dividing sqrt(v).
        update = tmp
        xp.sqrt(second, out=update)
        update += eps * bias_correction2_sqrt
        xp.divide(exp_avg, update, out=update)
        # w -= lr * m_hat / (sqrt(v_hat) + eps)
        add_(param, -lr * bias_correction2_sqrt / bias_correction1, update, update)


class AdamW(Adam):
    __doc__ = f"""Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    Each step first shrinks the weights, ``w = w * (1 - lr * weight_decay)``, then
    takes the :class:`Adam` step with the undecayed gradient; the decay never
    enters the moment estimates. See :class:`Adam` for the rest of the rule, the
    state and the in-place convention.

    Parameters
    ----------
    {params_doc(lr="1e-3")}
    {moments_doc("1e-2", "Decoupled weight decay coefficient")}
    {ADAM_FLAGS_DOC}
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        refuse_unsupported(
            "AdamW",
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Restore a saved state; the decay stays decoupled whatever the state says."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
