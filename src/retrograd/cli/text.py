"""Plain-text output: aligned tables and shortened lists."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import click
import numpy as np


def fmt(value: Any) -> str:
    """A table cell: floats to 4 decimals, ints with thousands separators, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.4f}" if math.isfinite(value) else str(float(value))
    return str(value)


def table(rows: Sequence[Sequence[Any]], align: str) -> list[str]:
    """Lines of aligned columns; ``align`` holds one ``l`` or ``r`` per column."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(align))]
    lines = []
    for row in cells:
        parts = [
            c.rjust(w) if a == "r" else c.ljust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


def echo_lines(lines: Iterable[str]) -> None:
    for line in lines:
        click.echo(line)
