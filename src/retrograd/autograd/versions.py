"""In-place operations, version counters and views, with PyTorch's semantics.

Every tensor has a version counter (``t._version``), a one-element list shared by a
tensor, its views and ``detach()`` (not ``.data``), and created on first use: a
tensor that was never saved, viewed or modified in place has none. An in-place
operation bumps it.

- ``ops.saved.save_versions``: when an op is recorded, note the version of each tensor
  it saves for backward; the backward walks call ``graph.check_versions``, which raises
  PyTorch's error when a saved tensor was modified since.
- :func:`commit`: write an op's out-of-place result into a tensor (the second half
  of every in-place method), bump the version and rebind ``grad_fn``. A write into
  a view rebinds its base through :class:`CopySlices`, as PyTorch does.
- :func:`make_view`: mark an op's output as a view of its input (basic indexing,
  reshape without a copy, permute/transpose, expand): it shares the version counter
  and remembers how to take the same view of its base.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .._backend import ndarray, sum_to, xp
from . import higher as hg
from .grad_mode import _GradMode
from .graph import Op

_new = object.__new__


def counter(t: Any) -> list[int]:
    """The tensor's version counter, created (at version 0) on first use."""
    try:
        return t._vc
    except AttributeError:
        vc = t._vc = [0]
        return vc


def version(t: Any) -> int:
    """``t._version``: how many in-place changes the tensor (or its base) has seen."""
    vc = getattr(t, "_vc", None)
    return 0 if vc is None else vc[0]


# ---------------------------------------------------------------- views


class ViewInfo:
    """How a view was taken: its base (never itself a view) and the array function."""

    __slots__ = ("base", "fn")

    def __init__(self, base: Any, fn: Callable[[ndarray], ndarray]) -> None:
        self.base = base
        self.fn = fn


def make_view(src: Any, out: Any, fn: Callable[[ndarray], ndarray]) -> Any:
    """Mark ``out`` (just computed from ``src`` by ``fn``) as a view when it shares memory."""
    if not xp.may_share_memory(out.array, src.array):
        return out
    out._vc = counter(src)
    info = getattr(src, "_view", None)
    if info is None:
        base = src
        out._view = ViewInfo(src, fn)
    else:
        inner = info.fn
        base = info.base
        out._view = ViewInfo(base, lambda a: fn(inner(a)))
    # The base remembers its live views, so that a write through one of them, or into
    # the base, gives the others a grad_fn that sees it (PyTorch regenerates theirs).
    try:
        views = base._views
    except AttributeError:
        views = base._views = []
    if len(views) >= 16:
        views[:] = [r for r in views if r() is not None]
    views.append(weakref.ref(out))
    return out


def base_of(t: Any) -> Any:
    """PyTorch's ``t._base``: the tensor ``t`` is a view of, or None."""
    info = getattr(t, "_view", None)
    return None if info is None else info.base


class CopySlices(Op):
    """A base after an in-place write into one of its views (PyTorch's ``CopySlices``).

    Inputs: the base before the write, and the view's new values. The gradient of
    the base is ``g`` with the view's region zeroed; the new values get ``g``'s view.
    """

    view_fn: Callable[[ndarray], ndarray]

    @property
    def name(self) -> str:
        return "CopySlices"

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        gb = gv = None
        if self.needs[1]:
            gv = self.view_fn(g).copy()
        if self.needs[0]:
            gb = xp.array(g, copy=True)
            self.view_fn(gb)[...] = 0
        return gb, gv

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        shape = self.out_shape
        gb = g * hg.const(_zeroed(shape, self.view_fn), g) if self.needs[0] else None
        gv = _gather(g, _positions(shape, self.view_fn)) if self.needs[1] else None
        return gb, gv


class AsStrided(Op):
    """A view taken again from its base's new node: the gradient scattered into zeros."""

    view_fn: Callable[[ndarray], ndarray]
    base_shape: tuple[int, ...]

    @property
    def name(self) -> str:
        return "AsStridedBackward0"

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        out = xp.zeros(self.base_shape, dtype=g.dtype)
        self.view_fn(out)[...] = g
        return (out,)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        pos = _positions(self.base_shape, self.view_fn)
        zeros = hg.const(xp.zeros(_size(self.base_shape)), g)  # the flat base
        return (hg.call(IndexPut, zeros, g, idx=pos).reshape(self.base_shape),)


# Second derivatives of the three nodes above: each is linear in its gradient, a mask or
# a gather / scatter of flat positions, so its recorded gradient is built from Mul,
# Index and IndexPut, whose own gradients are the same three again.


def _positions(shape: tuple[int, ...], view_fn: Callable[[ndarray], ndarray]) -> ndarray:
    """The flat position, in an array of ``shape``, of each element ``view_fn`` selects."""
    return xp.array(view_fn(xp.arange(_size(shape)).reshape(shape)))


def _zeroed(shape: tuple[int, ...], view_fn: Callable[[ndarray], ndarray]) -> ndarray:
    """Ones of ``shape`` with the elements ``view_fn`` selects set to 0."""
    mask = xp.ones(shape)
    view_fn(mask)[...] = 0
    return mask


def _gather(g: Any, pos: ndarray) -> Any:
    """``g``'s elements at the flat positions ``pos`` (of ``pos``'s shape), recorded."""
    return g.reshape(-1)[pos]


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


# ---------------------------------------------------------------- in-place writes

_TORCH_NAMES = {
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "int32": "Int",
    "int64": "Long",
    "bool": "Bool",
}


