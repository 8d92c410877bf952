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

import contextlib
import numbers
import platform
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from . import distributed as _dist
from . import nn, optim, serialization
from .autograd import no_grad
from .data import (
    DataLoader,
    DataSpec,
    LabelEncoder,
    Standardizer,
    TensorDataset,
    load_dataset,
    train_val_test_split,
)
from .metrics import r2_score
from .nn import loss as nn_loss
from .random import manual_seed
from .serialization import PathLike
from .tensor import Tensor, wrap_array
from .training import Callback, History, fit

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "LossEntry",
    "RunResult",
    "TrainedModel",
    "build_mlp",
    "get_activation",
    "get_loss",
    "train",
]

_MODEL_KIND = "retrograd-trained-model/1"

#: Activation names to module classes (``-`` and ``_`` are the same in a name).
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
}


class LossEntry(NamedTuple):
    """One row of :data:`LOSSES`: the loss module's class and the task it serves."""

    cls: type[nn.Module]
    task: str


#: Loss names to their module class and task; ``'auto'`` picks by task (see :func:`get_loss`).
LOSSES: dict[str, LossEntry | None] = {
    "auto": None,
    "cross-entropy": LossEntry(nn_loss.CrossEntropyLoss, "classification"),
    "mse": LossEntry(nn_loss.MSELoss, "regression"),
    "l1": LossEntry(nn_loss.L1Loss, "regression"),
    "huber": LossEntry(nn_loss.HuberLoss, "regression"),
    "smooth-l1": LossEntry(nn_loss.SmoothL1Loss, "regression"),
}

#: Optimizer names to classes: :data:`retrograd.optim.OPTIMIZERS` itself.
OPTIMIZERS = optim.OPTIMIZERS

#: The loss ``'auto'`` stands for, per task.
_AUTO_LOSS = {"classification": "cross-entropy", "regression": "mse"}


def _key(name: Any, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a name (str), got {type(name).__name__}")
    return name.strip().lower()


def get_activation(name: str) -> type[nn.Module]:
    """The activation module class called ``name`` (case-insensitive; ``-`` = ``_``).

    Parameters
    ----------
    name : str
        A key of :data:`ACTIVATIONS`.
    """
    cls = ACTIVATIONS.get(_key(name, "activation").replace("-", "_"))
    if cls is None:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {', '.join(map(repr, ACTIVATIONS))}"
        )
    return cls


def get_loss(name: str, task: str) -> nn.Module:
    """A loss module for ``task`` from its name in :data:`LOSSES`.

    Parameters
    ----------
    name : str
        A key of :data:`LOSSES` (case-insensitive; ``_`` = ``-``); ``'auto'``
        is cross-entropy for classification and mean squared error for regression.
    task : {'classification', 'regression'}

    Raises
    ------
    ValueError
        For an unknown name, or a loss that does not fit the task.
    """
    key = _key(name, "loss").replace("_", "-")
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(map(repr, LOSSES))}")
    if key == "auto":
        key = _AUTO_LOSS[task]
    entry = LOSSES[key]
    assert entry is not None
    if entry.task != task:
        fits = [k for k, e in LOSSES.items() if e is not None and e.task == task]
        raise ValueError(
            f"loss {name!r} is for {entry.task}, but the data set is a {task} task; use one "
            f"of {', '.join(map(repr, ['auto', *fits]))}"
        )
    return entry.cls()


# ------------------------------------------------------------------ the network


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        sizes = tuple(hidden)
    except TypeError:
        raise TypeError(f"hidden must be a sequence of layer sizes, got {hidden!r}") from None
    for h in sizes:
        if isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1:
            raise ValueError(f"hidden layer sizes must be ints >= 1, got {hidden!r}")
    return tuple(int(h) for h in sizes)


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
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
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


