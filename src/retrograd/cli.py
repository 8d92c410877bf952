"""The ``retrograd`` command line: train a network, then evaluate, predict with and inspect it.

``retrograd train`` (no option needed: it trains on ``digits``) writes a run
folder; ``evaluate``, ``predict`` and ``info`` read the model file in it;
``datasets`` lists the named data sets. See ``docs/cli.md``.

Errors are part of the interface: every user error (a bad option value, an
unknown data set, a malformed file, a feature count that does not match the
model) ends with a short ``Error: ...`` on stderr and exit status 2, never a
traceback. A loss that stops being finite ends with status 1, and Ctrl-C during
training keeps the checkpoint of the last completed epoch (status 130).

Option choices come from the registry tables (:data:`retrograd.pipeline.ACTIVATIONS`,
:data:`~retrograd.pipeline.LOSSES`, :data:`~retrograd.pipeline.OPTIMIZERS`,
:data:`retrograd.data.DATASETS`), so the CLI and the Python API accept the same
names and say the same things about wrong ones.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import math
import platform
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import click
import numpy as np
from click.core import ParameterSource

from . import __version__, pipeline
from . import distributed as _dist
from .data import DATASETS, DataError, load_dataset, read_csv_features, train_val_test_split
from .explain import FORMATS as EXPLAIN_FORMATS
from .explain import LOSS_NAMES as EXPLAIN_LOSSES
from .serialization import atomic_write
from .training import NonFiniteError

# ---------------------------------------------------------------- the run folder

MODEL_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
CURVES_FILE = "curves.png"
RUN_FILE = "run.json"
CHECKPOINT_FILE = "checkpoint.safetensors"
#: Everything ``train`` writes into ``--out``; ``--force`` replaces these and nothing else.
RUN_FILES = (MODEL_FILE, METRICS_FILE, CURVES_FILE, RUN_FILE, CHECKPOINT_FILE)
RUN_FORMAT = "retrograd-run/1"
METRICS_FORMAT = "retrograd-metrics/1"

#: The options of ``train`` that define a run: saved in run.json, reused by ``--resume``.
TRAIN_OPTIONS = (
    "data", "target", "hidden", "activation", "loss", "optimizer", "lr", "momentum",
    "weight_decay", "batch_size", "epochs", "patience", "dropout", "seed", "val_split",
    "test_split",
)  # fmt: skip

EXIT_INTERRUPTED = 130  # the shell's status for a process ended by SIGINT


class UsageFailure(click.ClickException):
    """A user error: ``Error: message`` on stderr and exit status 2, as click's usage errors."""

    exit_code = 2


# ---------------------------------------------------------------- small helpers


