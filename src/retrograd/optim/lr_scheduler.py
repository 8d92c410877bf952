"""Learning-rate schedulers, as ``torch.optim.lr_scheduler``.

A scheduler rewrites ``group['lr']`` in its optimizer's ``param_groups``; call
its ``step()`` after the optimizer's. Constructing one already applies the
schedule's first value (``last_epoch`` becomes 0). ``step()`` without an
argument applies PyTorch's *chainable* rule, which derives the next rate from
the current ``group['lr']`` (so schedulers and manual changes compose); the
deprecated ``step(epoch)`` jumps to ``epoch`` with the closed form computed from
``base_lrs``. The two agree up to rounding, and both reproduce, float for float,
what PyTorch 2.13 computes.
"""

from __future__ import annotations

import copy
import functools
import math
import types
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, SupportsFloat

from .._docstrings import fill_doc
from ..validation import is_int, is_real
from .optimizer import Optimizer

_EPOCH_DEPRECATION = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated "
    "where possible. Please use `scheduler.step()` to step the scheduler. During the "
    "deprecation, if epoch is different from None, the closed form is used instead of the "
    "new chainable form, where available."
)


def _check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _cycles_beta1(optimizer: Optimizer) -> bool:
    """Whether ``cycle_momentum`` cycles ``betas[0]`` (Adam's) rather than ``momentum`` (SGD's)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            "optimizer must support momentum or beta1 with `cycle_momentum` option "
            f"enabled; {type(optimizer).__name__} has neither (pass cycle_momentum=False)"
        )
    return "betas" in optimizer.defaults


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """One value per param group: ``value`` repeated, or a list of the right length."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. {name} has "
                f"{len(value)} values, param_groups has {len(optimizer.param_groups)}."
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


#: The ``optimizer`` and ``last_epoch`` entries of the schedulers' Parameters sections.
_scheduler_doc = fill_doc(
    optimizer=("optimizer : Optimizer\n        The optimizer whose learning rates are scheduled."),
    last_epoch=(
        "last_epoch : int, default=-1\n        Index of the last step; -1 starts the schedule."
    ),
)


@_scheduler_doc
class LRScheduler:
    """Base class of the schedulers that follow a schedule over steps.

    Subclasses set their options, then call ``super().__init__``, and implement
    :meth:`get_lr` (the chainable rule) and, where one exists,
    :meth:`_get_closed_form_lr`.

    Parameters
    ----------
    {optimizer}
    last_epoch : int, default=-1
        Index of the last step taken; -1 starts the schedule (and records each
        group's ``'initial_lr'``). Other values resume it and need
        ``'initial_lr'`` in every group (from a loaded optimizer state).

    Attributes
    ----------
    base_lrs : list of float
        Each group's ``'initial_lr'``.
    last_epoch : int
        Number of ``step()`` calls since the schedule started.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        f"resuming scheduler with last_epoch >= 0; load the optimizer's "
                        f"state_dict first, or start the schedule with last_epoch=-1"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._is_initial = False
        self._initial_step()

    def _initial_step(self) -> None:
        """The step taken at construction (and by :class:`SequentialLR` on the first scheduler)."""
        self._step_count = 0
        self._is_initial = True  # the rules read it: construction applies no decay
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch``, computed from the current ``group['lr']``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr")

    def _get_closed_form_lr(self) -> list[float]:
        """The learning rates for ``last_epoch``, computed from ``base_lrs`` alone."""
        raise NotImplementedError(f"{type(self).__name__} has no closed form; call step()")

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per param group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one step and write the new rates into the optimizer.

        Parameters
        ----------
        epoch : int, optional
            Deprecated (as in PyTorch): jump to ``epoch`` using the closed form.
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_DEPRECATION, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        """Write the rates of the next step (or of ``epoch``, by the closed form) into the groups.

        A scheduler without a closed form computes ``epoch``'s rates by its
        :meth:`get_lr`, as PyTorch's does.
        """
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            has_closed_form = type(self)._get_closed_form_lr is not LRScheduler._get_closed_form_lr
            values = self._get_closed_form_lr() if has_closed_form else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer, copied; the optimizer's own state is separate."""
        return self._attributes()

    def _attributes(self, *skip: str) -> dict[str, Any]:
        """Copies of every attribute but the optimizer and ``skip``."""
        return {
            k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in ("optimizer", *skip)
        }

    def _restore(self, state_dict: dict[str, Any], *skip: str) -> None:
        """Set every saved attribute but ``skip`` from copies."""
        self.__dict__.update({k: copy.deepcopy(v) for k, v in state_dict.items() if k not in skip})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (copied, not shared).

        Parameters
        ----------
        state_dict : dict
            As returned by :meth:`state_dict`.
        """
        self._restore(state_dict)


def _current_lrs(optimizer: Optimizer) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


@_scheduler_doc
class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    ``lr = base_lr * gamma ** (last_epoch // step_size)``.

    Parameters
    ----------
    {optimizer}
    step_size : int
        Period of the decay, in steps (> 0).
    gamma : float, default=0.1
        Multiplicative factor of the decay.
    {last_epoch}
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if not is_int(step_size) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Scale the current rates by ``gamma`` at each multiple of ``step_size``."""
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _current_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs
        ]


