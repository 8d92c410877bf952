"""The explanation as lines of text: the content every format renders, and the text report.

:func:`sections` turns an :class:`~.record.Explanation` into (heading, lines),
one section per step of the textbook's loop; :func:`render_text` joins them.
The Markdown and HTML renderers lay out the same sections.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .record import MAX_NEURONS, MAX_TERMS, Explanation, LayerStep

__all__ = [
    "AGREE_RTOL",
    "SPARK",
    "history_rows",
    "num",
    "par",
    "render_text",
    "sections",
    "sparkline",
    "val",
]

AGREE_RTOL = 1e-5
SPARK = "▁▂▃▄▅▆▇█"

Section = tuple[str, list[str]]


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


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """``values`` as a line of block characters, at most ``width`` long."""
    vals = np.asarray(values, dtype=np.float64)
    if len(vals) > width:
        vals = vals[np.linspace(0, len(vals) - 1, width).round().astype(int)]
    finite = np.isfinite(vals)
    if not finite.any():
        return "!" * len(vals)
    lo, hi = float(vals[finite].min()), float(vals[finite].max())
    span = hi - lo if hi - lo >= 1e-15 else 1.0
    idx = np.where(finite, (np.where(finite, vals, lo) - lo) / span * (len(SPARK) - 1), 0)
    # a loss that stopped being finite shows as !, not as a crash or a full bar
    return "".join(SPARK[round(i)] if f else "!" for i, f in zip(idx, finite, strict=True))


def history_rows(exp: Explanation, max_rows: int = 12) -> list[tuple[int, float]]:
    """(step, loss) rows of the repeat, at most ``max_rows`` spread over it."""
    n = len(exp.history)
    rows = list(range(n))
    if n > max_rows:
        rows = sorted(set(np.linspace(0, n - 1, max_rows).round().astype(int).tolist()))
    return [(i + 1, exp.history[i]) for i in rows]


def _names(names: Sequence[str]) -> str:
    return ", ".join(names[:MAX_TERMS]) + (", ..." if len(names) > MAX_TERMS else "")


# ---------------------------------------------------------------- the sections


def _head(exp: Explanation) -> Section:
    """The network, the sample, the loss and the notes."""
    sizes = exp.sizes
    act_desc = " -> ".join(
        [f"{sizes[0]} inputs"] + [f"{layer.size} {layer.activation}" for layer in exp.layers]
    )
    names = exp.input_names
    xs = ", ".join(val(v) for v in exp.x[:MAX_TERMS]) + (", ..." if len(exp.x) > MAX_TERMS else "")
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
    return "retrograd explain: one training step, number by number", [h for h in head if h]


def _forward(exp: Explanation) -> Section:
    """1. z = sum(w_i * x_i) + b and a = f(z) for each shown neuron."""
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
    return "1. Forward pass", lines


def _loss(exp: Explanation) -> Section:
    """2. The loss, its formula filled in."""
    if exp.loss_name == "mse":
        n = len(exp.target)
        terms = " + ".join(
            f"({num(p)} - {val(t)})^2" for p, t in zip(exp.y_pred, exp.target, strict=True)
        )
        line = (
            f"L = Loss(y_true, y_pred) = mean((y_pred - y_true)^2) = ({terms}) / {n} "
            f"= {num(exp.loss)}"
        )
    else:
        k = int(exp.target[0])
        line = (
            f"L = Loss(y_true, y_pred) = -log(y_pred_{k + 1}) = -log({num(exp.y_pred[k])}) "
            f"= {num(exp.loss)}"
        )
    return "2. Loss", [line]


def _grad_y(exp: Explanation) -> list[str]:
    """dL/dy_pred, where the backward pass starts."""
    if exp.loss_name == "mse":
        n = len(exp.target)
        return [
            f"dL/dy_pred_{j + 1} = 2*(y_pred - y_true)/{n} = "
            f"2*({num(exp.y_pred[j])} - {val(exp.target[j])})/{n} = {num(exp.grad_y[j])}"
            for j in range(min(len(exp.target), MAX_NEURONS))
        ]
    k = int(exp.target[0])
    return [
        f"dL/dy_pred_{k + 1} = -1/y_pred_{k + 1} = -1/{num(exp.y_pred[k])} "
        f"= {num(exp.grad_y[k])} (0 for the other classes)"
    ]


def _grad_a(layer: LayerStep, upper: LayerStep, j: int) -> str:
    """dL/da of neuron ``j``: the deltas of the layer above, back through its weights."""
    terms = " + ".join(
        f"{par(upper.weight[k, j])}*{par(upper.delta[k])}"
        for k in range(min(upper.size, MAX_TERMS))
    )
    if upper.size > MAX_TERMS:
        terms += f" + ... ({upper.size - MAX_TERMS} more terms)"
    return (
        f"  neuron {j + 1}: dL/da = sum_k w_k{j + 1} * delta_k = {terms} = {num(layer.grad_a[j])}"
    )


def _delta(exp: Explanation, layer: LayerStep, j: int, first: bool) -> str:
    """delta = dL/dz of neuron ``j``; ``first``: the neuron's first line of the layer."""
    if layer.dadz is None:  # softmax with cross-entropy: the chain collapses to y_pred - y_true
        onehot = 1.0 if j == int(exp.target[0]) else 0.0
        return (
            f"  neuron {j + 1}: delta = dL/dz = y_pred - y_true "
            f"= {num(layer.a[j])} - {val(onehot)} = {num(layer.delta[j])}"
        )
    what = "dL/dy_pred * dy_pred/dz" if layer.is_output else "dL/da * f'(z)"
    lead = f"  neuron {j + 1}: " if first else " " * 12
    return (
        f"{lead}delta = {what} = {par(layer.grad_a[j])} * "
        f"{layer.activation}'({num(layer.z[j])}) = {par(layer.grad_a[j])}*"
        f"{par(layer.dadz[j])} = {num(layer.delta[j])}"
    )


