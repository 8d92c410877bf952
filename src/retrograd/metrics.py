"""Scores of a model's outputs against the targets, computed with NumPy.

:data:`METRICS` is the registry of the names that ``fit(metric=...)`` and the
pipeline accept: a plain dict of name -> function, every function called as
``fn(y_true, y_pred) -> float`` on NumPy arrays, scikit-learn's argument order.
``y_pred`` is what the model returned (for classification: class scores or
logits, not labels). The functions follow scikit-learn's names and results
where scikit-learn has the same function (:func:`r2_score`); scikit-learn
itself is not imported.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["METRICS", "Metric", "output_accuracy", "r2_score"]

#: A metric: ``(y_true, y_pred) -> float`` on NumPy arrays of the same length.
Metric = Callable[[np.ndarray, np.ndarray], float]


def output_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of rows whose predicted class, read from the model's outputs, is the target.

    Parameters
    ----------
    y_true : ndarray of shape (n,) or (n, 1), or (n, k) one-hot / probabilities
        Class labels; rows of several columns are read by their argmax.
    y_pred : ndarray of shape (n, k) or (n,) or (n, 1)
        The model's outputs: with k > 1 columns the class is the argmax (class
        scores, logits or probabilities); a single column is one logit per row,
        class 1 when > 0 (as ``BCEWithLogitsLoss`` reads it).

    Returns
    -------
    float
        In [0, 1]. Not scikit-learn's ``accuracy_score``, which takes labels.
    """
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        labels = y_pred.argmax(axis=1)
    else:
        labels = (y_pred.reshape(-1) > 0).astype(np.int64)
    if y_true.ndim == 2 and y_true.shape[1] > 1:  # one-hot or probability targets
        y_true = y_true.argmax(axis=1)
    return float(np.mean(labels == y_true.reshape(-1)))


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination, as scikit-learn's ``r2_score`` (uniform average).

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n,) or (n, m)
        Targets and predictions; with m columns the score is the mean of the
        columns' scores (``multioutput='uniform_average'``).

    Returns
    -------
    float
        1 - (residual sum of squares) / (total sum of squares). A constant
        target column scores 1 if predicted exactly, else 0 (scikit-learn's
        ``force_finite=True``).
    """
    t = y_true.reshape(len(y_true), -1).astype(np.float64)
    p = y_pred.reshape(len(y_pred), -1).astype(np.float64)
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    safe = np.where(ss_tot > 0, ss_tot, 1.0)
    scores = np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


#: The metric names ``fit(metric=...)`` accepts, with their functions ``(y_true, y_pred)``.
METRICS: dict[str, Metric] = {
    "accuracy": output_accuracy,
    "r2": r2_score,
}
