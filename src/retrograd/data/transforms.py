"""Random transforms of a batch of images or sequences, for data augmentation in training.

torchvision transforms one sample at a time; these transform a whole batch at
once (each sample with its own random draw), so that a :class:`DataLoader`
keeps cutting batches with one fancy index each and the transform costs a few
NumPy operations per batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..random import Generator, get_rng
from ..tensor import Tensor, wrap_array
from ..validation import is_int

__all__ = ["RandomShift"]


class RandomShift:
    """Shift every sample by a random whole number of positions, filling what comes in.

    Each sample of a batch of shape (N, C, H, W) (images) or (N, C, L)
    (sequences) moves by its own offsets, drawn uniformly from
    ``-max_shift, ..., max_shift`` on each spatial axis independently; values
    that leave the sample are dropped, and the positions they free get
    ``fill``. For one image this is torchvision's
    ``RandomCrop(size=(H, W), padding=max_shift, fill=fill)``: pad by
    ``max_shift`` on every side, then cut a window of the original size at a
    uniformly drawn position.

    The draws come from ``generator`` (default: the global generator), so
    :func:`retrograd.manual_seed` makes them repeat. They are made with
    ``Generator.integers``, one call per batch.

    Parameters
    ----------
    max_shift : int, default=1
        The largest shift along each spatial axis, in positions; 0 leaves the
        batch as it is.
    fill : float or sequence of float, default=0.0
        The value of the positions shifted in: one for every channel, or one per
        channel (for data standardized per channel, the standardized value of
        the raw background).
    generator : retrograd.Generator, optional
        Source of the shifts; default the global generator.

    Examples
    --------
    >>> import retrograd as rg
    >>> shift = RandomShift(1, generator=rg.Generator(0))
    >>> shift(rg.ones(4, 1, 8, 8)).shape
    (4, 1, 8, 8)
    """

    def __init__(
        self,
        max_shift: int = 1,
        fill: float | Sequence[float] = 0.0,
        generator: Generator | None = None,
    ) -> None:
        if not is_int(max_shift) or max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be an int >= 0, got {max_shift!r}")
        fills = np.asarray(fill, dtype=np.float64)
        if fills.ndim > 1 or fills.size == 0 or not np.isfinite(fills).all():
            raise ValueError(
                f"RandomShift: fill must be a finite number or a sequence of one per channel, "
                f"got {fill!r}"
            )
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(
                f"RandomShift: generator must be a retrograd.Generator or None, "
                f"got {type(generator).__name__}"
            )
        self.max_shift = int(max_shift)
        self.fill = fills
        self.generator = generator

    def __call__(self, batch: Any) -> Any:
        """The shifted batch: a Tensor for a Tensor, an ndarray for an ndarray, same dtype.

        Raises
        ------
        ValueError
            When ``batch`` is not of shape (N, C, L) or (N, C, H, W), or ``fill``
            has another number of values than ``batch`` has channels.
        """
        is_tensor = isinstance(batch, Tensor)
        x = batch.array if is_tensor else np.asarray(batch)
        if x.ndim not in (3, 4):
            raise ValueError(
                f"RandomShift: expected a batch of shape (N, C, L) or (N, C, H, W), "
                f"got shape {x.shape}"
            )
        if self.fill.ndim == 1 and len(self.fill) != x.shape[1]:
            raise ValueError(
                f"RandomShift: fill has {len(self.fill)} values but the batch has "
                f"{x.shape[1]} channels (shape {x.shape}); give one value, or one per channel"
            )
        out = self._shift(x)
        return wrap_array(out) if is_tensor else out

    def _shift(self, x: np.ndarray) -> np.ndarray:
        m, spatial = self.max_shift, x.shape[2:]
        # Integers, not floats: a distributed run's generator hands float draws shaped like
        # a rank's rows to that rank only, and every rank must shift the global batch alike.
        offsets = get_rng(self.generator).integers(0, 2 * m + 1, size=(len(x), len(spatial)))
        if m == 0 or len(x) == 0:
            return x.copy()
        fill = self.fill.reshape(-1, *(1,) * len(spatial))  # broadcasts over the positions
        padded = np.empty((*x.shape[:2], *(n + 2 * m for n in spatial)), dtype=x.dtype)
        padded[...] = fill.astype(x.dtype)
        padded[(..., *(slice(m, m + n) for n in spatial))] = x
        out = np.empty_like(x)
        # One slice per possible offset ((2m+1)**d of them), for the samples that drew it.
        for offset in itertools.product(range(2 * m + 1), repeat=len(spatial)):
            rows = np.flatnonzero((offsets == offset).all(axis=1))
            if len(rows):
                window = tuple(slice(o, o + n) for o, n in zip(offset, spatial, strict=True))
                out[rows] = padded[(rows, slice(None), *window)]
        return out

    def __repr__(self) -> str:
        fill = float(self.fill) if self.fill.ndim == 0 else self.fill.tolist()
        return f"RandomShift(max_shift={self.max_shift}, fill={fill})"
