"""``retrograd.nn.utils``: gradient clipping and flattening parameters to one vector."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._backend import xp
from ..autograd import no_grad
from ..tensor import Tensor, cat, wrap_array

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
]


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _set_grad(p: Tensor, values: Any) -> None:
    """Write ``values`` into ``p.grad`` in place (keeping the grad object), as PyTorch."""
    g = p.grad
    if g.array.flags.writeable:  # type: ignore[union-attr]
        g.array[...] = values  # type: ignore[union-attr]
    else:
        p.grad = wrap_array(xp.array(values, dtype=g.array.dtype))  # type: ignore[union-attr]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale gradients in place so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the vector of every gradient's
    own ``norm_type``-norm (the norm of all gradients concatenated), ``inf``
    giving the largest absolute value. Every gradient is multiplied by
    ``min(1, max_norm / (total_norm + 1e-6))``, as PyTorch.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        Parameters whose ``.grad`` is clipped; those without one are skipped.
    max_norm : float
        The largest allowed total norm.
    norm_type : float, default=2.0
        The order of the norm: any p > 0, ``float('inf')`` or 0 (count of nonzeros).
    error_if_nonfinite : bool, default=False
        Raise when the total norm is nan or inf instead of clipping with it.

    Returns
    -------
    Tensor of shape ()
        The total norm before clipping, in the gradients' dtype.
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return wrap_array(xp.zeros((), dtype=xp.float32))
    dtype = grads[0].array.dtype
    norms = xp.array(
        [xp.linalg.norm(g.array.reshape(-1), ord=norm_type) for g in grads], dtype=dtype
    )
    total = xp.linalg.norm(norms, ord=norm_type).astype(dtype)
    if error_if_nonfinite and not xp.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0) if xp.isfinite(total) else None
    with no_grad():
        for p in params:
            if p.grad is None:
                continue
            if coef is None:  # nan/inf norm: scale by it anyway, as PyTorch (gives nan)
                c = xp.asarray(max_norm, dtype=dtype) / (total + xp.asarray(1e-6, dtype=dtype))
                _set_grad(p, p.grad.array * xp.minimum(c, 1))
            else:
                _set_grad(p, p.grad.array * xp.asarray(coef, dtype=p.grad.array.dtype))
    return wrap_array(xp.asarray(total))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        Parameters whose ``.grad`` is clipped; those without one are skipped.
    clip_value : float
        The largest allowed absolute value; must be non-negative.
    """
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                _set_grad(p, xp.clip(p.grad.array, -clip_value, clip_value))


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the flattened parameters into one vector (differentiable).

    Returns
    -------
    Tensor of shape (total number of elements,)
    """
    params = _as_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: expected at least one parameter")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, in place.

    Parameters
    ----------
    vec : Tensor of shape (total number of elements,)
        As made by :func:`parameters_to_vector`.
    parameters : iterable of Tensor
    """
    if not isinstance(vec, Tensor):
        raise TypeError(
            f"vector_to_parameters: expected vec to be a Tensor, got {type(vec).__name__}"
        )
    params = _as_list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(
            f"vector_to_parameters: vec must have shape ({total},) to fill the parameters, "
            f"got {tuple(vec.shape)}"
        )
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.array[...] = vec.array[start : start + n].reshape(p.shape)
            start += n
