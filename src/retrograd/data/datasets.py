"""Named data sets that need no network, and ``load_dataset``: one door to every source.

:data:`DATASETS` is the one registry table of names: ``load_dataset``, its
"unknown data set" message and the command line's listing all read it.
The five real data sets are the copies scikit-learn ships (imported only when
one is loaded); ``xor`` and ``spirals`` are generated here with NumPy, ``moons``
and ``circles`` by scikit-learn's ``make_moons``/``make_circles``.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._docstrings import fill_doc
from ..validation import is_int
from ._common import DataError, require_sklearn
from .files import PathLike, read_csv, read_csv_features, read_idx, read_idx_folder, read_npz
from .spec import DataSpec

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "available_datasets",
    "load_dataset",
    "load_mnist1d",
    "mnist1d_available",
    "read_csv",
    "read_csv_features",
    "read_idx",
    "read_idx_folder",
    "read_npz",
]

# ------------------------------------------------------------------------- scikit-learn's copies


def _bundled(function: str, name: str, task: str) -> DataSpec:
    """One of scikit-learn's bundled data sets as a DataSpec."""
    datasets = require_sklearn("datasets", f"the {name!r} data set")
    bunch = getattr(datasets, function)()
    X = np.asarray(bunch.data, dtype=np.float64)
    if task == "classification":
        y = np.asarray(bunch.target, dtype=np.int64)
        target_names = [str(t) for t in bunch.target_names]
    else:
        y = np.asarray(bunch.target, dtype=np.float64)
        target_names = None
    return DataSpec(
        X=X,
        y=y,
        task=task,
        feature_names=[str(f) for f in bunch.feature_names],
        name=name,
        target_name="target",
        target_names=target_names,
        description=DATASETS[name].description,
    )


def load_digits() -> DataSpec:
    """8×8 images of handwritten digits: 1797 samples, 64 features (0-16), 10 classes.

    ``sample_shape`` is (1, 8, 8): a convolutional network reads each row as a
    one-channel image.
    """
    spec = _bundled("load_digits", "digits", "classification")
    spec.sample_shape = (1, 8, 8)
    return spec


#: The parts of MNIST-1D that ``load_mnist1d(split=...)`` reads, as the paper splits it.
MNIST1D_SPLITS = ("train", "test", "all")


@functools.lru_cache(maxsize=1)
def _mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The paper's MNIST-1D, built from the package's templates (about a second; no network)."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise DataError(
            "the 'mnist1d' data set needs the mnist1d package: pip install 'retrograd[mnist1d]'"
        ) from None
    data = make_dataset(get_dataset_args())  # the paper's defaults; never its download
    return (
        np.asarray(data["x"], dtype=np.float64),
        np.asarray(data["y"], dtype=np.int64),
        np.asarray(data["x_test"], dtype=np.float64),
        np.asarray(data["y_test"], dtype=np.int64),
    )


def load_mnist1d(split: str = "train") -> DataSpec:
    """MNIST-1D (Greydanus 2020): digit-shaped sequences of length 40, 10 classes.

    Built offline by the ``mnist1d`` package (the extra ``retrograd[mnist1d]``)
    with the paper's default arguments: 4,000 training and 1,000 test sequences.

    Parameters
    ----------
    split : {'train', 'test', 'all'}, default='train'
        The paper's training part, its test part, or both (training first).

    Returns
    -------
    DataSpec
        ``X`` of shape (n, 40), ``sample_shape`` (1, 40): one channel of length
        40 for a ``Conv1d`` network.
    """
    if split not in MNIST1D_SPLITS:
        raise DataError(f"split must be one of {', '.join(MNIST1D_SPLITS)}, got {split!r}")
    x, y, x_test, y_test = _mnist1d_arrays()
    if split == "all":
        X, labels = np.concatenate([x, x_test]), np.concatenate([y, y_test])
    else:
        X, labels = (x, y) if split == "train" else (x_test, y_test)
    return DataSpec(
        X=X.copy(),
        y=labels.copy(),
        task="classification",
        feature_names=[f"t{j}" for j in range(X.shape[1])],
        name="mnist1d",
        target_name="digit",
        target_names=[str(d) for d in range(10)],
        description=f"{DATASETS['mnist1d'].description} (split={split!r})",
        sample_shape=(1, X.shape[1]),
        named_features=False,
    )


