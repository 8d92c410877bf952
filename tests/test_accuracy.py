"""The issue's accuracy bars: mean test score over seeds 0-4 with the options the README states.

Protocol (as ``bench/accuracy.py``): for each seed a stratified 75/25 split of
the data set (not stratified for the regression set), the seed also setting
the initialisation; :func:`retrograd.pipeline.train` with the command line's
defaults, or with the flags the README gives for that data set. These runs
take about a minute on two cores; ``pytest -m slow`` runs them.
"""

from __future__ import annotations

import os
import statistics
import sys

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
def test_default_run_on_digits_is_accurate():
    # `retrograd train` with no options: digits, seed 0, >= 98%. Its time is measured by
    # bench/ (no timed assertions in tests: CI machines are shared).
    result = train("digits", quiet=True)
    assert result.metrics["test_accuracy"] >= 0.98


@pytest.mark.slow
def test_the_default_cnn_on_digits_images_meets_the_bar_over_seeds():
    # `retrograd train --arch cnn` on digits as 1x8x8 images: the bar, >= 99.0% mean
    # test accuracy over seeds 0-4 (99.42% measured, 2237 of 2250 rows; docs/accuracy.md).
    # The default's label smoothing 0.2 was chosen on validation rows, not on these.
    spec = load_dataset("digits")
    results = [train(spec, arch="cnn", seed=s, quiet=True) for s in SEEDS]
    assert results[0].model.info["input_shape"] == [1, 8, 8]
    assert results[0].model.info["options"]["label_smoothing"] == 0.2
    scores = [r.metrics["test_accuracy"] for r in results]
    assert statistics.fmean(scores) >= 0.99, scores


@pytest.mark.slow
def test_the_mnist1d_cnn_meets_the_papers_number():
    # MNIST-1D with the paper's split (4,000 train / 1,000 test): bench/accuracy.py's
    # "mnist1d CNN" case, seed 0 (95.1%; seeds 0-4 are in docs/accuracy.md). The paper's
    # CNN reaches 94%, its MLP 68%.
    pytest.importorskip("mnist1d")
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
    sys.path.insert(0, bench)
    try:
        from accuracy import CONV_CASES
    finally:
        sys.path.remove(bench)

    name, options, bar, _ = CONV_CASES["mnist1d CNN"]
    test = load_dataset(name, split="test")
    result = train(load_dataset(name), seed=0, test_split=0.0, quiet=True, **options)
    assert result.model.score(test.X, test.y) >= bar
