"""Gradient hooks on tensors, and callbacks that run once at the end of a backward pass.

- A hook registered on a non-leaf tensor lives on the node that made it
  (``node.hooks``) and runs when the walk reaches that node, on the tensor's
  whole gradient, before ``retain_grad`` keeps it.
- A hook registered on a leaf lives on the tensor; while any leaf has hooks,
  each backward pass gives such a leaf an :class:`AccumulateGrad` node placed
  right after the last node that sends it a gradient, so that its hooks see the
  sum of all contributions once (as PyTorch's ``AccumulateGrad``) and run as
  soon as that sum is known. Without hooked leaves nothing changes in the walk.
- :func:`queue_callback` adds a function to run after the current backward
  pass, once (PyTorch's ``Variable._execution_engine.queue_callback``).
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .graph import Op

_ids = itertools.count()

#: The Tensor layer (the module ``retrograd.tensor``). It sits above the engine
#: (docs/architecture.md), so autograd does not import it: tensor.py hands itself
#: over with :func:`bind_tensor` when it is imported. Hooks get gradients as Tensors.
TENSOR: Any = None


def bind_tensor(module: Any) -> None:
    """Give hooks and custom Functions the Tensor layer (``Tensor``, ``wrap_array``)."""
    global TENSOR
    TENSOR = module


class RemovableHandle:
    """What the ``register_*hook`` methods return: ``handle.remove()`` removes the hook.

    Also a context manager: the hook is removed when the ``with`` block ends.
    """

    def __init__(self, *registries: dict[int, Any], on_remove: Callable[[], None] | None = None):
        self.id = next(_ids)
        self._registries = [weakref.ref(r) for r in registries]
        self._on_remove = on_remove

    def remove(self) -> None:
        """Remove the hook; removing it twice does nothing."""
        for ref in self._registries:
            reg = ref()
            if reg is not None:
                reg.pop(self.id, None)
        if self._on_remove is not None:
            self._on_remove()
            self._on_remove = None

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def add_hook(
    registry: OrderedDict[int, Any], hook: Any, prepend: bool = False, **on: Any
) -> RemovableHandle:
    """Put ``hook`` in ``registry`` (first when ``prepend``) and return its handle."""
    handle = RemovableHandle(registry, **on)
    registry[handle.id] = hook
    if prepend:
        registry.move_to_end(handle.id, last=False)
    return handle


# ---------------------------------------------------------------- tensor hooks
class LeafHooks:
    """The hooks of one leaf tensor: ``pre`` on its gradient, ``post`` after accumulation."""

    __slots__ = ("post", "pre")

    def __init__(self) -> None:
        self.pre: OrderedDict[int, Callable[[Any], Any]] = OrderedDict()
        self.post: OrderedDict[int, Callable[[Any], None]] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self.pre or self.post)


# id(leaf) -> a weak reference to each leaf that has hooks (kept in its ``_hooks`` slot, so
# they live as long as the leaf); the backward walk only checks whether this is empty.
HOOKED_LEAVES: dict[int, weakref.ref] = {}


def leaf_hooks_of(t: Any) -> LeafHooks | None:
    """The hooks registered on the leaf ``t``, or None."""
    try:
        return t._hooks
    except AttributeError:  # the slot is only set on tensors with hooks
        return None


def _leaf_hooks(t: Any) -> LeafHooks:
    hooks = leaf_hooks_of(t)
    if hooks is None:
        t._hooks = hooks = LeafHooks()
        key = id(t)
        # the default argument keeps the dict reachable at interpreter exit, when globals go
        drop = lambda _, key=key, reg=HOOKED_LEAVES: reg.pop(key, None)  # noqa: E731
        HOOKED_LEAVES[key] = weakref.ref(t, drop)
    return hooks


def _forget_if_empty(t_ref: weakref.ref) -> None:
    t = t_ref()
    hooks = leaf_hooks_of(t) if t is not None else None
    if hooks is not None and not hooks:
        del t._hooks
        HOOKED_LEAVES.pop(id(t), None)


def register_hook(t: Any, hook: Callable[[Any], Any]) -> RemovableHandle:
    """``Tensor.register_hook``: see its docstring."""
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t.grad_fn is None:
        forget = weakref.ref(t)
        return add_hook(_leaf_hooks(t).pre, hook, on_remove=lambda: _forget_if_empty(forget))
    node = t.grad_fn
    if node.hooks is None:
        node.hooks = OrderedDict()
    return add_hook(node.hooks, hook)


def register_post_accumulate_grad_hook(t: Any, hook: Callable[[Any], None]) -> RemovableHandle:
    """``Tensor.register_post_accumulate_grad_hook``: see its docstring."""
    if t.grad_fn is not None:
        raise RuntimeError(
            "post accumulate grad hooks cannot be registered on non-leaf tensors; "
            "use register_hook on the tensor instead"
        )
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    forget = weakref.ref(t)
    return add_hook(_leaf_hooks(t).post, hook, on_remove=lambda: _forget_if_empty(forget))


def _as_tensor(g: Any) -> Any:
    return g if isinstance(g, TENSOR.Tensor) else TENSOR.wrap_array(g)


def call_hooks(hooks: OrderedDict[int, Callable[[Any], Any]], g: Any, what: str) -> Any:
    """Run tensor hooks in order on the gradient ``g``; a non-None return replaces it."""
    tensor_cls = TENSOR.Tensor
    as_tensor = isinstance(g, tensor_cls)  # create_graph mode hands Tensors to the walk
    gt = _as_tensor(g)
    for hook in list(hooks.values()):
        new = hook(gt)
        if new is None:
            continue
        if not isinstance(new, tensor_cls):
            raise TypeError(
                f"a hook on the gradient of {what} returned {type(new).__name__}; "
                "expected a Tensor or None"
            )
        if new.shape != gt.shape:
            raise RuntimeError(
                f"a hook on the gradient of {what} returned a gradient of shape {new.shape}, "
                f"but the gradient has shape {gt.shape}"
            )
        gt = new
    return gt if as_tensor else gt.array


def run_tensor_hooks(node: Op, g: Any) -> Any:
    """Run the hooks of the tensor ``node`` made on its gradient ``g``; return the gradient."""
    return call_hooks(node.hooks, g, f"the output of {node.name}")


class AccumulateGrad(Op):
    """The node that adds a leaf's gradient to its ``.grad`` (PyTorch's ``AccumulateGrad``).

    ``grad_fn.next_functions`` shows one for each leaf input (``.variable`` is
    the leaf); during backward one stands in for each leaf that has hooks.
    """

    __slots__ = ("__weakref__", "variable")

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.next = ()
        self.needs = ()
        self.out_shape = variable.shape
        self.out_dtype = variable.dtype

    @property
    def name(self) -> str:
        return NodeName("AccumulateGrad")

    def backward(self, grad: Any) -> tuple[()]:
        t = self.variable
        hooks = leaf_hooks_of(t)
        if hooks is not None and hooks.pre:
            grad = call_hooks(hooks.pre, grad, f"a leaf of shape {tuple(t.shape)}")
        t._accumulate_grad(grad.array if hasattr(grad, "array") else grad, g_is_shared=True)
        if hooks is not None:
            for hook in list(hooks.post.values()):
                hook(t)
        return ()


class NodeName(str):
    """A node's name: a string (``f"{node.name}"``) that can also be called (``name()``)."""

    __slots__ = ()

    def __call__(self) -> str:
        return str(self)