@_scheduler_doc
class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each of the ``milestones``.

    ``lr = base_lr * gamma ** (number of milestones <= last_epoch)``; a
    milestone given twice decays twice.

    Parameters
    ----------
    {optimizer}
    milestones : iterable of int
        Steps at which to decay.
    gamma : float, default=0.1
        Multiplicative factor of the decay.
    {last_epoch}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Scale the current rates by ``gamma ** n`` at a milestone given ``n`` times."""
        if self.last_epoch not in self.milestones:
            return _current_lrs(self.optimizer)
        return [
            group["lr"] * self.gamma ** self.milestones[self.last_epoch]
            for group in self.optimizer.param_groups
        ]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`LRScheduler.load_state_dict`; ``milestones`` may be a dict (from JSON)."""
        super().load_state_dict(state_dict)
        self.milestones = Counter(self.milestones)

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [
            base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
            for base_lr in self.base_lrs
        ]


@_scheduler_doc
class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every step: ``lr = base_lr * gamma ** last_epoch``.

    Parameters
    ----------
    {optimizer}
    gamma : float
        Multiplicative factor of the decay.
    {last_epoch}
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Scale the current rates by ``gamma`` (not at construction)."""
        if self._is_initial:
            return _current_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


@_scheduler_doc
class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rate along a cosine from ``base_lr`` to ``eta_min`` over ``T_max`` steps.

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2``,
    applied in PyTorch's recursive form; past ``T_max`` the rate climbs back
    along the cosine (no restart).

    Parameters
    ----------
    {optimizer}
    T_max : int
        Number of steps from the largest to the smallest rate (> 0).
    eta_min : float, default=0.0
        Smallest learning rate.
    {last_epoch}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # noqa: N803 - PyTorch's name
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The next rate from the current one by the ratio of consecutive cosine terms."""
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _current_lrs(self.optimizer)
        if self._step_count == 1 and self.last_epoch > 0:
            return [
                self.eta_min
                + (base_lr - self.eta_min)
                * (1 + math.cos((self.last_epoch) * math.pi / self.T_max))
                / 2
                for base_lr in self.base_lrs
            ]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            # NOTE: the ratio below divides by zero at the bottom of the cosine; step over it.
            return [
                group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                for base_lr, group in zip(self.base_lrs, groups, strict=True)
            ]
        return [
            (1 + math.cos(math.pi * self.last_epoch / self.T_max))
            / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
            * (group["lr"] - self.eta_min)
            + self.eta_min
            for group in groups
        ]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            self.eta_min
            + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
            for base_lr in self.base_lrs
        ]


