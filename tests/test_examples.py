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


def test_xor_with_nn_and_sgd_reaches_the_tutorial_bar(capsys):
    assert _load("xor.py")["main"]() < 0.01


def test_spirals_two_hidden_relu_layers_above_95_percent(capsys):
    assert _load("spirals.py")["main"]() > 0.95