def plan_leaf_nodes(order: list[Op], grads: dict[Any, Any]) -> None:
    """Give each hooked leaf reached from ``order`` an :class:`AccumulateGrad` node.

    The node goes into ``order`` right after the last node that feeds the leaf,
    and ``grads[leaf]`` names it, which is how the walk sends it the leaf's gradients.
    """
    last: dict[Any, int] = {}
    for i, node in enumerate(order):
        for child in node.next:
            if child is not None and not isinstance(child, Op) and leaf_hooks_of(child):
                last[child] = i
    for leaf, i in sorted(last.items(), key=lambda kv: -kv[1]):
        acc = AccumulateGrad(leaf)
        grads[leaf] = acc
        order.insert(i + 1, acc)


# ---------------------------------------------------------------- end-of-backward callbacks
# One list per backward pass in progress (a hook may run a backward of its own): the
# callbacks queued during that pass. run_backward pushes and pops it.
PASSES: list[list[Callable[[], None]]] = []


def run_callbacks() -> None:
    """Run the callbacks queued during the pass that just finished (an error skips them).

    A callback may queue another one: the list may grow while it is read.
    """
    for fn in PASSES[-1]:
        fn()


@contextmanager
def backward_pass() -> Iterator[None]:
    """Bracket a backward pass that does not go through run_backward (a leaf's, create_graph)."""
    PASSES.append([])
    try:
        yield
        run_callbacks()
    finally:
        PASSES.pop()


def queue_callback(fn: Callable[[], None]) -> None:
    """Run ``fn()`` once, when the backward pass in progress ends.

    Call it from inside a backward pass (a tensor or module hook, a custom
    Function's ``backward``): PyTorch's ``Variable._execution_engine.queue_callback``.
    Callbacks run in the order queued, after every gradient of the pass has been
    accumulated into ``.grad``.

    Raises
    ------
    RuntimeError
        When no backward pass is running.
    """
    if not PASSES:
        raise RuntimeError(
            "queue_callback(): final callbacks can only be installed during the backward pass"
        )
    PASSES[-1].append(fn)


def in_backward() -> bool:
    """True while a backward pass is running."""
    return bool(PASSES)


def current_pass() -> object | None:
    """A token for the backward pass running now (None outside one), new for each pass.

    Something that must queue one callback per pass (DistributedDataParallel) compares it
    with the token of the pass it queued in; a pass that raised leaves no stale state.
    """
    return PASSES[-1] if PASSES else None


# id(leaf) -> its AccumulateGrad, alive while someone holds it (it holds the leaf, so the
# id cannot be reused meanwhile): next_functions shows the same object for the same leaf.
_accumulators: weakref.WeakValueDictionary[int, AccumulateGrad] = weakref.WeakValueDictionary()


def next_functions(node: Op) -> tuple[tuple[Any, int], ...]:
    """``node.next_functions``: ``(node, 0)``, ``(AccumulateGrad, 0)`` or ``(None, 0)`` each."""
    out = []
    for child in node.next:
        if child is not None and not isinstance(child, Op):
            acc = _accumulators.get(id(child))
            if acc is None or acc.variable is not child:
                acc = _accumulators[id(child)] = AccumulateGrad(child)
            child = acc
        out.append((child, 0))
    return tuple(out)
