"""One training step of a real network, shown number by number.

:func:`explain_step` runs one step of gradient descent on one sample with the
engine itself (the same ``nn.Linear`` forward, loss modules, ``backward()`` and
``optim.SGD`` that training uses) and records every number of it: each neuron's
weighted sum ``z = sum(w_i * x_i) + b`` and activation ``a = f(z)``, the loss,
the error signals ``delta = dL/dz`` layer by layer from the output back, every
``dL/dw = delta * a_prev`` beside its central finite-difference estimate, and
the update ``w_new = w_old - eta * dL/dw``. :func:`render` writes the record as
text, Markdown or a self-contained HTML page (with an SVG drawing of the network).
``retrograd explain`` on the command line is this module; see ``docs/explain.md``.

The steps and the notation are the textbook's: forward pass, loss, backward pass
by the chain rule ``dL/dw = dL/dy_pred * dy_pred/dz * dz/dw``, gradient descent,
repeat.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import nn, optim
from .autograd import no_grad
from .pipeline import ACTIVATIONS, get_activation
from .random import manual_seed
from .tensor import Tensor

__all__ = [
    "DEFAULT_INPUT",
    "DEFAULT_WEIGHTS",
    "ExplainError",
    "Explanation",
    "LayerStep",
    "build_network",
    "explain_model",
    "explain_step",
    "load_weights",
    "render",
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

LOSS_NAMES = ("mse", "cross-entropy")
FORMATS = ("text", "markdown", "html")
MAX_NEURONS = 6  # neurons shown per layer; larger layers are summarised
MAX_TERMS = 6  # terms w_i * x_i written out per weighted sum
FD_EPS = 1e-6  # central differences in float64
AGREE_RTOL = 1e-5
SPARK = "▁▂▃▄▅▆▇█"


class ExplainError(ValueError):
    """A user error in the explain inputs (sizes, weights file, sample)."""


# ---------------------------------------------------------------- the record


@dataclass
class LayerStep:
    """Every number of one layer in one step (arrays over the layer's neurons).

    ``weight`` is (out, in) as in ``nn.Linear``; ``inputs`` is the previous
    layer's activation (the input x for the first layer). ``grad_a`` is the
    gradient arriving from above, ``dadz`` the activation's derivative f'(z)
    and ``delta = dL/dz``; ``fd_*`` are the central finite-difference estimates.
    """

    index: int
    activation: str
    inputs: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    z: np.ndarray
    a: np.ndarray
    grad_a: np.ndarray
    dadz: np.ndarray | None
    delta: np.ndarray
    grad_weight: np.ndarray
    grad_bias: np.ndarray
    fd_weight: np.ndarray
    fd_bias: np.ndarray
    new_weight: np.ndarray
    new_bias: np.ndarray
    is_output: bool = False

    @property
    def size(self) -> int:
        """The number of neurons."""
        return len(self.z)

    @property
    def shown(self) -> int:
        """The number of neurons written out (the first :data:`MAX_NEURONS`)."""
        return min(self.size, MAX_NEURONS)


@dataclass
class Explanation:
    """One training step, recorded: what :func:`explain_step` returns.

    Attributes
    ----------
    layers : list of LayerStep
        Input side first.
    x, target : numpy.ndarray
        The sample: features (n_in,) and target ((n_out,) values for MSE, a
        class index for cross-entropy).
    loss_name : {'mse', 'cross-entropy'}
    loss, loss_after : float
        The loss before and after the update, on the same sample.
    grad_y : numpy.ndarray
        The gradient of the loss with respect to y_pred (the output activation).
    lr : float
    history : list of float
        The loss after each step of ``steps`` (the first is ``loss_after``).
    steps : int
        The most steps asked for; the repeat stops early below ``tol``.
    tol : float
    source : str
        Where the weights came from.
    input_names, class_names : list of str, optional
    graph_dot : str, optional
        The computational graph of the loss (:func:`retrograd.viz.draw_graph`).
    graph_svg, graph_note : str, optional
        The graph drawn as SVG for the HTML page, or why it could not be drawn.
    notes : list of str
        Extra lines for the report's head (how a saved model's row was scaled).
    """

    layers: list[LayerStep]
    x: np.ndarray
    target: np.ndarray
    loss_name: str
    loss: float
    loss_after: float
    grad_y: np.ndarray
    lr: float
    history: list[float] = field(default_factory=list)
    steps: int = 1
    tol: float = 0.0
    source: str = ""
    input_names: list[str] | None = None
    class_names: list[str] | None = None
    graph_dot: str | None = None
    graph_svg: str | None = None
    graph_note: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def sizes(self) -> list[int]:
        """Layer widths, input first: ``[2, 2, 1]`` for the default network."""
        return [len(self.x), *(layer.size for layer in self.layers)]

    @property
    def y_pred(self) -> np.ndarray:
        """The network's output activation."""
        return self.layers[-1].a


