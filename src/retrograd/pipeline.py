"""Train a multilayer perceptron on a data set: the job behind ``retrograd train``.

:func:`train` splits a :class:`~retrograd.data.DataSpec` (stratified for
classes), standardizes the features with the training part's statistics,
builds an MLP (:func:`build_mlp`), runs :func:`retrograd.training.fit` and
scores the result on the held-out test part. The seed fixes both the split and
the initialisation (and the shuffling and dropout masks).

The string options are validated against one table each, :data:`ACTIVATIONS`,
:data:`LOSSES` and :data:`retrograd.optim.OPTIMIZERS`; the command line and its
error messages read the same tables.

The result holds a :class:`TrainedModel`: the network together with its
preprocessing (the :class:`~retrograd.data.Standardizer`, the class labels),
so that ``predict`` takes raw features and returns labels of their original
type, and ``save``/``load`` keep all of it in one safetensors file.
"""

# X is scikit-learn's (and statistics') name for the feature matrix; keep it.
# ruff: noqa: N803, N806

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from . import distributed as _dist
from . import nn, optim, serialization, threads
from ._docstrings import fill_doc
from .autograd import no_grad
from .data import (
    TASKS,
    DataError,
    DataLoader,
    DataSpec,
    LabelEncoder,
    Standardizer,
    TensorDataset,
    load_dataset,
    train_val_test_split,
)
from .data.transforms import RandomShift
from .metrics import r2_score
from .nn import activation as nn_activation
from .nn import loss as nn_loss
from .nn.loss import LossEntry
from .options import NUMERIC, OptionError, check_number, lookup
from .random import manual_seed
from .serialization import LOAD_RAISES_DOC, ModelFileError, PathLike
from .tensor import Tensor, wrap_array
from .training import Callback, History, fit
from .validation import is_int

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "AUGMENTATIONS",
    "CNN_LABEL_SMOOTHING",
    "LOSSES",
    "OPTIMIZERS",
    "LossEntry",
    "OptionError",
    "RunResult",
    "TrainedModel",
    "build_cnn",
    "build_mlp",
    "check_data",
    "check_run",
    "check_options",
    "class_names",
    "estimate_memory",
    "get_activation",
    "get_loss",
    "train",
]

_MODEL_KIND = "retrograd-trained-model/1"

#: Activation names to module classes: :data:`retrograd.nn.activation.ACTIVATIONS` itself.
ACTIVATIONS = nn_activation.ACTIVATIONS

#: Loss names to their module class and task (:data:`retrograd.nn.loss.LOSSES`), and
#: ``'auto'``, which picks by task (see :func:`get_loss`).
LOSSES: dict[str, LossEntry | None] = {"auto": None, **nn_loss.LOSSES}

#: Optimizer names to classes: :data:`retrograd.optim.OPTIMIZERS` itself.
OPTIMIZERS = optim.OPTIMIZERS

#: The network kinds ``arch`` names: a multilayer perceptron, or convolutions then one.
ARCHITECTURES: dict[str, str] = {
    "mlp": "Linear layers on the flat features",
    "cnn": "Conv1d/Conv2d blocks (same padding, activation, max pooling), then Linear layers; "
    "for images and sequences",
}

#: The ``augment`` names: what is done to every training batch of a CNN (never to the other parts).
AUGMENTATIONS: dict[str, str] = {
    "none": "the batches as they are",
    "shift": "each image or sequence shifted by up to one position along each axis "
    "(retrograd.data.transforms.RandomShift(1)), the background value filling in",
}

#: ``label_smoothing=None``'s value for a CNN on classes, chosen by validation accuracy on
#: digits (docs/accuracy.md); an MLP keeps PyTorch's 0.
CNN_LABEL_SMOOTHING = 0.2


#: The loss ``'auto'`` stands for, per task.
_AUTO_LOSS = {"classification": "cross-entropy", "regression": "mse"}


def get_activation(name: str) -> type[nn.Module]:
    """The activation module class called ``name``.

    Case, surrounding spaces and ``-``/``_`` are ignored
    (:func:`retrograd.options.lookup`): ``'Leaky-ReLU'`` is ``'leaky_relu'``.

    Parameters
    ----------
    name : str
        A key of :data:`ACTIVATIONS`.
    """
    return ACTIVATIONS[lookup(ACTIVATIONS, name, "activation")]


def _loss_key(name: str, task: str | None) -> str:
    """The :data:`LOSSES` key that ``name`` spells, checked to fit ``task`` (None: any task)."""
    key = lookup(LOSSES, name, "loss")
    entry = LOSSES[key]
    if task is None or entry is None or entry.task == task:
        return key
    fits = [k for k, e in LOSSES.items() if e is not None and e.task == task]
    raise ValueError(
        f"loss {name!r} is for {entry.task}, but the data set is a {task} task; use one "
        f"of {', '.join(map(repr, ['auto', *fits]))}"
    )


def get_loss(name: str, task: str, label_smoothing: float = 0.0) -> nn.Module:
    """A loss module for ``task`` from its name in :data:`LOSSES`.

    Parameters
    ----------
    name : str
        A key of :data:`LOSSES` (spelled as :func:`get_activation` allows);
        ``'auto'`` is cross-entropy for classification and mean squared error
        for regression.
    task : {'classification', 'regression'}
    label_smoothing : float, default=0.0
        Cross-entropy's ``label_smoothing`` (``nn.CrossEntropyLoss``); must be
        0 for the other losses.

    Raises
    ------
    ValueError
        For an unknown name, or a loss that does not fit the task.
    """
    key = _loss_key(name, task)
    entry = LOSSES[_AUTO_LOSS[task] if key == "auto" else key]
    assert entry is not None
    if entry.cls is nn.CrossEntropyLoss:
        return entry.cls(label_smoothing=label_smoothing)
    if label_smoothing:
        raise ValueError(
            f"label_smoothing {label_smoothing} is for the cross-entropy loss, not {key!r}; "
            "use label_smoothing 0"
        )
    return entry.cls()


