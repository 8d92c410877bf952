"""``retrograd.pipeline.train``'s CNN training options: ``augment`` and ``label_smoothing``.

Small networks and one or two epochs on digits (seconds); the accuracy of the
default CNN is in ``tests/test_accuracy.py`` (slow).
"""

from __future__ import annotations

import numpy as np
import pytest

from retrograd import nn, pipeline
from retrograd.data.transforms import RandomShift
from retrograd.options import OptionError

pytest.importorskip("sklearn")  # digits is scikit-learn's copy


# ------------------------------------------------------------------ train(augment='shift')


def _small_cnn_run(**options):
    kwargs = {"arch": "cnn", "channels": (4,), "hidden": (16,), "epochs": 2, "quiet": True}
    return pipeline.train("digits", **{**kwargs, **options})


def _weights(result):
    return [p.array.copy() for p in result.model.network.parameters()]


@pytest.fixture
def shift_calls(monkeypatch):
    """The shapes of the batches RandomShift is called on, in order."""
    calls = []
    original = RandomShift.__call__

    def spy(self, batch):
        calls.append(tuple(np.shape(batch)))
        return original(self, batch)

    monkeypatch.setattr(RandomShift, "__call__", spy)
    return calls


def test_augment_shift_transforms_the_training_batches_only(shift_calls):
    result = _small_cnn_run(augment="shift", val_split=0.1, batch_size=64)
    n_train, epochs = result.metrics["n_train"], result.metrics["epochs"]
    # Every training row once per epoch, as images; the validation and test parts never.
    assert sum(shape[0] for shape in shift_calls) == n_train * epochs
    assert {shape[1:] for shape in shift_calls} == {(1, 8, 8)}
    assert max(shape[0] for shape in shift_calls) == 64
    assert result.model.info["options"]["augment"] == "shift"


def test_augment_shift_repeats_by_seed_and_changes_the_training():
    first, again = _small_cnn_run(augment="shift"), _small_cnn_run(augment="shift")
    for a, b in zip(_weights(first), _weights(again), strict=True):
        np.testing.assert_array_equal(a, b)
    plain = _small_cnn_run()
    assert plain.model.info["options"]["augment"] == "none"
    assert any(
        not np.array_equal(a, b) for a, b in zip(_weights(first), _weights(plain), strict=True)
    )


def test_augmented_batches_go_through_the_capture_step_as_plain_ones(monkeypatch):
    # fit's TrainStep sees every augmented batch, as it sees plain ones, and replays each
    # (the CNN's label smoothing included), and capture=False trains the same model.
    from retrograd import training

    steps = []

    class Recorded(training.TrainStep):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            steps.append(self)

    monkeypatch.setattr(training, "TrainStep", Recorded)
    counts = []
    for augment in ("none", "shift"):
        captured = _small_cnn_run(augment=augment, capture=True)
        step = steps[-1]
        counts.append((step.captures, step.replays, step.eager_steps, step.reason))
    # a capture is a replay too: every step replayed, none eager
    assert counts[0] == counts[1] == (2, 2 * len(range(0, 1347, 32)), 0, None)
    eager = _small_cnn_run(augment="shift", capture=False)
    assert captured.history.train_loss == eager.history.train_loss
    for a, b in zip(_weights(captured), _weights(eager), strict=True):
        np.testing.assert_array_equal(a, b)


def test_augment_on_an_mlp_or_an_unknown_name_is_refused_naming_the_option():
    with pytest.raises(OptionError, match="needs arch 'cnn'") as info:
        pipeline.train("digits", augment="shift", epochs=1, quiet=True)
    assert info.value.option == "augment"
    with pytest.raises(OptionError, match="unknown augment 'rotate'; expected one of 'none', "):
        pipeline.train("digits", arch="cnn", augment="rotate", epochs=1, quiet=True)


# ------------------------------------------------------------------ label_smoothing


@pytest.fixture
def losses(monkeypatch):
    """The loss modules train() makes, in order."""
    made = []
    original = pipeline.get_loss

    def spy(*args, **kwargs):
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(pipeline, "get_loss", spy)
    return made