@_scheduler_doc
class LinearLR(LRScheduler):
    """Scale the learning rate by a factor moving linearly from ``start_factor`` to ``end_factor``.

    ``lr = base_lr * (start_factor + (end_factor - start_factor) *
    min(last_epoch, total_iters) / total_iters)``, applied in PyTorch's
    recursive form.

    Parameters
    ----------
    {optimizer}
    start_factor : float, default=1/3
        Factor at step 0, in (0, 1].
    end_factor : float, default=1.0
        Factor from step ``total_iters`` on, in [0, 1].
    total_iters : int, default=5
        Number of steps of the ramp.
    {last_epoch}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or "
                f"equal to 1, got start_factor={start_factor}"
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(
                "Ending multiplicative factor expected to be between 0 and 1, got "
                f"end_factor={end_factor}"
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The next rate from the current one by the ratio of consecutive factors."""
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _current_lrs(self.optimizer)
        return [
            group["lr"]
            * (
                1.0
                + (self.end_factor - self.start_factor)
                / (
                    self.total_iters * self.start_factor
                    + (self.last_epoch - 1) * (self.end_factor - self.start_factor)
                )
            )
            for group in self.optimizer.param_groups
        ]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            base_lr
            * (
                self.start_factor
                + (self.end_factor - self.start_factor)
                * min(self.total_iters, self.last_epoch)
                / self.total_iters
            )
            for base_lr in self.base_lrs
        ]


@_scheduler_doc
class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm the rate up to ``max_lr``, then anneal it far below the start.

    The rate starts at ``max_lr / div_factor``, rises to ``max_lr`` over the
    first ``pct_start`` of ``total_steps`` and falls to
    ``max_lr / div_factor / final_div_factor`` at the last step (``three_phase``
    first returns to the start rate). With ``cycle_momentum`` the optimizer's
    ``momentum`` (or Adam's ``beta1``) moves the opposite way between
    ``max_momentum`` and ``base_momentum``. Not chainable: each rate comes
    from the step index alone. Stepping past ``total_steps`` raises.

    Parameters
    ----------
    {optimizer}
    max_lr : float or list of float
        Peak learning rate, per group or for all.
    total_steps : int, optional
        Length of the cycle; otherwise ``epochs * steps_per_epoch``.
    epochs : int, optional
        With ``steps_per_epoch``, gives ``total_steps``.
    steps_per_epoch : int, optional
        With ``epochs``, gives ``total_steps``.
    pct_start : float, default=0.3
        Fraction of the cycle spent rising, in [0, 1].
    anneal_strategy : {'cos', 'linear'}, default='cos'
        Shape of each phase.
    cycle_momentum : bool, default=True
        Cycle the momentum inversely to the rate.
    base_momentum : float or list of float, default=0.85
        Momentum at the peak rate.
    max_momentum : float or list of float, default=0.95
        Momentum at the start and end.
    div_factor : float, default=25.0
        ``initial_lr = max_lr / div_factor``.
    final_div_factor : float, default=1e4
        ``min_lr = initial_lr / final_div_factor``.
    three_phase : bool, default=False
        Rise, fall back to the start rate symmetrically, then anneal to ``min_lr``.
    {last_epoch}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: Literal["cos", "linear"] = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(
                    f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}"
                )
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or pct_start < 0 or pct_start > 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self.anneal_strategy = anneal_strategy
        # (end_step, start_lr, end_lr, start_momentum, end_momentum), keys into the groups
        if three_phase:
            self._phases = [
                (float(pct_start * self.total_steps) - 1, "initial_lr", "max_lr",
                 "max_momentum", "base_momentum"),
                (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"),
                (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]  # fmt: skip
        else:
            self._phases = [
                (float(pct_start * self.total_steps) - 1, "initial_lr", "max_lr",
                 "max_momentum", "base_momentum"),
                (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]  # fmt: skip
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs, strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _cycles_beta1(optimizer)
            max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, top, bottom in zip(
                    optimizer.param_groups, max_momentums, base_momentums, strict=True
                ):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        """The rates at step ``last_epoch``, interpolated within its phase (sets momentum too)."""
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(
                f"Tried to step {step_num} times. The specified number of total steps is "
                f"{self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr0, lr1, mom0, mom1) in enumerate(self._phases):
                if step_num <= end_step or i == len(self._phases) - 1:
                    pct = (step_num - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[mom0], group[mom1], pct))
                    break
                start_step = end_step
        return lrs

    _get_closed_form_lr = get_lr


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when a metric stops improving.

    Call ``step(metric)`` once per evaluation (e.g. with the validation loss).
    After more than ``patience`` evaluations without an improvement beyond
    ``threshold``, each group's rate becomes ``max(lr * factor, min_lr)``
    (unless that changes it by less than ``eps``), then ``cooldown``
    evaluations pass before bad ones are counted again.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates are reduced.
    mode : {'min', 'max'}, default='min'
        Whether the metric should fall (a loss) or rise (an accuracy).
    factor : float, default=0.1
        Multiplier of the rate on a reduction, < 1.
    patience : int, default=10
        Evaluations without improvement tolerated before reducing.
    threshold : float, default=1e-4
        Smallest change that counts as an improvement.
    threshold_mode : {'rel', 'abs'}, default='rel'
        ``'rel'``: better than ``best * (1 -/+ threshold)``; ``'abs'``: than
        ``best -/+ threshold``.
    cooldown : int, default=0
        Evaluations to wait after a reduction before counting bad ones again.
    min_lr : float or list of float, default=0
        Lower bound of the rate, for all groups or per group.
    eps : float, default=1e-8
        Reductions smaller than this are skipped.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: list[float] | float = 0,
        eps: float = 1e-8,
    ) -> None:
        # NOTE: no super().__init__(): this scheduler follows a metric, not a schedule,
        # so it records no 'initial_lr' and takes no initial step (as in PyTorch).
        if factor >= 1.0:
            raise ValueError(f"Factor should be < 1.0, got factor={factor}")
        self.factor = factor
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(
                    f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}"
                )
            self.default_min_lr: float | None = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _current_lrs(optimizer)
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode!r} is unknown! expected 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"threshold mode {threshold_mode!r} is unknown! expected 'rel' or 'abs'"
            )
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    @property
    def in_cooldown(self) -> bool:
        """True while evaluations after a reduction are being ignored."""
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: SupportsFloat, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record one evaluation of the metric and reduce the rates if it has plateaued.

        Parameters
        ----------
        metrics : float or one-element Tensor
            The monitored quantity.
        epoch : int, optional
            Deprecated (as in PyTorch): the evaluation's index.
        """
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_DEPRECATION, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _current_lrs(self.optimizer)

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the `optimizer` ({len(groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                    "usually due to a new param group being added to the optimizer. Please "
                    "modify the `min_lrs` field to match the length of the `optimizer` param "
                    "groups."
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs, strict=True):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`LRScheduler.load_state_dict`, then rebuild the ``mode`` comparison."""
        super().load_state_dict(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


def _lambdas_state(lr_lambdas: list[Callable[[int], float]]) -> list[dict[str, Any] | None]:
    """What PyTorch saves of each lambda: a callable object's attributes, None for a function."""
    return [
        None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__)
        for fn in lr_lambdas
    ]


