"""``DataLoader``: batches from a data set, in order or shuffled, as ``torch.utils.data``."""

from __future__ import annotations

import collections.abc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..creation import from_numpy
from ..random import Generator
from ..tensor import Tensor, stack, wrap_array
from .dataset import Subset, TensorDataset, rng_of

_COLLATE_TYPES = "tensors, numpy arrays, numbers, strings, dicts or sequences"


def default_collate(batch: list[Any]) -> Any:
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate``.

    ========================  ==============================================
    sample element            batch
    ========================  ==============================================
    Tensor of shape s         Tensor of shape (len(batch), *s)
    ndarray / NumPy scalar    Tensor of the same dtype, stacked
    float / int / bool        float64 / int64 / bool Tensor of shape (n,)
    str, bytes                the list of them, unchanged
    dict                      dict of batches, key by key
    tuple, list, namedtuple   the same kind of sequence of batches
    ========================  ==============================================

    NOTE: PyTorch turns a tuple sample into a list of batches "for backwards
    compatibility"; here a tuple stays a tuple, so a generic data set and a
    :class:`TensorDataset` give the same kind of batch.

    Parameters
    ----------
    batch : list
        Samples, as returned by ``dataset[i]``; all of the same structure.

    Returns
    -------
    The batch, with the structure of one sample.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch)
    if isinstance(elem, (str, bytes)):  # before np.generic: np.str_ is both
        return batch
    if isinstance(elem, (np.ndarray, np.generic)):
        if elem.dtype.kind in "OUSV":
            raise TypeError(
                f"default_collate: cannot batch numpy arrays of dtype {elem.dtype}; "
                f"batch must contain {_COLLATE_TYPES}"
            )
        return from_numpy(np.stack(batch))
    if isinstance(elem, bool):
        return wrap_array(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return wrap_array(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return wrap_array(np.array(batch, dtype=np.float64))
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        for i, sample in enumerate(batch):
            if len(sample) != size:
                raise RuntimeError(
                    f"default_collate: each sample in a batch must have the same length, but "
                    f"sample 0 has {size} elements and sample {i} has {len(sample)}"
                )
        columns = [default_collate(list(samples)) for samples in zip(*batch, strict=True)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*columns)
        if isinstance(elem, tuple):
            return tuple(columns)
        return columns
    raise TypeError(
        f"default_collate: batch must contain {_COLLATE_TYPES}; found {type(elem).__name__}"
    )


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays in a sample into Tensors, leaving everything else (``batch_size=None``)."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OUSV":
        return from_numpy(data)
    if isinstance(data, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (tuple, list)):
        return type(data)(default_convert(d) for d in data)
    return data


def _tensor_source(dataset: Any) -> tuple[tuple[Tensor, ...], np.ndarray | None] | None:
    """The tensors behind a TensorDataset, seen through any Subsets, and the index map.

    Returns None when the samples must be fetched one by one (a data set with its
    own ``__getitem__``, including subclasses that override it).
    """
    index: np.ndarray | None = None
    while isinstance(dataset, Subset) and type(dataset).__getitem__ is Subset.__getitem__:
        indices = dataset.indices
        if isinstance(indices, Tensor):
            indices = indices.array
        step = np.asarray(indices, dtype=np.intp)
        index = step if index is None else step[index]
        dataset = dataset.dataset
    if (
        isinstance(dataset, TensorDataset)
        and type(dataset).__getitem__ is TensorDataset.__getitem__
    ):
        return dataset.tensors, index
    return None


class DataLoader:
    """Iterate over a data set in batches, as ``torch.utils.data.DataLoader`` (single process).

    Each pass (``for batch in loader``) visits every sample once. With
    ``shuffle=True`` each pass draws a fresh permutation from ``generator`` (or the
    global generator), so :func:`retrograd.manual_seed` makes the whole sequence of
    epochs repeat.

    For a :class:`TensorDataset` (or a :class:`Subset` of one, as
    :func:`random_split` makes) and no ``collate_fn``, a batch is a tuple of
    Tensors cut from the stored tensors with one fancy index each. Other data
    sets are read sample by sample and joined by ``collate_fn`` (default
    :func:`default_collate`).

    Parameters
    ----------
    dataset : Dataset
        Any object with ``__len__`` and ``__getitem__``.
    batch_size : int or None, default=1
        Samples per batch. ``None`` turns batching off: the loader yields the
        samples themselves, with NumPy arrays turned into Tensors.
    shuffle : bool, default=False
        Visit the samples in a new random order on every pass.
    drop_last : bool, default=False
        Drop the last batch when it would be smaller than ``batch_size``.
    generator : retrograd.Generator, optional
        Source of the shuffling order; default the global generator.
    collate_fn : callable, optional
        Turns a list of samples into a batch; default :func:`default_collate`.
    sampler : iterable of int, optional
        The indices of one pass, in order (re-iterated every pass), instead of
        ``shuffle``: for instance a :class:`retrograd.distributed.DistributedSampler`,
        whose ``set_epoch`` :func:`retrograd.fit` calls before every epoch.

    Examples
    --------
    >>> import retrograd as rg
    >>> ds = TensorDataset(rg.randn(10, 3), rg.arange(10))
    >>> loader = DataLoader(ds, batch_size=4, shuffle=True)
    >>> len(loader), [len(y) for x, y in loader]
    (3, [4, 4, 2])
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = False,
        drop_last: bool = False,
        generator: Generator | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        sampler: Any = None,
    ) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: dataset must have __len__ and __getitem__ (a Dataset), "
                f"got {type(dataset).__name__}"
            )
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size <= 0
        ):
            raise ValueError(
                f"DataLoader: batch_size should be a positive integer or None, "
                f"but got batch_size={batch_size!r}"
            )
        if batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None turns batching off, so drop_last=True means nothing"
            )
        if shuffle is None:  # as PyTorch: None means False
            shuffle = False
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"DataLoader: shuffle must be True or False, got {shuffle!r}")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(
                f"DataLoader: generator must be a retrograd.Generator or None, "
                f"got {type(generator).__name__}"
            )
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
        if sampler is not None:
            if shuffle:
                raise ValueError(
                    "DataLoader: sampler and shuffle=True cannot be used together; the sampler "
                    "sets the order (shuffle it there)"
                )
            if not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
                raise TypeError(
                    f"DataLoader: sampler must be an iterable of indices with __len__, "
                    f"got {type(sampler).__name__}"
                )
        if shuffle and len(dataset) == 0:
            raise ValueError("DataLoader: cannot shuffle an empty data set (it has 0 samples)")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        if self.batch_size is None:
            return n
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn here, when the pass starts, not at the first batch: one
        # iter() is one draw from the generator, however much of the pass is consumed.
        n = len(self.dataset)
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.intp)
        elif self.shuffle:
            order = rng_of(self.generator, "DataLoader").permutation(n)
        else:
            order = np.arange(n)
        source = _tensor_source(self.dataset) if self.collate_fn is None else None
        if source is not None:
            tensors, index = source
            if index is not None:
                order = index[order]
            return self._tensor_batches(tensors, order)
        return self._sample_batches(order)

    def _starts(self, n: int) -> range:
        bs = self.batch_size or 1
        end = n - n % bs if self.drop_last else n
        return range(0, end, bs)

    def _tensor_batches(self, tensors: tuple[Tensor, ...], order: np.ndarray) -> Iterator[Any]:
        """The fast path: one fancy index per tensor per batch."""
        if self.batch_size is None:
            for i in order:
                yield tuple(t[int(i)] for t in tensors)
            return
        for start in self._starts(len(order)):
            idx = order[start : start + self.batch_size]
            yield tuple(t[idx] for t in tensors)

    def _sample_batches(self, order: np.ndarray) -> Iterator[Any]:
        dataset = self.dataset
        if self.batch_size is None:
            convert = self.collate_fn or default_convert
            for i in order.tolist():
                yield convert(dataset[i])
            return
        collate = self.collate_fn or default_collate
        positions = order.tolist()
        for start in self._starts(len(positions)):
            yield collate([dataset[i] for i in positions[start : start + self.batch_size]])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
