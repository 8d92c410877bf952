"""A corpus of damaged and hostile files, fed to the command line and the Python API.

Each case is a file (a model, a checkpoint, a run.json, a CSV, NPZ or IDX data
file) damaged in one way. Through the command line, as a subprocess, each must
give exit status 2, one ``Error:`` line naming the file and no traceback;
through the Python API, a ``ValueError`` (``ModelFileError``, ``DataError``)
with the same message. Files that claim huge sizes must be refused without
allocating (checked with tracemalloc's peak, not with wall time).

The subprocesses of a group run a few at a time (each mostly waits for its
imports), once per module, and each case's test checks its own result.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import struct
import subprocess
import sys
import traceback
import tracemalloc
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from click.testing import CliRunner

import retrograd as rg
from retrograd import cli, pipeline
from retrograd.data import DataError, load_dataset, read_csv, read_idx_folder, read_npz
from retrograd.serialization import ModelFileError, load_checkpoint, save_checkpoint
from retrograd.sklearn import MLPClassifier, MLPRegressor

# ------------------------------------------------------------------ helpers


def run_cli(*args: Any, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "retrograd.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def run_in_process(*args: Any) -> subprocess.CompletedProcess:
    """The command line run by click's runner, its result shaped as a subprocess's: an
    exception that escapes the command becomes a traceback on stderr, exit status 1."""
    result = CliRunner().invoke(cli.main, list(map(str, args)), prog_name="retrograd")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        stderr += f"Traceback (most recent call last):\n{trace}"
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, stderr)


def run_all(commands: dict[str, list[Any]], how: str) -> dict[str, subprocess.CompletedProcess]:
    """Run the commands in subprocesses (a few at a time) or in this process; the results by
    name. Every case runs both ways; the subprocesses (a second each) are marked slow."""
    if how == "in-process":
        return {name: run_in_process(*args) for name, args in commands.items()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_cli, *args) for name, args in commands.items()}
    return {name: f.result() for name, f in futures.items()}


#: How the corpus runs the command line: every case both ways, subprocesses marked slow.
HOW = ["in-process", pytest.param("subprocess", marks=pytest.mark.slow)]


def assert_refused(proc: subprocess.CompletedProcess, *fragments: Any) -> None:
    """Exit status 2, one ``Error:`` line naming each fragment, and no traceback."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, (proc.returncode, output)
    assert "Traceback" not in output, output
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    for fragment in fragments:
        assert str(fragment) in proc.stderr, (fragment, proc.stderr)


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(cli.main, list(map(str, args)), prog_name="retrograd")


def assert_invoke_refused(result: Any, *fragments: Any) -> None:
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, (result.exit_code, result.output)
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert str(fragment) in result.output, (fragment, result.output)


def peak_bytes(fn: Callable[[], Any], error: type[Exception] = ValueError) -> tuple[int, str]:
    """The peak memory (tracemalloc: NumPy's buffers included) of ``fn``, which must raise."""
    tracemalloc.start()
    try:
        with pytest.raises(error) as info:
            fn()
        return tracemalloc.get_traced_memory()[1], str(info.value)
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------ a model and a run to damage


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def model_file(work: Path) -> Path:
    """A small iris classifier, as ``retrograd train`` writes it."""
    result = pipeline.train("iris", hidden=(8,), epochs=3, quiet=True, test_split=0.2)
    path = work / "model.safetensors"
    result.model.save(path)
    return path


