"""``DataLoader``: batches from a data set, in order or shuffled, as ``torch.utils.data``.

Batches are made in the main process: ``num_workers`` must be 0 (the value that
makes PyTorch load in the main process too), and the options of worker
processes are accepted only at the values that mean "no workers".
"""

from __future__ import annotations

import collections.abc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..creation import from_numpy
from ..random import Generator
from ..tensor import Tensor, stack, wrap_array
from ..validation import is_int
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

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
    """Iterate over a data set in batches, as ``torch.utils.data.DataLoader``, in this process.

    Each pass (``for batch in loader``) visits every sample once, in the order of
    ``sampler``: by default a :class:`SequentialSampler`, or with ``shuffle=True``
    a :class:`RandomSampler` that draws a fresh permutation from ``generator`` (or
    the global generator) when the pass starts, so :func:`retrograd.manual_seed`
    makes the whole sequence of epochs repeat. ``batch_sampler`` replaces
    ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last`` with lists of indices.

    For a :class:`TensorDataset` (or a :class:`Subset` of one, as
    :func:`random_split` makes) and no ``collate_fn``, a batch is a tuple of
    Tensors cut from the stored tensors with one fancy index each. Other data
    sets are read sample by sample and joined by ``collate_fn`` (default
    :func:`default_collate`). An :class:`IterableDataset` is read in its own order.

    Parameters
    ----------
    dataset : Dataset
        An object with ``__len__`` and ``__getitem__``, or an :class:`IterableDataset`.
    batch_size : int or None, default=1
        Samples per batch. ``None`` turns batching off: the loader yields the
        samples themselves, with NumPy arrays turned into Tensors.
    shuffle : bool, default=False
        Visit the samples in a new random order on every pass.
    sampler : Sampler or iterable of int, optional
        The indices of one pass, in order (re-iterated every pass), instead of
        ``shuffle``: for instance a :class:`retrograd.distributed.DistributedSampler`,
        whose ``set_epoch`` :func:`retrograd.fit` calls before every epoch.
    batch_sampler : Sampler or iterable of lists of int, optional
        The batches of one pass as lists of indices; excludes ``batch_size``,
        ``shuffle``, ``sampler`` and ``drop_last``.
    num_workers : int, default=0
        Must be 0: this build loads every batch in the main process (as PyTorch
        does with 0); any other number raises.
    collate_fn : callable, optional
        Turns a list of samples into a batch; default :func:`default_collate`.
    pin_memory : bool, default=False
        Accepted and without effect: pinned memory is for copies to a GPU, and
        this build runs on the CPU.
    drop_last : bool, default=False
        Drop the last batch when it would be smaller than ``batch_size``.
    timeout : float, default=0
        Must be 0 (PyTorch fails at the first batch otherwise, without workers).
    worker_init_fn : callable, optional
        Accepted and never called, as in PyTorch without workers.
    multiprocessing_context : None
        Must be None (PyTorch refuses it without workers too).
    generator : retrograd.Generator, optional
        Source of the shuffling order; default the global generator.
    prefetch_factor : None
        Must be None (PyTorch refuses it without workers too).
    persistent_workers : bool, default=False
        Must be False (PyTorch refuses True without workers too).
    pin_memory_device : str, default=''
        ``''`` or ``'cpu'``.
    in_order : bool, default=True
        Accepted; without workers batches always come in order.

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
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        iterable = isinstance(dataset, IterableDataset)
        if not iterable and not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: dataset must have __len__ and __getitem__ (a Dataset), "
                f"or be an IterableDataset; got {type(dataset).__name__}"
            )
        _check_single_process(
            num_workers,
            timeout,
            worker_init_fn,
            multiprocessing_context,
            prefetch_factor,
            persistent_workers,
            pin_memory_device,
        )
        if batch_size is not None and (not is_int(batch_size) or batch_size <= 0):
            raise ValueError(
                f"DataLoader: batch_size should be a positive integer or None, "
                f"but got batch_size={batch_size!r}"
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
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler)):
                if value:
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} option, "
                        f"but got {name}={value!r}"
                    )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler!r}"
                )
        if sampler is not None:
            if shuffle:
                raise ValueError(
                    "DataLoader: sampler option is mutually exclusive with shuffle: sampler and "
                    "shuffle=True cannot be used together; the sampler sets the order (shuffle "
                    "it there)"
                )
            _check_sized_iterable(sampler, "sampler", "an iterable of indices")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                    f"shuffle, sampler, and drop_last; got batch_size={batch_size!r}, "
                    f"shuffle={shuffle!r}, sampler={sampler!r}, drop_last={drop_last!r}"
                )
            _check_sized_iterable(batch_sampler, "batch_sampler", "an iterable of index lists")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last: batch_size=None turns batching off, so drop_last=True "
                "means nothing"
            )
        if sampler is None and not iterable:
            if shuffle and len(dataset) == 0:
                raise ValueError("DataLoader: cannot shuffle an empty data set (it has 0 samples)")
            sampler = RandomSampler(dataset, generator=generator) if shuffle else None
            sampler = sampler or SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        # a batch sampler the user gave is followed batch by batch; the one built
        # from batch_size is cut from one array of the pass's indices instead
        self._own_batches = batch_sampler is not None and not (
            isinstance(batch_sampler, BatchSampler)
            and batch_sampler.sampler is sampler
            and batch_sampler.batch_size == self.batch_size
            and batch_sampler.drop_last == self.drop_last
        )

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # TypeError for a stream without a length, as PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            return self._stream_batches()
        fast = self._index_batches()
        if fast is not None:  # one fancy index per tensor per batch
            tensors, rows = fast
            return (tuple(t[idx] for t in tensors) for idx in rows)
        if self._own_batches:
            return self._batch_sampler_batches()
        # The order is drawn here, when the pass starts, not at the first batch: one
        # iter() is one draw from the generator, however much of the pass is consumed.
        order = np.fromiter(iter(self.sampler), dtype=np.intp)
        source = _tensor_source(self.dataset) if self.collate_fn is None else None
        if source is not None:  # batch_size=None: one sample at a time
            tensors, index = source
            if index is not None:
                order = index[order]
            return (tuple(t[int(i)] for t in tensors) for i in order)
        return self._sample_batches(order)

    def _index_batches(self) -> tuple[tuple[Tensor, ...], Iterator[np.ndarray]] | None:
        """The fast path's tensors and each batch's row indices into them, or None.

        For batches of a ``TensorDataset`` (maybe through ``Subset``s) without a
        ``collate_fn``, each batch is ``t[idx]`` for every tensor ``t``: this
        gives the ``idx``, so that a caller may fetch part of a batch alone
        (:class:`retrograd.distributed.MPIStrategy`: each rank its rows). The
        pass's order is drawn when this is called, as ``iter()`` draws it; a
        batch sampler given by the user is followed batch by batch.
        """
        if self.collate_fn is not None or self.batch_sampler is None:
            return None
        source = _tensor_source(self.dataset)
        if source is None:
            return None
        tensors, index = source
        rows: Iterator[np.ndarray]
        if self._own_batches:
            rows = (np.asarray(b, dtype=np.intp) for b in self.batch_sampler)
        else:
            order = np.fromiter(iter(self.sampler), dtype=np.intp)
            rows = (order[a : a + self.batch_size] for a in self._starts(len(order)))
        return tensors, (rows if index is None else (index[r] for r in rows))

    def _starts(self, n: int) -> range:
        bs = self.batch_size or 1
        end = n - n % bs if self.drop_last else n
        return range(0, end, bs)

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

    def _batch_sampler_batches(self) -> Iterator[Any]:
        """The batches of a batch sampler given by the user, one list of indices at a time."""
        collate = self.collate_fn or default_collate
        for indices in self.batch_sampler:
            yield collate([self.dataset[i] for i in indices])

    def _stream_batches(self) -> Iterator[Any]:
        """An IterableDataset's samples in its own order, batched as they come."""
        if self.batch_size is None:
            convert = self.collate_fn or default_convert
            for sample in self.dataset:
                yield convert(sample)
            return
        collate = self.collate_fn or default_collate
        batch: list[Any] = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    def __repr__(self) -> str:
        size = "a stream" if isinstance(self.dataset, IterableDataset) else len(self.dataset)
        return (
            f"DataLoader({type(self.dataset).__name__} of {size}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _check_sized_iterable(value: Any, name: str, what: str) -> None:
    if not (hasattr(value, "__iter__") and hasattr(value, "__len__")):
        raise TypeError(
            f"DataLoader: {name} must be {what} with __len__, got {type(value).__name__}"
        )


def _check_single_process(
    num_workers: Any,
    timeout: Any,
    worker_init_fn: Any,
    multiprocessing_context: Any,
    prefetch_factor: Any,
    persistent_workers: Any,
    pin_memory_device: Any,
) -> None:
    """Refuse worker processes, naming the option; accept the values that mean none."""
    if not is_int(num_workers):
        raise TypeError(f"DataLoader: num_workers must be an int, got {num_workers!r}")
    if num_workers < 0:
        raise ValueError(
            "DataLoader: num_workers option should be non-negative; use num_workers=0 to "
            "disable multiprocessing."
        )
    if num_workers > 0:
        raise ValueError(
            f"DataLoader(num_workers={num_workers}) is not supported: this build loads every "
            "batch in the main process; pass num_workers=0 (the batches are the same)"
        )
    if not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if timeout > 0:  # PyTorch's single-process iterator asserts timeout == 0 at the first batch
        raise ValueError(
            f"DataLoader: timeout={timeout} applies to worker processes, and this build loads "
            "in the main process; leave timeout=0"
        )
    if worker_init_fn is not None and not callable(worker_init_fn):
        raise TypeError(f"DataLoader: worker_init_fn must be callable, got {worker_init_fn!r}")
    if multiprocessing_context is not None:
        raise ValueError(
            "DataLoader: multiprocessing_context can only be used with multi-process loading "
            f"(num_workers > 0), but got num_workers=0 and "
            f"multiprocessing_context={multiprocessing_context!r}"
        )
    if prefetch_factor is not None:
        raise ValueError(
            "DataLoader: prefetch_factor option could only be specified in multiprocessing; "
            f"this build loads in the main process, so leave it None (got {prefetch_factor!r})"
        )
    if persistent_workers:
        raise ValueError(
            "DataLoader: persistent_workers option needs num_workers > 0, and this build "
            "loads in the main process; leave persistent_workers=False"
        )
    if pin_memory_device not in ("", "cpu"):
        raise ValueError(
            f"DataLoader: pin_memory_device={pin_memory_device!r} is not supported: this build "
            "runs on the CPU; leave it ''"
        )
