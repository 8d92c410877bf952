"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList`` and
``ParameterDict``, as PyTorch's."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

from ..tensor import Tensor
from .module import Module, addindent
from .parameter import Parameter


def _index(idx: Any, n: int, name: str) -> int:
    """``idx`` as a non-negative position in a container of ``n`` modules."""
    i = operator.index(idx)
    if not -n <= i < n:
        raise IndexError(f"{name}: index {idx} is out of range for {n} modules")
    return i % n


def _extend(container: Any, items: Any, single: type, name: str, kind: str) -> Any:
    """``container.append`` each of ``items``; one ``single`` item, not in an iterable, raises."""
    if isinstance(items, single) or not isinstance(items, Iterable):
        raise TypeError(
            f"{name}.extend should be called with an iterable of {kind}, got {type(items).__name__}"
        )
    for item in items:
        container.append(item)
    return container


def _check_module(module: Any, name: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{name}: expected a Module, got {type(module).__name__}")
    return module


class Sequential(Module):
    """Modules applied one after another, as ``torch.nn.Sequential``.

    ``Sequential(a, b, c)(x)`` is ``c(b(a(x)))``. The children are named
    ``'0'``, ``'1'``, ... or, given one ``OrderedDict``, by its keys; the
    state_dict keys follow (``'0.weight'``).

    Parameters
    ----------
    *args : Module, or a single OrderedDict of str to Module

    Examples
    --------
    >>> import retrograd.nn as nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    >>> len(model), type(model[1]).__name__
    (3, 'ReLU')
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, _check_module(module, "Sequential"))
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), _check_module(module, "Sequential"))

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input

    @overload
    def __getitem__(self, idx: slice) -> Sequential: ...
    @overload
    def __getitem__(self, idx: int) -> Module: ...

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        keys = list(self._modules)
        return self._modules[keys[_index(idx, len(keys), "Sequential")]]

    def __setitem__(self, idx: int, module: Module) -> None:
        keys = list(self._modules)
        self._modules[keys[_index(idx, len(keys), "Sequential")]] = _check_module(
            module, "Sequential"
        )

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        if isinstance(idx, slice):
            for key in keys[idx]:
                del self._modules[key]
        else:
            del self._modules[keys[_index(idx, len(keys), "Sequential")]]
        # As PyTorch: renumber, so that the names are 0, 1, 2, ... again.
        items = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end and return self."""
        self.add_module(str(len(self)), _check_module(module, "Sequential.append"))
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append each module of ``modules`` and return self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index`` and return self."""
        _check_module(module, "Sequential.insert")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} modules")
        if index < 0:
            index += n
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m
        return self

    def pop(self, idx: int = -1) -> Module:
        """Remove and return the module at ``idx``."""
        module = self[idx]
        del self[idx]
        return module


class ModuleList(Module):
    """A list of modules whose parameters are registered, as ``torch.nn.ModuleList``.

    Unlike a plain Python list, the modules' parameters appear in
    :meth:`Module.parameters` and the state_dict (as ``'0.weight'``...). It
    has no ``forward``: iterate over it in the owner's ``forward``.

    Parameters
    ----------
    modules : iterable of Module, optional
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: Any) -> Any:
        items = list(self._modules.values())
        if isinstance(idx, slice):
            return type(self)(items[idx])
        return items[_index(idx, len(items), "ModuleList")]

    def __setitem__(self, idx: int, module: Module) -> None:
        i = _index(idx, len(self), "ModuleList")
        self._modules[str(i)] = _check_module(module, "ModuleList")

    def __delitem__(self, idx: int | slice) -> None:
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[_index(idx, len(items), "ModuleList")]
        self._modules.clear()
        for i, m in enumerate(items):  # keep the names 0, 1, 2, ... as PyTorch
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return type(self)([*self, *other])

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end and return self."""
        self.add_module(str(len(self)), _check_module(module, "ModuleList.append"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each module of ``modules`` and return self."""
        return _extend(self, modules, Module, "ModuleList", "modules")

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        items = list(self._modules.values())
        items.insert(index, _check_module(module, "ModuleList.insert"))
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def pop(self, idx: int = -1) -> Module:
        """Remove and return the module at ``idx``."""
        module = self[idx]
        del self[idx]
        return module

    def __repr__(self) -> str:
        # As PyTorch: runs of identical modules print once, as "(0-2): 3 x Linear(...)".
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        blocks: list[list[Any]] = []  # [start, end, repr]
        for i, r in enumerate(reprs):
            if blocks and blocks[-1][2] == r:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        lines = []
        for start, end, r in blocks:
            head = f"({start})" if start == end else f"({start}-{end}): {end - start + 1} x"
            text = f"{head}: {r}" if start == end else f"{head} {r}"
            lines.append(addindent(text, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class _RegistryDict(Module):
    """What ModuleDict and ParameterDict share: a dict view of one of their registries.

    Each names the registry (:meth:`_registry`) and what it holds (``_kind``, for
    messages); writing and ``update``'s order stay each one's own.
    """

    _kind: str

    def _registry(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        try:
            return self._registry()[key]
        except KeyError:
            raise KeyError(
                f"{type(self).__name__} has no {self._kind} {key!r}; keys: {list(self._registry())}"
            ) from None

    def __delitem__(self, key: str) -> None:
        del self._registry()[key]

    def __len__(self) -> int:
        return len(self._registry())

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry())

    def __contains__(self, key: object) -> bool:
        return key in self._registry()

    def keys(self) -> Iterable[str]:
        """The names, in insertion order."""
        return self._registry().keys()

    def items(self) -> Iterable[tuple[str, Any]]:
        """The ``(name, module)`` or ``(name, parameter)`` pairs, in insertion order."""
        return self._registry().items()

    def values(self) -> Iterable[Any]:
        """The modules or parameters, in insertion order."""
        return self._registry().values()

    def pop(self, key: str) -> Any:
        """Remove and return the entry named ``key``."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        """Remove every entry."""
        self._registry().clear()

    def _check_pair(self, j: int, item: Any) -> None:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(
                f"{type(self).__name__}.update: element #{j} should be a (name, {self._kind}) "
                f"pair, got {item!r}"
            )


class ModuleDict(_RegistryDict):
    """A dict of modules whose parameters are registered, as ``torch.nn.ModuleDict``.

    Keeps insertion order. It has no ``forward``.

    Parameters
    ----------
    modules : mapping or iterable of (str, Module) pairs, optional
    """

    _kind = "module"

    def __init__(self, modules: Mapping[str, Module] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _registry(self) -> dict[str, Any]:
        return self._modules

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module, "ModuleDict"))

    def update(self, modules: Mapping[str, Module] | Iterable[Any]) -> None:
        """Add or replace modules from a mapping or an iterable of ``(name, module)`` pairs."""
        if isinstance(modules, Mapping):
            pairs = list(modules.items())
        else:
            pairs = []
            for j, item in enumerate(modules):  # all checked before any is added
                self._check_pair(j, item)
                pairs.append(tuple(item))
        for key, module in pairs:
            self[key] = module


def _as_parameter(value: Any, name: str) -> Any:
    """A Tensor becomes a Parameter sharing its values (as PyTorch's containers do)."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    if value is not None and not isinstance(value, Parameter):
        raise TypeError(f"{name}: expected a Parameter or Tensor, got {type(value).__name__}")
    return value


class ParameterList(Module):
    """A list of parameters registered under ``'0'``, ``'1'``, ..., as ``torch.nn.ParameterList``.

    A plain Tensor added to it becomes a :class:`Parameter` (sharing its values).

    Parameters
    ----------
    values : iterable of Parameter or Tensor, optional
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(_index(idx, len(self), "ParameterList"))]

    def __setitem__(self, idx: int, param: Any) -> None:
        i = _index(idx, len(self), "ParameterList")
        self._parameters[str(i)] = _as_parameter(param, "ParameterList")

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._parameters.values())

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` at the end."""
        self.register_parameter(str(len(self)), _as_parameter(value, "ParameterList"))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Add every element of ``values`` at the end."""
        return _extend(self, values, Tensor, "ParameterList", "parameters")

    def extra_repr(self) -> str:
        return "\n".join(
            f"({k}): Parameter containing: [{type(p).__name__} of size "
            f"{'x'.join(str(n) for n in p.shape)}]"
            for k, p in self._parameters.items()
        )


class ParameterDict(_RegistryDict):
    """A dict of parameters registered under its keys, as ``torch.nn.ParameterDict``.

    Keeps insertion order, except that a plain dict given to the constructor or
    to :meth:`update` is added in sorted key order (as PyTorch does); a plain
    Tensor becomes a :class:`Parameter`.

    Parameters
    ----------
    parameters : mapping or iterable of (str, Parameter) pairs, optional
    """

    _kind = "parameter"

    def __init__(self, parameters: Mapping[str, Any] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _registry(self) -> dict[str, Any]:
        return self._parameters

    def __setitem__(self, key: str, value: Any) -> None:
        self.register_parameter(key, _as_parameter(value, "ParameterDict"))

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter named ``key``, or ``default``."""
        return self._parameters.get(key, default)

    def update(self, parameters: Mapping[str, Any] | Iterable[Any]) -> None:
        """Add or replace parameters from a mapping or an iterable of ``(name, value)`` pairs."""
        if isinstance(parameters, OrderedDict | ParameterDict):
            pairs: Iterable[Any] = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())  # NOTE: PyTorch sorts a plain dict's keys here
        else:
            pairs = parameters
        for j, item in enumerate(pairs):
            self._check_pair(j, item)
            self[item[0]] = item[1]

    def extra_repr(self) -> str:
        return "\n".join(
            f"({k}): Parameter containing: [{type(p).__name__} of size "
            f"{'x'.join(str(n) for n in p.shape)}]"
            for k, p in self._parameters.items()
        )
