"""The version is written in one place, and the changelog names it."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

import retrograd

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_reads_the_version_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "retrograd.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", retrograd.__version__)


def test_the_installed_metadata_agrees_with_the_package():
    # The editable install's metadata is written from __version__ at install time.
    assert version("retrograd") == retrograd.__version__


def test_the_changelog_has_a_section_for_the_version_and_keeps_the_format():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    assert "## [Unreleased]" in text
    assert f"## [{retrograd.__version__}] - " in text
    dates = re.findall(r"^## \[[\d.]+\] - (\d{4}-\d{2}-\d{2})$", text, re.M)
    assert dates == sorted(dates, reverse=True) and dates
    for heading in re.findall(r"^### (.+)$", text, re.M):
        assert heading in {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