def check_options(task: str | None = None, **options: Any) -> dict[str, Any]:
    """Check options of :func:`train`; return them in canonical form.

    The one check behind :func:`train` and ``retrograd train``: names go
    through :func:`retrograd.options.lookup` (returned in their table's
    spelling), numbers through :data:`retrograd.options.NUMERIC` (returned as
    int or float), and ``val_split + test_split`` must leave rows for training.

    Parameters
    ----------
    task : {'classification', 'regression'}, optional
        The data set's task, to check that ``loss`` fits it; None skips that.
    **options
        Any of :func:`train`'s keyword arguments ``hidden``, ``activation``,
        ``loss``, ``optimizer``, ``arch``, ``channels``, ``augment`` (which needs
        ``arch="cnn"``) and the numeric ones.

    Raises
    ------
    retrograd.options.OptionError
        A ValueError naming the option (``.option``), the value and what was expected.
    TypeError
        For an argument that is not an option of :func:`train`, or a name that
        is not a str.
    """
    out = dict(options)
    for name, value in options.items():
        try:
            if name in ("hidden", "channels"):
                out[name] = _check_sizes(value, name)
            elif name == "arch":
                out[name] = lookup(ARCHITECTURES, value, "arch")
            elif name == "augment":
                out[name] = lookup(AUGMENTATIONS, value, "augment")
            elif name == "activation":
                out[name] = lookup(ACTIVATIONS, value, "activation")
            elif name == "loss":
                out[name] = _loss_key(value, task)
            elif name == "optimizer":
                out[name] = lookup(OPTIMIZERS, value, "optimizer")
            elif name in ("blas_threads", "label_smoothing") and value is None:
                pass  # None: the default (all threads; label smoothing by arch)
            elif name in NUMERIC:
                out[name] = check_number(value, name)
            else:
                raise TypeError(f"check_options: {name!r} is not an option of train")
        except ValueError as e:  # a TypeError (a name that is not a str) stays one
            raise OptionError(name, str(e)) from None
    if out.get("augment", "none") != "none" and out.get("arch", "mlp") == "mlp":
        raise OptionError(
            "augment",
            f"augment {out['augment']!r} shifts images or sequences, so it needs arch 'cnn' "
            "(an MLP's flat features have no positions to shift); use augment 'none'",
        )
    if out.get("label_smoothing") and task == "regression":
        raise OptionError(
            "label_smoothing",
            f"label_smoothing {out['label_smoothing']} smooths class labels, but the data set "
            "is a regression task; use label_smoothing 0",
        )
    val, test = out.get("val_split", 0.0), out.get("test_split", 0.0)
    if val + test >= 1:
        raise OptionError(
            "val_split",
            f"val_split {val} and test_split {test} leave no rows for training; "
            "their sum must be below 1",
        )
    return out


def _available_memory() -> int | None:
    """Bytes of memory the system can give a process now (Linux: MemAvailable); None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def _gib(n_bytes: float) -> str:
    """``n_bytes`` in GiB, or in MiB or KiB where that says more."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
        if n_bytes >= size:
            return f"{n_bytes / size:,.1f} {unit}"
    return f"{n_bytes / 2**10:,.1f} KiB"


