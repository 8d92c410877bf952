"""Reading the data sets, model files and CSV files that commands are given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import pipeline
from ..data import DataError, load_dataset, read_feature_table
from ..data.spec import match_feature_names, preview
from .errors import UsageFailure
from .run_folder import MODEL_FILE


def load_data(data: str, target: str | None) -> Any:
    """The :class:`~retrograd.data.DataSpec` for a data set name or file, or a usage error.

    The messages are :func:`~retrograd.data.load_dataset`'s: an unknown name lists
    the available ones, a malformed file names the file and the line.
    """
    try:
        return load_dataset(data, target=target)
    except (DataError, OSError) as e:
        raise UsageFailure(str(e)) from None


def model_path(model: Path) -> Path:
    """MODEL may be a model file or a run folder holding one."""
    path = model / MODEL_FILE if model.is_dir() else model
    if not path.is_file():
        raise UsageFailure(f"no model file at {path} (give a {MODEL_FILE} or a run folder)")
    return path


def load_model(model: Path) -> tuple[Path, Any]:
    """The model file (or run folder) MODEL, checked before use; a usage error naming it."""
    path = model_path(model)
    try:
        return path, pipeline.TrainedModel.load(path)
    except (ValueError, OSError) as e:
        message = str(e)
        if str(path) not in message:
            message = f"{path}: {message}"
        raise UsageFailure(f"cannot load the model {message}") from None


def check_features(model: Any, x: np.ndarray, source: str, hint: str = "") -> None:
    """A feature count that does not match the model is a usage error naming both counts."""
    expected = model.n_features
    got = x.shape[1]
    if got != expected:
        shape = model.info.get("input_shape")  # a CNN's samples, flattened channel by channel
        what = (
            f"{'x'.join(map(str, shape))} {'images' if len(shape) == 3 else 'sequences'} "
            "flattened to"
            if shape
            else ""
        )
        raise UsageFailure(
            f"{source} has {got} feature column{'s' * (got != 1)}, but the model expects "
            f"{what}{' ' * bool(what)}{expected} ({preview(model.feature_names)})"
            f"{hint if got == expected + 1 else ''}"
        )


def match_features(
    model: Any, x: np.ndarray, names: list[str] | None, source: str, hint: str = ""
) -> np.ndarray:
    """The columns of ``x`` in the model's feature order, as scikit-learn's name check.

    When both the data (``names``: its header, None without one) and the model
    name their features, the columns are matched by name, in any order
    (:func:`retrograd.data.spec.match_feature_names`), and missing or unexpected
    names are a usage error listing them. Otherwise the columns are taken in
    order and only their number is checked.
    """
    if names is None or not model.named_features:
        check_features(model, x, source, hint)
        return x
    try:
        order = match_feature_names(model.feature_names, names, source, hint)
    except ValueError as e:
        raise UsageFailure(str(e)) from None
    if order is None:
        check_features(model, x, source, hint)
        return x
    return x[:, order]


def read_features_csv(path: Path, target: str | None) -> tuple[np.ndarray, list[str] | None]:
    """The feature columns of a CSV file without targets (``target``: a column to drop), and
    their names from its header (None without one).

    Read with :mod:`retrograd.data`'s CSV rules and messages (file and line named).
    """
    if not path.is_file():
        raise UsageFailure(f"no such file: {path}")
    try:
        table = read_feature_table(path, drop=target)
    except DataError as e:
        raise UsageFailure(str(e)) from None
    return table.X, table.feature_names if table.has_header else None


def predictions(model: Any, x: np.ndarray, source: str, proba: bool = False) -> np.ndarray:
    """``model.predict(x)`` (or ``predict_proba``); a row it cannot predict is a usage error.

    A feature that overflows the network, or a NaN or infinite output, is
    refused naming the row: a prediction is never silently NaN.
    """
    try:
        return np.asarray(model.predict_proba(x) if proba else model.predict(x))
    except ValueError as e:
        raise UsageFailure(f"{source}: {e}") from None


def check_output(path: Path, option: str) -> None:
    """Refuse a file to write whose folder cannot be made (a file in its place) or which is
    a folder, before any work is done."""
    if path.is_dir():
        raise UsageFailure(f"{option} {path} is a folder; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageFailure(
                    f"{option} {path}: {parent} is a file, so it cannot hold {path.name}"
                )
            return


def check_plot(path: Path) -> None:
    """``--plot FILE``: a file to write whose extension names a format matplotlib writes."""
    from .plots import plot_formats

    formats = plot_formats()
    ext = path.suffix.lower().lstrip(".")
    if ext not in formats:
        raise UsageFailure(
            f"--plot {path}: cannot write a {'.' + ext if ext else 'file without an extension'}"
            f" image; use one of {', '.join('.' + f for f in formats)}"
        )
    check_output(path, "--plot")
