"""Every code block of the README and of docs/*.md runs (docs/documentation.md, "Snippets").

The conventions the pages follow:

- A page's ```python blocks run in order, in one namespace, as a reader runs them top
  to bottom: a later block may use what an earlier block of the same page defined, and
  nothing else (a name defined nowhere on the page fails the test).
- A page's ```bash blocks whose commands are all ``retrograd ...`` run in order too, in
  one folder, with ``retrograd`` the command of this checkout (slow: they train).
- A block that is not to be run says so on the line just above its fence, with the
  reason: ``<!-- test: skip (installs packages) -->``. Every other ```bash block
  must run.
- The blocks run in a fresh folder that holds the example files the pages name
  (``houses.csv``, ``new_flowers.csv``, ``data.npz``, ``mnist/`` ...), written by
  :func:`_example_files`; the ```text and ```json blocks are output and formats, not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(
    r"^(?P<marker><!--[^\n]*-->\n)?```(?P<lang>\w+)\n(?P<code>.*?)^```", re.S | re.M
)
_SKIP = re.compile(r"<!--\s*test:\s*skip\b\s*(?P<why>.*?)\s*-->")


def blocks(page: Path, lang: str) -> list[tuple[int, str, str | None]]:
    """``(line, code, skip reason or None)`` for each ```lang block of ``page``."""
    text = page.read_text()
    found = []
    for m in _BLOCK.finditer(text):
        if m.group("lang") != lang:
            continue
        skip = _SKIP.search(m.group("marker") or "")
        line = text.count("\n", 0, m.start("code"))
        found.append((line, m.group("code"), skip.group("why") if skip else None))
    return found


def _example_files(folder: Path) -> None:
    """The files the pages' examples read, small and made here (iris-like flowers, houses)."""
    from retrograd.data import load_dataset

    iris = load_dataset("iris")
    header = ",".join(iris.feature_names)
    rows = [",".join(f"{v:g}" for v in x) for x in iris.X[:30]]
    (folder / "new_flowers.csv").write_text("\n".join([header, *rows]) + "\n")
    # The labels as the named data set has them (0, 1, 2), so that a model trained on
    # `--data iris` knows them.
    labelled = [f"{r},{k}" for r, k in zip(rows, iris.y[:30], strict=True)]
    for name in ("flowers.csv", "labelled.csv"):
        (folder / name).write_text("\n".join([header + ",species", *labelled]) + "\n")

    rng = np.random.default_rng(0)
    area, rooms, age = rng.uniform(40, 200, 300), rng.integers(1, 7, 300), rng.uniform(0, 80, 300)
    price = 2000 * area + 10000 * rooms - 500 * age + rng.normal(0, 20000, 300)
    lines = ["area,rooms,age,price"] + [
        f"{a:.1f},{r},{g:.1f},{p:.0f}" for a, r, g, p in zip(area, rooms, age, price, strict=True)
    ]
    (folder / "houses.csv").write_text("\n".join(lines) + "\n")
    np.savez(folder / "data.npz", X=rng.normal(size=(50, 3)), y=rng.integers(0, 2, 50))

    mnist = folder / "mnist"
    mnist.mkdir()
    images = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 20, dtype=np.uint8)
    for prefix in ("train", "t10k"):
        head = np.array([0x803, 20, 28, 28], dtype=">i4").tobytes()
        (mnist / f"{prefix}-images-idx3-ubyte").write_bytes(head + images.tobytes())
        head = np.array([0x801, 20], dtype=">i4").tobytes()
        (mnist / f"{prefix}-labels-idx1-ubyte").write_bytes(head + labels.tobytes())
    # A PyTorch script of the reader's own, which docs/pytorch.md runs through retrograd.
    (folder / "train.py").write_text(
        "import torch\nfrom torch import nn, optim\n\n"
        "model = nn.Linear(3, 1)\nopt = optim.SGD(model.parameters(), lr=0.1)\n"
        "x, y = torch.randn(16, 3), torch.randn(16, 1)\nfor _ in range(3):\n"
        "    opt.zero_grad()\n    loss = ((model(x) - y) ** 2).mean()\n"
        "    loss.backward()\n    opt.step()\n"
        "assert type(loss).__module__.startswith('retrograd'), type(loss)\n"
    )
    (folder / "my_weights.json").write_text(
        '{"layers": [{"weight": [[0.5, -0.3], [0.2, 0.4]], "bias": [0.1, -0.1]},'
        ' {"weight": [[0.6, -0.4]], "bias": [0.05]}]}'
    )


def _env() -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return env


# Runs one page's python blocks in order in one namespace; names the failing block.
_RUNNER = """
import sys, traceback
namespace = {"__name__": "__main__"}
for path, line, code in BLOCKS:
    try:
        exec(compile(code, f"{path}, block at line {line}", "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        sys.exit(f"{path}: the python block at line {line} failed")
"""


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


PYTHON_PAGES = [p for p in PAGES if blocks(p, "python")]


@pytest.mark.slow  # about 3 minutes for every page: several train a network
@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_name)
def test_the_python_blocks_of_a_page_run_in_order(page, tmp_path):
    todo = [(_name(page), line, code) for line, code, skip in blocks(page, "python") if not skip]
    _example_files(tmp_path)
    script = tmp_path / "run_blocks.py"
    script.write_text(f"BLOCKS = {todo!r}\n{_RUNNER}")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]


def _runs_only_retrograd(code: str) -> bool:
    lines = [ln.split("#")[0].strip() for ln in code.splitlines()]
    return all(ln.startswith("retrograd ") or ln == "retrograd" for ln in lines if ln)


def test_every_bash_block_runs_retrograd_or_says_why_it_is_skipped():
    wrong = [
        f"{_name(page)}:{line}"
        for page in PAGES
        for line, code, skip in blocks(page, "bash")
        if skip is None and not _runs_only_retrograd(code)
    ]
    assert not wrong, (
        "these ```bash blocks run something other than `retrograd ...`: run them in a "
        "test or mark them <!-- test: skip (why) --> on the line above the fence: "
        f"{wrong}"
    )


def test_skip_markers_give_a_reason():
    bare = [
        f"{_name(page)}:{line}"
        for page in PAGES
        for lang in ("bash", "python")
        for line, _, skip in blocks(page, lang)
        if skip is not None and not skip.strip("() ")
    ]
    assert not bare


BASH_PAGES = [p for p in PAGES if any(skip is None for _, _, skip in blocks(p, "bash"))]


@pytest.mark.slow
@pytest.mark.parametrize("page", BASH_PAGES, ids=_name)
def test_the_retrograd_commands_of_a_page_run_in_order(page, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "retrograd"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m retrograd "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    _example_files(work)
    env = _env()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    for line, code, skip in blocks(page, "bash"):
        if skip:
            continue
        proc = subprocess.run(
            ["bash", "-e", "-c", code],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, f"{_name(page)}:{line}\n{proc.stderr[-4000:]}"
