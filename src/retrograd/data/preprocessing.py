"""Feature scaling and class-label encoding whose fitted state is plain JSON.

A model file stores both as JSON metadata, so that prediction scales new data
exactly as the training data was scaled and reports the original labels.
Fitting the scaler uses scikit-learn's ``StandardScaler``; applying a fitted or
loaded one needs only NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._common import DataError, require_sklearn


def _features(X: Any, what: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"{what}: expected a 2-D array (samples x features), got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise DataError(f"{what}: features must be numbers, got dtype {X.dtype}")
    return X


class Standardizer:
    """Scale each feature to zero mean and unit variance, with statistics of the training part.

    ``transform(X) = (X - mean_) / scale_``, where ``mean_`` and ``scale_`` (the
    population standard deviation, 1 for a constant feature) come from
    scikit-learn's ``StandardScaler`` fitted in :meth:`fit`. Fit it on the
    training part only, so nothing about the validation or test samples leaks
    into training.

    Attributes
    ----------
    mean_ : numpy.ndarray of shape (n_features,)
    scale_ : numpy.ndarray of shape (n_features,)
    n_features_in_ : int

    Examples
    --------
    >>> import json, numpy as np
    >>> s = Standardizer().fit(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> s.transform(np.array([[1.0, 20.0]]))
    array([[0., 0.]])
    >>> Standardizer.from_dict(json.loads(json.dumps(s.to_dict()))).mean_
    array([ 1., 20.])
    """

    mean_: np.ndarray
    scale_: np.ndarray

    @property
    def n_features_in_(self) -> int:
        """The number of features the scaler was fitted on."""
        self._check_fitted("n_features_in_")
        return len(self.mean_)

    def _check_fitted(self, op: str) -> None:
        if not hasattr(self, "mean_"):
            raise RuntimeError(f"Standardizer.{op}: call fit() or from_dict() first")

    def fit(self, X: Any) -> Standardizer:
        """Learn ``mean_`` and ``scale_`` from ``X`` of shape (n_samples, n_features)."""
        X = _features(X, "Standardizer.fit")
        if len(X) == 0:
            raise DataError("Standardizer.fit: X has no samples")
        preprocessing = require_sklearn("preprocessing", "Standardizer.fit")
        with np.errstate(over="ignore", invalid="ignore"):
            scaler = preprocessing.StandardScaler().fit(X)
        self.mean_ = np.asarray(scaler.mean_, dtype=np.float64)
        self.scale_ = np.asarray(scaler.scale_, dtype=np.float64)
        # StandardScaler gives an overflowed variance the scale 1: mark it to be redone.
        self.scale_[~np.isfinite(scaler.var_)] = np.inf
        self._rescue(X, self.mean_, self.scale_, np.arange(X.shape[1]), "Standardizer.fit")
        return self

    def _rescue(
        self, X: np.ndarray, mean: np.ndarray, scale: np.ndarray, columns: np.ndarray, op: str
    ) -> None:
        """Redo, in place, the statistics that overflowed float64 (values beyond about 1e154
        square to infinity): computed on the values divided by their largest magnitude, then
        scaled back. Refuse a column whose standardised values would still overflow.

        ``columns[j]`` is the column of ``X`` that statistic ``j`` describes (a channel's
        statistics describe several columns).
        """
        overflowed = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(scale)))
        for k in overflowed:
            values = X[:, columns == k].astype(np.float64).ravel()
            top = np.abs(values).max()
            with np.errstate(over="ignore", invalid="ignore"):
                mean[k] = (values / top).mean() * top
                std = (values / top).std() * top
                scale[k] = std if std > 0 else 1.0
                scaled = (values - mean[k]) / scale[k]
            if not (np.isfinite(mean[k]) and np.isfinite(scale[k]) and np.isfinite(scaled).all()):
                j = int(np.flatnonzero(columns == k)[0])
                extreme = float(values[np.argmax(np.abs(values))])
                self.__dict__.pop("mean_", None)  # not fitted, rather than half fitted
                self.__dict__.pop("scale_", None)
                raise DataError(
                    f"{op}: feature column {j} holds {extreme!r}, too large to standardise "
                    "(the distance to its mean overflows float64); rescale the column, for "
                    "instance to other units or by its logarithm"
                )

    def fit_channels(self, X: Any, n_channels: int) -> Standardizer:
        """Learn one mean and scale per channel, for flattened channels-first samples.

        ``X`` of shape (n_samples, n_channels * positions) holds images or
        sequences flattened from (C, H, W) or (C, L): every pixel of a channel
        gets the channel's statistics (``mean_`` and ``scale_`` still have one
        entry per feature, so :meth:`transform` is unchanged).
        """
        X = _features(X, "Standardizer.fit_channels")
        if len(X) == 0:
            raise DataError("Standardizer.fit_channels: X has no samples")
        if n_channels < 1 or X.shape[1] % n_channels:
            raise DataError(
                f"Standardizer.fit_channels: {X.shape[1]} features do not split into "
                f"{n_channels} channels"
            )
        per_channel = X.reshape(len(X), n_channels, -1).transpose(1, 0, 2).reshape(n_channels, -1)
        with np.errstate(over="ignore", invalid="ignore"):
            mean = per_channel.mean(axis=1, dtype=np.float64)
            std = per_channel.std(axis=1, dtype=np.float64)
        scale = np.where(
            std > 0, std, 1.0
        )  # a constant channel is left unscaled, as StandardScaler
        positions = X.shape[1] // n_channels
        self._rescue(
            X, mean, scale, np.repeat(np.arange(n_channels), positions), "Standardizer.fit_channels"
        )
        self.mean_ = np.repeat(mean, positions)
        self.scale_ = np.repeat(scale, positions)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Scale ``X`` of shape (n_samples, n_features_in_).

        Returns float64, or float32 when ``X`` is float32.

        Raises
        ------
        DataError
            When ``X`` has a different number of features than the fitted data.
        """
        X, dtype = self._fitted_input(X, "transform")
        return ((X - self.mean_) / self.scale_).astype(dtype, copy=False)

    def fit_transform(self, X: Any) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo :meth:`transform`: ``X * scale_ + mean_``."""
        X, dtype = self._fitted_input(X, "inverse_transform")
        return (X * self.scale_ + self.mean_).astype(dtype, copy=False)

    def _fitted_input(self, X: Any, op: str) -> tuple[np.ndarray, np.dtype]:
        """``X`` checked for method ``op`` (fitted, as many features), and the result's dtype."""
        self._check_fitted(op)
        X = _features(X, f"Standardizer.{op}")
        if X.shape[1] != len(self.mean_):
            raise DataError(
                f"the model expects {len(self.mean_)} features, the data has {X.shape[1]}"
            )
        return X, np.dtype(np.float32 if X.dtype == np.float32 else np.float64)

    def to_dict(self) -> dict[str, list[float]]:
        """The fitted state as JSON-able lists: ``{'mean': [...], 'scale': [...]}``.

        Python floats print in JSON exactly, so a round trip gives the same bits.
        """
        self._check_fitted("to_dict")
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, state: Mapping[str, Sequence[float]]) -> Standardizer:
        """A fitted Standardizer from :meth:`to_dict`'s output (after JSON or not)."""
        if not isinstance(state, Mapping) or not {"mean", "scale"} <= set(state):
            raise DataError(
                "Standardizer.from_dict: expected a mapping with 'mean' and 'scale' lists, "
                f"got {state!r:.100}"
            )
        try:
            mean = np.array(state["mean"], dtype=np.float64)
            scale = np.array(state["scale"], dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise DataError(
                f"Standardizer.from_dict: mean and scale must be numbers ({e})"
            ) from None
        if mean.ndim != 1 or mean.shape != scale.shape:
            raise DataError(
                f"Standardizer.from_dict: mean and scale must be lists of equal length, got "
                f"shapes {mean.shape} and {scale.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise DataError("Standardizer.from_dict: mean must be finite and scale finite and > 0")
        out = cls()
        out.mean_, out.scale_ = mean, scale
        return out

    def __repr__(self) -> str:
        fitted = f"n_features={len(self.mean_)}" if hasattr(self, "mean_") else "not fitted"
        return f"Standardizer({fitted})"


_JSON_LABEL_TYPES = (bool, int, float, str)


class LabelEncoder:
    """Map class labels to indices ``0 .. k-1`` in sorted order, and back.

    Labels may be ints, floats, strings or bools (one type per data set, so that
    they sort). The fitted state is the sorted list of labels as Python values;
    it survives a JSON round trip with its types: ints stay ints, floats floats,
    strings strings.

    Attributes
    ----------
    classes_ : numpy.ndarray of shape (n_classes,)
        The sorted distinct labels.

    Examples
    --------
    >>> enc = LabelEncoder().fit(["cat", "dog", "cat", "bird"])
    >>> enc.classes, enc.transform(["dog", "bird"])
    (['bird', 'cat', 'dog'], array([2, 0]))
    >>> LabelEncoder.from_dict(enc.to_dict()).inverse_transform([1])
    array(['cat'], dtype='<U4')
    """

    classes_: np.ndarray

    def _check_fitted(self, op: str) -> None:
        if not hasattr(self, "classes_"):
            raise RuntimeError(f"LabelEncoder.{op}: call fit() or from_dict() first")

    @property
    def classes(self) -> list[Any]:
        """The sorted labels as Python values (JSON-able)."""
        self._check_fitted("classes")
        return self.classes_.tolist()

    def fit(self, y: Any) -> LabelEncoder:
        """Learn the sorted distinct labels of ``y`` (1-D)."""
        y = _labels(y, "LabelEncoder.fit")
        if len(y) == 0:
            raise DataError("LabelEncoder.fit: y has no labels")
        self.classes_ = np.unique(y)
        return self

    def transform(self, y: Any) -> np.ndarray:
        """The int64 index of each label of ``y``.

        Raises
        ------
        DataError
            For a label that was not seen in :meth:`fit`; the message lists the known ones.
        """
        self._check_fitted("transform")
        y = _labels(y, "LabelEncoder.transform")
        classes = self.classes_
        if len(y) == 0:
            return np.zeros(0, dtype=np.int64)
        comparable = (y.dtype.kind in "US") == (classes.dtype.kind in "US")
        if comparable:
            idx = np.searchsorted(classes, y).clip(0, len(classes) - 1)
            known = classes[idx] == y
        if not comparable or not np.all(known):
            first = y[0] if not comparable else y[~known][0]
            listed = ", ".join(repr(c) for c in self.classes[:20])
            more = ", ..." if len(classes) > 20 else ""
            raise DataError(
                f"unknown class label {first.item()!r}: the model knows {len(classes)} "
                f"classes ({listed}{more})"
            )
        return idx.astype(np.int64)

    def fit_transform(self, y: Any) -> np.ndarray:
        """``fit(y)`` then ``transform(y)``."""
        return self.fit(y).transform(y)

    def inverse_transform(self, indices: Any) -> np.ndarray:
        """The labels at ``indices`` (ints in ``0 .. n_classes - 1``)."""
        self._check_fitted("inverse_transform")
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu":
            raise DataError(
                f"LabelEncoder.inverse_transform: expected integer indices, got {idx.dtype}"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.classes_)):
            raise DataError(
                f"LabelEncoder.inverse_transform: indices must be in 0..{len(self.classes_) - 1}, "
                f"got values from {idx.min()} to {idx.max()}"
            )
        return self.classes_[idx]

    def to_dict(self) -> dict[str, list[Any]]:
        """The fitted state as JSON-able data: ``{'classes': [sorted labels]}``."""
        return {"classes": self.classes}

    @classmethod
    def from_dict(cls, state: Mapping[str, Sequence[Any]]) -> LabelEncoder:
        """A fitted LabelEncoder from :meth:`to_dict`'s output (after JSON or not)."""
        if not isinstance(state, Mapping) or "classes" not in state:
            raise DataError(
                "LabelEncoder.from_dict: expected a mapping with a 'classes' list, "
                f"got {state!r:.100}"
            )
        classes = list(state["classes"])
        if not classes:
            raise DataError("LabelEncoder.from_dict: the list of classes is empty")
        kinds = {type(c) for c in classes}
        if not all(k in _JSON_LABEL_TYPES for k in kinds) or (str in kinds and len(kinds) > 1):
            raise DataError(
                "LabelEncoder.from_dict: classes must all be strings, or all numbers/bools; "
                f"got types {sorted(k.__name__ for k in kinds)}"
            )
        array = np.array(classes)
        if len(np.unique(array)) != len(array) or np.any(array[1:] <= array[:-1]):
            raise DataError("LabelEncoder.from_dict: classes must be sorted and distinct")
        out = cls()
        out.classes_ = array
        return out

    def __len__(self) -> int:
        self._check_fitted("__len__")
        return len(self.classes_)

    def __repr__(self) -> str:
        if not hasattr(self, "classes_"):
            return "LabelEncoder(not fitted)"
        return f"LabelEncoder(classes={self.classes!r:.200})"


def _labels(y: Any, what: str) -> np.ndarray:
    """``y`` as a 1-D array of one sortable kind (object arrays of one type are converted)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{what}: labels must be 1-D, got shape {y.shape}")
    if y.dtype.kind == "O":
        kinds = {type(v) for v in y.tolist()}
        if len(kinds) > 1 and not kinds <= {int, float, bool}:
            raise DataError(
                f"{what}: labels must be of one sortable type, got a mix of "
                f"{', '.join(sorted(k.__name__ for k in kinds))}"
            )
        try:
            y = np.array(y.tolist())
        except (TypeError, ValueError) as e:
            raise DataError(f"{what}: cannot use these labels ({e})") from None
        if y.dtype.kind == "O":
            raise DataError(f"{what}: labels must be numbers or strings")
    if y.dtype.kind == "S":
        y = y.astype(str)
    if y.dtype.kind not in "biufU":
        raise DataError(f"{what}: labels must be numbers, strings or bools, got dtype {y.dtype}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise DataError(f"{what}: labels contain NaN or infinity (a missing value?)")
    return y