def _load_lambdas_state(
    lr_lambdas: list[Callable[[int], float]], saved: list[dict[str, Any] | None]
) -> None:
    for fn, attributes in zip(lr_lambdas, saved, strict=True):
        if attributes is not None:
            fn.__dict__.update(copy.deepcopy(attributes))


def _lambdas(optimizer: Optimizer, lr_lambda: Any) -> list[Callable[[int], float]]:
    """One callable per param group, from one callable or a list of them."""
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(optimizer.param_groups):
            raise ValueError(
                f"Expected {len(optimizer.param_groups)} lr_lambdas, but got {len(lr_lambda)}"
            )
        fns = list(lr_lambda)
    else:
        fns = [lr_lambda] * len(optimizer.param_groups)
    for fn in fns:
        if not callable(fn):
            raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
    return fns


@_scheduler_doc
class LambdaLR(LRScheduler):
    """Set the learning rate to ``base_lr * lr_lambda(last_epoch)``.

    ``state_dict()`` saves no function (a lambda cannot be saved): it keeps
    ``None`` for each function, and the attributes of a callable object, as
    PyTorch does; the scheduler being loaded brings its own ``lr_lambda``.

    Parameters
    ----------
    {optimizer}
    lr_lambda : callable or list of callable
        ``step -> factor``, for all groups or one per group.
    {last_epoch}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """``base_lr * lr_lambda(last_epoch)`` for each group."""
        return [
            base_lr * fn(self.last_epoch)
            for fn, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)
        ]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer; of ``lr_lambdas`` only objects' attributes."""
        state = self._attributes("lr_lambdas")
        state["lr_lambdas"] = _lambdas_state(self.lr_lambdas)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`LRScheduler.load_state_dict`; the lambdas stay this scheduler's own."""
        self._restore(state_dict, "lr_lambdas")
        _load_lambdas_state(self.lr_lambdas, state_dict["lr_lambdas"])


