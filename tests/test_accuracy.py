"""The issue's accuracy bars: mean test score over seeds 0-4 with the options the README states.

Protocol (as ``bench/accuracy.py``): for each seed a stratified 75/25 split of
the data set (not stratified for the regression set), the seed also setting
the initialisation; :func:`retrograd.pipeline.train` with the command line's
defaults, or with the flags the README gives for that data set. These runs
take about a minute on two cores; ``pytest -m slow`` runs them.
"""

from __future__ import annotations

import statistics
import time

import pytest

from retrograd.data import load_dataset
from retrograd.pipeline import train

pytest.importorskip("sklearn")  # the bundled data sets are scikit-learn's copies

SEEDS = (0, 1, 2, 3, 4)

#: (data set, options beyond the defaults as the README states them, bar on the mean).
CASES = [
    ("digits", {}, 0.98),
    ("iris", {}, 0.96),
    ("wine", {}, 0.98),
    ("breast_cancer", {}, 0.975),
    ("diabetes", {"hidden": (512,), "val_split": 0.1, "lr": 1e-4, "loss": "huber"}, 0.43),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "options", "bar"), CASES, ids=[c[0] for c in CASES])
def test_mean_test_score_over_seeds_meets_the_bar(name, options, bar):
    spec = load_dataset(name)
    key = "test_accuracy" if spec.task == "classification" else "test_r2"
    scores = [train(spec, seed=s, quiet=True, **options).metrics[key] for s in SEEDS]
    mean = statistics.fmean(scores)
    assert mean >= bar, f"{name}: mean {key} {mean:.4f} < {bar} (per seed: {scores})"


@pytest.mark.slow
def test_default_run_on_digits_is_accurate_and_fast():
    # `retrograd train` with no options: digits, seed 0. The issue asks for >= 98% in
    # under 30 s on a 2-core machine; this checks the training itself in 30 s.
    t0 = time.perf_counter()
    result = train("digits", quiet=True)
    seconds = time.perf_counter() - t0
    assert seconds < 30, f"training digits with the defaults took {seconds:.1f} s"
    assert result.metrics["test_accuracy"] >= 0.98


@pytest.mark.slow
def test_the_default_cnn_on_digits_images():
    # `retrograd train --arch cnn` on digits as 1x8x8 images, one seed (the mean over
    # seeds 0-4 is in docs/accuracy.md, measured by bench/accuracy.py --conv). Seeds 0-4
    # scored 98.7-99.3%; the bar sits below that spread, above the MLP's 98.2% mean.
    result = train("digits", arch="cnn", seed=0, quiet=True)
    assert result.model.info["input_shape"] == [1, 8, 8]
    assert result.metrics["test_accuracy"] >= 0.985, result.metrics["test_accuracy"]
