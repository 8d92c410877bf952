"""Saving and loading in the safetensors format: no pickle, so loading can never run code.

Three kinds of file, told apart by the ``format`` entry of the safetensors metadata:

- a **model file** (:func:`save` of an ``nn.Module``): the ``state_dict`` tensors
  under PyTorch's names (so PyTorch loads it with
  ``load_state_dict(safetensors.torch.load_file(path))``) and, as JSON, the
  architecture and any user metadata (the preprocessing, the class labels);
- an **object file** (:func:`save` of anything else, as ``torch.save`` is used):
  state dicts, optimizer state dicts and nested dicts, lists and tuples of
  tensors, NumPy arrays, numbers, strings, booleans and None. Every array is a
  safetensors tensor; the structure around them is JSON in the metadata;
- a **checkpoint** of the training loop (:func:`save_checkpoint`).

Every write goes to a temporary file in the same folder that is then renamed
over the target: a crash mid-write leaves the previous file intact. A pickled
PyTorch ``.pt`` file is refused with a message that says how to convert it.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .tensor import Tensor, wrap_array

FORMAT = "retrograd-model/1"
CHECKPOINT_FORMAT = "retrograd-checkpoint/1"
OBJECT_FORMAT = "retrograd-object/1"

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
        nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d,
        nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
        nn.BatchNorm2d, nn.Dropout2d, nn.Unflatten,
        nn.SiLU, nn.Mish, nn.Hardtanh, nn.LogSigmoid, nn.Softsign, nn.PReLU, nn.Embedding,
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


def _umask() -> int:
    """The process's umask (reading it means setting it: put it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0o600); give it the mode open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.filename is None:  # a full disk: say which file
            raise OSError(e.errno, e.strerror or str(e), str(path)) from e
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


