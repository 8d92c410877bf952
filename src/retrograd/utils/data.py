"""``torch.utils.data``'s names, from :mod:`retrograd.data` (the same classes, not copies).

So that ``from torch.utils.data import DataLoader, TensorDataset`` becomes
``from retrograd.utils.data import DataLoader, TensorDataset``. Loading runs in
the main process (``num_workers=0``); see :class:`~retrograd.data.DataLoader`.
"""

from __future__ import annotations

from ..data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    random_split,
)

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "random_split",
]
