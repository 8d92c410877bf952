"""Reverse-mode automatic differentiation: the graph record and the backward walk.

A :class:`Op` is one node of the recorded graph. Its ``forward`` maps input
arrays to an output array and saves what the gradient needs; its ``backward`` maps
the output's gradient to one gradient per input (``None`` for an input that needs
none). The node never references its own output tensor, so a tensor and the
record of its creation form no reference cycle; the graph lives exactly as long
as the tensors that reach it.
"""

from __future__ import annotations

import weakref
from typing import Any

from .._backend import ndarray


class Op:
    """One recorded operation: ``forward`` on arrays, ``backward`` beside it.

    Subclasses set op parameters as attributes (given to ``apply`` as keywords),
    save what ``backward`` needs on ``self`` during ``forward``, and return from
    ``backward`` a tuple with one entry per input: an array of that input's shape,
    or ``None`` where ``self.needs[i]`` is False or the input is not
    differentiable.

    Attributes set by the engine
    ----------------------------
    next : tuple
        For each input, the node that made it (a :class:`Op`), the leaf
        tensor itself, or None when the input needs no gradient.
    needs : tuple of bool
        Whether each input needs a gradient.
    out_shape, out_dtype
        The output's shape and dtype: the gradient this node receives must match.
    """

    __slots__ = ("__dict__", "needs", "next", "out_dtype", "out_shape")
    retained: Any = None  # a weak reference to the output after retain_grad()
    hooks: Any = None  # the output tensor's gradient hooks, after register_hook()
    freed = False  # True once backward has released the saved arrays
    saved_versions: Any = None  # per saved tensor, see check_versions (ops/saved.py)
    # What the op saves for backward, set per class by ops/saved.py: None when nothing
    # (Add, Sum, ...), () when not listed (its arrays are scanned when it is recorded).
    saves: Any = ()

    def forward(self, *args: ndarray) -> ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, grad: ndarray) -> tuple[ndarray | None, ...]:
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    @property
    def name(self) -> str:
        """The node's name as PyTorch prints it, e.g. ``AddBackward0`` (also ``name()``)."""
        return _hooks.NodeName(f"{type(self).__name__}Backward0")

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """PyTorch's ``(node, input_nr)`` per input: an :class:`AccumulateGrad` for a leaf."""
        return _hooks.next_functions(self)

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def input_shape(self, i: int) -> tuple[int, ...]:
        """The shape of input ``i``, for an input that needs a gradient (``needs[i]``)."""
        child = self.next[i]
        return child.out_shape if isinstance(child, Op) else child.array.shape

    def release(self) -> None:
        """Drop every array saved for backward."""
        self.__dict__.clear()
        self.freed = True


