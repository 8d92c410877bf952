"""Train/validation/test splits with scikit-learn's ``train_test_split``, stratified for classes."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..validation import is_real
from ._common import DataError, require_sklearn
from .spec import TASKS

_SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}


class Splits(NamedTuple):
    """The parts made by :func:`train_val_test_split`; an empty part has 0 rows."""

    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray


def _count(size: float | int, n: int, what: str) -> int:
    """A split size (fraction in [0, 1) or count) as a number of samples, rounded up."""
    if not is_real(size):
        raise TypeError(f"{what} must be a fraction or a count, got {size!r}")
    if isinstance(size, (int, np.integer)):
        if not 0 <= size < n:
            raise DataError(f"{what}={size} must be a count between 0 and {n - 1}")
        return int(size)
    if not 0.0 <= size < 1.0:
        raise DataError(f"{what}={size} must be a fraction in [0, 1)")
    return math.ceil(size * n)


def train_val_test_split(
    X: Any,
    y: Any,
    val_size: float | int = 0.2,
    test_size: float | int = 0.0,
    task: str = "classification",
    seed: int = 0,
) -> Splits:
    """Split samples into training, validation and test parts, at random but reproducibly.

    Uses scikit-learn's ``train_test_split`` twice (the test part first, then the
    validation part from the rest), stratified by class for classification so
    that every part keeps the class proportions of ``y``.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,)
        Targets; for classification, labels of any one sortable type.
    val_size : float or int, default=0.2
        The validation part: a fraction of all samples (rounded up) or a count.
        0 makes it empty.
    test_size : float or int, default=0.0
        The test part, likewise.
    task : {'classification', 'regression'}, default='classification'
        Classification stratifies; regression shuffles only.
    seed : int, default=0
        ``random_state`` of the splits.

    Returns
    -------
    Splits
        ``(X_train, X_val, X_test, y_train, y_val, y_test)``, a named tuple.

    Raises
    ------
    DataError
        When a part would be too small: for classification every non-empty part
        must be able to hold every class, and each class needs a sample for each
        part; the message says which part, its size and the number of classes.
    """
    if task not in TASKS:
        raise DataError(f"task must be 'classification' or 'regression', got {task!r}")
    X, y = np.asarray(X), np.asarray(y)
    n = len(X)
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"y must have shape ({n},) to match X, got {y.shape}")
    n_test = _count(test_size, n, "test_size")
    n_val = _count(val_size, n, "val_size")
    n_train = n - n_val - n_test
    if n_train < 1:
        raise DataError(
            f"val_size={val_size} and test_size={test_size} leave no training samples out of {n}"
        )
    sizes = {"train": n_train, "val": n_val, "test": n_test}
    stratify = task == "classification"
    if stratify:
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            raise DataError(
                "y holds continuous values (numbers with fractions), which cannot be stratified "
                "as classes; pass task='regression'"
            )
        classes, counts = np.unique(y, return_counts=True)
        for part, size in sizes.items():
            if 0 < size < len(classes):
                setting = {"val": f" (val_size={val_size})", "test": f" (test_size={test_size})"}
                raise DataError(
                    f"the {_SPLIT_NAMES[part]} split is too small to hold every class: it has "
                    f"{size} samples{setting.get(part, '')} but y has {len(classes)} classes; "
                    f"a stratified split needs at least one sample per class. Make the "
                    f"{_SPLIT_NAMES[part]} split larger or use more data"
                )
        parts = sum(1 for size in sizes.values() if size > 0)
        least = int(np.argmin(counts))
        if counts[least] < parts:
            raise DataError(
                f"class {classes[least].item()!r} has only {counts[least]} sample(s), but a "
                f"stratified split into {parts} parts needs at least {parts} of every class"
            )
    selection = require_sklearn("model_selection", "train_val_test_split")

    def split(Xp: np.ndarray, yp: np.ndarray, size: int, part: str) -> list[np.ndarray]:
        if size == 0:
            return [Xp, Xp[:0], yp, yp[:0]]
        try:
            return selection.train_test_split(
                Xp, yp, test_size=size, random_state=seed, stratify=yp if stratify else None
            )
        except ValueError as e:
            raise DataError(f"cannot split off the {_SPLIT_NAMES[part]} part: {e}") from None

    X_rest, X_test, y_rest, y_test = split(X, y, n_test, "test")
    X_train, X_val, y_train, y_val = split(X_rest, y_rest, n_val, "val")
    return Splits(X_train, X_val, X_test, y_train, y_val, y_test)
