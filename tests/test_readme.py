"""The README's two commands and CI stay in step."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text)[:2]


def test_readme_starts_with_two_commands_that_make_their_own_venv():
    run, test = _readme_commands()
    for cmd in (run, test):
        assert cmd.startswith("python3 -m venv .venv && ")
    assert "pip install -e '.[cli]'" in run and run.endswith("retrograd train")
    assert "pytest" in test and "[test]" in test


def test_ci_runs_the_readme_test_command_exactly():
    _, test = _readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci
