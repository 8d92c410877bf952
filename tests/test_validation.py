"""retrograd.validation: the one rule for 'an integer' and 'a real number' (bools are neither)."""

from __future__ import annotations

import fractions

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn, optim
from retrograd.validation import is_int, is_real


@pytest.mark.parametrize("value", [0, -3, 2**70, np.int8(1), np.int64(5), np.uint32(7)])
def test_integers(value):
    assert is_int(value) and is_real(value)


@pytest.mark.parametrize(
    "value", [0.5, np.float32(1.5), np.float64(-2.0), float("nan"), fractions.Fraction(1, 3)]
)
def test_reals_that_are_not_integers(value):
    assert is_real(value) and not is_int(value)


@pytest.mark.parametrize(
    "value", [True, False, np.bool_(True), "1", None, [1], 1 + 2j, rg.tensor(1)]
)
def test_neither(value):
    assert not is_int(value) and not is_real(value)


def test_callers_refuse_bools_and_accept_numpy_numbers():
    """The rule as users meet it: a bool is refused where a count or a rate belongs."""
    with pytest.raises((TypeError, ValueError)):
        nn.Dropout(p=True)
    with pytest.raises((TypeError, ValueError)):
        optim.lr_scheduler.StepLR(optim.SGD([nn.Parameter(rg.zeros(1))], lr=0.1), step_size=True)
    nn.Dropout(p=np.float32(0.5))  # NumPy's numbers are numbers
    optim.lr_scheduler.StepLR(optim.SGD([nn.Parameter(rg.zeros(1))], lr=0.1), step_size=np.int64(2))