def mnist1d_available() -> bool:
    """Whether the ``mnist1d`` package, which builds the data set, is installed."""
    return importlib.util.find_spec("mnist1d") is not None


def load_iris() -> DataSpec:
    """Fisher's irises: 150 samples, 4 measurements (cm), 3 species."""
    return _bundled("load_iris", "iris", "classification")


def load_wine() -> DataSpec:
    """Wines from three cultivars: 178 samples, 13 chemical measurements, 3 classes."""
    return _bundled("load_wine", "wine", "classification")


def load_breast_cancer() -> DataSpec:
    """Wisconsin breast tumours: 569 samples, 30 features, malignant (0) or benign (1)."""
    return _bundled("load_breast_cancer", "breast_cancer", "classification")


def load_diabetes() -> DataSpec:
    """Diabetes progression after a year: 442 samples, 10 (scaled) features, a number."""
    return _bundled("load_diabetes", "diabetes", "regression")


# ------------------------------------------------------------------------- synthetic


def _check_synthetic(name: str, n_samples: int, noise: float, seed: int, min_samples: int) -> None:
    if not is_int(n_samples):
        raise DataError(f"{name}: n_samples must be an int, got {n_samples!r}")
    if n_samples < min_samples:
        raise DataError(f"{name}: n_samples must be at least {min_samples}, got {n_samples}")
    if not isinstance(noise, (int, float, np.integer, np.floating)) or not noise >= 0:
        raise DataError(f"{name}: noise must be a number >= 0, got {noise!r}")
    if not is_int(seed):
        raise DataError(f"{name}: seed must be an int, got {seed!r}")


def _synthetic(
    name: str, X: np.ndarray, y: np.ndarray, n_samples: int, noise: float, seed: int
) -> DataSpec:
    return DataSpec(
        X=np.asarray(X, dtype=np.float64),
        y=np.asarray(y, dtype=np.int64),
        task="classification",
        feature_names=["x0", "x1"],
        name=name,
        target_name="target",
        description=f"{DATASETS[name].description} (n_samples={n_samples}, noise={noise}, "
        f"seed={seed})",
        named_features=False,
    )


def _two_class_doc(noise: float) -> str:
    """The Parameters and Returns sections of the two-class 2-D sets, with ``noise``'s default."""
    return f"""Parameters
    ----------
    n_samples : int, default=400
    noise : float, default={noise}
        Standard deviation of the Gaussian noise added to each point.
    seed : int, default=0

    Returns
    -------
    DataSpec
        ``X`` of shape (n_samples, 2), ``y`` in {{0, 1}}."""


