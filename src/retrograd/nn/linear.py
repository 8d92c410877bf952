"""``Linear`` and ``Identity``."""

from __future__ import annotations

import math
from typing import Any

from .. import ops
from ..tensor import Tensor, apply_op
from . import functional as F
from . import init
from .module import Module
from .parameter import check_device, check_size, empty_parameter


class Identity(Module):
    """Return the input unchanged; constructor arguments are ignored, as in PyTorch.

    Shape: input (*), output (*), the same.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """Affine map ``y = x @ W.T + b``, as ``torch.nn.Linear``.

    Parameters
    ----------
    in_features : int
        Size of each input sample (the last input dimension).
    out_features : int
        Size of each output sample.
    bias : bool, default=True
        Learn an additive bias.
    device : {None, 'cpu'}, optional
        Accepted for PyTorch compatibility; retrograd runs on the CPU.
    dtype : dtype, optional
        ``retrograd.float32`` (default) or ``retrograd.float64``.

    Attributes
    ----------
    weight : Parameter of shape (out_features, in_features)
        Initialised by ``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(in), 1/sqrt(in)).
    bias : Parameter of shape (out_features,) or None
        Initialised from U(-1/sqrt(in_features), 1/sqrt(in_features)).

    Shape
    -----
    input (*, in_features) -> output (*, out_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, "Linear")
        self.in_features = check_size(in_features, "in_features", "Linear")
        self.out_features = check_size(out_features, "out_features", "Linear")
        self.weight = empty_parameter((self.out_features, self.in_features), dtype, "Linear")
        if bias:
            self.bias = empty_parameter((self.out_features,), dtype, "Linear")
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weights and bias again with PyTorch's default initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        params = self._parameters
        weight, bias = params["weight"], params["bias"]
        data = input.array if type(input) is Tensor else None
        # NOTE: the common case (a 2-D input of the weight's dtype) goes straight to the
        # fused op: F.linear's checks cost as much as the op's Python side on small batches.
        if (
            data is not None
            and data.ndim == 2
            and data.shape[1] == self.in_features
            and data.dtype == weight.array.dtype
            and bias is not None
            and bias.array.dtype == data.dtype
        ):
            return apply_op(ops.Linear, input, weight, bias, has_bias=True)
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (*, {self.in_features}), got "
                f"{tuple(input.shape)}; the last dimension must be in_features"
            )
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
