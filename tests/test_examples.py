"""The examples run and reach what they promise."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str) -> dict:
    sys.path.insert(0, str(EXAMPLES))
    try:
        return runpy.run_path(str(EXAMPLES / name))
    finally:
        sys.path.remove(str(EXAMPLES))


def test_xor_engine_converges(capsys):
    loss = _load("xor_engine.py")["main"]()
    assert loss < 0.01
    out = capsys.readouterr().out
    assert "epoch     0" in out and "predictions" in out
