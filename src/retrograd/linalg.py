"""``retrograd.linalg``: the norms of ``torch.linalg`` (vector and Frobenius).

Decompositions (``svd``, ``eig``, ``qr``, ``inv``, ``solve``) are not here; the
norms that need them (``'nuc'``, matrix 2-norm) raise, naming the order.
"""

from __future__ import annotations

from typing import Any

from .tensor import Tensor, to_tensor


def vector_norm(
    x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The ``ord``-norm of the elements over ``dim`` (all by default), as PyTorch's.

    ``ord`` is any number, ``inf`` or ``-inf`` (0 counts the nonzero elements).
    """
    if isinstance(ord, str):
        raise ValueError(f"linalg.vector_norm(): ord must be a number, got {ord!r}")
    return to_tensor(x).norm(ord, dim, keepdim, dtype)


def matrix_norm(
    A: Tensor,  # noqa: N803 - PyTorch's name
    ord: Any = "fro",
    dim: tuple[int, int] = (-2, -1),
    keepdim: bool = False,
) -> Tensor:
    """The Frobenius norm of the matrices in the last two dimensions (``ord='fro'`` only)."""
    if ord != "fro":
        raise NotImplementedError(
            f"linalg.matrix_norm(): ord={ord!r} needs singular values or column sums, which "
            "retrograd does not compute; only 'fro' is supported"
        )
    return to_tensor(A).norm(2, dim, keepdim)


def norm(x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False) -> Tensor:
    """As ``torch.linalg.norm``: the vector 2-norm of the elements by default.

    ``ord=None`` is the 2-norm of the flattened tensor (or over ``dim``); a number
    with a 1-D ``dim`` (or a 1-D input) is a vector norm; ``'fro'`` the Frobenius
    norm. Matrix orders (``'nuc'``, 2, 1, inf over two dimensions) raise.
    """
    t = to_tensor(x)
    if ord is None:
        return t.norm(2, dim, keepdim)
    if ord == "fro":
        return matrix_norm(t, "fro", (-2, -1) if dim is None else dim, keepdim)
    vector = (
        (dim is None and t.ndim == 1)
        or isinstance(dim, int)
        or (isinstance(dim, (tuple, list)) and len(dim) == 1)
    )
    if not vector:
        raise NotImplementedError(
            f"linalg.norm(): ord={ord!r} over two dimensions is a matrix norm, which retrograd "
            "does not compute; use linalg.vector_norm for the elements' norm"
        )
    return vector_norm(t, ord, dim, keepdim)
