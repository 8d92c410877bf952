"""``Flatten``."""

from __future__ import annotations

from ..tensor import Tensor
from .module import Module


class Flatten(Module):
    """Merge dimensions ``start_dim`` to ``end_dim`` into one, as ``torch.nn.Flatten``.

    Parameters
    ----------
    start_dim : int, default=1
        The first dimension to merge (1 keeps the batch dimension).
    end_dim : int, default=-1
        The last dimension to merge.

    Shape
    -----
    input (N, *dims) -> output (N, prod(dims)) with the defaults.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
