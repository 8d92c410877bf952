"""Model files in the safetensors format: no pickle, so loading can never run code.

A model file holds the ``state_dict`` tensors under PyTorch's names (so PyTorch
loads it with ``load_state_dict(safetensors.torch.load_file(path))``) and, as JSON
in the safetensors metadata, the architecture and any user metadata (the
preprocessing, the class labels). Every write goes to a temporary file in the
same folder that is then renamed over the target: a crash mid-write leaves the
previous file intact.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .tensor import Tensor, wrap_array

FORMAT = "retrograd-model/1"
CHECKPOINT_FORMAT = "retrograd-checkpoint/1"

PathLike = str | os.PathLike


def _safetensors() -> Any:
    try:
        import safetensors.numpy as st
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(
            "model files need the 'safetensors' package: pip install 'retrograd[cli]'"
        ) from e
    return st


# ---------------------------------------------------------------- the architecture registry


def _layers() -> dict[str, type]:
    """The module classes a model file may name: nothing else is ever built from a file.

    Every activation of the registry (:data:`retrograd.nn.activation.ACTIVATIONS`)
    is among them, so any network ``retrograd train`` builds can be saved.
    """
    from . import nn
    from .nn.activation import ACTIVATIONS

    classes = [
        nn.Sequential, nn.Linear, nn.Flatten, nn.Dropout, nn.BatchNorm1d, nn.LayerNorm,
        *ACTIVATIONS.values(), nn.Softmax, nn.LogSoftmax,
    ]  # fmt: skip
    return {cls.__name__: cls for cls in classes}


def architecture(module: Any) -> dict[str, Any]:
    """Describe ``module`` as JSON-able data: its class name and constructor arguments.

    Supported: ``nn.Sequential`` of the layers in the registry (nested allowed).
    Constructor arguments are read from the attributes of the same name, as
    PyTorch's layers keep them.
    """
    layers = _layers()
    name = type(module).__name__
    if layers.get(name) is not type(module):
        raise TypeError(
            f"save(): cannot describe a {name} module in a model file; supported: "
            f"{', '.join(sorted(layers))} (save its state_dict with save_file instead)"
        )
    if name == "Sequential":
        return {"type": name, "children": [architecture(m) for m in module.children()]}
    args = {}
    for p in list(inspect.signature(type(module).__init__).parameters.values())[1:]:
        if p.name in ("dtype", "device", "inplace"):
            continue
        if p.name == "bias" and hasattr(module, "bias"):
            value = module.bias is not None
        elif hasattr(module, p.name):
            value = getattr(module, p.name)
        else:
            continue
        args[p.name] = list(value) if isinstance(value, tuple) else value
    return {"type": name, "args": args}


def build(spec: Mapping[str, Any]) -> Any:
    """Build the module that :func:`architecture` described (weights uninitialised)."""
    layers = _layers()
    kind = spec.get("type") if isinstance(spec, Mapping) else None
    if kind not in layers:
        raise ValueError(
            f"model file names an unknown layer type {kind!r}; known: {', '.join(sorted(layers))}"
        )
    if kind == "Sequential":
        return layers[kind](*[build(c) for c in spec.get("children", [])])
    return layers[kind](**spec.get("args", {}))


# ---------------------------------------------------------------- files


def atomic_write(path: PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _contiguous(x: Any) -> np.ndarray:
    """A C-contiguous array of ``x`` (0-d stays 0-d, unlike np.ascontiguousarray)."""
    arr = x.array if isinstance(x, Tensor) else np.asarray(x)
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _arrays(tensors: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {k: _contiguous(v) for k, v in tensors.items()}


def save_file(
    tensors: Mapping[str, Any], path: PathLike, metadata: Mapping[str, str] | None = None
) -> None:
    """Write named tensors (or arrays) to a safetensors file, atomically."""
    st = _safetensors()
    atomic_write(path, st.save(_arrays(tensors), metadata=dict(metadata or {})))


def _read(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    st = _safetensors()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    raw = path.read_bytes()
    try:
        arrays = st.load(raw)
        header_len = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + header_len])
    except Exception as e:  # SafetensorError, ValueError, JSON errors: a clear message instead
        raise ValueError(
            f"{path} is not a readable safetensors file (truncated, corrupt or another format): {e}"
        ) from None
    return arrays, dict(header.get("__metadata__") or {})


def load_file(path: PathLike) -> dict[str, Tensor]:
    """Read every tensor of a safetensors file (written here or by PyTorch)."""
    arrays, _ = _read(path)
    return {k: wrap_array(v) for k, v in arrays.items()}


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The user metadata that :func:`save` stored with a model (``{}`` when none)."""
    _, meta = _read(path)
    return json.loads(meta["metadata"]) if "metadata" in meta else {}