#: How a PyTorch file made by ``torch.save`` begins: a zip archive, or a bare pickle.
_PICKLE_MAGIC = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def _read(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    return _parse(path.read_bytes(), path)


def _parse(raw: bytes, path: Any) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and the metadata of the safetensors bytes ``raw`` read from ``path``."""
    st = _safetensors()
    if raw.startswith(_PICKLE_MAGIC):
        raise ValueError(
            f"{path} looks like a PyTorch pickle file (torch.save); retrograd never unpickles, "
            "because loading a pickle can run arbitrary code. In PyTorch, convert it with "
            "safetensors.torch.save_file(torch.load(path), 'model.safetensors') for a "
            "state_dict, then use retrograd.load_file"
        )
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


def save(obj: Any, f: Any, metadata: Mapping[str, Any] | None = None) -> None:
    """Save a model, or a structure of tensors, as ``torch.save`` is used; never pickles.

    ``retrograd.save(model.state_dict(), path)`` and the resume pattern
    ``retrograd.save({'model': model.state_dict(), 'optimizer': opt.state_dict(),
    'epoch': 3}, path)`` work as in PyTorch; :func:`load` gives the structure back.

    Parameters
    ----------
    obj : nn.Module, or a structure of tensors and plain values
        An ``nn.Module`` is written as a model file: weights under PyTorch's
        names plus its architecture, so :func:`load` rebuilds it (supported: an
        ``nn.Sequential`` of the layers in :func:`architecture`'s registry).
        Anything else is written as an object file: dicts (any str, int, float,
        bool or None keys; OrderedDict stays one), lists, tuples, Tensors (and
        Parameters, ``requires_grad`` kept), NumPy arrays and scalars, int,
        float, str, bool and None, nested to any depth. Arrays must be boolean,
        integer or floating. An object met twice is stored once and loads as one
        object; tensors that only share memory load as separate copies.
    f : str, PathLike or binary file object
        The file to write (``.safetensors``, or ``.pt`` as PyTorch scripts name
        it: the contents are safetensors either way). A path is written
        atomically, with the mode the umask gives a new file.
    metadata : mapping, optional
        For a model only: JSON-able data stored with it (preprocessing, labels).

    Raises
    ------
    TypeError
        For a value of another type (a function, a set, a custom object), naming
        where in ``obj`` it is.
    """
    from .nn import Module

    if isinstance(obj, Module):
        meta = {
            "format": FORMAT,
            "architecture": json.dumps(architecture(obj)),
            "metadata": json.dumps(dict(metadata or {})),
        }
        arrays = _arrays(obj.state_dict())
    else:
        if metadata is not None:
            raise TypeError("save(): metadata= is stored with a model (an nn.Module) only")
        arrays = {}
        tree = _Encoder(arrays).encode(obj, "")
        meta = {"format": OBJECT_FORMAT, "tree": json.dumps(tree, allow_nan=True)}
    data = _safetensors().save(arrays, metadata=meta)
    if hasattr(f, "write"):
        f.write(data)
    else:
        atomic_write(f, data)


def load(f: Any, map_location: Any = None, weights_only: bool | None = True) -> Any:
    """Load what :func:`save` wrote, as ``torch.load`` is used; never unpickles.

    Parameters
    ----------
    f : str, PathLike or binary file object
    map_location : None, 'cpu' or a CPU device, optional
        Accepted for PyTorch compatibility: everything loads to the CPU, the only
        device of this build; any other value raises.
    weights_only : bool, default=True
        True (or None) only: nothing here is ever unpickled, so there is no
        unrestricted mode; False raises.

    Returns
    -------
    nn.Module
        For a model file: the model rebuilt with its weights, in eval mode.
    object
        For an object file: the structure saved, tensors as Tensors (Parameters
        as Parameters), arrays as NumPy arrays.
    dict
        For a training checkpoint: as :func:`load_checkpoint`.

    Raises
    ------
    ValueError
        For a damaged file, a PyTorch pickle (``.pt`` from ``torch.save``), or a
        safetensors file with no retrograd description (read those with
        :func:`load_file` and ``model.load_state_dict``).
    """
    _check_map_location(map_location)
    if weights_only is False:
        raise ValueError(
            "load(): weights_only=False is not supported: retrograd never unpickles (a pickle "
            "can run arbitrary code); its files hold tensors and plain values only, which "
            "load with the default weights_only=True"
        )
    if hasattr(f, "read"):
        arrays, meta = _parse(f.read(), getattr(f, "name", "<file object>"))
    else:
        arrays, meta = _read(f)
    kind = meta.get("format")
    if kind in (OBJECT_FORMAT, CHECKPOINT_FORMAT):
        try:
            tree = json.loads(meta["tree"])
            if kind == CHECKPOINT_FORMAT:
                return _unflatten(tree, arrays)
            return _Decoder(arrays).decode(tree)
        except (ValueError, KeyError, TypeError, IndexError) as e:
            raise ValueError(f"{f} has a damaged structure description: {e!r}") from None
    if kind != FORMAT or "architecture" not in meta:
        raise ValueError(
            f"{f} holds tensors but no retrograd model description; build the model "
            "yourself and call model.load_state_dict(retrograd.load_file(path))"
        )
    module = build(json.loads(meta["architecture"]))
    module.load_state_dict({k: wrap_array(v) for k, v in arrays.items()})
    return module.eval()


def _check_map_location(map_location: Any) -> None:
    """Accept ``map_location`` where it names the CPU (or nothing), as PyTorch spells it."""
    if map_location is None:
        return
    is_device = isinstance(map_location, str) or type(map_location).__name__ == "device"
    if not is_device or str(map_location) not in ("cpu", "cpu:0"):
        raise ValueError(
            f"load(): map_location={map_location!r} is not supported: this build of retrograd "
            "runs on the CPU only and every tensor loads there; pass None or 'cpu'"
        )


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


# ---------------------------------------------------------------- object files


#: Dict keys an object file can hold (JSON keeps each of them as it is).
_KEY_TYPES = (str, int, float, bool, type(None))


class _Encoder:
    """Turn a structure into JSON, moving every array into ``arrays`` under its path.

    Each JSON node is a plain value (None, bool, int, float, str), a list, or an
    object with exactly one tag: ``dict`` (``[[key, node], ...]``, so that keys
    keep their types), ``tuple``, ``tensor``, ``ndarray``, ``scalar`` (a NumPy
    scalar), or ``ref`` (the node of an object met before).
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.seen: dict[int, dict[str, Any]] = {}
        self.keep: list[Any] = []  # keeps encoded objects alive, so their ids stay unique

    def encode(self, obj: Any, path: str) -> Any:
        if obj is None or (
            isinstance(obj, bool | int | float | str) and not isinstance(obj, np.generic)
        ):
            return obj
        if id(obj) in self.seen:
            return {"ref": self.seen[id(obj)]["id"]}
        node = {"id": len(self.seen)}
        self.seen[id(obj)] = node  # before the contents: a list may hold itself
        self.keep.append(obj)
        node.update(self._encode(obj, path))
        return node

    def _encode(self, obj: Any, path: str) -> dict[str, Any]:
        sub = f"{path}." if path else ""
        if isinstance(obj, Tensor):
            node: dict[str, Any] = {"tensor": self._array(obj.array, path)}
            if obj.requires_grad:
                node["requires_grad"] = True
            if type(obj).__name__ == "Parameter":
                node["parameter"] = True
            return node
        if isinstance(obj, np.ndarray):
            return {"ndarray": self._array(obj, path)}
        if isinstance(obj, np.generic):
            return {"scalar": self._array(np.asarray(obj), path)}
        if isinstance(obj, Mapping):
            items = []
            for k, v in obj.items():
                if not isinstance(k, _KEY_TYPES):
                    raise TypeError(
                        f"save(): dict key {k!r} at {path or 'the top'} is a "
                        f"{type(k).__name__}; keys must be str, int, float, bool or None"
                    )
                items.append([k, self.encode(v, f"{sub}{k}")])
            node = {"dict": items}
            if isinstance(obj, OrderedDict):
                node["ordered"] = True
            return node
        if isinstance(obj, list | tuple):
            values = [self.encode(v, f"{sub}{i}") for i, v in enumerate(obj)]
            return {"tuple": values} if isinstance(obj, tuple) else {"list": values}
        raise TypeError(
            f"save(): cannot save a {type(obj).__name__} (at {path or 'the top'}): retrograd "
            "files hold dicts, lists, tuples, Tensors, NumPy arrays, numbers, strings, bools "
            "and None (no pickle); save a model's state_dict() rather than the model"
        )

    def _array(self, arr: np.ndarray, path: str) -> str:
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"save(): the array at {path or 'the top'} has dtype {arr.dtype}; "
                "only boolean, integer and floating arrays can be saved"
            )
        key = path or "_"
        while key in self.arrays:  # 'a.b' as a key and as a path: keep both
            key += "'"
        self.arrays[key] = _contiguous(arr)
        return key


class _Decoder:
    """Rebuild what :class:`_Encoder` described, from the JSON and the arrays."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.made: dict[int, Any] = {}

    def decode(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "ref" in node:
            return self.made[node["ref"]]
        obj = self._decode(node)
        self.made[node["id"]] = obj
        return obj

    def _array(self, key: str) -> np.ndarray:
        arr = self.arrays[key]
        return arr if arr.flags.writeable else arr.copy()

    def _decode(self, node: dict[str, Any]) -> Any:
        if "tensor" in node:
            arr = self._array(node["tensor"])
            if node.get("parameter"):
                from .nn import Parameter

                return Parameter(arr, requires_grad=bool(node.get("requires_grad")))
            return wrap_array(arr, requires_grad=bool(node.get("requires_grad")))
        if "ndarray" in node:
            return self._array(node["ndarray"])
        if "scalar" in node:
            return self._array(node["scalar"])[()]
        if "dict" in node:
            out: dict[Any, Any] = OrderedDict() if node.get("ordered") else {}
            self.made[node["id"]] = out  # before the values: a dict may hold itself
            for k, v in node["dict"]:
                out[k] = self.decode(v)
            return out
        if "list" in node:
            out_list: list[Any] = []
            self.made[node["id"]] = out_list
            out_list.extend(self.decode(v) for v in node["list"])
            return out_list
        if "tuple" in node:
            return tuple(self.decode(v) for v in node["tuple"])
        raise ValueError(f"unknown node {sorted(node)}")
