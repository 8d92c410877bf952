"""Gradients of gradients: ``autograd.grad``, ``backward(create_graph=True)``.

With ``create_graph=False`` the walk is the array walk of :mod:`.graph`, except that
:func:`grad` returns the gradients instead of accumulating them into ``.grad``.
With ``create_graph=True`` every node's gradient is computed by its
``backward_graph(g)``: the same rule as ``backward``, written with Tensor operations
on Tensors connected to the graph, so that the gradient is itself recorded and
can be differentiated again. A node's saved input becomes, through
:func:`saved_input`, a Tensor whose ``grad_fn`` is that input's producer; its saved
output, through :func:`saved_output`, a Tensor whose ``grad_fn`` is the node itself.

An op without ``backward_graph`` raises under ``create_graph=True``, naming
itself: no op returns a silently wrong second derivative.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._backend import ndarray, xp
from . import hooks as _hooks
from .grad_mode import enable_grad, set_grad_enabled
from .graph import Op, _freed_error, _toposort, check_versions

#: retrograd.tensor.Tensor, in annotations (not imported: see ``_tensor``).
Tensor = Any

#: The Tensor layer (the module ``retrograd.tensor``). It sits above the engine
#: (docs/architecture.md), so this module does not import it: tensor.py hands
#: itself over with :func:`bind_tensor` when it is imported.
_tensor: Any = None


def bind_tensor(module: Any) -> None:
    """Give the walk the Tensor layer (``Tensor``, ``wrap_array``, ``apply_op``, ``where``)."""
    global _tensor
    _tensor = module


# ---------------------------------------------------------------- helpers for backward_graph


def saved_input(node: Op, i: int, array: ndarray) -> Tensor:
    """Input ``i`` of ``node`` (whose values are ``array``) as a Tensor connected to the graph."""
    child = node.next[i]
    if isinstance(child, _tensor.Tensor):  # a leaf: the tensor itself
        return child
    return _tensor.wrap_array(array, requires_grad=child is not None, ctx=child)


def saved_output(node: Op, array: ndarray) -> Tensor:
    """The output of ``node`` (its values ``array``) as a Tensor whose grad_fn is ``node``."""
    return _tensor.wrap_array(array.reshape(node.out_shape), requires_grad=True, ctx=node)


def call(cls: type[Op], *inputs: Tensor, **params: Any) -> Tensor:
    """Apply an engine op to Tensors (``apply_op``)."""
    return _tensor.apply_op(cls, *inputs, **params)


def const(array: Any, like: Tensor) -> Tensor:
    """A constant Tensor (no gradient) holding ``array`` in ``like``'s dtype."""
    return _tensor.wrap_array(xp.asarray(array, dtype=like.array.dtype))


def where(cond: ndarray, a: Tensor | float, b: Tensor | float) -> Tensor:
    """``where`` with a constant condition array, recorded."""
    return _tensor.where(_tensor.wrap_array(xp.asarray(cond, dtype=bool)), a, b)


def by_recompute(node: Op, arrays: Sequence[ndarray], composed: Any, g: Tensor) -> tuple[Any, ...]:
    """A fused op's gradients, recorded: differentiate ``composed``, its forward in Tensor ops.

    ``arrays`` are the node's inputs; each one that needs a gradient enters ``composed``
    through an identity node, where the walk stops, so the gradients returned stay
    connected to the inputs' own graph.
    """
    ins = [saved_input(node, i, a) for i, a in enumerate(arrays)]
    ids = [t.reshape(t.shape) if need else t for t, need in zip(ins, node.needs, strict=True)]
    targets = [t for t, need in zip(ids, node.needs, strict=True) if need]
    got = walk([(composed(*ids), g)], True, True, targets, stop=True)
    k = iter(range(len(targets)))
    return tuple(got.get(next(k)) if need else None for need in node.needs)


def unsupported(node: Op) -> RuntimeError:
    return RuntimeError(
        f"{node.name}: second derivatives are not supported for this op: backward with "
        "create_graph=True cannot record its gradient. Compose the computation from "
        "elementwise ops, or use create_graph=False."
    )


# ---------------------------------------------------------------- the walk


class _Roots:
    """A virtual node whose inputs are the nodes of several outputs (for _toposort)."""

    __slots__ = ("next",)

    def __init__(self, nodes: list[Op]) -> None:
        self.next = tuple(nodes)