def check_writable(t: Any, op: str) -> None:
    """Raise PyTorch's errors for in-place changes autograd cannot record (before any change)."""
    if not _GradMode.enabled:
        return
    if t._requires_grad and t._ctx is None and getattr(t, "_view", None) is None:
        raise RuntimeError(
            f"{op}(): a leaf Variable that requires grad is being used in an in-place "
            "operation. Do it under retrograd.no_grad() (as an optimizer step does), or on "
            "a clone()."
        )
    base = base_of(t)
    if base is not None and base._requires_grad and base._ctx is None:
        raise RuntimeError(
            f"{op}(): a view of a leaf Variable that requires grad is being used in an "
            "in-place operation. Do it under retrograd.no_grad(), or on a clone()."
        )


def check_result(t: Any, res: Any, op: str) -> bool:
    """Check that ``res`` can be written into ``t``; True when it must be cast first."""
    dst = t.array
    src = res.array
    if src.shape != dst.shape:
        raise RuntimeError(
            f"{op}(): output with shape {list(dst.shape)} doesn't match the broadcast shape "
            f"{list(src.shape)}"
        )
    if src.dtype != dst.dtype:
        if not xp.can_cast(src.dtype, dst.dtype, casting="same_kind"):
            raise RuntimeError(
                f"{op}(): result type {_TORCH_NAMES.get(src.dtype.name, src.dtype.name)} "
                "can't be cast to the desired output type "
                f"{_TORCH_NAMES.get(dst.dtype.name, dst.dtype.name)}"
            )
        return True
    return False


def commit(t: Any, res: Any, op: str) -> Any:
    """Write ``res`` (an op's result computed from ``t``, of its dtype) into ``t``.

    Bumps the version and, when ``res`` was recorded, moves ``t``'s ``grad_fn`` to it
    (through CopySlices for a view) and gives ``t``'s other views new nodes.
    """
    write(t, res.array, op)
    vc = counter(t)
    vc[0] += 1
    node = res._ctx
    if node is None:
        return t
    # The op saved its own output (exp_, sigmoid_): that output is now t, at its new version.
    saved = node.saved_versions
    if saved is not None:
        rvc = getattr(res, "_vc", None)
        node.saved_versions = [(vc, vc[0], None, -1) if e[0] is rvc else e for e in saved]
    info = getattr(t, "_view", None)
    if info is None:
        _rebind(t, node)
        _rebind_views_of(t, skip=None)
    else:
        _rebind_view(t, info, res)
    return t


def write(t: Any, values: Any, op: str, key: Any = ...) -> None:
    """``t.array[key] = values``, with PyTorch's error for an expanded (read-only) tensor."""
    try:
        t.array[key] = values
    except ValueError as e:
        if not t.array.flags.writeable:
            raise RuntimeError(
                f"{op}(): unsupported operation: more than one element of the written-to "
                "tensor refers to a single memory location (an expand()ed tensor, or a "
                "read-only array). Please clone() the tensor before performing the operation."
            ) from None
        raise RuntimeError(f"{op}(): {e}") from None


def _rebind(t: Any, node: Op) -> None:
    old = t._ctx
    if old is not None and old.retained is not None and old.retained() is t:
        node.retained = old.retained  # retain_grad() follows the tensor, as in PyTorch
    t._ctx = node
    t._requires_grad = True


def _rebind_view(t: Any, info: ViewInfo, res: Any) -> None:
    """After a recorded write into view ``t``: its base gets CopySlices, ``t`` a view of it."""
    base = info.base
    cs = _new(CopySlices)
    cs.view_fn = info.fn
    cs.needs = (base._requires_grad, True)
    cs.next = ((base._ctx or base) if base._requires_grad else None, res._ctx)
    cs.out_shape = base.array.shape
    cs.out_dtype = base.array.dtype
    _rebind(base, cs)
    _rebind(t, _as_strided(cs, info, t))
    _rebind_views_of(base, skip=t)


def _as_strided(node: Op, info: ViewInfo, t: Any) -> AsStrided:
    """A node taking view ``t`` (described by ``info``) of its base's node ``node``."""
    view = _new(AsStrided)
    view.view_fn = info.fn
    view.base_shape = info.base.array.shape
    view.needs = (True,)
    view.next = (node,)
    view.out_shape = t.array.shape
    view.out_dtype = t.array.dtype
    return view


def _rebind_views_of(base: Any, skip: Any) -> None:
    """Point every live view of ``base`` (but ``skip``) at ``base``'s new node."""
    for ref in getattr(base, "_views", ()):
        u = ref()
        if u is not None and u is not skip:
            _rebind(u, _as_strided(base._ctx, u._view, u))


class IndexPut(Op):
    """``a`` with ``a[idx] = v`` (indexed assignment): a's gradient zeroed there, v's gathered."""

    idx: Any

    def forward(self, a: ndarray, v: ndarray) -> ndarray:
        self.vshape = v.shape
        out = a.copy()
        out[self.idx] = v
        return out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        ga = gv = None
        if self.needs[0]:
            ga = g.copy()
            ga[self.idx] = 0
        if self.needs[1]:
            gv = sum_to(xp.asarray(g[self.idx]), self.vshape)
        return ga, gv

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        ga = gv = None
        if self.needs[0]:
            mask = xp.ones(self.out_shape)
            mask[self.idx] = 0
            ga = g * hg.const(mask, g)
        if self.needs[1]:
            pos = xp.arange(_size(self.out_shape)).reshape(self.out_shape)[self.idx]
            gv = sum_to(_gather(g, xp.asarray(pos)), self.vshape)
        return ga, gv
