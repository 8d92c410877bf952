"""``DataSpec``: a loaded data set (features, targets, task, names), the task rule, and the
matching of a table's columns to a model's features by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import DataError

TASKS = ("classification", "regression")

#: Integer targets with at most this many distinct values are taken as class labels.
MAX_INFERRED_CLASSES = 20


@dataclass
class DataSpec:
    """A data set ready for splitting and training.

    Parameters
    ----------
    X : numpy.ndarray of shape (n_samples, n_features)
        Features, float64 (float32 where the source was float32, such as IDX images).
    y : numpy.ndarray of shape (n_samples,)
        Targets: class labels of any one sortable type (ints, floats, strings,
        bools) for classification, floats for regression.
    task : {'classification', 'regression'}
        What predicting ``y`` is.
    feature_names : list of str
        One name per column of ``X``.
    name : str
        The data set's name, or the file or folder it was read from.
    target_name : str
        The name of the target (the CSV column, or ``'target'``).
    target_names : list of str, optional
        For scikit-learn's classification sets: the class names of labels
        ``0 .. k-1`` (``['setosa', 'versicolor', 'virginica']`` for iris).
    description : str, default=''
        One line about where the data came from.
    sample_shape : tuple of int, optional
        The shape of one sample before flattening, channels first: ``(C, H, W)``
        for images (``(1, 8, 8)`` for digits), ``(C, L)`` for sequences; None
        for tabular data. ``X`` stays flat; a convolutional network reshapes it.
    named_features : bool, default=True
        Whether ``feature_names`` are the data's own (a CSV header, names stored
        in the file, a named data set's) rather than positions (``x0, x1, ...``).
        A model matches the columns of new data by name only when both have names.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: list[str]
    name: str
    target_name: str
    target_names: list[str] | None = None
    description: str = field(default="", repr=False)
    sample_shape: tuple[int, ...] | None = None
    named_features: bool = True

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"DataSpec: task must be one of {TASKS}, got {self.task!r}")
        if not isinstance(self.X, np.ndarray) or self.X.ndim != 2 or self.X.dtype.kind != "f":
            raise ValueError(
                f"DataSpec: X must be a 2-D floating array (samples x features), got "
                f"{type(self.X).__name__} of shape {getattr(self.X, 'shape', '?')}"
            )
        if not isinstance(self.y, np.ndarray) or self.y.ndim != 1:
            raise ValueError(
                f"DataSpec: y must be a 1-D array, got shape {getattr(self.y, 'shape', '?')}"
            )
        if len(self.y) != len(self.X):
            raise ValueError(
                f"DataSpec: X has {len(self.X)} samples but y has {len(self.y)}; they must match"
            )
        if len(self.feature_names) != self.X.shape[1]:
            raise ValueError(
                f"DataSpec: {len(self.feature_names)} feature names for {self.X.shape[1]} features"
            )
        self.feature_names = [str(n) for n in self.feature_names]
        if self.sample_shape is not None:
            shape = tuple(int(s) for s in self.sample_shape)
            if len(shape) not in (2, 3) or int(np.prod(shape)) != self.X.shape[1]:
                raise ValueError(
                    f"DataSpec: sample_shape must be (C, L) or (C, H, W) with as many values "
                    f"as the {self.X.shape[1]} features, got {self.sample_shape!r}"
                )
            self.sample_shape = shape

    @property
    def n_samples(self) -> int:
        """The number of samples (rows of ``X``)."""
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        """The number of features (columns of ``X``)."""
        return self.X.shape[1]

    @property
    def classes(self) -> list[Any] | None:
        """The sorted distinct labels as Python values, or None for regression."""
        if self.task != "classification":
            return None
        return np.unique(self.y).tolist()


def infer_task(y: np.ndarray) -> str:
    """Guess the task from the targets.

    Strings and bools are class labels; floats with a fractional part are a
    regression target; whole numbers are class labels when there are at most
    :data:`MAX_INFERRED_CLASSES` distinct values, and a regression target otherwise.
    Pass ``task=`` to the loaders to decide instead.
    """
    if y.dtype.kind in "OUSb":
        return "classification"
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        return "regression"
    return "classification" if len(np.unique(y)) <= MAX_INFERRED_CLASSES else "regression"


def resolve_task(task: str | None, y: np.ndarray, source: str) -> tuple[str, np.ndarray]:
    """Check ``task`` against ``y`` (None: infer it); regression targets become float64."""
    if task is None:
        task = infer_task(y)
    elif task not in TASKS:
        raise DataError(f"task must be 'classification' or 'regression', got {task!r}")
    if task == "classification" and y.dtype.kind == "f":
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise DataError(
                f"{source}: task='classification' needs class labels, but target {i} is "
                f"{y[i].item()!r}, a number with a fraction; use task='regression', or whole "
                "numbers or text as labels"
            )
    if task == "regression":
        if y.dtype.kind not in "iuf":
            raise DataError(
                f"{source}: task='regression' needs numeric targets, but they are {y.dtype} "
                f"(for example {y[0]!r})"
            )
        y = y.astype(np.float64)
    return task, y


def preview(names: Sequence[Any], keep: int = 4) -> str:
    """``names`` as text, the middle elided past ``2 * keep`` (``a, b, c, d, ..., w, x, y, z``)."""
    names = [str(n) for n in names]
    if len(names) <= 2 * keep:
        return ", ".join(names)
    return ", ".join([*names[:keep], "...", *names[-keep:]])


def match_feature_names(
    expected: Sequence[str], names: Sequence[Any], source: str, hint: str = ""
) -> list[int] | None:
    """Where each ``expected`` feature is among a table's column ``names``, matched by name.

    The one name check of :meth:`retrograd.pipeline.TrainedModel.predict` (a DataFrame's
    columns) and of the command line (a CSV file's header), as scikit-learn's
    ``feature_names_in_`` check, except that the columns may come in any order.

    Parameters
    ----------
    expected : sequence of str
        The model's feature names, in its order.
    names : sequence
        The table's column names, in its order.
    source : str
        What the table is, to begin an error message (``"data.csv"``).
    hint : str, default=''
        Appended to the message when there are only unexpected columns (a target
        column left in, say).

    Returns
    -------
    list of int or None
        The column of each expected feature; None when ``names`` are ``expected``.

    Raises
    ------
    ValueError
        A repeated column name, or missing or unexpected names, all of them listed.
    """
    expected, names = list(expected), list(names)
    if names == expected:
        return None
    repeated = sorted({str(n) for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{source} has more than one column named {preview(repeated)}")
    missing = [n for n in expected if n not in names]
    unexpected = [n for n in names if n not in expected]
    if missing or unexpected:
        said = [f"missing {preview(missing)}"] if missing else []
        said += [f"unexpected {preview(unexpected)}"] if unexpected else []
        got = len(names)
        count = (
            f"{source} has {got} feature column{'s' * (got != 1)}, but the model expects "
            f"{len(expected)}"
            if got != len(expected)
            else f"{source}'s columns do not match the model's features"
        )
        raise ValueError(
            f"{count}; by name: {'; '.join(said)} (the model's: {preview(expected)})"
            f"{hint if unexpected and not missing else ''}"
        )
    return [names.index(n) for n in expected]
