"""Map-style data sets, as ``torch.utils.data``: ``Dataset``, ``TensorDataset``, ``Subset``.

A data set is anything with ``__len__`` and ``__getitem__(i)`` returning one
sample; :class:`~retrograd.data.DataLoader` turns it into batches.
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..creation import from_numpy
from ..random import Generator, get_rng
from ..tensor import Tensor
from ..validation import is_real


class Dataset:
    """An abstract data set: a map from indices ``0 .. len(self) - 1`` to samples.

    Subclasses override :meth:`__getitem__` (one sample, often a tuple
    ``(features, target)``) and :meth:`__len__`, as in ``torch.utils.data.Dataset``.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        """``a + b``: the samples of ``a``, then those of ``b`` (a :class:`ConcatDataset`)."""
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """A data set of tensors that share their first dimension; sample ``i`` is ``t[i]`` of each.

    The :class:`~retrograd.data.DataLoader` batches it with one fancy index per
    tensor per batch, without building the samples one by one.

    Parameters
    ----------
    *tensors : Tensor or numpy.ndarray
        Each of shape ``(n, ...)`` with the same ``n``. NumPy arrays are wrapped
        without copying (as :func:`retrograd.from_numpy`).

    Attributes
    ----------
    tensors : tuple of Tensor
        The tensors, in the order given.

    Examples
    --------
    >>> import numpy as np, retrograd as rg
    >>> ds = TensorDataset(rg.randn(5, 3), rg.tensor([0, 1, 0, 1, 1]))
    >>> x, y = ds[2]
    >>> x.shape, len(ds)
    ((3,), 5)
    """

    tensors: tuple[Tensor, ...]

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        converted = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                if t.dtype.kind in "OUS":
                    raise TypeError(
                        f"TensorDataset: array {i} has dtype {t.dtype}; tensors hold numbers, so "
                        "encode class labels as integers first (retrograd.data.LabelEncoder)"
                    )
                t = from_numpy(t)
            elif not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {i} is a {type(t).__name__}; "
                    "expected a Tensor or a numpy.ndarray"
                )
            if t.ndim == 0:
                raise ValueError(
                    f"TensorDataset: tensor {i} is 0-dimensional; every tensor needs a first "
                    "dimension that indexes the samples"
                )
            converted.append(t)
        n = converted[0].shape[0]
        for i, t in enumerate(converted):
            if t.shape[0] != n:
                raise ValueError(
                    f"TensorDataset: size mismatch in the first dimension: tensor 0 has {n} "
                    f"samples (shape {converted[0].shape}) but tensor {i} has {t.shape[0]} "
                    f"(shape {t.shape})"
                )
        self.tensors = tuple(converted)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Parameters
    ----------
    dataset : Dataset
        The whole data set.
    indices : sequence of int
        Positions in ``dataset``; ``subset[i]`` is ``dataset[indices[i]]``.
    """

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def rng_of(generator: Generator | None, op: str) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (None: the global one), with a clear type error."""
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(
            f"{op}: generator must be a retrograd.Generator or None, got {type(generator).__name__}"
        )
    return get_rng(generator)


def random_split(
    dataset: Any,
    lengths: Sequence[int | float],
    generator: Generator | None = None,
) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping subsets of the given lengths.

    As ``torch.utils.data.random_split``: ``lengths`` are sample counts that sum to
    ``len(dataset)``, or fractions that sum to 1. Fractions become
    ``floor(frac * len(dataset))`` samples each, and the samples left over are
    handed out one at a time to the subsets in order (round robin).

    Parameters
    ----------
    dataset : Dataset
        Any object with ``__len__`` and ``__getitem__``.
    lengths : sequence of int or float
        Sizes of the subsets, or fractions summing to 1.
    generator : retrograd.Generator, optional
        Source of the random permutation; default the global generator, so
        :func:`retrograd.manual_seed` makes the split repeat.

    Returns
    -------
    list of Subset
        One per entry of ``lengths``, in order.
    """
    lengths = list(lengths)
    n = len(dataset)
    for i, length in enumerate(lengths):
        if not is_real(length):
            raise TypeError(f"random_split: length {i} is {length!r}; expected an int or a float")
        if length < 0:
            raise ValueError(f"random_split: length {i} is {length}; lengths must be >= 0")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        counts = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(
                    f"random_split: split {i} is empty (fraction {lengths[i]} of {n} samples)",
                    stacklevel=2,
                )
        lengths = counts
    elif any(int(length) != length for length in lengths):
        raise ValueError(
            f"random_split: lengths {lengths} are neither whole counts nor fractions summing to 1"
        )
    counts = [int(length) for length in lengths]
    if sum(counts) != n:
        raise ValueError(
            f"random_split: the lengths {counts} sum to {sum(counts)}, but the data set has "
            f"{n} samples; give counts that sum to {n} or fractions that sum to 1"
        )
    perm = rng_of(generator, "random_split").permutation(n).tolist()
    subsets = []
    start = 0
    for count in counts:
        subsets.append(Subset(dataset, perm[start : start + count]))
        start += count
    return subsets


class IterableDataset(Dataset):
    """A data set read as a stream: subclasses implement ``__iter__`` (``__len__`` optional).

    As ``torch.utils.data.IterableDataset``: a :class:`~retrograd.data.DataLoader`
    takes its samples in the order the iterator gives them, so ``shuffle``,
    ``sampler`` and ``batch_sampler`` are refused for it.
    """

    def __iter__(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __len__(self) -> int:
        # TypeError, as len() of an object without __len__: list() and the loader's
        # __len__ treat the stream as one of unknown length
        raise TypeError(f"object of type {type(self).__name__!r} has no len()")

    def __getitem__(self, index: int) -> Any:
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate it, do not index it")


class ConcatDataset(Dataset):
    """Data sets one after another: sample ``i`` of the first, then of the second, ...

    Parameters
    ----------
    datasets : iterable of Dataset
        Map-style data sets (not empty; no :class:`IterableDataset`).

    Attributes
    ----------
    cumulative_sizes : list of int
        The running totals of the lengths.
    """

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(
                    f"ConcatDataset does not support IterableDataset (data set {i} is one)"
                )
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(
                    f"ConcatDataset: absolute value of index {idx} should not exceed its length {n}"
                )
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]
