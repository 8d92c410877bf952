"""``BatchNorm1d``: batch normalisation with running statistics, as PyTorch."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from .._backend import xp
from ..tensor import Tensor, wrap_array
from . import functional as F
from . import init
from .module import Module
from .parameter import affine_parameters, check_device, check_size, float_dtype


class BatchNorm1d(Module):
    """Normalise each channel over the batch (and length), as ``torch.nn.BatchNorm1d``.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. In training mode
    ``mean`` and ``var`` (biased) are the batch's, and the running statistics
    are updated with the *unbiased* batch variance::

        running = (1 - momentum) * running + momentum * batch_stat

    In evaluation mode the running statistics are used (when tracked).

    Parameters
    ----------
    num_features : int
        The number of channels C.
    eps : float, default=1e-5
        Added to the variance before the square root.
    momentum : float or None, default=0.1
        Weight of the new batch statistic; None gives the cumulative average
        over all batches seen (``1 / num_batches_tracked``).
    affine : bool, default=True
        Learn ``weight`` (initialised to 1) and ``bias`` (to 0), each of shape (C,).
    track_running_stats : bool, default=True
        Keep the buffers ``running_mean`` (0s), ``running_var`` (1s) and
        ``num_batches_tracked`` (int64 0). Without them evaluation mode also
        uses batch statistics.
    device : {None, 'cpu'}, optional
        Accepted for PyTorch compatibility; retrograd runs on the CPU.
    dtype : dtype, optional
        float32 (default) or float64, for parameters and running statistics.
    bias : bool, default=True
        Keyword-only. With ``affine``, also learn ``bias``; False leaves it None.

    Shape
    -----
    input (N, C) or (N, C, L) -> output of the same shape.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        self.num_features = check_size(num_features, "num_features", type(self).__name__)
        if eps <= 0:
            raise ValueError(f"{type(self).__name__}: eps must be positive, got {eps}")
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        c = self.num_features
        affine_parameters(self, (c,), dtype, type(self).__name__, affine, affine and bias)
        if track_running_stats:
            dt = float_dtype(dtype, type(self).__name__)
            self.register_buffer("running_mean", wrap_array(xp.zeros(c, dtype=dt)))
            self.register_buffer("running_var", wrap_array(xp.ones(c, dtype=dt)))
            self.register_buffer("num_batches_tracked", wrap_array(xp.zeros((), dtype=xp.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Set the running mean to 0, the running variance to 1 and the batch count to 0."""
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self) -> None:
        """Reset the running statistics, the weight to 1 and the bias to 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    #: The input shapes accepted: (number of dimensions, shape with {c} for num_features).
    _layouts: tuple[tuple[int, str], ...] = ((2, "(N, {c})"), (3, "(N, {c}, L)"))

    def _check_input(self, input: Tensor) -> None:
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(input).__name__}")
        layouts = dict(self._layouts)
        if input.ndim not in layouts:
            dims = " or ".join(f"{d}D" for d in layouts)
            raise ValueError(
                f"{self!r}: expected {dims} input (got {input.ndim}D input of shape "
                f"{tuple(input.shape)})"
            )
        if input.shape[1] != self.num_features:
            shapes = " or ".join(s.format(c=self.num_features) for s in layouts.values())
            raise ValueError(
                f"{self!r}: expected input of shape {shapes}, got {tuple(input.shape)}; "
                "dimension 1 must be num_features"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array[...] += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
        # Batch statistics in training, and in evaluation when there are no running ones.
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def _load_from_state_dict(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # As PyTorch: a state_dict without num_batches_tracked (saved before it existed)
        # loads, keeping the current count.
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key not in state_dict:
            state_dict = ChainMap({key: self.num_batches_tracked.array.copy()}, state_dict)
        super()._load_from_state_dict(state_dict, prefix, missing_keys, unexpected_keys, error_msgs)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )
