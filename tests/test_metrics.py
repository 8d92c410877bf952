"""retrograd.metrics: the registry of metric names and the NumPy metrics in it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import r2_score as sk_r2_score

from retrograd.metrics import METRICS, output_accuracy, r2_score


def test_registry_is_a_plain_dict_of_names_to_functions():
    assert METRICS == {"accuracy": output_accuracy, "r2": r2_score}


@settings(deadline=None, max_examples=60)
@given(
    n=st.integers(2, 30),
    m=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    constant=st.booleans(),
    flat=st.booleans(),
)
def test_r2_score_is_scikit_learns(n, m, seed, constant, flat):
    rng = np.random.default_rng(seed)
    y_true = rng.normal(size=(n, m))
    y_pred = y_true + rng.normal(scale=0.5, size=(n, m))
    if constant:  # a constant column: 1 if predicted exactly, else 0 (force_finite)
        y_true[:, 0] = 2.0
        y_pred[:, 0] = 2.0 if seed % 2 else 3.0
    if flat and m == 1:
        y_true, y_pred = y_true.ravel(), y_pred.ravel()
    assert r2_score(y_true, y_pred) == pytest.approx(sk_r2_score(y_true, y_pred), abs=1e-12)


def test_output_accuracy_reads_scores_logits_and_one_hot_targets():
    scores = np.array([[2.0, 1.0, 0.0], [0.0, 0.1, 3.0], [1.0, 5.0, 0.0], [0.0, 1.0, 0.5]])
    labels = np.array([0, 2, 0, 1])
    assert output_accuracy(labels, scores) == 0.75  # argmax: 0, 2, 1, 1
    assert output_accuracy(np.eye(3)[labels], scores) == 0.75  # one-hot targets
    logits = np.array([[-1.0], [0.5], [2.0], [0.0]])  # one column: class 1 when > 0
    assert output_accuracy(np.array([0, 1, 0, 0]), logits) == 0.75
    assert output_accuracy(np.array([0, 1, 1, 1]), logits.ravel()) == 0.75
