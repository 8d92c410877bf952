"""The tutorials (docs/tutorials/*.py) run cell by cell and assert the numbers they claim.

Each tutorial is rendered once per test session by ``docs/hooks.py`` in a fresh
process (the page the site shows: the Markdown, the code, its output and its figures);
``tests/test_docs_site.py`` builds the site from the same rendered pages.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def docs_hooks():
    """``docs/hooks.py`` as a module (it is MkDocs' hook file, not part of the package)."""
    name = "retrograd_docs_hooks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "hooks.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_RENDERED = Path(tempfile.mkdtemp(prefix="retrograd-tutorials-"))
#: The environment variable that hands the rendered pages to ``mkdocs build``.
RENDERED_ENV_NAME = docs_hooks().RENDERED_ENV


def rendered(script: Path) -> Path:
    """The folder holding ``script``'s rendered page, rendering it on first use."""
    if not (_RENDERED / f"{script.stem}.md").exists():
        docs_hooks().render_in_subprocess(script, _RENDERED)
    return _RENDERED


def render_all() -> Path:
    """The folder of every tutorial's rendered page (for the site build)."""
    for script in docs_hooks().tutorial_scripts():
        rendered(script)
    return _RENDERED


SCRIPTS = docs_hooks().tutorial_scripts()


def test_there_are_seven_tutorials_each_in_the_nav_and_in_percent_format():
    assert [s.stem[:2] for s in SCRIPTS] == ["01", "02", "03", "04", "05", "06", "07"]
    nav = (ROOT / "mkdocs.yml").read_text()
    for script in SCRIPTS:
        assert f"tutorials/{script.stem}.md" in nav, script.name
        assert script.read_text().startswith("# %% [markdown]\n# # "), script.name


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.stem)
def test_the_tutorial_runs_and_its_page_shows_output_and_figures(script):
    folder = rendered(script)
    page = (folder / f"{script.stem}.md").read_text()
    assert "```text" in page  # what the cells printed
    figures = re.findall(r"!\[Figure \d+\]\(([^)]+)\)", page)
    assert figures, f"{script.name} draws no figure"
    for name in figures:
        assert (folder / name).stat().st_size > 1000, name


def test_a_failing_cell_fails_the_render_and_names_the_cell(tmp_path):
    script = tmp_path / "01_broken.py"
    script.write_text(
        "# %% [markdown]\n# # Broken\n\n# %%\nx = 1\n\n# %%\nassert x == 2, 'x is not 2'\n"
    )
    with pytest.raises(RuntimeError, match=r"(?s)01_broken\.py.*cell 3.*x is not 2"):
        docs_hooks().render_in_subprocess(script, tmp_path / "out")


def test_a_cell_shows_what_it_prints_and_its_last_value(tmp_path):
    script = tmp_path / "01_values.py"
    script.write_text("# %% [markdown]\n# # Values\n\n# %%\nprint('hello')\n6 * 7\n")
    docs_hooks().render_in_subprocess(script, tmp_path / "out")
    page = (tmp_path / "out" / "01_values.md").read_text()
    assert "```text\nhello\n42\n```" in page
    assert "# Values" in page and "```python\nprint('hello')\n6 * 7\n```" in page
