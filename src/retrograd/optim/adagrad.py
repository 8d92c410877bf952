"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from typing import Any

from .._backend import ndarray, xp
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, params_doc, refuse_unsupported
from .updates import add_


class Adagrad(Optimizer):
    __doc__ = f"""Adagrad, as ``torch.optim.Adagrad``.

    With ``t`` the parameter's step count, starting at 1::

        g = dL/dw (negated when maximize) + weight_decay * w
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                    (s starts at initial_accumulator_value)
        w = w - clr * g / (sqrt(s) + eps)

    NOTE: as PyTorch does, the state of the parameters given at construction is
    created there (so ``state_dict()`` lists it before the first step); a group
    added later gets its state on its first step. Unlike PyTorch 2.13, which
    always fills the sum from the constructor's ``initial_accumulator_value``, a
    group's own ``initial_accumulator_value`` is honoured.

    Updates work in place on ``param.array`` in the parameter's dtype, through BLAS
    ``axpy`` on large arrays (see :mod:`retrograd.optim.updates`) and NumPy ``out=`` ufuncs
    over reused scratch arrays. State per parameter: ``'step'``
    (int) and ``'sum'``.

    Parameters
    ----------
    {params_doc(lr="1e-2")}
    lr_decay : float, default=0
        Learning-rate decay per step, >= 0.
    weight_decay : float, default=0
        L2 penalty, >= 0.
    initial_accumulator_value : float, default=0
        Starting value of the sum of squares, >= 0.
    eps : float, default=1e-10
        Added to the denominator, >= 0.
    maximize : bool, default=False
        Ascend the objective instead of descending it.
    foreach, differentiable, fused
        As in PyTorch, accepted only at their defaults (None or False).
    """

    checked_options = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        refuse_unsupported("Adagrad", foreach=foreach, differentiable=differentiable, fused=fused)
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                _init_state(self.state[p], p.array, group)

    def _update(self, p: Tensor, grad: ndarray, group: dict[str, Any]) -> None:
        """One Adagrad step on ``p.array``; see the class docstring for the rule."""
        param = p.array
        state = self.state[p]
        if not state:
            _init_state(state, param, group)
        state["step"] += 1
        step = state["step"]
        d = self._gradient(param, grad, group)
        clr = float(group["lr"]) / (1 + (step - 1) * float(group["lr_decay"]))
        state_sum = state["sum"]
        std = self._scratch(param, 1)
        xp.multiply(d, d, out=std)
        state_sum += std
        xp.sqrt(state_sum, out=std)
        std += float(group["eps"])
        update = self._scratch(param, 2)
        xp.divide(d, std, out=update)
        add_(param, -clr, update, update)


def _init_state(state: dict[str, Any], param: ndarray, group: dict[str, Any]) -> None:
    state["step"] = 0
    state["sum"] = xp.full_like(param, float(group["initial_accumulator_value"]))
