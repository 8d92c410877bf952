"""``LayerNorm``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import affine_parameters, check_device, check_size


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dimensions, as ``torch.nn.LayerNorm``.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the mean and
    biased variance of each sample's last ``len(normalized_shape)`` dimensions.
    The same in training and evaluation mode.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        The trailing shape to normalise over.
    eps : float, default=1e-5
        Added to the variance before the square root.
    elementwise_affine : bool, default=True
        Learn ``weight`` (initialised to 1) of shape ``normalized_shape``.
    bias : bool, default=True
        Also learn ``bias`` (initialised to 0); only with ``elementwise_affine``.
    device : {None, 'cpu'}, optional
        Accepted for PyTorch compatibility; retrograd runs on the CPU.
    dtype : dtype, optional
        float32 (default) or float64.

    Shape
    -----
    input (*, *normalized_shape) -> output of the same shape.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, "LayerNorm")
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(
            check_size(n, "normalized_shape", "LayerNorm") for n in normalized_shape
        )
        if not self.normalized_shape:
            raise ValueError("LayerNorm: normalized_shape must have at least one dimension")
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        affine = elementwise_affine
        affine_parameters(self, self.normalized_shape, dtype, "LayerNorm", affine, affine and bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Set the weight to 1 and the bias to 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(input).__name__}")
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k :]) != self.normalized_shape:
            dims = ", ".join(map(str, self.normalized_shape))
            raise ValueError(
                f"{self!r}: expected input of shape (*, {dims}), got {tuple(input.shape)}"
            )
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