# ------------------------------------------------------------------ the trained model


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
    def n_features(self) -> int:
        """The number of features the model takes."""
        return self.standardizer.n_features_in_

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
        return wrap_array(self.standardizer.transform(X).astype(np.float32))

    def _outputs(self, X: Any, op: str) -> np.ndarray:
        inputs = self._inputs(X, op)
        net = self.network
        was_training = net.training
        net.eval()
        try:
            with no_grad():
                return net(inputs).array
        finally:
            net.train(was_training)

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
        return self.target_scaler.inverse_transform(out.astype(np.float64))[:, 0]

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
    def load(cls, path: PathLike) -> TrainedModel:
        """Read a model written by :meth:`save` (in eval mode)."""
        meta = serialization.read_metadata(path)
        if meta.get("kind") != _MODEL_KIND:
            raise ValueError(
                f"{path} is a model file without retrograd's preprocessing (not written by "
                "TrainedModel.save); load the bare network with retrograd.serialization.load"
            )
        network = serialization.load(path)
        encoder = meta.get("label_encoder")
        scaler = meta.get("target_scaler")
        return cls(
            network=network,
            task=meta["task"],
            standardizer=Standardizer.from_dict(meta["standardizer"]),
            label_encoder=None if encoder is None else LabelEncoder.from_dict(encoder),
            feature_names=list(meta.get("feature_names", [])),
            target_name=meta.get("target_name", "target"),
            target_scaler=None if scaler is None else Standardizer.from_dict(scaler),
            info=dict(meta.get("info", {})),
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


# ------------------------------------------------------------------ train


def _check_fraction(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")
    return float(value)


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def _check_nonnegative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _make_optimizer(
    name: str, params: list[Tensor], lr: float, momentum: float, weight_decay: float
) -> optim.Optimizer:
    cls = optim.get_optimizer(name)
    kwargs: dict[str, Any] = {"lr": lr, "weight_decay": weight_decay}
    if cls in (optim.SGD, optim.RMSprop):  # the optimizers that take a momentum
        kwargs["momentum"] = momentum
    return cls(params, **kwargs)


@contextlib.contextmanager
def _blas_threads(n: int | None) -> Iterator[None]:
    """Limit NumPy's BLAS to ``n`` threads (None: leave it) inside the block."""
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up; without it, train as NumPy is set up
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def _versions() -> dict[str, str]:
    from . import __version__

    return {
        "retrograd": __version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _rows(spec: DataSpec, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return spec.X[idx], spec.y[idx]


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
) -> RunResult:
    """Train an MLP on a data set and score it on a held-out test part.

    Steps: split the samples into training, validation and test parts
    (:func:`retrograd.data.train_val_test_split`: the test part first, then the
    validation part, both stratified by class for classification); fit a
    :class:`~retrograd.data.Standardizer` on the training features (and, for
    regression, one on the training targets); seed the default generator with
    ``seed`` and build the network (:func:`build_mlp`); train with
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
        Limit NumPy's BLAS to this many threads while training (needs
        ``threadpoolctl``, which scikit-learn brings); None leaves it alone.
        One thread is fastest for these small matrices and does not fight
        other processes for the cores.
    distributed : bool, default=False
        Train data-parallel over the ranks of :mod:`retrograd.distributed`
        (:func:`~retrograd.distributed.init` is called; a plain process is one
        rank). ``batch_size`` is then the global batch: every rank draws the
        same shuffled batches as one process and trains on its share of each
        (split as evenly as possible, no row repeated), BatchNorm layers
        become :class:`~retrograd.nn.SyncBatchNorm` and dropout masks are those
        of one process, so the model is the one a single process trains (to
        rounding); every rank returns the same result.

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
    if not isinstance(spec, DataSpec):
        spec = load_dataset(spec)
    task = spec.task
    hidden = _check_hidden(hidden)
    get_activation(activation)
    loss_fn = get_loss(loss, task)
    optim.get_optimizer(optimizer)
    lr = _check_nonnegative(lr, "lr")
    momentum = _check_nonnegative(momentum, "momentum")
    weight_decay = _check_nonnegative(weight_decay, "weight_decay")
    batch_size = _check_positive_int(batch_size, "batch_size")
    epochs = _check_positive_int(epochs, "epochs")
    patience = _check_positive_int(patience, "patience")
    val_split = _check_fraction(val_split, "val_split")
    test_split = _check_fraction(test_split, "test_split")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")

    n = spec.n_samples
    parts = train_val_test_split(
        np.arange(n), spec.y, val_size=val_split, test_size=test_split, task=task, seed=int(seed)
    )
    indices = {
        "train": np.sort(parts.X_train),
        "val": np.sort(parts.X_val),
        "test": np.sort(parts.X_test),
    }
    X_tr, y_tr = _rows(spec, indices["train"])
    X_va, y_va = _rows(spec, indices["val"])
    X_te, y_te = _rows(spec, indices["test"])

    standardizer = Standardizer().fit(X_tr)
    encoder: LabelEncoder | None = None
    target_scaler: Standardizer | None = None
    if task == "classification":
        encoder = LabelEncoder().fit(spec.y)
        n_out = len(encoder)

        def targets(y: np.ndarray) -> Tensor:
            return wrap_array(encoder.transform(y))  # type: ignore[union-attr]

    else:
        target_scaler = Standardizer().fit(y_tr.reshape(-1, 1))
        n_out = 1

        def targets(y: np.ndarray) -> Tensor:
            scaled = target_scaler.transform(y.reshape(-1, 1).astype(np.float64))  # type: ignore[union-attr]
            return wrap_array(scaled.astype(np.float32))

    def features(X: np.ndarray) -> Tensor:
        return wrap_array(standardizer.transform(X).astype(np.float32))

    manual_seed(int(seed))
    network = build_mlp(spec.n_features, hidden, n_out, activation, dropout, batch_norm)
    opt = _make_optimizer(optimizer, list(network.parameters()), lr, momentum, weight_decay)
    train_set = TensorDataset(features(X_tr), targets(y_tr))
    # The same loader of global batches in every process: a distributed run shuffles as one
    # process does, and each rank trains on its share of every batch (see fit's strategy).
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    if distributed:
        _dist.init()
        network = nn.SyncBatchNorm.convert_sync_batchnorm(network)
    has_val = len(indices["val"]) > 0
    val_loader = [(features(X_va), targets(y_va))] if has_val else None
    metric = "accuracy" if task == "classification" else "r2"

    t0 = time.perf_counter()
    with _blas_threads(blas_threads):
        history = fit(
            network,
            loss_fn,
            opt,
            train_loader,
            val_loader,
            max_epochs=epochs,
            tol=tol,
            n_iter_no_change=patience,
            early_stopping=has_val,
            patience=patience,
            restore_best=True,
            metric=metric,
            callbacks=callbacks,
            progress=not quiet,
            checkpoint_path=checkpoint_path,
            resume_from=resume_from,
            distributed=distributed,
        )
    seconds = time.perf_counter() - t0
    network.eval()

    options = {
        "hidden": list(hidden),
        "activation": activation,
        "loss": loss,
        "optimizer": optimizer,
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "batch_size": batch_size,
        "epochs": epochs,
        "patience": patience,
        "dropout": float(dropout),
        "batch_norm": bool(batch_norm),
        "seed": int(seed),
        "val_split": val_split,
        "test_split": test_split,
        "tol": tol,
    }
    model = TrainedModel(
        network=network,
        task=task,
        standardizer=standardizer,
        label_encoder=encoder,
        feature_names=list(spec.feature_names),
        target_name=spec.target_name,
        target_scaler=target_scaler,
        info={"dataset": spec.name, "options": options},
    )
    metrics: dict[str, Any] = {}
    # Distributed: each rank predicts its share of the rows, and every rank gets them all.
    predict = partial(_dist.sharded, model.predict) if distributed else model.predict
    for part, (X, y) in {"train": (X_tr, y_tr), "val": (X_va, y_va), "test": (X_te, y_te)}.items():
        if len(y) == 0:
            continue
        pred = predict(X)
        if task == "classification":
            metrics[f"{part}_accuracy"] = float(np.mean(pred == y))  # model.score's accuracy
        else:
            metrics[f"{part}_r2"] = r2_score(y.astype(np.float64), pred)
            metrics[f"{part}_mse"] = float(np.mean((pred - y) ** 2))
    metrics.update(
        epochs=history.n_epochs,
        best_epoch=history.best_epoch,
        stop_reason=history.stop_reason,
        seconds=seconds,
        seed=int(seed),
        n_train=len(indices["train"]),
        n_val=len(indices["val"]),
        n_test=len(indices["test"]),
        versions=_versions(),
    )
    if distributed:
        metrics.update(world_size=_dist.world_size())
    model.info["metrics"] = {k: v for k, v in metrics.items() if k != "versions"}
    return RunResult(model, history, metrics, indices, X_te, y_te)
