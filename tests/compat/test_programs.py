"""Small PyTorch programs, run unchanged under torch and under ``import retrograd as torch``.

Each ``prog_*.py`` file here is a script written for PyTorch (``import torch``,
``import torch.nn as nn``, ``from torch.utils.data import DataLoader``, ...). The
import switch below runs it twice: once as it is, and once with retrograd's
modules registered under torch's names in ``sys.modules`` for the duration of the
run, which is what ``import retrograd as torch`` does for a whole program
(docs/pytorch.md, "Porting a script"). Each script leaves a ``RESULT`` dict
(losses, rates, values); the two runs must agree to 1e-5 relative in float32
(the initial weights come from one NumPy generator, since torch's and
retrograd's random streams differ), and sampled outputs must be well-formed.
"""

from __future__ import annotations

import importlib
import runpy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
PROGRAMS = sorted(HERE.glob("prog_*.py"))

#: torch's modules a script may import, each replaced by retrograd's of the same path.
TORCH_MODULES = (
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.nn.init",
    "torch.nn.utils",
    "torch.optim",
    "torch.optim.lr_scheduler",
    "torch.autograd",
    "torch.utils",
    "torch.utils.data",
    "torch.linalg",
    "torch.cuda",
)


@contextmanager
def import_as_torch(library: str) -> Iterator[None]:
    """While inside, ``import torch...`` gives ``library``'s modules (``'torch'``: no change)."""
    if library == "torch":
        yield
        return
    saved = {name: sys.modules.get(name) for name in TORCH_MODULES}
    try:
        for name in TORCH_MODULES:
            sys.modules[name] = importlib.import_module(library + name[len("torch") :])
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def run_program(path: Path, library: str) -> dict:
    """Run one script under ``library``; return its ``RESULT``."""
    with import_as_torch(library):
        namespace = runpy.run_path(str(path), run_name="__main__")
    return namespace["RESULT"]


def test_the_switch_gives_retrograd_and_restores_torch():
    import torch

    with import_as_torch("retrograd"):
        import torch as swapped
        import torch.nn.functional as F
        from torch.utils.data import DataLoader

        assert swapped.__name__ == "retrograd" and F.__name__ == "retrograd.nn.functional"
        assert DataLoader.__module__.startswith("retrograd")
    import torch as again

    assert again is torch and sys.modules["torch.nn"].__name__ == "torch.nn"


def _compare(ours, theirs, where: str) -> None:
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), where
        for k in theirs:
            _compare(ours[k], theirs[k], f"{where}.{k}")
    elif isinstance(theirs, (list, tuple)) and theirs and isinstance(theirs[0], str):
        assert ours == theirs, where
    elif isinstance(theirs, str) or isinstance(theirs, bool):
        assert ours == theirs, where
    else:
        np.testing.assert_allclose(
            np.asarray(ours, dtype=np.float64),
            np.asarray(theirs, dtype=np.float64),
            rtol=1e-5,
            atol=1e-6,
            err_msg=where,
        )


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_program_runs_unchanged_and_matches_torch(path: Path):
    theirs = run_program(path, "torch")
    ours = run_program(path, "retrograd")
    exact = theirs.pop("same", {})
    checks = theirs.pop("check", {})
    ours_exact = ours.pop("same", {})
    ours_checks = ours.pop("check", {})
    _compare(ours_exact, exact, path.stem)
    assert set(ours_checks) == set(checks)
    for library, found in (("torch", checks), ("retrograd", ours_checks)):
        failed = [name for name, ok in found.items() if not ok]
        assert not failed, f"{path.stem} under {library}: checks {failed} failed"


def test_there_are_at_least_ten_programs():
    assert len(PROGRAMS) >= 10
