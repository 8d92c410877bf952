"""The commands that read a saved model: ``evaluate``, ``predict`` and ``info``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..data import DATASETS, DataError, train_val_test_split
from ..data.spec import preview
from ..serialization import atomic_write
from . import model_files
from .errors import UsageFailure
from .inputs import (
    check_output,
    check_plot,
    load_data,
    load_model,
    match_features,
    model_path,
    predictions,
    read_features_csv,
)
from .params import name_option, number_option, output_option
from .plots import plot_confusion, plot_regression
from .text import echo_lines, fmt, table


def _test_part(
    spec: Any, trained: Any, seed: int | None, test_split: float | None
) -> tuple[np.ndarray, str]:
    """The rows that ``train`` held out for testing: the same split, by the same settings.

    Settings not given are the model's own (saved with it by ``train``). The test
    part is split off first, so the validation fraction does not change it.
    """
    saved = trained.info.get("options", {})
    seed = saved.get("seed", 0) if seed is None else seed
    test_split = saved.get("test_split", 0.25) if test_split is None else test_split
    try:  # as pipeline.train splits
        parts = train_val_test_split(
            np.arange(spec.n_samples), spec.y, val_size=0, test_size=test_split,
            task=spec.task, seed=seed,
        )  # fmt: skip
    except DataError as e:
        raise UsageFailure(str(e)) from None
    rows = np.sort(parts.X_test)
    if not len(rows):
        raise UsageFailure(f"--split test: test split {test_split} holds no rows; use --split all")
    what = f"the {len(rows):,} test rows (seed {seed}, test split {test_split})"
    return rows, what


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--data",
    metavar="NAME|FILE",
    help=f"A named data set ({', '.join(DATASETS)}) or a CSV, NPZ or IDX file with targets. "
    "Default: the data set the model was trained on, as its model file names it.",
)
@click.option("--target", metavar="COLUMN", help="The target column of a CSV file.")
@name_option(
    "split",
    dict.fromkeys(("all", "test")),
    "all",
    help="all: every row; test: only the rows `train` held out for testing (same split).",
)
@number_option(
    "seed", help="The training seed, for --split test (default: the one saved with the model)."
)
@number_option(
    "test_split",
    help="The training --test-split, for --split test (default: the one saved with the model).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.png",
    help="Write the confusion matrix (regression: predicted against true) as an image "
    "(.png, .pdf, .svg, ...; by the extension).",
)
@click.option(
    "--normalize",
    is_flag=True,
    help="--plot: show each true class's row as fractions (the recall on the diagonal).",
)
def evaluate(
    model: Path,
    data: str | None,
    target: str | None,
    split: str,
    seed: int | None,
    test_split: float | None,
    plot: Path | None,
    normalize: bool,
) -> None:
    """Print a model's metrics on a data set: accuracy, per-class precision and recall and
    the confusion matrix for a classifier; R², MSE and MAE for a regressor.

    MODEL is a model.safetensors file or a run folder. The data goes through
    the model's own preprocessing and label mapping.

    \b
    Examples:
      retrograd evaluate runs/iris --data iris --split test
      retrograd evaluate runs/iris/model.safetensors --data flowers.csv --plot cm.png
    """
    from sklearn import metrics as skm

    if plot is not None:
        check_plot(plot)
    path, trained = load_model(model)
    if data is None:
        data, target = _own_data(trained, path, target)
    spec = load_data(data, target)
    names = spec.feature_names if spec.named_features else None
    x = match_features(trained, spec.X, names, f"--data {data}")
    y, what = spec.y, f"all {len(spec.y):,} rows"
    if split == "test":
        rows, what = _test_part(spec, trained, seed, test_split)
        x, y = x[rows], y[rows]
    if trained.task == "classification":
        unknown = sorted({str(v) for v in np.unique(y)} - {str(c) for c in trained.classes})
        if unknown:
            raise UsageFailure(
                f"--data {data} has labels the model does not know: {preview(unknown)}; "
                f"the model's classes: {preview(trained.classes)}"
            )
    pred = predictions(trained, x, f"--data {data}")
    click.echo(f"model {path} on {spec.name}, {what}")
    part = "test part" if split == "test" else "all rows"
    if trained.task != "classification":
        r2 = skm.r2_score(y, pred)
        scores = [
            ["R²", r2],
            ["MSE", skm.mean_squared_error(y, pred)],
            ["MAE", skm.mean_absolute_error(y, pred)],
        ]
        echo_lines(table(scores, "lr"))
        if plot:
            plot_regression(y, pred, plot, f"{spec.name}, {part}: R² {r2:.4f}")
            click.echo(f"wrote {plot}")
        return

    classes = list(trained.classes)
    names = trained.class_names
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y, pred, labels=classes, zero_division=0
    )
    accuracy = skm.accuracy_score(y, pred)
    click.echo(f"accuracy  {accuracy:.4f}")
    click.echo("")
    report = [["class", "precision", "recall", "f1", "support"]]
    report += [
        [c, float(p), float(r), float(f), int(s)]
        for c, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    ]
    echo_lines(table(report, "lrrrr"))
    matrix = skm.confusion_matrix(y, pred, labels=classes)
    click.echo("")
    click.echo("confusion matrix (rows: true class, columns: predicted class)")
    grid = [["", *names]] + [[c, *map(int, row)] for c, row in zip(names, matrix, strict=True)]
    echo_lines(table(grid, "l" + "r" * len(classes)))
    if plot:
        title = f"{spec.name}, {part} ({len(y):,} rows): accuracy {accuracy:.4f}"
        plot_confusion(matrix, names, plot, title, normalize=normalize)
        click.echo(f"wrote {plot}")


def _own_data(trained: Any, path: Path, target: str | None) -> tuple[str, str | None]:
    """The data set a model file names (``evaluate`` without ``--data``), and its target."""
    info = trained.info
    data = info.get("data")
    if not isinstance(data, str) and info.get("dataset") in DATASETS:
        data = info["dataset"]
    if not isinstance(data, str):
        raise UsageFailure(f"{path} does not name the data it was trained on; give --data")
    saved_target = info.get("target")
    return data, target if target is not None or not isinstance(saved_target, str) else saved_target


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("input", type=click.Path(path_type=Path), metavar="INPUT.csv")
@output_option("OUT.csv", "CSV file")
@click.option("--target", metavar="COLUMN", help="A target column in INPUT.csv to drop first.")
def predict(model: Path, input: Path, output: Path, target: str | None) -> None:
    """Predict every row of INPUT.csv and write OUT.csv.

    OUT.csv has a `prediction` column (the class or the value) and, for a
    classifier, one `proba_<class>` column per class; a bundled data set's
    classes go by their names (iris: setosa, ...), with the label in a `label`
    column. INPUT.csv holds the model's feature columns: with a header row,
    matched by name in any order (missing or unexpected names are refused);
    without one, in the training order. `-o -` writes to standard output.

    \b
    Example:
      retrograd predict runs/iris new_flowers.csv --output predictions.csv
    """
    to_stdout = str(output) == "-"
    if not to_stdout:
        check_output(output, "--output")
    _, trained = load_model(model)
    x, names = read_features_csv(input, target)
    x = match_features(trained, x, names, str(input), "; drop a target column with --target COLUMN")
    pred = predictions(trained, x, str(input))
    header = ["prediction"]
    columns: list[Any] = [pred]
    if trained.task == "classification":
        proba = predictions(trained, x, str(input), proba=True)
        names = trained.class_names
        if names != [str(c) for c in trained.classes]:
            by_label = dict(zip(map(str, trained.classes), names, strict=True))
            header, columns = ["prediction", "label"], [[by_label[str(p)] for p in pred], pred]
        header += [f"proba_{c}" for c in names]
        columns += list(proba.T)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(zip(*(map(str, c) for c in columns), strict=True))
    if to_stdout:
        click.echo(buffer.getvalue(), nl=False)
        return
    atomic_write(output, buffer.getvalue().encode())
    click.echo(f"wrote {output}: {len(pred):,} rows, columns {', '.join(header)}")


def _layers(module: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """The leaf modules in call order, with dotted names (nested containers flattened)."""
    children = list(module.named_children())
    if not children:
        return [(prefix, module)]
    out = []
    for name, child in children:
        out += _layers(child, f"{prefix}.{name}" if prefix else name)
    return out


def _output_shapes(layers: Sequence[tuple[str, Any]], n_features: int) -> list[str]:
    """Each layer's output shape, from one row of zeros run through them in order."""
    from .. import no_grad, zeros

    shapes = []
    x = zeros(1, n_features)
    with no_grad():
        for _, layer in layers:
            try:
                x = layer(x)
            except (ValueError, TypeError, RuntimeError):  # not a plain chain: shapes unknown
                return shapes + ["?"] * (len(layers) - len(shapes))
            shapes.append("(N, " + ", ".join(str(s) for s in x.shape[1:]) + ")")
    return shapes


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
def info(model: Path) -> None:
    """Print a model's layers with their output shapes and parameter counts, its task,
    classes and features, and how it was trained.

    \b
    Example:
      retrograd info runs/digits-20250101-120000
    """
    if model_files.kind(model_path(model)) == "network":
        _network_info(model_path(model))
        return
    path, trained = load_model(model)
    network = trained.network.eval()
    layers = _layers(network)
    shapes = _output_shapes(layers, trained.n_features)
    rows: list[list[Any]] = [["#", "layer", "output shape", "parameters"]]
    for i, ((_, layer), shape) in enumerate(zip(layers, shapes, strict=True)):
        count = sum(p.numel() for p in layer.parameters())
        rows.append([i, repr(layer), shape, count])
    rows.append(["", "total", "", network.num_parameters()])
    click.echo(f"model     {path}")
    click.echo(f"task      {trained.task}")
    if trained.task == "classification":
        click.echo(f"classes   {len(trained.classes)}: {preview(trained.class_names)}")
    click.echo(f"features  {len(trained.feature_names)}: {preview(trained.feature_names)}")
    click.echo("")
    echo_lines(table(rows, "rllr"))
    trained_with = _training_metadata(trained)
    if trained_with:
        click.echo("")
        echo_lines(table([["training", ""], *trained_with], "ll"))


