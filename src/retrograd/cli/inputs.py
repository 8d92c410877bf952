"""Reading the data sets, model files and CSV files that commands are given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import pipeline
from ..data import DataError, load_dataset, read_csv_features
from .errors import UsageFailure
from .run_folder import MODEL_FILE
from .text import preview


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
    path = model_path(model)
    try:
        return path, pipeline.TrainedModel.load(path)
    except (ValueError, KeyError, OSError) as e:
        raise UsageFailure(f"cannot load the model {path}: {e}") from None


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


def read_features_csv(path: Path, target: str | None) -> np.ndarray:
    """The feature columns of a CSV file without targets (``target``: a column to drop).

    Read with :mod:`retrograd.data`'s CSV rules and messages (file and line named).
    """
    if not path.is_file():
        raise UsageFailure(f"no such file: {path}")
    try:
        x, _ = read_csv_features(path, drop=target)
    except DataError as e:
        raise UsageFailure(str(e)) from None
    return x


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