def _gradients(layer: LayerStep, j: int) -> list[str]:
    """dL/dw = delta * a_prev and dL/db = delta of neuron ``j``, each beside its check."""
    lines = [
        f"    dL/dw{j + 1}{i + 1} = delta * a_prev = {par(layer.delta[j])}*"
        f"{par(layer.inputs[i])} = {num(layer.grad_weight[j, i])}   "
        + _agree(layer.grad_weight[j, i], layer.fd_weight[j, i])
        for i in range(min(layer.weight.shape[1], MAX_TERMS))
    ]
    lines.append(
        f"    dL/db{j + 1} = delta = {num(layer.grad_bias[j])}   "
        + _agree(layer.grad_bias[j], layer.fd_bias[j])
    )
    return lines


def _backward(exp: Explanation) -> Section:
    """3. The chain rule, output layer first."""
    lines = ["Chain rule, output layer first: dL/dw = dL/dy_pred * dy_pred/dz * dz/dw."]
    lines += _grad_y(exp)
    upper: LayerStep | None = None
    for layer in reversed(exp.layers):
        kind = "output" if layer.is_output else "hidden"
        lines.append(f"layer {layer.index} ({kind}): error signal delta = dL/dz")
        for j in range(layer.shown):
            if upper is not None:
                lines.append(_grad_a(layer, upper, j))
            lines.append(_delta(exp, layer, j, first=upper is None))
            lines += _gradients(layer, j)
        upper = layer
    return "3. Backward pass", lines


def _update(exp: Explanation) -> Section:
    """4. w_new = w_old - eta * dL/dw for each shown weight and bias."""
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
    return "4. Update", lines


def _after(exp: Explanation) -> Section:
    """5. The loss after the update, and whether it went down."""
    change = exp.loss_after - exp.loss
    verdict = "went down" if change < 0 else "did NOT go down (try a smaller --lr)"
    return "5. Loss after the update", [
        f"L after the update = {num(exp.loss_after)} (before: {num(exp.loss)}); "
        f"the loss {verdict} by {num(abs(change))}"
    ]


def _repeat(exp: Explanation) -> Section:
    """6. The loss after each step of the repeat, and why it stopped."""
    lines = ["Repeat: forward pass, loss, backward pass, update.", "step  loss"]
    lines += [f"{step:>4}  {num(value)}" for step, value in history_rows(exp)]
    lines.append(f"loss  {sparkline(exp.history)}")
    final = exp.history[-1]
    n = len(exp.history)
    if final < exp.tol:
        lines.append(
            f"stopped after {n} step{'s' * (n != 1)}: the loss fell below --tol {exp.tol:g}"
        )
    else:
        lines.append(f"{n} step{'s' * (n != 1)}; the loss is {num(final)}")
    return "6. Repeat", lines


def sections(exp: Explanation) -> list[Section]:
    """The explanation as (heading, lines): the content that every format renders."""
    out = [_head(exp), _forward(exp), _loss(exp), _backward(exp), _update(exp), _after(exp)]
    if exp.steps > 1:
        out.append(_repeat(exp))
    if exp.graph_dot is not None:
        out.append(("Computational graph of the loss (Graphviz DOT)", exp.graph_dot.splitlines()))
    return out


def render_text(exp: Explanation) -> str:
    """The plain-text report."""
    return "\n\n".join("\n".join([title, *lines]) for title, lines in sections(exp)) + "\n"
