"""The Tensor: an n-dimensional array that records the operations applied to it.

Names and semantics follow PyTorch: ``requires_grad`` marks leaves whose
gradients are wanted, each operation on them records a node
(:class:`~retrograd.autograd.Op`), and ``backward()`` walks the recorded
graph from the output back to the leaves, accumulating into their ``.grad``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, Union

from . import ops
from ._backend import (
    FLOAT_DTYPES,
    SUPPORTED_DTYPES,
    default_float,
    ndarray,
    normalize_dims,
    xp,
)
from .autograd import Op, anomaly_mode, higher, hooks, retain, run_backward
from .autograd.grad_mode import _GradMode
from .autograd.versions import (
    IndexPut,
    base_of,
    check_result,
    check_writable,
    counter,
    make_view,
    version,
    write,
)
from .autograd.versions import commit as commit_write
from .devices import CPU, check_device, is_device
from .ops.elementwise import ROUNDING
from .ops.saved import save_versions
from .ops.shape import along
from .random import get_rng, sample_multinomial

DTypeLike = Any
Scalar = Union[int, float, bool]
ShapeLike = Union[int, Sequence[int]]

_new = object.__new__
_INT64 = xp.dtype(xp.int64)
_BOOL = xp.dtype(xp.bool_)


def _dtype_name(dt: Any) -> str:
    return "bool" if dt == _BOOL else str(dt)


def as_dtype(dtype: DTypeLike, op: str = "tensor") -> Any:
    """Validate ``dtype`` (a retrograd or NumPy dtype) and return it as a NumPy dtype."""
    try:
        dt = xp.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}(): {dtype!r} is not a dtype") from None
    if dt not in SUPPORTED_DTYPES:
        names = ", ".join(_dtype_name(d) for d in SUPPORTED_DTYPES)
        raise TypeError(f"{op}(): unsupported dtype {_dtype_name(dt)}; supported: {names}")
    return dt


def to_array(data: Any, dtype: DTypeLike, op: str) -> ndarray:
    """Copy ``data`` into a new array with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        data = data.array
    if dtype is not None:
        dt = as_dtype(dtype, op)
        try:
            return xp.array(data, dtype=dt)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{op}(): cannot convert {type(data).__name__} to {dt}: {e}") from None
    keep = isinstance(data, (ndarray, xp.generic))
    try:
        arr = xp.array(data)
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"{op}(): data is not a rectangular array: {e}") from None
    if arr.dtype.kind in "OUSVMmc":
        raise TypeError(
            f"{op}(): cannot make a tensor from an array of dtype {arr.dtype} "
            f"({type(data).__name__}); expected numbers or booleans"
        )
    if not keep:  # Python numbers: floats become float32 and ints int64, as in PyTorch
        if arr.dtype.kind == "f":
            arr = arr.astype(default_float())
        elif arr.dtype.kind in "iu":
            arr = arr.astype(_INT64)
    elif arr.dtype not in SUPPORTED_DTYPES:
        as_dtype(arr.dtype, op)
    return arr


_ONES: dict[tuple[Any, ...], ndarray] = {}


def _ones(shape: tuple[int, ...], dtype: Any) -> ndarray:
    """A cached, read-only array of ones: the seed gradient of a scalar's backward.

    NOTE: read-only, so an op that wrote to its incoming gradient would fail loudly
    instead of corrupting every later backward; a leaf copies it before keeping it.
    """
    key = (shape, dtype)
    ones = _ONES.get(key)
    if ones is None:
        ones = _ONES[key] = xp.ones(shape, dtype=dtype)
        ones.flags.writeable = False
    return ones


def wrap_array(data: Any, requires_grad: bool = False, ctx: Op | None = None) -> Tensor:
    """Make a Tensor around an array without copying or validating it (ops' outputs)."""
    t = _new(Tensor)
    t.array = data if type(data) is ndarray else xp.asarray(data)
    t._requires_grad = requires_grad
    t.grad = None
    t._ctx = ctx
    return t


def apply_op(cls: type[Op], *inputs: Tensor, **params: Any) -> Tensor:
    """Run one op forward on the inputs' arrays and, when any input needs a gradient, record it.

    ``params`` become attributes of the op (``apply_op(ops.LeakyReLU, x, negative_slope=0.2)``).
    The recorded node points at each input's own node, or at the input itself for a leaf.
    """
    fn = _new(cls)
    if params:
        fn.__dict__.update(params)
    # SPEED: one loop, not a list comprehension per list: in Python 3.11 each comprehension
    # is a function call of its own (about 3,800 instructions an op; docs/benchmarks.md).
    arrays = []
    needs = []
    edges = []
    for t in inputs:
        arrays.append(t.array)
        r = t._requires_grad
        needs.append(r)
        edges.append((t._ctx or t) if r else None)
    try:
        out = fn.forward(*arrays)
    except ValueError as e:
        shapes = " and ".join(str(tuple(a.shape)) for a in arrays)
        raise ValueError(f"{_op_name(cls)}: cannot apply to shapes {shapes}: {e}") from None
    if not (True in needs and _GradMode.enabled):
        return new_tensor(out)
    fn.needs = tuple(needs)
    fn.next = tuple(edges)
    fn.out_shape = out.shape
    fn.out_dtype = out.dtype
    if _GradMode.anomaly:  # keep the forward's traceback and check backward for NaN
        anomaly_mode.record(fn)
    res = wrap_array(out, True, fn)
    if fn.saves is not None:  # None: the op saves no tensor (Add, Sum, Reshape, ...)
        save_versions(fn, inputs, res)
    return res


def new_tensor(array: Any) -> Tensor:
    """A tensor around an array made just now: an inference tensor inside ``inference_mode``."""
    t = wrap_array(array)
    if _GradMode.inference:
        t._inference = True
    return t


def _op_name(cls: type[Op]) -> str:
    return cls.__name__.lower()


def _check_float(t: Tensor, op: str) -> None:
    if t.array.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}(): expected a floating point tensor, got dtype {t.dtype}")


class MaxResult(NamedTuple):
    """``(values, indices)`` returned by ``max``/``min`` with ``dim``, as PyTorch's."""

    values: Tensor
    indices: Tensor


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Create tensors with :func:`retrograd.tensor` and the other creation
    functions. ``Tensor(data, dtype=None, requires_grad=False)`` is PyTorch's
    legacy constructor: Python data becomes the default float dtype
    (``Tensor([1, 2])`` is float32), a NumPy array keeps its dtype.

    Attributes
    ----------
    array : numpy.ndarray
        The values, as the NumPy array that holds them (no copy). Changing it in
        place bypasses autograd. ``numpy()`` is PyTorch's way to the same array.
    data : Tensor
        As PyTorch's ``.data``: a tensor sharing these values that does not
        require grad; assigning ``t.data = other`` replaces the values.
    grad : Tensor or None
        The accumulated gradient, for leaves that require grad and tensors that
        called :meth:`retain_grad`.
    """

    # _vc (version counter), _view (ViewInfo) and _views (weak references to its views)
    # are set only on tensors that need them (autograd/versions.py); _hooks and _inference
    # only on tensors with hooks and on inference tensors (autograd/hooks.py, inference_mode)
    __slots__ = (
        "__weakref__",
        "_ctx",
        "_hooks",
        "_inference",
        "_requires_grad",
        "_vc",
        "_view",
        "_views",
        "array",
        "grad",
    )
    __array_ufunc__ = None  # ndarray (op) Tensor defers to the Tensor's reflected operator

    array: ndarray
    grad: Tensor | None
    _ctx: Op | None

    def __init__(self, data: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> None:
        if dtype is None and not isinstance(data, (Tensor, ndarray, xp.generic)):
            # NOTE: torch.Tensor(data), PyTorch's legacy constructor, makes the default float
            # dtype from Python data (torch.Tensor([1, 2]) is float32); retrograd.tensor infers.
            dtype = default_float()
        self.array = to_array(data, dtype, "tensor")
        self.grad = None
        self._ctx = None
        self._requires_grad = False
        self.requires_grad = requires_grad
        if _GradMode.inference:
            self._inference = True

    # ------------------------------------------------------------ attributes
    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if value and self.array.dtype not in FLOAT_DTYPES:
            raise RuntimeError(
                "only tensors of floating point dtype can require gradients "
                f"(got dtype {_dtype_name(self.array.dtype)})"
            )
        if not value and self._ctx is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf tensors; use detach() instead"
            )
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Op | None:
        """The node that produced this tensor, or None for a leaf."""
        return self._ctx

    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension."""
        return self.array.shape

    @property
    def dtype(self) -> Any:
        """The element type, a NumPy dtype such as ``retrograd.float32``."""
        return self.array.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.array.ndim

    def dim(self) -> int:
        """The number of dimensions."""
        return self.array.ndim

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the size of dimension ``dim``."""
        return self.array.shape if dim is None else self.array.shape[dim]

    def numel(self) -> int:
        """The number of elements."""
        return self.array.size

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    @property
    def data(self) -> Tensor:
        """A tensor sharing these values that does not require grad (PyTorch's ``.data``).

        Changes made through it, such as ``p.data -= lr * p.grad``, change this
        tensor's values and are not recorded by autograd.
        """
        return wrap_array(self.array)

    @data.setter
    def data(self, value: Any) -> None:
        self.array = value.array if isinstance(value, Tensor) else to_array(value, None, "data")

    # ------------------------------------------------------------ conversion
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> ndarray:
        """The values for NumPy (``np.asarray(t)``, matplotlib): no copy unless asked."""
        if copy:
            return self.array.astype(dtype or self.array.dtype, copy=True)
        return self.array if dtype is None else self.array.astype(dtype, copy=False)

    def numpy(self) -> ndarray:
        """The values as a NumPy array (shares memory, as in PyTorch)."""
        if self._requires_grad:
            raise RuntimeError(
                "can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()"
            )
        return self.array

    def item(self) -> Scalar:
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise ValueError(
                f"item(): a tensor with {self.array.size} elements cannot be converted to a scalar"
            )
        return self.array.item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists."""
        return self.array.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.array.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.array.item())

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's values and version counter, cut from the graph."""
        out = wrap_array(self.array)
        out._vc = counter(self)
        return out

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor (or its base, or a view of it) has seen."""
        return version(self)

    @property
    def _base(self) -> Tensor | None:
        """The tensor this one is a view of (basic indexing, view, transpose...), or None."""
        return base_of(self)

    def clone(self) -> Tensor:
        """A copy of the values; gradients flow back to this tensor."""
        return self.to(self.array.dtype, copy=True)

    def to(
        self,
        *args: Any,
        dtype: DTypeLike = None,
        device: Any = None,
        copy: bool = False,
        non_blocking: bool = False,
    ) -> Tensor:
        """Cast to a dtype, as ``torch.Tensor.to``; differentiable between float dtypes.

        The forms ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``
        (its dtype) and the keywords. The device must be the CPU (a move is a no-op);
        any other raises (``retrograd.devices``).
        """
        device, dtype = to_arguments(args, device, dtype)
        if device is not None:
            check_device(device, "Tensor.to")
        if dtype is None:
            return self.clone() if copy else self
        dt = as_dtype(dtype, "to")
        if dt == self.array.dtype and not copy:
            return self
        if self._requires_grad and dt in FLOAT_DTYPES:
            return apply_op(ops.Cast, self, dtype=dt)
        return wrap_array(self.array.astype(dt))

    def float(self) -> Tensor:
        """Cast to float32."""
        return self.to(xp.float32)

    def double(self) -> Tensor:
        """Cast to float64."""
        return self.to(xp.float64)

    def long(self) -> Tensor:
        """Cast to int64."""
        return self.to(xp.int64)

    def int(self) -> Tensor:
        """Cast to int32."""
        return self.to(xp.int32)

    def bool(self) -> Tensor:
        """Cast to bool."""
        return self.to(xp.bool_)

    # ------------------------------------------------------------ autograd
    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        Parameters
        ----------
        gradient : Tensor or array-like, optional
            The gradient of some scalar with respect to this tensor, of this
            tensor's shape. Required unless the tensor has one element.
        retain_graph : bool, optional
            Keep the saved arrays so that backward can run through the graph again;
            defaults to ``create_graph``.
        create_graph : bool, default=False
            Record the backward pass, so that the gradients can be differentiated
            again (see ``docs/autograd.md``, "Higher-order gradients").
        inputs : Tensor or sequence of Tensor, optional
            Accumulate into the ``.grad`` of these tensors only.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no grad_fn; "
                "did you forget requires_grad=True on an input, or call it under no_grad()?"
            )
        if create_graph or inputs is not None:
            return higher.backward(self, gradient, retain_graph, create_graph, inputs)
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError(
                    "backward(): grad can be implicitly created only for scalar outputs, but "
                    f"the tensor has shape {self.shape}; pass gradient= of that shape"
                )
            g = _ones(self.array.shape, self.array.dtype)
        else:
            g = gradient.array if isinstance(gradient, Tensor) else xp.asarray(gradient)
            if g.shape != self.array.shape:
                raise RuntimeError(
                    f"backward(): gradient has shape {g.shape}, but the tensor has shape "
                    f"{self.shape}; they must match"
                )
            # NOTE: no copy when the dtype matches: no op writes to its incoming gradient,
            # and a leaf copies any array it did not get fresh (see run_backward).
            g = g.astype(self.array.dtype, copy=False)
        if self._ctx is None:
            with hooks.backward_pass():
                hooks.AccumulateGrad(self).backward(g)
        else:
            run_backward(self._ctx, g, bool(retain_graph))

    def _accumulate_grad(self, g: Any, g_is_shared: bool) -> None:
        """Add ``g`` to ``self.grad`` as PyTorch's AccumulateGrad does without create_graph.

        The first gradient is kept (copied first if others hold ``g``); later ones are
        added in place, so a reference to ``.grad`` taken before another backward pass
        sees the sum, as in PyTorch. A ``.grad`` that cannot take the sum in place
        (read-only, or another shape or dtype) is replaced by the sum.
        """
        if type(g) is not ndarray:
            g = xp.asarray(g)
            g_is_shared = False
        grad = self.grad
        if grad is None:
            self.grad = wrap_array(g.copy() if g_is_shared else g)
            return
        acc = grad.array
        if acc.flags.writeable and acc.shape == g.shape and acc.dtype == g.dtype:
            xp.add(acc, g, out=acc)
            vc = getattr(grad, "_vc", None)  # an in-place change: the grad's version moves
            if vc is not None:
                vc[0] += 1
        else:
            self.grad = wrap_array(acc + g)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward."""
        if not self._requires_grad:
            raise RuntimeError(
                "retain_grad(): can't retain the grad of a tensor that does not require grad"
            )
        if self._ctx is not None:
            retain(self._ctx, self)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> hooks.RemovableHandle:
        """Call ``hook(grad)`` each time this tensor's gradient is computed.

        The hook may return a Tensor of the gradient's shape, which replaces the
        gradient (for the rest of the walk and in ``.grad``), or None. On a leaf it
        runs once per backward on the sum of all contributions, before they are
        added to ``.grad``; on a non-leaf, before ``retain_grad`` keeps the gradient.

        Parameters
        ----------
        hook : callable
            ``hook(grad: Tensor) -> Tensor or None``.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` removes the hook.

        Examples
        --------
        >>> x = retrograd.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 2)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([4., 8.])
        """
        return hooks.register_hook(self, hook)

    def register_post_accumulate_grad_hook(
        self, hook: Callable[[Tensor], None]
    ) -> hooks.RemovableHandle:
        """Call ``hook(tensor)`` on this leaf after its ``.grad`` has been updated by backward.

        Parameters
        ----------
        hook : callable
            ``hook(tensor) -> None``; reads ``tensor.grad``.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` removes the hook.
        """
        return hooks.register_post_accumulate_grad_hook(self, hook)

    def is_inference(self) -> bool:
        """True for a tensor made inside :class:`retrograd.inference_mode`."""
        try:
            return self._inference
        except AttributeError:  # the slot is only set on inference tensors
            return False

    @property
    def retains_grad(self) -> bool:
        """True after :meth:`retain_grad` on a non-leaf tensor."""
        return self._ctx is not None and self._ctx.retained is not None

    # ------------------------------------------------------------ printing
    def __repr__(self) -> str:
        data = self.array
        if data.dtype.kind == "f":
            finite = data[xp.isfinite(data)]
            integral = bool((finite == xp.round(finite)).all())  # torch prints 1. then, not 1.0000
            body = xp.array2string(
                data,
                separator=", ",
                prefix="tensor(",
                precision=4,
                floatmode="maxprec" if integral else "fixed",
            )
        else:
            body = xp.array2string(data, separator=", ", prefix="tensor(")
        extras = []
        if self.array.size == 0:
            extras.append(f"size={self.shape}")
        if self.array.dtype not in (default_float(), _INT64, _BOOL):
            extras.append(f"dtype=retrograd.{self.array.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ------------------------------------------------------------ arithmetic
    def _operand(self, other: Any) -> Tensor:
        """Turn a scalar or array operand into a Tensor of a matching dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float, xp.bool_)):
            dt = self.array.dtype
            if isinstance(other, float) and dt.kind != "f":
                dt = default_float()
            elif not isinstance(other, (bool, xp.bool_)) and dt == _BOOL:
                dt = default_float() if isinstance(other, float) else _INT64
            return wrap_array(xp.asarray(other, dtype=dt))
        if isinstance(other, (ndarray, xp.generic, list, tuple)):
            return to_tensor(other)
        raise TypeError(f"unsupported operand type: Tensor and {type(other).__name__}")

    def _pair(self, other: Any) -> tuple[Tensor, Tensor]:
        """Self and the operand, an integer side cast to the float side's dtype (as PyTorch)."""
        o = other if type(other) is Tensor else self._operand(other)
        da, db = self.array.dtype, o.array.dtype
        if da is db:
            return self, o
        if da.kind == "f" and db.kind != "f":
            return self, o.to(da)
        if db.kind == "f" and da.kind != "f":
            return self.to(db), o
        return self, o

    def __add__(self, other: Any) -> Tensor:
        return apply_op(ops.Add, *self._pair(other))

    def __radd__(self, other: Any) -> Tensor:
        a, b = self._pair(other)
        return apply_op(ops.Add, b, a)

    def __sub__(self, other: Any) -> Tensor:
        return apply_op(ops.Sub, *self._pair(other))

    def __rsub__(self, other: Any) -> Tensor:
        a, b = self._pair(other)
        return apply_op(ops.Sub, b, a)

    def __mul__(self, other: Any) -> Tensor:
        return apply_op(ops.Mul, *self._pair(other))

    def __rmul__(self, other: Any) -> Tensor:
        a, b = self._pair(other)
        return apply_op(ops.Mul, b, a)

    def __truediv__(self, other: Any) -> Tensor:
        return _true_div(*self._pair(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        a, b = self._pair(other)
        return _true_div(b, a)

    def __pow__(self, other: Any) -> Tensor:
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            if self.array.dtype.kind != "f" and isinstance(other, float):
                return apply_op(ops.PowScalar, self.float(), c=other)
            return apply_op(ops.PowScalar, self, c=other)
        return apply_op(ops.Pow, *self._pair(other))

    def __rpow__(self, other: Any) -> Tensor:
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            base = (
                self.float() if self.array.dtype.kind != "f" and isinstance(other, float) else self
            )
            return apply_op(ops.RPowScalar, base, c=other)
        a, b = self._pair(other)
        return apply_op(ops.Pow, b, a)

    def __neg__(self) -> Tensor:
        return apply_op(ops.Neg, self)

    def __abs__(self) -> Tensor:
        return apply_op(ops.Abs, self)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other if type(other) is Tensor else self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(self._operand(other), self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    neg = __neg__
    abs = __abs__

    def matmul(self, other: Any) -> Tensor:
        """Matrix product, see :func:`retrograd.matmul`."""
        return matmul(self, self._operand(other))

    # ------------------------------------------------------------ comparisons (no gradient)
    def _compare(self, other: Any, fn: Any) -> Tensor:
        return wrap_array(fn(self.array, self._operand(other).array))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, xp.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, xp.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, xp.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, xp.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, xp.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, xp.greater_equal)

    __hash__ = object.__hash__  # identity: graph walks and dicts key tensors by object

    eq = __eq__
    ne = __ne__
    lt = __lt__
    le = __le__
    gt = __gt__
    ge = __ge__

    def __invert__(self) -> Tensor:
        if self.array.dtype != _BOOL:
            raise TypeError(f"~ is defined for bool tensors only, got {self.dtype}")
        return wrap_array(~self.array)

    def __and__(self, other: Any) -> Tensor:
        return self._compare(other, xp.bitwise_and)

    def __or__(self, other: Any) -> Tensor:
        return self._compare(other, xp.bitwise_or)

    def any(
        self, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None
    ) -> Tensor:
        """True where any element is nonzero, over all or along ``dim``."""
        axes = None if dim is None else normalize_dims(dim, self.ndim, "any")
        return wrap_array(xp.asarray(self.array.any(axis=axes, keepdims=_keep(keepdim, keepdims))))

    def all(
        self, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None
    ) -> Tensor:
        """True where every element is nonzero, over all or along ``dim``."""
        axes = None if dim is None else normalize_dims(dim, self.ndim, "all")
        return wrap_array(xp.asarray(self.array.all(axis=axes, keepdims=_keep(keepdim, keepdims))))

    def argmax(
        self, dim: int | None = None, keepdim: bool = False, *, keepdims: bool | None = None
    ) -> Tensor:
        """Index of the largest value (the first of ties), over all or along ``dim``."""
        return _arg_reduce(self, dim, _keep(keepdim, keepdims), xp.argmax, "argmax")

    def argmin(
        self, dim: int | None = None, keepdim: bool = False, *, keepdims: bool | None = None
    ) -> Tensor:
        """Index of the smallest value (the first of ties), over all or along ``dim``."""
        return _arg_reduce(self, dim, _keep(keepdim, keepdims), xp.argmin, "argmin")

    # ------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return apply_op(ops.Exp, self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return apply_op(ops.Log, self)

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return apply_op(ops.Sqrt, self)

    def sin(self) -> Tensor:
        """Elementwise sine."""
        return apply_op(ops.Sin, self)

    def cos(self) -> Tensor:
        """Elementwise cosine."""
        return apply_op(ops.Cos, self)

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent."""
        return apply_op(ops.Tanh, self)

    def sigmoid(self) -> Tensor:
        """Elementwise logistic function 1/(1+e**-x), stable for any x."""
        return apply_op(ops.Sigmoid, self)

    def relu(self) -> Tensor:
        """Elementwise max(x, 0); the gradient at 0 is 0."""
        return apply_op(ops.ReLU, self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Limit values to [min, max]; see :func:`retrograd.clamp`."""
        return clamp(self, min, max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        """Elementwise maximum; see :func:`retrograd.maximum`."""
        return apply_op(ops.Maximum, *self._pair(other))

    def minimum(self, other: Any) -> Tensor:
        """Elementwise minimum; see :func:`retrograd.minimum`."""
        return apply_op(ops.Minimum, *self._pair(other))

    def masked_fill(self, mask: Tensor, value: float) -> Tensor:
        """Replace the elements where ``mask`` is True by ``value``."""
        return where(mask, self._operand(value), self)

    def softmax(self, dim: int) -> Tensor:
        """Softmax along ``dim``; see :func:`retrograd.softmax`."""
        return apply_op(ops.Softmax, self, axis=_one_dim(dim, self.ndim, "softmax"))

    def log_softmax(self, dim: int) -> Tensor:
        """Log-softmax along ``dim``; see :func:`retrograd.log_softmax`."""
        return apply_op(ops.LogSoftmax, self, axis=_one_dim(dim, self.ndim, "log_softmax"))

    # ------------------------------------------------------------ reductions
    def sum(
        self, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None
    ) -> Tensor:
        """Sum over all elements or over ``dim`` (int or tuple); ``keepdims`` is ``keepdim``."""
        if keepdims is not None:
            keepdim = keepdims
        axes = normalize_dims(dim, self.ndim, "sum")
        if self.array.dtype.kind in "biu":
            return wrap_array(self.array.sum(axis=axes, keepdims=keepdim, dtype=_INT64))
        return apply_op(ops.Sum, self, axes=axes, keepdim=keepdim)

    def mean(
        self, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None
    ) -> Tensor:
        """Mean over all elements or over ``dim`` (int or tuple); ``keepdims`` is ``keepdim``."""
        _check_float(self, "mean")
        if keepdims is not None:
            keepdim = keepdims
        return apply_op(
            ops.Mean, self, axes=normalize_dims(dim, self.ndim, "mean"), keepdim=keepdim
        )

    def var(
        self,
        dim: Any = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: float | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Variance with Bessel's ``correction`` (default 1, or 0 when ``unbiased=False``)."""
        return _spread(self, ops.Var, dim, unbiased, _keep(keepdim, keepdims), correction)

    def std(
        self,
        dim: Any = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: float | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Standard deviation, the square root of :meth:`var` (gradient 0 where it is 0)."""
        return _spread(self, ops.Std, dim, unbiased, _keep(keepdim, keepdims), correction)

    def amax(
        self, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None
    ) -> Tensor:
        """Largest value over ``dim``; ties share the gradient evenly."""
        return _extreme(self, dim, _keep(keepdim, keepdims), smallest=False, op="amax")

    def amin(
        self, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None
    ) -> Tensor:
        """Smallest value over ``dim``; ties share the gradient evenly."""
        return _extreme(self, dim, _keep(keepdim, keepdims), smallest=True, op="amin")

    def max(self, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None) -> Any:
        """Largest value overall, ``(values, indices)`` along ``dim``, or maximum with a tensor."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return _extreme(self, None, False, smallest=False, op="max")
        return _max_dim(self, dim, _keep(keepdim, keepdims), smallest=False, op="max")

    def min(self, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None) -> Any:
        """Smallest value overall, ``(values, indices)`` along ``dim``, or minimum with a tensor."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return _extreme(self, None, False, smallest=True, op="min")
        return _max_dim(self, dim, _keep(keepdim, keepdims), smallest=True, op="min")

    def logsumexp(self, dim: Any, keepdim: bool = False, *, keepdims: bool | None = None) -> Tensor:
        """log(sum(exp(x))) over ``dim``, stable for inputs of any magnitude."""
        _check_float(self, "logsumexp")
        axes = normalize_dims(dim, self.ndim, "logsumexp")
        return apply_op(ops.LogSumExp, self, axes=axes, keepdim=_keep(keepdim, keepdims))

    # ------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        """The same values in a new shape (one dimension may be -1)."""
        target = _infer_shape(shape_arg(shape), self.array.size, self.shape, "reshape")
        if target == self.shape:
            return self
        out = apply_op(ops.Reshape, self, shape=target)
        return make_view(self, out, lambda a: a.reshape(target))

    view = reshape

    def view_as(self, other: Tensor) -> Tensor:
        """Reshape to ``other``'s shape."""
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions ``start_dim`` to ``end_dim`` into one."""
        if self.ndim == 0:
            return self.reshape(1)
        s = _one_dim(start_dim, self.ndim, "flatten")
        e = _one_dim(end_dim, self.ndim, "flatten")
        if s > e:
            raise ValueError(f"flatten(): start_dim {start_dim} comes after end_dim {end_dim}")
        shape = self.shape
        n = 1
        for d in shape[s : e + 1]:
            n *= d
        return self.reshape((*shape[:s], n, *shape[e + 1 :]))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap dimensions ``dim0`` and ``dim1``."""
        if self.ndim == 0:
            return self
        perm = list(range(self.ndim))
        a, b = _one_dim(dim0, self.ndim, "transpose"), _one_dim(dim1, self.ndim, "transpose")
        perm[a], perm[b] = perm[b], perm[a]
        return _permute(self, tuple(perm))

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the dimensions."""
        dims = shape_arg(dims)
        if len(dims) != self.ndim:
            raise ValueError(
                f"permute(): got {len(dims)} dims {tuple(dims)} for a tensor of {self.ndim} dims"
            )
        normalize_dims(dims, self.ndim, "permute")  # validates range and repeats
        perm = tuple(int(d) % max(self.ndim, 1) for d in dims)
        return _permute(self, perm)

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The tensor with its dimensions reversed (the transpose of a matrix)."""
        if self.ndim < 2:
            return self
        return _permute(self, tuple(range(self.ndim - 1, -1, -1)))

    def t(self) -> Tensor:
        """The transpose of a matrix (a 0-D or 1-D tensor is returned as is), as PyTorch's."""
        if self.ndim > 2:
            raise ValueError(f"t(): expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dimensions swapped."""
        return self.transpose(-2, -1)

    def squeeze(self, dim: Any = None) -> Tensor:
        """Remove dimensions of size 1 (all, or those in ``dim`` that have size 1)."""
        axes = normalize_dims(dim, self.ndim, "squeeze")
        shape = tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        return self.reshape(shape)

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a dimension of size 1 at ``dim``."""
        d = _one_dim(dim, self.ndim + 1, "unsqueeze")
        shape = self.shape
        return self.reshape((*shape[:d], 1, *shape[d:]))

    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to ``sizes`` without copying (-1 keeps a dimension)."""
        sizes = shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(
                f"expand(): the number of sizes ({len(sizes)}) must be at least the number of "
                f"dimensions ({self.ndim})"
            )
        target = tuple(
            self.shape[i - lead] if (s == -1 and i >= lead) else int(s) for i, s in enumerate(sizes)
        )
        for i, n in enumerate(self.shape):
            if n != 1 and n != target[i + lead]:
                raise ValueError(
                    f"expand(): the expanded size {target[i + lead]} must match the existing "
                    f"size {n} at dimension {i} (shape {self.shape} to {target})"
                )
        if target == self.shape:
            return self
        out = apply_op(ops.Expand, self, shape=target)
        return make_view(self, out, lambda a: xp.broadcast_to(a, target))

    def expand_as(self, other: Tensor) -> Tensor:
        """Broadcast to ``other``'s shape."""
        return self.expand(*other.shape)

    def __getitem__(self, idx: Any) -> Tensor:
        key, advanced = _index_key(idx)
        try:
            out = apply_op(ops.Index, self, idx=key, advanced=advanced)
        except IndexError as e:
            raise IndexError(
                f"index {idx!r} is out of range for a tensor of shape {self.shape}: {e}"
            ) from None
        return out if advanced else make_view(self, out, lambda a: a[key])

    def __setitem__(self, idx: Any, value: Any) -> None:
        """``t[idx] = value`` in place, recorded by autograd (PyTorch's ``index_put_``)."""
        check_writable(self, "__setitem__")
        key, _ = _index_key(idx)
        v = (
            value
            if isinstance(value, Tensor)
            else wrap_array(to_array(value, self.dtype, "setitem"))
        )
        if v.array.dtype != self.array.dtype:
            v = v.to(self.array.dtype)  # PyTorch casts the values to the tensor's dtype
        try:
            if not (_GradMode.enabled and (self._requires_grad or v._requires_grad)):
                write(self, v.array, "__setitem__", key)
                counter(self)[0] += 1
                return
            res = apply_op(IndexPut, source(self, True), v, idx=key)
        except IndexError as e:
            raise IndexError(
                f"index {idx!r} is out of range for a tensor of shape {self.shape}: {e}"
            ) from None
        commit(self, res, "__setitem__")

    # ------------------------------------------------------------ in-place operations
    def _update(self, op: str, fn: Any, *args: Any) -> Tensor:
        """Compute ``fn(self, *args)`` out of place, then write it into self (see versions.py)."""
        check_writable(self, op)
        rec = _GradMode.enabled and (
            self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
        )
        return commit(self, fn(source(self, rec), *args), op)

    def add_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        """``self += alpha * other`` in place."""
        return self._update("add_", Tensor.__add__, other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        """``self -= alpha * other`` in place."""
        return self._update("sub_", Tensor.__sub__, other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        """``self *= other`` in place."""
        return self._update("mul_", Tensor.__mul__, other)

    def div_(self, other: Any) -> Tensor:
        """``self /= other`` in place (an integer tensor raises: the result is float)."""
        return self._update("div_", Tensor.__truediv__, other)

    def pow_(self, exponent: Any) -> Tensor:
        """``self **= exponent`` in place."""
        return self._update("pow_", Tensor.__pow__, exponent)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ipow__ = pow_

    def neg_(self) -> Tensor:
        """Negate in place."""
        return self._update("neg_", Tensor.__neg__)

    def abs_(self) -> Tensor:
        """Absolute value in place."""
        return self._update("abs_", Tensor.__abs__)

    def exp_(self) -> Tensor:
        """e**x in place."""
        return self._update("exp_", Tensor.exp)

    def log_(self) -> Tensor:
        """Natural logarithm in place."""
        return self._update("log_", Tensor.log)

    def sqrt_(self) -> Tensor:
        """Square root in place."""
        return self._update("sqrt_", Tensor.sqrt)

    def relu_(self) -> Tensor:
        """max(x, 0) in place."""
        return self._update("relu_", Tensor.relu)

    def sigmoid_(self) -> Tensor:
        """The logistic function in place."""
        return self._update("sigmoid_", Tensor.sigmoid)

    def tanh_(self) -> Tensor:
        """Hyperbolic tangent in place."""
        return self._update("tanh_", Tensor.tanh)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        """Limit values to [min, max] in place."""
        return self._update("clamp_", Tensor.clamp, min, max)

    clip_ = clamp_

    def clamp_min_(self, min: Any) -> Tensor:
        """Limit values to [min, inf) in place."""
        return self._update("clamp_min_", Tensor.clamp, min, None)

    def clamp_max_(self, max: Any) -> Tensor:
        """Limit values to (-inf, max] in place."""
        return self._update("clamp_max_", Tensor.clamp, None, max)

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        """Replace the elements where ``mask`` is True by ``value``, in place."""
        return self._update("masked_fill_", Tensor.masked_fill, mask, value)

    def fill_(self, value: Any) -> Tensor:
        """Set every element to ``value`` (a number or a one-element tensor), in place."""
        return self._overwrite("fill_", value)

    def zero_(self) -> Tensor:
        """Set every element to 0 in place."""
        return self._overwrite("zero_", 0)

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src``'s values (broadcast, cast to this dtype) into self; gradients go to src."""
        s = src if isinstance(src, Tensor) else wrap_array(to_array(src, self.dtype, "copy_"))
        if s.array.dtype != self.array.dtype:
            s = s.to(self.array.dtype)
        return self._overwrite("copy_", s)

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with samples from U(a, b), in place, from ``generator`` as ``nn.init.uniform_``."""
        _check_float(self, "uniform_")
        return self._overwrite("uniform_", get_rng(generator).uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with samples from N(mean, std**2), in place, as ``nn.init.normal_``."""
        _check_float(self, "normal_")
        return self._overwrite("normal_", get_rng(generator).normal(mean, std, self.shape))

    def _overwrite(self, op: str, value: Any) -> Tensor:
        """Replace every value; the old values get a zero gradient, a tensor ``value`` its sum."""
        check_writable(self, op)
        v = value if isinstance(value, Tensor) else None
        if not (
            _GradMode.enabled and (self._requires_grad or (v is not None and v._requires_grad))
        ):
            if v is not None and xp.broadcast_shapes(v.shape, self.shape) != self.shape:
                raise RuntimeError(
                    f"{op}(): cannot broadcast a tensor of shape {list(v.shape)} to "
                    f"{list(self.shape)}"
                )
            write(self, value.array if v is not None else value, op)
            counter(self)[0] += 1
            return self
        if v is None:
            v = wrap_array(xp.asarray(value, dtype=self.array.dtype))
        everywhere = wrap_array(xp.ones(self.shape, dtype=bool))
        return commit(self, where(everywhere, v, source(self, True)), op)

    # ------------------------------------------------------------ PyTorch's wider surface
    # Each method below either calls one op of ops/ or composes recorded ones; the
    # functions of the same names (retrograd.gather, ...) are in tensor_functions.py.

    @property
    def device(self) -> Any:
        """The device the values live on: always ``retrograd.device('cpu')``."""
        return CPU

    @property
    def is_cuda(self) -> bool:
        """False: this build runs on the CPU only."""
        return False

    def cpu(self) -> Tensor:
        """Return self: every tensor lives on the CPU."""
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        """Raises: this build runs on the CPU only (``retrograd.cuda.is_available()`` is False)."""
        check_device("cuda" if device is None else device, "Tensor.cuda")
        return self

    def pin_memory(self) -> Tensor:
        """Return self: there is no GPU to copy to, so no page-locked memory is needed."""
        return self

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """Return self: NumPy arrays of any layout serve every op."""
        return self

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """Whether the values are stored in C order (transposes are views that are not)."""
        return bool(self.array.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        """True for float32 and float64 tensors."""
        return self.array.dtype.kind == "f"

    def element_size(self) -> int:
        """Bytes per element."""
        return self.array.itemsize

    def nelement(self) -> int:
        """The number of elements (an alias of :meth:`numel`)."""
        return self.array.size

    def type_as(self, other: Tensor) -> Tensor:
        """Cast to ``other``'s dtype."""
        return self.to(other.array.dtype)

    def _new(self, array: Any, dtype: DTypeLike, requires_grad: bool, op: str) -> Tensor:
        out = new_tensor(array.astype(self.array.dtype if dtype is None else as_dtype(dtype, op)))
        out.requires_grad = requires_grad
        return out

    def new_zeros(
        self, *size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        """Zeros of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        check_device(device, "new_zeros")
        return self._new(xp.zeros(shape_arg(size)), dtype, requires_grad, "new_zeros")

    def new_ones(
        self, *size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        """Ones of ``size``, with this tensor's dtype unless ``dtype`` is given."""
        check_device(device, "new_ones")
        return self._new(xp.ones(shape_arg(size)), dtype, requires_grad, "new_ones")

    def new_empty(
        self, *size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        """A tensor of ``size`` (filled with zeros), with this tensor's dtype by default."""
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        *,
        dtype: DTypeLike = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """``fill_value`` in ``size``, with this tensor's dtype unless ``dtype`` is given."""
        check_device(device, "new_full")
        return self._new(xp.full(shape_arg((size,)), fill_value), dtype, requires_grad, "new_full")

    def new_tensor(
        self, data: Any, *, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        """A copy of ``data``, with this tensor's dtype unless ``dtype`` is given."""
        check_device(device, "new_tensor")
        return self._new(to_array(data, None, "new_tensor"), dtype, requires_grad, "new_tensor")

    def multinomial(
        self, num_samples: int, replacement: bool = False, *, generator: Any = None
    ) -> Tensor:
        """Indices drawn with probabilities proportional to self; see ``retrograd.multinomial``."""
        return new_tensor(sample_multinomial(self.array, num_samples, replacement, generator))

    # elementwise math
    def log2(self) -> Tensor:
        """Elementwise base-2 logarithm."""
        return self.log() / 0.6931471805599453

    def log10(self) -> Tensor:
        """Elementwise base-10 logarithm."""
        return self.log() / 2.302585092994046

    def log1p(self) -> Tensor:
        """Elementwise ``log(1 + x)``, exact for tiny x."""
        return apply_op(ops.Log1p, _as_float(self))

    def expm1(self) -> Tensor:
        """Elementwise ``exp(x) - 1``, exact for tiny x."""
        return apply_op(ops.Expm1, _as_float(self))

    def rsqrt(self) -> Tensor:
        """Elementwise ``1 / sqrt(x)``."""
        return _as_float(self) ** -0.5

    def reciprocal(self) -> Tensor:
        """Elementwise ``1 / x``."""
        return _as_float(self) ** -1

    def square(self) -> Tensor:
        """Elementwise ``x * x``."""
        return self**2

    def sinh(self) -> Tensor:
        """Elementwise hyperbolic sine."""
        return apply_op(ops.Sinh, _as_float(self))

    def cosh(self) -> Tensor:
        """Elementwise hyperbolic cosine."""
        return apply_op(ops.Cosh, _as_float(self))

    def asin(self) -> Tensor:
        """Elementwise arcsine (NaN outside [-1, 1])."""
        return apply_op(ops.Asin, _as_float(self))

    def acos(self) -> Tensor:
        """Elementwise arccosine (NaN outside [-1, 1])."""
        return apply_op(ops.Acos, _as_float(self))

    def atan(self) -> Tensor:
        """Elementwise arctangent."""
        return apply_op(ops.Atan, _as_float(self))

    arcsin = asin
    arccos = acos
    arctan = atan

    def erf(self) -> Tensor:
        """Elementwise error function."""
        return apply_op(ops.Erf, _as_float(self))

    def _rounding(self, fn: str) -> Tensor:
        if self.array.dtype.kind != "f":  # integers are already whole: a copy, as PyTorch
            return wrap_array(ROUNDING[fn](self.array).astype(self.array.dtype))
        return apply_op(ops.Rounding, self, fn=fn)

    def round(self, decimals: int = 0) -> Tensor:
        """Round to ``decimals`` places, halves to even (gradient 0, as PyTorch)."""
        if decimals == 0:
            return self._rounding("round")
        scale = 10.0**decimals
        return (self * scale)._rounding("round") / scale

    def floor(self) -> Tensor:
        """Elementwise floor (gradient 0)."""
        return self._rounding("floor")

    def ceil(self) -> Tensor:
        """Elementwise ceiling (gradient 0)."""
        return self._rounding("ceil")

    def trunc(self) -> Tensor:
        """Round toward zero (gradient 0)."""
        return self._rounding("trunc")

    fix = trunc

    def sign(self) -> Tensor:
        """-1, 0 or 1 by the sign of each element (gradient 0)."""
        return self._rounding("sign")

    def frac(self) -> Tensor:
        """The fractional part ``x - trunc(x)``."""
        return self - self.trunc()

    def __floordiv__(self, other: Any) -> Tensor:
        a, b = self._pair(other)
        if a.array.dtype.kind != "f":
            return wrap_array(xp.floor_divide(a.array, b.array))
        return (a / b).floor()

    def __rfloordiv__(self, other: Any) -> Tensor:
        return self._operand(other).__floordiv__(self)

    def __mod__(self, other: Any) -> Tensor:
        a, b = self._pair(other)
        if a.array.dtype.kind != "f":
            return wrap_array(xp.remainder(a.array, b.array))
        return a - (a / b).floor() * b  # Python's sign convention, as torch.remainder

    def __rmod__(self, other: Any) -> Tensor:
        return self._operand(other).__mod__(self)

    remainder = __mod__
    floor_divide = __floordiv__

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """``self + weight * (end - self)``, differentiable in all three."""
        return self + weight * (end - self)

    def isnan(self) -> Tensor:
        """True where the value is NaN."""
        return wrap_array(xp.isnan(self.array))

    def isinf(self) -> Tensor:
        """True where the value is +-inf."""
        return wrap_array(xp.isinf(self.array))

    def isfinite(self) -> Tensor:
        """True where the value is neither NaN nor infinite."""
        return wrap_array(xp.isfinite(self.array))

    def nan_to_num(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Tensor:
        """NaN, +inf, -inf replaced (default 0, the dtype's largest and smallest); gradient g
        where the value was finite, 0 elsewhere, as PyTorch."""
        fixed = xp.nan_to_num(self.array, nan=nan, posinf=posinf, neginf=neginf)
        if self.array.dtype.kind != "f":
            return wrap_array(fixed)
        return where(wrap_array(xp.isfinite(self.array)), self, wrap_array(fixed))

    def logical_not(self) -> Tensor:
        """Elementwise not (bool result)."""
        return wrap_array(xp.logical_not(self.array))

    def logical_and(self, other: Any) -> Tensor:
        """Elementwise and (bool result)."""
        return self._compare(other, xp.logical_and)

    def logical_or(self, other: Any) -> Tensor:
        """Elementwise or (bool result)."""
        return self._compare(other, xp.logical_or)

    def __xor__(self, other: Any) -> Tensor:
        return self._compare(other, xp.bitwise_xor)

    def equal(self, other: Tensor) -> bool:
        """True when ``other`` has the same shape and the same values."""
        o = to_tensor(other)
        return self.shape == o.shape and bool((self.array == o.array).all())

    def isclose(
        self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
    ) -> Tensor:
        """Elementwise ``|self - other| <= atol + rtol * |other|``."""
        o = self._operand(other)
        return wrap_array(
            xp.isclose(self.array, o.array, rtol=rtol, atol=atol, equal_nan=equal_nan)
        )

    def allclose(
        self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
    ) -> bool:
        """True when :meth:`isclose` holds everywhere."""
        return bool(self.isclose(other, rtol, atol, equal_nan).array.all())

    # reductions and running sums
    def prod(
        self,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        dtype: DTypeLike = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Product over all elements or along ``dim``; gradient exact where an element is 0."""
        t = self if dtype is None else self.to(dtype)
        if t.array.dtype.kind in "biu":
            axis = None if dim is None else _one_dim(dim, t.ndim, "prod")
            return wrap_array(
                xp.asarray(t.array.prod(axis=axis, keepdims=_keep(keepdim, keepdims), dtype=_INT64))
            )
        axis = None if dim is None else _one_dim(dim, t.ndim, "prod")
        keep = _keep(keepdim, keepdims) if dim is not None else False
        return apply_op(ops.Prod, t, axis=axis if t.ndim else None, keepdim=keep)

    def cumsum(self, dim: int, *, dtype: DTypeLike = None) -> Tensor:
        """Running sum along ``dim`` (integers sum as int64, as PyTorch)."""
        return _running(self if dtype is None else self.to(dtype), ops.Cumsum, xp.cumsum, dim)

    def cumprod(self, dim: int, *, dtype: DTypeLike = None) -> Tensor:
        """Running product along ``dim``; gradient exact where an element is 0."""
        return _running(self if dtype is None else self.to(dtype), ops.Cumprod, xp.cumprod, dim)

    def norm(
        self,
        p: Any = "fro",
        dim: Any = None,
        keepdim: bool = False,
        dtype: DTypeLike = None,
        *,
        keepdims: bool | None = None,
    ) -> Tensor:
        """The ``p``-norm over ``dim`` (all elements by default), as ``torch.norm``.

        ``p`` is a number (2, 1, inf, -inf, 0 or any other), or ``'fro'`` (the
        2-norm of the elements). ``'nuc'`` raises: no singular values here.
        """
        t = _as_float(self if dtype is None else self.to(dtype))
        return apply_op(
            ops.Norm,
            t,
            p=_norm_order(p, "norm"),
            axes=normalize_dims(dim, t.ndim, "norm"),
            keepdim=_keep(keepdim, keepdims),
        )

    # indexing by tensors
    def gather(self, dim: int, index: Tensor) -> Tensor:
        """``out[i][j] = self[index[i][j]][j]`` for ``dim == 0`` (and so on), as PyTorch."""
        axis = _one_dim(dim, self.ndim, "gather")
        idx = _index_array(index, self, axis, "gather")
        return apply_op(ops.Index, self, idx=along(idx, axis), advanced=True)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        """:meth:`gather` with ``indices`` broadcast against self (``dim=None``: flattened)."""
        if dim is None:
            return self.reshape(-1).gather(0, to_tensor(indices).reshape(-1))
        axis = _one_dim(dim, self.ndim, "take_along_dim")
        idx = _int_array(indices, "take_along_dim")
        a_shape = list(self.shape)
        i_shape = list(idx.shape)
        a_shape[axis] = i_shape[axis] = 1
        common = xp.broadcast_shapes(tuple(a_shape), tuple(i_shape))
        src = self.expand(*common[:axis], self.shape[axis], *common[axis + 1 :])
        idx = xp.broadcast_to(idx, (*common[:axis], idx.shape[axis], *common[axis + 1 :]))
        return src.gather(axis, wrap_array(idx))

    def _scatter(self, op: str, dim: int, index: Tensor, src: Any, add: bool) -> Tensor:
        axis = _one_dim(dim, self.ndim, op)
        idx = _index_array(index, self, axis, op)
        if not isinstance(src, Tensor):  # a number: the value everywhere index points
            src = wrap_array(xp.full(idx.shape, src, dtype=self.array.dtype))
        if src.ndim != idx.ndim or any(i > s for i, s in zip(idx.shape, src.shape, strict=True)):
            raise ValueError(
                f"{op}(): index of shape {idx.shape} must not be larger than src of shape "
                f"{src.shape} in any dimension"
            )
        if src.array.dtype != self.array.dtype:
            src = src.to(self.array.dtype)
        head = tuple(slice(0, n) for n in idx.shape)
        return apply_op(ops.Scatter, self, src, key=along(idx, axis), head=head, add=add)

    def scatter(
        self,
        dim: int,
        index: Tensor,
        src: Any = None,
        *,
        value: Any = None,
        reduce: str | None = None,
    ) -> Tensor:
        """A copy with ``self[index[i][j]][j] = src[i][j]`` (dim 0, ...); src may be a number."""
        if reduce is not None:
            if reduce != "add":
                raise ValueError(
                    f"scatter(): reduce={reduce!r} is not supported; only 'add' (scatter_add)"
                )
            return self.scatter_add(dim, index, src if src is not None else value)
        if (src is None) == (value is None):
            raise TypeError("scatter(): give exactly one of src and value")
        return self._scatter("scatter", dim, index, src if src is not None else value, add=False)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """A copy with ``src`` added at the places ``index`` names (repeats accumulate)."""
        return self._scatter("scatter_add", dim, index, src, add=True)

    def scatter_(
        self,
        dim: int,
        index: Tensor,
        src: Any = None,
        *,
        value: Any = None,
        reduce: str | None = None,
    ) -> Tensor:
        """:meth:`scatter` in place."""

        def scatter(t: Tensor, src: Any) -> Tensor:
            return t.scatter(dim, index, src, value=value, reduce=reduce)

        return self._update("scatter_", scatter, src)

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """:meth:`scatter_add` in place."""
        return self._update("scatter_add_", Tensor.scatter_add, dim, index, src)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        """The slices at ``index`` (a 1-D integer tensor) along ``dim``."""
        axis = _one_dim(dim, self.ndim, "index_select")
        idx = _int_array(index, "index_select")
        if idx.ndim > 1:
            raise ValueError(f"index_select(): index must be 0-D or 1-D, got shape {idx.shape}")
        return self[(slice(None),) * axis + (idx.reshape(-1),)]

    def masked_select(self, mask: Tensor) -> Tensor:
        """The elements where ``mask`` is True, as a 1-D tensor (mask and self broadcast)."""
        m = to_tensor(mask)
        if m.array.dtype != _BOOL:
            raise TypeError(f"masked_select(): mask must be a bool tensor, got {m.dtype}")
        shape = xp.broadcast_shapes(self.shape, m.shape)
        src = self if self.shape == shape else self.expand(*shape)
        return src[wrap_array(xp.broadcast_to(m.array, shape))]

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The indices of the nonzero elements: an (n, ndim) int64 tensor, or one per dim."""
        idx = xp.nonzero(self.array) if self.ndim else xp.nonzero(self.array.reshape(1))
        if as_tuple:
            return tuple(wrap_array(i.astype(_INT64)) for i in idx)
        if self.ndim == 0:  # torch: one row of no coordinates if the value is nonzero
            return wrap_array(xp.zeros((len(idx[0]), 0), dtype=_INT64))
        return wrap_array(xp.stack(idx, axis=1).astype(_INT64))

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> MaxResult:
        """``(values, indices)`` sorted along ``dim``; ties keep their order (a stable sort)."""
        idx = _argsort(self, dim, descending, "sort")
        if self.ndim == 0:
            return MaxResult(self.clone(), wrap_array(idx))
        return MaxResult(self.gather(dim, wrap_array(idx)), wrap_array(idx))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """The indices that sort along ``dim`` (ties in their order)."""
        return wrap_array(_argsort(self, dim, descending, "argsort"))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MaxResult:
        """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
        axis = _one_dim(dim, self.ndim, "topk") if self.ndim else 0
        n = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= n:
            raise ValueError(
                f"topk(): k ({k}) must be in [0, {n}] for dimension {dim} of shape {self.shape}"
            )
        idx = _argsort(self, dim, largest, "topk")
        idx = xp.take(idx, xp.arange(k), axis=axis) if self.ndim else idx
        if self.ndim == 0:
            return MaxResult(self.clone(), wrap_array(idx))
        return MaxResult(self.gather(axis, wrap_array(idx)), wrap_array(idx))

    def unique(
        self,
        sorted: bool = True,
        return_inverse: bool = False,
        return_counts: bool = False,
        dim: int | None = None,
    ) -> Any:
        """The distinct values in ascending order; with the inverse indices and counts if asked."""
        if dim is not None:
            raise NotImplementedError("unique(dim=...) is not supported; flatten first")
        vals, inverse, counts = xp.unique(self.array, return_inverse=True, return_counts=True)
        out: list[Tensor] = [wrap_array(vals)]
        if return_inverse:
            out.append(wrap_array(inverse.reshape(self.shape).astype(_INT64)))
        if return_counts:
            out.append(wrap_array(counts.astype(_INT64)))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        """How often each value 0, 1, ... occurs in a 1-D non-negative integer tensor."""
        if self.ndim != 1 or self.array.dtype.kind not in "iu":
            raise ValueError(
                f"bincount(): expected a 1-D integer tensor, got shape {self.shape}, {self.dtype}"
            )
        w = None if weights is None else to_tensor(weights).array
        out = xp.bincount(self.array, weights=w, minlength=minlength)
        return wrap_array(out if w is not None else out.astype(_INT64))

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
        """Counts in ``bins`` equal bins over [min, max] (the data's range when both are 0)."""
        _check_float(self, "histc")
        lo, hi = float(min), float(max)
        if lo == hi and self.array.size:
            lo, hi = float(self.array.min()), float(self.array.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        counts, _ = xp.histogram(self.array, bins=bins, range=(lo, hi))
        return wrap_array(counts.astype(self.array.dtype))

    def histogram(
        self,
        bins: Any = 100,
        *,
        range: Any = None,
        weight: Tensor | None = None,
        density: bool = False,
    ) -> Any:
        """``(hist, bin_edges)`` as ``torch.histogram``: ``bins`` a count or the edges."""
        _check_float(self, "histogram")
        edges = to_tensor(bins).array if isinstance(bins, (Tensor, list)) else int(bins)
        w = None if weight is None else to_tensor(weight).array
        hist, e = xp.histogram(self.array, bins=edges, range=range, weights=w, density=density)
        return HistogramResult(
            wrap_array(hist.astype(self.array.dtype)), wrap_array(e.astype(self.array.dtype))
        )

    # shape
    def flip(self, *dims: Any) -> Tensor:
        """Reverse the order along each of ``dims``."""
        axes = normalize_dims(shape_arg(dims), self.ndim, "flip")
        return apply_op(ops.Flip, self, axes=axes) if axes else self.clone()

    def fliplr(self) -> Tensor:
        """Reverse the columns (dimension 1)."""
        return self.flip(1)

    def flipud(self) -> Tensor:
        """Reverse the rows (dimension 0)."""
        return self.flip(0)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """Shift the elements cyclically by ``shifts`` along ``dims`` (flattened when None)."""
        sh = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        if dims is None:
            if len(sh) != 1:
                raise ValueError(f"roll(): without dims, shifts must be one int, got {shifts!r}")
            return apply_op(ops.Roll, self.reshape(-1), shifts=sh, axes=None).reshape(self.shape)
        ds = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(ds) != len(sh):
            raise ValueError(
                f"roll(): shifts {shifts!r} and dims {dims!r} must have the same length"
            )
        axes = tuple(_one_dim(d, self.ndim, "roll") for d in ds)
        return apply_op(ops.Roll, self, shifts=tuple(int(s) for s in sh), axes=axes)

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile the tensor ``sizes[i]`` times along each dimension (extra sizes add dimensions)."""
        reps = shape_arg(sizes)
        if len(reps) < self.ndim:
            raise ValueError(
                f"repeat(): the number of repeats ({len(reps)}) can not be smaller than the "
                f"number of dimensions ({self.ndim})"
            )
        return apply_op(ops.Repeat, self, reps=reps)

    def tile(self, *dims: Any) -> Tensor:
        """:meth:`repeat`, with missing leading repeats taken as 1."""
        reps = shape_arg(dims)
        return self.repeat((1,) * (self.ndim - len(reps)) + reps)

    def repeat_interleave(
        self, repeats: Any, dim: int | None = None, *, output_size: int | None = None
    ) -> Tensor:
        """Repeat each element (or slice along ``dim``) ``repeats`` times, next to itself."""
        src = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else _one_dim(dim, self.ndim, "repeat_interleave")
        reps = to_tensor(repeats).array if isinstance(repeats, (Tensor, list)) else int(repeats)
        idx = xp.repeat(xp.arange(src.shape[axis]), reps)
        return src.index_select(axis, wrap_array(idx))

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """The slice ``start:start + length`` along ``dim`` (a view)."""
        axis = _one_dim(dim, self.ndim, "narrow")
        n = self.shape[axis]
        start = int(start) + (n if int(start) < 0 else 0)
        if not (0 <= start and length >= 0 and start + length <= n):
            raise IndexError(
                f"narrow(): start {start} + length {length} exceeds dimension {dim} of size {n}"
            )
        return self[(slice(None),) * axis + (slice(start, start + length),)]

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of listed sizes."""
        axis = _one_dim(dim, self.ndim, "split")
        n = self.shape[axis]
        if isinstance(split_size_or_sections, int):
            size = split_size_or_sections
            if size <= 0:
                raise ValueError(f"split(): split_size must be positive, got {size}")
            sizes = [min(size, n - i) for i in range(0, n, size)] or [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n:
                raise ValueError(f"split(): sizes {sizes} must sum to dimension {dim}'s size {n}")
        out, start = [], 0
        for s in sizes:
            out.append(self.narrow(axis, start, s))
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most ``chunks`` pieces of equal size (ceil(n / chunks)) along ``dim``."""
        if chunks <= 0:
            raise ValueError(f"chunk(): chunks must be positive, got {chunks}")
        n = self.shape[_one_dim(dim, self.ndim, "chunk")]
        return self.split(max(-(-n // chunks), 1), dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, that dimension removed."""
        axis = _one_dim(dim, self.ndim, "unbind")
        lead = (slice(None),) * axis
        return tuple(self[(*lead, i)] for i in range(self.shape[axis]))

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dimensions (zeros above ``diagonal``)."""
        return _triangle(self, diagonal, lower=True)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dimensions (zeros below ``diagonal``)."""
        return _triangle(self, diagonal, lower=False)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal ``offset`` above the main one of the matrix in ``dim1``, ``dim2``.

        The diagonal's dimension comes last, as PyTorch's.
        """
        a, b = _one_dim(dim1, self.ndim, "diagonal"), _one_dim(dim2, self.ndim, "diagonal")
        if a == b:
            raise ValueError(f"diagonal(): dim1 and dim2 must differ, got {dim1} and {dim2}")
        rest = [d for d in range(self.ndim) if d not in (a, b)]
        m = self.permute(*rest, a, b)
        rows, cols = m.shape[-2], m.shape[-1]
        start_r, start_c = max(-offset, 0), max(offset, 0)
        n = max(min(rows - start_r, cols - start_c), 0)
        i = xp.arange(n)
        return m[(Ellipsis, i + start_r, i + start_c)]

    def diag(self, diagonal: int = 0) -> Tensor:
        """A vector: the square matrix with it on diagonal ``diagonal``; a matrix: its diagonal."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise ValueError(f"diag(): expects a 1-D or 2-D tensor, got shape {self.shape}")
        n = self.shape[0] + abs(diagonal)
        out = self.new_zeros(n, n)
        i = xp.arange(self.shape[0])
        rows, cols = (i, i + diagonal) if diagonal >= 0 else (i - diagonal, i)
        mask = xp.zeros((n, n), dtype=bool)
        mask[rows, cols] = True
        placed = xp.zeros((n, n), dtype=xp.int64)
        placed[rows, cols] = i
        return where(wrap_array(mask), self[placed.reshape(-1)].reshape(n, n), out)

    def trace(self) -> Tensor:
        """The sum of the main diagonal of a matrix."""
        if self.ndim != 2:
            raise ValueError(f"trace(): expects a matrix, got shape {self.shape}")
        return self.diagonal().sum()

    # products
    def mm(self, mat2: Tensor) -> Tensor:
        """The product of two matrices (2-D only, as PyTorch's)."""
        _check_ndim("mm", (self, 2), (mat2, 2))
        return matmul(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        """The product of two batches of matrices (3-D, same batch size)."""
        _check_ndim("bmm", (self, 3), (mat2, 3))
        if self.shape[0] != mat2.shape[0]:
            raise ValueError(f"bmm(): batch sizes differ: {self.shape} and {mat2.shape}")
        return matmul(self, mat2)

    def mv(self, vec: Tensor) -> Tensor:
        """The product of a matrix and a vector."""
        _check_ndim("mv", (self, 2), (vec, 1))
        return matmul(self, vec)

    def dot(self, other: Tensor) -> Tensor:
        """The inner product of two 1-D tensors."""
        _check_ndim("dot", (self, 1), (other, 1))
        return matmul(self, other)

    inner = dot

    def outer(self, vec2: Tensor) -> Tensor:
        """The outer product of two 1-D tensors: ``out[i, j] = self[i] * vec2[j]``."""
        _check_ndim("outer", (self, 1), (vec2, 1))
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def __format__(self, spec: str) -> str:
        """Format a one-element tensor as its number (``f"{loss:.4f}"``); others as repr."""
        if self.array.ndim == 0 or (spec and self.array.size == 1):
            return format(self.array.item(), spec)
        return format(repr(self), spec)


def source(t: Tensor, recording: bool) -> Tensor:
    """The tensor an in-place op reads ``t``'s old values from.

    When the op is recorded, a copy: the op may save it for backward, and ``t``'s
    memory is about to be overwritten. The copy keeps ``t``'s place in the graph.
    """
    if not recording:
        return t
    return wrap_array(t.array.copy(), t._requires_grad, t._ctx)


def commit(t: Tensor, res: Tensor, op: str) -> Tensor:
    """Write ``res`` (computed from ``t``) into ``t``, cast to its dtype (autograd/versions.py)."""
    if check_result(t, res, op) and res._ctx is not None:
        res = apply_op(ops.Cast, res, dtype=t.array.dtype)
    return commit_write(t, res, op)


def _permute(t: Tensor, dims: tuple[int, ...]) -> Tensor:
    return make_view(t, apply_op(ops.Permute, t, dims=dims), lambda a: a.transpose(dims))


def zero_grads(params: Any, set_to_none: bool = True) -> None:
    """Reset the ``.grad`` of every tensor in ``params`` (Module.zero_grad and Optimizer's).

    ``set_to_none`` drops the gradient; otherwise it is filled with zeros (in
    place when its array is writeable).
    """
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        elif p.grad.array.flags.writeable:
            p.grad.array.fill(0)
        else:
            p.grad = wrap_array(xp.zeros_like(p.grad.array))


# ---------------------------------------------------------------- helpers of the methods


def to_arguments(args: tuple[Any, ...], device: Any, dtype: Any) -> tuple[Any, Any]:
    """The device and dtype named by ``.to(...)``'s positional forms (Tensor's and Module's).

    ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` (its dtype);
    a bool is ``non_blocking`` (nothing is asynchronous here).
    """
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.array.dtype
        elif isinstance(arg, bool):
            continue
        elif is_device(arg):
            device = arg
        else:
            dtype = arg
    return device, dtype


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    """``keepdims=`` is NumPy's spelling, which PyTorch accepts as ``keepdim=``."""
    return keepdim if keepdims is None else keepdims


def _correction(unbiased: bool | None, correction: float | None) -> float:
    if unbiased is not None and correction is not None:
        raise ValueError("var/std: give either unbiased or correction, not both")
    if correction is not None:
        return float(correction)
    return 0.0 if unbiased is False else 1.0


def _spread(
    t: Tensor,
    op_class: type[ops.Var],  # or ops.Std, a Var subclass
    dim: Any,
    unbiased: bool | None,
    keepdim: bool,
    correction: float | None,
) -> Tensor:
    """:meth:`Tensor.var` or :meth:`Tensor.std` (``op_class``), arguments read as PyTorch's."""
    op = op_class.__name__.lower()
    _check_float(t, op)
    return apply_op(
        op_class,
        t,
        axes=normalize_dims(dim, t.ndim, op),
        keepdim=keepdim,
        correction=_correction(unbiased, correction),
    )


def _running(
    t: Tensor, op_class: type[ops.Cumsum | ops.Cumprod], accumulate: Any, dim: int
) -> Tensor:
    """:meth:`Tensor.cumsum` or :meth:`Tensor.cumprod` (``op_class``) along ``dim``.

    Integers and bools accumulate through NumPy's ``accumulate`` into int64, with no
    gradient, as PyTorch.
    """
    op = op_class.__name__.lower()
    if t.array.dtype.kind in "biu":
        axis = _one_dim(dim, t.ndim, op) if t.ndim else None
        return wrap_array(accumulate(t.array, axis=axis, dtype=_INT64).reshape(t.shape))
    if t.ndim == 0:
        return t.clone()
    return apply_op(op_class, t, axis=_one_dim(dim, t.ndim, op))


def _true_div(a: Tensor, b: Tensor) -> Tensor:
    if a.array.dtype.kind != "f" and b.array.dtype.kind != "f":  # int / int is float, as PyTorch
        a, b = a.float(), b.float()
    return apply_op(ops.Div, a, b)


def _one_dim(dim: Any, ndim: int, op: str) -> int:
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, already valid
        return dim % ndim
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}(): dim must be a single int, got {dim!r}")
    axes = normalize_dims(dim, ndim, op)
    return axes[0] if axes else 0


def shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _infer_shape(
    shape: tuple[int, ...], size: int, src: tuple[int, ...], op: str
) -> tuple[int, ...]:
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1 or any(s < -1 for s in shape):
        raise ValueError(f"{op}(): invalid shape {shape}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if unknown:
        if known == 0 or size % known:
            raise ValueError(
                f"{op}(): shape {shape} is invalid for input of shape {src} ({size} elements)"
            )
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise ValueError(
            f"{op}(): shape {shape} is invalid for input of shape {src} ({size} elements)"
        )
    return shape


def _index_key(idx: Any) -> tuple[Any, bool]:
    """Convert Tensor indices to arrays and report whether indexing is advanced."""
    items = idx if isinstance(idx, tuple) else (idx,)
    out = []
    advanced = False
    for item in items:
        if isinstance(item, Tensor):
            item = item.array
        if isinstance(item, (list, range)):  # t[range(n), y] as the lectures write it
            item = xp.asarray(item)
        if isinstance(item, ndarray):
            if item.dtype.kind not in "iub":
                raise IndexError(
                    f"tensors used as indices must be integer or bool tensors, got {item.dtype}"
                )
            advanced = True
        out.append(item)
    key = tuple(out) if isinstance(idx, tuple) else out[0]
    return key, advanced


def _extreme(t: Tensor, dim: Any, keepdim: bool, smallest: bool, op: str) -> Tensor:
    axes = normalize_dims(dim, t.ndim, op)
    if t.array.size == 0 and (dim is None or any(t.shape[a] == 0 for a in axes)):
        raise RuntimeError(f"{op}(): cannot reduce over an empty dimension of shape {t.shape}")
    if t.array.dtype.kind != "f":
        red = t.array.min if smallest else t.array.max
        return wrap_array(red(axis=axes, keepdims=keepdim))
    return apply_op(ops.AMax, t, axes=axes, keepdim=keepdim, smallest=smallest)


def _max_dim(t: Tensor, dim: Any, keepdim: bool, smallest: bool, op: str) -> MaxResult:
    axis = _one_dim(dim, t.ndim, op)
    if t.ndim == 0:
        return MaxResult(t, wrap_array(xp.zeros((), dtype=_INT64)))
    if t.shape[axis] == 0:
        raise RuntimeError(
            f"{op}(): cannot reduce over dimension {dim} of size 0 (shape {t.shape})"
        )
    if t.array.dtype.kind != "f":
        red = t.array.min if smallest else t.array.max
        values = wrap_array(red(axis=axis, keepdims=keepdim))
    else:
        values = apply_op(ops.MaxDim, t, axis=axis, keepdim=keepdim, smallest=smallest)
    arg = xp.argmin if smallest else xp.argmax
    idx = arg(t.array, axis=axis, keepdims=keepdim).astype(_INT64)
    return MaxResult(values, wrap_array(idx))


def _arg_reduce(t: Tensor, dim: Any, keepdim: bool, fn: Any, op: str) -> Tensor:
    if dim is None:
        out = fn(t.array)
        if keepdim:
            out = xp.reshape(out, (1,) * t.ndim)
        return wrap_array(xp.asarray(out, dtype=_INT64))
    axis = _one_dim(dim, t.ndim, op)
    if t.ndim == 0:
        return wrap_array(xp.zeros((), dtype=_INT64))
    return wrap_array(fn(t.array, axis=axis, keepdims=keepdim).astype(_INT64))


# ---------------------------------------------------------------- helpers of the wider surface


class HistogramResult(NamedTuple):
    """``(hist, bin_edges)`` returned by ``histogram``, as PyTorch's."""

    hist: Tensor
    bin_edges: Tensor


def _as_float(t: Tensor) -> Tensor:
    """Integer and bool tensors become the default float dtype for float math, as PyTorch."""
    return t if t.array.dtype.kind == "f" else t.to(default_float())


def _norm_order(p: Any, op: str) -> float:
    if p == "fro" or p is None:
        return 2.0
    if isinstance(p, str) or not isinstance(p, (int, float)):
        raise ValueError(
            f"{op}(): p={p!r} is not supported; use a number or 'fro' ('nuc' needs an SVD)"
        )
    return float(p)


def _int_array(index: Any, op: str) -> ndarray:
    idx = to_tensor(index).array
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}(): index must be an integer tensor, got dtype {idx.dtype}")
    return idx


def _index_array(index: Any, t: Tensor, axis: int, op: str) -> ndarray:
    """``index`` for gather/scatter, checked as PyTorch: as many dims, sizes that fit, in range."""
    idx = _int_array(index, op)
    if idx.ndim != max(t.ndim, 1) and not (t.ndim == 0 and idx.ndim == 0):
        raise ValueError(
            f"{op}(): index has {idx.ndim} dimensions, self has {t.ndim}; they must match"
        )
    for d, (i, n) in enumerate(zip(idx.shape, t.shape, strict=False)):
        if d != axis and i > n:
            raise ValueError(
                f"{op}(): index of shape {idx.shape} is larger than self {t.shape} in dimension {d}"
            )
    n = t.shape[axis] if t.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{op}(): index out of range for dimension {axis} of size {n}")
    return idx % n if idx.size and idx.min() < 0 else idx


def _argsort(t: Tensor, dim: int, descending: bool, op: str) -> ndarray:
    if t.ndim == 0:
        return xp.zeros((), dtype=_INT64)
    axis = _one_dim(dim, t.ndim, op)
    a = t.array
    if descending:  # stable from the largest: sort the reversed order, map the indices back
        n = a.shape[axis]
        rev = xp.flip(a, axis)
        idx = n - 1 - xp.flip(xp.argsort(rev, axis=axis, kind="stable"), axis)
        return idx.astype(_INT64)
    return xp.argsort(a, axis=axis, kind="stable").astype(_INT64)


def _triangle(t: Tensor, diagonal: int, lower: bool) -> Tensor:
    if t.ndim < 2:
        raise ValueError(
            f"{'tril' if lower else 'triu'}(): expects at least 2 dimensions, got {t.shape}"
        )
    rows, cols = t.shape[-2], t.shape[-1]
    keep = (
        xp.tri(rows, cols, diagonal, dtype=bool)
        if lower
        else ~xp.tri(rows, cols, diagonal - 1, dtype=bool)
    )
    if t.array.dtype.kind != "f" or not t._requires_grad:
        return wrap_array(xp.where(keep, t.array, xp.zeros((), t.array.dtype)))
    return where(wrap_array(keep), t, 0.0)


def _check_ndim(op: str, *pairs: tuple[Tensor, int]) -> None:
    for t, n in pairs:
        if to_tensor(t).ndim != n:
            shapes = " and ".join(str(tuple(to_tensor(u).shape)) for u, _ in pairs)
            wanted = " and ".join(f"{m}-D" for _, m in pairs)
            raise ValueError(f"{op}(): expected {wanted} tensors, got shapes {shapes}")


# ---------------------------------------------------------------- functions over several tensors


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands are vectors, leading axes batch.

    Parameters
    ----------
    a : Tensor of shape (..., n, k) or (k,)
    b : Tensor of shape (..., k, m) or (k,)

    Returns
    -------
    Tensor of shape (..., n, m), with the vector dimensions dropped.
    """
    a, b = to_tensor(a), to_tensor(b)
    try:
        return apply_op(ops.MatMul, a, b)
    except ValueError:
        _check_matmul_shapes(a.shape, b.shape)  # raises the precise message
        raise  # shapes fit but NumPy refused (batch axes): apply_op's message


def _check_matmul_shapes(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    if not sa or not sb:
        raise ValueError(
            f"matmul: both arguments need at least 1 dimension, got shapes {sa} and {sb}"
        ) from None
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(
            f"matmul: shapes {sa} and {sb} cannot be multiplied: the last dimension "
            f"of the first ({ka}) must equal the {'only' if len(sb) == 1 else 'second-to-last'} "
            f"dimension of the second ({kb})"
        ) from None


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """Pick ``input`` where ``condition`` is True and ``other`` elsewhere (broadcasting).

    Gradients flow to ``input`` and ``other``, never to the condition. With the
    condition alone, the indices where it holds (``nonzero(as_tuple=True)``).
    """
    cond = to_tensor(condition)
    if input is None and other is None:
        return cond.nonzero(as_tuple=True)
    if cond.array.dtype != _BOOL:
        raise TypeError(f"where(): condition must be a bool tensor, got {cond.dtype}")
    x = input if isinstance(input, Tensor) else None
    y = other if isinstance(other, Tensor) else None
    if x is None and y is None:
        x, y = to_tensor(input), to_tensor(other)
    elif x is None:
        x = y._operand(input)
    elif y is None:
        y = x._operand(other)
    return apply_op(ops.Where, cond, x, y)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to ``[min, max]``; the gradient passes where min <= x <= max (inclusive).

    Tensor bounds are applied with :func:`maximum`/:func:`minimum`.
    """
    if min is None and max is None:
        raise ValueError("clamp(): at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = out.maximum(min)
        if max is not None:
            out = out.minimum(max)
        return out
    return apply_op(ops.Clamp, input, lo=min, hi=max)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension ``dim``."""
    ts = [to_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("cat(): expected a non-empty sequence of tensors")
    axis = _one_dim(dim, ts[0].ndim, "cat")
    for i, t in enumerate(ts):
        if t.ndim != ts[0].ndim or any(
            n != m for j, (n, m) in enumerate(zip(t.shape, ts[0].shape, strict=True)) if j != axis
        ):
            raise ValueError(
                f"cat(): tensor {i} has shape {t.shape}, which does not match tensor 0's shape "
                f"{ts[0].shape} outside dimension {dim}"
            )
    return apply_op(ops.Cat, *ts, axis=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dimension ``dim``."""
    ts = [to_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("stack(): expected a non-empty sequence of tensors")
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ValueError(
                f"stack(): every tensor must have the same shape, but tensor 0 has {ts[0].shape} "
                f"and tensor {i} has {t.shape}"
            )
    axis = _one_dim(dim, ts[0].ndim + 1, "stack")
    return apply_op(ops.Stack, *ts, axis=axis)


def to_tensor(x: Any) -> Tensor:
    """``x`` as a Tensor: dtypes inferred as ``retrograd.tensor`` does (ints stay int64)."""
    return x if isinstance(x, Tensor) else new_tensor(to_array(x, None, "tensor"))


# The backward walk sits below this module and records gradients as Tensors under
# create_graph=True: hand it the Tensor layer (docs/architecture.md: imports point down).
higher.bind_tensor(sys.modules[__name__])
hooks.bind_tensor(sys.modules[__name__])  # hooks and custom Functions work with Tensors