def test_label_smoothing_defaults_to_0_2_for_a_cnn_and_0_for_an_mlp(losses):
    cnn = _small_cnn_run(epochs=1)
    mlp = pipeline.train("digits", hidden=(16,), epochs=1, quiet=True)
    assert [type(loss) for loss in losses] == [nn.CrossEntropyLoss] * 2
    assert [loss.label_smoothing for loss in losses] == [pipeline.CNN_LABEL_SMOOTHING, 0.0]
    assert pipeline.CNN_LABEL_SMOOTHING == 0.2
    assert cnn.model.info["options"]["label_smoothing"] == 0.2
    assert mlp.model.info["options"]["label_smoothing"] == 0.0


def test_an_explicit_label_smoothing_is_used_by_either_network(losses):
    cnn = _small_cnn_run(epochs=1, label_smoothing=0.0)
    pipeline.train("digits", hidden=(16,), epochs=1, quiet=True, label_smoothing=0.2)
    assert [loss.label_smoothing for loss in losses] == [0.0, 0.2]
    assert cnn.model.info["options"]["label_smoothing"] == 0.0


def test_label_smoothing_changes_the_training_of_the_default_cnn():
    smoothed, plain = _small_cnn_run(), _small_cnn_run(label_smoothing=0.0)
    assert smoothed.history.train_loss != plain.history.train_loss


@pytest.mark.parametrize(
    ("data", "value", "fragment"),
    [
        ("diabetes", 0.1, "label_smoothing 0.1 smooths class labels, but the data set is a "
         "regression task"),
        ("digits", 1.5, "label_smoothing must be a number in [0, 1], got 1.5"),
        ("digits", -0.1, "label_smoothing must be a number in [0, 1], got -0.1"),
    ],
)  # fmt: skip
def test_a_bad_label_smoothing_is_refused_naming_the_option(data, value, fragment):
    with pytest.raises(OptionError) as info:
        pipeline.train(data, epochs=1, quiet=True, label_smoothing=value)
    assert info.value.option == "label_smoothing" and fragment in str(info.value)


def test_get_loss_smooths_cross_entropy_only():
    assert pipeline.get_loss("auto", "classification", 0.3).label_smoothing == 0.3
    assert type(pipeline.get_loss("mse", "regression", 0.0)) is nn.MSELoss
    with pytest.raises(ValueError, match="label_smoothing 0.3 is for the cross-entropy loss, not"):
        pipeline.get_loss("huber", "regression", 0.3)


def test_a_resumed_augmented_run_draws_the_shifts_of_an_uninterrupted_one(tmp_path):
    # The shifts come from the global generator, whose state the checkpoint keeps.
    whole = _small_cnn_run(augment="shift", epochs=3)
    checkpoint = tmp_path / "ckpt.safetensors"

    def stop_after_one(epoch, record, model):
        if epoch == 1:
            raise KeyboardInterrupt

    first = _small_cnn_run(
        augment="shift", epochs=3, checkpoint_path=checkpoint, callbacks=[stop_after_one]
    )
    assert first.metrics["epochs"] == 1
    resumed = _small_cnn_run(augment="shift", epochs=3, resume_from=checkpoint)
    assert resumed.history.train_loss == whole.history.train_loss
    for a, b in zip(_weights(resumed), _weights(whole), strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ bench/accuracy.py --select


def test_select_scores_on_the_training_part_and_never_sees_the_test_rows(monkeypatch):
    import os
    import sys

    from retrograd.data import load_dataset, train_val_test_split

    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
    sys.path.insert(0, bench)
    try:
        import accuracy
    finally:
        sys.path.remove(bench)
    seen = []
    original = pipeline.train

    def spy(spec, **options):
        seen.append(spec)
        return original(spec, **options)

    monkeypatch.setattr(pipeline, "train", spy)
    scores = accuracy.run_select({"epochs": 1, "channels": (4,), "hidden": (16,)}, [3])
    digits = load_dataset("digits")
    rows = np.arange(digits.n_samples)
    split = train_val_test_split(rows, digits.y, val_size=0.0, test_size=0.25, seed=3)
    (inner,) = seen
    # Exactly the outer split's training rows (the 75%), which train() splits again.
    assert len(scores) == 1 and len(split.X_train) == 1347
    np.testing.assert_array_equal(inner.X, digits.X[np.sort(split.X_train)])
    np.testing.assert_array_equal(inner.y, digits.y[np.sort(split.X_train)])
    assert 0 < scores[0] <= 1