def _node_grads(node: Op, g: Any, create_graph: bool) -> tuple[Any, ...]:
    if not create_graph:
        return node.backward(g)
    rule = getattr(node, "backward_graph", None)
    if rule is None:
        raise unsupported(node)
    with enable_grad():
        return rule(g)


def _add(prev: Any, g: Any) -> Any:
    return g if prev is None else prev + g  # out of place: g may be shared


def walk(
    seeds: list[tuple[Tensor, Any]],
    retain_graph: bool,
    create_graph: bool,
    targets: Sequence[Tensor] | None,
    stop: bool = False,
) -> dict[int, Any]:
    """Propagate each ``(output, gradient)`` seed back through the graph.

    Returns the total gradient of every target (by position in ``targets``; every
    leaf reached, by ``id``, when ``targets`` is None); with ``stop``, nothing flows past
    a target. Gradients are arrays, or
    Tensors recorded on the graph when ``create_graph``. Nothing is written to ``.grad``.
    """
    by_node: dict[Op, int] = {}
    by_leaf: dict[int, int] = {}
    if targets is not None:
        for k, t in enumerate(targets):
            if t._ctx is not None:
                by_node[t._ctx] = k
            else:
                by_leaf[id(t)] = k
    out: dict[int, Any] = {}
    leaves: dict[int, Tensor] = {}
    grads: dict[Op, Any] = {}
    roots = []
    for t, g in seeds:
        if t._ctx is None:
            key = by_leaf.get(id(t)) if targets is not None else id(t)
            if key is not None:
                out[key] = _add(out.get(key), g)
                leaves[id(t)] = t
            continue
        if t._ctx.freed:
            raise _freed_error(t._ctx)
        grads[t._ctx] = _add(grads.get(t._ctx), g)
        roots.append(t._ctx)
    order = _toposort(_Roots(roots))[1:]  # type: ignore[arg-type]
    with set_grad_enabled(create_graph):
        for node in order:
            g = grads.pop(node, None)
            if g is None:
                continue
            if node.freed:
                raise _freed_error(node)
            if node.saved_versions is not None:  # a saved tensor changed in place: raise
                check_versions(node)
            if node.hooks:  # refused rather than skipped: a hook must never be ignored
                raise _hooks_unsupported(f"the output of {node.name}")
            if targets is None and node.retained is not None:  # retain_grad() in backward()
                t = node.retained()
                if t is not None:
                    out[id(t)] = _add(out.get(id(t)), g)
                    leaves[id(t)] = t
            k = by_node.get(node)
            if k is not None:
                out[k] = _add(out.get(k), g)
                if stop:
                    continue
            in_grads = _node_grads(node, g, create_graph)
            if not retain_graph:
                node.release()
            for child, ig in zip(node.next, in_grads, strict=True):
                if child is None or ig is None:
                    continue
                shape = child.out_shape if isinstance(child, Op) else child.array.shape
                dtype = child.out_dtype if isinstance(child, Op) else child.array.dtype
                if ig.shape != shape:
                    raise RuntimeError(
                        f"{node.name} returned a gradient of shape {ig.shape} for an input "
                        f"of shape {shape}"
                    )
                if ig.dtype != dtype:
                    ig = ig.to(dtype) if isinstance(ig, _tensor.Tensor) else ig.astype(dtype)
                if isinstance(child, Op):
                    grads[child] = _add(grads.get(child), ig)
                    continue
                key = by_leaf.get(id(child)) if targets is not None else id(child)
                if id(child) in _hooks.HOOKED_LEAVES:
                    raise _hooks_unsupported(f"a leaf of shape {tuple(child.shape)}")
                if key is not None:
                    out[key] = _add(out.get(key), ig)
                    leaves[id(child)] = child
    if targets is None:
        return {k: (leaves[k], g) for k, g in out.items()}
    return out


# ---------------------------------------------------------------- public API


def _as_list(x: Any) -> list[Any]:
    return [x] if isinstance(x, _tensor.Tensor) else list(x)


