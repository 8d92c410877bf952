"""``Embedding``: a table of learned vectors looked up by integer index (``torch.nn.Embedding``)."""

from __future__ import annotations

from typing import Any

from ..autograd import no_grad
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter, check_device, check_size, empty_parameter, float_dtype


class Embedding(Module):
    """A lookup table: row ``i`` of ``weight`` is the vector of index ``i``.

    Parameters
    ----------
    num_embeddings : int
        The number of rows (the vocabulary size).
    embedding_dim : int
        The length of each vector.
    padding_idx : int, optional
        This row is initialised to zeros and never gets a gradient (negative
        counts from the end).
    max_norm : float, optional
        At each lookup, rows read whose ``norm_type``-norm exceeds ``max_norm``
        are rescaled in place to norm ``max_norm`` (PyTorch's renormalisation).
    norm_type : float, default=2.0
    scale_grad_by_freq : bool, default=False
        Divide each row's gradient by how often its index occurs in the batch.
    sparse : bool, default=False
        Sparse gradients are not supported: True raises NotImplementedError.
    device : {None, 'cpu'}, optional
    dtype : dtype, optional
        ``retrograd.float32`` (default) or ``retrograd.float64``.

    Attributes
    ----------
    weight : Parameter of shape (num_embeddings, embedding_dim)
        Initialised from N(0, 1).

    Shape
    -----
    input (*) of integers -> output (*, embedding_dim).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, "Embedding")
        self.num_embeddings = check_size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim", "Embedding")
        padding_idx = F._padding_index(padding_idx, self.num_embeddings, "Embedding")
        if sparse:
            raise NotImplementedError(
                "Embedding: sparse=True is not supported: retrograd has no sparse gradients; "
                "use sparse=False"
            )
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            self.weight = empty_parameter(shape, dtype, "Embedding")
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != shape:
                raise ValueError(
                    f"Embedding: _weight must have shape {shape}, got {tuple(_weight.shape)}"
                )
            if dtype is not None:
                float_dtype(dtype, "Embedding")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """Draw the weights from N(0, 1) again and zero the ``padding_idx`` row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.array[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (shared, not copied, as PyTorch).

        Parameters
        ----------
        embeddings : Tensor of shape (num_embeddings, embedding_dim)
        freeze : bool, default=True
            True: the weight gets no gradient (``requires_grad=False``).
        padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse
            As for :class:`Embedding`; the ``padding_idx`` row is not zeroed.
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            shape = getattr(embeddings, "shape", type(embeddings).__name__)
            raise ValueError(
                f"Embedding.from_pretrained: embeddings must be a 2-D Tensor, got {shape}"
            )
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=embeddings,
            _freeze=freeze,
        )
