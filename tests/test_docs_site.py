"""The documentation site builds with warnings as errors (mkdocs.yml, docs/documentation.md).

``mkdocs build --strict`` fails on a broken link or anchor, a page missing from the
navigation, an unresolved cross-reference and a docstring that mkdocstrings cannot
read (a parameter that is not in the signature...). The tutorials come rendered from
``tests/test_tutorials.py``, so a test session runs each one once.
"""

from __future__ import annotations

import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import retrograd

from .test_tutorials import RENDERED_ENV_NAME, render_all

ROOT = Path(__file__).resolve().parent.parent


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg")
    env[RENDERED_ENV_NAME] = str(render_all())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml"),
         "--site-dir", str(site)],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@pytest.mark.slow
def test_the_site_builds_strict_with_the_api_reference_and_the_tutorials(tmp_path):
    site = tmp_path / "site"
    proc = build(ROOT, site)
    assert proc.returncode == 0, proc.stderr[-6000:]
    nn_page = (site / "api" / "nn" / "index.html").read_text()
    assert 'id="retrograd.nn.Linear"' in nn_page and 'id="retrograd.nn.Conv2d"' in nn_page
    assert ":class:" not in nn_page  # the docstrings' Sphinx roles are shown as code
    tutorial = site / "tutorials" / "01_backprop_by_hand"
    assert "L after the update = 0.1574" in (tutorial / "index.html").read_text()
    assert (site / "tutorials" / "01_backprop_by_hand-1.png").exists()
    assert (site / "tutorials" / "01_backprop_by_hand.py").exists()  # the script, to download
    assert "Changelog" in (site / "changelog" / "index.html").read_text()


@pytest.mark.slow
def test_a_broken_link_fails_the_build(tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(ROOT / "docs", root / "docs")
    for name in ("mkdocs.yml", "CHANGELOG.md"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "src", root / "src")
    page = root / "docs" / "engine.md"
    page.write_text(page.read_text() + "\nSee [the missing page](missing.md).\n")
    proc = build(root, tmp_path / "site")
    assert proc.returncode != 0
    assert "missing.md" in proc.stderr


def test_every_public_module_has_an_api_page():
    pages = "\n".join(p.read_text() for p in (ROOT / "docs" / "api").glob("*.md"))
    documented = set(re.findall(r"^::: (\S+)", pages, re.M))
    public = {
        "retrograd", "retrograd.nn", "retrograd.nn.functional", "retrograd.nn.init",
        "retrograd.nn.utils", "retrograd.optim", "retrograd.optim.lr_scheduler",
        "retrograd.autograd", "retrograd.autograd.functional", "retrograd.data",
        "retrograd.utils.data", "retrograd.training", "retrograd.serialization",
        "retrograd.pipeline", "retrograd.sklearn", "retrograd.metrics",
        "retrograd.distributed", "retrograd.explain", "retrograd.viz",
        "retrograd.capture", "retrograd.threads", "retrograd.linalg", "retrograd.devices",
        "retrograd.cuda",
    }  # fmt: skip
    # A new top-level module of the package is public unless its name starts with "_"
    # or it is one of the internal layers below the API (docs/architecture.md).
    internal = {"ops", "cli", "options", "validation", "tensor", "tensor_functions",
                "creation", "random", "functional", "gradcheck", "utils"}  # fmt: skip
    top = {
        f"retrograd.{m.name}"
        for m in pkgutil.iter_modules(retrograd.__path__)
        if not m.name.startswith("_") and m.name not in internal
    }
    assert top <= public, f"add an API page for {top - public}"
    assert public <= documented, public - documented


def _filled_doc_objects() -> list[tuple[str, object]]:
    """Every object whose docstring fields ``fill_doc`` fills, found by its source."""
    import importlib

    found = []
    for path in sorted((ROOT / "src" / "retrograd").rglob("*.py")):
        text = path.read_text()
        if "fill_doc" not in text or path.name == "_docstrings.py":
            continue
        module = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
        mod = importlib.import_module(module.removesuffix(".__init__"))
        for obj in vars(mod).values():
            if getattr(obj, "__module__", None) != mod.__name__:
                continue
            found.append((f"{mod.__name__}.{getattr(obj, '__qualname__', '?')}", obj))
            for name, member in vars(obj).items() if isinstance(obj, type) else ():
                found.append((f"{mod.__name__}.{obj.__qualname__}.{name}", member))
    return found


def test_no_docstring_keeps_a_shared_field_unfilled():
    # retrograd._docstrings.fill_doc fills the {name} lines of shared docstring text at
    # import; a field with no text (a typo, a forgotten decorator) would stay in the
    # docstring, and the site shows the run-time docstring (docs/griffe_fill_doc.py).
    field = re.compile(r"^\s*\{[a-z_]+\}\s*$", re.M)
    objects = _filled_doc_objects()
    names = {name for name, _ in objects}
    assert "retrograd.nn.functional.mse_loss" in names  # the walk finds the loss functions
    left = [
        name
        for name, obj in objects
        if isinstance(getattr(obj, "__doc__", None), str) and field.search(obj.__doc__)
    ]
    assert not left, f"unfilled docstring fields in {left}"
