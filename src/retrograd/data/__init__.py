"""``retrograd.data``: data sets, batching, splitting and scaling.

- :class:`Dataset`, :class:`TensorDataset`, :class:`Subset`, :class:`ConcatDataset`,
  :class:`IterableDataset`, :func:`random_split`, the samplers and
  :class:`DataLoader`, as in ``torch.utils.data`` (also importable as
  ``retrograd.utils.data``);
- :func:`load_dataset`: named data sets (:data:`DATASETS`) and the user's CSV,
  ``.npz`` and IDX files, each as a :class:`DataSpec`;
- :func:`train_val_test_split`, :class:`Standardizer` and :class:`LabelEncoder`,
  whose fitted state is plain JSON for model files.
- :mod:`retrograd.data.transforms`: random transforms of a batch of images or
  sequences for augmentation (:class:`~retrograd.data.transforms.RandomShift`).

scikit-learn is optional: this package imports without it, and only the
functions that need it (its bundled data sets, ``moons``/``circles``, splitting,
fitting a :class:`Standardizer`) import it.
"""

from __future__ import annotations

from ._common import DataError
from .dataloader import DataLoader, default_collate, default_convert
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .datasets import (
    DATASETS,
    DatasetInfo,
    available_datasets,
    load_dataset,
    load_mnist1d,
    mnist1d_available,
)
from .files import (
    FeatureTable,
    read_csv,
    read_csv_features,
    read_feature_table,
    read_idx,
    read_idx_folder,
    read_npz,
)
from .preprocessing import LabelEncoder, Standardizer
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .spec import TASKS, DataSpec, infer_task
from .split import Splits, train_val_test_split

__all__ = [
    "DATASETS",
    "TASKS",
    "BatchSampler",
    "ConcatDataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "DataError",
    "DataLoader",
    "DataSpec",
    "FeatureTable",
    "Dataset",
    "DatasetInfo",
    "LabelEncoder",
    "Splits",
    "Standardizer",
    "Subset",
    "TensorDataset",
    "available_datasets",
    "default_collate",
    "default_convert",
    "infer_task",
    "load_dataset",
    "load_mnist1d",
    "mnist1d_available",
    "random_split",
    "read_csv",
    "read_csv_features",
    "read_feature_table",
    "read_idx",
    "read_idx_folder",
    "read_npz",
    "train_val_test_split",
]
