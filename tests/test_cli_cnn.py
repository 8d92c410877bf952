"""``retrograd train --arch cnn`` end to end: digits as 1x8x8 images, then info, evaluate
and predict on the same inputs; image NPZ files; and the inputs a CNN refuses.

The run is two epochs (a few seconds); the accuracy of the default CNN is in
``tests/test_accuracy.py`` (slow).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from retrograd import cli
from retrograd.data import load_dataset
from retrograd.pipeline import TrainedModel

from .test_cli import assert_user_error, run_cli

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn") / "digits-cnn"
    proc = run_cli(
        "train", "--data", "digits", "--arch", "cnn", "--epochs", "2", "--channels", "4,8",
        "--hidden", "32", "--out", out, "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


def test_train_cnn_writes_a_run_whose_model_is_a_cnn(cnn_run):
    assert sorted(p.name for p in cnn_run.iterdir()) == sorted(cli.RUN_FILES)
    model = TrainedModel.load(cnn_run / cli.MODEL_FILE)
    kinds = [type(m).__name__ for m in model.network]
    assert kinds[:4] == ["Unflatten", "Conv2d", "ReLU", "MaxPool2d"]
    assert "Flatten" in kinds and kinds.count("Conv2d") == 2
    assert model.info["input_shape"] == [1, 8, 8]
    assert model.info["options"]["arch"] == "cnn"
    assert model.info["options"]["channels"] == [4, 8]
    # one mean and scale per channel: every pixel of the one channel shares them
    assert np.unique(model.standardizer.mean_).size == 1
    assert np.unique(model.standardizer.scale_).size == 1
    metrics = json.loads((cnn_run / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and 0.1 < metrics["test_accuracy"] <= 1
    assert (cnn_run / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_info_shows_the_conv_layers_and_their_shapes(cnn_run):
    proc = run_cli("info", cnn_run)
    assert proc.returncode == 0, proc.stderr
    for fragment in ("Unflatten", "(N, 1, 8, 8)", "Conv2d(1, 4", "(N, 4, 8, 8)", "MaxPool2d",
                     "(N, 8, 2, 2)", "arch", "cnn", "channels             4,8"):  # fmt: skip
        assert fragment in proc.stdout, (fragment, proc.stdout)


def test_evaluate_and_predict_read_flat_rows_like_the_training_data(cnn_run, tmp_path):
    proc = run_cli("evaluate", cnn_run, "--data", "digits", "--split", "test")
    assert proc.returncode == 0, proc.stderr
    saved = json.loads((cnn_run / "metrics.json").read_text())["test_accuracy"]
    assert f"accuracy  {saved:.4f}" in proc.stdout

    spec = load_dataset("digits")
    rows = tmp_path / "rows.csv"
    np.savetxt(rows, spec.X[:7], delimiter=",", fmt="%g")
    out = tmp_path / "pred.csv"
    proc = run_cli("predict", cnn_run, rows, "-o", out)
    assert proc.returncode == 0, proc.stderr
    with out.open() as f:
        got = [int(r["prediction"]) for r in csv.DictReader(f)]
    model = TrainedModel.load(cnn_run / cli.MODEL_FILE)
    assert got == model.predict(spec.X[:7]).tolist()


def test_a_wrong_feature_count_is_refused_naming_the_image_shape(cnn_run, tmp_path):
    rows = tmp_path / "short.csv"
    np.savetxt(rows, np.zeros((3, 60)), delimiter=",")
    proc = run_cli("predict", cnn_run, rows, "-o", tmp_path / "p.csv")
    assert_user_error(proc, "60 feature columns", "1x8x8 images flattened to 64")
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("iris", "'iris' has no image or sequence shape"),
        ("five_d.npz", "'five_d.npz' has no image or sequence shape"),
    ],
)
def test_cnn_on_data_without_an_image_shape_is_a_usage_error(tmp_path, data, fragment):
    np.savez(tmp_path / "five_d.npz", X=np.zeros((8, 1, 2, 2, 2)), y=np.arange(8) % 2)
    out = tmp_path / "run"
    proc = run_cli("train", "--data", data, "--arch", "cnn", "--out", out, cwd=tmp_path)
    assert_user_error(proc, "--arch", fragment)
    assert not out.exists()


def test_an_npz_of_images_trains_a_conv2d_network(tmp_path):
    spec = load_dataset("digits")
    np.savez(tmp_path / "img.npz", X=spec.X[:120].reshape(-1, 8, 8), y=spec.y[:120])
    out = tmp_path / "run"
    proc = run_cli(
        "train", "--data", tmp_path / "img.npz", "--arch", "cnn", "--epochs", "1",
        "--channels", "4", "--hidden", "8", "--out", out, "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    model = TrainedModel.load(out / cli.MODEL_FILE)
    assert model.info["input_shape"] == [1, 8, 8]


def test_augment_shift_is_saved_with_the_run_and_refused_for_an_mlp(tmp_path):
    out = tmp_path / "shifted"
    proc = run_cli(
        "train", "--data", "digits", "--arch", "cnn", "--augment", "shift", "--epochs", "1",
        "--channels", "4", "--hidden", "16", "--out", out, "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / cli.RUN_FILE).read_text())["options"]["augment"] == "shift"
    assert TrainedModel.load(out / cli.MODEL_FILE).info["options"]["augment"] == "shift"
    assert "augment              shift" in run_cli("info", out).stdout

    mlp = tmp_path / "mlp"
    proc = run_cli("train", "--data", "digits", "--augment", "shift", "--out", mlp)
    assert_user_error(proc, "--augment", "augment 'shift' shifts images or sequences")
    assert not mlp.exists()


def test_a_run_folder_from_before_augment_resumes_without_it_or_label_smoothing(tmp_path):
    out = tmp_path / "old"
    proc = run_cli(
        "train", "--data", "digits", "--arch", "cnn", "--epochs", "2", "--channels", "4",
        "--hidden", "16", "--out", out, "--quiet", "--stop-after", "1",
    )  # fmt: skip
    run_file = out / cli.RUN_FILE
    run = json.loads(run_file.read_text())
    del run["options"]["augment"]  # as written before --augment and --label-smoothing
    del run["options"]["label_smoothing"]
    run_file.write_text(json.dumps(run))
    proc = run_cli("train", "--resume", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    # trained on as it started: without the CNN's default label smoothing
    assert TrainedModel.load(out / cli.MODEL_FILE).info["options"]["label_smoothing"] == 0.0


def test_label_smoothing_is_the_cnn_default_unless_given(cnn_run, tmp_path):
    assert json.loads((cnn_run / cli.RUN_FILE).read_text())["options"]["label_smoothing"] is None
    model = TrainedModel.load(cnn_run / cli.MODEL_FILE)
    assert model.info["options"]["label_smoothing"] == 0.2
    out = tmp_path / "smooth"
    proc = run_cli(
        "train", "--data", "digits", "--arch", "cnn", "--label-smoothing", "0.05", "--epochs",
        "1", "--channels", "4", "--hidden", "16", "--out", out, "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert TrainedModel.load(out / cli.MODEL_FILE).info["options"]["label_smoothing"] == 0.05
    proc = run_cli("train", "--data", "diabetes", "--label-smoothing", "0.1", "--out", out)
    assert_user_error(proc, "--label-smoothing", "smooths class labels")