@fill_doc(sections=_two_class_doc(0.2))
def make_xor(n_samples: int = 400, noise: float = 0.2, seed: int = 0) -> DataSpec:
    """Noisy XOR: points around the corners (±1, ±1), class 1 where the signs differ.

    The four corners get equal shares of the samples (up to one); each point is
    its corner plus the noise. No straight line separates the classes, so a
    model without a hidden layer cannot learn it.

    {sections}
    """
    _check_synthetic("xor", n_samples, noise, seed, 4)
    rng = np.random.default_rng(seed)
    corner = rng.permutation(np.arange(n_samples) % 4)
    bits = np.stack([corner // 2, corner % 2], axis=1)
    X = (2.0 * bits - 1.0) + noise * rng.standard_normal((n_samples, 2))
    return _synthetic("xor", X, bits[:, 0] ^ bits[:, 1], n_samples, noise, seed)


def _from_sklearn(name: str, n_samples: int, noise: float, seed: int, **options: Any) -> DataSpec:
    """The set scikit-learn's ``make_<name>`` draws, checked and described as the others."""
    _check_synthetic(name, n_samples, noise, seed, 2)
    datasets = require_sklearn("datasets", f"the {name!r} data set")
    make = getattr(datasets, f"make_{name}")
    X, y = make(n_samples=n_samples, noise=noise, random_state=seed, **options)
    return _synthetic(name, X, y, n_samples, noise, seed)


@fill_doc(sections=_two_class_doc(0.1))
def make_moons(n_samples: int = 400, noise: float = 0.1, seed: int = 0) -> DataSpec:
    """Two interleaving half circles (scikit-learn's ``make_moons``).

    {sections}
    """
    return _from_sklearn("moons", n_samples, noise, seed)


@fill_doc(sections=_two_class_doc(0.05))
def make_circles(n_samples: int = 400, noise: float = 0.05, seed: int = 0) -> DataSpec:
    """A small circle (class 1) inside a large one (scikit-learn's ``make_circles``, factor 0.5).

    {sections}
    """
    return _from_sklearn("circles", n_samples, noise, seed, factor=0.5)


_SPIRAL_TURNS = 1.5


def make_spirals(
    n_samples: int = 400, noise: float = 0.05, seed: int = 0, n_classes: int = 2
) -> DataSpec:
    """``n_classes`` interleaved spiral arms, one class each.

    Arm ``k`` is ``r (cos θ, sin θ)`` with radius ``r`` from 0.1 to 1 and angle
    ``θ = 2π (1.5 r' + k / n_classes)``, where ``r'`` runs from 0 to 1 along
    the arm; Gaussian noise of standard deviation ``noise`` is added to each
    coordinate. The classes get equal shares of the samples (up to one), in a
    shuffled order.

    Parameters
    ----------
    n_samples : int, default=400
    noise : float, default=0.05
    seed : int, default=0
    n_classes : int, default=2
        Number of arms, at least 2.

    Returns
    -------
    DataSpec
        ``X`` of shape (n_samples, 2), ``y`` in {0, ..., n_classes - 1}.
    """
    if not is_int(n_classes):
        raise DataError(f"spirals: n_classes must be an int, got {n_classes!r}")
    if n_classes < 2:
        raise DataError(f"spirals: n_classes must be at least 2, got {n_classes}")
    _check_synthetic("spirals", n_samples, noise, seed, n_classes)
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % n_classes
    # Position along the arm, 0 at the centre and 1 at the tip, evenly spread within each arm.
    along = np.empty(n_samples)
    for k in range(n_classes):
        members = y == k
        along[members] = np.linspace(0.0, 1.0, int(members.sum()))
    radius = 0.1 + 0.9 * along
    theta = 2 * np.pi * (_SPIRAL_TURNS * along + y / n_classes)
    X = radius[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    X += noise * rng.standard_normal(X.shape)
    order = rng.permutation(n_samples)
    return _synthetic("spirals", X[order], y[order], n_samples, noise, seed)


# ------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class DatasetInfo:
    """One row of :data:`DATASETS`.

    Attributes
    ----------
    name : str
        The name ``load_dataset`` takes.
    loader : callable
        Returns a :class:`DataSpec`; its keyword arguments are the options.
    task : {'classification', 'regression'}
    description : str
        One line, for listings.
    needs_sklearn : bool
        Whether loading it imports scikit-learn.
    """

    name: str
    loader: Callable[..., DataSpec]
    task: str
    description: str
    needs_sklearn: bool

    def options(self) -> dict[str, Any]:
        """The loader's options and their defaults, e.g. ``{'n_samples': 400, ...}``."""
        params = inspect.signature(self.loader).parameters.values()
        return {p.name: p.default for p in params}


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "digits", load_digits, "classification",
            "8x8 handwritten digits: 1797 samples, 64 features, 10 classes", True,
        ),
        DatasetInfo(
            "iris", load_iris, "classification",
            "Fisher's iris flowers: 150 samples, 4 features, 3 classes", True,
        ),
        DatasetInfo(
            "wine", load_wine, "classification",
            "wine cultivars: 178 samples, 13 features, 3 classes", True,
        ),
        DatasetInfo(
            "breast_cancer", load_breast_cancer, "classification",
            "Wisconsin breast tumours: 569 samples, 30 features, 2 classes", True,
        ),
        DatasetInfo(
            "diabetes", load_diabetes, "regression",
            "diabetes progression: 442 samples, 10 features, a number to predict", True,
        ),
        DatasetInfo(
            "xor", make_xor, "classification",
            "noisy 2-D XOR: four Gaussian blobs, 2 classes (synthetic)", False,
        ),
        DatasetInfo(
            "moons", make_moons, "classification",
            "two interleaving half circles, 2 classes (synthetic)", True,
        ),
        DatasetInfo(
            "circles", make_circles, "classification",
            "a circle inside a circle, 2 classes (synthetic)", True,
        ),
        DatasetInfo(
            "spirals", make_spirals, "classification",
            "interleaved spirals, 2 or more classes (synthetic)", False,
        ),
        DatasetInfo(
            "mnist1d", load_mnist1d, "classification",
            "MNIST-1D digit sequences of length 40: 4000 train + 1000 test, 10 classes "
            "(needs the mnist1d package)", False,
        ),
    )
}  # fmt: skip