def _seeds(
    outputs: list[Tensor], grad_outputs: list[Any], create_graph: bool, op: str
) -> list[tuple[Tensor, Any]]:
    """Pair each output with its gradient: a Tensor under create_graph, else an array."""
    seeds = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs, strict=True)):
        if not isinstance(o, _tensor.Tensor) or not o.requires_grad:
            raise RuntimeError(
                f"{op}: element {i} of outputs does not require grad and has no grad_fn"
            )
        if g is None:
            if o.array.size != 1:
                raise RuntimeError(
                    f"{op}: grad can be implicitly created only for scalar outputs, but output "
                    f"{i} has shape {o.shape}; pass grad_outputs of that shape"
                )
            g = xp.ones(o.array.shape, dtype=o.array.dtype)
        if isinstance(g, _tensor.Tensor):
            if g.shape != o.shape:
                raise RuntimeError(
                    f"{op}: grad_outputs[{i}] has shape {g.shape}, but output {i} has shape "
                    f"{o.shape}; they must match"
                )
            g = g.to(o.dtype) if create_graph else g.array.astype(o.array.dtype, copy=False)
        else:
            g = xp.asarray(g, dtype=o.array.dtype)
            if g.shape != o.array.shape:
                raise RuntimeError(
                    f"{op}: grad_outputs[{i}] has shape {g.shape}, but output {i} has shape "
                    f"{o.shape}; they must match"
                )
            if create_graph:
                g = _tensor.wrap_array(g)
        seeds.append((o, g))
    return seeds


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return the gradients of ``outputs`` with respect to ``inputs`` (PyTorch's).

    Nothing is accumulated into ``.grad``.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor
        The differentiated tensors.
    inputs : Tensor or sequence of Tensor
        The tensors to differentiate with respect to (leaves or not).
    grad_outputs : Tensor, array-like or sequence of them, optional
        The gradient of some scalar with respect to each output; may be omitted
        (or None) for outputs with one element.
    retain_graph : bool, optional
        Keep the graph for another backward; defaults to ``create_graph``.
    create_graph : bool, default=False
        Record the backward pass, so that the returned gradients require grad and
        can be differentiated again.
    allow_unused : bool, default=False
        Return None for an input that the outputs do not depend on, instead of raising.

    Returns
    -------
    tuple of Tensor or None
        One gradient per input, of that input's shape.
    """
    outs, ins = _as_list(outputs), _as_list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (_tensor.Tensor, ndarray)):
        gouts = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    else:
        gouts = list(grad_outputs)
    if len(gouts) != len(outs):
        raise ValueError(f"grad(): grad_outputs has {len(gouts)} entries for {len(outs)} outputs")
    for i, t in enumerate(ins):
        if not isinstance(t, _tensor.Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad(): input {i} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    got = walk(_seeds(outs, gouts, create_graph, "grad()"), retain_graph, create_graph, ins)
    result: list[Tensor | None] = []
    for i, t in enumerate(ins):
        g = got.get(i)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad(): input {i} (shape {t.shape}) was not used in the graph of the "
                    "outputs; pass allow_unused=True to get None for it"
                )
            result.append(None)
        elif isinstance(g, _tensor.Tensor):
            result.append(g)
        else:
            result.append(_tensor.wrap_array(g.copy()))
    return tuple(result)


def backward(
    tensor: Tensor,
    gradient: Any,
    retain_graph: bool | None,
    create_graph: bool,
    inputs: Any,
) -> None:
    """``Tensor.backward`` with ``create_graph`` or ``inputs``: accumulate into ``.grad``."""
    if retain_graph is None:
        retain_graph = create_graph
    targets = None if inputs is None else _as_list(inputs)
    if targets is not None and not targets:
        raise RuntimeError("backward(): inputs= was given but is empty")
    (seed,) = _seeds([tensor], [gradient], create_graph, "backward()")
    got = walk([seed], retain_graph, create_graph, targets)
    pairs = got.values() if targets is None else ((targets[k], g) for k, g in got.items())
    for t, g in pairs:
        if not isinstance(g, _tensor.Tensor):
            g = _tensor.wrap_array(g.copy())
        t.grad = g if t.grad is None else t.grad + g


def _hooks_unsupported(where: str) -> RuntimeError:
    return RuntimeError(
        f"a tensor hook is registered on {where}, and hooks do not run in "
        "backward(create_graph=True), backward(inputs=...) or autograd.grad() yet; "
        "remove the hook (handle.remove()) or use a plain backward()"
    )