def save(module: Any, path: PathLike, metadata: Mapping[str, Any] | None = None) -> None:
    """Save a model: weights under PyTorch's names, architecture and metadata as JSON.

    Parameters
    ----------
    module : nn.Module
        An ``nn.Sequential`` of supported layers (see :func:`architecture`).
    path : str or PathLike
        The file to write (``.safetensors``); written atomically.
    metadata : mapping, optional
        JSON-able data stored with the model (preprocessing, class labels, ...).
    """
    meta = {
        "format": FORMAT,
        "architecture": json.dumps(architecture(module)),
        "metadata": json.dumps(dict(metadata or {})),
    }
    save_file(module.state_dict(), path, meta)


def load(path: PathLike) -> Any:
    """Load a model written by :func:`save`, weights included, in eval mode.

    Files without retrograd's architecture (for example PyTorch's) are read with
    :func:`load_file` and ``model.load_state_dict``.
    """
    arrays, meta = _read(path)
    if meta.get("format") != FORMAT or "architecture" not in meta:
        raise ValueError(
            f"{path} holds tensors but no retrograd model description; build the model "
            "yourself and call model.load_state_dict(retrograd.load_file(path))"
        )
    module = build(json.loads(meta["architecture"]))
    module.load_state_dict({k: wrap_array(v) for k, v in arrays.items()})
    return module.eval()


# ---------------------------------------------------------------- checkpoints


def _flatten(obj: Any, prefix: str, tensors: dict[str, np.ndarray]) -> Any:
    """Replace every array in a nested structure by a reference into ``tensors``."""
    if isinstance(obj, Tensor | np.ndarray):
        key = prefix or "_"
        tensors[key] = _contiguous(obj)
        return {"__tensor__": key}
    if isinstance(obj, Mapping):
        items = list(obj.items())
        if any(not isinstance(k, str) for k, _ in items):  # e.g. optimizer state keyed by int
            return {"__items__": [[k, _flatten(v, f"{prefix}.{k}", tensors)] for k, v in items]}
        return {k: _flatten(v, f"{prefix}.{k}" if prefix else k, tensors) for k, v in items}
    if isinstance(obj, list | tuple):
        out = [_flatten(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
        return {"__tuple__": out} if isinstance(obj, tuple) else out
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _unflatten(obj: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return arrays[obj["__tensor__"]].copy()
        if set(obj) == {"__items__"}:
            return {k: _unflatten(v, arrays) for k, v in obj["__items__"]}
        if set(obj) == {"__tuple__"}:
            return tuple(_unflatten(v, arrays) for v in obj["__tuple__"])
        return {k: _unflatten(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, arrays) for v in obj]
    return obj


def save_checkpoint(state: Mapping[str, Any], path: PathLike) -> None:
    """Write a nested dict of arrays and JSON-able values (model, optimizer, epoch, RNG).

    Arrays become safetensors tensors under their dotted path; everything else is
    JSON in the metadata. Written atomically.
    """
    tensors: dict[str, np.ndarray] = {}
    tree = _flatten(dict(state), "", tensors)
    save_file(tensors, path, {"format": CHECKPOINT_FORMAT, "tree": json.dumps(tree)})


def load_checkpoint(path: PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; arrays come back as ndarrays."""
    arrays, meta = _read(path)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a retrograd checkpoint")
    return _unflatten(json.loads(meta["tree"]), arrays)
