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
import math
import os
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .tensor import Tensor, wrap_array
from .validation import is_int

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


class ModelFileError(ValueError):
    """A model file that cannot be used, said with the file, the field, what was expected and found.

    A ``ValueError``, so code that catches those keeps working; the command
    line prints it as one ``Error:`` line (exit status 2).
    """


#: The Raises section of every ``load`` that checks a model file (``TrainedModel.load``, the
#: scikit-learn estimators'), filled into their docstrings by ``fill_doc(raises=...)``.
LOAD_RAISES_DOC = """Raises
        ------
        retrograd.serialization.ModelFileError
            A ``ValueError`` naming the file, the field, what was expected and
            what was found."""


#: The deepest nesting of Sequentials a model file may describe, and the most layers.
MAX_DEPTH = 32
MAX_LAYERS = 10_000
#: Geometry arguments above these are refused: a forward pass allocates in proportion to
#: paddings and dilations and to the product of an adaptive pooling's output sizes, and no
#: network of this library needs more.
MAX_GEOMETRY = 2**16
MAX_PADDING = 2**10

#: The constructor arguments whose product bounds the size of each parameter a layer makes:
#: checked against the values the file holds before the layer is built, so that a file
#: claiming ``Linear(4, 10**8)`` is refused without allocating anything.
_SIZE_ARGS = {
    "Linear": ("in_features", "out_features"),
    "Conv1d": ("in_channels", "out_channels", "kernel_size"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size"),
    "ConvTranspose2d": ("in_channels", "out_channels", "kernel_size"),
    "BatchNorm1d": ("num_features",),
    "BatchNorm2d": ("num_features",),
    "LayerNorm": ("normalized_shape",),
    "PReLU": ("num_parameters",),
    "Embedding": ("num_embeddings", "embedding_dim"),
}
_GEOMETRY_ARGS = ("stride", "padding", "dilation", "output_padding", "output_size")
_PADDING_ARGS = ("padding", "dilation", "output_padding")
#: Constructor arguments a model file never sets (architecture() leaves them out).
_SKIPPED_ARGS = ("self", "device", "dtype", "inplace")


def describe_value(value: Any) -> str:
    """A short description of a value read from a file (its type and JSON), for messages."""
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _arg_fits(value: Any, annotation: str) -> bool:
    """Whether a JSON value fits a constructor annotation (as the layers spell them)."""
    options = [a.strip() for a in annotation.split("|")]
    if value is None:
        return "None" in options or annotation == "Any"
    for option in options:
        if option == "int" and is_int(value):
            return True
        if option == "float" and (is_int(value) or isinstance(value, float)):
            return math.isfinite(value)
        if option == "bool" and isinstance(value, bool):
            return True
        if option == "str" and isinstance(value, str):
            return True
        if option in ("Any", "Sequence[int]") and isinstance(value, list):
            return all(is_int(v) for v in value)
        if option == "Any" and (is_int(value) or isinstance(value, str)):
            return True
    return False


def _ints(value: Any) -> list[int]:
    """The integers of an argument that is an int or a list of them."""
    return (
        [value]
        if is_int(value)
        else [v for v in value if is_int(v)]
        if isinstance(value, list)
        else []
    )


def _check_args(kind: str, args: Any, where: str, source: Any) -> dict[str, Any]:
    """A layer's constructor arguments from a model file, checked against its signature."""
    cls = _layers()[kind]
    if not isinstance(args, Mapping):
        raise ModelFileError(
            f"{source}: {where}.args must be an object of {kind}'s arguments, "
            f"got {describe_value(args)}"
        )
    params = {
        name: p
        for name, p in inspect.signature(cls).parameters.items()
        if name not in _SKIPPED_ARGS
        and not name.startswith("_")
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    unknown = sorted(set(args) - set(params))
    if unknown:
        raise ModelFileError(
            f"{source}: {where}: {kind} has no argument {', '.join(map(repr, unknown))}; "
            f"its arguments are {', '.join(params) or 'none'}"
        )
    missing = [n for n, p in params.items() if p.default is p.empty and n not in args]
    if missing:
        raise ModelFileError(f"{source}: {where}: {kind} needs {', '.join(map(repr, missing))}")
    for name, value in args.items():
        annotation = params[name].annotation
        annotation = (
            annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        )
        if not _arg_fits(value, annotation):
            raise ModelFileError(
                f"{source}: {where}.args.{name} must be {annotation.replace('|', 'or')}, "
                f"got {describe_value(value)}"
            )
        ints = _ints(value)
        if name in _SIZE_ARGS.get(kind, ()) and any(v < 0 for v in ints):
            raise ModelFileError(
                f"{source}: {where}.args.{name} must be non-negative, got {describe_value(value)}"
            )
        limit = MAX_PADDING if name in _PADDING_ARGS else MAX_GEOMETRY
        size = math.prod(ints) if name == "output_size" else max(map(abs, ints), default=0)
        if name in _GEOMETRY_ARGS and size > limit:
            what = "the product of its sizes" if name == "output_size" else "each value"
            raise ModelFileError(
                f"{source}: {where}.args.{name}: {what} must be at most {limit}, "
                f"got {describe_value(value)}"
            )
    return dict(args)


def build(
    spec: Mapping[str, Any],
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    source: Any = "model file",
) -> Any:
    """Build the module that :func:`architecture` described (weights uninitialised).

    Every node is checked before anything is built: a known layer type, the
    arguments its constructor takes with the types it takes, at most
    :data:`MAX_DEPTH` levels and :data:`MAX_LAYERS` layers.

    Parameters
    ----------
    spec : mapping
        :func:`architecture`'s description.
    shapes : mapping of str to tuple of int, optional
        The shape of every tensor the file holds (from its header). Each layer is
        then checked against them before it is built, so that no layer larger
        than the file's tensors is ever allocated, and the state dict of the
        result has exactly these names and shapes.
    source : str or PathLike, default='model file'
        The file, for messages.

    Raises
    ------
    ModelFileError
        A ``ValueError`` naming the file, the place in the architecture (such as
        ``architecture.children[2].args.in_features``), what was expected and
        what was found.
    """
    module = _Builder(shapes, source).node(spec, "architecture", "", 0)
    if shapes is not None:
        expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        extra = sorted(set(shapes) - set(expected))
        if extra:
            raise ModelFileError(
                f"{source}: holds tensor(s) the architecture has no place for: "
                f"{', '.join(extra[:5])}{', ...' if len(extra) > 5 else ''}"
            )
    return module


class _Builder:
    """Build an architecture node by node, checking each before it is built (see :func:`build`)."""

    def __init__(self, shapes: Mapping[str, tuple[int, ...]] | None, source: Any) -> None:
        self.shapes = shapes
        self.source = source
        # The values the file holds in all: no layer may claim more.
        self.budget = None if shapes is None else sum(math.prod(s) for s in shapes.values())
        self.count = 0

    def error(self, message: str) -> ModelFileError:
        return ModelFileError(f"{self.source}: {message}")

    def node(self, spec: Any, where: str, prefix: str, depth: int) -> Any:
        layers = _layers()
        if not isinstance(spec, Mapping):
            raise self.error(
                f"{where} must be an object describing a layer, got {describe_value(spec)}"
            )
        kind = spec.get("type")
        if not isinstance(kind, str) or kind not in layers:
            raise self.error(
                f"{where}.type names an unknown layer type {kind!r}; "
                f"known: {', '.join(sorted(layers))}"
            )
        allowed = {"type", "children"} if kind == "Sequential" else {"type", "args"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise self.error(
                f"{where} ({kind}) has unexpected key(s) {', '.join(map(repr, unknown))}; "
                f"expected {', '.join(sorted(allowed))}"
            )
        self.count += 1
        if self.count > MAX_LAYERS:
            raise self.error(f"the architecture has more than {MAX_LAYERS} layers")
        if kind != "Sequential":
            return self.layer(kind, spec.get("args", {}), where, prefix)
        if depth >= MAX_DEPTH:
            raise self.error(f"the architecture nests Sequentials more than {MAX_DEPTH} deep")
        children = spec.get("children", [])
        if not isinstance(children, list):
            raise self.error(
                f"{where}.children must be a list of layers, got {describe_value(children)}"
            )
        built = []
        for i, child in enumerate(children):
            built.append(self.node(child, f"{where}.children[{i}]", f"{prefix}{i}.", depth + 1))
        return layers[kind](*built)

    def layer(self, kind: str, args: Any, where: str, prefix: str) -> Any:
        args = _check_args(kind, args, where, self.source)
        text = f"{kind}({_args_text(args)})"
        if self.budget is not None and kind in _SIZE_ARGS:
            sizes = [max(v, 1) for n in _SIZE_ARGS[kind] for v in _ints(args.get(n, 1))]
            claimed = math.prod(sizes) // max(args.get("groups", 1), 1)  # groups hold a part
            if claimed > max(self.budget, 1):
                raise self.error(
                    f"{where} is {text}, whose weights would hold about {claimed:,} values, "
                    f"but the file's tensors hold {self.budget:,} in all; the architecture "
                    "does not match the weights"
                )
        try:
            module = _layers()[kind](**args)
        except (TypeError, ValueError) as e:
            raise self.error(f"{where}: cannot build {text}: {e}") from None
        if self.shapes is None:
            return module
        for name, tensor in module.state_dict().items():
            key, expected = prefix + name, tuple(tensor.shape)
            if key not in self.shapes:
                raise self.error(
                    f"the architecture's {text} at {where} needs tensor {key!r} of shape "
                    f"{expected}, which the file does not hold"
                )
            if tuple(self.shapes[key]) != expected:
                raise self.error(
                    f"tensor {key!r} has shape {tuple(self.shapes[key])} in the file, but the "
                    f"architecture's {text} at {where} needs {expected}"
                )
        return module


def _args_text(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


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
    raw = _read_bytes(path)
    header = _header(raw, path)
    return _parse(raw, path), _metadata_of(header, path)


def _read_bytes(path: PathLike) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    return path.read_bytes()


#: safetensors' dtype names and their sizes in bytes.
_DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


def _header(raw: bytes, path: Any) -> dict[str, Any]:
    """The safetensors header of ``raw``: every tensor's dtype, shape and offsets, checked
    against the file's size without reading any tensor's data."""
    if raw.startswith(_PICKLE_MAGIC):
        raise ValueError(
            f"{path} looks like a PyTorch pickle file (torch.save); retrograd never unpickles, "
            "because loading a pickle can run arbitrary code. In PyTorch, convert it with "
            "safetensors.torch.save_file(torch.load(path), 'model.safetensors') for a "
            "state_dict, then use retrograd.load_file"
        )

    def damaged(why: str) -> ValueError:
        return ValueError(
            f"{path} is not a readable safetensors file (truncated, corrupt or another "
            f"format): {why}"
        )

    if len(raw) < 8:
        raise damaged(f"it has {len(raw)} bytes, fewer than the 8-byte header length")
    size = int.from_bytes(raw[:8], "little")
    if size > len(raw) - 8:
        raise damaged(
            f"the header claims {size:,} bytes but the file has {len(raw) - 8:,} after it"
        )
    try:
        header = json.loads(raw[8 : 8 + size])
    except (ValueError, RecursionError) as e:  # JSON errors, bad UTF-8, nesting too deep
        raise damaged(f"its header is not JSON ({type(e).__name__}: {e})") from None
    if not isinstance(header, dict):
        raise damaged(f"its header must be a JSON object, got {describe_value(header)}")
    data = len(raw) - 8 - size
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        ok = (
            isinstance(entry, dict)
            and entry.get("dtype") in _DTYPE_SIZES
            and isinstance(entry.get("shape"), list)
            and all(is_int(d) and d >= 0 for d in entry["shape"])
            and isinstance(entry.get("data_offsets"), list)
            and len(entry["data_offsets"]) == 2
            and all(is_int(o) for o in entry["data_offsets"])
        )
        if not ok:
            raise damaged(f"tensor {name!r} has a malformed entry {describe_value(entry)}")
        begin, end = entry["data_offsets"]
        nbytes = math.prod(entry["shape"]) * _DTYPE_SIZES[entry["dtype"]]
        if not 0 <= begin <= end <= data or end - begin != nbytes:
            raise damaged(
                f"tensor {name!r} of shape {tuple(entry['shape'])} ({entry['dtype']}) needs "
                f"{nbytes:,} bytes, but its offsets are {begin:,} to {end:,} in {data:,} bytes"
            )
    return header


def _metadata_of(header: Mapping[str, Any], path: Any) -> dict[str, str]:
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError(
            f"{path} is not a readable safetensors file: its __metadata__ must map names to "
            f"strings, got {describe_value(meta)}"
        )
    return meta


def _shapes(header: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape, as the header declares it."""
    return {k: tuple(v["shape"]) for k, v in header.items() if k != "__metadata__"}


def _parse(raw: bytes, path: Any) -> dict[str, np.ndarray]:
    """The arrays of the safetensors bytes ``raw`` read from ``path`` (its header checked)."""
    st = _safetensors()
    try:
        return st.load(raw)
    except Exception as e:  # SafetensorError and the like: a clear message instead
        raise ValueError(
            f"{path} is not a readable safetensors file (truncated, corrupt or another format): {e}"
        ) from None


def _json_field(meta: Mapping[str, str], key: str, path: Any) -> Any:
    """The JSON value stored under ``key`` of a file's metadata."""
    try:
        return json.loads(meta[key])
    except RecursionError:
        raise ModelFileError(
            f"{path}: its {key!r} entry nests too deeply to be read (a model's architecture "
            f"nests at most {MAX_DEPTH} Sequentials)"
        ) from None
    except ValueError as e:
        raise ModelFileError(f"{path}: its {key!r} entry is not valid JSON ({e})") from None


def load_file(path: PathLike) -> dict[str, Tensor]:
    """Read every tensor of a safetensors file (written here or by PyTorch)."""
    arrays, _ = _read(path)
    return {k: wrap_array(v) for k, v in arrays.items()}


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The user metadata that :func:`save` stored with a model (``{}`` when none).

    Reads the header only, not the tensors.

    Raises
    ------
    ModelFileError
        When the metadata is not a JSON object.
    """
    raw = _read_bytes(path)
    meta = _metadata_of(_header(raw, path), path)
    if "metadata" not in meta:
        return {}
    value = _json_field(meta, "metadata", path)
    if not isinstance(value, dict):
        raise ModelFileError(
            f"{path}: its metadata must be a JSON object, got {describe_value(value)}"
        )
    return value


def check_finite(arrays: Mapping[str, Any], source: Any) -> None:
    """Refuse a NaN or infinite value in any floating tensor, naming the tensor and the place.

    Raises
    ------
    ModelFileError
    """
    for name, value in arrays.items():
        arr = value.array if isinstance(value, Tensor) else np.asarray(value)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise ModelFileError(
                f"{source}: tensor {name!r} holds {arr[where]} at index {where}; a model's "
                "weights must be finite numbers (was it saved after training diverged?)"
            )


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
    source = getattr(f, "name", "<file object>") if hasattr(f, "read") else f
    raw = f.read() if hasattr(f, "read") else _read_bytes(f)
    header = _header(raw, source)
    meta = _metadata_of(header, source)
    kind = meta.get("format")
    if kind in (OBJECT_FORMAT, CHECKPOINT_FORMAT):
        arrays = _parse(raw, source)
        try:
            tree = json.loads(meta["tree"])
            if kind == CHECKPOINT_FORMAT:
                return _unflatten(tree, arrays)
            return _Decoder(arrays).decode(tree)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as e:
            raise ValueError(f"{source} has a damaged structure description: {e!r}") from None
    if kind != FORMAT or "architecture" not in meta:
        raise ValueError(
            f"{source} holds tensors but no retrograd model description; build the model "
            "yourself and call model.load_state_dict(retrograd.load_file(path))"
        )
    # The architecture is checked against the header's shapes before anything is built.
    module = build(_json_field(meta, "architecture", source), _shapes(header), source)
    arrays = _parse(raw, source)
    check_finite(arrays, source)
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
    if meta.get("format") != CHECKPOINT_FORMAT or "tree" not in meta:
        raise ValueError(f"{path} is not a retrograd checkpoint")
    tree = _json_field(meta, "tree", path)
    try:
        state = _unflatten(tree, arrays)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
        raise ModelFileError(f"{path} has a damaged structure description: {e!r}") from None
    if not isinstance(state, dict):
        raise ModelFileError(f"{path}: a checkpoint holds an object, got {describe_value(state)}")
    return state


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
