"""One step of gradient descent on one sample, run by the engine and recorded number by number.

The forward pass, the loss, ``backward()`` and ``optim.SGD`` are the ones
training uses; the central finite differences are the independent check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn, optim
from ..autograd import no_grad
from ..options import lookup
from ..tensor import Tensor
from .network import ACTIVATIONS, build_network, check_array
from .record import MAX_NEURONS, MAX_TERMS, ExplainError, Explanation, LayerStep

__all__ = ["FD_EPS", "LOSS_NAMES", "explain_model", "explain_step"]

#: The losses explain can show: a subset of :data:`retrograd.nn.loss.LOSSES`' names.
LOSS_NAMES = ("mse", "cross-entropy")
FD_EPS = 1e-6  # central differences in float64


# ---------------------------------------------------------------- the engine's passes


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
    return zt.grad.array


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
                old = p.array[idx]
                p.array[idx] = old + FD_EPS
                up = _loss_value(net, x, target, loss_name)
                p.array[idx] = old - FD_EPS
                down = _loss_value(net, x, target, loss_name)
                p.array[idx] = old
                fd[idx] = (up - down) / (2 * FD_EPS)
            fds.append(fd)
        out.append((fds[0], fds[1]))
    return out


# ---------------------------------------------------------------- the inputs, checked


def _check_options(
    loss: str, activation: str, output_activation: str | None, lr: float, steps: int
) -> tuple[str, str, str | None]:
    """The names in their table's spelling (:func:`retrograd.options.lookup`), or ExplainError."""
    try:
        loss = lookup(dict.fromkeys(LOSS_NAMES), loss, "loss")
        activation = lookup(ACTIVATIONS, activation, "activation")
        if output_activation is not None:
            output_activation = lookup(ACTIVATIONS, output_activation, "activation")
    except ValueError as e:
        raise ExplainError(str(e)) from None
    for name in (activation, output_activation):
        if name is not None and list(ACTIVATIONS[name]().parameters()):
            # NOTE: explain shows f'(z) per unit; a learnable activation (prelu) has weights
            # of its own that the page would leave out, so it is refused, not half-shown.
            raise ExplainError(
                f"explain shows activations without parameters; {name!r} learns its own "
                "weights: choose another activation"
            )
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
        raise ExplainError(f"the learning rate must be a number > 0, got {lr!r}")
    if steps < 1:
        raise ExplainError(f"--steps must be >= 1, got {steps}")
    return loss, activation, output_activation


def _mse_target(target: Any, n_out: int) -> np.ndarray:
    """The MSE target as (n_out,) values; one number stands for every output."""
    return check_array(
        np.broadcast_to(np.asarray(target, dtype=object), (n_out,)) if np.ndim(target) == 0
        else target,
        (n_out,),
        f"the target (the network has {n_out} output{'s' * (n_out != 1)})",
    )  # fmt: skip


def _class_target(target: Any, n_out: int) -> np.ndarray:
    """The cross-entropy target: one class index, as a float64 array of shape (1,)."""
    if n_out < 2:
        raise ExplainError(
            "cross-entropy needs an output layer of >= 2 neurons (one per class, softmax); "
            "use --layers with 2 or more outputs, or --loss mse"
        )
    t = np.asarray(target, dtype=np.float64).reshape(-1)
    if t.size != 1 or t[0] != int(t[0]) or not 0 <= t[0] < n_out:
        raise ExplainError(
            f"with cross-entropy the target is one class index in 0..{n_out - 1}, got {target!r}"
        )
    return t


# ---------------------------------------------------------------- the record


