"""Typical user programs (tests/typing/*.py) type-check under mypy and pyright.

retrograd ships ``py.typed``, so a user's type checker reads its annotations.
Two bugs were found that way (issue 20): mypy called ``rg.save``, ``rg.load``
and ``rg.fit`` "object" (they are loaded lazily through the package's
``__getattr__``), and pyright took ``rg.tensor`` for the submodule
``retrograd/tensor.py``. The programs here use the public API as the README
does; each checker must report no error on them, and must report the one
planted in a bad program (so that a checker that found no module cannot pass).
The programs also run, so that they stay real programs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "typing"
SRC = ROOT / "src"
BAD = "import retrograd as rg\n\nx: int = rg.tensor([1.0])  # a Tensor is not an int\n"


def _env() -> dict[str, str]:
    # This checkout's retrograd, never an installed copy.
    env = {**os.environ, "MYPYPATH": str(SRC)}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _programs() -> list[Path]:
    return sorted(PROGRAMS.glob("*.py"))


@pytest.mark.parametrize("program", _programs(), ids=lambda p: p.stem)
def test_typing_programs_run(program):
    subprocess.run(
        [sys.executable, "-W", "ignore", str(program)],
        env=_env(),
        check=True,
        capture_output=True,
        timeout=300,
    )


def _mypy(paths: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    # follow-imports=silent: check the programs against retrograd's annotations without
    # reporting retrograd's own internals, as mypy treats an installed package.
    command = [sys.executable, "-m", "mypy", "--follow-imports=silent", "--python-version=3.10"]
    command += ["--cache-dir", str(cache), "--no-error-summary", *paths]
    return subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # 10-20 s: run by the README's `pytest -m ""`
def test_mypy_accepts_the_typical_programs(tmp_path):
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it is in the 'test' extra)")
    result = _mypy([str(p) for p in _programs()], tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "bad.py"
    bad.write_text(BAD)
    result = _mypy([str(bad)], tmp_path / "cache")
    assert result.returncode == 1 and 'expression has type "Tensor"' in result.stdout, (
        result.stdout + result.stderr
    )


def _pyright(project: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pyright", "-p", str(project)]
    result = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
    if "error" not in result.stdout and "informations" not in result.stdout:
        # pyright's package fetches its Node.js bundle on first use; without a
        # registry it cannot run, and says so on stderr.
        pytest.skip(f"pyright could not run: {(result.stdout + result.stderr)[-500:]}")
    return result


@pytest.mark.slow  # 10-20 s: run by the README's `pytest -m ""`
def test_pyright_accepts_the_typical_programs(tmp_path):
    if importlib.util.find_spec("pyright") is None:
        pytest.skip("pyright is not installed (it is in the 'test' extra)")
    result = _pyright(PROGRAMS)  # tests/typing/pyrightconfig.json: this checkout's src
    assert result.returncode == 0, result.stdout + result.stderr
    shutil.copy(PROGRAMS / "pyrightconfig.json", tmp_path)
    config = (tmp_path / "pyrightconfig.json").read_text()
    (tmp_path / "pyrightconfig.json").write_text(config.replace("../../src", str(SRC)))
    (tmp_path / "bad.py").write_text(BAD)
    result = _pyright(tmp_path)
    assert result.returncode == 1 and '"Tensor" is not assignable to declared type "int"' in (
        result.stdout
    ), result.stdout + result.stderr
