"""The explanation as one self-contained HTML page, the network drawn in SVG beside it."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .record import MAX_TERMS, Explanation
from .text import num, sections, val

__all__ = ["render_html"]

_HALO = 'stroke="white" stroke-width="4" paint-order="stroke"'  # labels readable over lines
_CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:1200px}"
    "pre{background:#f4f6f6;padding:.8em;overflow-x:auto;font-size:13px}"
    ".row{display:flex;gap:2em;align-items:flex-start;flex-wrap:wrap}"
)


# ---------------------------------------------------------------- the network, drawn


@dataclass
class _Layout:
    """Where the neurons go: a column per layer, ``cols[c]`` neurons shown in column ``c``."""

    cols: list[int]
    gap_x: int = 240
    gap_y: int = 110
    r: int = 34  # the neurons' radius

    @property
    def width(self) -> int:
        return self.gap_x * (len(self.cols) - 1) + 200

    @property
    def height(self) -> int:
        return self.gap_y * max(self.cols) + 60

    def pos(self, c: int, j: int) -> tuple[float, float]:
        """The centre of neuron ``j`` of column ``c``; short columns are centred."""
        tall = max(self.cols)
        shift = (tall - self.cols[c]) * self.gap_y / 2
        return 100 + c * self.gap_x, 50 + (j + 0.5) * self.gap_y + shift


#: Connections between two columns labelled on the drawing at most; beyond, the lines
#: cross too often for labels to stay clear of them, and each line has a tooltip instead.
_MAX_LABELLED = 4


def _connections(exp: Explanation, lay: _Layout) -> list[str]:
    """A line per shown weight, coloured and thickened by its gradient; labelled with w and g
    where few lines meet (:data:`_MAX_LABELLED`), else a tooltip (its ``<title>``) says them."""
    r, parts = lay.r, []
    for c, layer in enumerate(exp.layers, start=1):
        labelled = lay.cols[c] * lay.cols[c - 1] <= _MAX_LABELLED
        for j in range(lay.cols[c]):
            for i in range(lay.cols[c - 1]):
                (x1, y1), (x2, y2) = lay.pos(c - 1, i), lay.pos(c, j)
                g = layer.grad_weight[j, i]
                color = "#c0392b" if g > 0 else "#2471a3" if g < 0 else "#999999"
                text = f"w={val(layer.weight[j, i])} g={num(g)}"
                parts.append(
                    f'<line x1="{x1 + r}" y1="{y1}" x2="{x2 - r}" y2="{y2}" stroke="{color}" '
                    f'stroke-width="{1 + min(3.0, 20 * abs(g)):.1f}">'
                    f"<title>{html.escape(f'layer {layer.index}, weight [{j}, {i}]: {text}')}"
                    "</title></line>"
                )
                if labelled:
                    tx, ty = x1 + r + (x2 - x1 - 2 * r) * 0.3, y1 + (y2 - y1) * 0.3 - 4
                    parts.append(f'<text x="{tx:.0f}" y="{ty:.0f}" {_HALO}>{text}</text>')
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
            parts.append(f'<circle cx="{x}" cy="{y}" r="{lay.r}" fill="#fdfefe" stroke="#17202a"/>')
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
    return parts


def _more(exp: Explanation, lay: _Layout) -> list[str]:
    """'... n more' under each column that was cut short."""
    parts = []
    for c, total in enumerate([len(exp.x)] + [layer.size for layer in exp.layers]):
        if lay.cols[c] < total:
            x, y = lay.pos(c, lay.cols[c] - 1)
            parts.append(
                f'<text x="{x}" y="{y + lay.r + 16}" text-anchor="middle">'
                f"... {total - lay.cols[c]} more</text>"
            )
    return parts


def network_svg(exp: Explanation) -> str:
    """The network as SVG: a column of neurons per layer (at most a few; the rest counted
    below it), each with z and a; each connection labelled with its weight and gradient,
    or, where many lines meet, giving them as a tooltip."""
    lay = _Layout([min(len(exp.x), MAX_TERMS)] + [layer.shown for layer in exp.layers])
    w, h = lay.width, lay.height + 20  # room for the "... more" lines under the columns
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="monospace" font-size="11">',
        *_connections(exp, lay),
        *_titles(exp, lay),
        *_neurons(exp, lay),
        *_more(exp, lay),
        "</svg>",
    ]
    return "\n".join(parts)


def curve_svg(values: Sequence[float]) -> str:
    """The loss after each step as an SVG line chart."""
    w, h, m = 480, 200, 40
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)] if np.isfinite(v).any() else np.zeros(1)  # a diverged step: skip it
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo or 1.0
    xs = m + (w - 2 * m) * np.arange(len(v)) / max(1, len(v) - 1)
    ys = h - m - (h - 2 * m) * (v - lo) / span
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))
    # a dot per step, so that one step (a polyline of one point draws nothing) still shows
    dots = "".join(
        f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="#2471a3"/>'
        for a, b in list(zip(xs, ys, strict=True))[:: max(1, len(v) // 60)]
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'font-family="monospace" font-size="11">'
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>'
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>'
        f'<polyline fill="none" stroke="#2471a3" stroke-width="2" points="{points}"/>{dots}'
        f'<text x="{m}" y="{m - 8}">loss {num(hi)}</text>'
        f'<text x="{m}" y="{h - m + 16}">{num(lo)}</text>'
        f'<text x="{w - m}" y="{h - m + 16}" text-anchor="end">step {len(v)}</text>'
        "</svg>"
    )


# ---------------------------------------------------------------- the page


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


def render_html(exp: Explanation) -> str:
    """A self-contained HTML page: the network drawn in SVG beside the equations,
    the loss curve of the repeat, and the computational graph."""
    (title, head), *steps = sections(exp)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<pre>" + html.escape("\n".join(head)) + "</pre>",
        '<div class="row"><div>',
        "<h2>The network</h2>",
        "<p>Each neuron shows z and a; each connection its weight w and gradient "
        "g = dL/dw (red: positive, blue: negative; where many lines meet, hover over one "
        "to read them).</p>",
        network_svg(exp),
        "</div><div>",
    ]
    for step_title, lines in steps:
        body += _section(exp, step_title, lines)
    body.append("</div></div>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>retrograd explain</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
