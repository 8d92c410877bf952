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


def _into_grad(t: Tensor, g: Any) -> None:
    """Add ``g`` to ``t.grad`` (PyTorch's AccumulateGrad): a recorded clone under create_graph."""
    if isinstance(g, _tensor.Tensor):
        # NOTE: cloned, as PyTorch does with grad mode on: g may be another tensor's gradient
        t.grad = g.clone() if t.grad is None else t.grad + g
    else:
        t._accumulate_grad(g, g_is_shared=True)


def _plan(
    roots: list[Op],
    seed_leaves: list[Tensor],
    by_node: dict[Op, list[int]],
    by_leaf: dict[int, list[int]] | None,
) -> tuple[list[Any], set[Op]]:
    """The walk's order, and the nodes whose backward runs.

    Only nodes that lead to a target run (every node when ``by_leaf`` is None: every
    leaf is a target), as in PyTorch, so hooks on other paths do not fire. Each
    target leaf gets an entry of its own right after the last node that feeds it, where
    its hooks run once on the sum of its gradients (PyTorch's ``AccumulateGrad``).
    """
    nodes = _toposort(_Roots(roots))[1:]  # type: ignore[arg-type]
    if by_leaf is None:
        run = set(nodes)
    else:
        run = set()
        for node in reversed(nodes):  # each node after the nodes it feeds
            for child in node.next:
                if isinstance(child, Op):
                    if child in run or child in by_node:
                        run.add(node)
                        break
                elif child is not None and id(child) in by_leaf:
                    run.add(node)
                    break
    last: dict[Tensor, int] = {t: -1 for t in seed_leaves}
    for i, node in enumerate(nodes):
        if node in run:
            for child in node.next:
                if child is not None and not isinstance(child, Op):
                    if by_leaf is None or id(child) in by_leaf:
                        last[child] = i
    order: list[Any] = [n for n in nodes if n in run or n in by_node]
    position = {n: i for i, n in enumerate(order)}
    for leaf, i in sorted(last.items(), key=lambda kv: -kv[1]):
        order.insert(0 if i < 0 else position[nodes[i]] + 1, leaf)
    return order, run


def walk(
    seeds: list[tuple[Tensor, Any]],
    retain_graph: bool,
    create_graph: bool,
    targets: Sequence[Tensor] | None,
    accumulate: bool = False,
    stop: bool = False,
) -> dict[int, Any]:
    """Propagate each ``(output, gradient)`` seed back through the graph, running hooks.

    Without ``accumulate`` (``autograd.grad``), returns the total gradient of each target
    by position in ``targets``, and writes no leaf's ``.grad``. With ``accumulate``
    (``backward``), adds the gradients to the ``.grad`` of the targets (of every leaf
    reached when ``targets`` is None), runs post-accumulate hooks, and returns ``{}``.
    Tensor hooks run on the way, and ``retain_grad`` tensors keep their gradient, as in
    PyTorch. With ``stop``, nothing flows past a target. Gradients are arrays, or
    Tensors recorded on the graph when ``create_graph``.
    """
    by_node: dict[Op, list[int]] = {}
    by_leaf: dict[int, list[int]] | None = None
    if targets is not None:
        by_leaf = {}
        for k, t in enumerate(targets):
            if t._ctx is not None:
                by_node.setdefault(t._ctx, []).append(k)
            else:
                by_leaf.setdefault(id(t), []).append(k)
    out: dict[int, Any] = {}
    grads: dict[Any, Any] = {}  # node or leaf tensor -> its gradient so far
    roots: list[Op] = []
    seed_leaves: list[Tensor] = []
    for t, g in seeds:
        node = t._ctx
        if node is None:
            if by_leaf is not None and id(t) not in by_leaf:
                continue
            seed_leaves.append(t)
            grads[t] = _add(grads.get(t), g)
            continue
        if node.freed:
            raise _freed_error(node)
        grads[node] = _add(grads.get(node), g)
        roots.append(node)
    order, run = _plan(roots, seed_leaves, by_node, by_leaf)
    with set_grad_enabled(create_graph):
        for item in order:
            g = grads.pop(item, None)
            if g is None:  # a branch that received no gradient
                continue
            if not isinstance(item, Op):  # a target leaf: all its gradients are in
                _leaf(item, g, accumulate, by_leaf, out)
                continue
            node = item
            if node.freed:
                raise _freed_error(node)
            if node.saved_versions is not None:  # a saved tensor changed in place: raise
                check_versions(node)
            runs = node in run and not (stop and node in by_node)
            captured = by_node.get(node, ())
            # NOTE: PyTorch's engine captures a non-leaf target's gradient for grad()
            # before the tensor's hooks when its node runs on, after them when it does not.
            if captured and runs and not accumulate:
                for k in captured:
                    out[k] = _add(out.get(k), g)
                captured = ()
            if node.hooks is not None:
                g = _hooks.run_tensor_hooks(node, g)
            kept = node.retained() if node.retained is not None else None
            if kept is not None:
                _into_grad(kept, g)
            for k in captured:
                if not accumulate:
                    out[k] = _add(out.get(k), g)
                elif targets[k] is not kept:  # type: ignore[index]
                    _into_grad(targets[k], g)  # type: ignore[index]
            if not runs:
                continue
            in_grads = _node_grads(node, g, create_graph)
            if not retain_graph:
                node.release()
            for child, ig in zip(node.next, in_grads, strict=True):
                if child is None or ig is None:
                    continue
                if isinstance(child, Op):
                    if child in run or child in by_node:
                        grads[child] = _add(grads.get(child), _checked(node, child, ig))
                elif by_leaf is None or id(child) in by_leaf:
                    grads[child] = _add(grads.get(child), _checked(node, child, ig))
    return out


def _checked(node: Op, child: Any, ig: Any) -> Any:
    """``node``'s gradient for its input ``child``, checked for shape and cast to its dtype."""
    shape = child.out_shape if isinstance(child, Op) else child.array.shape
    dtype = child.out_dtype if isinstance(child, Op) else child.array.dtype
    if ig.shape != shape:
        raise RuntimeError(
            f"{node.name} returned a gradient of shape {ig.shape} for an input of shape {shape}"
        )
    if ig.dtype != dtype:
        ig = ig.to(dtype) if isinstance(ig, _tensor.Tensor) else ig.astype(dtype)
    return ig


def _leaf(
    t: Tensor, g: Any, accumulate: bool, by_leaf: dict[int, list[int]] | None, out: dict[int, Any]
) -> None:
    """A target leaf's total gradient: its hooks, then ``.grad`` (backward) or the result (grad)."""
    hooks = _hooks.leaf_hooks_of(t)
    if hooks is not None and hooks.pre:
        g = _hooks.call_hooks(hooks.pre, g, f"a leaf of shape {tuple(t.shape)}")
    if not accumulate:
        for k in by_leaf[id(t)]:  # type: ignore[index]
            out[k] = _add(out.get(k), g)
        return
    _into_grad(t, g)
    if hooks is not None:
        for hook in list(hooks.post.values()):
            hook(t)


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
    seeds = _seeds(outs, gouts, create_graph, "grad()")
    with _hooks.backward_pass():  # queue_callback() works in it, as in PyTorch
        got = walk(seeds, retain_graph, create_graph, ins)
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
    with _hooks.backward_pass():
        walk([seed], retain_graph, create_graph, targets, accumulate=True)
