"""The explanation as Markdown: a heading and a code block per step, the repeat as a table."""

from __future__ import annotations

from .record import Explanation
from .text import history_rows, num, sections

__all__ = ["render_markdown"]


def _repeat(title: str, lines: list[str], exp: Explanation) -> str:
    """The repeat's section: the loss after each step as a table, then the sparkline."""
    rows = history_rows(exp)
    table = ["| step | loss |", "|---:|---:|", *(f"| {s} | {num(v)} |" for s, v in rows)]
    spark, final = lines[2 + len(rows) :]  # after the intro, the header and the rows
    text = [lines[0], "\n".join(table), f"loss: `{spark[6:]}`", final]
    return f"## {title}\n\n" + "\n\n".join(text)


def render_markdown(exp: Explanation) -> str:
    """The report as Markdown: a heading and a code block per step, the repeat as a table."""
    parts = []
    for i, (title, lines) in enumerate(sections(exp)):
        if title == "6. Repeat":
            parts.append(_repeat(title, lines, exp))
            continue
        level = "#" if i == 0 else "##"
        fence = "dot" if title.startswith("Computational") else "text"
        parts.append(f"{level} {title}\n\n```{fence}\n" + "\n".join(lines) + "\n```")
    return "\n\n".join(parts) + "\n"