def _network_info(path: Path) -> None:
    """``info`` on a bare network (``retrograd.save(module, path)``): its layers only."""
    from .. import nn, serialization

    try:
        network = serialization.load(path).eval()
    except (ValueError, KeyError, TypeError) as e:
        raise UsageFailure(f"cannot load the network {path}: {e}") from None
    layers = _layers(network)
    first = next((m for _, m in layers if isinstance(m, nn.Linear)), None)
    shapes = _output_shapes(layers, first.in_features) if first is not None else ["?"] * len(layers)
    rows: list[list[Any]] = [["#", "layer", "output shape", "parameters"]]
    for i, ((_, layer), shape) in enumerate(zip(layers, shapes, strict=True)):
        rows.append([i, repr(layer), shape, sum(p.numel() for p in layer.parameters())])
    rows.append(["", "total", "", network.num_parameters()])
    click.echo(f"model     {path}")
    click.echo("kind      a bare network (retrograd.save): no preprocessing, classes or features;")
    click.echo("          load it with retrograd.load; evaluate and predict read the models of")
    click.echo("          retrograd train")
    click.echo("")
    echo_lines(table(rows, "rllr"))


def _training_metadata(trained: Any) -> list[tuple[str, str]]:
    """How the model was trained, from the notes ``train`` saved in the model file."""
    info = trained.info
    shown = [("data set", str(info["dataset"]))] if "dataset" in info else []
    options = info.get("options", {})
    for key, value in options.items():
        if key in ("channels", "kernel", "augment") and options.get("arch", "mlp") == "mlp":
            continue  # a CNN's options, unused by an MLP
        shown.append((key, ",".join(map(str, value)) if isinstance(value, list) else str(value)))
    metrics = info.get("metrics", {})
    if "epochs" in metrics:
        best = f"best {metrics['best_epoch']}; " if metrics.get("best_epoch") else ""
        shown.append(
            ("epochs trained", f"{metrics['epochs']} ({best}{metrics.get('stop_reason')})")
        )
    if "n_train" in metrics:
        rows = " / ".join(str(metrics.get(f"n_{s}")) for s in ("train", "val", "test"))
        shown.append(("rows train/val/test", rows))
    for key, value in metrics.items():
        if key.partition("_")[0] in ("train", "val", "test") and isinstance(value, float):
            shown.append((key, fmt(value)))
    return shown
