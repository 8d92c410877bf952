"""Custom differentiable operations with PyTorch's API: subclass :class:`Function`.

>>> class Exp(retrograd.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         y = x.exp()
...         ctx.save_for_backward(y)
...         return y
...     @staticmethod
...     def backward(ctx, grad):
...         (y,) = ctx.saved_tensors
...         return grad * y
>>> y = Exp.apply(x)                                      # doctest: +SKIP

``apply`` runs ``forward`` without recording (as under ``no_grad``) and, when an
input needs a gradient, records one node, a :class:`BackwardCFunction`: it is
both the ``ctx`` that ``forward`` and ``backward`` receive and the outputs'
``grad_fn``. A Function with several outputs gets one small :class:`_Output` node
per output in front of it, so the engine (one gradient per node) can tell the
outputs' gradients apart; they reach ``backward`` together.

Interface with the engine's ``create_graph`` mode: a node whose incoming
gradient is a Tensor (rather than an array) runs the user's ``backward`` under
``enable_grad`` and returns Tensors, so a backward written with Tensor ops is
itself recorded; with arrays (first-order) it runs under ``no_grad`` and returns
arrays. See :meth:`BackwardCFunction.backward`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .._backend import FLOAT_DTYPES, xp
from . import anomaly_mode, hooks
from .grad_mode import _GradMode, no_grad, set_grad_enabled
from .graph import Op
from .hooks import NodeName
from .versions import counter

_new = object.__new__


class FunctionCtx:
    """What ``forward``/``setup_context`` and ``backward`` receive as ``ctx``.

    Besides the methods below, ``ctx`` takes any attribute (``ctx.k = 3``) to pass
    non-tensor values from ``forward`` to ``backward``.

    Attributes
    ----------
    needs_input_grad : tuple of bool
        For each argument of ``apply``: whether it is a Tensor that requires grad.
    """

    needs_input_grad: tuple[bool, ...]

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (or None) for ``backward``, which reads them as ``ctx.saved_tensors``."""
        tensor_cls = hooks.TENSOR.Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, tensor_cls):
                raise TypeError(
                    "save_for_backward can only save tensors or None, but argument "
                    f"{i} is of type {type(t).__name__}; store other values as ctx attributes"
                )
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The tensors given to :meth:`save_for_backward`, in order."""
        if getattr(self, "freed", False):
            raise RuntimeError(
                "Trying to backward through the graph a second time (or to read "
                "saved_tensors after they were freed); pass retain_graph=True to the first "
                "backward() call if you need to backward through the same graph twice."
            )
        saved = self.__dict__.get("to_save", ())
        versions = self.__dict__.get("saved_versions_of", None)
        if versions is not None:
            _check_saved_versions(self, saved, versions)  # type: ignore[arg-type]
        return saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Mark outputs no gradient flows through (indices, masks): they do not require grad."""
        self.non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` gets zeros (True, default) or None for outputs without gradient."""
        self.materialize_grads = bool(value)


class Function:
    """Base class of custom autograd operations, as ``torch.autograd.Function``.

    Subclasses define two static methods and are used through :meth:`apply`:

    - ``forward(ctx, *args)`` computes the outputs (a Tensor or a tuple) from
      Tensors and other arguments; it runs without recording. Alternatively
      ``forward(*args)`` together with ``setup_context(ctx, inputs, output)``.
    - ``backward(ctx, *grad_outputs)`` gets one gradient per output and returns
      one gradient per argument of ``forward``: a Tensor of that input's shape,
      or None (always None for arguments that are not Tensors).

    Examples
    --------
    >>> class MulConstant(retrograd.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x, k):
    ...         ctx.k = k
    ...         return x * k
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         return grad * ctx.k, None
    >>> x = retrograd.tensor([1.0, 2.0], requires_grad=True)
    >>> MulConstant.apply(x, 3.0).sum().backward()
    >>> x.grad
    tensor([3., 3.])
    """

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """Compute the outputs; every subclass must implement it."""
        raise NotImplementedError("a Function subclass must implement forward as a staticmethod")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        """Save what backward needs when ``forward`` does not take ``ctx`` (optional)."""
        raise NotImplementedError("setup_context is not implemented")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        """Return one gradient per forward argument; every subclass must implement it."""
        raise NotImplementedError("a Function subclass must implement backward as a staticmethod")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            f"{type(self).__name__}: custom Functions are not instantiated; use "
            f"{type(self).__name__}.apply(...) with static forward and backward methods"
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and record the node whose backward is ``cls.backward``."""
        tensor_cls = hooks.TENSOR.Tensor
        node = _new(BackwardCFunction)
        node.fn_cls = cls
        is_tensor = tuple([isinstance(a, tensor_cls) for a in args])
        needs = tuple([t and a._requires_grad for t, a in zip(is_tensor, args, strict=True)])
        node.is_tensor = is_tensor
        node.needs_input_grad = needs
        with no_grad():
            if cls.setup_context is Function.setup_context:
                out = cls.forward(node, *args, **kwargs)
            else:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(node, args, out)
        if not (_GradMode.enabled and True in needs):
            return out
        node.needs = needs
        node.next = tuple([a._ctx or a if n else None for a, n in zip(args, needs, strict=True)])
        if _GradMode.anomaly:
            anomaly_mode.record(node)
        if node.__dict__.get("to_save"):
            _note_saved_versions(node, args, out)
        return _connect(node, out)


def _note_saved_versions(node: BackwardCFunction, args: tuple[Any, ...], out: Any) -> None:
    """Note each saved tensor's version counter and version, and what it is to ``node``.

    ``ctx.saved_tensors`` compares them, and raises PyTorch's error for a saved tensor
    changed in place since ``forward`` (as the engine's own ops do, see ops/saved.py).
    """
    outs = out if isinstance(out, tuple) else (out,)
    notes = []
    for t in node.to_save:
        if t is None:
            notes.append(None)
            continue
        what = next((f"input {i}" for i, a in enumerate(args) if a is t), None)
        if what is None:
            what = next((f"output {i}" for i, o in enumerate(outs) if o is t), "a tensor saved")
        vc = counter(t)
        notes.append((vc, vc[0], what))
    node.saved_versions_of = notes


def _check_saved_versions(node: BackwardCFunction, saved: tuple[Any, ...], notes: list) -> None:
    for t, note in zip(saved, notes, strict=True):
        if note is None or note[0][0] == note[1]:
            continue
        vc, v, what = note
        if t._ctx is not None and what.startswith("input"):
            what = f"output 0 of {t._ctx.name} and {what}"
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{t.dtype} {list(t.shape)}], which is {what} of {node.name} "
            f"(saved by ctx.save_for_backward), is at version {vc[0]}; expected version {v} "
            "instead. Hint: clone() the tensor before changing it in place, or do the "
            "in-place change after backward()."
        )


def _connect(node: BackwardCFunction, out: Any) -> Any:
    """Return ``forward``'s outputs as new tensors whose ``grad_fn`` is ``node``."""
    tensor_cls, wrap_array = hooks.TENSOR.Tensor, hooks.TENSOR.wrap_array
    outs = out if isinstance(out, tuple) else (out,)
    skip = node.__dict__.get("non_differentiable", ())
    node.out_meta = [(o.shape, o.dtype) if isinstance(o, tensor_cls) else None for o in outs]
    differentiable = [
        isinstance(o, tensor_cls) and id(o) not in skip and o.dtype in FLOAT_DTYPES for o in outs
    ]
    # NOTE: as in PyTorch, backward gets zeros for non-differentiable tensor outputs, always
    node.zero_outputs = [
        i for i, o in enumerate(outs) if isinstance(o, tensor_cls) and id(o) in skip
    ]
    if not isinstance(out, tuple):
        if not differentiable[0]:
            return out
        node.out_shape, node.out_dtype = out.shape, out.dtype
        return _same_version(wrap_array(out.array, requires_grad=True, ctx=node), out)
    node.out_shape = node.out_dtype = _Grads.shape
    results = []
    for i, (o, d) in enumerate(zip(outs, differentiable, strict=True)):
        if not d:
            is_tensor = isinstance(o, tensor_cls)
            results.append(_same_version(wrap_array(o.array), o) if is_tensor else o)
            continue
        sel = _new(_Output)
        sel.index, sel.count, sel.main = i, len(outs), node
        sel.needs, sel.next = (True,), (node,)
        sel.out_shape, sel.out_dtype = o.shape, o.dtype
        results.append(_same_version(wrap_array(o.array, requires_grad=True, ctx=sel), o))
    return tuple(results)


def _same_version(result: Any, out: Any) -> Any:
    """Give an output the version counter of the tensor ``forward`` returned, if it has one.

    ``forward``'s tensor may have been saved: an in-place change to the output must show.
    """
    vc = getattr(out, "_vc", None)
    if vc is not None:
        result._vc = vc
    return result


class BackwardCFunction(FunctionCtx, Op):
    """The recorded node of one :meth:`Function.apply` call; also its ``ctx``."""

    __slots__ = ("fn_cls",)  # a slot: release() keeps it, so the name outlives backward
    fn_cls: type[Function]
    materialize_grads = True

    @property
    def name(self) -> str:
        return NodeName(f"{self.fn_cls.__name__}Backward")

    def backward(self, grad: Any) -> tuple[Any, ...]:
        """Call the user's ``backward`` with one gradient per output.

        ``grad`` is an array, or a Tensor when the engine records the backward pass
        (create_graph); a Function with several outputs gets a :class:`_Grads`.
        The user's backward runs under ``enable_grad`` exactly when Tensors came in,
        and gradients go back in the same form.
        """
        tensor_cls, wrap_array = hooks.TENSOR.Tensor, hooks.TENSOR.wrap_array
        grads = list(grad.items) if isinstance(grad, _Grads) else [grad]
        create_graph = any(isinstance(g, tensor_cls) for g in grads)
        for i, g in enumerate(grads):
            if g is None:
                meta = self.out_meta[i]
                if meta is not None and (self.materialize_grads or i in self.zero_outputs):
                    grads[i] = wrap_array(xp.zeros(meta[0], dtype=meta[1]))
            elif not isinstance(g, tensor_cls):
                grads[i] = wrap_array(g)
        with set_grad_enabled(create_graph):
            result = self.fn_cls.backward(self, *grads)
        return self._check(result if isinstance(result, tuple) else (result,), create_graph)

    def _check(self, result: tuple[Any, ...], create_graph: bool) -> tuple[Any, ...]:
        tensor_cls = hooks.TENSOR.Tensor
        n = len(self.needs)
        if len(result) > n and all(r is None for r in result[n:]):
            result = result[:n]  # PyTorch accepts extra Nones
        if len(result) != n:
            raise RuntimeError(
                f"function {self.name} returned an incorrect number of gradients "
                f"(expected {n}, got {len(result)})"
            )
        out = []
        for i, r in enumerate(result):
            if r is not None and not self.is_tensor[i]:
                raise RuntimeError(
                    f"function {self.name} returned a gradient different than None at "
                    f"position {i + 1}, but the corresponding forward input was not a Tensor"
                )
            if r is None or not self.needs[i]:
                out.append(None)
                continue
            if not isinstance(r, tensor_cls):
                raise TypeError(
                    f"function {self.name} returned a {type(r).__name__} as the gradient at "
                    f"position {i + 1}; expected a Tensor or None"
                )
            # NOTE: copied, as PyTorch clones a gradient others hold: the user's backward may
            # return a saved tensor, and a leaf's .grad is later added to in place
            out.append(r if create_graph else r.array.copy())
        return tuple(out)

    # The create_graph walk (branch `higher`) calls ``backward_graph(g)`` with a Tensor
    # gradient under enable_grad; ``backward`` already answers Tensors with Tensors.
    backward_graph = backward


class _Grads:
    """The gradients of a several-output Function's outputs, one slot each (None: none yet).

    The engine checks a gradient's ``shape`` and ``dtype`` against the node's and sums
    two gradients of one node with ``+``; this class answers both for the whole tuple.
    """

    __slots__ = ("items",)
    shape = dtype = "the outputs of a custom Function"

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __add__(self, other: _Grads) -> _Grads:
        return _Grads(
            [
                a if b is None else b if a is None else a + b
                for a, b in zip(self.items, other.items, strict=True)
            ]
        )


class _Output(Op):
    """Output ``index`` of a several-output Function: sends its gradient into that slot."""

    __slots__ = ("count", "index", "main")
    index: int
    count: int
    main: BackwardCFunction

    @property
    def name(self) -> str:
        return self.main.name

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        return self.main.next_functions

    def backward(self, grad: Any) -> tuple[_Grads]:
        items = [None] * self.count
        items[self.index] = grad
        return (_Grads(items),)

    backward_graph = backward  # Tensor or array alike


def once_differentiable(backward: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a Function's ``backward`` that is not itself differentiable.

    It then always runs without recording, even when the engine records the
    backward pass (create_graph), so a gradient of it is zero rather than wrong.
    """

    @functools.wraps(backward)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        with no_grad():
            return backward(ctx, *[g.detach() if g is not None else None for g in grads])

    return wrapper