def estimate_memory(
    n_features: int,
    n_out: int,
    n_rows: int,
    hidden: Sequence[int],
    batch_size: int,
    arch: str = "mlp",
    channels: Sequence[int] = (),
    kernel: int = 3,
    sample_shape: Sequence[int] | None = None,
) -> dict[str, int]:
    """A rough upper estimate of the bytes :func:`train` needs, by what needs them.

    ``'parameters'``: the float32 weights, their gradients and two optimizer
    states per weight, and the float64 array a layer's initialisation draws;
    ``'activations'``: the outputs a batch keeps for backward (each layer's,
    three float32 copies: output, activation, gradient; a convolution's
    unfolded input too), and scoring a whole part at once. Enough to refuse
    a network that cannot fit before anything is allocated.

    Parameters
    ----------
    n_features, n_out, n_rows : int
        The data's features, the network's outputs and the rows scored at once.
    hidden, batch_size, arch, channels, kernel
        As :func:`train`.
    sample_shape : (C, H, W) or (C, L), optional
        For ``arch='cnn'``: one sample's shape.
    """
    batch = max(1, min(int(batch_size), int(n_rows)))
    widths: list[int] = []  # what each layer outputs per sample
    n_params = largest = 0
    width = int(n_features)
    if arch == "cnn" and sample_shape is not None:
        depth, sizes = int(sample_shape[0]), [int(s) for s in sample_shape[1:]]
        k = int(kernel) ** len(sizes)
        for out_channels in channels:
            area = int(np.prod(sizes))
            layer = depth * k * int(out_channels) + int(out_channels)
            n_params, largest = n_params + layer, max(largest, layer)
            widths += [int(out_channels) * area, depth * k * area]  # output, unfolded input
            if min(sizes) >= 2:
                sizes = [size // 2 for size in sizes]
            depth = int(out_channels)
        width = depth * int(np.prod(sizes))
    for size in [*map(int, hidden), int(n_out)]:
        layer = (width + 1) * size
        n_params, largest = n_params + layer, max(largest, layer)
        widths.append(size)
        width = size
    return {
        "parameters": 4 * 4 * n_params + 8 * largest,
        "activations": 4 * (3 * batch * sum(widths) + 2 * int(n_rows) * max(widths)),
    }


def check_run(spec: DataSpec, **options: Any) -> None:
    """Check that :func:`train` can run with ``options`` (checked ones) on ``spec``.

    The checks :func:`train` makes before it allocates anything: the split
    leaves every part the rows it needs (a stratified split: one row of each
    class per part), and the network and its batches fit in the memory
    available (:func:`estimate_memory`).

    Raises
    ------
    retrograd.data.DataError
        For a split it cannot make.
    retrograd.options.OptionError
        For a network or batch too large for the memory (naming the option).
    """
    parts = _split(
        spec, options.get("val_split", 0.0), options.get("test_split", 0.25),
        options.get("seed", 0),
    )  # fmt: skip
    n_out = len(np.unique(spec.y)) if spec.task == "classification" else 1
    arch = options.get("arch", "mlp")
    sizes = {
        "hidden": tuple(options.get("hidden", (512, 256))),
        "batch_size": options.get("batch_size", 32),
        "channels": tuple(options.get("channels", (16, 32))),
        "kernel": options.get("kernel", 3),
    }

    def need(**smaller: Any) -> dict[str, int]:
        o = {**sizes, **smaller}
        return estimate_memory(
            spec.n_features, n_out, max(len(idx) for idx in parts.indices.values()),
            o["hidden"], o["batch_size"], arch, o["channels"], o["kernel"],
            input_shape(spec, arch),
        )  # fmt: skip

    available = _available_memory()
    needed = need()
    total = sum(needed.values())
    if available is None or total <= available:
        return
    # the batch, if a smaller one fits (the network stays); else the layer option whose
    # smallest value would save the most
    option = "batch_size"
    if sum(need(batch_size=1).values()) > available:
        smallest = {"hidden": tuple(1 for _ in sizes["hidden"])}
        if arch == "cnn":
            smallest.update(channels=tuple(1 for _ in sizes["channels"]), kernel=1)
        option = min(smallest, key=lambda name: sum(need(**{name: smallest[name]}).values()))
    raise OptionError(
        option,
        f"this network needs about {_gib(total)} of memory ({_gib(needed['parameters'])} for "
        f"its parameters, {_gib(needed['activations'])} for a batch's activations and "
        f"scoring), but {_gib(available)} is available; lower {option}",
    )


def check_data(spec: DataSpec) -> None:
    """Check that a data set can be trained on, before anything is built or written.

    At least one row and one feature, and for classification at least two
    classes: a single class would train a one-output "classifier" that is
    always right.

    Raises
    ------
    retrograd.data.DataError
        Naming the data set and what it lacks.
    """
    if spec.n_samples == 0 or spec.n_features == 0:
        raise DataError(
            f"{spec.name} has {spec.n_samples} rows and {spec.n_features} feature columns; "
            "training needs at least one of each"
        )
    if spec.task == "classification":
        classes = np.unique(spec.y)
        if len(classes) < 2:
            raise DataError(
                f"{spec.name} holds a single class ({classes[0].item()!r} in all "
                f"{spec.n_samples} rows); classification needs at least two classes (for a "
                "numeric target, train a regressor with task='regression')"
            )


# ------------------------------------------------------------------ the network


def _check_sizes(value: Any, option: str) -> tuple[int, ...]:
    """``hidden`` or ``channels``: one size or a sequence of them, each as NUMERIC[option] says."""
    if is_int(value):
        value = (value,)
    try:
        sizes = tuple(value)
    except TypeError:
        raise TypeError(f"{option} must be a sequence of layer sizes, got {value!r}") from None
    rule = NUMERIC[option]
    what = "hidden layer" if option == "hidden" else option
    if not all(rule.accepts(h) for h in sizes):
        raise ValueError(f"{what} sizes must each be {rule.describe()}, got {value!r}")
    if option == "channels" and not sizes:
        raise ValueError("channels needs at least one convolution's width, got none")
    return tuple(int(h) for h in sizes)


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    return _check_sizes(hidden, "hidden")


def input_shape(spec: DataSpec, arch: str) -> tuple[int, ...] | None:
    """The shape one sample has inside the network: None for ``'mlp'``, (C, H, W) or (C, L).

    Raises
    ------
    retrograd.options.OptionError
        For ``arch='cnn'`` on data without an image or sequence shape.
    """
    arch = lookup(ARCHITECTURES, arch, "arch")
    if arch == "mlp":
        return None
    if spec.sample_shape is None:
        raise OptionError(
            "arch",
            f"arch 'cnn' needs images or sequences, but {spec.name!r} has no image or "
            f"sequence shape (its rows are {spec.n_features} flat features); use digits, "
            "mnist1d, a folder of IDX images, or an .npz whose X is N x H x W or "
            "N x C x H x W (sequences: add layout='NL' or 'NCL'); "
            "or train an MLP (arch 'mlp')",
        )
    return spec.sample_shape


def build_mlp(
    n_in: int,
    hidden: Sequence[int],
    n_out: int,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    seed: int | None = None,
) -> nn.Sequential:
    """A multilayer perceptron: per hidden layer ``Linear [BatchNorm1d] activation [Dropout]``.

    The last layer is a ``Linear`` with ``n_out`` outputs and no activation (logits
    or values). Weights get PyTorch's default initialisation.

    Parameters
    ----------
    n_in : int
        Number of input features.
    hidden : sequence of int
        Hidden layer sizes; ``()`` gives a linear model.
    n_out : int
        Number of outputs (classes, or 1 for one regression target).
    activation : str, default='relu'
        A key of :data:`ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden activation; 0 adds no layer.
    batch_norm : bool, default=False
        Put a ``BatchNorm1d`` after each hidden ``Linear``.
    seed : int, optional
        Seed the default generator first (``retrograd.manual_seed(seed)``), so
        that the weights repeat.

    Returns
    -------
    nn.Sequential
        Input (N, n_in) -> output (N, n_out).
    """
    sizes = _check_hidden(hidden)
    act = get_activation(activation)
    dropout = check_number(dropout, "dropout")
    if seed is not None:
        manual_seed(seed)
    layers: list[nn.Module] = []
    width = n_in
    for size in sizes:
        layers.append(nn.Linear(width, size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(act())
        if dropout > 0:
            layers.append(nn.Dropout(float(dropout)))
        width = size
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def build_cnn(
    sample_shape: Sequence[int],
    channels: Sequence[int],
    kernel: int,
    hidden: Sequence[int],
    n_out: int,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    seed: int | None = None,
) -> nn.Sequential:
    """A convolutional network that takes flat samples: ``Unflatten``, conv blocks, an MLP head.

    ``Unflatten(1, sample_shape)`` first (so the network reads the same flat rows
    as an MLP, and the model file records the input shape); then per entry of
    ``channels`` a block ``Conv [BatchNorm2d] activation MaxPool``
    (``Conv2d`` for (C, H, W) samples, ``Conv1d`` for (C, L); padding
    ``'same'``; pooling by 2 while every spatial size is at least 2); then
    ``Flatten`` and :func:`build_mlp`'s layers.

    Parameters
    ----------
    sample_shape : (C, H, W) or (C, L)
        One sample's shape, channels first.
    channels : sequence of int
        Output channels of each convolution, e.g. ``(16, 32)``.
    kernel : int
        The convolutions' (square) kernel size.
    hidden, n_out, activation, dropout, batch_norm, seed
        As :func:`build_mlp` (``batch_norm`` also puts a ``BatchNorm2d`` after
        each 2-D convolution).

    Returns
    -------
    nn.Sequential
        Input (N, prod(sample_shape)) -> output (N, n_out).
    """
    shape = tuple(int(d) for d in sample_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"build_cnn: sample_shape must be (C, L) or (C, H, W), got {shape}")
    widths = _check_sizes(channels, "channels")
    kernel = check_number(kernel, "kernel")
    act = get_activation(activation)
    if seed is not None:
        manual_seed(seed)
    two_d = len(shape) == 3
    conv, pool = (nn.Conv2d, nn.MaxPool2d) if two_d else (nn.Conv1d, nn.MaxPool1d)
    layers: list[nn.Module] = [nn.Unflatten(1, shape)]
    depth, sizes = shape[0], list(shape[1:])
    for width in widths:
        layers.append(conv(depth, width, kernel, padding="same"))
        if batch_norm and two_d:
            layers.append(nn.BatchNorm2d(width))
        layers.append(act())
        if min(sizes) >= 2:
            layers.append(pool(2))
            sizes = [size // 2 for size in sizes]
        depth = width
    layers.append(nn.Flatten())
    head = build_mlp(depth * int(np.prod(sizes)), hidden, n_out, activation, dropout, batch_norm)
    return nn.Sequential(*layers, *head)


# ------------------------------------------------------------------ the trained model


def _data_source(data: Any) -> str:
    """How a model file names its data: a data set's name, or a file's absolute path
    (so that ``retrograd evaluate`` finds it from any folder)."""
    from .data import DATASETS

    text = str(data)
    if text in DATASETS or not Path(text).exists():
        return text
    return str(Path(text).resolve())


def class_names(classes: Sequence[Any], target_names: Sequence[str] | None) -> list[str]:
    """The name of each class: a data set's ``target_names`` for labels 0..k-1, else the label.

    ``iris``'s labels 0, 1, 2 are ``setosa``, ``versicolor``, ``virginica``.
    """
    names = list(target_names or [])
    out = []
    for c in classes:
        index = int(c) if is_int(c) else -1
        out.append(names[index] if 0 <= index < len(names) else str(c))
    return out


@dataclass
class TrainedModel:
    """A network with the preprocessing it was trained with.

    Parameters
    ----------
    network : nn.Module
        Maps standardized features (N, n_features) to logits (N, n_classes) or
        standardized values (N, 1).
    task : {'classification', 'regression'}
    standardizer : retrograd.data.Standardizer
        Fitted on the training features.
    label_encoder : retrograd.data.LabelEncoder, optional
        The class labels (classification).
    feature_names : list of str
    target_name : str, default='target'
    target_scaler : retrograd.data.Standardizer, optional
        Fitted on the training targets, shape (n, 1) (regression).
    info : dict
        JSON-able notes saved with the model (training options, metrics).
    """

    network: nn.Module
    task: str
    standardizer: Standardizer
    label_encoder: LabelEncoder | None = None
    feature_names: list[str] = field(default_factory=list)
    target_name: str = "target"
    target_scaler: Standardizer | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list[Any] | None:
        """The class labels in sorted order, as Python values (None for regression)."""
        return None if self.label_encoder is None else self.label_encoder.classes

    @property
    def class_names(self) -> list[str] | None:
        """The classes' names for display (``'setosa'`` for iris's 0), in :attr:`classes` order.

        Those saved by :func:`train` from the data set's ``target_names``; else
        the labels as text. None for regression.
        """
        if self.classes is None:
            return None
        names = self.info.get("class_names")
        if isinstance(names, list) and len(names) == len(self.classes):
            return [str(n) for n in names]
        return [str(c) for c in self.classes]

    @property
    def n_features(self) -> int:
        """The number of features the model takes."""
        return self.standardizer.n_features_in_

    @property
    def named_features(self) -> bool:
        """Whether :attr:`feature_names` are the training data's own names, not positions.

        As :attr:`retrograd.data.DataSpec.named_features` said at training; for
        a model file that does not record it, names such as ``x0, x1, ...`` are
        taken for positions.
        """
        named = self.info.get("named_features")
        if isinstance(named, bool):
            return named
        return not all(re.fullmatch(r"(x|t|pixel)\d+", n) for n in self.feature_names)

    def _inputs(self, X: Any, op: str) -> Tensor:
        X = np.asarray(X)
        if X.ndim == 1 and X.size == self.n_features:
            hint = "; for one sample pass X.reshape(1, -1)"
        else:
            hint = ""
        if X.ndim != 2:
            raise ValueError(
                f"TrainedModel.{op}: X must be 2-D (samples x features), got shape {X.shape}{hint}"
            )
        if X.shape[1] != self.n_features:
            names = ", ".join(self.feature_names[:5]) + (
                ", ..." if len(self.feature_names) > 5 else ""
            )
            raise ValueError(
                f"TrainedModel.{op}: X has {X.shape[1]} features, but the model was trained on "
                f"{self.n_features} ({names})"
            )
        if X.dtype.kind not in "biuf":
            raise ValueError(f"TrainedModel.{op}: features must be numbers, got dtype {X.dtype}")
        scaled = self.standardizer.transform(X)
        with np.errstate(over="ignore", invalid="ignore"):
            inputs = scaled.astype(np.float32)
        bad = np.argwhere(~np.isfinite(inputs))
        if len(bad):  # a NaN, or a value whose standardised form overflows float32
            i, j = (int(v) for v in bad[0])
            value = X[i, j].item()
            raise ValueError(
                f"TrainedModel.{op}: row {i}, feature {self.feature_names[j]!r} is {value!r}, "
                f"which standardises to {scaled[i, j]:.4g}, not a finite float32; the model "
                "cannot predict it (features must be finite and within about 3e38 standard "
                "deviations of the training data)"
            )
        return wrap_array(inputs)

    def _outputs(self, X: Any, op: str) -> np.ndarray:
        inputs = self._inputs(X, op)
        net = self.network
        was_training = net.training
        net.eval()
        try:
            with no_grad(), np.errstate(over="ignore", invalid="ignore"):
                out = net(inputs).array
        finally:
            net.train(was_training)
        _check_finite_rows(out, f"TrainedModel.{op}: the network's output")
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (their original type) or values for raw features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Unscaled features, as in the data set.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        out = self._outputs(X, "predict")
        if self.task == "classification":
            assert self.label_encoder is not None
            return self.label_encoder.inverse_transform(out.argmax(axis=1))
        assert self.target_scaler is not None
        with np.errstate(over="ignore"):
            values = self.target_scaler.inverse_transform(out.astype(np.float64))
        _check_finite_rows(values, "TrainedModel.predict: the prediction")
        return values[:, 0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (softmax of the logits), columns in :attr:`classes` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_classes), float64
        """
        if self.task != "classification":
            raise ValueError("predict_proba is for classification models; this one regresses")
        z = self._outputs(X, "predict_proba").astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy (classification) or R² (regression) on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels in their original type, or target values.
        """
        y = np.asarray(y)
        pred = self.predict(X)
        if len(y) != len(pred):
            raise ValueError(f"TrainedModel.score: X has {len(pred)} samples but y has {len(y)}")
        if self.task == "classification":
            return float(np.mean(pred == y))
        return r2_score(y.astype(np.float64), pred)

    def metadata(self) -> dict[str, Any]:
        """What :meth:`save` stores next to the weights (JSON-able)."""
        return {
            "kind": _MODEL_KIND,
            "task": self.task,
            "standardizer": self.standardizer.to_dict(),
            "label_encoder": None if self.label_encoder is None else self.label_encoder.to_dict(),
            "target_scaler": None if self.target_scaler is None else self.target_scaler.to_dict(),
            "feature_names": list(self.feature_names),
            "target_name": self.target_name,
            "info": self.info,
        }

    def save(self, path: PathLike) -> None:
        """Write the network and its preprocessing to one safetensors file (atomically).

        Uses :func:`retrograd.serialization.save`; the metadata holds the task,
        the standardizer, the class labels and the feature names as JSON.
        """
        serialization.save(self.network, path, metadata=self.metadata())

    @classmethod
    @fill_doc(raises=LOAD_RAISES_DOC)
    def load(cls, path: PathLike) -> TrainedModel:
        """Read a model written by :meth:`save` (in eval mode).

        The file is checked before it is used: every metadata field's type and
        value, the architecture against the tensors the file holds (before
        anything is built), finite weights, and that the network takes as many
        features as the standardizer scales and has one output per class (one
        for a regressor).

        {raises}
        """
        meta = serialization.read_metadata(path)
        if meta.get("kind") != _MODEL_KIND:
            raise ModelFileError(
                f"{path} is a model file without retrograd's preprocessing (not written by "
                "TrainedModel.save); load the bare network with retrograd.serialization.load"
            )
        fields = _ModelMetadata(meta, path)
        model = cls(
            network=serialization.load(path),
            task=fields.task,
            standardizer=fields.standardizer,
            label_encoder=fields.label_encoder,
            feature_names=fields.feature_names,
            target_name=fields.target_name,
            target_scaler=fields.target_scaler,
            info=fields.info,
        )
        model._check_network(path)
        return model

    def _check_network(self, path: PathLike) -> None:
        """One row of zeros through the network: it must take the features and give the outputs."""
        n_out = 1 if self.label_encoder is None else len(self.label_encoder)
        try:
            with no_grad(), np.errstate(all="ignore"):
                out = self.network.eval()(wrap_array(np.zeros((1, self.n_features), np.float32)))
        except (ValueError, TypeError, RuntimeError, IndexError, MemoryError) as e:
            raise ModelFileError(
                f"{path}: the network does not take the {self.n_features} features its "
                f"standardizer scales: {type(e).__name__}: {e}"
            ) from None
        if tuple(out.shape) != (1, n_out):
            preview = ", ".join(map(str, (self.classes or [])[:10]))
            what = (
                f"{n_out} classes ({preview})"
                if self.task == "classification"
                else "a regressor's single value"
            )
            raise ModelFileError(
                f"{path}: the network gives outputs of shape (N, "
                f"{', '.join(map(str, out.shape[1:]))}), but the metadata describes {what}, "
                f"which needs (N, {n_out})"
            )


class _ModelMetadata:
    """The fields of a model file's metadata, each checked for its type and value."""

    _FIELDS = (
        "kind", "task", "standardizer", "label_encoder", "target_scaler", "feature_names",
        "target_name", "info",
    )  # fmt: skip

    def __init__(self, meta: dict[str, Any], path: PathLike) -> None:
        self.path = path
        unknown = sorted(set(meta) - set(self._FIELDS))
        if unknown:
            raise ModelFileError(
                f"{path}: unknown metadata field(s) {', '.join(map(repr, unknown))}; "
                f"a model file's are {', '.join(self._FIELDS)}"
            )
        missing = [f for f in ("task", "standardizer") if f not in meta]
        if missing:
            raise ModelFileError(f"{path}: the metadata lacks {', '.join(map(repr, missing))}")
        self.task = meta["task"]
        if self.task not in TASKS:
            self.bad("task", "'classification' or 'regression'", self.task)
        self.standardizer = self.part("standardizer", meta["standardizer"], Standardizer)
        n = self.standardizer.n_features_in_
        classification = self.task == "classification"
        encoder, scaler = meta.get("label_encoder"), meta.get("target_scaler")
        if classification:
            self.label_encoder = self.part("label_encoder", encoder, LabelEncoder)
            if len(self.label_encoder) < 2:
                self.bad("label_encoder", "at least 2 classes", encoder)
            if scaler is not None:
                self.bad("target_scaler", "null for a classifier", scaler)
            self.target_scaler = None
        else:
            if encoder is not None:
                self.bad("label_encoder", "null for a regressor", encoder)
            self.label_encoder = None
            self.target_scaler = self.part("target_scaler", scaler, Standardizer)
            if self.target_scaler.n_features_in_ != 1:
                self.bad("target_scaler", "the scaling of one target", scaler)
        names = meta.get("feature_names", [f"x{j}" for j in range(n)])
        if not isinstance(names, list) or not all(isinstance(v, str) for v in names):
            self.bad("feature_names", "a list of strings", names)
        if len(names) != n:
            self.bad("feature_names", f"{n} names (the standardizer scales {n} features)", names)
        self.feature_names = list(names)
        self.target_name = meta.get("target_name", "target")
        if not isinstance(self.target_name, str):
            self.bad("target_name", "a string", self.target_name)
        self.info = self.check_info(meta.get("info", {}), n)

    def bad(self, field_name: str, expected: str, got: Any) -> None:
        raise ModelFileError(
            f"{self.path}: metadata field {field_name!r} must be {expected}, "
            f"got {serialization.describe_value(got)}"
        )

    def part(self, field_name: str, state: Any, cls: Any) -> Any:
        if not isinstance(state, dict):
            self.bad(field_name, "an object (its fitted state)", state)
        try:
            return cls.from_dict(state)
        except ValueError as e:
            raise ModelFileError(f"{self.path}: metadata field {field_name!r}: {e}") from None

    def check_info(self, info: Any, n_features: int) -> dict[str, Any]:
        """``info``: the training notes ``retrograd info`` and ``evaluate --split test`` read."""
        if not isinstance(info, dict):
            self.bad("info", "an object", info)
        for key in ("options", "metrics"):
            if not isinstance(info.get(key, {}), dict):
                self.bad(f"info.{key}", "an object", info[key])
        if not isinstance(info.get("dataset", ""), str):
            self.bad("info.dataset", "a string", info["dataset"])
        if not isinstance(info.get("named_features", True), bool):
            self.bad("info.named_features", "true or false", info["named_features"])
        options = info.get("options", {})
        if "seed" in options and not NUMERIC["seed"].accepts(options["seed"]):
            self.bad("info.options.seed", NUMERIC["seed"].describe(), options["seed"])
        if "test_split" in options and not NUMERIC["test_split"].accepts(options["test_split"]):
            self.bad(
                "info.options.test_split", NUMERIC["test_split"].describe(), options["test_split"]
            )
        shape = info.get("input_shape")
        if shape is not None and not (
            isinstance(shape, list)
            and len(shape) in (2, 3)
            and all(is_int(d) and d > 0 for d in shape)
            and int(np.prod(shape)) == n_features
        ):
            self.bad("info.input_shape", f"(C, L) or (C, H, W) of {n_features} values", shape)
        return dict(info)


def _check_finite_rows(values: np.ndarray, what: str) -> None:
    """Refuse NaN or infinite results, naming the first row: never a silent NaN prediction."""
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        i = int(bad[0][0])
        raise ValueError(
            f"{what} for row {i} is {values[tuple(bad[0])]} (not finite): the features overflow "
            "the network (values far outside the training data's range?), or its weights do"
        )


@dataclass
class RunResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : TrainedModel
    history : retrograd.training.History
    metrics : dict
        ``test_accuracy`` (classification) or ``test_r2`` and ``test_mse``
        (regression), the same for ``train_``/``val_``, and ``epochs``,
        ``best_epoch``, ``stop_reason``, ``seconds`` (of training), ``seed``,
        ``n_train``/``n_val``/``n_test`` and ``versions``.
    indices : dict of str to numpy.ndarray
        Row indices into the data set of the ``'train'``, ``'val'`` and
        ``'test'`` parts.
    X_test : numpy.ndarray of shape (n_test, n_features)
        The test features, unscaled.
    y_test : numpy.ndarray of shape (n_test,)
        The test targets, labels in their original type.
    """

    model: TrainedModel
    history: History
    metrics: dict[str, Any]
    indices: dict[str, np.ndarray]
    X_test: np.ndarray
    y_test: np.ndarray


# ------------------------------------------------------------------ train, piece by piece


#: The options saved with the model (``info["options"]``), in the order ``retrograd info`` shows.
_SAVED_OPTIONS = (
    "hidden", "activation", "loss", "optimizer", "lr", "momentum", "weight_decay", "batch_size",
    "epochs", "patience", "dropout", "batch_norm", "seed", "val_split", "test_split", "tol",
    "arch", "channels", "kernel", "augment", "label_smoothing",
)  # fmt: skip


@dataclass
class _Parts:
    """The rows of each part (``'train'``, ``'val'``, ``'test'``): indices, features, targets."""

    indices: dict[str, np.ndarray]
    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]


def _split(spec: DataSpec, val_split: float, test_split: float, seed: int) -> _Parts:
    """Split the rows (stratified by class for classification); each part's rows in order."""
    split = train_val_test_split(
        np.arange(spec.n_samples), spec.y, val_size=val_split, test_size=test_split,
        task=spec.task, seed=seed,
    )  # fmt: skip
    indices = {
        "train": np.sort(split.X_train),
        "val": np.sort(split.X_val),
        "test": np.sort(split.X_test),
    }
    return _Parts(
        indices,
        X={part: spec.X[idx] for part, idx in indices.items()},
        y={part: spec.y[idx] for part, idx in indices.items()},
    )


@dataclass
class _Preprocessing:
    """What turns raw rows into the network's tensors, fitted on the training part."""

    standardizer: Standardizer
    encoder: LabelEncoder | None  # classification: labels to class indices
    target_scaler: Standardizer | None  # regression: targets standardized too

    @classmethod
    def fit(
        cls, spec: DataSpec, parts: _Parts, shape: tuple[int, ...] | None = None
    ) -> _Preprocessing:
        """Per-feature statistics for an MLP; one mean and scale per channel for a CNN (shape)."""
        if shape is None:
            standardizer = Standardizer().fit(parts.X["train"])
        else:
            standardizer = Standardizer().fit_channels(parts.X["train"], shape[0])
        if spec.task == "classification":  # every label, so that no class is missing
            return cls(standardizer, LabelEncoder().fit(spec.y), None)
        return cls(standardizer, None, Standardizer().fit(parts.y["train"].reshape(-1, 1)))

    @property
    def n_out(self) -> int:
        return 1 if self.encoder is None else len(self.encoder)

    def features(self, X: np.ndarray) -> Tensor:
        return wrap_array(self.standardizer.transform(X).astype(np.float32))

    def targets(self, y: np.ndarray) -> Tensor:
        if self.encoder is not None:
            return wrap_array(self.encoder.transform(y))
        assert self.target_scaler is not None
        scaled = self.target_scaler.transform(y.reshape(-1, 1).astype(np.float64))
        return wrap_array(scaled.astype(np.float32))

    def model(self, network: nn.Module, spec: DataSpec, info: dict[str, Any]) -> TrainedModel:
        return TrainedModel(
            network=network,
            task=spec.task,
            standardizer=self.standardizer,
            label_encoder=self.encoder,
            feature_names=list(spec.feature_names),
            target_name=spec.target_name,
            target_scaler=self.target_scaler,
            info=info,
        )


class _AugmentedLoader:
    """A training loader whose every batch of flat samples goes through ``transform``.

    The samples are reshaped to ``shape`` for the transform and flattened again,
    as the network takes them; the sampler and generator stay visible to
    :func:`~retrograd.training.fit` (the sampler's epoch, the checkpointed state).
    """

    def __init__(self, loader: DataLoader, transform: RandomShift, shape: tuple[int, ...]) -> None:
        self.loader, self.transform, self.shape = loader, transform, shape
        self.sampler, self.generator = loader.sampler, loader.generator

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for x, y in self.loader:
            images = x.array.reshape(len(x), *self.shape)
            yield wrap_array(self.transform(images).reshape(x.shape)), y


def _augmentation(
    name: str, shape: tuple[int, ...] | None, standardizer: Standardizer
) -> RandomShift | None:
    """The transform ``augment`` names, for ``shape`` samples standardized by ``standardizer``."""
    if name == "none":
        return None
    assert shape is not None, "check_options refuses augment without arch 'cnn'"
    # The raw background (0) comes in, standardized as the channel it fills.
    per_channel = slice(None, None, int(np.prod(shape[1:])))
    background = -standardizer.mean_[per_channel] / standardizer.scale_[per_channel]
    return RandomShift(1, fill=background)


def _default_label_smoothing(arch: str, task: str) -> float:
    """What ``label_smoothing=None`` means: :data:`CNN_LABEL_SMOOTHING` for a CNN on classes."""
    return CNN_LABEL_SMOOTHING if arch == "cnn" and task == "classification" else 0.0


def _make_optimizer(
    name: str, params: list[Tensor], lr: float, momentum: float, weight_decay: float
) -> optim.Optimizer:
    cls = optim.get_optimizer(name)
    kwargs: dict[str, Any] = {"lr": lr, "weight_decay": weight_decay}
    if cls in (optim.SGD, optim.RMSprop):  # the optimizers that take a momentum
        kwargs["momentum"] = momentum
    return cls(params, **kwargs)


def _scores(model: TrainedModel, parts: _Parts, distributed: bool) -> dict[str, Any]:
    """Accuracy (classification) or R² and MSE (regression) of every non-empty part.

    Distributed, each rank predicts its share of the rows and every rank gets them all.
    """
    predict = partial(_dist.sharded, model.predict) if distributed else model.predict
    metrics: dict[str, Any] = {}
    for part in ("train", "val", "test"):
        X, y = parts.X[part], parts.y[part]
        if len(y) == 0:
            continue
        pred = predict(X)
        if model.task == "classification":
            metrics[f"{part}_accuracy"] = float(np.mean(pred == y))  # model.score's accuracy
        else:
            metrics[f"{part}_r2"] = r2_score(y.astype(np.float64), pred)
            metrics[f"{part}_mse"] = float(np.mean((pred - y) ** 2))
    return metrics


def _versions() -> dict[str, str]:
    from . import __version__

    return {
        "retrograd": __version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def train(
    spec: DataSpec | str,
    *,
    hidden: Sequence[int] = (512, 256),
    activation: str = "relu",
    loss: str = "auto",
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    batch_size: int = 32,
    epochs: int = 200,
    patience: int = 10,
    dropout: float = 0.0,
    seed: int = 0,
    val_split: float = 0.0,
    test_split: float = 0.25,
    quiet: bool = False,
    checkpoint_path: PathLike | None = None,
    resume_from: PathLike | None = None,
    callbacks: Sequence[Callback] = (),
    batch_norm: bool = False,
    tol: float = 1e-3,
    blas_threads: int | None = 1,
    distributed: bool = False,
    arch: str = "mlp",
    channels: Sequence[int] = (16, 32),
    kernel: int = 3,
    capture: bool = True,
    augment: str = "none",
    label_smoothing: float | None = None,
) -> RunResult:
    """Train an MLP or a CNN on a data set and score it on a held-out test part.

    Steps: split the samples into training, validation and test parts
    (:func:`retrograd.data.train_val_test_split`: the test part first, then the
    validation part, both stratified by class for classification); fit a
    :class:`~retrograd.data.Standardizer` on the training features (and, for
    regression, one on the training targets; for ``arch='cnn'`` one mean and
    scale per channel); seed the default generator with ``seed`` and build the
    network (:func:`build_mlp` or :func:`build_cnn`); train with
    :func:`retrograd.training.fit`; score every part.

    Stopping: with a validation part, early stopping on the validation loss
    with ``patience`` (the best epoch's weights are kept); without one
    (``val_split=0``), scikit-learn's rule on the training loss (no gain of
    ``tol`` for more than ``patience`` epochs); at most ``epochs`` epochs.

    Parameters
    ----------
    spec : DataSpec or str
        The data set, or a name or path for :func:`retrograd.data.load_dataset`.
    hidden : sequence of int, default=(512, 256)
        Hidden layer sizes.
    activation : str, default='relu'
        A key of :data:`ACTIVATIONS`.
    loss : str, default='auto'
        A key of :data:`LOSSES`; ``'auto'``: cross-entropy or MSE by task.
        Regression losses are computed on standardized targets.
    optimizer : str, default='adam'
        A key of :data:`OPTIMIZERS`.
    lr : float, default=1e-3
        Learning rate.
    momentum : float, default=0.9
        For ``'sgd'`` and ``'rmsprop'``; ignored by the others.
    weight_decay : float, default=0.0
        The optimizer's ``weight_decay`` (L2 penalty; decoupled for ``'adamw'``).
    batch_size : int, default=32
    epochs : int, default=200
        The most epochs to train.
    patience : int, default=10
        Epochs without improvement before stopping (see Stopping).
    dropout : float, default=0.0
        Dropout after each hidden activation.
    seed : int, default=0
        Sets the split, the initial weights, the shuffling and dropout.
    val_split : float, default=0.0
        Fraction of all samples held out for validation (early stopping).
    test_split : float, default=0.25
        Fraction of all samples held out for the test scores; 0 for none.
    quiet : bool, default=False
        No progress bar.
    checkpoint_path : str or PathLike, optional
        Write a checkpoint at the end of every epoch.
    resume_from : str or PathLike, optional
        Continue from a checkpoint of a run with the same data and options.
    callbacks : sequence of callable, default=()
        Passed to :func:`~retrograd.training.fit`.
    batch_norm : bool, default=False
        ``BatchNorm1d`` after each hidden ``Linear``.
    tol : float, default=1e-3
        The smallest loss decrease that counts as an improvement.
    blas_threads : int or None, default=1
        The most BLAS threads a matrix product may use while training
        (:func:`retrograd.threads.num_threads`); None leaves the ceiling of
        :func:`retrograd.get_num_threads`. One thread is fastest for these
        small matrices and does not fight other processes for the cores.
    distributed : bool, default=False
        Train data-parallel over the ranks of :mod:`retrograd.distributed`
        (:func:`~retrograd.distributed.init` is called; a plain process is one
        rank). ``batch_size`` is then the global batch: every rank draws the
        same shuffled batches as one process and trains on its share of each
        (split as evenly as possible, no row repeated), BatchNorm layers
        become :class:`~retrograd.nn.SyncBatchNorm` and dropout masks are those
        of one process, so the model is the one a single process trains (to
        rounding); the parts are scored sharded; every rank returns the same
        result.
    arch : {'mlp', 'cnn'}, default='mlp'
        The network (:data:`ARCHITECTURES`): an MLP on the flat features, or a
        CNN (:func:`build_cnn`) for data with a ``sample_shape`` (images such
        as ``digits``, sequences such as ``mnist1d``).
    channels : sequence of int, default=(16, 32)
        For ``'cnn'``: the output channels of each convolution block.
    kernel : int, default=3
        For ``'cnn'``: the convolutions' kernel size.
    capture : bool, default=True
        Replay the training step (:mod:`retrograd.capture`) where the network
        allows it; the results are the same bit for bit. False: always eager.
    augment : {'none', 'shift'}, default='none'
        For ``'cnn'``: what is done to every training batch (:data:`AUGMENTATIONS`;
        the validation and test parts are never augmented). ``'shift'`` moves
        each sample by up to one position along each axis
        (:class:`retrograd.data.transforms.RandomShift`), a new draw every epoch
        from the generator ``seed`` sets.
    label_smoothing : float in [0, 1] or None, default=None
        The cross-entropy's ``label_smoothing`` (classification only). None:
        :data:`CNN_LABEL_SMOOTHING` (0.2) for ``arch='cnn'``, 0 for an MLP.

    Returns
    -------
    RunResult

    Raises
    ------
    retrograd.data.DataError
        When a split is too small to hold every class (the message names the
        part, its size and the number of classes).
    ValueError
        For an unknown option name or an out-of-range value.
    """
    source = None
    if not isinstance(spec, DataSpec):
        source = _data_source(spec)
        spec = load_dataset(spec)
    check_data(spec)
    task = spec.task
    opts = check_options(
        task, hidden=hidden, activation=activation, loss=loss, optimizer=optimizer, lr=lr,
        momentum=momentum, weight_decay=weight_decay, batch_size=batch_size, epochs=epochs,
        patience=patience, dropout=dropout, seed=seed, val_split=val_split,
        test_split=test_split, tol=tol, blas_threads=blas_threads, arch=arch,
        channels=channels, kernel=kernel, augment=augment, label_smoothing=label_smoothing,
    )  # fmt: skip
    if opts["label_smoothing"] is None:
        opts["label_smoothing"] = _default_label_smoothing(opts["arch"], task)
    shape = input_shape(spec, opts["arch"])
    check_run(spec, **opts)
    seed = opts["seed"]
    parts = _split(spec, opts["val_split"], opts["test_split"], seed)
    prep = _Preprocessing.fit(spec, parts, shape)

    manual_seed(seed)
    if shape is None:
        network = build_mlp(
            spec.n_features, opts["hidden"], prep.n_out, opts["activation"], dropout, batch_norm
        )
    else:
        network = build_cnn(
            shape, opts["channels"], opts["kernel"], opts["hidden"], prep.n_out,
            opts["activation"], dropout, batch_norm,
        )  # fmt: skip
    opt = _make_optimizer(
        opts["optimizer"], list(network.parameters()), opts["lr"], opts["momentum"],
        opts["weight_decay"],
    )  # fmt: skip
    train_set = TensorDataset(prep.features(parts.X["train"]), prep.targets(parts.y["train"]))
    # The same loader of global batches in every process: a distributed run shuffles as one
    # process does, and each rank trains on its share of every batch (see fit's strategy).
    train_loader: Any = DataLoader(train_set, batch_size=opts["batch_size"], shuffle=True)
    transform = _augmentation(opts["augment"], shape, prep.standardizer)
    if transform is not None:  # drawn from the global generator, as the shuffling: seeded
        train_loader = _AugmentedLoader(train_loader, transform, shape)
    if distributed:
        _dist.init()
        network = nn.SyncBatchNorm.convert_sync_batchnorm(network)
    has_val = len(parts.indices["val"]) > 0
    val_loader = (
        [(prep.features(parts.X["val"]), prep.targets(parts.y["val"]))] if has_val else None
    )

    t0 = time.perf_counter()
    # A loss or gradient that stops being finite is fit's NonFiniteError, naming the epoch
    # and batch; NumPy's warnings on the way there would only repeat it, with internal paths.
    with threads.num_threads(opts["blas_threads"]), np.errstate(all="ignore"):
        history = fit(
            network,
            get_loss(opts["loss"], task, opts["label_smoothing"]),
            opt,
            train_loader,
            val_loader,
            max_epochs=opts["epochs"],
            tol=opts["tol"],
            n_iter_no_change=opts["patience"],
            early_stopping=has_val,
            patience=opts["patience"],
            restore_best=True,
            metric="accuracy" if task == "classification" else "r2",
            callbacks=callbacks,
            progress=not quiet,
            checkpoint_path=checkpoint_path,
            resume_from=resume_from,
            distributed=distributed,
            capture=capture,
        )
    seconds = time.perf_counter() - t0
    network.eval()

    options = {
        **opts, "hidden": list(opts["hidden"]), "channels": list(opts["channels"]),
        "batch_norm": bool(batch_norm),
    }  # fmt: skip
    saved = {name: options[name] for name in _SAVED_OPTIONS}
    info: dict[str, Any] = {"dataset": spec.name, "options": saved}
    info["named_features"] = spec.named_features  # new data's columns are matched by name
    if source is not None:
        info["data"] = source
    if shape is not None:
        info["input_shape"] = list(shape)
    if prep.encoder is not None:
        info["class_names"] = class_names(prep.encoder.classes, spec.target_names)
    model = prep.model(network, spec, info=info)
    metrics = _scores(model, parts, distributed)
    metrics.update(
        epochs=history.n_epochs,
        best_epoch=history.best_epoch,
        stop_reason=history.stop_reason,
        seconds=seconds,
        seed=seed,
        n_train=len(parts.indices["train"]),
        n_val=len(parts.indices["val"]),
        n_test=len(parts.indices["test"]),
        versions=_versions(),
    )
    if distributed:
        metrics.update(world_size=_dist.world_size())
    model.info["metrics"] = {k: v for k, v in metrics.items() if k != "versions"}
    return RunResult(model, history, metrics, parts.indices, parts.X["test"], parts.y["test"])
