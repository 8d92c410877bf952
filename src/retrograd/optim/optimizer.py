"""The :class:`Optimizer` base: parameter groups, per-parameter state and ``state_dict``.

Everything follows ``torch.optim``: an optimizer holds ``param_groups`` (each a
dict of tensors and the options that apply to them) and ``state`` (a dict keyed
by the parameter object, filled lazily on a parameter's first update). Its
``state_dict()`` names parameters by their position across the groups, so that
training resumes exactly in a fresh process.

The update of one parameter is a subclass's :meth:`Optimizer._update`; it works
on the ``.data`` arrays in place, which the engine never records, in the
parameter's own dtype, with NumPy's ``out=`` ufuncs over reusable scratch arrays
(:meth:`Optimizer._scratch`), so that a step allocates nothing after the first.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Union

from .._backend import FLOAT_DTYPES, flush_subnormal, ndarray, xp
from ..autograd import enable_grad
from ..tensor import Tensor, zero_grads
from ..validation import is_real
from .updates import direction

#: What an optimizer accepts as ``params``: tensors, or dicts that are parameter groups.
ParamsT = Union[Iterable[Tensor], Iterable[dict[str, Any]]]
StateDict = dict[str, Any]


def params_doc(lr: str, meaning: str = "Learning rate") -> str:
    """The ``params`` and ``lr`` entries every optimizer's Parameters section starts with.

    The optimizers' docstrings are f-strings that insert it, as ``torch.optim`` inserts
    its ``_params_doc``; continuation lines carry the class docstring's 8-space indent.
    """
    return (
        "params : iterable of Tensor or iterable of dict\n"
        "        Tensors to optimize, or parameter groups (dicts with ``'params'`` and options).\n"
        f"    lr : float, default={lr}\n"
        f"        {meaning}, >= 0."
    )


class Optimizer:
    """Base class of every optimizer, as ``torch.optim.Optimizer``.

    Subclasses pass their options as ``defaults``, name the options to check in
    :attr:`checked_options` (extending :meth:`_check_options` for other rules),
    and implement :meth:`_update`.

    Parameters
    ----------
    params : iterable of Tensor or iterable of dict
        The tensors to optimize (leaves of a floating dtype), or parameter
        groups: dicts with a ``'params'`` entry and any options that differ from
        ``defaults`` for those tensors. A tensor may appear only once.
    defaults : dict
        The options of every group that does not set its own.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``'params'`` (a list of tensors) and every option,
        defaults filled in. Schedulers change ``'lr'`` here.
    state : dict
        Per-parameter state keyed by the parameter tensor itself (its moment
        arrays, its step count), created on the parameter's first update.
    defaults : dict
        The options given at construction.
    """

    #: Every this many calls of :meth:`step`, the subnormal entries of the state
    #: arrays (momentum buffers, moment estimates) are set to zero; 0 never.
    flush_every = 32
    #: The options every group is checked for, in PyTorch's order: ``betas`` each
    #: in [0, 1) (:func:`check_betas`), any other a number >= 0 (:func:`check_nonnegative`).
    checked_options: tuple[str, ...] = ("lr",)

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self._check_options(self.defaults, "")
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got a Tensor; pass [tensor]"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        if isinstance(self.defaults.get("betas"), list):
            self.defaults["betas"] = tuple(self.defaults["betas"])
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._work: dict[tuple[Any, ...], ndarray] = {}
        self._steps_taken = 0
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of tensors with its own options (e.g. layers unfrozen while training).

        Parameters
        ----------
        param_group : dict
            ``'params'`` (a tensor or an iterable of tensors) and any options;
            options not given take the optimizer's ``defaults``.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a param group must have a 'params' entry: the tensors to optimize")
        gi = len(self.param_groups)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        else:
            params = list(params)
        seen: dict[int, int] = {}  # ids are safe here: every tensor is alive during the check
        for i, p in enumerate(params):
            where = f"parameter {i} of param group {gi}"
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but {where} is {type(p).__name__}"
                )
            if p.dtype not in FLOAT_DTYPES:
                raise TypeError(
                    "optimizer can only optimize Tensors of a floating dtype, but "
                    f"{where} has dtype {p.dtype}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"can't optimize a non-leaf Tensor ({where} was computed by "
                    f"{p.grad_fn.name}); optimize the leaf tensors it was computed from"
                )
            if id(p) in seen:
                raise ValueError(
                    f"optimizer got the same parameter twice in param group {gi} (parameters "
                    f"{seen[id(p)]} and {i}); give each tensor once"
                )
            seen[id(p)] = i
        for gj, other in enumerate(self.param_groups):
            if any(id(q) in seen for q in other["params"]):
                raise ValueError(
                    f"some parameters appear in more than one parameter group (groups {gj} "
                    f"and {gi}); give each tensor to one group"
                )
        group = {**param_group, "params": params}
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        self._check_options(group, f" (param group {gi})")
        self.param_groups.append(group)

    def _check_options(self, options: dict[str, Any], where: str) -> None:
        """Refuse invalid options (``where`` names the group) with PyTorch's messages.

        Checks :attr:`checked_options`; subclasses extend it for other rules.
        """
        for name in self.checked_options:
            if name == "betas":
                check_betas(options, where)
            else:
                check_nonnegative(options, name, where)

    # ------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter.

        Parameters
        ----------
        set_to_none : bool, default=True
            Set ``.grad`` to None (the next backward allocates it; parameters
            left without a gradient are skipped by ``step``). False fills the
            existing gradients with zeros instead.
        """
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, once.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (zeroing the gradients
            and calling ``backward()`` itself); it runs with gradients enabled
            before the update.

        Returns
        -------
        The closure's loss, or None without a closure.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                grad = p.grad.array
                if grad.shape != p.array.shape or grad.dtype != p.array.dtype:
                    raise RuntimeError(
                        f"{type(self).__name__}.step(): parameter {i} of param group {gi} has "
                        f"shape {p.array.shape} and dtype {p.array.dtype}, but its .grad has "
                        f"shape {grad.shape} and dtype {grad.dtype}; they must match"
                    )
                self._update(p, grad, group)
        self._count_step()
        return loss

    def _count_step(self) -> None:
        """Count a finished step; every ``flush_every`` steps, flush the state's subnormals."""
        self._steps_taken += 1
        if self.flush_every and self._steps_taken % self.flush_every == 0:
            self._flush_state()

    def _flush_state(self) -> None:
        """Set the subnormal entries of every state array to zero."""
        for state in self.state.values():
            for value in state.values():
                if isinstance(value, ndarray) and value.dtype in FLOAT_DTYPES:
                    flush_subnormal(value, self._scratch(value, 1))

    def _update(self, p: Tensor, grad: ndarray, group: dict[str, Any]) -> None:
        """Apply one step of the rule to ``p.array`` in place, given its gradient array."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    def _scratch(self, like: ndarray, slot: int) -> ndarray:
        """A reusable array with ``like``'s shape and dtype; never part of the state.

        Parameters of one shape share it, since they are updated one after another.
        """
        key = (like.shape, like.dtype, slot)
        buf = self._work.get(key)
        if buf is None:
            buf = self._work[key] = xp.empty_like(like)
        return buf

    def _state_for(self, p: Tensor, *arrays: str, **scalars: float) -> tuple[dict[str, Any], int]:
        """``p``'s state, made on its first step, and its step count, advanced by one.

        A new state has ``'step'`` 0, the ``scalars`` and a zero array of ``p``'s
        shape for each name in ``arrays``, in that order (PyTorch's): the lazily
        created state of ``torch.optim``.
        """
        state = self.state[p]
        if not state:
            state["step"] = 0
            state.update(scalars)
            for name in arrays:
                state[name] = xp.zeros_like(p.array)
        step = state["step"] = state["step"] + 1
        return state, step

    def _gradient(self, param: ndarray, grad: ndarray, group: dict[str, Any]) -> ndarray:
        """The group's direction (:meth:`_direction`), after any decoupled weight decay.

        Decoupled (``group['decoupled_weight_decay']``, AdamW's), the weights shrink
        here, ``w = w * (1 - lr * weight_decay)``, and the decay leaves the gradient.
        """
        if not group["weight_decay"] and not group["maximize"]:
            return grad  # the plain rule follows the gradient itself
        wd = split_weight_decay(param, group)
        return self._direction(param, grad, group["maximize"], wd)

    def _direction(
        self, param: ndarray, grad: ndarray, maximize: bool, weight_decay: float
    ) -> ndarray:
        """The gradient the rule follows: ``(-grad if maximize else grad) + weight_decay * param``.

        Returns ``grad`` itself (to be read only) when neither applies, else scratch slot 0
        (:func:`retrograd.optim.updates.direction`).
        """
        if not maximize and weight_decay == 0:
            return grad
        return direction(param, grad, maximize, weight_decay, self._scratch(param, 0))

    # ------------------------------------------------------------ saving
    def state_dict(self) -> StateDict:
        """The optimizer's state in PyTorch's layout, sharing no array with the optimizer.

        Returns
        -------
        dict
            ``'state'``: ``{index: {name: value}}`` where ``index`` is the
            parameter's position counted across the groups in order;
            ``'param_groups'``: the groups' options, with ``'params'`` the list
            of the indices of their tensors.
        """
        index: dict[Tensor, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(p, len(index)) for p in group["params"]]
            groups.append(packed)
        state = {
            index[p]: {k: _copy_value(v) for k, v in s.items()}
            for p, s in self.state.items()
            if p in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Restore a state saved by :meth:`state_dict` (arrays are copied, not shared).

        The groups must hold the same numbers of tensors, in the same order, as
        when the state was saved; state arrays are cast to their parameter's dtype.

        Parameters
        ----------
        state_dict : dict
            As returned by :meth:`state_dict`.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(
                "load_state_dict(): expected a dict with the keys 'state' and 'param_groups', "
                "as returned by state_dict()"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)}) than the optimizer ({len(self.param_groups)})"
            )
        by_index: dict[int, Tensor] = {}
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: param group {gi} was saved with "
                    f"{len(saved['params'])} parameters, the optimizer has "
                    f"{len(group['params'])}"
                )
            by_index.update(zip(saved["params"], group["params"], strict=True))
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            if key not in by_index:
                raise ValueError(
                    f"loaded state dict has state for parameter {key}, which no param group lists"
                )
            p = by_index[key]
            state[p] = {k: self._load_state_entry(v, p, k, key) for k, v in saved_state.items()}
        groups = []
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            self._check_options(new, f" (param group {gi} of the loaded state dict)")
            groups.append(new)
        self.state = state
        self.param_groups = groups

    def _load_state_entry(self, value: Any, p: Tensor, name: str, key: int) -> Any:
        """A copy of one saved state entry of ``p``; arrays have ``p``'s shape and dtype."""
        return _load_value(value, p, name, key)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join([*lines, ")"])


_SET_MESSAGE = (
    "optimizer parameters need to be organized in ordered collections, but the ordering of "
    "tensors in sets will change between runs. Please use a list instead."
)


def _copy_value(v: Any) -> Any:
    return v.copy() if isinstance(v, ndarray) else copy.deepcopy(v)


def _load_value(v: Any, p: Tensor, name: str, key: int) -> Any:
    """A copy of one saved state entry, arrays cast to the parameter's dtype."""
    if not isinstance(v, ndarray):
        return copy.deepcopy(v)
    if v.shape != p.array.shape:
        raise ValueError(
            f"loaded state dict has {name!r} of shape {v.shape} for parameter {key}, "
            f"whose shape is {p.array.shape}"
        )
    return v.astype(p.array.dtype) if v.dtype.kind == "f" else v.copy()


def real_option(options: dict[str, Any], name: str, where: str) -> float:
    value = options[name]
    if not is_real(value):
        raise TypeError(f"{name} must be a real number{where}, got {value!r}")
    return float(value)


#: How PyTorch's messages name an option ("Invalid learning rate: -1"); others: "<name> value".
_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def check_nonnegative(options: dict[str, Any], name: str, where: str) -> None:
    """``options[name]`` must be a number >= 0: ``Invalid <label>: <value>`` otherwise."""
    value = real_option(options, name, where)
    if not value >= 0.0:  # also refuses NaN
        label = _LABELS.get(name, f"{name} value")
        raise ValueError(f"Invalid {label}: {options[name]}{where}; expected {name} >= 0")


def split_weight_decay(param: ndarray, group: dict[str, Any]) -> float:
    """Apply the group's weight decay if decoupled; return the L2 coefficient left for the gradient.

    Decoupled (AdamW's), the weights shrink in place, ``w = w * (1 - lr * weight_decay)``,
    and 0 is returned; otherwise ``weight_decay`` is, to be added to the gradient.
    """
    wd = float(group["weight_decay"])
    if wd != 0 and group.get("decoupled_weight_decay", False):
        param *= 1.0 - float(group["lr"]) * wd
        return 0.0
    return wd


def check_betas(options: dict[str, Any], where: str) -> None:
    """Adam's ``betas``: two numbers, each in [0, 1)."""
    betas = options["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2){where}, got {betas!r}")
    for i, b in enumerate(betas):
        if not is_real(b):
            raise TypeError(f"betas must be real numbers{where}, got {betas!r}")
        if not 0.0 <= b < 1.0:  # also refuses NaN
            raise ValueError(
                f"Invalid beta parameter at index {i}: {b}{where}; expected 0 <= beta < 1"
            )


def refuse_unsupported(optimizer: str, **options: Any) -> None:
    """Raise for a ``torch.optim`` option this build does not implement, named with its value.

    ``foreach`` and ``fused`` are accepted as None or False, ``capturable`` and
    ``differentiable`` as False: the values that mean PyTorch's single-tensor
    path, which is the update every retrograd optimizer computes.
    """
    accepted = {"foreach": (None, False), "fused": (None, False)}
    for option, value in options.items():
        if any(value is ok for ok in accepted.get(option, (False,))):
            continue
        raise ValueError(
            f"{optimizer}({option}={value!r}) is not supported: retrograd updates each "
            f"parameter with NumPy on the CPU (no foreach or fused kernels, no CUDA-graph "
            f"capture, no differentiating through the step); leave {option} at its default"
        )
