"""The command line end to end: train, evaluate, predict, info, datasets and resume run
as subprocesses, as a user runs them, and their files are checked.

The runs are small (iris, a few epochs) so that the file stays fast; the full
default run on digits is marked slow. The many bad-input cases, ``--force`` and
divergence run in-process through click's runner (the same code without the
start-up cost), and one case of each kind of bad input runs in a subprocess
that must not print a traceback.
"""

from __future__ import annotations

import inspect
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import load_file

from retrograd import cli, explain, pipeline
from retrograd.data import DATASETS, load_dataset
from retrograd.options import NUMERIC
from retrograd.pipeline import TrainedModel

REAL_TRAIN = pipeline.train
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Small and fast: iris, one hidden layer, a few epochs.
IRIS = [
    "--data",
    "iris",
    "--hidden",
    "16",
    "--epochs",
    "12",
    "--lr",
    "0.01",
    "--batch-size",
    "16",
    "--val-split",
    "0.1",
]


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """``python -m retrograd.cli ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "retrograd.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 2, each fragment in the message on stderr, and no traceback anywhere."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


def invoke(*args: str):
    """The CLI in-process (click's runner): for the many bad-input cases."""
    return CliRunner().invoke(cli.main, list(map(str, args)), prog_name="retrograd")


def assert_invoke_error(result, *fragments: str) -> None:
    # A SystemExit is click's own exit; any other exception would be a traceback for the user.
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, (result.exit_code, result.output)
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def model_arrays(run: Path) -> dict[str, np.ndarray]:
    return load_file(str(run / cli.MODEL_FILE))


def write_csv(path: Path, header: list[str] | None, rows) -> Path:
    lines = [",".join(header)] if header else []
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("cli") / "iris"
    proc = run_cli("train", *IRIS, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out, proc


# ---------------------------------------------------------------- the group


def test_version_and_help_through_python_dash_m_retrograd():
    proc = subprocess.run(
        [sys.executable, "-m", "retrograd", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "retrograd, version 0.1.0"
    result = invoke("--help")
    for command in ("train", "evaluate", "predict", "info", "datasets"):
        assert command in result.output


def test_datasets_lists_the_registry():
    proc = run_cli("datasets")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    for name, info in DATASETS.items():
        assert any(line.split()[:2] == [name, info.task] for line in lines), name


# ---------------------------------------------------------------- the CLI accepts what the API accepts


class _ReachedTrainError(Exception):
    """Raised by the stand-in for pipeline.train: the CLI accepted every option."""


def spellings(key: str) -> list[str]:
    """A registry key as users write it: cases, ``-``/``_`` swapped, padded; and near misses."""
    variants = {key, key.upper(), key.title(), key.capitalize(), f" {key} "}
    variants |= {v.replace("_", "-") for v in variants} | {v.replace("-", "_") for v in variants}
    misses = {key + "x", key.replace("_", " ").replace("-", " "), key.replace("_", "").upper()}
    return sorted(variants | misses | {""})


@pytest.fixture
def cli_train(monkeypatch, tmp_path):
    """``retrograd train --data DATA ARGS`` in-process, pipeline.train replaced by a probe.

    Returns the keyword arguments the CLI passed to pipeline.train, or None if it
    refused the options; a refusal must be a usage error that created no run folder.
    """
    calls: list[dict] = []

    def probe(spec, **kwargs):
        calls.append(kwargs)
        raise _ReachedTrainError

    monkeypatch.setattr(pipeline, "train", probe)
    monkeypatch.setenv("RETROGRAD_DEBUG", "1")  # let the probe's exception through the guard

    def run(data: str, *args: str) -> dict | None:
        out = tmp_path / f"run{len(calls)}-{time.perf_counter_ns()}"
        result = invoke("train", "--data", data, "--quiet", "--out", out, *args)
        if isinstance(result.exception, _ReachedTrainError):
            return calls[-1]
        assert_invoke_error(result)
        assert not out.exists(), f"{args} was refused after {out} was created"
        return None

    return run


def api_check(task: str, data: str | None = None, **options) -> dict | None:
    """pipeline.train's checks of ``options`` (the others at train's defaults) on the task's
    data set (TASK_DATA, or ``data``): its options, then the data against them; None if
    refused."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(REAL_TRAIN).parameters.items()
        if name in cli.TRAIN_OPTIONS
    }
    try:
        checked = pipeline.check_options(task, **(defaults | options))
        pipeline.check_run(load_dataset(data or TASK_DATA[task]), **checked)
        return checked
    except ValueError:
        return None


TASK_DATA = {"classification": "iris", "regression": "diabetes"}


@pytest.mark.parametrize(
    ("option", "table", "tasks"),
    [
        ("activation", pipeline.ACTIVATIONS, ["classification"]),
        ("optimizer", pipeline.OPTIMIZERS, ["classification"]),
        ("loss", pipeline.LOSSES, ["classification", "regression"]),
    ],
)
def test_train_accepts_every_name_the_api_accepts_and_no_other(cli_train, option, table, tasks):
    for task in tasks:
        for key in table:
            for name in spellings(key):
                api = api_check(task, **{option: name})
                cli_kwargs = cli_train(TASK_DATA[task], flag(option), name)
                assert (api is None) == (cli_kwargs is None), (task, option, name, api)
                if api is not None:  # the same canonical name reaches pipeline.train
                    assert cli_kwargs[option] == api[option] == key, (option, name)
                else:
                    with pytest.raises(ValueError, match=option):
                        _real_train(TASK_DATA[task], **{option: name})


def test_the_old_disagreements_are_gone(cli_train):
    # Each of these was refused by one side and accepted by the other (issue 17).
    assert cli_train("iris", "--activation", "leaky-relu")["activation"] == "leaky_relu"
    assert cli_train("iris", "--activation", "Leaky-ReLU")["activation"] == "leaky_relu"
    assert cli_train("iris", "--activation", "LEAKY_RELU")["activation"] == "leaky_relu"
    assert cli_train("iris", "--lr", "0") is None
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        _real_train("iris", lr=0)
    result = invoke("explain", "--activation", "ReLU", "--loss", "MSE", "--format", "Markdown")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("#")  # the Markdown report


NUMBERS = [-1, -0.0, 0, 1e-12, 0.5, 1, 1.0, 2, 7, 2**32 - 1, 2**32, "nan", "inf", "-inf", "x"]


# hidden and channels are lists of numbers: their own tests below.
SIZE_OPTIONS = ("hidden", "channels")


@pytest.mark.parametrize(
    "option", [o for o in cli.TRAIN_OPTIONS if o in NUMERIC and o not in SIZE_OPTIONS]
)
def test_train_accepts_every_number_the_api_accepts_and_no_other(cli_train, option):
    for value in NUMBERS:
        text = str(value)
        python = float(value) if value in ("nan", "inf", "-inf") else value
        api = api_check("classification", **{option: python})
        cli_kwargs = cli_train("iris", flag(option), text)
        assert (api is None) == (cli_kwargs is None), (option, value, api)
        if api is not None:
            assert cli_kwargs[option] == api[option], (option, value)
        else:
            with pytest.raises((ValueError, TypeError)):
                _real_train("iris", **{option: python})


@pytest.mark.parametrize(
    ("text", "python"),
    [
        ("16", (16,)),
        ("16,8", (16, 8)),
        ("none", ()),
        ("", ()),
        ("0", (0,)),
        ("-1", (-1,)),
        ("16,0", (16, 0)),
        ("1.5", (1.5,)),
        ("16,x", None),
    ],
)
def test_train_accepts_the_hidden_sizes_the_api_accepts(cli_train, text, python):
    api = None if python is None else api_check("classification", hidden=python)
    cli_kwargs = cli_train("iris", "--hidden", text)
    assert (api is None) == (cli_kwargs is None)
    if api is not None:
        assert tuple(cli_kwargs["hidden"]) == api["hidden"]


@pytest.mark.parametrize(
    ("text", "python"),
    [
        ("16", (16,)),
        ("16,32", (16, 32)),
        ("8,8,8", (8, 8, 8)),
        ("none", None),
        ("", None),
        ("0", (0,)),
        ("16,-1", (16, -1)),
        ("1.5", (1.5,)),
        ("16,x", None),
    ],
)
def test_train_accepts_the_channels_the_api_accepts(cli_train, text, python):
    # --channels parses as --hidden does, but a CNN needs at least one convolution.
    api = None if python is None else api_check("classification", "digits", channels=python)
    cli_kwargs = cli_train("digits", "--arch", "cnn", "--channels", text)
    assert (api is None) == (cli_kwargs is None), (text, api)
    if api is not None:
        assert tuple(cli_kwargs["channels"]) == api["channels"]
    assert api_check("classification", channels=()) is None


def test_train_accepts_every_arch_the_api_accepts_on_images(cli_train):
    for key in pipeline.ARCHITECTURES:
        for name in spellings(key):
            api = api_check("classification", "digits", arch=name)
            cli_kwargs = cli_train("digits", "--arch", name)
            assert (api is None) == (cli_kwargs is None), (name, api)
            if api is not None:
                assert cli_kwargs["arch"] == api["arch"] == key
    assert api_check("classification", "digits", arch="cnn") is not None
    assert cli_train("digits", "--arch", "resnet") is None


def test_arch_cnn_on_a_table_is_refused_before_any_folder(cli_train):
    # The data decides: iris has no image shape, the same message from the API and the CLI.
    assert cli_train("iris", "--arch", "cnn") is None
    with pytest.raises(ValueError, match="arch 'cnn' needs images or sequences"):
        _real_train("iris", arch="cnn")


@pytest.mark.parametrize(
    ("option", "table"),
    [
        ("activation", pipeline.ACTIVATIONS),
        ("loss", dict.fromkeys(explain.LOSS_NAMES)),
        ("format", dict.fromkeys(explain.FORMATS)),
    ],
)
def test_explain_accepts_every_name_its_api_accepts_and_no_other(option, table):
    weights, _ = explain.default_network((2, 2, 2), 0, None)
    for key in table:
        for name in spellings(key):
            args = {"activation": "sigmoid", "loss": "mse", "format": "text", option: name}
            try:
                exp = explain.explain_step(
                    weights, [1.0, 0.0], 1, args["activation"], args["loss"], 0.5
                )
                explain.render(exp, args["format"])
                api = True
            except explain.ExplainError:
                api = False
            result = invoke(
                "explain", "--layers", "2,2,2", "--seed", "0", "--target", "1",
                *(x for k, v in args.items() for x in (flag(k), v)),
            )  # fmt: skip
            assert (result.exit_code == 0) == api, (option, name, result.output)


def test_a_network_with_any_registered_activation_saves_and_loads(tmp_path):
    from retrograd import serialization

    for name in pipeline.ACTIVATIONS:
        network = pipeline.build_mlp(3, (4,), 2, activation=name, seed=0)
        serialization.save(network, tmp_path / f"{name}.safetensors")
        loaded = serialization.load(tmp_path / f"{name}.safetensors")
        assert [type(m) for m in loaded] == [type(m) for m in network], name


def test_a_run_without_a_test_part_has_no_test_part_to_evaluate(tmp_path):
    out = tmp_path / "no-test"
    result = invoke(
        "train", "--data", "iris", "--hidden", "4", "--epochs", "2", "--test-split", "0",
        "--quiet", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / cli.METRICS_FILE).read_text())
    assert metrics["n_test"] == 0 and "test_accuracy" not in metrics
    assert_invoke_error(
        invoke("evaluate", out, "--data", "iris", "--split", "test"), "holds no rows"
    )


def _real_train(data: str, **options):
    """The real pipeline.train (the probe stands in for it in cli_train), for refused options."""
    return REAL_TRAIN(data, quiet=True, **options)


# ---------------------------------------------------------------- train


def test_train_writes_the_run_folder(iris_run):
    out, proc = iris_run
    assert sorted(p.name for p in out.iterdir()) == sorted(cli.RUN_FILES)

    model = TrainedModel.load(out / cli.MODEL_FILE)
    assert model.task == "classification" and len(model.feature_names) == 4

    metrics = json.loads((out / cli.METRICS_FILE).read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert len(metrics["history"]) == metrics["epochs"] <= 12
    assert [r["epoch"] for r in metrics["history"]] == list(range(1, metrics["epochs"] + 1))
    assert all(isinstance(r["train_loss"], float) for r in metrics["history"])
    assert metrics["seed"] == 0 and metrics["options"]["hidden"] == [16]
    assert {"train_seconds", "total_seconds", "seconds_per_epoch"} <= set(metrics["timings"])
    assert {"retrograd", "numpy", "python"} <= set(metrics["versions"])

    assert (out / cli.CURVES_FILE).read_bytes().startswith(PNG_SIGNATURE)
    run = json.loads((out / cli.RUN_FILE).read_text())
    assert run["status"] == "finished" and run["options"]["data"] == "iris"

    # the summary table: a header and a row per split, aligned, with the test accuracy
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["split"])
    assert [line.split()[0] for line in lines[header + 1 : header + 4]] == ["train", "val", "test"]
    assert len({len(line) for line in lines[header : header + 4]}) == 1  # right-aligned columns
    assert f"{metrics['test_accuracy']:.4f}" in lines[header + 3]


def test_an_existing_out_is_kept_without_force(iris_run, tmp_path):
    out, _ = iris_run
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert_invoke_error(invoke("train", *IRIS, "--out", out), str(out), "--force")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    (other / cli.METRICS_FILE).write_text("{}")
    assert_invoke_error(invoke("train", *IRIS, "--epochs", "1", "--out", other), "--force")
    result = invoke("train", *IRIS, "--epochs", "1", "--out", other, "--force", "--quiet")
    assert result.exit_code == 0, result.output
    assert (other / "notes.txt").read_text() == "mine"  # --force replaces the run's files only
    assert json.loads((other / cli.METRICS_FILE).read_text())["epochs"] == 1


def test_the_default_out_is_a_new_timestamped_folder_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("train", *IRIS, "--epochs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("iris-") and (folder / cli.MODEL_FILE).is_file()


def test_regression_run_reports_r2_and_mse(tmp_path):
    out = tmp_path / "diabetes"
    proc = run_cli(
        "train", "--data", "diabetes", "--hidden", "16", "--epochs", "5", "--out", out, "-q"
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / cli.METRICS_FILE).read_text())
    assert {"test_r2", "test_mse"} <= set(metrics)
    proc = run_cli("evaluate", out, "--data", "diabetes", "--plot", tmp_path / "fit.png")
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()[1:4]] == ["R²", "MSE", "MAE"]
    assert (tmp_path / "fit.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_diverging_run_fails_with_a_message_and_status_1(tmp_path):
    result = invoke(
        "train", "--data", "diabetes", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "3",
        "--out", tmp_path / "boom", "-q",
    )  # fmt: skip
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    assert "diverged" in result.stderr
    assert json.loads((tmp_path / "boom" / cli.RUN_FILE).read_text())["status"] == "diverged"


# ---------------------------------------------------------------- resume


def test_resume_after_an_interruption_ends_bit_identical(tmp_path):
    options = [*IRIS, "--epochs", "9", "--patience", "20", "--dropout", "0.2", "--quiet"]
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    assert run_cli("train", *options, "--out", straight).returncode == 0

    proc = run_cli("train", *options, "--out", broken, "--stop-after", "4")
    assert proc.returncode == cli.EXIT_INTERRUPTED, proc.stderr
    assert f"--resume {broken}" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads((broken / cli.RUN_FILE).read_text())["status"] == "interrupted"
    assert json.loads((broken / cli.METRICS_FILE).read_text())["epochs"] == 4

    proc = run_cli("train", "--resume", broken, "--quiet")
    assert proc.returncode == 0, proc.stderr
    a, b = model_arrays(straight), model_arrays(broken)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key

    def history(run: Path) -> list[dict]:
        records = json.loads((run / cli.METRICS_FILE).read_text())["history"]
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert history(straight) == history(broken)
    # a finished run is not resumed again
    assert_invoke_error(invoke("train", "--resume", broken), "already finished")


def test_ctrl_c_saves_the_run_and_resume_finishes_it(tmp_path):
    out, epochs = tmp_path / "run", 300
    options = ["--hidden", "32", "--batch-size", "64", "--epochs", epochs, "--patience", epochs]
    proc = subprocess.Popen(
        [sys.executable, "-m", "retrograd.cli", "train", *map(str, options), "--out", str(out), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / cli.CHECKPOINT_FILE).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # a real Ctrl-C, wherever the run happens to be
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == cli.EXIT_INTERRUPTED, (stdout, stderr)
    assert "Traceback" not in stderr and f"--resume {out}" in stderr
    assert json.loads((out / cli.RUN_FILE).read_text())["status"] == "interrupted"
    done = json.loads((out / cli.METRICS_FILE).read_text())["epochs"]
    assert 1 <= done < epochs
    TrainedModel.load(out / cli.MODEL_FILE)  # the saved model is whole

    proc = run_cli("train", "--resume", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / cli.METRICS_FILE).read_text())
    assert [r["epoch"] for r in metrics["history"]] == list(range(1, epochs + 1))
    assert metrics["timings"]["sessions"] == 2 and metrics["test_accuracy"] > 0.9


# ---------------------------------------------------------------- evaluate, predict, info


def test_evaluate_on_the_test_part_matches_the_training_metrics(iris_run, tmp_path):
    out, _ = iris_run
    metrics = json.loads((out / cli.METRICS_FILE).read_text())
    plot = tmp_path / "cm.png"
    proc = run_cli(
        "evaluate", out / cli.MODEL_FILE, "--data", "iris", "--split", "test", "--plot", plot
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1] == f"accuracy  {metrics['test_accuracy']:.4f}"
    assert "precision" in proc.stdout and "recall" in proc.stdout
    start = lines.index("confusion matrix (rows: true class, columns: predicted class)")
    matrix = np.array([[int(v) for v in line.split()[1:]] for line in lines[start + 2 : start + 5]])
    assert matrix.shape == (3, 3) and matrix.sum() == 38  # iris: 150 rows, test part ceil(37.5)
    assert np.trace(matrix) / matrix.sum() == pytest.approx(metrics["test_accuracy"])
    assert plot.read_bytes().startswith(PNG_SIGNATURE)

    proc = run_cli("evaluate", out, "--data", "iris")  # a run folder works; all rows by default
    assert proc.returncode == 0 and "all 150 rows" in proc.stdout


def test_predict_writes_classes_and_probabilities(iris_run, tmp_path):
    out, _ = iris_run
    spec = load_dataset("iris")
    rows = spec.X[::10]
    src = write_csv(tmp_path / "in.csv", spec.feature_names, rows)
    dst = tmp_path / "sub" / "out.csv"
    proc = run_cli("predict", out, src, "--output", dst)
    assert proc.returncode == 0, proc.stderr

    model = TrainedModel.load(out / cli.MODEL_FILE)
    header, *body = [line.split(",") for line in dst.read_text().splitlines()]
    # iris's classes by name, the label beside: prediction, label, proba_setosa, ...
    names = ["setosa", "versicolor", "virginica"]
    assert model.class_names == names
    assert header == ["prediction", "label", *(f"proba_{c}" for c in names)]
    assert len(body) == len(rows)
    assert [int(r[1]) for r in body] == list(model.predict(rows))
    assert [r[0] for r in body] == [names[int(c)] for c in model.predict(rows)]
    proba = np.array([[float(v) for v in r[2:]] for r in body])
    np.testing.assert_allclose(proba, model.predict_proba(rows), rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)

    # the same rows with their target column and no header: --target drops it by index
    with_target = write_csv(tmp_path / "t.csv", None, np.column_stack([rows, spec.y[::10]]))
    again = tmp_path / "again.csv"
    proc = run_cli("predict", out, with_target, "--target", "4", "-o", again)
    assert proc.returncode == 0, proc.stderr
    assert again.read_text() == dst.read_text()


def test_info_prints_the_layer_table(iris_run):
    out, _ = iris_run
    proc = run_cli("info", out)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "task      classification" in lines
    start = next(i for i, line in enumerate(lines) if line.startswith("#  layer"))
    table = lines[start + 1 : lines.index("", start)]
    *layers, total = table
    counts = [int(line.split()[-1].replace(",", "")) for line in layers]
    assert [line.split()[0] for line in layers] == [str(i) for i in range(len(layers))]
    assert counts == [4 * 16 + 16, 0, 16 * 3 + 3]
    assert "(N, 16)" in layers[0] and "(N, 3)" in layers[-1]
    assert total.split()[-1] == str(sum(counts)) and "total" in total
    assert "optimizer" in proc.stdout and "test_accuracy" in proc.stdout


# ---------------------------------------------------------------- bad input


def test_bad_input_in_a_subprocess_gets_a_message_not_a_traceback(iris_run, tmp_path):
    out, _ = iris_run
    proc = run_cli("train", "--data", "digitz")
    assert_user_error(proc, "unknown data set 'digitz'", *DATASETS)

    bad = write_csv(tmp_path / "bad.csv", ["a", "b", "c", "d", "y"], [[1, 2, 3, 4, 0], [5, 6, 7]])
    assert_user_error(run_cli("train", "--data", bad), f"{bad}, line 3")

    three = write_csv(tmp_path / "three.csv", ["a", "b", "c"], [[1, 2, 3], [4, 5, 6]])
    assert_user_error(
        run_cli("predict", out, three, "--output", tmp_path / "p.csv"), "3 feature", "expects 4"
    )


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["train", "--data", "nope"], ["unknown data set 'nope'", "iris", "digits", "spirals"]),
        (["train", "--data", "missing.csv"], ["missing.csv"]),
        (["train", "--lr", "-1"], ["--lr", "-1"]),
        (["train", "--lr", "abc"], ["--lr", "abc"]),
        (["train", "--hidden", "64,x"], ["--hidden", "64,x", "comma-separated"]),
        (["train", "--hidden", "0"], ["--hidden"]),
        (["train", "--activation", "swish"], ["--activation", "swish", "relu"]),
        (["train", "--optimizer", "lbfgs"], ["--optimizer", "adam"]),
        (["train", "--loss", "hinge"], ["--loss", "auto"]),
        (["train", "--batch-size", "0"], ["--batch-size"]),
        (["train", "--epochs", "0"], ["--epochs"]),
        (["train", "--dropout", "1"], ["--dropout"]),
        (["train", "--val-split", "0.5", "--test-split", "0.5"], ["--val-split", "below 1"]),
        (["train", "--data", "iris", "--target", "species"], ["fixed target"]),
        (["train", "--resume", "nowhere"], ["nowhere", "run.json"]),
        (["evaluate", "nowhere.safetensors", "--data", "iris"], ["nowhere.safetensors"]),
        (["evaluate", "x.safetensors"], ["x.safetensors"]),
        (["info", "nowhere"], ["nowhere"]),
        (["predict", "m.safetensors", "in.csv"], ["--output"]),
        (["bogus"], ["bogus"]),
    ],
)
def test_bad_options_are_usage_errors(args, fragments):
    assert_invoke_error(invoke(*args), *fragments)


def test_resume_takes_no_training_options(iris_run):
    out, _ = iris_run
    assert_invoke_error(invoke("train", "--resume", out, "--lr", "0.1"), "--resume", "--lr")


def test_files_that_are_not_models_or_csv_are_named(iris_run, tmp_path):
    out, _ = iris_run
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    assert_invoke_error(invoke("info", junk), str(junk))

    ragged = write_csv(tmp_path / "ragged.csv", ["a", "b", "c", "d"], [[1, 2, 3, 4], [1, 2, 3]])
    assert_invoke_error(
        invoke("predict", out, ragged, "-o", tmp_path / "p.csv"), f"{ragged}, line 3"
    )
    text = write_csv(tmp_path / "text.csv", None, [[1, 2, 3, 4], [1, "two", 3, 4]])
    assert_invoke_error(invoke("predict", out, text, "-o", tmp_path / "p.csv"), "line 2", "two")

    five = write_csv(
        tmp_path / "five.csv", ["a", "b", "c", "d", "e", "y"], [[1, 2, 3, 4, 5, 0]] * 9
    )
    assert_invoke_error(invoke("evaluate", out, "--data", five), "5 feature", "expects 4")
    strange = write_csv(tmp_path / "strange.csv", None, [[1, 2, 3, 4, "cat"], [1, 2, 3, 4, "dog"]])
    assert_invoke_error(invoke("evaluate", out, "--data", strange), "cat, dog", "0, 1, 2")


# ---------------------------------------------------------------- the promise of the README


@pytest.mark.slow
def test_the_default_run_reaches_98_percent_on_digits_in_under_30_seconds(tmp_path):
    start = time.perf_counter()
    proc = run_cli("train", cwd=tmp_path)
    wall = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    (out,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((out / cli.METRICS_FILE).read_text())
    assert metrics["test_accuracy"] >= 0.98, metrics["test_accuracy"]
    assert metrics["timings"]["total_seconds"] < 30, metrics["timings"]
    assert f"{metrics['timings']['total_seconds']:.1f} s in all" in proc.stdout
    print(f"default run: test accuracy {metrics['test_accuracy']:.4f}, {wall:.1f} s wall")


def test_no_capture_trains_the_same_model_bit_for_bit(tmp_path, monkeypatch):
    # The captured step (the default) and the eager one (--no-capture) give the same weights;
    # the spy shows which path each run took.
    from retrograd import capture

    ran = []
    real = capture.TrainStep.forward_backward

    def spy(self, x, y, keep_output=False):
        result = real(self, x, y, keep_output)
        ran.append(self.reason is None)
        return result

    monkeypatch.setattr(capture.TrainStep, "forward_backward", spy)
    weights = {}
    options = [*IRIS, "--epochs", "3", "--dropout", "0.2", "--quiet"]
    for flag in ((), ("--no-capture",)):
        ran.clear()
        out = tmp_path / ("eager" if flag else "captured")
        result = invoke("train", *options, "--out", out, *flag)
        assert result.exit_code == 0, result.output
        assert ran and all(ran) != bool(flag) and any(ran) != bool(flag)
        weights[bool(flag)] = load_file(str(out / cli.MODEL_FILE))
    assert weights[True].keys() == weights[False].keys()
    for name, w in weights[True].items():
        np.testing.assert_array_equal(w, weights[False][name])
