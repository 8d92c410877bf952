"""Draw the recorded computation behind a tensor.

:func:`draw_graph` walks the graph from a tensor's ``grad_fn`` (iteratively,
so graphs of any depth work) and writes one node per operation, with its
output shape, and one per leaf tensor, with its name or shape; after
``backward()`` the leaves (and tensors that called ``retain_grad()``) show a
summary of their data and gradient. The result is Graphviz DOT text, which
needs nothing installed; SVG and PNG go through the optional ``graphviz``
Python package and the ``dot`` program.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .autograd import Op
from .tensor import Tensor

__all__ = ["draw_graph", "graph_nodes", "render_dot"]

FORMATS = ("dot", "svg", "png")
INSTALL_HINT = (
    "drawing SVG or PNG needs the graphviz Python package and the Graphviz 'dot' program: "
    "pip install graphviz (or pip install 'retrograd[viz]'), and apt-get install graphviz "
    "(brew install graphviz on macOS); format='dot' needs neither"
)


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _summary(arr: np.ndarray) -> str:
    """A few values, or the range and mean of many."""
    a = np.asarray(arr)
    if a.size <= 4:
        return "[" + ", ".join(f"{float(v):.4g}" for v in a.reshape(-1)) + "]"
    return f"min {a.min():.3g}, mean {a.mean():.3g}, max {a.max():.3g}"


def _tensor_label(t: Tensor, name: str | None) -> str:
    lines = [name or "tensor", _shape(t.shape)]
    if t.array.dtype.kind == "f":
        lines.append("data " + _summary(t.array))
        if t.grad is not None:
            lines.append("grad " + _summary(t.grad.array))
    return "\\n".join(line.replace('"', "'") for line in lines)


def graph_nodes(tensor: Tensor) -> tuple[list[Any], list[tuple[Any, Any]]]:
    """The nodes (Functions and leaf tensors) behind ``tensor`` and the edges (input, consumer).

    Iterative depth-first walk over ``grad_fn.next``; each node appears once.
    """
    root = tensor.grad_fn
    if root is None:
        return [tensor], []
    nodes: list[Any] = [root]
    edges: list[tuple[Any, Any]] = []
    seen = {id(root)}
    stack: list[Op] = [root]
    while stack:
        node = stack.pop()
        for child in node.next:
            if child is None:
                continue
            edges.append((child, node))
            if id(child) not in seen:
                seen.add(id(child))
                nodes.append(child)
                if isinstance(child, Op):
                    stack.append(child)
    return nodes, edges


def draw_graph(
    tensor: Tensor,
    format: str = "dot",
    path: str | Path | None = None,
    names: Mapping[str, Tensor] | Any = None,
) -> str | bytes:
    """Render the computation graph behind ``tensor``.

    Parameters
    ----------
    tensor : Tensor
        The result (a loss, say); its ``grad_fn`` is the root of the drawing.
    format : {'dot', 'svg', 'png'}, default='dot'
        DOT text needs nothing installed; SVG and PNG need the ``graphviz``
        package and the Graphviz ``dot`` program.
    path : str or Path, optional
        Also write the result to this file.
    names : dict of str to Tensor, or nn.Module, optional
        Names for leaf tensors (``{'w': w}``), or a module whose
        ``named_parameters()`` name them.

    Returns
    -------
    str or bytes
        DOT or SVG text; PNG bytes.

    Raises
    ------
    ValueError
        For an unknown format.
    RuntimeError
        For SVG or PNG when graphviz or ``dot`` is missing; the message says how
        to install them.
    """
    if format not in FORMATS:
        raise ValueError(f"draw_graph: unknown format {format!r}; expected one of {FORMATS}")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    if names is not None and hasattr(names, "named_parameters"):
        names = dict(names.named_parameters())
    by_id = {id(t): n for n, t in (names or {}).items()}
    nodes, edges = graph_nodes(tensor)
    ids = {id(n): f"n{i}" for i, n in enumerate(nodes)}
    lines = [
        "digraph retrograd {",
        "  rankdir=BT;",
        '  node [fontname="monospace", fontsize=10];',
    ]
    for node in nodes:
        if isinstance(node, Op):
            label = f"{node.name}\\n{_shape(node.out_shape)}"
            kept = node.retained() if node.retained is not None else None
            if kept is not None:  # retain_grad(): its output tensor, data and gradient, is known
                label = _tensor_label(kept, node.name)
            lines.append(
                f'  {ids[id(node)]} [label="{label}", shape=box, style=filled, '
                'fillcolor="#eaf2f8"];'
            )
        else:
            label = _tensor_label(node, by_id.get(id(node)))
            lines.append(
                f'  {ids[id(node)]} [label="{label}", shape=ellipse, style=filled, '
                'fillcolor="#fef9e7"];'
            )
    if tensor.grad_fn is not None:  # the tensor itself, below the op that made it
        lines.append(f'  out [label="{_tensor_label(tensor, "output")}", shape=doubleoctagon];')
        lines.append(f"  {ids[id(tensor.grad_fn)]} -> out;")
    for child, node in edges:
        lines.append(f"  {ids[id(child)]} -> {ids[id(node)]};")
    lines.append("}")
    dot = "\n".join(lines) + "\n"
    if format == "dot":
        result: str | bytes = dot
    else:
        result = _render(dot, format)
    if path is not None:
        target = Path(path)
        if isinstance(result, bytes):
            target.write_bytes(result)
        else:
            target.write_text(result)
    return result


def _render(dot: str, format: str) -> str | bytes:
    """DOT text to SVG text or PNG bytes through graphviz."""
    try:
        import graphviz
    except ImportError:
        raise RuntimeError(INSTALL_HINT) from None
    try:
        data = graphviz.Source(dot).pipe(format=format)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(INSTALL_HINT) from None
    return data.decode() if format == "svg" else data


def render_dot(dot: str) -> tuple[str | None, str | None]:
    """``(svg, None)`` when graphviz can draw ``dot``; ``(None, how to install it)`` otherwise.

    The SVG starts at its ``<svg`` tag (no XML declaration), ready to inline in HTML.
    """
    try:
        svg = str(_render(dot, "svg"))
    except RuntimeError as e:
        return None, str(e)
    return svg[svg.find("<svg") :], None