class MultiplicativeLR(LambdaLR):
    """Multiply the learning rate by ``lr_lambda(last_epoch)`` at every step (not at construction).

    Chainable only: ``step(epoch)`` applies one more factor. Its parameters are
    :class:`LambdaLR`'s, and ``state_dict()`` saves no function, as there.
    """

    def get_lr(self) -> list[float]:
        """The current rates times ``lr_lambda(last_epoch)``."""
        if self._is_initial:
            return _current_lrs(self.optimizer)
        return [
            group["lr"] * fn(self.last_epoch)
            for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups, strict=True)
        ]


@_scheduler_doc
class ConstantLR(LRScheduler):
    """Scale the learning rate by ``factor`` for the first ``total_iters`` steps, then restore it.

    Parameters
    ----------
    {optimizer}
    factor : float, default=1/3
        Scale during the first steps, in [0, 1].
    total_iters : int, default=5
        Step at which the full rate returns.
    {last_epoch}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError(
                f"Constant multiplicative factor expected to be between 0 and 1, got {factor}"
            )
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Scale by ``factor`` at step 0, by ``1 / factor`` at ``total_iters``."""
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _current_lrs(self.optimizer)
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
            for base_lr in self.base_lrs
        ]


@_scheduler_doc
class PolynomialLR(LRScheduler):
    """Decay the learning rate to zero over ``total_iters`` steps along a polynomial.

    ``lr = base_lr * (1 - min(last_epoch, total_iters) / total_iters) ** power``,
    applied in PyTorch's recursive form.

    Parameters
    ----------
    {optimizer}
    total_iters : int, default=5
        Steps until the rate reaches zero.
    power : float, default=1.0
        Power of the polynomial.
    {last_epoch}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        total_iters: int = 5,
        power: float = 1.0,
        last_epoch: int = -1,
    ) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current rates times the ratio of consecutive polynomial terms."""
        if self._is_initial or self.last_epoch > self.total_iters:
            return _current_lrs(self.optimizer)
        decay_factor = (
            (1.0 - self.last_epoch / self.total_iters)
            / (1.0 - (self.last_epoch - 1) / self.total_iters)
        ) ** self.power
        return [group["lr"] * decay_factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            base_lr
            * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
            for base_lr in self.base_lrs
        ]


