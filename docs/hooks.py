"""MkDocs hooks: the tutorials run and become pages; CHANGELOG.md becomes a page.

A tutorial is a jupytext percent-format script, ``docs/tutorials/NN_name.py``: cells
start at ``# %%`` lines, Markdown cells at ``# %% [markdown]`` lines. At build time
each one runs, cell by cell, in a fresh Python process (working directory: a new
temporary folder, matplotlib's Agg backend), and its page is the Markdown cells, the
code, what each code cell printed (and the value of its last expression, as a
notebook shows it), and every figure it drew, as a PNG. A cell that raises fails the
build, and so does a failed ``assert``: the tutorials assert the numbers they claim.

Run on its own, this file renders one tutorial::

    python docs/hooks.py docs/tutorials/01_backprop_by_hand.py OUT_DIR

which writes ``OUT_DIR/01_backprop_by_hand.md`` and its figures; the tests do that
once per tutorial and hand the folder to ``mkdocs build`` through the environment
variable ``RETROGRAD_TUTORIALS_RENDERED``, so that a test session runs each tutorial
once.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
TUTORIALS = DOCS / "tutorials"
#: A folder of already rendered tutorials (``NAME.md`` and figures) to use as they are.
RENDERED_ENV = "RETROGRAD_TUTORIALS_RENDERED"


def tutorial_scripts() -> list[Path]:
    """The tutorials in their reading order (file names start with their number)."""
    return sorted(p for p in TUTORIALS.glob("[0-9]*.py"))


# ---------------------------------------------------------------------------
# Rendering one tutorial (runs in its own process)
# ---------------------------------------------------------------------------


def _run_cell(source: str, namespace: dict, filename: str) -> None:
    """Execute a cell; print the value of a final expression as a notebook would."""
    tree = ast.parse(source, filename=filename)
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr):
        body = ast.Module(body=tree.body[:-1], type_ignores=[])
        exec(compile(body, filename, "exec"), namespace)
        value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
        if value is not None and not _from_plotting(last.value, value):
            print(repr(value))
    else:
        exec(compile(tree, filename, "exec"), namespace)


def _from_plotting(expression: ast.expr, value: object) -> bool:
    """Whether a cell's last value is what a plot call returned (not worth showing)."""
    if isinstance(expression, ast.Call) and ast.unparse(expression).startswith("plt."):
        return True
    items = value if isinstance(value, list | tuple) else [value]
    return any(type(item).__module__.startswith("matplotlib") for item in items)


def _save_figures(out_dir: Path, stem: str, count: int) -> list[str]:
    """Write every open matplotlib figure as a PNG; return their file names."""
    if "matplotlib.pyplot" not in sys.modules:
        return []
    import matplotlib.pyplot as plt

    names = []
    for number in plt.get_fignums():
        count += 1
        name = f"{stem}-{count}.png"
        plt.figure(number).savefig(out_dir / name, dpi=80, bbox_inches="tight")
        names.append(name)
    plt.close("all")
    return names


def render(script: Path, out_dir: Path) -> Path:
    """Run ``script`` cell by cell and write its page, ``out_dir/<stem>.md``, and figures."""
    import jupytext

    os.environ["MPLBACKEND"] = "Agg"
    script, out_dir = script.resolve(), out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(script)
    stem = script.stem
    parts = [f"<!-- Generated from docs/tutorials/{script.name} by docs/hooks.py: edit that. -->\n"]
    namespace: dict = {"__name__": "__main__", "__file__": str(script)}
    figures = 0
    workdir = tempfile.mkdtemp(prefix=f"retrograd-{stem}-")
    os.chdir(workdir)
    for index, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "markdown":
            parts.append(cell.source.strip() + "\n")
            continue
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                _run_cell(cell.source, namespace, f"{script.name}, cell {index}")
        except BaseException:
            sys.stdout.write(buffer.getvalue())
            sys.stderr.write(f"{script.name}: cell {index} failed:\n{cell.source}\n\n")
            traceback.print_exc()
            raise SystemExit(1) from None
        parts.append(f"```python\n{cell.source.strip()}\n```\n")
        printed = buffer.getvalue().rstrip()
        if printed:
            parts.append(f"```text\n{printed}\n```\n")
        for name in _save_figures(out_dir, stem, figures):
            figures += 1
            parts.append(f"![Figure {figures}]({name})\n")
    parts.append(
        f"---\n\nThis page is [`docs/tutorials/{script.name}`]({script.name}), run: "
        "`python docs/hooks.py` executes it cell by cell when the site is built, and the "
        "test suite runs it too. Open it as a notebook with "
        f"`jupytext --to notebook {script.name}`.\n"
    )
    page = out_dir / f"{stem}.md"
    page.write_text("\n".join(parts))
    return page


def render_in_subprocess(script: Path, out_dir: Path, timeout: float = 600) -> None:
    """Render ``script`` in a fresh Python process; raise with its output if it fails."""
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(script), str(out_dir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"tutorial {script.name} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )


# ---------------------------------------------------------------------------
# MkDocs hooks
# ---------------------------------------------------------------------------


def on_files(files, config):
    """Add the rendered tutorials, their figures and the changelog to the site."""
    from mkdocs.structure.files import File

    changelog = (ROOT / "CHANGELOG.md").read_text()
    files.append(File.generated(config, "changelog.md", content=changelog))

    given = os.environ.get(RENDERED_ENV)
    out_dir = Path(given) if given else Path(tempfile.mkdtemp(prefix="retrograd-tutorials-"))
    for script in tutorial_scripts():
        if not (out_dir / f"{script.stem}.md").exists():
            render_in_subprocess(script, out_dir)
        for path in sorted(out_dir.glob(f"{script.stem}*")):
            uri = f"tutorials/{path.name}"
            files.append(File.generated(config, uri, content=path.read_bytes()))
    return files


# The docstrings use Sphinx's roles (":class:`Module`", ":func:`~retrograd.fit`"), which
# Markdown leaves as text before the code span; show the code span alone, with the
# short name where the role asked for it ("~").
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|const):<code>(~?)([^<]*)</code>")


def _role_to_code(match: re.Match) -> str:
    name = match.group(2).split(".")[-1] if match.group(1) else match.group(2)
    return f"<code>{name}</code>"


def on_page_content(html, page, config, files):
    """Drop the Sphinx role prefixes of the docstrings' cross-references."""
    return _ROLE.sub(_role_to_code, html)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python docs/hooks.py TUTORIAL.py OUT_DIR")
    render(Path(sys.argv[1]), Path(sys.argv[2]))
