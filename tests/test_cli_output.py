"""What a user sees (issue 20, section 5): class names, the progress bar's names, the
figures' labels and titles, evaluate's defaults, every model file ``info`` meets, the
PyTorch export, the resumed run's time, the licence. Tiny data, two epochs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import retrograd as rg
from retrograd import cli, nn, pipeline, training
from retrograd.cli import plots
from retrograd.data import load_dataset
from retrograd.pipeline import TrainedModel

from .test_cli import invoke, write_csv

TINY = ["--hidden", "4", "--epochs", "2", "--quiet"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def iris(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("iris") / "run"
    result = invoke("train", "--data", "iris", *TINY, "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def figures(monkeypatch) -> list:
    """The matplotlib figures the command saves, kept to inspect."""
    saved: list = []
    real = plots._save

    def keep(fig, path):
        saved.append(fig)
        real(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    return saved


# ---------------------------------------------------------------- class names


@pytest.mark.parametrize(
    "data, names",
    [
        ("iris", ["setosa", "versicolor", "virginica"]),
        ("wine", ["class_0", "class_1", "class_2"]),
        ("breast_cancer", ["malignant", "benign"]),
        ("digits", [str(d) for d in range(10)]),
    ],
)
def test_bundled_data_sets_keep_their_class_names_in_the_model(data, names):
    spec = load_dataset(data)
    result = pipeline.train(spec, hidden=(2,), epochs=1, quiet=True, test_split=0.5)
    assert result.model.class_names == names
    assert pipeline.class_names([0, 1, 7], ["a", "b"]) == ["a", "b", "7"]
    assert pipeline.class_names(["x", "y"], None) == ["x", "y"]


def test_info_and_evaluate_show_class_names(iris, tmp_path, figures):
    result = invoke("info", iris)
    assert "classes   3: setosa, versicolor, virginica" in result.stdout
    result = invoke("evaluate", iris, "--split", "test", "--plot", tmp_path / "cm.png")
    assert result.exit_code == 0, result.output
    matrix = result.stdout[result.stdout.index("confusion matrix") :].splitlines()
    assert matrix[1].split() == ["setosa", "versicolor", "virginica"]
    assert [line.split()[0] for line in matrix[2:5]] == ["setosa", "versicolor", "virginica"]
    (ax, *_) = figures[-1].axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["setosa", "versicolor", "virginica"]


def test_a_file_data_sets_classes_are_their_labels(tmp_path):
    rows = [[i, i % 3, ["cat", "dog", "emu"][i % 3]] for i in range(30)]
    data = write_csv(tmp_path / "pets.csv", ["a", "b", "kind"], rows)
    out = tmp_path / "run"
    assert invoke("train", "--data", data, *TINY, "--out", out).exit_code == 0
    assert TrainedModel.load(out / cli.MODEL_FILE).class_names == ["cat", "dog", "emu"]


# ---------------------------------------------------------------- the progress bar


class _Bar:
    def __init__(self) -> None:
        self.calls: list = []

    def set_postfix(self, post, refresh=True) -> None:
        self.calls.append(("postfix", dict(post)))

    def update(self, n) -> None:
        self.calls.append(("update", n))


def test_the_progress_bar_uses_kerass_names_and_the_current_epochs_numbers():
    bar = training._ProgressBar(False, 0, 3, "accuracy")
    bar.bar = _Bar()
    record = {"train_loss": 0.5, "val_loss": 0.7, "train_metric": 0.9, "val_metric": 0.8}
    bar.show(record)
    assert bar.bar.calls[0][0] == "postfix" and bar.bar.calls[1] == ("update", 1)
    post = bar.bar.calls[0][1]
    assert list(post) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert post["accuracy"] == "0.9000" and post["val_accuracy"] == "0.8000"
    post = training._postfix({**record, "val_loss": None, "val_metric": None}, "accuracy")
    assert post == {"loss": "0.5", "accuracy": "0.9000"}  # training accuracy, named so


# ---------------------------------------------------------------- figures


def test_curves_name_the_loss_and_show_the_held_out_split(tmp_path, figures):
    out = tmp_path / "run"
    result = invoke("train", "--data", "iris", *TINY, "--val-split", "0.2", "--out", out)
    assert result.exit_code == 0, result.output
    loss_ax, metric_ax = figures[-1].axes
    assert loss_ax.get_ylabel() == "loss (cross-entropy)"
    labels = [t.get_text() for t in metric_ax.get_legend().get_texts()]
    assert "validation" in labels and "training" in labels
    assert any(label.startswith("test (held out): ") for label in labels)
    figures.clear()
    out = tmp_path / "reg"
    args = ["--data", "diabetes", *TINY, "--loss", "huber", "--out", out]
    assert invoke("train", *args).exit_code == 0
    loss_ax, metric_ax = figures[-1].axes
    assert loss_ax.get_ylabel() == "loss (huber)" and metric_ax.get_ylabel() == "R²"
    result = invoke("evaluate", out, "--split", "test", "--plot", tmp_path / "fit.png")
    assert result.stdout.splitlines()[1].startswith("R²")
    assert "R²" in figures[-1].axes[0].get_title()


def test_the_confusion_matrix_gives_the_split_and_accuracy_and_can_be_normalised(
    iris, tmp_path, figures
):
    result = invoke("evaluate", iris, "--split", "test", "--plot", tmp_path / "cm.png")
    accuracy = re.search(r"accuracy  (\S+)", result.stdout).group(1)
    ax = figures[-1].axes[0]
    assert "test part" in ax.get_title() and f"accuracy {accuracy}" in ax.get_title()
    counts = [t.get_text() for t in ax.texts]
    assert all(c.isdigit() for c in counts) and len(counts) == 9
    result = invoke("evaluate", iris, "--plot", tmp_path / "n.png", "--normalize")
    assert result.exit_code == 0, result.output
    ax = figures[-1].axes[0]
    fractions = np.array([float(t.get_text()) for t in ax.texts]).reshape(3, 3)
    assert "all rows" in ax.get_title()
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, atol=0.02)


def test_explain_html_stays_readable_for_wide_layers():
    # The click-through page draws at most six neurons a layer, "... n more" for the rest,
    # no text over the connections (their numbers show on hover or focus, which
    # tests/test_explain_browser.py checks in a browser), and a dot per step on the curve.
    wide = invoke("explain", "--layers", "9,12,3", "--format", "html", "--seed", "1").stdout
    assert "... 3 more" in wide and "... 6 more" in wide
    assert not re.search(r"<text [^>]*>w=", wide)
    lines = re.findall(r"<line [^>]*>", wide)
    assert len(lines) == 6 * 6 + 6 * 3  # the drawn neurons' connections only
    assert all("tabindex" in line for line in lines)  # each reachable from the keyboard
    repeat = invoke("explain", "--format", "html", "--steps", "2").stdout
    curve = repeat[repeat.index('id="loss-curve"') :]
    assert curve[: curve.index("</svg>")].count("<circle") == 2  # a dot per step


def test_the_sparkline_renders_every_loss():
    from retrograd.explain.text import SPARK, sparkline

    assert sparkline([3.0, 2.0, 1.0]) == SPARK[-1] + SPARK[4] + SPARK[0]
    assert sparkline([1.0]) == SPARK[0]
    assert sparkline([1.0, float("nan"), 0.5]) == SPARK[-1] + "!" + SPARK[0]


# ---------------------------------------------------------------- evaluate's data


def test_evaluate_defaults_to_the_models_own_data_set(iris):
    result = invoke("evaluate", iris, "--split", "test")
    assert result.exit_code == 0, result.output
    assert "on iris" in result.stdout and "accuracy" in result.stdout
    assert TrainedModel.load(iris / cli.MODEL_FILE).info["data"] == "iris"


def test_a_model_trained_on_a_file_finds_it_from_another_folder(tmp_path, monkeypatch):
    spec = load_dataset("iris")
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    write_csv(home / "flowers.csv", [*spec.feature_names, "kind"],
              np.column_stack([spec.X, spec.y]))  # fmt: skip
    monkeypatch.chdir(home)
    assert invoke("train", "--data", "flowers.csv", *TINY, "--out", "run").exit_code == 0
    info = TrainedModel.load(home / "run" / cli.MODEL_FILE).info
    assert info["data"] == str(home / "flowers.csv") and info["target"] is None
    monkeypatch.chdir(elsewhere)
    result = invoke("evaluate", home / "run", "--split", "test")
    assert result.exit_code == 0, result.output
    assert "flowers.csv" in result.stdout
    api = pipeline.train(str(Path("..") / "home" / "flowers.csv"), hidden=(2,), epochs=1,
                         quiet=True)  # fmt: skip
    assert api.model.info["data"] == str(home / "flowers.csv")


def test_evaluate_without_data_on_a_model_that_names_none(tmp_path):
    spec = load_dataset("iris")
    model = pipeline.train(spec, hidden=(2,), epochs=1, quiet=True).model
    model.save(tmp_path / "m.safetensors")
    result = invoke("evaluate", tmp_path / "m.safetensors")
    assert result.exit_code == 0, result.output  # its data set's name, iris, is enough
    model.info.pop("dataset")
    model.save(tmp_path / "m.safetensors")
    result = invoke("evaluate", tmp_path / "m.safetensors")
    assert result.exit_code == 2 and "give --data" in result.stderr


# ---------------------------------------------------------------- every model file


def test_info_accepts_or_names_every_model_file_retrograd_writes(iris, tmp_path):
    from retrograd.sklearn import MLPClassifier, MLPRegressor

    net = tmp_path / "net.safetensors"
    rg.save(nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)), net)
    result = invoke("info", net)
    assert result.exit_code == 0, result.output
    assert "bare network" in result.stdout and "Linear(in_features=3" in result.stdout
    assert "(N, 5)" in result.stdout and "32" in result.stdout  # 3*5+5 + 5*2+2 parameters

    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    refused = {
        tmp_path / "c.safetensors": (MLPClassifier, y, "MLPClassifier.load"),
        tmp_path / "r.safetensors": (MLPRegressor, y * 1.0, "MLPRegressor.load"),
    }
    for path, (cls, target, _) in refused.items():
        est = cls(hidden_layer_sizes=(3,), max_iter=2)
        with pytest.warns(Warning):
            est.fit(X, target)
        est.save(path)
    rg.save({"w": rg.zeros(2), "step": 3}, tmp_path / "o.safetensors")
    refused[tmp_path / "o.safetensors"] = (None, None, "retrograd.load")
    refused[iris / cli.CHECKPOINT_FILE] = (None, None, f"retrograd train --resume {iris}")
    for path, (*_, reader) in refused.items():
        result = invoke("info", path)
        assert result.exit_code == 2, (path, result.output)
        assert reader in result.stderr and str(path) in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- export to PyTorch


@pytest.mark.parametrize("data, extra", [("iris", ["--dropout", "0.2"]), ("diabetes", [])])
def test_export_to_torch_predicts_as_retrograd(tmp_path, data, extra):
    torch = pytest.importorskip("torch")
    from safetensors import safe_open
    from safetensors.torch import load_file

    out = tmp_path / "run"
    args = ["--data", data, "--hidden", "8,4", "--epochs", "3", "-q", *extra]
    assert invoke("train", *args, "--out", out).exit_code == 0
    dst = tmp_path / "torch.safetensors"
    result = invoke("export", out, "--to", "torch", "-o", dst)
    assert result.exit_code == 0, result.output
    with safe_open(str(dst), "pt") as f:
        meta = f.metadata()
    assert meta["torch_module"] in result.stdout
    net = eval(meta["torch_module"], {"nn": torch.nn})  # the nn.Sequential, as documented
    net.load_state_dict(load_file(str(dst)))
    net.eval()
    model = TrainedModel.load(out / cli.MODEL_FILE)
    X = load_dataset(data).X  # raw features: the first Linear standardises them
    with torch.no_grad():
        got = net(torch.tensor(X, dtype=torch.float32)).numpy()
    if model.task == "classification":
        classes = json.loads(meta["classes"])
        assert [classes[i] for i in got.argmax(axis=1)] == [str(c) for c in model.predict(X)]
        proba = torch.softmax(torch.tensor(got, dtype=torch.float64), dim=1).numpy()
        np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
        assert json.loads(meta["class_names"]) == model.class_names
    else:
        np.testing.assert_allclose(got[:, 0], model.predict(X), rtol=1e-4, atol=1e-3)


def test_export_refuses_a_cnn_naming_why(tmp_path):
    out = tmp_path / "cnn"
    args = ["--data", "digits", "--arch", "cnn", "--channels", "2", "--hidden", "none"]
    assert invoke("train", *args, "--epochs", "1", "-q", "--out", out).exit_code == 0
    result = invoke("export", out, "-o", tmp_path / "x.safetensors")
    assert result.exit_code == 2 and "MLP" in result.stderr and "Conv2d" in result.stderr
    assert not (tmp_path / "x.safetensors").exists()


# ---------------------------------------------------------------- resume, licence


def test_a_resumed_runs_time_in_all_includes_the_first_session(tmp_path):
    out = tmp_path / "run"
    args = ["--data", "iris", "--hidden", "4", "--epochs", "4", "-q", "--out", out]
    assert invoke("train", *args, "--stop-after", "2").exit_code == 130
    first = json.loads((out / cli.RUN_FILE).read_text())
    result = invoke("train", "--resume", out, "-q")
    assert result.exit_code == 0, result.output
    timings = json.loads((out / cli.METRICS_FILE).read_text())["timings"]
    assert timings["total_seconds"] > first["total_seconds"] > 0
    assert timings["total_seconds"] >= timings["train_seconds"]
    assert "in all over 2 sessions" in result.stdout


def test_the_licence_is_the_one_pyproject_names():
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