def available_datasets() -> list[str]:
    """The names :func:`load_dataset` knows, sorted."""
    return sorted(DATASETS)


def _check_options(what: str, function: Callable[..., Any], options: dict[str, Any]) -> None:
    params = inspect.signature(function).parameters
    allowed = [p for p, v in params.items() if v.kind is v.KEYWORD_ONLY or v.default is not v.empty]
    unknown = [k for k in options if k not in allowed]
    if unknown:
        accepted = ", ".join(allowed) if allowed else "no options"
        raise DataError(
            f"{what} does not take {', '.join(repr(k) for k in unknown)}; it takes: {accepted}"
        )


def _unknown_name(text: str) -> DataError:
    close = difflib.get_close_matches(text.lower(), DATASETS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    if "mnist" in text.lower():  # the one request we can answer with a pointer, not a name
        hint = (
            " MNIST and Fashion-MNIST are not bundled (no network is used): download their "
            "four IDX files into a folder and give the folder's path."
        )
    return DataError(
        f"unknown data set {text!r}; the available ones are: {', '.join(available_datasets())}."
        f"{hint} To read your own data, give the path of a .csv or .npz file or of a folder "
        "of MNIST-style IDX files."
    )


def load_dataset(
    name_or_path: PathLike, target: int | str | None = None, **kwargs: Any
) -> DataSpec:
    """Load a named data set, a CSV or ``.npz`` file, or a folder of IDX files.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A name from :data:`DATASETS` (``'digits'``, ``'iris'``, ``'wine'``,
        ``'breast_cancer'``, ``'diabetes'``, ``'xor'``, ``'moons'``,
        ``'circles'``, ``'spirals'``, ``'mnist1d'``; case and ``-``/``_`` are ignored), or a
        path: a folder is read as MNIST-style IDX files
        (:func:`read_idx_folder`), a ``.npz`` file by :func:`read_npz`, and any
        other file as CSV (:func:`read_csv`). A name wins over a file of the
        same name; write ``./iris`` for the file.
    target : str or int, optional
        The target column of a CSV file, by name or index; default the last.
    **kwargs
        Options of the loader: ``n_samples``, ``noise``, ``seed`` for the
        synthetic sets (and ``n_classes`` for ``spirals``); ``split`` for
        ``mnist1d``; ``delimiter``,
        ``header``, ``task`` for CSV; ``task`` for ``.npz``; ``split`` for IDX.

    Returns
    -------
    DataSpec

    Raises
    ------
    DataError
        For an unknown name (the message lists the available ones), a path that
        does not exist, an option the loader does not take, or a malformed file.
    """
    if isinstance(name_or_path, str):
        key = name_or_path.strip().lower().replace("-", "_")
        if key in DATASETS:
            info = DATASETS[key]
            if target is not None:
                raise DataError(
                    f"the {key!r} data set has a fixed target; target= is for CSV files"
                )
            _check_options(f"the {key!r} data set", info.loader, kwargs)
            return info.loader(**kwargs)
    path = Path(name_or_path)
    if path.is_dir():
        reader: Callable[..., DataSpec] = read_idx_folder
    elif path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npy":
            raise DataError(
                f"{path} is a .npy file, which holds one array; save the features and targets "
                "together with numpy.savez(path, X=features, y=targets)"
            )
        reader = read_npz if suffix == ".npz" else read_csv
    elif isinstance(name_or_path, str) and not any(c in name_or_path for c in "/\\."):
        raise _unknown_name(name_or_path)
    else:
        raise DataError(f"no such file or folder: {path}")
    if target is not None and reader is not read_csv:
        raise DataError(f"target= is for CSV files; {path} holds its targets separately")
    _check_options(f"reading {path}", reader, kwargs)
    if reader is read_csv:
        return read_csv(path, target, **kwargs)
    return reader(path, **kwargs)
