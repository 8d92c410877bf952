"""The README's two commands and CI stay in step."""

from __future__ import annotations

import re
import subprocess
import sys
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


def test_the_cnn_on_digits_example_runs_and_learns(tmp_path):
    # The README's "CNN on digits in ten lines", run as written (10 epochs, a few seconds).
    text = (ROOT / "README.md").read_text()
    (snippet,) = [b for b in re.findall(r"```python\n(.+?)```", text, re.S) if "nn.Conv2d" in b]
    script = tmp_path / "cnn.py"
    script.write_text(snippet)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split()[-1]) > 0.9
