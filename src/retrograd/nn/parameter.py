"""``Parameter``: a leaf tensor that a :class:`~retrograd.nn.Module` registers as learnable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._backend import FLOAT_DTYPES, default_float, xp
from ..devices import check_device as _check_device
from ..tensor import Tensor, as_dtype, to_array
from ..validation import is_int

if TYPE_CHECKING:
    from .module import Module


class Parameter(Tensor):
    """A tensor that is a module's learnable parameter, as ``torch.nn.Parameter``.

    Assigning a ``Parameter`` to a module attribute registers it, so that it
    appears in :meth:`Module.parameters` and :meth:`Module.state_dict`.

    Parameters
    ----------
    data : Tensor or array-like, optional
        The initial values. A Tensor's array is shared, not copied (as in
        PyTorch); anything else is converted as :func:`retrograd.tensor` does.
        Default: an empty float32 tensor.
    requires_grad : bool, default=True
        Whether the parameter receives gradients.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = []
        self.array = data.array if isinstance(data, Tensor) else to_array(data, None, "Parameter")
        self.grad = None
        self._ctx = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Parameter, (self.array, self._requires_grad))

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        out = Parameter(self.array.copy(), self._requires_grad)
        if self.grad is not None:
            out.grad = Tensor(self.grad.array)
        memo[id(self)] = out
        return out


def float_dtype(dtype: Any, op: str) -> Any:
    """``dtype`` (default: ``get_default_dtype()``) checked to be a floating dtype."""
    if dtype is None:
        return default_float()
    dt = as_dtype(dtype, op)
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{op}: parameters must have a floating dtype, got {dt}")
    return dt


def empty_parameter(shape: tuple[int, ...], dtype: Any, op: str) -> Parameter:
    """A parameter of ``shape`` whose values the caller initialises."""
    return Parameter(xp.zeros(shape, dtype=float_dtype(dtype, op)))


def affine_parameters(
    module: Module, shape: tuple[int, ...], dtype: Any, op: str, weight: bool, bias: bool
) -> None:
    """Register ``module.weight`` and ``module.bias`` of ``shape``; an absent one (False) is None.

    A normalization layer's affine transform: PyTorch registers the absent ones as
    None, so that ``module.bias`` reads None and the state_dict leaves it out.
    """
    module.register_parameter("weight", empty_parameter(shape, dtype, op) if weight else None)
    module.register_parameter("bias", empty_parameter(shape, dtype, op) if bias else None)


def check_size(value: Any, name: str, op: str, positive: bool = False) -> int:
    """``value`` as an int, checked to be >= 0 (or > 0), with the layer named on error."""
    if not is_int(value):
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < 0 or (positive and value == 0):
        bound = "positive" if positive else "non-negative"
        raise ValueError(f"{op}: {name} must be {bound}, got {value}")
    return int(value)


def check_device(device: Any, op: str) -> None:
    """Accept PyTorch's ``device`` argument where it names the CPU, the only device."""
    _check_device(device, op)
