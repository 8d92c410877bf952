"""The explanation as one self-contained HTML page to click through, the network drawn in SVG.

The page is drawn once here, from the same :class:`~.record.Explanation` the text and
Markdown renderers read: the network and the loss curve as SVG (every element that a
step highlights has an ``id``), the full report below them, and the step-by-step data
as one JSON blob (``<script type="application/json" id="explain-data">``). The page's
script (``page.js``, inlined with ``page.css``: no network access, no CDN) only reads
that blob: it shows one step at a time, highlights its neurons and connections, fills
the table, and shows a weight's chain-rule factors on hover or keyboard focus.
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from .record import MAX_TERMS, Explanation, LayerStep
from .text import (
    AGREE_RTOL,
    _after,
    _delta,
    _grad_a,
    _grad_y,
    _gradients,
    _loss,
    _sum_terms,
    num,
    par,
    sections,
    val,
)

__all__ = ["curve_svg", "network_svg", "page_data", "render_html"]

_HALO = 'stroke="white" stroke-width="4" paint-order="stroke"'  # labels readable over lines


# ---------------------------------------------------------------- the network, drawn


@dataclass
class _Layout:
    """Where the neurons go: a column per layer, ``cols[c]`` neurons shown in column ``c``."""

    cols: list[int]
    more: bool = False  # some column is cut short: keep a row free for its "... n more"
    gap_x: int = 240
    gap_y: int = 96
    r: int = 34  # the neurons' radius
    top: int = 50  # room for the column titles

    @property
    def width(self) -> int:
        return self.gap_x * (len(self.cols) - 1) + 200

    @property
    def height(self) -> int:
        return self.top + self.gap_y * (max(self.cols) + self.more)

    def pos(self, c: int, j: int) -> tuple[float, float]:
        """The centre of neuron ``j`` of column ``c``; short columns are centred."""
        tall = max(self.cols)
        shift = (tall - self.cols[c]) * self.gap_y / 2
        return 100 + c * self.gap_x, self.top + (j + 0.5) * self.gap_y + shift


def _shown(exp: Explanation) -> list[int]:
    """The neurons drawn per column, input first (larger layers are summarised)."""
    return [min(len(exp.x), MAX_TERMS)] + [layer.shown for layer in exp.layers]


def _connections(exp: Explanation, lay: _Layout) -> list[str]:
    """A line per shown weight, coloured and thickened by its gradient.

    NOTE: the lines carry no labels (labels over lines overlap once layers are wide);
    hovering or focusing a line shows its weight, gradient and chain rule instead.
    """
    r, parts = lay.r, []
    for c, layer in enumerate(exp.layers, start=1):
        for j in range(lay.cols[c]):
            for i in range(lay.cols[c - 1]):
                (x1, y1), (x2, y2) = lay.pos(c - 1, i), lay.pos(c, j)
                g = layer.grad_weight[j, i]
                color = "#c0392b" if g > 0 else "#2471a3" if g < 0 else "#999999"
                name = f"w{j + 1}{i + 1} of layer {layer.index}"
                parts.append(
                    f'<line id="e-{c}-{j}-{i}" class="edge" tabindex="0" '
                    f'aria-label="{name}: w={val(layer.weight[j, i])}, dL/dw={num(g)}" '
                    f'x1="{x1 + r}" y1="{y1}" x2="{x2 - r}" y2="{y2}" stroke="{color}" '
                    f'stroke-width="{1.5 + min(3.0, 20 * abs(g)):.1f}"/>'
                )
    return parts


def _titles(exp: Explanation, lay: _Layout) -> list[str]:
    titles = ["input"] + [f"layer {layer.index} ({layer.activation})" for layer in exp.layers]
    return [
        f'<text x="{lay.pos(c, 0)[0]}" y="20" text-anchor="middle" font-weight="bold">'
        f"{html.escape(title)}</text>"
        for c, title in enumerate(titles)
    ]


def _neurons(exp: Explanation, lay: _Layout) -> list[str]:
    """A circle per shown neuron: x for the inputs, z and a for the layers."""
    parts = []
    for c, n in enumerate(lay.cols):
        for j in range(n):
            x, y = lay.pos(c, j)
            if c == 0:
                label = [f"x{j + 1}", val(exp.x[j])]
            else:
                layer = exp.layers[c - 1]
                label = [f"z={num(layer.z[j])}", f"a={num(layer.a[j])}"]
            parts += [
                f'<g id="n-{c}-{j}" class="neuron">',
                f'<circle cx="{x}" cy="{y}" r="{lay.r}" fill="#fdfefe" stroke="#17202a"/>',
                f'<text x="{x}" y="{y - 3}" text-anchor="middle">{html.escape(label[0])}</text>',
                f'<text x="{x}" y="{y + 11}" text-anchor="middle">{html.escape(label[1])}</text>',
                "</g>",
            ]
    return parts


def _more(exp: Explanation, lay: _Layout) -> list[str]:
    """'... n more' under each column that was cut short, in the row kept free for it."""
    parts = []
    for c, total in enumerate([len(exp.x)] + [layer.size for layer in exp.layers]):
        if lay.cols[c] < total:
            x, y = lay.pos(c, lay.cols[c] - 1)
            parts.append(
                f'<text x="{x}" y="{y + lay.r + 22}" text-anchor="middle" {_HALO}>'
                f"... {total - lay.cols[c]} more</text>"
            )
    return parts


def network_svg(exp: Explanation) -> str:
    """The network as SVG: a column of neurons per layer (the first few of a wide one),
    each with z and a; each connection coloured by its gradient (red +, blue -)."""
    lay = _Layout(_shown(exp), more=_shown(exp) != exp.sizes)
    w, h = lay.width, lay.height
    parts = [
        f'<svg id="network" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="monospace" font-size="11">',
        *_connections(exp, lay),
        *_titles(exp, lay),
        *_neurons(exp, lay),
        *_more(exp, lay),
        "</svg>",
    ]
    return "\n".join(parts)


def curve_svg(values: Sequence[float]) -> str:
    """The loss after each step as an SVG line chart, with a point per step."""
    w, h, m = 480, 200, 40
    v = np.asarray(values, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo or 1.0
    xs = m + (w - 2 * m) * np.arange(len(v)) / max(1, len(v) - 1)
    ys = h - m - (h - 2 * m) * (v - lo) / span
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))
    dots = "".join(
        f'<circle class="point" cx="{a:.1f}" cy="{b:.1f}" r="2">'
        f"<title>step {k + 1}: loss {num(loss)}</title></circle>"
        for k, (a, b, loss) in enumerate(zip(xs, ys, v, strict=True))
    )
    return (
        f'<svg id="loss-curve" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'font-family="monospace" font-size="11">'
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>'
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>'
        f'<polyline fill="none" stroke="#2471a3" stroke-width="2" points="{points}"/>'
        f"{dots}"
        f'<text x="{m}" y="{m - 8}">loss {num(hi)}</text>'
        f'<text x="{m}" y="{h - m + 16}">{num(lo)}</text>'
        f'<text x="{w - m}" y="{h - m + 16}" text-anchor="end">step {len(v)}</text>'
        "</svg>"
    )


# ---------------------------------------------------------------- the steps, as data


def _step(
    phase: str,
    title: str,
    lines: list[str],
    rows: list[list[str]],
    nodes: Sequence[str] = (),
    edges: Sequence[str] = (),
) -> dict[str, Any]:
    """One click of the page: its equations, its table rows, and the ids it highlights."""
    return {
        "phase": phase,
        "title": title,
        "lines": list(lines),
        "rows": list(rows),
        "nodes": list(nodes),
        "edges": list(edges),
    }


def _inputs(exp: Explanation, c: int) -> int:
    """The number of inputs drawn into column ``c`` (the previous column's shown neurons)."""
    return _shown(exp)[c - 1]


def _forward_rows(exp: Explanation, layer: LayerStep, c: int, j: int) -> list[list[str]]:
    prev = "x" if c == 1 else "a_prev"
    rows = [[f"{prev}{i + 1}", val(layer.inputs[i])] for i in range(_inputs(exp, c))]
    rows += [[f"w{j + 1}{i + 1}", val(layer.weight[j, i])] for i in range(_inputs(exp, c))]
    return [
        *rows,
        [f"b{j + 1}", val(layer.bias[j])],
        [f"z{j + 1}", num(layer.z[j])],
        [f"a{j + 1}", num(layer.a[j])],
    ]


def _forward_lines(layer: LayerStep, j: int) -> list[str]:
    terms = _sum_terms(layer.weight[j], layer.inputs)
    z = f"z = {terms} + {par(layer.bias[j])} = {num(layer.z[j])}"
    if layer.activation == "softmax":
        return [z, f"a = softmax(z)_{j + 1} = {num(layer.a[j])}"]
    return [z, f"a = {layer.activation}({num(layer.z[j])}) = {num(layer.a[j])}"]


def _backward_rows(layer: LayerStep, j: int, n_in: int) -> list[list[str]]:
    rows = [[f"dL/da{j + 1}", num(layer.grad_a[j])]]
    if layer.dadz is not None:
        rows.append([f"f'(z{j + 1})", num(layer.dadz[j])])
    rows.append([f"delta{j + 1}", num(layer.delta[j])])
    for i in range(n_in):
        rows.append([f"dL/dw{j + 1}{i + 1}", num(layer.grad_weight[j, i])])
        rows.append([f"dL/dw{j + 1}{i + 1} by finite difference", num(layer.fd_weight[j, i])])
    return [*rows, [f"dL/db{j + 1}", num(layer.grad_bias[j])]]


def _update_rows(exp: Explanation, layer: LayerStep, j: int, n_in: int) -> list[list[str]]:
    rows = []
    for i in range(n_in):
        rows.append(
            [
                f"w{j + 1}{i + 1} old -> new",
                f"{val(layer.weight[j, i])} -> {num(layer.new_weight[j, i])}",
            ]
        )
    rows.append([f"b{j + 1} old -> new", f"{val(layer.bias[j])} -> {num(layer.new_bias[j])}"])
    return rows


_PHASE_TITLES = {"forward": "Forward pass", "backward": "Backward pass", "update": "Update"}


def _neuron_step(
    exp: Explanation, phase: str, c: int, j: int, lines: list[str], rows: list[list[str]]
) -> dict:
    """Neuron ``j`` of column ``c`` in ``phase``: it and its incoming weights highlighted
    (and, going forward, the neurons those weights read)."""
    n_in = _inputs(exp, c)
    nodes = [f"n-{c}-{j}"]
    if phase == "forward":
        nodes += [f"n-{c - 1}-{i}" for i in range(n_in)]
    title = f"{_PHASE_TITLES[phase]}: layer {exp.layers[c - 1].index}, neuron {j + 1}"
    edges = [f"e-{c}-{j}-{i}" for i in range(n_in)]
    return _step(phase, title, lines, rows, nodes=nodes, edges=edges)


def _backward_lines(exp: Explanation, c: int, j: int) -> list[str]:
    """Where neuron ``j``'s dL/da comes from, its delta, and its gradients with their checks."""
    layer = exp.layers[c - 1]
    if layer.is_output:  # where the backward pass starts
        grad_y = _grad_y(exp)
        lines = [grad_y[min(j, len(grad_y) - 1)]]
    else:
        lines = [_grad_a(layer, exp.layers[c], j).strip()]
    lines.append(_delta(exp, layer, j, first=True).strip())
    return lines + [line.strip() for line in _gradients(layer, j)]


def _neuron_steps(exp: Explanation) -> list[dict]:
    """The step one neuron at a time: forward, loss, backward (output first), update, after."""
    forward = [(c, j) for c, layer in enumerate(exp.layers, start=1) for j in range(layer.shown)]
    backward = sorted(forward, key=lambda cj: -cj[0])  # output layer first, neurons in order
    update_rule = [f"w_new = w_old - eta * dL/dw, eta = {val(exp.lr)}"]
    out = [
        _neuron_step(
            exp, "forward", c, j, _forward_lines(exp.layers[c - 1], j),
            _forward_rows(exp, exp.layers[c - 1], c, j),
        )
        for c, j in forward
    ]  # fmt: skip
    out.append(_loss_step(exp))
    out += [
        _neuron_step(
            exp, "backward", c, j, _backward_lines(exp, c, j),
            _backward_rows(exp.layers[c - 1], j, _inputs(exp, c)),
        )
        for c, j in backward
    ]  # fmt: skip
    out += [
        _neuron_step(
            exp, "update", c, j, update_rule,
            _update_rows(exp, exp.layers[c - 1], j, _inputs(exp, c)),
        )
        for c, j in forward
    ]  # fmt: skip
    out.append(_after_step(exp))
    return out


def _layer_steps(exp: Explanation) -> list[dict]:
    """The step one layer at a time: each layer's neuron steps merged into one."""
    merged: list[dict] = []
    for step in _neuron_steps(exp):
        title = step["title"].rsplit(", neuron ", 1)[0]
        last = merged[-1] if merged else None
        if last is not None and last["title"] == title and last["phase"] == step["phase"]:
            last["lines"] += step["lines"]
            last["rows"] += [row for row in step["rows"] if row not in last["rows"]]
            last["nodes"] += [n for n in step["nodes"] if n not in last["nodes"]]
            last["edges"] += step["edges"]
        else:
            merged.append({**copy.deepcopy(step), "title": title})
    return merged


def _loss_step(exp: Explanation) -> dict:
    out = len(exp.layers)
    rows = [[f"y_pred{k + 1}", num(v)] for k, v in enumerate(exp.y_pred[: _shown(exp)[-1]])]
    return _step(
        "loss",
        "Loss",
        _loss(exp)[1],
        [*rows, ["L", num(exp.loss)]],
        nodes=[f"n-{out}-{j}" for j in range(_shown(exp)[-1])],
    )


def _after_step(exp: Explanation) -> dict:
    rows = [["L before", num(exp.loss)], ["L after", num(exp.loss_after)]]
    if len(exp.history) > 1:
        rows.append([f"L after {len(exp.history)} steps", num(exp.history[-1])])
    return _step("after", "Loss after the update", _after(exp)[1], rows)


def _chain(exp: Explanation) -> dict[str, dict]:
    """Per drawn weight (keyed by its line's id): the chain-rule factors and the check."""
    out = {}
    for c, layer in enumerate(exp.layers, start=1):
        for j in range(layer.shown):
            for i in range(_inputs(exp, c)):
                g, fd = layer.grad_weight[j, i], layer.fd_weight[j, i]
                rel = abs(g - fd) / max(abs(g), abs(fd), 1e-8)
                out[f"e-{c}-{j}-{i}"] = {
                    "name": f"w{j + 1}{i + 1}",
                    "layer": layer.index,
                    "w": val(layer.weight[j, i]),
                    "dLda": num(layer.grad_a[j]),
                    "dadz": None if layer.dadz is None else num(layer.dadz[j]),
                    "delta": num(layer.delta[j]),
                    "dzdw": num(layer.inputs[i]),
                    "grad": num(g),
                    "fd": num(fd),
                    "agree": bool(rel < AGREE_RTOL or abs(g - fd) < 1e-9),
                    "rel": f"{rel:.1e}",
                    "new": num(layer.new_weight[j, i]),
                }
    return out


def _labels(exp: Explanation) -> dict[str, dict[str, list[str]]]:
    """Each drawn layer neuron's two lines per phase: z and a going forward (and for the
    loss), delta = dL/dz going backward, the new bias in the update (short: inside the circle)."""
    out = {}
    for c, layer in enumerate(exp.layers, start=1):
        for j in range(layer.shown):
            forward = [f"z={num(layer.z[j])}", f"a={num(layer.a[j])}"]
            out[f"n-{c}-{j}"] = {
                "forward": forward,
                "loss": forward,
                "backward": ["δ = dL/dz", num(layer.delta[j])],
                "update": ["new bias", num(layer.new_bias[j])],
                "after": forward,
            }
    return out


def page_data(exp: Explanation) -> dict:
    """Everything the page's script shows, as JSON-ready data (numbers already formatted
    as the text report writes them, so that every format shows the same digits)."""
    return {
        "steps": {"neuron": _neuron_steps(exp), "layer": _layer_steps(exp)},
        "weights": _chain(exp),
        "labels": _labels(exp),
        "history": [num(v) for v in exp.history],
        "lr": val(exp.lr),
    }


# ---------------------------------------------------------------- the page


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _section(exp: Explanation, title: str, lines: list[str]) -> list[str]:
    """One step's heading, its drawing if it has one, and its lines."""
    body = [f"<h2>{html.escape(title)}</h2>"]
    if title == "6. Repeat":
        body.append(curve_svg(exp.history))
    if title.startswith("Computational") and exp.graph_svg:
        body.append(exp.graph_svg)
    if title.startswith("Computational") and exp.graph_note:
        body.append(f"<p>{html.escape(exp.graph_note)}</p>")
    body.append("<pre>" + html.escape("\n".join(lines)) + "</pre>")
    return body


_CONTROLS = """<div id="controls" role="toolbar" aria-label="step through">
<button id="prev" type="button">&#9664; previous</button>
<button id="next" type="button">next &#9654;</button>
<label>phase <select id="phase">
<option value="forward">1. forward</option><option value="loss">2. loss</option>
<option value="backward">3. backward</option><option value="update">4. update</option>
<option value="after">5. after</option></select></label>
<label>step by <select id="unit"><option value="neuron">neuron</option>
<option value="layer">layer</option></select></label>
<span id="counter"></span>
</div>
<h2 id="step-title"></h2>
<pre id="step-lines"></pre>
<table id="step-table"><thead><tr><th>quantity</th><th>value</th></tr></thead>
<tbody></tbody></table>"""


def render_html(exp: Explanation) -> str:
    """A self-contained HTML page to click through one training step (and the loss
    curve of the repeat), with the full report below; no network access needed."""
    (title, head), *steps = sections(exp)
    data = json.dumps(page_data(exp), separators=(",", ":")).replace("</", "<\\/")
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<pre>" + html.escape("\n".join(head)) + "</pre>",
        "<h2>The network</h2>",
        "<p>Each neuron shows z and a (in the backward pass its delta = dL/dz, in the "
        "update its new bias); each connection is coloured by its gradient "
        "dL/dw (red: positive, blue: negative). Hover or focus (Tab) a connection for "
        "its chain rule and finite-difference check; step with the buttons, the phase "
        "selector or the arrow keys.</p>",
        '<div class="row"><div>',
        network_svg(exp),
        '<div id="tooltip" role="tooltip" hidden></div>',
        "</div><div>",
        _CONTROLS,
        "</div></div>",
    ]
    body.append('<details id="report" open><summary>The whole report</summary>')
    for step_title, lines in steps:
        body += _section(exp, step_title, lines)
    body.append("</details>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>retrograd explain</title>\n<style>{_asset('page.css')}</style>\n</head>\n"
        "<body>\n"
        + "\n".join(body)
        + f'\n<script type="application/json" id="explain-data">{data}</script>\n'
        + f"<script>{_asset('page.js')}</script>\n</body>\n</html>\n"
    )
