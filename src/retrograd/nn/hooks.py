"""Module hooks: run functions around ``forward`` and when a module's gradients are computed.

:class:`~retrograd.nn.Module` keeps its hooks in insertion-ordered dicts and calls
:func:`call_with_hooks` instead of ``forward`` when it has any (a module without
hooks pays one dict lookup per call). Full backward hooks follow PyTorch's
``BackwardHook``: the module's tensor inputs and outputs pass through an identity
:class:`~retrograd.autograd.Function` each, whose backward sees the gradients with
respect to the outputs (``grad_output``) and, later in the walk, to the inputs
(``grad_input``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor

if TYPE_CHECKING:
    from .module import Module

HOOK_DICTS = (
    "_forward_pre_hooks",
    "_forward_hooks",
    "_backward_pre_hooks",
    "_backward_hooks",
)


def init_hooks(d: dict[str, Any]) -> None:
    """Give a new module (its ``__dict__``) empty hook registries."""
    for name in HOOK_DICTS:
        d[name] = OrderedDict()
    d["_forward_hooks_with_kwargs"] = set()
    d["_forward_pre_hooks_with_kwargs"] = set()
    d["_has_hooks"] = False  # what Module.__call__ checks: one lookup when there are none


def update_flag(d: dict[str, Any]) -> None:
    """After a hook was removed: does the module (its ``__dict__``) still have any?"""
    d["_has_hooks"] = any(d[name] for name in HOOK_DICTS)


def call_with_hooks(module: Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``module(*args, **kwargs)`` with its forward (pre-)hooks and full backward hooks."""
    d = module.__dict__
    for key, hook in list(d["_forward_pre_hooks"].items()):
        if key in d["_forward_pre_hooks_with_kwargs"]:
            res = hook(module, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(
                        "forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                        f"but got {res!r}"
                    )
                args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    backward_hook = None
    if (d["_backward_hooks"] or d["_backward_pre_hooks"]) and is_grad_enabled():
        backward_hook = _BackwardHook(module)
        args = backward_hook.wrap_inputs(args)
    result = module.forward(*args, **kwargs)
    for key, hook in list(d["_forward_hooks"].items()):
        if key in d["_forward_hooks_with_kwargs"]:
            res = hook(module, args, kwargs, result)
        else:
            res = hook(module, args, result)
        if res is not None:
            result = res
    if backward_hook is not None:
        result = backward_hook.wrap_outputs(result)
    return result


class _Identity(Function):
    """Pass tensors through unchanged; ``callback(grads)`` sees and may replace their gradients."""

    @staticmethod
    def forward(ctx: Any, callback: Any, *tensors: Tensor) -> Any:
        ctx.callback = callback
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tensors if len(tensors) > 1 else tensors[0]

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        return (None, *ctx.callback(grads))


class _BackwardHook:
    """One call's state for full backward hooks (PyTorch's ``torch.utils.hooks.BackwardHook``)."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.n_inputs = 0
        self.input_index: list[int] | None = None  # positions of the wrapped tensor inputs
        self.n_outputs = 0
        self.output_index: list[int] = []
        self.grad_outputs: tuple[Any, ...] | None = None

    def wrap_inputs(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self.n_inputs = len(args)
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not any(args[i].requires_grad for i in index):
            return args
        self.input_index = index
        wrapped = _as_tuple(_Identity.apply(self._on_grad_input, *[args[i] for i in index]))
        out = list(args)
        for i, t in zip(index, wrapped, strict=True):
            out[i] = t
        return tuple(out)

    def wrap_outputs(self, result: Any) -> Any:
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple):
            return result
        self.n_outputs = len(outs)
        self.output_index = [i for i, o in enumerate(outs) if isinstance(o, Tensor)]
        if not any(outs[i].requires_grad for i in self.output_index):
            return result
        wrapped = _as_tuple(
            _Identity.apply(self._on_grad_output, *[outs[i] for i in self.output_index])
        )
        new = list(outs)
        for i, t in zip(self.output_index, wrapped, strict=True):
            new[i] = t
        return new[0] if single else tuple(new)

    def _on_grad_output(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        d = self.module.__dict__
        grad_outputs = _pack(self.output_index, grads, self.n_outputs)
        grad_outputs = _replacing(self.module, "_backward_pre_hooks", grad_outputs, ())
        self.grad_outputs = grad_outputs
        if self.input_index is None:  # no input needs a gradient: the hooks run now
            grad_inputs = (None,) * self.n_inputs
            for hook in list(d["_backward_hooks"].values()):
                res = hook(self.module, grad_inputs, grad_outputs)
                if res is not None and any(r is not None for r in _as_tuple(res)):
                    raise RuntimeError(
                        f"a backward hook of {type(self.module).__name__}, whose inputs do not "
                        "require grad, must return None or None for every gradient"
                    )
            self.grad_outputs = None
        return tuple(grad_outputs[i] for i in self.output_index)

    def _on_grad_input(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        if self.grad_outputs is None:  # the gradient reached the inputs around the outputs
            return grads
        assert self.input_index is not None
        grad_inputs = _pack(self.input_index, grads, self.n_inputs)
        grad_inputs = _replacing(self.module, "_backward_hooks", grad_inputs, (self.grad_outputs,))
        self.grad_outputs = None
        return tuple(grad_inputs[i] for i in self.input_index)


def _replacing(
    module: Module, registry: str, grads: tuple[Any, ...], extra: tuple[Any, ...]
) -> tuple[Any, ...]:
    """Call each hook as ``hook(module, grads, *extra)``; a non-None return replaces ``grads``."""
    for hook in list(module.__dict__[registry].values()):
        res = hook(module, grads, *extra)
        if res is None:
            continue
        res = _as_tuple(res)
        if len(res) != len(grads):
            raise RuntimeError(
                f"a hook in {type(module).__name__}.{registry} returned {len(res)} "
                f"gradient(s), but expected {len(grads)} (one per "
                f"{'input' if extra else 'output'})"
            )
        grads = res
    return grads


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return x if isinstance(x, tuple) else (x,)


def _pack(index: list[int], values: tuple[Any, ...], n: int) -> tuple[Any, ...]:
    """``n`` slots, ``values`` at the positions ``index``, None elsewhere."""
    out: list[Any] = [None] * n
    for i, v in zip(index, values, strict=True):
        out[i] = v
    return tuple(out)
