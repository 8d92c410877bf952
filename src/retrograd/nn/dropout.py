"""``Dropout``."""

from __future__ import annotations

from ..tensor import Tensor
from ..validation import is_real
from . import functional as F
from .module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` in training mode, scaling the rest by 1/(1-p).

    In evaluation mode (after :meth:`Module.eval`) it returns the input
    unchanged. The mask comes from the default generator, so
    :func:`retrograd.manual_seed` reproduces it.

    Parameters
    ----------
    p : float, default=0.5
        Probability of zeroing an element, in [0, 1].
    inplace : bool, default=False
        Accepted for compatibility; the output is always a new tensor.

    Shape
    -----
    input (*) -> output (*), the same.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not is_real(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
