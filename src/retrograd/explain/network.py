"""The network explain steps through: its weights (given, seeded or the defaults) and modules."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn
from ..nn import activation as nn_activation
from ..options import lookup
from ..random import manual_seed
from .record import ExplainError

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_INPUT",
    "DEFAULT_TARGET",
    "DEFAULT_WEIGHTS",
    "build_network",
    "check_array",
    "default_network",
    "get_activation",
    "load_weights",
]

#: The default network, 2-2-1: ``{"layers": [{"weight": (out, in), "bias": (out,)}, ...]}``.
DEFAULT_WEIGHTS: dict[str, Any] = {
    "layers": [
        {"weight": [[0.50, -0.30], [0.20, 0.40]], "bias": [0.10, -0.10]},
        {"weight": [[0.60, -0.40]], "bias": [0.05]},
    ]
}
#: The default sample: XOR of (1, 0) is 1.
DEFAULT_INPUT = (1.0, 0.0)
DEFAULT_TARGET = 1.0

#: Activation names to module classes: the registry :data:`retrograd.nn.activation.ACTIVATIONS`.
ACTIVATIONS = nn_activation.ACTIVATIONS


def get_activation(name: str) -> type[nn.Module]:
    """The activation module class called ``name`` (:func:`retrograd.options.lookup`'s spelling).

    Raises
    ------
    TypeError
        For a name that is not a str.
    ValueError
        For a name that is not a key of :data:`ACTIVATIONS`.
    """
    return ACTIVATIONS[lookup(ACTIVATIONS, name, "activation")]


def check_array(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``value`` as a float64 array of ``shape`` with finite entries, or an ExplainError."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExplainError(f"{what} must hold numbers, got {value!r}") from None
    if arr.shape != shape:
        raise ExplainError(f"{what} has shape {arr.shape}, expected {shape}")
    if not np.isfinite(arr).all():
        raise ExplainError(f"{what} holds a value that is not finite")
    return arr


def _read_json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except OSError as e:
        raise ExplainError(f"cannot read the weights file: {e}") from None
    except ValueError as e:
        raise ExplainError(f"{path}: not valid JSON ({e})") from None


def _layer(layer: Any, i: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One ``{"weight": [[...]], "bias": [...]}`` entry as float64 arrays."""
    if not isinstance(layer, dict) or "weight" not in layer or "bias" not in layer:
        raise ExplainError(f'{where}layer {i} needs a "weight" and a "bias"')
    w = np.asarray(layer["weight"], dtype=object)
    if w.ndim != 2:
        raise ExplainError(
            f"{where}layer {i} weight must be a list of rows (out x in), got shape {w.shape}"
        )
    w = check_array(layer["weight"], w.shape, f"{where}layer {i} weight")
    b = check_array(layer["bias"], (w.shape[0],), f"{where}layer {i} bias")
    return w, b


def load_weights(obj: Any, sizes: Sequence[int] | None = None) -> list[tuple[np.ndarray, ...]]:
    """Weights and biases from ``{"layers": [{"weight": [[...]], "bias": [...]}, ...]}``.

    Parameters
    ----------
    obj : dict, str or Path
        The weights, or a JSON file holding them. ``weight`` is (out, in) as in
        ``nn.Linear``: one row per neuron of the layer.
    sizes : sequence of int, optional
        Layer widths, input first; when given, the shapes must match them.

    Returns
    -------
    list of (weight, bias)
        float64 arrays, input side first.

    Raises
    ------
    ExplainError
        For a file that is not JSON, a missing key, or shapes that do not chain.
    """
    where = ""
    if isinstance(obj, str | Path):
        where = f"{obj}: "
        obj = _read_json(obj)
    layers = obj.get("layers") if isinstance(obj, dict) else None
    if not isinstance(layers, list) or not layers:
        raise ExplainError(
            f'{where}expected {{"layers": [{{"weight": [[...]], "bias": [...]}}, ...]}}, '
            "one entry per layer, input side first"
        )
    out = []
    for i, layer in enumerate(layers, 1):
        w, b = _layer(layer, i, where)
        if out and out[-1][0].shape[0] != w.shape[1]:
            raise ExplainError(
                f"{where}layer {i} weight has {w.shape[1]} columns, but layer {i - 1} has "
                f"{out[-1][0].shape[0]} neurons"
            )
        out.append((w, b))
    if sizes is not None:
        got = [out[0][0].shape[1], *(w.shape[0] for w, _ in out)]
        if list(sizes) != got:
            raise ExplainError(
                f"{where}the weights are for layers {','.join(map(str, got))}, "
                f"but --layers is {','.join(map(str, sizes))}"
            )
    return out


def _seeded_weights(sizes: Sequence[int], seed: int) -> list[tuple[np.ndarray, ...]]:
    """PyTorch's default ``nn.Linear`` initialisation, seeded."""
    manual_seed(seed)
    out = []
    for n_in, n_out in itertools.pairwise(sizes):
        lin = nn.Linear(n_in, n_out, dtype=np.float64)
        out.append((lin.weight.array.copy(), lin.bias.array.copy()))
    return out


def default_network(
    sizes: Sequence[int] | None, seed: int | None, weights_file: str | Path | None
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """The weights explain uses, and a line that says where they came from.

    A weights file wins; then ``seed`` (PyTorch's default initialisation);
    then the fixed :data:`DEFAULT_WEIGHTS` for 2-2-1; other sizes without a
    seed use seed 0. Seeding reseeds retrograd's default generator
    (:func:`retrograd.manual_seed`), as ``build_mlp(seed=...)`` does.

    Parameters
    ----------
    sizes : sequence of int, optional
        Layer widths, input first; default ``(2, 2, 1)``.
    seed : int, optional
    weights_file : str or Path, optional
        A JSON file in the format of :func:`load_weights`.

    Returns
    -------
    weights : list of (weight, bias)
    source : str
    """
    if weights_file is not None:
        return load_weights(weights_file, sizes), f"from {weights_file}"
    sizes = [2, 2, 1] if sizes is None else list(sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ExplainError(f"--layers needs >= 2 positive sizes such as 2,2,1, got {sizes}")
    if seed is None and sizes == [2, 2, 1]:
        return load_weights(DEFAULT_WEIGHTS), "the fixed defaults (docs/explain.md)"
    seed = 0 if seed is None else seed
    return _seeded_weights(sizes, seed), f"nn.Linear's default initialisation, seed {seed}"


def build_network(
    weights: Sequence[tuple[np.ndarray, np.ndarray]], activations: Sequence[str]
) -> nn.Sequential:
    """A float64 ``nn.Sequential`` of ``Linear`` and activation modules with these weights.

    Parameters
    ----------
    weights : sequence of (weight (out, in), bias (out,))
    activations : sequence of str
        One key of :data:`ACTIVATIONS` per layer, or ``'softmax'`` (the
        cross-entropy output: no module, see :func:`~retrograd.explain.explain_step`).
    """
    modules: list[nn.Module] = []
    for (w, b), act in zip(weights, activations, strict=True):
        lin = nn.Linear(w.shape[1], w.shape[0], dtype=np.float64)
        lin.weight.array[...] = w
        lin.bias.array[...] = b
        modules.append(lin)
        modules.append(nn.Identity() if act == "softmax" else get_activation(act)())
    return nn.Sequential(*modules)