def _fmt(value: Any) -> str:
    """A table cell: floats to 4 decimals, ints with thousands separators, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.4f}" if math.isfinite(value) else str(float(value))
    return str(value)


def _table(rows: Sequence[Sequence[Any]], align: str) -> list[str]:
    """Lines of aligned columns; ``align`` holds one ``l`` or ``r`` per column."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(align))]
    lines = []
    for row in cells:
        parts = [
            c.rjust(w) if a == "r" else c.ljust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return lines


def _echo_lines(lines: Iterable[str]) -> None:
    for line in lines:
        click.echo(line)


def _plain(obj: Any) -> Any:
    """``obj`` as strict JSON data: NumPy scalars and arrays to Python, nan and inf to None."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(_plain(obj), indent=2, allow_nan=False) + "\n"
    atomic_write(path, text.encode())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UsageFailure(f"cannot read {path}: {e}") from None


def _versions() -> dict[str, str]:
    out = {"retrograd": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for dist in ("click", "matplotlib", "scikit-learn", "safetensors"):
        try:
            out[dist] = _metadata.version(dist)
        except _metadata.PackageNotFoundError:  # pragma: no cover - depends on the install
            pass
    out["platform"] = platform.platform()
    return out


def _fingerprint(x: np.ndarray, y: np.ndarray) -> str:
    """A short hash of the data, so that ``--resume`` notices data that changed under it."""
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(x), np.ascontiguousarray(y)):
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- input at the boundary


class HiddenSizes(click.ParamType):
    """``--hidden 128,64``: comma-separated positive layer widths; ``none`` for no hidden layer."""

    name = "SIZES"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        if text.lower() in ("", "none"):
            return ()
        try:
            sizes = tuple(int(part) for part in text.split(","))
        except ValueError:
            sizes = ()
        if not sizes or min(sizes) < 1:
            self.fail(
                f"expected comma-separated positive integers such as 128,64 (or 'none'); "
                f"got {value!r}",
                param,
                ctx,
            )
        return sizes


def _load_data(data: str, target: str | None) -> Any:
    """The :class:`~retrograd.data.DataSpec` for a data set name or file, or a usage error.

    The messages are :func:`~retrograd.data.load_dataset`'s: an unknown name lists
    the available ones, a malformed file names the file and the line.
    """
    try:
        return load_dataset(data, target=target)
    except (DataError, OSError) as e:
        raise UsageFailure(str(e)) from None


def _model_path(model: Path) -> Path:
    """MODEL may be a model file or a run folder holding one."""
    path = model / MODEL_FILE if model.is_dir() else model
    if not path.is_file():
        raise UsageFailure(f"no model file at {path} (give a {MODEL_FILE} or a run folder)")
    return path


def _load_model(model: Path) -> tuple[Path, Any]:
    path = _model_path(model)
    try:
        return path, pipeline.TrainedModel.load(path)
    except (ValueError, KeyError, OSError) as e:
        raise UsageFailure(f"cannot load the model {path}: {e}") from None


def _check_features(model: Any, x: np.ndarray, source: str, hint: str = "") -> None:
    """A feature count that does not match the model is a usage error naming both counts."""
    expected = model.n_features
    got = x.shape[1]
    if got != expected:
        raise UsageFailure(
            f"{source} has {got} feature column{'s' * (got != 1)}, but the model expects "
            f"{expected} ({_preview(model.feature_names)}){hint if got == expected + 1 else ''}"
        )


def _preview(names: Sequence[Any], keep: int = 4) -> str:
    names = [str(n) for n in names]
    if len(names) <= 2 * keep:
        return ", ".join(names)
    return ", ".join([*names[:keep], "...", *names[-keep:]])


# ---------------------------------------------------------------- plots (Agg, no pyplot state)


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_curves(history: Any, path: Path, title: str) -> None:
    """Draw loss and metric per epoch, training and validation, into a PNG file.

    Parameters
    ----------
    history : retrograd.training.History
        Its ``records`` (``train_loss``, ``val_loss``, ``train_metric``,
        ``val_metric`` per epoch), ``metric`` (the metric's name) and
        ``best_epoch`` (marked with a dotted line).
    path : Path
        The PNG file to write.
    title : str
        The figure's title.
    """
    from matplotlib.ticker import MaxNLocator

    records = history.records
    panels = [("loss", "loss")]
    if any(r.get("train_metric") is not None for r in records):
        panels.append(("metric", history.metric or "metric"))
    fig = _figure(5.0 * len(panels), 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    epochs = [r["epoch"] for r in records]
    for ax, (key, label) in zip(axes, panels, strict=True):
        for split, style in (("train", "-"), ("val", "--")):
            values = [r.get(f"{split}_{key}") for r in records]
            if any(v is not None for v in values):
                ys = [np.nan if v is None else v for v in values]
                ax.plot(epochs, ys, style, marker=".", label=f"{split}")
        if key == "loss" and all(r["train_loss"] > 0 for r in records):
            ax.set_yscale("log")
        if history.best_epoch is not None:  # the weights kept at the end
            ax.axvline(history.best_epoch, color="grey", linewidth=1, linestyle=":", label="best")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.savefig(path, dpi=100)


def _plot_confusion(matrix: np.ndarray, labels: Sequence[Any], path: Path, title: str) -> None:
    n = len(labels)
    fig = _figure(max(4.0, 0.5 * n + 2.0), max(3.5, 0.5 * n + 1.5))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(n), [str(c) for c in labels])
    ax.set_yticks(range(n), [str(c) for c in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    half = matrix.max() / 2 if matrix.size else 0
    for i in range(n):
        for j in range(n):
            color = "white" if matrix[i, j] > half else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color, fontsize=8)
    ax.set_title(title)
    fig.savefig(path, dpi=100)


def _plot_regression(y: np.ndarray, pred: np.ndarray, path: Path, title: str) -> None:
    fig = _figure(4.5, 4.5)
    ax = fig.subplots()
    ax.scatter(y, pred, s=10, alpha=0.6)
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], "k--", linewidth=1)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(title)
    fig.savefig(path, dpi=100)


# ---------------------------------------------------------------- the command group


class _Commands(click.Group):
    """The command group; a file that cannot be read or written is a message, not a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command; under an MPI launcher, a rank that exits alone stops the job."""
        if not _dist.launched_by_mpi():
            return super().main(*args, **kwargs)
        _dist.init()  # before parsing: a rank with a usage error must be able to stop the rest
        try:
            return super().main(*args, **kwargs)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
            if code and _dist.world_size() > 1 and not _dist.agreed_exit:
                _dist.abort(
                    f"exited with status {code} (its message is above); stopping every rank", code
                )
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as e:
            raise UsageFailure(str(e)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="retrograd")
def main() -> None:
    """Train neural networks on NumPy and use them: retrograd's command line.

    Start with `retrograd train`: with no option it trains a network on the
    digits data set and writes the model, its metrics and its learning curves
    into runs/digits-<timestamp>/.
    """


# ---------------------------------------------------------------- train


class _StopAfter:
    """Raise KeyboardInterrupt after ``epochs`` epochs, as Ctrl-C would (for tests of --resume)."""

    def __init__(self, epochs: int) -> None:
        self.left = epochs

    def __call__(self, epoch: int, record: dict[str, Any], model: Any) -> None:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def _given(ctx: click.Context, names: Iterable[str]) -> list[str]:
    """The options among ``names`` that the user set (not left at their defaults)."""
    return [n for n in names if ctx.get_parameter_source(n) not in (None, ParameterSource.DEFAULT)]


def _agreed(error: click.ClickException) -> click.ClickException:
    """Mark ``error`` as raised on every rank alike (so the ranks exit without aborting)."""
    error.agreed = True  # type: ignore[attr-defined]
    return error


def _together(run: Callable[[Callable[[], Any]], Any], fn: Callable[[], Any]) -> Any:
    """``run(fn)`` for ``run_on_main``/``run_everywhere``, whose errors every rank raises."""
    try:
        return run(fn)
    except click.ClickException as e:
        raise _agreed(e) from None


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _prepare_out(out: Path, force: bool) -> None:
    """Make ``out`` ready for a new run; an existing run is replaced only with ``--force``."""
    if out.exists() and not out.is_dir():
        raise UsageFailure(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            resumable = (out / RUN_FILE).is_file() and (out / CHECKPOINT_FILE).is_file()
            if resumable:
                resumable = _read_json(out / RUN_FILE).get("status") != "finished"
            hint = f", continue it with --resume {out}" if resumable else ""
            raise UsageFailure(
                f"--out {out} already exists and is not empty; choose another --out{hint}, "
                "or pass --force to replace the run in it"
            )
        for name in RUN_FILES:  # only the run's own files: --force never deletes anything else
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _data_slug(data: str) -> str:
    name = Path(data).stem if Path(data).suffix else data
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "data"


def _describe_data(spec: Any) -> str:
    text = f"{spec.name}: {spec.n_samples:,} rows, {spec.n_features} features, {spec.task}"
    if spec.task == "classification":
        text += f" ({len(spec.classes)} classes)"
    return text


def _summary(run: Mapping[str, Any], metrics: Mapping[str, Any], out: Path) -> list[str]:
    """The closing table, one row per part of the data and one column per metric; then
    the epochs, the time and the files written."""
    splits = [s for s in ("train", "val", "test") if metrics.get(f"n_{s}")]
    columns: list[str] = []
    for key, value in metrics.items():
        split, _, name = key.partition("_")
        if split in splits and isinstance(value, float) and name not in columns:
            columns.append(name)
    rows: list[list[Any]] = [["split", "rows", *columns]]
    rows += [[s, metrics[f"n_{s}"], *(metrics.get(f"{s}_{c}") for c in columns)] for s in splits]
    timings = run["timings"]
    best = f"best {run['best_epoch']}; " if run.get("best_epoch") else ""
    return [
        "",
        f"run {out}  ({run['summary']})",
        *_table(rows, "lr" + "r" * len(columns)),
        f"epochs: {run['epochs']} ({best}stop reason: {run['stop_reason']})",
        f"time: {timings['train_seconds']:.1f} s training ({timings['seconds_per_epoch']:.2f} "
        f"s/epoch), {timings['total_seconds']:.1f} s in all",
        "wrote: " + "  ".join(n for n in RUN_FILES if (out / n).is_file()),
    ]


_DEFAULT_OUT_HELP = "runs/<data>-<YYYYmmdd-HHMMSS> (a new folder for every run)"

# The training defaults live in one place, pipeline.train's signature; the options show them.
_D = {
    name: p.default
    for name, p in inspect.signature(pipeline.train).parameters.items()
    if p.default is not inspect.Parameter.empty
}


@main.command()
@click.option(
    "--data",
    default="digits",
    show_default=True,
    metavar="NAME|FILE",
    help=f"A named data set ({', '.join(DATASETS)}; see `retrograd datasets`) "
    "or the path of a CSV, NPZ or IDX file.",
)
@click.option("--target", metavar="COLUMN", help="The target column of a CSV file.")
@click.option(
    "--hidden",
    type=HiddenSizes(),
    default=",".join(map(str, _D["hidden"])),
    show_default=True,
    help="Hidden layer widths, comma-separated; 'none' for a linear model.",
)
@click.option(
    "--activation",
    type=click.Choice(list(pipeline.ACTIVATIONS), case_sensitive=False),
    default=_D["activation"],
    show_default=True,
    help="The hidden layers' activation.",
)
@click.option(
    "--loss",
    type=click.Choice(list(pipeline.LOSSES), case_sensitive=False),
    default=_D["loss"],
    show_default=True,
    help="auto: cross-entropy for classification, mean squared error for regression.",
)
@click.option(
    "--optimizer",
    type=click.Choice(list(pipeline.OPTIMIZERS), case_sensitive=False),
    default=_D["optimizer"],
    show_default=True,
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=_D["lr"],
    show_default=True,
    help="Learning rate.",
)
@click.option(
    "--momentum",
    type=click.FloatRange(0, 1, max_open=True),
    default=_D["momentum"],
    show_default=True,
    help="SGD's momentum (and RMSprop's, where the optimizer takes one).",
)
@click.option(
    "--weight-decay",
    type=click.FloatRange(min=0),
    default=_D["weight_decay"],
    show_default=True,
    help="L2 penalty (decoupled for adamw).",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=_D["batch_size"], show_default=True
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=_D["epochs"],
    show_default=True,
    help="At most this many (early stopping usually ends the run sooner).",
)
@click.option(
    "--patience",
    type=click.IntRange(min=1),
    default=_D["patience"],
    show_default=True,
    help="Stop after this many epochs without a better validation loss (the best "
    "epoch's weights are kept); without a validation part, without a better training loss.",
)
@click.option(
    "--dropout",
    type=click.FloatRange(0, 1, max_open=True),
    default=_D["dropout"],
    show_default=True,
    help="Dropout probability after each hidden layer.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=_D["seed"],
    show_default=True,
    help="Seeds the split, the initial weights, the batches and dropout.",
)
@click.option(
    "--val-split",
    type=click.FloatRange(0, 1, max_open=True),
    default=_D["val_split"],
    show_default=True,
    help="Fraction of the rows held out for validation (early stopping); 0 for none.",
)
@click.option(
    "--test-split",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=_D["test_split"],
    show_default=True,
    help="Fraction of the rows held out for the final test metrics.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help=f"The run folder to write. Default: {_DEFAULT_OUT_HELP}.",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Continue the interrupted run in DIR with its saved options and checkpoint.",
)
@click.option("--force", is_flag=True, help="Replace the run already in --out.")
@click.option(
    "--quiet", "-q", is_flag=True, help="No per-epoch progress (the summary is still printed)."
)
@click.option(
    "--distributed",
    is_flag=True,
    help="Train data-parallel over MPI ranks (automatic when started by mpiexec); "
    "--batch-size is the global batch, split over the ranks.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    default=_dist.DEFAULT_TIMEOUT,
    show_default=True,
    help="Distributed runs: seconds a rank waits for the others at a collective before the "
    "job stops, naming the missing rank (PyTorch's default is 1800).",
)
@click.option("--stop-after", type=click.IntRange(min=1), hidden=True)
@click.pass_context
def train(ctx: click.Context, **opts: Any) -> None:
    """Train a network and write a run folder.

    The folder (--out) receives model.safetensors, metrics.json (test metrics,
    per-epoch history, timings, seed, versions), curves.png (loss and metric
    per epoch), run.json (the options, for --resume) and checkpoint.safetensors
    (rewritten after every epoch).

    \b
    Examples:
      retrograd train
      retrograd train --data iris --hidden 16 --epochs 50 --out runs/iris
      retrograd train --data houses.csv --target price --loss huber
      retrograd train --resume runs/iris
      mpiexec -n 4 retrograd train --data digits --batch-size 128
    """
    distributed = opts["distributed"] or _dist.launched_by_mpi()
    if not distributed:
        _train(ctx, opts, distributed=False)
        return
    _dist.init()
    _dist.set_timeout(opts["timeout"])
    try:
        _train(ctx, opts, distributed=True)
    except (click.ClickException, click.exceptions.Exit) as e:
        if isinstance(e, click.exceptions.Exit) or getattr(e, "agreed", False):
            # Every rank met this error (decided together: a divergence, a run folder
            # rank 0 checked); rank 0 says it, the others leave with the same status.
            _dist.agreed_exit = True
            if _dist.is_main():
                raise
            ctx.exit(e.exit_code)
        if _dist.is_main():
            raise  # click prints it; the exit then stops the other ranks (_Commands.main)
        _dist.abort(f"Error: {e.format_message()}", e.exit_code)
    except OSError as e:  # rank 0 could not write a file: the others must not wait for it
        if _dist.world_size() == 1:
            raise
        _dist.abort(f"Error: {e}", 2)
    except KeyboardInterrupt:
        if _dist.world_size() == 1:
            raise
        _dist.abort("interrupted; the run keeps its last checkpoint (continue with --resume)", 130)


def _train(ctx: click.Context, opts: Mapping[str, Any], distributed: bool) -> None:
    """The body of ``train``; with ``distributed``, rank 0 alone prints and writes."""
    started = time.perf_counter()
    main = _dist.is_main()
    quiet = opts["quiet"] or not main
    resume: Path | None = opts["resume"]
    if resume is not None:
        given = _given(ctx, (*TRAIN_OPTIONS, "out", "force"))
        if given:
            raise click.UsageError(
                f"--resume continues a run with the options saved in {resume / RUN_FILE}; "
                f"drop {', '.join(_flag(n) for n in given)}",
                ctx,
            )
        out, run = resume, _together(_dist.run_on_main, lambda: _read_run(resume))
        options = run["options"]
    else:
        options = _new_options(ctx, opts)
        stamp = _dist.broadcast_object(time.strftime("%Y%m%d-%H%M%S"))
        out = opts["out"] or Path("runs") / f"{_data_slug(options['data'])}-{stamp}"

    spec = _together(_dist.run_everywhere, lambda: _load_data(options["data"], options["target"]))
    fingerprint = _fingerprint(np.asarray(spec.X), np.asarray(spec.y))
    if distributed:  # one collective: ranks started with other options or data stop here
        given = {_flag(k): v for k, v in options.items()}
        given.update({"--resume": resume, "--timeout": opts["timeout"], "the data": fingerprint})
        try:
            processes = _dist.check_consistent(given)
        except ValueError as e:
            raise _agreed(UsageFailure(str(e))) from None
    if resume is None:
        _together(_dist.run_on_main, lambda: _prepare_out(out, opts["force"]))
        run = {
            "format": RUN_FORMAT,
            "options": options,
            "data_fingerprint": fingerprint,
            "summary": _describe_data(spec),
            "train_seconds": 0.0,
            "sessions": 0,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    elif run.get("data_fingerprint") != fingerprint:
        raise UsageFailure(
            f"the data {options['data']!r} changed since the run in {out} started; "
            "resuming would not continue the same run"
        )
    run["sessions"] += 1
    run["status"] = "running"
    if distributed:  # which sessions ran on how many ranks; which process was which rank
        run.setdefault("world_sizes", []).append(_dist.world_size())
        run["ranks"] = [{"rank": r, "host": h, "pid": p} for r, (h, p) in enumerate(processes)]
    if main:
        _write_json(out / RUN_FILE, run)
    data_seconds = time.perf_counter() - started

    if not quiet:
        ranks = f" on {_dist.world_size()} ranks" if distributed else ""
        click.echo(f"{'Resuming' if resume else 'Training'} on {run['summary']} -> {out}{ranks}")
    kwargs = {k: v for k, v in options.items() if k not in ("data", "target")}
    kwargs["hidden"] = tuple(kwargs["hidden"])
    checkpoint = out / CHECKPOINT_FILE
    callbacks = (_StopAfter(opts["stop_after"]),) if opts["stop_after"] else ()
    t0 = time.perf_counter()
    try:
        result = pipeline.train(
            spec,
            **kwargs,
            quiet=quiet,
            checkpoint_path=checkpoint,
            resume_from=checkpoint if resume else None,
            callbacks=callbacks,
            distributed=distributed,
        )
    except KeyboardInterrupt:  # outside the epochs: fit itself keeps the completed ones
        if main:
            _stop_run(run, out, "interrupted", time.perf_counter() - t0)
        if _dist.world_size() > 1:
            raise
        saved = "as of its last completed epoch" if checkpoint.is_file() else "(no epoch ended)"
        click.echo(f"\nInterrupted; the run in {out} is saved {saved}.", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    except NonFiniteError as e:
        if main:
            _stop_run(run, out, "diverged", time.perf_counter() - t0)
        raise _agreed(click.ClickException(str(e))) from None  # every rank stops at this step
    except ValueError as e:
        if main:
            _stop_run(run, out, "failed", time.perf_counter() - t0)
        raise UsageFailure(str(e)) from None
    run["train_seconds"] += time.perf_counter() - t0
    if not main:
        if result.history.stop_reason == "interrupted":
            ctx.exit(EXIT_INTERRUPTED)
        return
    _finish_run(run, result, spec, out, data_seconds, started)
    _echo_lines(_summary(run, result.metrics, out))
    if run["status"] == "interrupted":
        click.echo(
            f"\nInterrupted after epoch {run['epochs']}: the run is saved in {out}; "
            f"continue it with: retrograd train --resume {out}",
            err=True,
        )
        ctx.exit(EXIT_INTERRUPTED)


def _new_options(ctx: click.Context, opts: Mapping[str, Any]) -> dict[str, Any]:
    """The options of a new run, checked together, as saved in run.json."""
    options = {name: opts[name] for name in TRAIN_OPTIONS}
    options["hidden"] = list(options["hidden"])
    if options["val_split"] + options["test_split"] >= 1:
        raise click.UsageError(
            f"--val-split {options['val_split']} and --test-split {options['test_split']} "
            "leave no rows for training; their sum must be below 1",
            ctx,
        )
    if Path(options["data"]).is_file():  # so that --resume works from another folder
        options["data"] = str(Path(options["data"]).resolve())
    return options


def _finish_run(
    run: dict[str, Any], result: Any, spec: Any, out: Path, data_seconds: float, started: float
) -> None:
    """Write the model, curves.png, metrics.json and run.json of a finished or interrupted run."""
    history = result.history
    run.update(
        status="interrupted" if history.stop_reason == "interrupted" else "finished",
        epochs=history.n_epochs,
        best_epoch=history.best_epoch,
        stop_reason=history.stop_reason,
    )
    result.model.save(out / MODEL_FILE)
    plot_curves(history, out / CURVES_FILE, run["summary"])
    run["timings"] = {
        "data_seconds": data_seconds,
        "train_seconds": run["train_seconds"],
        "seconds_per_epoch": run["train_seconds"] / max(history.n_epochs, 1),
        "total_seconds": time.perf_counter() - started,
        "sessions": run["sessions"],
    }
    _write_json(
        out / METRICS_FILE,
        {
            "format": METRICS_FORMAT,
            # the pipeline's own "seconds" and "versions" count this session only: see below
            **{k: v for k, v in result.metrics.items() if k not in ("seconds", "versions")},
            "task": spec.task,
            "metric": history.metric,
            "epochs": history.n_epochs,
            "best_epoch": history.best_epoch,
            "stop_reason": history.stop_reason,
            "seed": run["options"]["seed"],
            "options": run["options"],
            "history": history.to_dict()["records"],
            "timings": run["timings"],
            "versions": _versions(),
        },
    )
    _write_json(out / RUN_FILE, run)


def _read_run(out: Path) -> dict[str, Any]:
    """The saved state of the run in ``out``, checked to be resumable."""
    if not (out / RUN_FILE).is_file():
        raise UsageFailure(f"--resume {out}: no {RUN_FILE} there; is it a retrograd run folder?")
    run = _read_json(out / RUN_FILE)
    if run.get("format") != RUN_FORMAT:
        raise UsageFailure(f"--resume {out}: {RUN_FILE} is not a {RUN_FORMAT} file")
    if run["status"] == "finished":
        raise UsageFailure(f"--resume {out}: that run already finished; nothing to resume")
    if not (out / CHECKPOINT_FILE).is_file():
        raise UsageFailure(
            f"--resume {out}: no {CHECKPOINT_FILE} (the run stopped before its first epoch "
            "ended); start it again with --force"
        )
    return run


def _stop_run(run: dict[str, Any], out: Path, status: str, seconds: float) -> None:
    run["status"] = status
    run["train_seconds"] += seconds
    _write_json(out / RUN_FILE, run)


# ---------------------------------------------------------------- evaluate


def _test_part(
    spec: Any, trained: Any, seed: int | None, test_split: float | None
) -> tuple[np.ndarray, np.ndarray, str]:
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
    what = f"the {len(rows):,} test rows (seed {seed}, test split {test_split})"
    return spec.X[rows], spec.y[rows], what


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--data",
    required=True,
    metavar="NAME|FILE",
    help=f"A named data set ({', '.join(DATASETS)}) or a CSV, NPZ or IDX file with targets.",
)
@click.option("--target", metavar="COLUMN", help="The target column of a CSV file.")
@click.option(
    "--split",
    type=click.Choice(["all", "test"]),
    default="all",
    show_default=True,
    help="all: every row; test: only the rows `train` held out for testing (same split).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    help="The training seed, for --split test (default: the one saved with the model).",
)
@click.option(
    "--test-split",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="The training --test-split, for --split test (default: the one saved with the model).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.png",
    help="Write the confusion matrix (regression: predicted against true) as a PNG.",
)
def evaluate(
    model: Path,
    data: str,
    target: str | None,
    split: str,
    seed: int | None,
    test_split: float | None,
    plot: Path | None,
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

    path, trained = _load_model(model)
    spec = _load_data(data, target)
    _check_features(trained, spec.X, f"--data {data}")
    x, y, what = spec.X, spec.y, f"all {len(spec.y):,} rows"
    if split == "test":
        x, y, what = _test_part(spec, trained, seed, test_split)
    if trained.task == "classification":
        unknown = sorted({str(v) for v in np.unique(y)} - {str(c) for c in trained.classes})
        if unknown:
            raise UsageFailure(
                f"--data {data} has labels the model does not know: {_preview(unknown)}; "
                f"the model's classes: {_preview(trained.classes)}"
            )
    pred = np.asarray(trained.predict(x))
    click.echo(f"model {path} on {spec.name}, {what}")
    if trained.task != "classification":
        scores = [
            ["r2", skm.r2_score(y, pred)],
            ["mse", skm.mean_squared_error(y, pred)],
            ["mae", skm.mean_absolute_error(y, pred)],
        ]
        _echo_lines(_table(scores, "lr"))
        if plot:
            plot.parent.mkdir(parents=True, exist_ok=True)
            _plot_regression(y, pred, plot, f"{spec.name}: predicted against true")
            click.echo(f"wrote {plot}")
        return

    classes = list(trained.classes)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y, pred, labels=classes, zero_division=0
    )
    click.echo(f"accuracy  {skm.accuracy_score(y, pred):.4f}")
    click.echo("")
    report = [["class", "precision", "recall", "f1", "support"]]
    report += [
        [c, float(p), float(r), float(f), int(s)]
        for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    ]
    _echo_lines(_table(report, "lrrrr"))
    matrix = skm.confusion_matrix(y, pred, labels=classes)
    click.echo("")
    click.echo("confusion matrix (rows: true class, columns: predicted class)")
    grid = [["", *classes]] + [[c, *map(int, row)] for c, row in zip(classes, matrix, strict=True)]
    _echo_lines(_table(grid, "l" + "r" * len(classes)))
    if plot:
        plot.parent.mkdir(parents=True, exist_ok=True)
        _plot_confusion(matrix, classes, plot, f"{spec.name}: confusion matrix")
        click.echo(f"wrote {plot}")


# ---------------------------------------------------------------- predict


def _read_csv_features(path: Path, target: str | None) -> np.ndarray:
    """The feature columns of a CSV file without targets (``target``: a column to drop).

    Read with :mod:`retrograd.data`'s CSV rules and messages (file and line named).
    """
    if not path.is_file():
        raise UsageFailure(f"no such file: {path}")
    try:
        x, _ = read_csv_features(path, drop=target)
    except DataError as e:
        raise UsageFailure(str(e)) from None
    return x


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("input", type=click.Path(path_type=Path), metavar="INPUT.csv")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="OUT.csv",
    help="The CSV file to write (replaced if it exists).",
)
@click.option("--target", metavar="COLUMN", help="A target column in INPUT.csv to drop first.")
def predict(model: Path, input: Path, output: Path, target: str | None) -> None:
    """Predict every row of INPUT.csv and write OUT.csv.

    OUT.csv has a `prediction` column (the class or the value) and, for a
    classifier, one `proba_<class>` column per class. INPUT.csv holds the
    feature columns in the training order, with a header row.

    \b
    Example:
      retrograd predict runs/iris new_flowers.csv --output predictions.csv
    """
    _, trained = _load_model(model)
    x = _read_csv_features(input, target)
    _check_features(trained, x, str(input), "; drop a target column with --target COLUMN")
    pred = np.asarray(trained.predict(x))
    header = ["prediction"]
    columns = [pred]
    if trained.task == "classification":
        proba = np.asarray(trained.predict_proba(x))
        header += [f"proba_{c}" for c in trained.classes]
        columns += list(proba.T)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(zip(*(map(str, c) for c in columns), strict=True))
    click.echo(f"wrote {output}: {len(pred):,} rows, columns {', '.join(header)}")


# ---------------------------------------------------------------- info


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
    from . import no_grad, zeros

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


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
def info(model: Path) -> None:
    """Print a model's layers with their output shapes and parameter counts, its task,
    classes and features, and how it was trained.

    \b
    Example:
      retrograd info runs/digits-20250101-120000
    """
    path, trained = _load_model(model)
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
        click.echo(f"classes   {len(trained.classes)}: {_preview(list(trained.classes))}")
    click.echo(f"features  {len(trained.feature_names)}: {_preview(trained.feature_names)}")
    click.echo("")
    _echo_lines(_table(rows, "rllr"))
    trained_with = _training_metadata(trained)
    if trained_with:
        click.echo("")
        _echo_lines(_table([["training", ""], *trained_with], "ll"))


def _training_metadata(trained: Any) -> list[tuple[str, str]]:
    """How the model was trained, from the notes ``train`` saved in the model file."""
    info = trained.info
    shown = [("data set", str(info["dataset"]))] if "dataset" in info else []
    for key, value in info.get("options", {}).items():
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
            shown.append((key, _fmt(value)))
    return shown


# ---------------------------------------------------------------- explain


def _numbers(value: str | None, option: str) -> list[float] | None:
    """``--input 1,0``: comma-separated numbers, or a usage error naming the option."""
    if value is None:
        return None
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        raise UsageFailure(
            f"{option} expects comma-separated numbers such as 1,0; got {value!r}"
        ) from None
    if not all(math.isfinite(v) for v in numbers):
        raise UsageFailure(f"{option} expects finite numbers; got {value!r}")
    return numbers


def _explain_model(
    model: Path, data: str | None, sample: int, lr: float, steps: int, tol: float, graph: bool
) -> Any:
    """The explanation of one step of a saved model on row ``sample`` of its data."""
    from . import explain as ex

    path, trained = _load_model(model)
    data = data or trained.info.get("dataset")
    if not data:
        raise UsageFailure(f"the model {path} does not say its data set; give it with --data")
    spec = _load_data(data, trained.info.get("options", {}).get("target"))
    _check_features(trained, spec.X, f"--data {data}")
    exp = ex.explain_model(
        trained, spec.X, spec.y, sample, lr=lr, steps=steps, tol=tol, graph=graph
    )
    exp.source = f"the model {path}, row {sample} of {spec.name}"
    return exp


@main.command()
@click.option(
    "--layers",
    type=HiddenSizes(),
    metavar="SIZES",
    help="Layer sizes, input first, e.g. 2,3,1 [default: 2,2,1].",
)
@click.option(
    "--activation",
    type=click.Choice(list(pipeline.ACTIVATIONS)),
    default="sigmoid",
    show_default=True,
    help="The activation of every layer (the output layer too, with --loss mse).",
)
@click.option(
    "--loss",
    type=click.Choice(list(EXPLAIN_LOSSES)),
    default="mse",
    show_default=True,
    help="cross-entropy puts a softmax on the output layer (2 or more outputs, --target a class).",
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=0.5,
    show_default=True,
    help="The learning rate eta.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), help="Random weights (nn.Linear's default) by seed."
)
@click.option(
    "--weights",
    "weights_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.json",
    help='Weights as {"layers": [{"weight": [[...]], "bias": [...]}, ...]}.',
)
@click.option("--input", "input_", metavar="X1,X2,...", help="The input values [default: 1,0].")
@click.option(
    "--target",
    metavar="Y",
    help="The target: values for mse, one class index for cross-entropy [default: 1].",
)
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    help="A saved model (model file or run folder) to explain instead.",
)
@click.option(
    "--sample", type=click.IntRange(min=0), default=0, show_default=True, help="Row of --data."
)
@click.option(
    "--data", metavar="NAME|FILE", help="With --model: its data [default: the one it trained on]."
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Repeat the step N times on the sample and show the loss after each.",
)
@click.option(
    "--tol",
    type=click.FloatRange(min=0),
    default=1e-3,
    show_default=True,
    help="Stop the repeat once the loss falls below this.",
)
@click.option("--graph", is_flag=True, help="Include the computational graph of the loss.")
@click.option(
    "--format",
    "format_",
    type=click.Choice(list(EXPLAIN_FORMATS)),
    default="text",
    show_default=True,
    help="html: one self-contained page with the network drawn in SVG.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the report to FILE instead of printing it.",
)
def explain(
    layers: tuple[int, ...] | None,
    activation: str,
    loss: str,
    lr: float,
    seed: int | None,
    weights_file: Path | None,
    input_: str | None,
    target: str | None,
    model: Path | None,
    sample: int,
    data: str | None,
    steps: int,
    tol: float,
    graph: bool,
    format_: str,
    out: Path | None,
) -> None:
    """Show one training step of a small network number by number: the forward pass,
    the loss, the backward pass (chain rule, checked by finite differences), the update
    and the loss after it.

    With no option: a 2-2-1 sigmoid network with fixed weights, the XOR sample
    (1, 0) -> 1, MSE and learning rate 0.5. See docs/explain.md.

    \b
    Examples:
      retrograd explain
      retrograd explain --layers 2,3,2 --loss cross-entropy --seed 1 --steps 50
      retrograd explain --model runs/iris --sample 7 --format html --out step.html
    """
    from . import explain as ex

    ctx = click.get_current_context()
    try:
        if model is not None:
            clash = _given(ctx, ["layers", "activation", "loss", "seed", "weights_file",
                                 "input_", "target"])  # fmt: skip
            if clash:
                names = ", ".join(_flag(n.rstrip("_").replace("weights_file", "weights"))
                                  for n in clash)  # fmt: skip
                raise UsageFailure(f"--model explains the saved network; drop {names}")
            exp = _explain_model(model, data, sample, lr, steps, tol, graph)
        else:
            if data is not None:
                raise UsageFailure("--data goes with --model")
            if weights_file is not None and seed is not None:
                raise UsageFailure("give --seed or --weights, not both")
            if weights_file is not None and not weights_file.is_file():
                raise UsageFailure(f"no such weights file: {weights_file}")
            weights, source = ex.default_network(layers, seed, weights_file)
            n_in = weights[0][0].shape[1]
            x = _numbers(input_, "--input")
            if x is None:
                x = list(ex.DEFAULT_INPUT) if n_in == 2 else [1.0] * n_in
            y = _numbers(target, "--target")
            y_value: Any = ex.DEFAULT_TARGET if y is None else (y[0] if len(y) == 1 else y)
            exp = ex.explain_step(
                weights, x, y_value, activation, loss, lr, steps=steps, tol=tol,
                source=source, graph=graph,
            )  # fmt: skip
    except ex.ExplainError as e:
        raise UsageFailure(str(e)) from None
    if graph and format_ == "html" and exp.graph_dot is not None:
        from .viz import render_dot

        exp.graph_svg, exp.graph_note = render_dot(exp.graph_dot)
    report = ex.render(exp, format_)
    if out is None:
        click.echo(report, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, report.encode())
    click.echo(f"wrote {out}")


# ---------------------------------------------------------------- datasets


@main.command()
def datasets() -> None:
    """List the named data sets that --data accepts."""
    rows = [["name", "task", "description"]]
    rows += [[info.name, info.task, info.description] for info in DATASETS.values()]
    _echo_lines(_table(rows, "lll"))
    click.echo(
        "\nYour own data works too: --data FILE.csv [--target COLUMN], FILE.npz, or a folder"
    )
    click.echo("of MNIST-style IDX files.")


if __name__ == "__main__":
    main(prog_name="retrograd")