def _toposort(root: Op) -> list[Op]:
    """Nodes reachable from ``root``, each after every node that consumes it.

    Iterative depth-first search: no recursion, so graphs of any depth work.
    Nodes are hashed by identity (Op defines no ``__eq__``).
    """
    order = []
    seen = {root}
    stack = [(root, iter(root.next))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if isinstance(child, Op) and child not in seen:
                seen.add(child)
                stack.append((child, iter(child.next)))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def _freed_error(node: Op) -> RuntimeError:
    return RuntimeError(
        f"Trying to backward through the graph a second time (at {node.name}): its saved "
        "arrays were freed by the first backward(). Pass retain_graph=True to the first "
        "backward() call if you need to backward through the same graph twice."
    )


def run_backward(root: Op, grad: ndarray, retain_graph: bool) -> None:
    """Propagate ``grad`` (the gradient of the root node's output) to every leaf.

    Intermediate gradients live in a local dict and are popped as they are used;
    only leaves (and tensors that called ``retain_grad``) keep a ``.grad``.
    """
    if root.freed:
        raise _freed_error(root)
    _hooks.PASSES.append([])  # where queue_callback() puts what runs at the end of the pass
    try:
        _walk(root, grad, retain_graph)
        if _hooks.PASSES[-1]:
            _hooks.run_callbacks()
    finally:
        _hooks.PASSES.pop()


def _walk(root: Op, grad: ndarray, retain_graph: bool) -> None:
    order = _toposort(root)
    grads: dict[Op, ndarray] = {root: grad}
    if _hooks.HOOKED_LEAVES:  # leaves with hooks get an AccumulateGrad node of their own
        _hooks.plan_leaf_nodes(order, grads)
    for node in order:
        g = grads.pop(node, None)
        if g is None:  # a branch that received no gradient
            continue
        if node.freed:
            raise _freed_error(node)
        if node.saved_versions is not None:
            check_versions(node)
        if node.hooks is not None:
            g = _hooks.run_tensor_hooks(node, g)
        if node.retained is not None:
            t = node.retained()
            if t is not None:
                t._accumulate_grad(g, g_is_shared=True)
        in_grads = node.backward(g)
        if not retain_graph:
            node.release()
        for child, ig in zip(node.next, in_grads, strict=True):
            if child is not None and ig is not None:
                _pass_gradient(node, child, ig, ig is g, grads)


def check_versions(node: Op) -> None:
    """Raise PyTorch's error when a tensor ``node`` saved was changed in place since.

    ``node.saved_versions`` is written by ``versions.save_versions`` when the op is recorded:
    (counter, version, the tensor or None for the output, input index or -1) per tensor.
    """
    for vc, v, t, i in node.saved_versions:
        if vc[0] != v:
            if t is None:
                shape, dtype, what = node.out_shape, node.out_dtype, f"output 0 of {node.name}"
            else:
                shape, dtype, what = t.array.shape, t.array.dtype, f"input {i} of {node.name}"
                if t._ctx is not None:
                    what = f"output 0 of {t._ctx.name} and {what}"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: [{dtype} {list(shape)}], which is {what}, is at version "
                f"{vc[0]}; expected version {v} instead. Hint: clone() the tensor before "
                "changing it in place, or do the in-place change after backward()."
            )


def _pass_gradient(
    node: Op, child: Any, ig: ndarray, is_shared: bool, grads: dict[Op, ndarray]
) -> None:
    """Add ``node``'s gradient ``ig`` for input ``child`` to that input's total.

    A node's total waits in ``grads`` until the walk reaches it; a leaf (a Tensor)
    accumulates into its ``.grad`` at once. ``is_shared``: ``ig`` is the array the node
    received, which other nodes may hold too.
    """
    if isinstance(child, Op):
        if ig.shape != child.out_shape:
            raise _shape_error(node, ig, child.out_shape)
        if ig.dtype != child.out_dtype:
            ig = ig.astype(child.out_dtype)
        prev = grads.get(child)
        grads[child] = ig if prev is None else prev + ig  # out of place: ig may be shared
        return
    data = child.array
    if ig.shape != data.shape:
        raise _shape_error(node, ig, data.shape)
    if ig.dtype != data.dtype:
        ig = ig.astype(data.dtype)
    acc = grads.get(child)  # type: ignore[call-overload]
    if acc is not None:  # a leaf with hooks: its AccumulateGrad node sums its gradients
        _pass_gradient(node, acc, ig, is_shared, grads)
        return
    # NOTE: an op may hand one array to several inputs (add gives g to both),
    # or a view of g; such an array is copied before a leaf keeps it.
    child._accumulate_grad(ig, g_is_shared=is_shared or ig.base is not None)


def _shape_error(node: Op, ig: ndarray, shape: tuple[int, ...]) -> RuntimeError:
    return RuntimeError(
        f"{node.name} returned a gradient of shape {ig.shape} for an input of shape {shape}"
    )


def retain(node: Op, tensor: Any) -> None:
    """Make ``node`` write its output gradient to ``tensor.grad`` during backward."""
    node.retained = weakref.ref(tensor)


from . import hooks as _hooks  # noqa: E402 - hooks subclasses Op
from .hooks import queue_callback  # noqa: E402, F401 - retrograd.autograd.graph.queue_callback