@_scheduler_doc
class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from ``base_lr`` to ``eta_min`` that restarts every cycle (SGDR).

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``, where
    ``T_cur`` counts the steps since the last restart and the cycle length ``T_i``
    starts at ``T_0`` and is multiplied by ``T_mult`` at each restart.
    ``step(epoch)`` accepts fractional epochs (e.g. ``epoch + i / iters``), with
    no deprecation warning, as in PyTorch.

    Parameters
    ----------
    {optimizer}
    T_0 : int
        Length of the first cycle, in steps (> 0).
    T_mult : int, default=1
        Growth factor of the cycle length (>= 1).
    eta_min : float, default=0.0
        Smallest learning rate.
    {last_epoch}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,  # noqa: N803 - PyTorch's name
        T_mult: int = 1,  # noqa: N803 - PyTorch's name
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if not is_int(T_0) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if not is_int(T_mult) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not is_real(eta_min):
            raise ValueError(
                f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}"
            )
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The cosine at ``T_cur / T_i`` between ``base_lr`` and ``eta_min``."""
        return [
            self.eta_min
            + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
            for base_lr in self.base_lrs
        ]

    def step(self, epoch: float | None = None) -> None:
        """Advance one step, or go to ``epoch`` (which may be fractional).

        Parameters
        ----------
        epoch : float, optional
            The (fractional) epoch to go to; >= 0.
        """
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # a restart
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        elif epoch >= self.T_0:
            if self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                # the cycle n that epoch falls in: T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch
                n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult**n
        else:
            self.T_i = self.T_0
            self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = _current_lrs(self.optimizer)


@_scheduler_doc
class CyclicLR(LRScheduler):
    """Cycle the learning rate between ``base_lr`` and ``max_lr`` (Smith, 2017); step per batch.

    Each cycle rises linearly over ``step_size_up`` steps and falls over
    ``step_size_down``; the height of the cycle is scaled by ``mode``:
    ``'triangular'`` (constant), ``'triangular2'`` (halved each cycle),
    ``'exp_range'`` (``gamma ** step``), or by a custom ``scale_fn``. With
    ``cycle_momentum`` the optimizer's ``momentum`` (SGD, RMSprop) or ``beta1``
    (Adam and its kin) moves the opposite way between ``max_momentum`` and
    ``base_momentum``. Not chainable: each rate comes from the step index.
    ``state_dict()`` saves no ``scale_fn`` function, as PyTorch.

    Parameters
    ----------
    {optimizer}
    base_lr : float or list of float
        Lower end of the cycle, for all groups or per group (set at construction).
    max_lr : float or list of float
        Upper end of the cycle (reached only in the first cycle of a scaled mode).
    step_size_up : int, default=2000
        Steps of the rising half.
    step_size_down : int, optional
        Steps of the falling half; default ``step_size_up``.
    mode : {'triangular', 'triangular2', 'exp_range'}, default='triangular'
        The scaling of the height, ignored when ``scale_fn`` is given.
    gamma : float, default=1.0
        Base of ``'exp_range'``'s scaling.
    scale_fn : callable, optional
        ``x -> scale`` in [0, 1], replacing ``mode``.
    scale_mode : {'cycle', 'iterations'}, default='cycle'
        What ``scale_fn`` is given: the cycle number or the step index.
    cycle_momentum : bool, default=True
        Cycle the momentum inversely to the rate.
    base_momentum : float or list of float, default=0.8
        Momentum at the peak rate.
    max_momentum : float or list of float, default=0.9
        Momentum at the lowest rate (set at construction).
    {last_epoch}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: Literal["cycle", "iterations"] = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.8,
        max_momentum: float | list[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        if not (up > 0 and down >= 0):
            raise ValueError(
                f"CyclicLR: step_size_up must be > 0 and step_size_down >= 0, got "
                f"{step_size_up!r} and {step_size_down!r}"
            )
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(
                f"mode is invalid and scale_fn is None: got mode={mode!r}, expected "
                "'triangular', 'triangular2' or 'exp_range'"
            )
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _cycles_beta1(optimizer)
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for top, bottom, group in zip(
                    self.max_momentums, self.base_momentums, optimizer.param_groups, strict=True
                ):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        """The scaling of ``mode`` (and the ``scale_mode`` it implies), unless one is given."""
        if self._scale_fn_custom is not None:
            return
        if self.mode == "triangular":
            self._scale_fn_ref: Callable[[float], float] = _triangular_scale_fn
            self.scale_mode = "cycle"
        elif self.mode == "triangular2":
            self._scale_fn_ref = _triangular2_scale_fn
            self.scale_mode = "cycle"
        else:
            self._scale_fn_ref = functools.partial(_exp_range_scale_fn, self.gamma)
            self.scale_mode = "iterations"

    def scale_fn(self, x: float) -> float:
        """The height's scale at cycle or step ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        return self._scale_fn_ref(x)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def get_lr(self) -> list[float]:
        """The rates at step ``last_epoch`` (sets the momentum too, with ``cycle_momentum``)."""
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # position in the cycle, [0, 1)
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [
            base_lr + (max_lr - base_lr) * scale_factor * scale
            for base_lr, max_lr in zip(self.base_lrs, self.max_lrs, strict=True)
        ]
        if self.cycle_momentum:
            for bottom, top, group in zip(
                self.base_momentums, self.max_momentums, self.optimizer.param_groups, strict=True
            ):
                self._set_momentum(group, top - (top - bottom) * scale_factor * scale)
        return lrs

    _get_closed_form_lr = get_lr

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer and the scaling function (an object's attributes)."""
        state = self._attributes("_scale_fn_ref", "_scale_fn_custom")
        custom = self._scale_fn_custom
        state["_scale_fn_custom"] = None if custom is None else _lambdas_state([custom])[0]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`LRScheduler.load_state_dict`; a custom ``scale_fn`` stays this one's own."""
        custom = state_dict["_scale_fn_custom"]
        self._restore(state_dict, "_scale_fn_custom")
        if custom is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(copy.deepcopy(custom))
        self._init_scale_fn()


def _triangular_scale_fn(x: float) -> float:
    return 1.0


def _triangular2_scale_fn(x: float) -> float:
    return 1 / (2.0 ** (x - 1))


def _exp_range_scale_fn(gamma: float, x: float) -> float:
    return gamma**x


def _check_schedulers(kind: str, optimizer: Optimizer, schedulers: Sequence[Any]) -> None:
    """Refuse no scheduler, a non-scheduler, ReduceLROnPlateau, or another optimizer's scheduler."""
    if len(schedulers) < 1:
        raise ValueError(f"{kind} expects at least one scheduler, but got no scheduler.")
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{kind} at index {i} should have `optimizer` as its attribute.")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(
                f"{kind} does not support `ReduceLROnPlateau` scheduler as it requires "
                "additional kwargs to be specified when calling `step`, but got one at index "
                f"{i} in the given schedulers sequence."
            )
        if scheduler.optimizer is not optimizer:
            raise ValueError(
                f"{kind} expects all schedulers to belong to the same optimizer, but got "
                f"scheduler {type(scheduler).__name__} at index {i} with another optimizer."
            )