def read_model(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    return safetensors.numpy.load(raw), json.loads(raw[8 : 8 + size])["__metadata__"]


def rewrite(
    src: Path,
    dst: Path,
    meta: Callable[[dict], Any] | None = None,
    arch: Callable[[dict], Any] | None = None,
    tensors: Callable[[dict], Any] | None = None,
    raw_meta: Callable[[dict], Any] | None = None,
) -> Path:
    """A copy of the model file ``src`` with its metadata, architecture or tensors changed
    (each function changes its argument in place, or returns a replacement)."""
    arrays, header = read_model(src)
    m, a = json.loads(header["metadata"]), json.loads(header["architecture"])
    if meta is not None:
        m = _apply(meta, m)
    if arch is not None:
        a = _apply(arch, a)
    if tensors is not None:
        arrays = _apply(tensors, arrays)
    header = dict(header, metadata=json.dumps(m), architecture=json.dumps(a))
    if raw_meta is not None:
        header = _apply(raw_meta, header)
    dst.write_bytes(safetensors.numpy.save(arrays, metadata=header))
    return dst


def _apply(fn: Callable[[Any], Any], value: Any) -> Any:
    out = fn(value)
    return value if out is None else out


def _set(d: Any, path: str, value: Any) -> Any:
    """``d`` with the entry at the dotted ``path`` set (a key may hold dots: '0.weight')."""
    top, node = d, d
    while not (isinstance(node, dict) and path in node) and "." in path:
        key, path = path.split(".", 1)
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[path] = value
    return top


def _drop(d: dict, key: str) -> None:
    del d[key]


def _nan(arrays: dict, value: float) -> None:
    arrays["0.weight"] = arrays["0.weight"].copy()
    arrays["0.weight"][1, 2] = value


def _nest(header: dict, depth: int = 900) -> None:
    """The architecture inside ``depth`` Sequentials (written as text: json.dumps recurses)."""
    opening = '{"type": "Sequential", "children": ['
    header["architecture"] = opening * depth + header["architecture"] + "]}" * depth


def _nested_json(header: dict) -> None:
    header["architecture"] = "[" * 100_000 + "]" * 100_000


#: name -> (how the file is damaged, a fragment of the message)
MODEL_CASES: dict[str, tuple[dict[str, Callable], str]] = {
    "seven classes for three outputs": (
        {"meta": lambda m: _set(m, "label_encoder.classes", list(range(7)))},
        "7 classes",
    ),
    "one class": ({"meta": lambda m: _set(m, "label_encoder.classes", [0])}, "at least 2"),
    "unsorted classes": (
        {"meta": lambda m: _set(m, "label_encoder.classes", [2, 1, 0])},
        "sorted",
    ),
    "nan weight": ({"tensors": lambda a: _nan(a, np.nan)}, "'0.weight'"),
    "inf weight": ({"tensors": lambda a: _nan(a, np.inf)}, "'0.weight'"),
    "Linear(4, 10**8)": (
        {"arch": lambda a: _set(a, "children.0.args.out_features", 10**8)},
        "100000000",
    ),
    "Linear(10**6, 10**6)": (
        {
            "arch": lambda a: _set(
                a, "children.0.args", {"in_features": 10**6, "out_features": 10**6}
            )
        },
        "1000000",
    ),
    "in_features 'abc'": (
        {"arch": lambda a: _set(a, "children.0.args.in_features", "abc")},
        "in_features",
    ),
    "in_features a float": (
        {"arch": lambda a: _set(a, "children.0.args.in_features", 4.0)},
        "in_features",
    ),
    "negative size": (
        {"arch": lambda a: _set(a, "children.0.args.out_features", -8)},
        "non-negative",
    ),
    "args a list": ({"arch": lambda a: _set(a, "children.0.args", [4, 8])}, "args"),
    "children an object": ({"arch": lambda a: _set(a, "children", {"0": 1})}, "children"),
    "architecture a list": ({"arch": lambda a: [a]}, "architecture"),
    "unknown keyword": (
        {"arch": lambda a: _set(a, "children.0.args.banana", 1)},
        "'banana'",
    ),
    "unknown node key": ({"arch": lambda a: _set(a, "children.0.extra", 1)}, "'extra'"),
    "unknown layer type": ({"arch": lambda a: _set(a, "children.1.type", "os.system")}, "unknown"),
    "900 nested Sequentials": ({"raw_meta": _nest}, "nests"),
    "40 nested Sequentials": ({"raw_meta": lambda h: _nest(h, 40)}, "nests"),
    "architecture nested 100000 deep": ({"raw_meta": _nested_json}, "architecture"),
    "metadata not JSON": ({"raw_meta": lambda h: _set(h, "metadata", "{not json")}, "JSON"),
    "metadata a list": ({"raw_meta": lambda h: _set(h, "metadata", "[1, 2]")}, "metadata"),
    "task banana": ({"meta": lambda m: _set(m, "task", "banana")}, "'task'"),
    "task a list": ({"meta": lambda m: _set(m, "task", ["classification"])}, "'task'"),
    "feature_names null": ({"meta": lambda m: _set(m, "feature_names", None)}, "feature_names"),
    "feature_names too short": (
        {"meta": lambda m: _set(m, "feature_names", ["a"])},
        "feature_names",
    ),
    "missing standardizer": ({"meta": lambda m: _drop(m, "standardizer")}, "'standardizer'"),
    "standardizer a list": ({"meta": lambda m: _set(m, "standardizer", [1])}, "standardizer"),
    "standardizer of 5 features": (
        {"meta": lambda m: _set(m, "standardizer", {"mean": [0.0] * 5, "scale": [1.0] * 5})},
        "features",
    ),
    "standardizer scale zero": (
        {"meta": lambda m: _set(m, "standardizer.scale", [0.0] * 4)},
        "standardizer",
    ),
    "unknown metadata field": ({"meta": lambda m: _set(m, "extra", 1)}, "'extra'"),
    "regressor with classes": ({"meta": lambda m: _set(m, "task", "regression")}, "label_encoder"),
    "input_shape wrong": (
        {"meta": lambda m: _set(m, "info.input_shape", [1, 9, 9])},
        "input_shape",
    ),
    "seed a string": ({"meta": lambda m: _set(m, "info.options.seed", "x")}, "seed"),
    "weight transposed": (
        {"tensors": lambda a: _set(a, "0.weight", np.ascontiguousarray(a["0.weight"].T))},
        "'0.weight'",
    ),
    "tensor missing": ({"tensors": lambda a: _drop(a, "2.bias")}, "'2.bias'"),
    "tensor extra": (
        {"tensors": lambda a: a.update({"9.weight": np.zeros(3, np.float32)})},
        "9.weight",
    ),
    "no retrograd kind": ({"meta": lambda m: _drop(m, "kind")}, "preprocessing"),
}

RAW_MODEL_CASES: dict[str, Callable[[bytes], bytes]] = {
    "empty file": lambda raw: b"",
    "truncated": lambda raw: raw[: len(raw) // 2],
    "random bytes": lambda raw: bytes(np.random.default_rng(0).integers(0, 256, 2000, np.uint8)),
    "header length huge": lambda raw: (2**62).to_bytes(8, "little") + raw[8:],
    "header not JSON": lambda raw: (
        raw[:8]
        + b"\xff" * (int.from_bytes(raw[:8], "little"))
        + raw[8 + int.from_bytes(raw[:8], "little") :]
    ),
    "pickle": lambda raw: b"\x80\x04" + raw,
}


@pytest.fixture(scope="module")
def damaged_models(work: Path, model_file: Path) -> dict[str, Path]:
    folder = work / "models"
    folder.mkdir()
    out = {}
    for i, (name, (how, _)) in enumerate(MODEL_CASES.items()):
        out[name] = rewrite(model_file, folder / f"case{i}.safetensors", **how)
    for i, (name, damage) in enumerate(RAW_MODEL_CASES.items()):
        path = folder / f"raw{i}.safetensors"
        path.write_bytes(damage(model_file.read_bytes()))
        out[name] = path
    return out


@pytest.fixture(scope="module", params=HOW)
def info_results(request, damaged_models) -> dict[str, subprocess.CompletedProcess]:
    return run_all({name: ["info", path] for name, path in damaged_models.items()}, request.param)


@pytest.mark.parametrize("case", list(MODEL_CASES) + list(RAW_MODEL_CASES))
def test_a_damaged_model_file_is_refused_by_info_with_one_line(case, damaged_models, info_results):
    fragment = MODEL_CASES[case][1] if case in MODEL_CASES else ""
    assert_refused(info_results[case], damaged_models[case], fragment)


@pytest.mark.parametrize("case", list(MODEL_CASES) + list(RAW_MODEL_CASES))
def test_a_damaged_model_file_is_refused_by_predict_and_evaluate(case, damaged_models, work):
    rows = work / "rows.csv"
    rows.write_text("5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n")
    path = damaged_models[case]
    result = invoke("predict", path, rows, "-o", work / "never.csv")
    assert_invoke_refused(result, path)
    assert not (work / "never.csv").exists()
    assert_invoke_refused(invoke("evaluate", path, "--data", "iris"), path)


@pytest.mark.parametrize("case", list(MODEL_CASES) + list(RAW_MODEL_CASES))
def test_a_damaged_model_file_raises_a_value_error_in_python(case, damaged_models):
    path = damaged_models[case]
    with pytest.raises(ValueError, match="") as info:
        pipeline.TrainedModel.load(path)
    assert str(path) in str(info.value)
    if case in MODEL_CASES:
        assert MODEL_CASES[case][1] in str(info.value)


ARCHITECTURE_CASES = [
    c
    for c in MODEL_CASES
    if "arch" in MODEL_CASES[c][0] or "tensors" in MODEL_CASES[c][0] or "nested" in c
]


@pytest.mark.parametrize("case", ARCHITECTURE_CASES)
def test_retrograd_load_refuses_what_the_architecture_cannot_build(case, damaged_models):
    with pytest.raises(ValueError) as info:
        rg.load(damaged_models[case])
    assert str(damaged_models[case]) in str(info.value)


@pytest.mark.parametrize("case", ["Linear(4, 10**8)", "Linear(10**6, 10**6)"])
def test_a_huge_architecture_is_refused_without_allocating(case, damaged_models):
    path = damaged_models[case]
    for load in (pipeline.TrainedModel.load, rg.load):
        peak, message = peak_bytes(lambda load=load: load(path), ModelFileError)
        assert peak < 16 * 2**20, (peak, message)
        assert "does not match the weights" in message


def test_a_tensor_mismatch_names_the_tensor_and_both_shapes(damaged_models):
    with pytest.raises(ValueError) as info:
        rg.load(damaged_models["weight transposed"])
    message = str(info.value)
    assert "'0.weight'" in message and "(4, 8)" in message and "(8, 4)" in message
    assert "Error(s) in loading state_dict" not in message


def test_the_model_file_as_written_loads(model_file):
    model = pipeline.TrainedModel.load(model_file)
    assert model.classes == [0, 1, 2]
    assert run_cli("info", model_file).returncode == 0


# ------------------------------------------------------------------ features by name


@pytest.fixture(scope="module")
def iris_csv(work: Path) -> tuple[Path, list[str]]:
    spec = load_dataset("iris")
    path = work / "iris.csv"
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    np.savetxt(
        path,
        np.column_stack([spec.X, spec.y]),
        delimiter=",",
        header=",".join([*names, "species"]),
        comments="",
        fmt="%g",
    )
    return path, names


@pytest.fixture(scope="module")
def csv_model(work: Path, iris_csv: tuple[Path, list[str]]) -> Path:
    result = pipeline.train(str(iris_csv[0]), hidden=(16,), epochs=60, lr=0.01, quiet=True)
    path = work / "csv_model.safetensors"
    result.model.save(path)
    return path


def _write(path: Path, header: list[str] | None, rows: np.ndarray) -> Path:
    lines = [",".join(header)] if header else []
    lines += [",".join(f"{v:g}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_predict_matches_csv_columns_by_name_in_any_order(work, iris_csv, csv_model):
    spec = read_csv(iris_csv[0])
    names = iris_csv[1]
    order = [2, 0, 3, 1]
    ordered = _write(work / "ordered.csv", names, spec.X)
    shuffled = _write(work / "shuffled.csv", [names[j] for j in order], spec.X[:, order])
    out1, out2 = work / "p1.csv", work / "p2.csv"
    assert invoke("predict", csv_model, ordered, "-o", out1).exit_code == 0
    assert invoke("predict", csv_model, shuffled, "-o", out2).exit_code == 0
    assert out1.read_text() == out2.read_text()
    predicted = np.loadtxt(out1, delimiter=",", skiprows=1)[:, 0]
    assert np.mean(predicted == spec.y) > 0.8  # not the 0.0067 of columns taken by position


def test_evaluate_matches_csv_columns_by_name(work, iris_csv, csv_model):
    spec = read_csv(iris_csv[0])
    names = iris_csv[1]
    order = [3, 1, 0, 2]
    shuffled = work / "shuffled_labelled.csv"
    _write(
        shuffled,
        [*(names[j] for j in order), "species"],
        np.column_stack([spec.X[:, order], spec.y]),
    )
    result = invoke("evaluate", csv_model, "--data", shuffled)
    assert result.exit_code == 0, result.output
    same = invoke("evaluate", csv_model, "--data", iris_csv[0])
    accuracy = [line for line in result.output.splitlines() if line.startswith("accuracy")]
    assert accuracy and accuracy == [
        line for line in same.output.splitlines() if line.startswith("accuracy")
    ]
    assert float(accuracy[0].split()[1]) > 0.8


@pytest.mark.parametrize(
    ("header", "fragments"),
    [
        (
            ["sepal_length", "sepal_width", "petal_length", "petal_widht"],
            ["petal_widht", "petal_width"],
        ),
        (["sepal_length", "sepal_width", "petal_length"], ["missing petal_width", "3 feature"]),
        (["a", "sepal_width", "petal_length", "petal_width", "b"], ["unexpected a, b", "missing"]),
        (["sepal_length", "sepal_length", "petal_length", "petal_width"], ["more than one"]),
    ],
)
def test_predict_refuses_columns_whose_names_do_not_match(work, csv_model, header, fragments):
    rows = _write(work / "named.csv", header, np.ones((2, len(header))))
    assert_invoke_refused(
        invoke("predict", csv_model, rows, "-o", work / "x.csv"), rows, *fragments
    )


def test_predict_without_a_header_takes_columns_in_order(work, csv_model):
    rows = _write(work / "plain.csv", None, np.array([[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]))
    assert invoke("predict", csv_model, rows, "-o", work / "plain_out.csv").exit_code == 0
    assert_invoke_refused(
        invoke(
            "predict",
            csv_model,
            _write(work / "p3.csv", None, np.ones((2, 3))),
            "-o",
            work / "y.csv",
        ),
        "3 feature",
        "expects 4",
    )


def test_predict_refuses_an_extra_target_column_with_a_hint(work, iris_csv, csv_model):
    result = invoke("predict", csv_model, iris_csv[0], "-o", work / "t.csv")
    assert_invoke_refused(result, "unexpected species", "--target")
    assert (
        invoke(
            "predict", csv_model, iris_csv[0], "--target", "species", "-o", work / "t.csv"
        ).exit_code
        == 0
    )


# ------------------------------------------------------------------ overflow and non-finite outputs


def test_predicting_a_row_that_overflows_is_refused_naming_the_row(work, csv_model, iris_csv):
    names = iris_csv[1]
    rows = _write(
        work / "huge.csv", names, np.array([[5.1, 3.5, 1.4, 0.2], [1e308, 3.0, 4.0, 1.0]])
    )
    out = work / "huge_out.csv"
    result = invoke("predict", csv_model, rows, "-o", out)
    assert_invoke_refused(result, "row 1", "sepal_length", "1e+308")
    assert not out.exists()
    model = pipeline.TrainedModel.load(csv_model)
    with pytest.raises(ValueError, match="row 1"):
        model.predict(np.array([[5.1, 3.5, 1.4, 0.2], [1e308, 3.0, 4.0, 1.0]]))


def test_non_finite_outputs_are_an_error_not_a_nan_prediction(work, model_file):
    # Finite but huge weights: every input overflows the network's output.
    path = rewrite(
        model_file,
        work / "huge_weights.safetensors",
        tensors=lambda a: a.update({k: a[k] * np.float32(1e30) for k in ("0.weight", "2.weight")}),
    )
    rows = _write(work / "r.csv", None, np.array([[5.1, 3.5, 1.4, 0.2]]))
    assert_invoke_refused(
        invoke("predict", path, rows, "-o", work / "nan.csv"), "not finite", "row 0"
    )
    assert_invoke_refused(invoke("evaluate", path, "--data", "iris"), "not finite")
    model = pipeline.TrainedModel.load(path)
    with pytest.raises(ValueError, match="not finite"):
        model.predict_proba(np.ones((1, 4)))


def test_features_of_1e308_train_without_overflow(work):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    X[:, 1] = np.where(rng.random(120) > 0.5, 1e308, -1e308)
    path = _write(work / "overflow.csv", ["a", "b", "c", "label"], np.column_stack([X, y]))
    result = pipeline.train(str(path), hidden=(8,), epochs=5, quiet=True)
    assert result.metrics["stop_reason"] != "diverged"
    assert np.isfinite(result.model.standardizer.mean_).all()
    assert result.metrics["test_accuracy"] > 0.5


def test_features_that_cannot_be_standardised_are_refused_naming_the_column(work):
    # Two thirds at +1.7e308: the mean is far from zero, and -1.7e308 minus it overflows.
    X = np.array([[1.7e308, 1.0], [1.7e308, 2.0], [-1.7e308, 3.0]] * 6)
    y = np.array([0, 1] * 9)
    path = _write(work / "too_big.csv", ["a", "b", "label"], np.column_stack([X, y]))
    with pytest.raises(DataError, match=r"column 0 holds 1\.7e\+308"):
        pipeline.train(str(path), hidden=(4,), epochs=1, quiet=True, test_split=0)
    proc = run_cli(
        "train", "--data", path, "--epochs", "1", "--test-split", "0", "--out", work / "tb", "-q"
    )
    assert_refused(proc, "1.7e+308")
    assert "diverged" not in proc.stderr


# ------------------------------------------------------------------ labels


def test_integer_labels_beyond_float64_stay_distinct(work):
    big = 10**30
    path = work / "big_labels.csv"
    rows = [f"{i % 7}.5,{i % 3},{big + i % 2}" for i in range(40)]
    path.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    spec = read_csv(path)
    assert spec.task == "classification"
    assert sorted(spec.classes) == [str(big), str(big + 1)]
    result = pipeline.train(spec, hidden=(4,), epochs=2, quiet=True)
    assert len(result.model.classes) == 2


def test_a_single_class_is_refused_for_classification(work):
    path = _write(
        work / "one_class.csv",
        ["a", "b", "label"],
        np.column_stack([np.ones((20, 2)), np.full(20, 3)]),
    )
    with pytest.raises(DataError, match="single class"):
        pipeline.train(str(path), hidden=(4,), epochs=1, quiet=True)
    out = work / "one_class_run"
    assert_refused(run_cli("train", "--data", path, "--out", out, "-q"), "single class")
    assert not out.exists()  # refused before the run folder is made


def test_fractional_labels_are_refused_for_classification(work):
    path = _write(
        work / "frac.csv", ["a", "label"], np.array([[1, 0.7], [2, 1.7], [3, 0.7], [4, 1.7]])
    )
    with pytest.raises(DataError, match="0.7"):
        read_csv(path, task="classification")
    npz = work / "frac.npz"
    np.savez(npz, X=np.ones((4, 2)), y=np.array([0.7, 1.7, 0.7, 1.7]))
    with pytest.raises(DataError, match="0.7"):
        read_npz(npz, task="classification")


# ------------------------------------------------------------------ NPZ and IDX


def _npz_claiming(path: Path, shape: tuple[int, ...]) -> Path:
    """A small, uncompressed .npz whose X header claims ``shape`` of float64."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("X.npy", header.getvalue() + b"\0" * 64)
        buf = io.BytesIO()
        np.save(buf, np.zeros(3, np.int64))
        zf.writestr("y.npy", buf.getvalue())
    return path


def _zip_bomb(path: Path, gigabytes: float) -> Path:
    """An .npz whose X is ``gigabytes`` of zeros, deflated to a few megabytes at most."""
    n = int(gigabytes * 2**30 / 8)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f8", "fortran_order": False, "shape": (n // 4, 4)}
            )
            chunk = bytes(2**24)
            left = n * 8
            while left:
                f.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
        buf = io.BytesIO()
        np.save(buf, np.zeros(n // 4, np.int64))
        zf.writestr("y.npy", buf.getvalue())
    return path


def _idx(path: Path, code: int, shape: tuple[int, ...], data: bytes, gz: bool = False) -> Path:
    raw = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + data
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def _idx_folder(folder: Path, images: tuple, labels: tuple) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _idx(folder / "train-images-idx3-ubyte", *images)
    _idx(folder / "train-labels-idx1-ubyte", *labels)
    return folder


def _labels(n: int) -> tuple:
    return (0x08, (n,), bytes(i % 2 for i in range(n)))


DATA_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "npz claiming 10**12 values": (
        lambda d: _npz_claiming(d / "claim.npz", (10**6, 10**6)),
        "declares shape",
    ),
    "npz zero rows": (
        lambda d: (np.savez(d / "zero.npz", X=np.zeros((0, 4)), y=np.zeros(0)), d / "zero.npz")[1],
        "no samples",
    ),
    "npz zero features": (
        lambda d: (np.savez(d / "zf.npz", X=np.zeros((5, 0)), y=np.arange(5)), d / "zf.npz")[1],
        "no features",
    ),
    "npz object array": (
        lambda d: (
            np.savez(d / "obj.npz", X=np.array([{"a": 1}], dtype=object), y=np.zeros(1)),
            d / "obj.npz",
        )[1],
        "'X'",
    ),
    "npz nan": (
        lambda d: (
            np.savez(d / "nan.npz", X=np.array([[1.0, np.nan]] * 4), y=np.array([0, 1] * 2)),
            d / "nan.npz",
        )[1],
        "non-finite",
    ),
    "npy renamed": (
        lambda d: (
            np.save(d / "single.npy", np.zeros((3, 3))),
            (d / "single.npy").rename(d / "single.npz"),
            d / "single.npz",
        )[2],
        "single array",
    ),
    "npz random bytes": (
        lambda d: (d / "rand.npz").write_bytes(bytes(range(256)) * 4) and d / "rand.npz",
        "not a readable",
    ),
    "npz truncated": (
        lambda d: (
            np.savez(d / "full.npz", X=np.ones((50, 4)), y=np.arange(50) % 2),
            (d / "trunc.npz").write_bytes((d / "full.npz").read_bytes()[:900]),
            d / "trunc.npz",
        )[2],
        "trunc.npz",
    ),
    "idx zero rows": (
        lambda d: _idx_folder(d / "idx_zero", (0x08, (0, 28, 28), b""), _labels(0)),
        "no images",
    ),
    "idx nan images": (
        lambda d: _idx_folder(
            d / "idx_nan",
            (0x0D, (4, 2, 2), np.array([np.nan] + [0.5] * 15, ">f4").tobytes()),
            _labels(4),
        ),
        "finite",
    ),
    "idx inf images": (
        lambda d: _idx_folder(
            d / "idx_inf",
            (0x0E, (4, 2, 2), np.array([0.5] * 15 + [np.inf], ">f8").tobytes()),
            _labels(4),
        ),
        "finite",
    ),
    "idx float labels": (
        lambda d: _idx_folder(
            d / "idx_float",
            (0x08, (4, 2, 2), bytes(16)),
            (0x0D, (4,), np.array([0.7, 1.7, 0.7, 1.7], ">f4").tobytes()),
        ),
        "whole number",
    ),
    "idx claiming more than the file": (
        lambda d: _idx_folder(
            d / "idx_claim", (0x08, (10**4, 10**4, 10**4), bytes(100)), _labels(4)
        ),
        "truncated",
    ),
    "idx gzip claiming terabytes": (
        lambda d: _idx_folder(
            d / "idx_gz", (0x0E, (60000, 60000, 60000), bytes(1000), True), _labels(4)
        ),
        "GiB",
    ),
    "idx extra bytes": (
        lambda d: _idx_folder(d / "idx_extra", (0x08, (4, 2, 2), bytes(20)), _labels(4)),
        "more than its header",
    ),
    "idx bad magic": (
        lambda d: (
            _idx_folder(d / "idx_magic", (0x08, (4, 2, 2), bytes(16)), _labels(4)),
            (d / "idx_magic" / "train-images-idx3-ubyte").write_bytes(
                b"\x01\x02\x03\x04" + bytes(40)
            ),
            d / "idx_magic",
        )[2],
        "magic",
    ),
    "csv nan feature": (
        lambda d: _write(d / "nan.csv", ["a", "b"], np.array([[1, 0], [np.nan, 1], [2, 0]])),
        "line 3",
    ),
}


@pytest.fixture(scope="module")
def damaged_data(work: Path) -> dict[str, Path]:
    folder = work / "data"
    folder.mkdir()
    return {name: make(folder) for name, (make, _) in DATA_CASES.items()}


@pytest.fixture(scope="module", params=HOW)
def data_results(request, damaged_data, work) -> dict[str, subprocess.CompletedProcess]:
    return run_all(
        {
            name: ["train", "--data", path, "--out", work / "runs" / request.param / f"{i}", "-q"]
            for i, (name, path) in enumerate(damaged_data.items())
        },
        request.param,
    )


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_a_damaged_data_file_is_refused_by_train_with_one_line(
    case, damaged_data, data_results, work
):
    assert_refused(data_results[case], damaged_data[case], DATA_CASES[case][1])
    assert not any((work / "runs").glob("*/model.safetensors"))


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_a_damaged_data_file_raises_a_data_error_in_python(case, damaged_data):
    with pytest.raises(DataError, match=DATA_CASES[case][1]):
        load_dataset(str(damaged_data[case]))


@pytest.mark.parametrize(
    "case",
    [
        "npz claiming 10**12 values",
        "idx gzip claiming terabytes",
        "idx claiming more than the file",
    ],
)
def test_a_file_claiming_huge_sizes_is_refused_without_allocating(case, damaged_data):
    peak, message = peak_bytes(lambda: load_dataset(str(damaged_data[case])), DataError)
    assert peak < 16 * 2**20, (peak, message)


def test_a_zip_bomb_is_refused_without_expanding_it(work):
    bomb = _zip_bomb(work / "bomb.npz", 0.5)
    assert bomb.stat().st_size < 8 * 2**20
    peak, message = peak_bytes(lambda: read_npz(bomb), DataError)
    assert peak < 16 * 2**20, (peak, message)
    assert "zip bomb" in message and str(bomb) in message


def test_the_memory_limit_is_read_from_the_environment(work, monkeypatch):
    path = work / "limit.npz"
    np.savez(path, X=np.ones((100, 10)), y=np.arange(100) % 2)
    monkeypatch.setenv("RETROGRAD_MAX_DATA_BYTES", "1000")
    with pytest.raises(DataError, match="RETROGRAD_MAX_DATA_BYTES"):
        read_npz(path)
    monkeypatch.setenv("RETROGRAD_MAX_DATA_BYTES", "100000")
    assert read_npz(path).n_samples == 100


def test_idx_float_labels_that_are_whole_numbers_still_load(work):
    folder = _idx_folder(
        work / "idx_whole",
        (0x08, (4, 2, 2), bytes(16)),
        (0x0D, (4,), np.array([0, 1, 0, 1], ">f4").tobytes()),
    )
    assert read_idx_folder(folder).y.tolist() == [0, 1, 0, 1]


# ------------------------------------------------------------------ --resume: run.json and checkpoint


@pytest.fixture(scope="module")
def interrupted_run(work: Path) -> Path:
    out = work / "interrupted"
    proc = run_in_process(
        "train",
        "--data",
        "iris",
        "--hidden",
        "8",
        "--epochs",
        "10",
        "--out",
        out,
        "-q",
        "--stop-after",
        "2",
    )
    assert proc.returncode == 130, proc.stderr
    return out


def _damaged_run(
    src: Path, dst: Path, ckpt: Callable | None = None, run: Callable | None = None
) -> Path:
    shutil.copytree(src, dst)
    if ckpt is not None:
        state = load_checkpoint(dst / "checkpoint.safetensors")
        save_checkpoint(_apply(ckpt, state), dst / "checkpoint.safetensors")
    if run is not None:
        record = json.loads((dst / "run.json").read_text())
        (dst / "run.json").write_text(json.dumps(_apply(run, record)))
    return dst


RESUME_CASES: dict[str, tuple[dict[str, Callable], str]] = {
    "epoch -5": ({"ckpt": lambda c: _set(c, "epoch", -5)}, "'epoch'"),
    "epoch 1e9": ({"ckpt": lambda c: _set(c, "epoch", 10**9)}, "'epoch'"),
    "epoch a float": ({"ckpt": lambda c: _set(c, "epoch", 1e9)}, "'epoch'"),
    "epoch not the history's": ({"ckpt": lambda c: _set(c, "epoch", 5)}, "'epoch'"),
    "no model": ({"ckpt": lambda c: _drop(c, "model")}, "'model'"),
    "unknown key": ({"ckpt": lambda c: _set(c, "extra", 1)}, "'extra'"),
    "stopping unknown field": (
        {"ckpt": lambda c: _set(c, "stopping.patience_left", 3)},
        "stopping",
    ),
    "stopping a string": ({"ckpt": lambda c: _set(c, "stopping.bad_epochs", "x")}, "stopping"),
    "history a list": ({"ckpt": lambda c: _set(c, "history", [1])}, "'history'"),
    "rng a list": ({"ckpt": lambda c: _set(c, "rng", [1])}, "'rng'"),
    "weight of the wrong shape": (
        {"ckpt": lambda c: _set(c, "model.0.weight", np.zeros((2, 4), np.float32))},
        "'0.weight'",
    ),
    "nan weight": (
        {"ckpt": lambda c: _set(c, "model.2.bias", np.full(3, np.nan, np.float32))},
        "'2.bias'",
    ),
    "optimizer state a string": (
        {"ckpt": lambda c: c["optimizer"]["state"][0].update(step="x")},
        "step",
    ),
    "optimizer groups an int": (
        {"ckpt": lambda c: _set(c, "optimizer.param_groups", 5)},
        "optimizer",
    ),
    "generator state garbage": (
        {"ckpt": lambda c: _set(c, "rng.default", {"a": 1})},
        "random state",
    ),
    "run.json a list": ({"run": lambda r: [r]}, "JSON list"),
    "run.json unknown option": ({"run": lambda r: _set(r, "options.colour", "red")}, "'colour'"),
    "run.json missing option": ({"run": lambda r: _drop(r["options"], "lr")}, "missing lr"),
    "run.json lr a string": ({"run": lambda r: _set(r, "options.lr", "fast")}, "'lr'"),
    "run.json hidden an object": ({"run": lambda r: _set(r, "options.hidden", {"a": 1})}, "hidden"),
    "run.json activation unknown": (
        {"run": lambda r: _set(r, "options.activation", "banana")},
        "activation",
    ),
    "run.json no sessions": ({"run": lambda r: _drop(r, "sessions")}, "'sessions'"),
    "run.json sessions a string": ({"run": lambda r: _set(r, "sessions", "two")}, "'sessions'"),
    "run.json status unknown": ({"run": lambda r: _set(r, "status", "banana")}, "'status'"),
    "run.json options a list": ({"run": lambda r: _set(r, "options", [1])}, "'options'"),
}


@pytest.fixture(scope="module", params=HOW)
def resumed(request, work, interrupted_run) -> dict[str, tuple[Path, str, Any]]:
    """Each damaged run folder, its run.json before ``--resume``, and the result of it."""
    runs = {}
    for i, (name, (how, _)) in enumerate(RESUME_CASES.items()):
        path = _damaged_run(interrupted_run, work / "resume" / request.param / f"{i}", **how)
        runs[name] = (path, (path / "run.json").read_text())
    commands = {name: ["train", "--resume", path, "-q"] for name, (path, _) in runs.items()}
    results = run_all(commands, request.param)
    return {name: (*runs[name], results[name]) for name in runs}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_a_damaged_run_is_refused_by_resume_and_not_left_running(case, resumed):
    path, before, result = resumed[case]
    assert_refused(result, path, RESUME_CASES[case][1])
    after = (path / "run.json").read_text()
    if after != before:  # refused once training had started: the failure is recorded
        assert json.loads(after)["status"] == "failed"


def test_the_interrupted_run_itself_resumes(work, interrupted_run):
    copy = shutil.copytree(interrupted_run, work / "resumable")
    proc = run_in_process("train", "--resume", copy, "-q")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((copy / "run.json").read_text())["status"] == "finished"


# ------------------------------------------------------------------ the scikit-learn estimators


@pytest.fixture(scope="module")
def saved_estimators(work: Path) -> dict[str, Path]:
    spec = load_dataset("iris")
    out = {}
    for name, est, y in (
        ("multiclass", MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0), spec.y),
        ("binary", MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0), spec.y % 2),
        (
            "regressor",
            MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0),
            spec.X[:, 0],
        ),
    ):
        with pytest.warns(Warning):  # ConvergenceWarning: five epochs only
            est.fit(spec.X, y)
        out[name] = work / f"sk_{name}.safetensors"
        est.save(out[name])
    return out


SKLEARN_CASES: dict[str, tuple[str, Callable[[dict], Any], str]] = {
    "5 classes for 1 output": (
        "binary",
        lambda m: _set(m, "classes_", [0, 1, 2, 3, 4]),
        "5 classes",
    ),
    "multiclass for 1 output": ("binary", lambda m: _set(m, "y_type_", "multiclass"), "output"),
    "classes not distinct": ("multiclass", lambda m: _set(m, "classes_", [0, 0, 1]), "distinct"),
    "classes dtype object": (
        "multiclass",
        lambda m: _set(m, "classes_dtype", "object"),
        "classes_dtype",
    ),
    "n_features_in_ wrong": (
        "multiclass",
        lambda m: _set(m, "n_features_in_", 7),
        "n_features_in_",
    ),
    "n_outputs_ a string": ("regressor", lambda m: _set(m, "n_outputs_", "1"), "n_outputs_"),
    "params unknown": ("multiclass", lambda m: _set(m, "params.banana", 1), "params"),
    "params invalid": ("multiclass", lambda m: _set(m, "params.alpha", -1.0), "alpha"),
    "params a list": ("regressor", lambda m: _set(m, "params", [1]), "params"),
    "activation unknown": (
        "regressor",
        lambda m: _set(m, "params.activation", "banana"),
        "activation",
    ),
    "feature names too few": (
        "regressor",
        lambda m: _set(m, "feature_names_in_", ["a"]),
        "feature_names_in_",
    ),
    "out_activation_ unknown": (
        "regressor",
        lambda m: _set(m, "out_activation_", "sin"),
        "out_activation_",
    ),
    "unknown field": ("regressor", lambda m: _set(m, "colour", 1), "'colour'"),
    "loss_curve_ strings": ("regressor", lambda m: _set(m, "loss_curve_", ["a"]), "loss_curve_"),
}


@pytest.mark.parametrize("case", list(SKLEARN_CASES))
def test_a_damaged_estimator_file_is_refused(case, saved_estimators, work):
    which, damage, fragment = SKLEARN_CASES[case]
    path = rewrite(
        saved_estimators[which], work / f"sk_case_{abs(hash(case))}.safetensors", meta=damage
    )
    cls = MLPRegressor if which == "regressor" else MLPClassifier
    with pytest.raises(ValueError) as info:
        cls.load(path)
    assert str(path) in str(info.value) and fragment in str(info.value)


def test_an_estimator_file_with_nan_weights_or_a_huge_layer_is_refused(saved_estimators, work):
    nan = rewrite(
        saved_estimators["binary"], work / "sk_nan.safetensors", tensors=lambda a: _nan(a, np.nan)
    )
    with pytest.raises(ModelFileError, match="'0.weight'"):
        MLPClassifier.load(nan)
    huge = rewrite(
        saved_estimators["binary"],
        work / "sk_huge.safetensors",
        arch=lambda a: _set(a, "children.0.args.out_features", 10**8),
    )
    peak, message = peak_bytes(lambda: MLPClassifier.load(huge), ModelFileError)
    assert peak < 16 * 2**20 and "does not match the weights" in message


def test_the_estimator_files_as_written_load(saved_estimators):
    spec = load_dataset("iris")
    assert MLPClassifier.load(saved_estimators["multiclass"]).predict(spec.X).shape == (150,)
    assert MLPRegressor.load(saved_estimators["regressor"]).predict(spec.X).shape == (150,)


def test_estimator_feature_names_are_checked_as_scikit_learn_checks_them(work):
    pd = pytest.importorskip("pandas")
    spec = load_dataset("iris")
    frame = pd.DataFrame(spec.X, columns=["a", "b", "c", "d"])
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        est.fit(frame, spec.y)
    path = work / "sk_named.safetensors"
    est.save(path)
    loaded = MLPClassifier.load(path)
    assert loaded.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(loaded.predict(frame), est.predict(frame))
    for model in (est, loaded):
        with pytest.raises(ValueError, match="feature names"):
            model.predict(frame[["b", "a", "c", "d"]])
        with pytest.raises(ValueError, match="feature names"):
            model.predict(frame.rename(columns={"d": "e"}))


# ------------------------------------------------------------------ every layer kind, through retrograd.load


@pytest.fixture(scope="module")
def layered_file(work: Path) -> Path:
    """A network with a layer of each kind that holds weights or shapes its output."""
    rg.manual_seed(0)
    net = rg.nn.Sequential(
        rg.nn.Unflatten(1, (1, 4, 4)),
        rg.nn.Conv2d(1, 2, 3, padding=1),
        rg.nn.BatchNorm2d(2),
        rg.nn.ReLU(),
        rg.nn.AdaptiveAvgPool2d(2),
        rg.nn.Flatten(),
        rg.nn.LayerNorm(8),
        rg.nn.Linear(8, 3),
        rg.nn.PReLU(3),
        rg.nn.Dropout(0.1),
    )
    path = work / "layered.safetensors"
    rg.save(net, path)
    return path


LAYER_CASES: dict[str, tuple[Callable[[dict], Any], str]] = {
    "Conv2d with 10**5 channels": (
        lambda a: _set(a, "children.1.args.out_channels", 10**5),
        "does not match the weights",
    ),
    "Conv2d kernel of 10**4": (
        lambda a: _set(a, "children.1.args.kernel_size", [10**4, 10**4]),
        "does not match the weights",
    ),
    "Conv2d padding of 10**5": (
        lambda a: _set(a, "children.1.args.padding", [10**5, 1]),
        "padding",
    ),
    "Conv2d kernel of floats": (
        lambda a: _set(a, "children.1.args.kernel_size", [3.0, 3.0]),
        "kernel_size",
    ),
    "Conv2d bias 'yes'": (lambda a: _set(a, "children.1.args.bias", "yes"), "bias"),
    "BatchNorm2d of 10**9": (
        lambda a: _set(a, "children.2.args.num_features", 10**9),
        "does not match the weights",
    ),
    "BatchNorm2d eps NaN": (lambda a: _set(a, "children.2.args.eps", float("nan")), "eps"),
    "AdaptiveAvgPool2d to 10**5": (
        lambda a: _set(a, "children.4.args.output_size", [10**5, 10**5]),
        "output_size",
    ),
    "LayerNorm of 10**9": (
        lambda a: _set(a, "children.6.args.normalized_shape", [10**9]),
        "does not match the weights",
    ),
    "Linear of 10**6 x 10**6": (
        lambda a: _set(a, "children.7.args", {"in_features": 10**6, "out_features": 10**6}),
        "does not match the weights",
    ),
    "PReLU of 10**9": (
        lambda a: _set(a, "children.8.args.num_parameters", 10**9),
        "does not match the weights",
    ),
    "Dropout p=5": (lambda a: _set(a, "children.9.args.p", 5), "Dropout"),
    "Linear 3 -> 8 against a (3, 8) weight": (
        lambda a: _set(a, "children.7.args", {"in_features": 3, "out_features": 8}),
        "'7.weight'",
    ),
    "Unflatten sizes a string": (
        lambda a: _set(a, "children.0.args.unflattened_size", "4x4"),
        "unflattened_size",
    ),
}


@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_retrograd_load_checks_every_layer_kind_before_building_it(case, layered_file, work):
    damage, fragment = LAYER_CASES[case]
    arrays, header = read_model(layered_file)
    arch = _apply(damage, json.loads(header["architecture"]))
    path = work / "layered_case.safetensors"
    path.write_bytes(
        safetensors.numpy.save(arrays, metadata=dict(header, architecture=json.dumps(arch)))
    )
    peak, message = peak_bytes(lambda: rg.load(path), ModelFileError)
    assert peak < 16 * 2**20, (peak, message)
    assert str(path) in message and fragment in message


def test_the_layered_file_as_written_loads(layered_file):
    net = rg.load(layered_file)
    assert net(rg.randn(2, 16)).shape == (2, 3)


def test_a_gzip_idx_file_with_a_bomb_after_its_data_is_refused_without_expanding_it(work):
    folder = work / "idx_tail_bomb"
    folder.mkdir()
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 4, 2, 2)
    stream = gzip.compress(header + bytes(16) + bytes(64 * 2**20), compresslevel=1)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(stream)
    _idx(folder / "train-labels-idx1-ubyte", *_labels(4))
    peak, message = peak_bytes(lambda: read_idx_folder(folder), DataError)
    assert peak < 16 * 2**20, (peak, message)
    assert "more than 1048576 bytes more than its header" in message