def _record_layers(
    net: nn.Sequential,
    pairs: list[tuple[Tensor, Tensor]],
    x: np.ndarray,
    acts: Sequence[str],
    fds: list[tuple[np.ndarray, np.ndarray]],
    softmax_out: bool,
) -> list[LayerStep]:
    """Each layer's numbers after backward, before the update (``new_*`` filled in later)."""
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
                inputs=x if i == 0 else pairs[i - 1][1].array[0].copy(),
                weight=lin.weight.array.copy(),
                bias=lin.bias.array.copy(),
                z=z.array[0].copy(),
                a=a.array[0].copy(),
                grad_a=a.grad.array[0].copy(),
                dadz=None if (is_out and softmax_out) else _derivative(act, z.array[0]),
                delta=z.grad.array[0].copy(),
                grad_weight=lin.weight.grad.array.copy(),
                grad_bias=lin.bias.grad.array.copy(),
                fd_weight=fds[i][0],
                fd_bias=fds[i][1],
                new_weight=lin.weight.array.copy(),
                new_bias=lin.bias.array.copy(),
                is_output=is_out,
            )
        )
    return layers


def _repeat(
    net: nn.Sequential,
    opt: optim.SGD,
    x: np.ndarray,
    target: np.ndarray,
    loss: str,
    steps: int,
    tol: float,
) -> list[float]:
    """The loss after the step taken, then after each further step until ``steps`` or ``tol``."""
    history = [_loss_value(net, x, target, loss)]
    while len(history) < steps and history[-1] >= tol:
        opt.zero_grad()
        _loss(_forward(net, x, loss != "mse")[-1][1], target, loss).backward()
        opt.step()
        history.append(_loss_value(net, x, target, loss))
    return history


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
        The hidden layers' activation, a key of :data:`ACTIVATIONS`.
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
    loss, activation, output_activation = _check_options(
        loss, activation, output_activation, lr, steps
    )
    weights = [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in weights]
    n_in, n_out = weights[0][0].shape[1], weights[-1][0].shape[0]
    x = check_array(x, (n_in,), f"the input (the network has {n_in} inputs)")
    softmax_out = loss != "mse"
    if softmax_out:
        target = _class_target(target, n_out)
        out_act = "softmax"
    else:
        target = _mse_target(target, n_out)
        out_act = output_activation or activation
    acts = [activation] * (len(weights) - 1) + [out_act]
    net = build_network(weights, acts)

    # 1-3: forward, loss, backward, all by the engine
    pairs = _forward(net, x, softmax_out)
    for z, a in pairs:
        z.retain_grad()
        a.retain_grad()
    loss_t = _loss(pairs[-1][1], target, loss)
    loss_t.backward(retain_graph=graph)
    graph_dot = None
    if graph:  # drawn after backward, so that it shows the gradients
        from ..viz import draw_graph

        graph_dot = str(draw_graph(loss_t, names=net))
    fds = _finite_differences(net, x, target, loss)
    layers = _record_layers(net, pairs, x, acts, fds, softmax_out)

    # 4: the update, by the optimizer training uses
    opt = optim.SGD(net.parameters(), lr=lr)
    opt.step()
    for layer, lin in zip(layers, list(net.children())[0::2], strict=True):
        layer.new_weight = lin.weight.array.copy()
        layer.new_bias = lin.bias.array.copy()

    # 5-6: the loss after, and the repeat
    history = _repeat(net, opt, x, target, loss, steps, tol)
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


# ---------------------------------------------------------------- a saved model


def _linear_chain(network: nn.Module) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """The weights and activation names of a plain chain of ``Linear`` layers and activations."""
    names = {cls: name for name, cls in ACTIVATIONS.items()}
    weights: list[tuple[np.ndarray, np.ndarray]] = []
    acts: list[str] = []
    for module in network.modules():
        if module is network or isinstance(module, nn.Sequential | nn.Dropout):
            continue
        if isinstance(module, nn.Linear):
            if module.bias is None:
                raise ExplainError("explain needs Linear layers with a bias")
            weights.append(
                (module.weight.array.astype(np.float64), module.bias.array.astype(float))
            )
            acts.append("identity")
        elif type(module) in names and weights:
            acts[-1] = names[type(module)]
        else:
            raise ExplainError(
                "explain handles networks of Linear layers and activations; this model has "
                f"{type(module).__name__}"
            )
    return weights, acts


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
    weights, acts = _linear_chain(trained.network)
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
