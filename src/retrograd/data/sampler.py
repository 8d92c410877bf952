"""Samplers: the order in which a :class:`~retrograd.data.DataLoader` visits a data set.

As ``torch.utils.data``: a sampler is an iterable of indices with a length; a
batch sampler is an iterable of lists of indices. The random ones draw from a
:class:`retrograd.Generator` (default the global one, so
:func:`retrograd.manual_seed` makes them repeat); the numbers drawn are NumPy's,
not PyTorch's, so a seed gives another order than in PyTorch.

Each ``iter()`` draws its whole order at once: one pass is one draw from the
generator, however much of the pass is consumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from ..random import Generator
from ..tensor import Tensor
from ..validation import is_int
from .dataset import rng_of


class Sampler:
    """Base class of samplers: ``__iter__`` yields indices (or lists of them); ``__len__``.

    Parameters
    ----------
    data_source : Sized, optional
        Ignored, as in PyTorch 2 (kept for code that passes it).
    """

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


def _check_num_samples(num_samples: Any, op: str) -> int:
    if not is_int(num_samples) or num_samples <= 0:
        raise ValueError(
            f"{op}: num_samples should be a positive integer value, but got "
            f"num_samples={num_samples!r}"
        )
    return int(num_samples)


def _check_bool(value: Any, name: str, op: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} should be a boolean value, but got {name}={value!r}")
    return bool(value)


class SequentialSampler(Sampler):
    """The indices ``0 .. len(data_source) - 1``, in order.

    Parameters
    ----------
    data_source : Sized
        The data set.
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """The indices in a random order: a permutation, or draws with replacement.

    Without replacement, ``num_samples`` larger than the data set takes whole
    permutations one after another, the last one cut short (as PyTorch).

    Parameters
    ----------
    data_source : Sized
        The data set (must not be empty).
    replacement : bool, default=False
        Draw each index independently and uniformly instead of permuting.
    num_samples : int, optional
        Indices per pass; default ``len(data_source)``.
    generator : retrograd.Generator, optional
        Source of the order; default the global generator.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = _check_bool(replacement, "replacement", "RandomSampler")
        self._num_samples = num_samples
        self.generator = generator
        rng_of(generator, "RandomSampler")  # a bad generator is refused here, not at iter()
        if len(data_source) == 0:
            raise ValueError(
                "RandomSampler: num_samples should be a positive integer value, but got "
                "num_samples=0: the data set is empty"
            )
        _check_num_samples(self.num_samples, "RandomSampler")

    @property
    def num_samples(self) -> int:
        """Indices per pass (the data set's length unless given)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), self.num_samples
        rng = rng_of(self.generator, "RandomSampler")
        if self.replacement:
            return iter(rng.integers(0, n, size=count).tolist())
        parts = [rng.permutation(n) for _ in range(count // n)]
        if count % n:
            parts.append(rng.permutation(n)[: count % n])
        return iter(np.concatenate(parts).tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order on every pass.

    Parameters
    ----------
    indices : sequence of int
        The indices to visit.
    generator : retrograd.Generator, optional
        Source of the order; default the global generator.
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator
        rng_of(generator, "SubsetRandomSampler")

    def __iter__(self) -> Iterator[int]:
        perm = rng_of(self.generator, "SubsetRandomSampler").permutation(len(self.indices))
        return iter([self.indices[i] for i in perm.tolist()])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices drawn with probabilities proportional to ``weights``.

    Parameters
    ----------
    weights : sequence of float
        One non-negative weight per index (need not sum to 1); 1-D.
    num_samples : int
        Indices per pass.
    replacement : bool, default=True
        Draw with replacement; without it an index comes at most once, so
        ``num_samples`` may not exceed the number of non-zero weights.
    generator : retrograd.Generator, optional
        Source of the draws; default the global generator.
    """

    def __init__(
        self,
        weights: Sequence[float] | np.ndarray | Tensor,
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
    ) -> None:
        self.num_samples = _check_num_samples(num_samples, "WeightedRandomSampler")
        self.replacement = _check_bool(replacement, "replacement", "WeightedRandomSampler")
        values = weights.array if isinstance(weights, Tensor) else weights
        w = np.asarray(values, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                "WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                f"shape {tuple(w.shape)}"
            )
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise ValueError("WeightedRandomSampler: weights must be finite, >= 0 and not all zero")
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw num_samples={self.num_samples} indices "
                f"without replacement from {np.count_nonzero(w)} non-zero weights"
            )
        self.weights = w
        self.generator = generator
        rng_of(generator, "WeightedRandomSampler")

    def __iter__(self) -> Iterator[int]:
        rng = rng_of(self.generator, "WeightedRandomSampler")
        p = self.weights / self.weights.sum()
        drawn = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of ``batch_size``.

    Parameters
    ----------
    sampler : Sampler or iterable of int
        The indices, in order (re-iterated every pass).
    batch_size : int
        Indices per batch, > 0.
    drop_last : bool
        Drop the last list when it would be shorter than ``batch_size``.

    Examples
    --------
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not is_int(batch_size) or batch_size <= 0:
            raise ValueError(
                f"BatchSampler: batch_size should be a positive integer value, but got "
                f"batch_size={batch_size!r}"
            )
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(
                f"BatchSampler: drop_last should be a boolean value, but got "
                f"drop_last={drop_last!r}"
            )
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)


__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]
