"""What a model file is: every file retrograd writes, told apart by its safetensors header.

``retrograd info`` reads a run's model; a bare network (``retrograd.save``)
it shows without preprocessing; any other file retrograd writes (an
estimator, a checkpoint, an object file) it refuses, naming the kind and what
reads it, rather than failing on a missing key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import serialization
from .errors import UsageFailure

_ESTIMATOR = "retrograd-sklearn-mlp/1"  # retrograd.sklearn MLPClassifier/MLPRegressor.save
_HEADER_LIMIT = 100 * 2**20  # safetensors' own limit on the JSON header


def read_header(path: Path) -> dict[str, Any] | None:
    """The ``__metadata__`` of a safetensors file, read without loading a tensor; None for
    a file that is not one (the model loader then says what it is)."""
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        if not 0 < size <= _HEADER_LIMIT:
            return None
        try:
            header = json.loads(f.read(size))
        except ValueError:
            return None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def kind(path: Path) -> str:
    """``'trained'`` (a run's model), ``'network'`` (``retrograd.save`` of a module), or a
    usage error that names the file's kind and the command or function that reads it."""
    meta = read_header(path)
    if meta is None:
        return "trained"  # not safetensors: load_model's messages say what it is
    fmt = meta.get("format")
    if fmt == serialization.CHECKPOINT_FORMAT:
        raise UsageFailure(
            f"{path} is a training checkpoint (written by retrograd train or retrograd.fit), "
            f"not a model; continue its run with: retrograd train --resume {path.parent}"
        )
    if fmt == serialization.OBJECT_FORMAT:
        raise UsageFailure(
            f"{path} is an object file (retrograd.save of tensors, not of a model); "
            "read it with retrograd.load"
        )
    if fmt != serialization.FORMAT:
        raise UsageFailure(
            f"{path} is a safetensors file that retrograd did not write (no model "
            "architecture in it); read its tensors with retrograd.load_file"
        )
    try:
        extra = json.loads(meta.get("metadata") or "{}")
    except ValueError:
        return "trained"  # damaged: load_model's checks name what is wrong
    if not isinstance(extra, dict):
        return "trained"
    if extra.get("kind") == _ESTIMATOR:
        name = extra.get("estimator", "MLPClassifier")
        raise UsageFailure(
            f"{path} is a scikit-learn-style estimator ({name}.save); load it in Python with "
            f"retrograd.sklearn.{name}.load(path) (retrograd info reads the models of "
            "retrograd train)"
        )
    # retrograd.save(module) stores no metadata: a bare network; anything else is read
    # as a run's model, whose checks name what it lacks
    return "network" if not extra else "trained"