class _Composite(LRScheduler):
    """A scheduler made of schedulers: its ``state_dict`` holds theirs."""

    _schedulers: list[LRScheduler]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer; ``_schedulers`` holds each one's ``state_dict()``."""
        state = self._attributes("_schedulers")
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`LRScheduler.load_state_dict`, each inner scheduler's state too."""
        self._restore(state_dict, "_schedulers")
        for scheduler, saved in zip(self._schedulers, state_dict["_schedulers"], strict=True):
            scheduler.load_state_dict(saved)


class SequentialLR(_Composite):
    """Run schedulers one after another, switching at the ``milestones``.

    At construction every group's rate goes back to its ``'initial_lr'`` and the
    first scheduler restarts; at each milestone the next scheduler takes over
    from its step 0, computed by its closed form, as in PyTorch.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer all the schedulers drive.
    schedulers : list of LRScheduler
        Built on ``optimizer``, in the order they run (not ReduceLROnPlateau).
    milestones : list of int
        Steps at which the next scheduler starts; one fewer than ``schedulers``.
    last_epoch : int, default=-1
        Index of the last step.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: list[LRScheduler],
        milestones: list[int],
        last_epoch: int = -1,
    ) -> None:
        _check_schedulers(type(self).__name__, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to {len(milestones)}"
            )
        # NOTE: no super().__init__(): the inner schedulers hold the schedule.
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:  # undo the initial step each one took
            _undo_last_step(scheduler)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        """Advance the scheduler of the current stage; at a milestone, start the next one."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


def _undo_last_step(scheduler: Any) -> None:
    """Take one from ``last_epoch``, through nested sequences and chains."""
    if hasattr(scheduler, "_schedulers"):
        for inner in scheduler._schedulers:
            _undo_last_step(inner)
    elif hasattr(scheduler, "last_epoch"):
        scheduler.last_epoch -= 1


class ChainedScheduler(_Composite):
    """Step several schedulers together, each applying its rule to the rates the previous set.

    Parameters
    ----------
    schedulers : sequence of LRScheduler
        Chainable schedulers of one optimizer (not ReduceLROnPlateau), stepped in order.
    optimizer : Optimizer, optional
        Their optimizer; default the first scheduler's.
    """

    def __init__(
        self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                "ChainedScheduler expects at least one scheduler to be chained, but got no "
                "scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        _check_schedulers(type(self).__name__, optimizer, schedulers)
        # NOTE: no super().__init__(): each scheduler took its own initial step.
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = _current_lrs(optimizer)

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _current_lrs(self.optimizer)


__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
