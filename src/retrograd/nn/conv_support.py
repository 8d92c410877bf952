"""What convolutional networks need around the convolutions: ``BatchNorm2d``, ``Dropout2d``,
``Unflatten``."""

from __future__ import annotations

from collections.abc import Sequence

from ..tensor import Tensor
from ..validation import is_int
from . import functional as F
from .batchnorm import BatchNorm1d
from .dropout import Dropout
from .module import Module


class BatchNorm2d(BatchNorm1d):
    """Normalise each channel over the batch and the plane, as ``torch.nn.BatchNorm2d``.

    The same layer as :class:`BatchNorm1d` (parameters, buffers, state-dict
    keys, momentum rule) for inputs of shape (N, C, H, W): the statistics of
    channel c are taken over N, H and W.

    Shape
    -----
    input (N, C, H, W) -> output of the same shape.
    """

    _layouts = ((4, "(N, {c}, H, W)"),)


class Dropout2d(Dropout):
    """Zero whole channels with probability ``p`` in training, as ``torch.nn.Dropout2d``.

    One draw per (sample, channel); kept channels are scaled by 1/(1-p). In
    evaluation mode the input passes unchanged.

    Parameters
    ----------
    p : float, default=0.5
    inplace : bool, default=False
        Accepted for compatibility; the output is always a new tensor.

    Shape
    -----
    input (N, C, H, W) or (N, C, L) -> output of the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training)


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``, as ``torch.nn.Unflatten``.

    Parameters
    ----------
    dim : int
        The dimension to split (negative counts from the end).
    unflattened_size : sequence of int
        Its new sizes; their product must be the dimension's size (one may be -1).

    Shape
    -----
    input (*, S, *) -> output (*, *unflattened_size, *).
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not is_int(dim):
            raise TypeError(f"Unflatten: dim must be an int, got {dim!r}")
        sizes = tuple(unflattened_size)
        if not sizes or any(not is_int(s) for s in sizes):
            raise TypeError(
                f"Unflatten: unflattened_size must be a tuple of ints, got {unflattened_size!r}"
            )
        self.dim = dim
        self.unflattened_size = sizes

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(input).__name__}")
        nd = input.ndim
        dim = self.dim + nd if self.dim < 0 else self.dim
        if not 0 <= dim < nd:
            raise IndexError(
                f"{self!r}: dim {self.dim} is out of range for an input of shape "
                f"{tuple(input.shape)}"
            )
        size = input.shape[dim]
        known = 1
        for s in self.unflattened_size:
            known *= s if s != -1 else 1
        sizes = self.unflattened_size
        if (
            sizes.count(-1) > 1
            or (-1 in sizes and (known == 0 or size % known))
            or (-1 not in sizes and known != size)
        ):
            raise ValueError(
                f"{self!r}: unflattened_size {sizes} does not fit dimension {self.dim} of size "
                f"{size} of the input of shape {tuple(input.shape)}"
            )
        return input.reshape(*input.shape[:dim], *sizes, *input.shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
