"""``Module``: the base class of every layer, with PyTorch's attribute registration.

A module finds its parameters, buffers and sub-modules through ``__setattr__``:
assigning a :class:`Parameter` registers a parameter, assigning a ``Module``
registers a child, and :meth:`Module.register_buffer` registers a tensor that is
state but not learned (BatchNorm's running statistics). Each kind lives in an
insertion-ordered dict, so parameters come out in the order they were assigned,
and a parameter shared by two layers is listed once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np

from ..autograd import no_grad
from ..autograd.hooks import RemovableHandle, add_hook
from ..tensor import Tensor, as_dtype, to_arguments, wrap_array, zero_grads
from . import hooks as _hooks
from .parameter import Parameter, check_device

M = TypeVar("M", bound="Module")


class _IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` returns: the keys that did not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
            f"unexpected_keys={self.unexpected_keys!r})"
        )


def addindent(s: str, num_spaces: int) -> str:
    """Indent every line of ``s`` but the first (how PyTorch nests reprs)."""
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in lines)


def _shape_str(shape: tuple[int, ...]) -> str:
    return f"({', '.join(str(n) for n in shape)})"


class Module:
    """Base class of every layer and model, as ``torch.nn.Module``.

    Subclasses call ``super().__init__()`` first, assign their parameters and
    sub-modules as attributes, and implement :meth:`forward`. Calling the module
    runs ``forward``.

    Attributes
    ----------
    training : bool
        True in training mode (the default), False after :meth:`eval`. Layers
        such as Dropout and BatchNorm1d behave differently in the two modes.

    Examples
    --------
    >>> import retrograd.nn as nn
    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = nn.Linear(4, 8)
    ...         self.fc2 = nn.Linear(8, 1)
    ...     def forward(self, x):
    ...         return self.fc2(self.fc1(x).relu())
    >>> sum(p.numel() for p in MLP().parameters())
    49
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: dict[str, Module | None]
    _has_hooks = False  # True while any module hook is registered (nn/hooks.py keeps it)

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers"] = set()
        d["_modules"] = {}
        _hooks.init_hooks(d)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output; every subclass must implement it."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the "forward" method')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._has_hooks:
            return _hooks.call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ hooks
    def _add_hook(
        self, name: str, hook: Callable[..., Any], prepend: bool, with_kwargs: bool = False
    ) -> RemovableHandle:
        d = self.__dict__
        if name not in d:  # a module made before hooks existed (unpickled, say)
            _hooks.init_hooks(d)
        handle = add_hook(d[name], hook, prepend, on_remove=lambda: _hooks.update_flag(d))
        if with_kwargs:
            d[name + "_with_kwargs"].add(handle.id)
        d["_has_hooks"] = True
        return handle

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each ``forward``.

        A non-None return replaces the positional arguments (a single value is
        wrapped in a tuple). With ``with_kwargs=True`` the hook is
        ``hook(module, args, kwargs)`` and returns None or ``(args, kwargs)``.

        Parameters
        ----------
        hook : callable
        prepend : bool, default=False
            Run this hook before those already registered.
        with_kwargs : bool, default=False
            Pass the keyword arguments of the call too.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` removes the hook.
        """
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each ``forward``.

        A non-None return replaces the output. With ``with_kwargs=True`` the hook
        is ``hook(module, args, kwargs, output)``. Parameters and return value as
        :meth:`register_forward_pre_hook`.
        """
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    def register_full_backward_pre_hook(
        self, hook: Callable[..., Any], prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients of the outputs are known.

        ``grad_output`` has one entry per output (None for one that is not a tensor
        or got no gradient); a non-None return (a tuple of the same length)
        replaces it for the rest of the backward pass.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` removes the hook.
        """
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_full_backward_hook(
        self, hook: Callable[..., Any], prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the inputs' gradients are known.

        As PyTorch's: ``grad_input`` has one entry per positional argument of the
        call (None for one that is not a tensor or does not require grad),
        ``grad_output`` one per output. A non-None return (a tuple of the length of
        ``grad_input``) replaces the gradients sent on to the inputs. When no input
        requires grad the hook runs with ``grad_input`` all None once the outputs'
        gradients are known.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` removes the hook.
        """
        return self._add_hook("_backward_hooks", hook, prepend)

    # ------------------------------------------------------------ registration
    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} before Module.__init__() call; "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )

    def _check_name(self, name: Any, what: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{what} name can\'t be empty or contain ".", got {name!r}')

    def _check_entry(
        self, name: Any, value: Any, kind: str, cls: type, cls_name: str, table: dict[str, Any]
    ) -> None:
        """Refuse ``value`` (a ``cls`` or None) as a ``kind`` new to ``table``, as PyTorch does."""
        self._check_init(kind + "s")
        self._check_name(name, kind)
        if value is not None and not isinstance(value, cls):
            raise TypeError(
                f"cannot assign '{type(value).__name__}' object to {kind} '{name}' "
                f"({cls_name} or None required)"
            )
        if hasattr(self, name) and name not in table:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (a Parameter, or None for an absent one) under ``name``."""
        self._check_entry(
            name, param, "parameter", Parameter, "retrograd.nn.Parameter", self._parameters
        )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a state tensor that is not a parameter, e.g. BatchNorm's ``running_mean``.

        Parameters
        ----------
        name : str
            The attribute name.
        tensor : Tensor or None
            The buffer. None registers an absent buffer (left out of the state_dict).
        persistent : bool, default=True
            Whether the buffer is part of :meth:`state_dict`.
        """
        self._check_entry(name, tensor, "buffer", Tensor, "Tensor", self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (it becomes the attribute ``self.<name>``)."""
        self._check_init("child modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(retrograd.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._check_init("child modules")
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(retrograd.nn.Module or None expected)"
                )
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(Tensor or None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str) -> None:
        """Remove ``name`` from the instance dict and every registry but ``keep``.

        Re-assigning within ``keep`` then replaces the entry where it stands, so the
        parameter order (and the state_dict order) stays that of first assignment.
        """
        d = self.__dict__
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            if key != keep:
                d[key].pop(name, None)
        d["_non_persistent_buffers"].discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails. Read __dict__ directly: during copy or
        # unpickling the registries may not exist yet, and self._parameters would recurse.
        reg = self._registry_of(name)
        if reg is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return reg[name]

    def __delattr__(self, name: str) -> None:
        reg = self._registry_of(name)
        if reg is None:
            object.__delattr__(self, name)
            return
        del reg[name]
        self.__dict__["_non_persistent_buffers"].discard(name)

    def _registry_of(self, name: str) -> dict[str, Any] | None:
        """The registry (parameters, buffers or modules) that holds ``name``, or None."""
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            reg = d.get(key)
            if reg is not None and name in reg:
                return reg
        return None

    def __dir__(self) -> list[str]:
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    # ------------------------------------------------------------ traversal
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted_name, module)`` for this module (name ``''``) and every descendant.

        Parameters
        ----------
        memo : set, optional
            Ids of modules already yielded (used by the recursion).
        prefix : str, default=''
            Prepended to every name.
        remove_duplicate : bool, default=True
            Yield a module reachable by several paths only once.
        """
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """Yield this module and every descendant, each once."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for each direct child, each once."""
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """Yield each direct child module once."""
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Any]]:
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        seen: set[int] = set()
        for mod_prefix, module in modules:
            for name, value in module.__dict__[registry].items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` in registration order, a shared parameter once.

        Parameters
        ----------
        prefix : str, default=''
            Prepended to every name.
        recurse : bool, default=True
            Include the parameters of descendants; False gives only this module's own.
        remove_duplicate : bool, default=True
            Yield a parameter that is registered several times only under its first name.
        """
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Yield every parameter once, in registration order (see :meth:`named_parameters`)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted_name, buffer)`` for every buffer (see :meth:`named_parameters`)."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Yield every buffer once."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The descendant at the dotted path ``target`` (``''`` is this module)."""
        mod: Module = self
        if target == "":
            return mod
        walked = []
        for item in target.split("."):
            child = mod._modules.get(item)
            if child is None:
                where = ".".join(walked) or type(self).__name__
                raise AttributeError(f"{where} has no submodule `{item}` (looking up '{target}')")
            walked.append(item)
            mod = child
        return mod

    def num_parameters(self, only_trainable: bool = False) -> int:
        """The number of scalar parameters, each shared parameter counted once.

        Parameters
        ----------
        only_trainable : bool, default=False
            Count only parameters with ``requires_grad=True``.
        """
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not only_trainable)

    # ------------------------------------------------------------ modes and gradients
    def train(self: M, mode: bool = True) -> M:
        """Set training mode (``mode=True``) or evaluation mode on this module and descendants."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self: M) -> M:
        """Set evaluation mode; the same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Set ``requires_grad`` on every parameter (False freezes the module)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter.

        Parameters
        ----------
        set_to_none : bool, default=True
            Set ``.grad`` to None (saves memory; the next backward allocates it);
            False fills the existing gradients with zeros instead.
        """
        zero_grads(self.parameters(), set_to_none)

    def apply(self: M, fn: Callable[[Module], Any]) -> M:
        """Call ``fn`` on every descendant (children first) and then on this module.

        Typical use is initialisation: ``model.apply(init_weights)``.
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ dtype
    def _cast(self: M, dtype: Any) -> M:
        """Cast every floating parameter, gradient and buffer in place, keeping the objects."""
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p.array.dtype.kind == "f":
                    p.array = p.array.astype(dtype)
                    if p.grad is not None:
                        p.grad = wrap_array(p.grad.array.astype(dtype))
            for b in m._buffers.values():
                if b is not None and b.array.dtype.kind == "f":
                    b.array = b.array.astype(dtype)
        return self

    def to(self: M, *args: Any, **kwargs: Any) -> M:
        """Move to a device and/or cast floating parameters and buffers, in place.

        The forms of ``torch.nn.Module.to``: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)`` (its dtype) and the keywords
        ``device=``, ``dtype=``, ``non_blocking=``. The device must be the CPU
        (``'cpu'``, ``retrograd.device('cpu')`` or ``torch.device('cpu')``): this
        build runs on the CPU only, so a move is a no-op and ``'cuda'`` raises.
        Parameters keep their identity (an optimizer built before still holds them).

        Returns
        -------
        Module
            ``self``.
        """
        kwargs.pop("non_blocking", None)  # nothing is asynchronous here
        unknown = set(kwargs) - {"device", "dtype"}
        if unknown or len(args) > 3:
            raise TypeError(
                f"Module.to() got unexpected arguments {sorted(unknown) or args}; "
                "expected to(device=None, dtype=None, non_blocking=False) or to(tensor)"
            )
        device, dtype = to_arguments(args, kwargs.get("device"), kwargs.get("dtype"))
        if device is not None:
            check_device(device, "Module.to")
        if dtype is None:
            return self
        dt = as_dtype(dtype, "Module.to")
        if dt.kind != "f":
            raise TypeError(
                f"Module.to(): nn.Module.to only accepts floating point dtypes, got {dt}"
            )
        return self._cast(dt)

    def cpu(self: M) -> M:
        """Return ``self``: every tensor already lives on the CPU, the only device."""
        return self

    def double(self: M) -> M:
        """Cast floating parameters and buffers to float64, in place."""
        return self._cast(np.float64)

    def float(self: M) -> M:
        """Cast floating parameters and buffers to float32, in place."""
        return self._cast(np.float32)

    # ------------------------------------------------------------ state_dict
    def state_dict(
        self, destination: dict[str, Any] | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, as PyTorch orders them.

        Each module contributes its own parameters, then its buffers, then its
        children's entries. Values are detached tensors that share memory with the
        module (copy them to snapshot); ``keep_vars=True`` returns the parameters
        themselves.

        Returns
        -------
        OrderedDict of str to Tensor
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _load_from_state_dict(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        """Copy this module's own entries from ``state_dict``; record what does not fit."""
        local = [(n, p) for n, p in self._parameters.items() if p is not None]
        local += [
            (n, b)
            for n, b in self._buffers.items()
            if b is not None and n not in self._non_persistent_buffers
        ]
        for name, tensor in local:
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            value = state_dict[key]
            try:
                arr = np.asarray(value.array if isinstance(value, Tensor) else value)
            except Exception as e:  # a value NumPy cannot read
                error_msgs.append(f'While copying the parameter named "{key}", got error: {e}')
                continue
            if arr.shape != tensor.array.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {_shape_str(arr.shape)} "
                    "from checkpoint, the shape in current model is "
                    f"{_shape_str(tensor.array.shape)}."
                )
                continue
            with no_grad():
                tensor.array[...] = arr  # in place, in the module's dtype
        # As PyTorch: a dotted key must lead to a child; a plain one must be a local entry.
        local_names = {n for n, _ in local}
        for key in state_dict:
            if key.startswith(prefix):
                parts = key[len(prefix) :].split(".", 1)
                known = self._modules if len(parts) > 1 else local_names
                if parts[0] not in known:
                    unexpected_keys.append(key)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module, in place.

        Values may be Tensors, NumPy arrays or anything ``numpy.asarray`` reads
        (such as CPU ``torch`` tensors); they are cast to each parameter's dtype.

        Parameters
        ----------
        state_dict : mapping of str to array-like
            As returned by :meth:`state_dict` (or by PyTorch for the same architecture).
        strict : bool, default=True
            Raise when keys are missing or unexpected. Shape mismatches raise either way.

        Returns
        -------
        NamedTuple ``(missing_keys, unexpected_keys)``

        Raises
        ------
        RuntimeError
            Listing the missing keys, unexpected keys and shape mismatches.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            )
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        for prefix, module in self.named_modules(remove_duplicate=False):
            p = prefix + "." if prefix else ""
            module._load_from_state_dict(state_dict, p, missing, unexpected, errors)
        if strict:
            if unexpected:
                keys = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
            if missing:
                keys = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {keys}. ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in :func:`repr`; layers override it."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + addindent(repr(m), 2) for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        s = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                s += extra_lines[0]
            else:
                s += "\n  " + "\n  ".join(lines) + "\n"
        return s + ")"

    # ------------------------------------------------------------ lookup by dotted name
    def _get_member(self, target: str, registry: str, what: str) -> Any:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod.__dict__[registry] or mod.__dict__[registry][name] is None:
            raise AttributeError(
                f"{mod._get_name()} has no {what} `{name}` (looking up '{target}')"
            )
        return mod.__dict__[registry][name]

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target``, e.g. ``'0.weight'``."""
        return self._get_member(target, "_parameters", "parameter")

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target``, e.g. ``'1.running_mean'``."""
        return self._get_member(target, "_buffers", "buffer")