# ---------------------------------------------------------------- inputs


def _check_array(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExplainError(f"{what} must hold numbers, got {value!r}") from None
    if arr.shape != shape:
        raise ExplainError(f"{what} has shape {arr.shape}, expected {shape}")
    if not np.isfinite(arr).all():
        raise ExplainError(f"{what} holds a value that is not finite")
    return arr


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
        try:
            obj = json.loads(Path(obj).read_text())
        except OSError as e:
            raise ExplainError(f"cannot read the weights file: {e}") from None
        except ValueError as e:
            raise ExplainError(f"{where}not valid JSON ({e})") from None
    layers = obj.get("layers") if isinstance(obj, dict) else None
    if not isinstance(layers, list) or not layers:
        raise ExplainError(
            f'{where}expected {{"layers": [{{"weight": [[...]], "bias": [...]}}, ...]}}, '
            "one entry per layer, input side first"
        )
    out = []
    for i, layer in enumerate(layers, 1):
        if not isinstance(layer, dict) or "weight" not in layer or "bias" not in layer:
            raise ExplainError(f'{where}layer {i} needs a "weight" and a "bias"')
        w = np.asarray(layer["weight"], dtype=object)
        if w.ndim != 2:
            raise ExplainError(
                f"{where}layer {i} weight must be a list of rows (out x in), got shape {w.shape}"
            )
        w = _check_array(layer["weight"], w.shape, f"{where}layer {i} weight")
        b = _check_array(layer["bias"], (w.shape[0],), f"{where}layer {i} bias")
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
        out.append((lin.weight.data.copy(), lin.bias.data.copy()))
    return out


def build_network(
    weights: Sequence[tuple[np.ndarray, np.ndarray]], activations: Sequence[str]
) -> nn.Sequential:
    """A float64 ``nn.Sequential`` of ``Linear`` and activation modules with these weights.

    Parameters
    ----------
    weights : sequence of (weight (out, in), bias (out,))
    activations : sequence of str
        One key of :data:`retrograd.pipeline.ACTIVATIONS` per layer, or
        ``'softmax'`` (the cross-entropy output: no module, see :func:`explain_step`).
    """
    modules: list[nn.Module] = []
    for (w, b), act in zip(weights, activations, strict=True):
        lin = nn.Linear(w.shape[1], w.shape[0], dtype=np.float64)
        lin.weight.data[...] = w
        lin.bias.data[...] = b
        modules.append(lin)
        modules.append(nn.Identity() if act == "softmax" else get_activation(act)())
    return nn.Sequential(*modules)


# ---------------------------------------------------------------- the step, by the engine


def _forward(net: nn.Sequential, x: np.ndarray, softmax_out: bool) -> list[tuple[Tensor, Tensor]]:
    """(z, a) per layer, each a tensor of shape (1, out) that will keep its gradient."""
    h = Tensor(x[None, :].copy())
    mods = list(net.children())
    out = []
    for lin, act in zip(mods[0::2], mods[1::2], strict=True):
        z = lin(h)
        a = z.softmax(dim=1) if softmax_out and lin is mods[-2] else act(z)
        out.append((z, a))
        h = a
    return out


def _loss(a_out: Tensor, target: np.ndarray, loss_name: str) -> Tensor:
    if loss_name == "mse":
        return nn.MSELoss()(a_out, Tensor(target[None, :].copy()))
    # cross-entropy = negative log-likelihood of the softmax output, so that y_pred = softmax(z)
    # is a tensor of its own in the graph and dL/dy_pred can be read from it
    return nn.NLLLoss()(a_out.log(), Tensor(np.asarray([int(target[0])], dtype=np.int64)))


def _loss_value(net: nn.Sequential, x: np.ndarray, target: np.ndarray, loss_name: str) -> float:
    with no_grad():
        return float(_loss(_forward(net, x, loss_name != "mse")[-1][1], target, loss_name).item())


def _derivative(act: nn.Module, z: np.ndarray) -> np.ndarray:
    """f'(z) of an elementwise activation, by the engine's own backward."""
    zt = Tensor(z.copy(), requires_grad=True)
    act(zt).sum().backward()
    assert zt.grad is not None
    return zt.grad.data


def _finite_differences(
    net: nn.Sequential, x: np.ndarray, target: np.ndarray, loss_name: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Central differences (L(w + eps) - L(w - eps)) / 2 eps of the shown weights and biases."""
    out = []
    for lin in list(net.children())[0::2]:
        fds = []
        for p in (lin.weight, lin.bias):
            fd = np.full(p.shape, np.nan)
            rows = min(p.shape[0], MAX_NEURONS)
            for idx in np.ndindex(rows, *p.shape[1:]):
                if len(idx) == 2 and idx[1] >= MAX_TERMS:
                    continue  # only the weights that are written out
                old = p.data[idx]
                p.data[idx] = old + FD_EPS
                up = _loss_value(net, x, target, loss_name)
                p.data[idx] = old - FD_EPS
                down = _loss_value(net, x, target, loss_name)
                p.data[idx] = old
                fd[idx] = (up - down) / (2 * FD_EPS)
            fds.append(fd)
        out.append((fds[0], fds[1]))
    return out


def explain_step(
    weights: Sequence[tuple[np.ndarray, np.ndarray]],
    x: Sequence[float] | np.ndarray,
    target: Sequence[float] | np.ndarray | float,
    activation: str = "sigmoid",
    loss: str = "mse",
    lr: float = 0.5,
    steps: int = 1,
    tol: float = 0.0,
    output_activation: str | None = None,
    source: str = "",
    graph: bool = False,
) -> Explanation:
    """Run one step of gradient descent on one sample and record every number.

    The forward pass is the real ``nn.Sequential`` (float64), module by module so
    that each z and a is a tensor with ``retain_grad()``; the loss is
    ``nn.MSELoss`` or the negative log-likelihood of the softmax output
    (cross-entropy); ``loss.backward()`` gives delta = dL/dz and the gradients;
    ``optim.SGD(lr)`` applies ``w_new = w_old - lr * dL/dw``. The finite
    differences are the independent check.

    Parameters
    ----------
    weights : sequence of (weight (out, in), bias (out,))
        Input side first (see :func:`load_weights`).
    x : array-like of shape (n_in,)
    target : float or array-like
        MSE: the target values, shape (n_out,). Cross-entropy: a class index.
    activation : str, default='sigmoid'
        The hidden layers' activation, a key of :data:`retrograd.pipeline.ACTIVATIONS`.
    loss : {'mse', 'cross-entropy'}, default='mse'
        Cross-entropy puts a softmax on the output layer and needs >= 2 outputs.
    lr : float, default=0.5
        The learning rate eta.
    steps : int, default=1
        Steps of the repeat; the loss after each is in ``history``. The repeat
        ends early once the loss falls below ``tol``.
    tol : float, default=0.0
    output_activation : str, optional
        The output layer's activation for MSE; default: ``activation``.
    source : str, default=''
        Where the weights came from, for the report.
    graph : bool, default=False
        Also record the computational graph of the loss as DOT text
        (:func:`retrograd.viz.draw_graph`, drawn after backward).

    Returns
    -------
    Explanation
    """
    if loss not in LOSS_NAMES:
        raise ExplainError(f"unknown loss {loss!r}; expected one of {', '.join(LOSS_NAMES)}")
    try:
        get_activation(activation)
        if output_activation is not None:
            get_activation(output_activation)
    except ValueError as e:
        raise ExplainError(str(e)) from None
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
        raise ExplainError(f"the learning rate must be a number > 0, got {lr!r}")
    if steps < 1:
        raise ExplainError(f"--steps must be >= 1, got {steps}")
    weights = [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in weights]
    n_in, n_out = weights[0][0].shape[1], weights[-1][0].shape[0]
    x = _check_array(x, (n_in,), f"the input (the network has {n_in} inputs)")
    if loss == "mse":
        target = _check_array(
            np.broadcast_to(np.asarray(target, dtype=object), (n_out,)) if np.ndim(target) == 0
            else target,
            (n_out,),
            f"the target (the network has {n_out} output{'s' * (n_out != 1)})",
        )  # fmt: skip
        out_act = output_activation or activation
    else:
        if n_out < 2:
            raise ExplainError(
                "cross-entropy needs an output layer of >= 2 neurons (one per class, softmax); "
                "use --layers with 2 or more outputs, or --loss mse"
            )
        t = np.asarray(target, dtype=np.float64).reshape(-1)
        if t.size != 1 or t[0] != int(t[0]) or not 0 <= t[0] < n_out:
            raise ExplainError(
                f"with cross-entropy the target is one class index in 0..{n_out - 1}, "
                f"got {target!r}"
            )
        target = t
        out_act = "softmax"
    acts = [activation] * (len(weights) - 1) + [out_act]
    net = build_network(weights, acts)
    softmax_out = loss != "mse"

    # 1-3: forward, loss, backward, all by the engine
    pairs = _forward(net, x, softmax_out)
    for z, a in pairs:
        z.retain_grad()
        a.retain_grad()
    loss_t = _loss(pairs[-1][1], target, loss)
    loss_t.backward(retain_graph=graph)
    graph_dot = None
    if graph:  # drawn after backward, so that it shows the gradients
        from .viz import draw_graph

        graph_dot = str(draw_graph(loss_t, names=net))
    fds = _finite_differences(net, x, target, loss)

    mods = list(net.children())
    layers = []
    for i, ((z, a), lin, act) in enumerate(zip(pairs, mods[0::2], mods[1::2], strict=True)):
        assert z.grad is not None and a.grad is not None
        assert lin.weight.grad is not None and lin.bias.grad is not None
        is_out = i == len(pairs) - 1
        layers.append(
            LayerStep(
                index=i + 1,
                activation=acts[i],
                inputs=x if i == 0 else pairs[i - 1][1].data[0].copy(),
                weight=lin.weight.data.copy(),
                bias=lin.bias.data.copy(),
                z=z.data[0].copy(),
                a=a.data[0].copy(),
                grad_a=a.grad.data[0].copy(),
                dadz=None if (is_out and softmax_out) else _derivative(act, z.data[0]),
                delta=z.grad.data[0].copy(),
                grad_weight=lin.weight.grad.data.copy(),
                grad_bias=lin.bias.grad.data.copy(),
                fd_weight=fds[i][0],
                fd_bias=fds[i][1],
                new_weight=lin.weight.data.copy(),
                new_bias=lin.bias.data.copy(),
                is_output=is_out,
            )
        )

    # 4: the update, by the optimizer training uses
    opt = optim.SGD(net.parameters(), lr=lr)
    opt.step()
    for layer, lin in zip(layers, mods[0::2], strict=True):
        layer.new_weight = lin.weight.data.copy()
        layer.new_bias = lin.bias.data.copy()

    # 5-6: the loss after, and the repeat
    history = [_loss_value(net, x, target, loss)]
    while len(history) < steps and history[-1] >= tol:
        opt.zero_grad()
        _loss(_forward(net, x, softmax_out)[-1][1], target, loss).backward()
        opt.step()
        history.append(_loss_value(net, x, target, loss))
    return Explanation(
        layers=layers,
        x=x,
        target=target,
        loss_name=loss,
        loss=float(loss_t.item()),
        loss_after=history[0],
        grad_y=layers[-1].grad_a,
        lr=float(lr),
        history=history,
        steps=steps,
        tol=tol,
        source=source,
        graph_dot=graph_dot,
    )


def explain_model(
    trained: Any, x: np.ndarray, y: np.ndarray, sample: int, lr: float = 0.5, **kwargs: Any
) -> Explanation:
    """Explain one step of a saved :class:`~retrograd.pipeline.TrainedModel` on one row.

    The row goes through the model's preprocessing (its standardizer; its label
    encoder or target scaler); the loss is the one it was trained with in kind:
    cross-entropy on the logits for a classifier, MSE for a regressor. Only
    plain chains of ``Linear`` layers and activations are supported.

    Parameters
    ----------
    trained : TrainedModel
    x : numpy.ndarray of shape (n_samples, n_features)
        The data set's features, unscaled.
    y : numpy.ndarray of shape (n_samples,)
    sample : int
        The row, 0-based.
    lr : float, default=0.5
    **kwargs
        Passed to :func:`explain_step` (``steps``, ``tol``).
    """
    if not 0 <= sample < len(x):
        raise ExplainError(f"--sample {sample} is out of range: the data has rows 0..{len(x) - 1}")
    names = {cls: name for name, cls in ACTIVATIONS.items()}
    weights: list[tuple[np.ndarray, np.ndarray]] = []
    acts: list[str] = []
    for module in trained.network.modules():
        if module is trained.network or isinstance(module, nn.Sequential | nn.Dropout):
            continue
        if isinstance(module, nn.Linear):
            if module.bias is None:
                raise ExplainError("explain needs Linear layers with a bias")
            weights.append((module.weight.data.astype(np.float64), module.bias.data.astype(float)))
            acts.append("identity")
        elif type(module) in names and weights:
            acts[-1] = names[type(module)]
        else:
            raise ExplainError(
                "explain handles networks of Linear layers and activations; this model has "
                f"{type(module).__name__}"
            )
    row = trained.standardizer.transform(np.asarray(x[sample : sample + 1], dtype=np.float64))[0]
    hidden = acts[0] if len(acts) > 1 else "identity"
    if trained.task == "classification":
        target = trained.label_encoder.transform(np.asarray([y[sample]]))
        exp = explain_step(weights, row, target, hidden, "cross-entropy", lr, **kwargs)
        exp.class_names = [str(c) for c in trained.classes]
    else:
        target = trained.target_scaler.transform(np.asarray([[y[sample]]], dtype=np.float64))[0]
        exp = explain_step(
            weights, row, target, hidden, "mse", lr, output_activation="identity", **kwargs
        )
    exp.input_names = [str(n) for n in trained.feature_names]
    exp.notes.append("the features are standardized by the model's standardizer, as in training")
    if trained.task != "classification":
        exp.notes.append("the target is standardized by the model's target scaler, as in training")
    return exp


# ---------------------------------------------------------------- numbers as text


def num(v: float) -> str:
    """A computed number as explain prints it: 4 decimals, or scientific when tiny or huge."""
    v = float(v)
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.4f}"
    return f"{v:.3e}"


def val(v: float) -> str:
    """A given number (a weight, an input): 2 decimals when that is exact, else as :func:`num`."""
    v = float(v)
    if abs(v - round(v, 2)) < 1e-12 and abs(v) < 1e4:
        return f"{v:.2f}"
    return num(v)


def par(v: float) -> str:
    """A factor in a product: as :func:`val`, negative numbers in parentheses, ``(-0.30)``."""
    s = val(v)
    return f"({s})" if s.startswith("-") else s


def _sum_terms(ws: np.ndarray, xs: np.ndarray) -> str:
    terms = [f"{par(w)}*{par(x)}" for w, x in zip(ws[:MAX_TERMS], xs[:MAX_TERMS], strict=True)]
    if len(ws) > MAX_TERMS:
        terms.append(f"... ({len(ws) - MAX_TERMS} more terms)")
    return " + ".join(terms)


def _agree(g: float, fd: float) -> str:
    rel = abs(g - fd) / max(abs(g), abs(fd), 1e-8)
    verdict = "agree" if rel < AGREE_RTOL or abs(g - fd) < 1e-9 else "DISAGREE"
    return f"finite difference {num(fd)}, {verdict} (rel. diff {rel:.1e})"


def _sparkline(values: Sequence[float], width: int = 40) -> str:
    vals = np.asarray(values, dtype=np.float64)
    if len(vals) > width:
        vals = vals[np.linspace(0, len(vals) - 1, width).round().astype(int)]
    lo, hi = float(vals.min()), float(vals.max())
    if hi - lo < 1e-15:
        return SPARK[0] * len(vals)
    idx = ((vals - lo) / (hi - lo) * (len(SPARK) - 1)).round().astype(int)
    return "".join(SPARK[i] for i in idx)


def _history_rows(exp: Explanation, max_rows: int = 12) -> list[tuple[int, float]]:
    n = len(exp.history)
    rows = list(range(n))
    if n > max_rows:
        rows = sorted(set(np.linspace(0, n - 1, max_rows).round().astype(int).tolist()))
    return [(i + 1, exp.history[i]) for i in rows]


def _names(names: Sequence[str]) -> str:
    return ", ".join(names[:MAX_TERMS]) + (", ..." if len(names) > MAX_TERMS else "")


def sections(exp: Explanation) -> list[tuple[str, list[str]]]:
    """The explanation as (heading, lines): the content that every format renders."""
    sizes = exp.sizes
    act_desc = " -> ".join(
        [f"{sizes[0]} inputs"] + [f"{layer.size} {layer.activation}" for layer in exp.layers]
    )
    names = exp.input_names
    xs = ", ".join(val(v) for v in exp.x[:MAX_TERMS]) + (", ..." if len(exp.x) > MAX_TERMS else "")
    out: list[tuple[str, list[str]]] = []
    head = [
        f"network   {act_desc}",
        f"weights   {exp.source}" if exp.source else "",
        f"input     x = [{xs}]" + (f"  ({_names(names)})" if names else ""),
    ]
    if exp.loss_name == "mse":
        head.append("target    y_true = [" + ", ".join(val(t) for t in exp.target) + "]")
        head.append(f"loss      mean squared error, learning rate eta = {val(exp.lr)}")
    else:
        k = int(exp.target[0])
        label = f" ({exp.class_names[k]})" if exp.class_names else ""
        head.append(f"target    class {k}{label}: output neuron {k + 1} should be 1")
        head.append(f"loss      cross-entropy (softmax output), learning rate eta = {val(exp.lr)}")
    head += [f"note      {note}" for note in exp.notes]
    big = [layer.index for layer in exp.layers if layer.size > MAX_NEURONS]
    if big or len(exp.x) > MAX_TERMS:
        head.append(
            f"note      large layers are summarised: the first {MAX_NEURONS} neurons of each "
            f"layer and the first {MAX_TERMS} terms of each sum are written out"
        )
    out.append(("retrograd explain: one training step, number by number", [h for h in head if h]))

    # 1. forward
    lines = ["Each neuron: z = sum(w_i * x_i) + b, then a = f(z)."]
    for layer in exp.layers:
        kind = "output" if layer.is_output else "hidden"
        more = f", first {layer.shown} of {layer.size} neurons" if layer.shown < layer.size else ""
        lines.append(f"layer {layer.index} ({kind}, {layer.activation}{more})")
        for j in range(layer.shown):
            terms = _sum_terms(layer.weight[j], layer.inputs)
            lines.append(
                f"  neuron {j + 1}: z = {terms} + {par(layer.bias[j])} = {num(layer.z[j])}"
            )
            if layer.activation == "softmax":
                lines.append(
                    f"            a = softmax(z)_{j + 1} = exp(z_{j + 1}) / sum_k exp(z_k) "
                    f"= {num(layer.a[j])}"
                )
            else:
                lines.append(
                    f"            a = {layer.activation}({num(layer.z[j])}) = {num(layer.a[j])}"
                )
    yp = ", ".join(num(v) for v in exp.y_pred[:MAX_NEURONS])
    lines.append(f"y_pred = [{yp}{', ...' if len(exp.y_pred) > MAX_NEURONS else ''}]")
    out.append(("1. Forward pass", lines))

    # 2. loss
    if exp.loss_name == "mse":
        n = len(exp.target)
        terms = " + ".join(
            f"({num(p)} - {val(t)})^2" for p, t in zip(exp.y_pred, exp.target, strict=True)
        )
        lines = [
            f"L = Loss(y_true, y_pred) = mean((y_pred - y_true)^2) = ({terms}) / {n} "
            f"= {num(exp.loss)}"
        ]
    else:
        k = int(exp.target[0])
        lines = [
            f"L = Loss(y_true, y_pred) = -log(y_pred_{k + 1}) = -log({num(exp.y_pred[k])}) "
            f"= {num(exp.loss)}"
        ]
    out.append(("2. Loss", lines))

    # 3. backward
    lines = ["Chain rule, output layer first: dL/dw = dL/dy_pred * dy_pred/dz * dz/dw."]
    if exp.loss_name == "mse":
        n = len(exp.target)
        for j in range(min(len(exp.target), MAX_NEURONS)):
            lines.append(
                f"dL/dy_pred_{j + 1} = 2*(y_pred - y_true)/{n} = "
                f"2*({num(exp.y_pred[j])} - {val(exp.target[j])})/{n} = {num(exp.grad_y[j])}"
            )
    else:
        k = int(exp.target[0])
        lines.append(
            f"dL/dy_pred_{k + 1} = -1/y_pred_{k + 1} = -1/{num(exp.y_pred[k])} "
            f"= {num(exp.grad_y[k])} (0 for the other classes)"
        )
    upper: LayerStep | None = None
    for layer in reversed(exp.layers):
        kind = "output" if layer.is_output else "hidden"
        lines.append(f"layer {layer.index} ({kind}): error signal delta = dL/dz")
        for j in range(layer.shown):
            if upper is not None:
                terms = " + ".join(
                    f"{par(upper.weight[k, j])}*{par(upper.delta[k])}"
                    for k in range(min(upper.size, MAX_TERMS))
                )
                if upper.size > MAX_TERMS:
                    terms += f" + ... ({upper.size - MAX_TERMS} more terms)"
                lines.append(
                    f"  neuron {j + 1}: dL/da = sum_k w_k{j + 1} * delta_k = {terms} "
                    f"= {num(layer.grad_a[j])}"
                )
            if layer.dadz is None:
                onehot = 1.0 if j == int(exp.target[0]) else 0.0
                lines.append(
                    f"  neuron {j + 1}: delta = dL/dz = y_pred - y_true "
                    f"= {num(layer.a[j])} - {val(onehot)} = {num(layer.delta[j])}"
                )
            else:
                what = "dL/dy_pred * dy_pred/dz" if layer.is_output else "dL/da * f'(z)"
                lead = f"  neuron {j + 1}: " if upper is None else " " * 12
                lines.append(
                    f"{lead}delta = {what} = {par(layer.grad_a[j])} * "
                    f"{layer.activation}'({num(layer.z[j])}) = {par(layer.grad_a[j])}*"
                    f"{par(layer.dadz[j])} = {num(layer.delta[j])}"
                )
            for i in range(min(layer.weight.shape[1], MAX_TERMS)):
                lines.append(
                    f"    dL/dw{j + 1}{i + 1} = delta * a_prev = {par(layer.delta[j])}*"
                    f"{par(layer.inputs[i])} = {num(layer.grad_weight[j, i])}   "
                    + _agree(layer.grad_weight[j, i], layer.fd_weight[j, i])
                )
            lines.append(
                f"    dL/db{j + 1} = delta = {num(layer.grad_bias[j])}   "
                + _agree(layer.grad_bias[j], layer.fd_bias[j])
            )
        upper = layer
    out.append(("3. Backward pass", lines))

    # 4. update
    lines = [f"Gradient descent: w_new = w_old - eta * dL/dw, eta = {val(exp.lr)}."]
    for layer in exp.layers:
        lines.append(f"layer {layer.index}")
        for j in range(layer.shown):
            for i in range(min(layer.weight.shape[1], MAX_TERMS)):
                lines.append(
                    f"  w{j + 1}{i + 1} = {val(layer.weight[j, i])} - {val(exp.lr)}*"
                    f"{par(layer.grad_weight[j, i])} = {num(layer.new_weight[j, i])}"
                )
            lines.append(
                f"  b{j + 1} = {val(layer.bias[j])} - {val(exp.lr)}*{par(layer.grad_bias[j])} "
                f"= {num(layer.new_bias[j])}"
            )
    out.append(("4. Update", lines))

    # 5. after
    change = exp.loss_after - exp.loss
    verdict = "went down" if change < 0 else "did NOT go down (try a smaller --lr)"
    lines = [
        f"L after the update = {num(exp.loss_after)} (before: {num(exp.loss)}); "
        f"the loss {verdict} by {num(abs(change))}"
    ]
    out.append(("5. Loss after the update", lines))

    # 6. repeat
    if exp.steps > 1:
        lines = ["Repeat: forward pass, loss, backward pass, update.", "step  loss"]
        lines += [f"{step:>4}  {num(value)}" for step, value in _history_rows(exp)]
        lines.append(f"loss  {_sparkline(exp.history)}")
        final = exp.history[-1]
        n = len(exp.history)
        if final < exp.tol:
            lines.append(
                f"stopped after {n} step{'s' * (n != 1)}: the loss fell below --tol {exp.tol:g}"
            )
        else:
            lines.append(f"{n} step{'s' * (n != 1)}; the loss is {num(final)}")
        out.append(("6. Repeat", lines))
    if exp.graph_dot is not None:
        out.append(("Computational graph of the loss (Graphviz DOT)", exp.graph_dot.splitlines()))
    return out


# ---------------------------------------------------------------- renderers


def render_text(exp: Explanation) -> str:
    """The plain-text report."""
    parts = []
    for title, lines in sections(exp):
        parts.append("\n".join([title, *lines]))
    return "\n\n".join(parts) + "\n"


def render_markdown(exp: Explanation) -> str:
    """The report as Markdown: a heading and a code block per step, the repeat as a table."""
    parts = []
    for i, (title, lines) in enumerate(sections(exp)):
        level = "#" if i == 0 else "##"
        if title == "6. Repeat":
            rows = _history_rows(exp)
            table = ["| step | loss |", "|---:|---:|", *(f"| {s} | {num(v)} |" for s, v in rows)]
            spark, final = lines[2 + len(rows) :]
            text = [lines[0], "\n".join(table), f"loss: `{spark[6:]}`", final]
            parts.append(f"{level} {title}\n\n" + "\n\n".join(text))
            continue
        fence = "dot" if title.startswith("Computational") else "text"
        parts.append(f"{level} {title}\n\n```{fence}\n" + "\n".join(lines) + "\n```")
    return "\n\n".join(parts) + "\n"


_HALO = 'stroke="white" stroke-width="4" paint-order="stroke"'  # labels readable over lines


def _network_svg(exp: Explanation) -> str:
    """The network as SVG: a column of neurons per layer, each with z and a; each
    connection labelled with its weight and gradient."""
    cols = [min(len(exp.x), MAX_TERMS)] + [layer.shown for layer in exp.layers]
    gap_x, gap_y, r = 240, 110, 34
    width = gap_x * (len(cols) - 1) + 200
    height = gap_y * max(cols) + 60

    def pos(c: int, j: int) -> tuple[float, float]:
        return 100 + c * gap_x, 50 + (j + 0.5) * gap_y + (max(cols) - cols[c]) * gap_y / 2

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">',
    ]
    for c, layer in enumerate(exp.layers, start=1):
        for j in range(cols[c]):
            for i in range(cols[c - 1]):
                (x1, y1), (x2, y2) = pos(c - 1, i), pos(c, j)
                g = layer.grad_weight[j, i]
                color = "#c0392b" if g > 0 else "#2471a3" if g < 0 else "#999999"
                parts.append(
                    f'<line x1="{x1 + r}" y1="{y1}" x2="{x2 - r}" y2="{y2}" stroke="{color}" '
                    f'stroke-width="{1 + min(3.0, 20 * abs(g)):.1f}"/>'
                )
                tx, ty = x1 + r + (x2 - x1 - 2 * r) * 0.3, y1 + (y2 - y1) * 0.3 - 4
                parts.append(
                    f'<text x="{tx:.0f}" y="{ty:.0f}" {_HALO}>'
                    f"w={val(layer.weight[j, i])} g={num(g)}</text>"
                )
    titles = ["input"] + [f"layer {layer.index} ({layer.activation})" for layer in exp.layers]
    for c, title in enumerate(titles):
        parts.append(
            f'<text x="{pos(c, 0)[0]}" y="20" text-anchor="middle" font-weight="bold">'
            f"{html.escape(title)}</text>"
        )
    for c, n in enumerate(cols):
        for j in range(n):
            x, y = pos(c, j)
            parts.append(f'<circle cx="{x}" cy="{y}" r="{r}" fill="#fdfefe" stroke="#17202a"/>')
            if c == 0:
                label = [f"x{j + 1}", val(exp.x[j])]
            else:
                layer = exp.layers[c - 1]
                label = [f"z={num(layer.z[j])}", f"a={num(layer.a[j])}"]
            parts.append(
                f'<text x="{x}" y="{y - 3}" text-anchor="middle">{html.escape(label[0])}</text>'
            )
            parts.append(
                f'<text x="{x}" y="{y + 11}" text-anchor="middle">{html.escape(label[1])}</text>'
            )
    for c, total in enumerate([len(exp.x)] + [layer.size for layer in exp.layers]):
        if cols[c] < total:
            x, y = pos(c, cols[c] - 1)
            parts.append(
                f'<text x="{x}" y="{y + r + 16}" text-anchor="middle">'
                f"... {total - cols[c]} more</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _curve_svg(values: Sequence[float]) -> str:
    """The loss after each step as an SVG line chart."""
    w, h, m = 480, 200, 40
    v = np.asarray(values, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo or 1.0
    xs = m + (w - 2 * m) * np.arange(len(v)) / max(1, len(v) - 1)
    ys = h - m - (h - 2 * m) * (v - lo) / span
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'font-family="monospace" font-size="11">'
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>'
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>'
        f'<polyline fill="none" stroke="#2471a3" stroke-width="2" points="{points}"/>'
        f'<text x="{m}" y="{m - 8}">loss {num(hi)}</text>'
        f'<text x="{m}" y="{h - m + 16}">{num(lo)}</text>'
        f'<text x="{w - m}" y="{h - m + 16}" text-anchor="end">step {len(v)}</text>'
        "</svg>"
    )


_CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:1200px}"
    "pre{background:#f4f6f6;padding:.8em;overflow-x:auto;font-size:13px}"
    ".row{display:flex;gap:2em;align-items:flex-start;flex-wrap:wrap}"
)


def render_html(exp: Explanation) -> str:
    """A self-contained HTML page: the network drawn in SVG beside the equations,
    the loss curve of the repeat, and the computational graph."""
    secs = sections(exp)
    body = [f"<h1>{html.escape(secs[0][0])}</h1>", "<pre>" + html.escape("\n".join(secs[0][1]))]
    body[-1] += "</pre>"
    body.append('<div class="row"><div>')
    body.append("<h2>The network</h2>")
    body.append(
        "<p>Each neuron shows z and a; each connection its weight w and gradient "
        "g = dL/dw (red: positive, blue: negative).</p>"
    )
    body.append(_network_svg(exp))
    body.append("</div><div>")
    for title, lines in secs[1:]:
        body.append(f"<h2>{html.escape(title)}</h2>")
        if title == "6. Repeat":
            body.append(_curve_svg(exp.history))
        if title.startswith("Computational") and exp.graph_svg:
            body.append(exp.graph_svg)
        if title.startswith("Computational") and exp.graph_note:
            body.append(f"<p>{html.escape(exp.graph_note)}</p>")
        body.append("<pre>" + html.escape("\n".join(lines)) + "</pre>")
    body.append("</div></div>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>retrograd explain</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def render(exp: Explanation, format: str = "text") -> str:
    """The explanation in ``format``: ``'text'``, ``'markdown'`` or ``'html'``."""
    if format == "text":
        return render_text(exp)
    if format == "markdown":
        return render_markdown(exp)
    if format == "html":
        return render_html(exp)
    raise ExplainError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")


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
