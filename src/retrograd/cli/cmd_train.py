"""``retrograd train``: check every option, prepare the run folder, train, write the run."""

from __future__ import annotations

import inspect
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import numpy as np

from .. import distributed as _dist
from .. import pipeline
from ..data import DATASETS, DataError
from ..options import OptionError
from ..training import NonFiniteError
from .errors import (
    EXIT_INTERRUPTED,
    RunFailure,
    UsageFailure,
    agreed,
    describe_os_error,
    run_on_all_ranks,
    together,
)
from .inputs import load_data
from .params import HiddenSizes, Number, flag, given, name_option, number_option
from .run_folder import (
    CHECKPOINT_FILE,
    RUN_FILE,
    RUN_FORMAT,
    TRAIN_OPTIONS,
    RunLock,
    check_out,
    commit_run,
    data_fingerprint,
    data_slug,
    describe_data,
    finish_run,
    prepare_out,
    read_run,
    remove_stale_files,
    stop_run,
    summary,
    write_json,
)
from .text import echo_lines


class _StopAfter:
    """Raise KeyboardInterrupt after ``epochs`` epochs, as Ctrl-C would (for tests of --resume)."""

    def __init__(self, epochs: int) -> None:
        self.left = epochs

    def __call__(self, epoch: int, record: dict[str, Any], model: Any) -> None:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


_DEFAULT_OUT_HELP = "runs/<data>-<YYYYmmdd-HHMMSS> (a new folder for every run)"

# The training defaults live in one place, pipeline.train's signature; the options show them.
_D = {
    name: p.default
    for name, p in inspect.signature(pipeline.train).parameters.items()
    if p.default is not inspect.Parameter.empty
}


@click.command()
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
@name_option(
    "arch",
    pipeline.ARCHITECTURES,
    _D["arch"],
    help="mlp: Linear layers on the flat features; cnn: convolutions (Conv2d on images such "
    "as digits and IDX folders, Conv1d on sequences such as mnist1d), each followed by "
    "max pooling, then the --hidden layers.",
)
@click.option(
    "--channels",
    type=HiddenSizes("channels"),
    default=",".join(map(str, _D["channels"])),
    show_default=True,
    help="--arch cnn: output channels of each convolution block, comma-separated.",
)
@number_option(
    "kernel", _D["kernel"], "--arch cnn: the convolutions' kernel size (padding 'same')."
)
@name_option(
    "augment",
    pipeline.AUGMENTATIONS,
    _D["augment"],
    "--arch cnn: what is done to every training batch (never to validation or test "
    "rows); shift: each image or sequence moved by up to one position along each axis, "
    "a new draw every epoch.",
)
@click.option(
    "--label-smoothing",
    type=Number("label_smoothing"),
    default=None,
    show_default=f"{pipeline.CNN_LABEL_SMOOTHING} with --arch cnn, else 0",
    help="Classification: the cross-entropy's label smoothing, in [0, 1] (PyTorch's "
    "CrossEntropyLoss(label_smoothing=...)).",
)
@name_option("activation", pipeline.ACTIVATIONS, _D["activation"], "The hidden layers' activation.")
@name_option(
    "loss",
    pipeline.LOSSES,
    _D["loss"],
    help="auto: cross-entropy for classification, mean squared error for regression.",
)
@name_option("optimizer", pipeline.OPTIMIZERS, _D["optimizer"])
@number_option("lr", _D["lr"], "Learning rate.")
@number_option(
    "momentum", _D["momentum"], "SGD's momentum (and RMSprop's, where the optimizer takes one)."
)
@number_option("weight_decay", _D["weight_decay"], "L2 penalty (decoupled for adamw).")
@number_option("batch_size", _D["batch_size"])
@number_option(
    "epochs", _D["epochs"], "At most this many (early stopping usually ends the run sooner)."
)
@number_option(
    "patience",
    _D["patience"],
    help="Stop after this many epochs without a better validation loss (the best "
    "epoch's weights are kept); without a validation part, without a better training loss.",
)
@number_option("dropout", _D["dropout"], "Dropout probability after each hidden layer.")
@number_option("seed", _D["seed"], "Seeds the split, the initial weights, the batches and dropout.")
@number_option(
    "val_split",
    _D["val_split"],
    help="Fraction of the rows held out for validation (early stopping); 0 for none.",
)
@number_option(
    "test_split", _D["test_split"], "Fraction of the rows held out for the final test metrics."
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
    "--no-capture",
    is_flag=True,
    help="Run every training step through the eager engine instead of replaying the "
    "captured step (the same numbers, slower; see docs/capture.md).",
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
      retrograd train --data digits --arch cnn --epochs 30
      retrograd train --resume runs/iris
      mpiexec -n 4 retrograd train --data digits --batch-size 128
    """
    distributed = opts["distributed"] or _dist.launched_by_mpi()
    if distributed:
        _dist.set_timeout(opts["timeout"])
        run_on_all_ranks(ctx, lambda: _train(ctx, opts, distributed=True))
    else:
        _train(ctx, opts, distributed=False)


def _train(ctx: click.Context, opts: Mapping[str, Any], distributed: bool) -> None:
    """The body of ``train``; with ``distributed``, rank 0 alone prints and writes.

    Every option is checked first; then rank 0 locks the run folder (a second
    run on the same ``--out`` is refused) for the rest of the run.
    """
    started = time.perf_counter()
    out, run, spec, kwargs = _open_run(ctx, opts, distributed)
    data_seconds = time.perf_counter() - started
    lock = RunLock(out, "--resume" if opts["resume"] else "--out")
    together(_dist.run_on_main, lock.acquire)  # rank 0 locks; a refusal stops every rank
    try:
        work = _start_run(opts, out, run)
        _run(ctx, opts, (out, work), run, spec, kwargs, (started, data_seconds), distributed)
    finally:
        lock.release()


def _start_run(opts: Mapping[str, Any], out: Path, run: dict[str, Any]) -> Path:
    """Clean what a killed run left, make the folder the run is written in, write run.json.

    A new run in a folder that holds one (``--force``) is written beside it
    and moved in only when it succeeds (:func:`~.run_folder.commit_run`).
    """

    def start() -> Path:
        remove_stale_files(out)
        work = out if opts["resume"] else prepare_out(out, opts["force"])
        run["sessions"] += 1
        run["status"] = "running"
        write_json(work / RUN_FILE, run)
        return work

    work = together(_dist.run_on_main, start)
    if not _dist.is_main():  # the others count the session too, to agree on run.json
        run["sessions"] += 1
        run["status"] = "running"
    return work


def _run(
    ctx: click.Context,
    opts: Mapping[str, Any],
    folders: tuple[Path, Path],
    run: dict[str, Any],
    spec: Any,
    kwargs: Mapping[str, Any],
    times: tuple[float, float],
    distributed: bool,
) -> None:
    """Train and write the run; whatever stops it is recorded in run.json (``status``).

    Ctrl-C at any point (training, scoring, saving) records ``interrupted``
    and exits with 130; a file that cannot be written (a full disk) records
    ``failed`` and names the file and the run. A ``--force`` run that does not
    finish leaves the run it was to replace as it was.
    """
    (out, work), (started, data_seconds) = folders, times
    main = _dist.is_main()
    quiet = opts["quiet"] or not main
    replacing = work != out
    try:
        if not quiet:
            ranks = f" on {_dist.world_size()} ranks" if distributed else ""
            verb = "Resuming" if opts["resume"] else "Training"
            click.echo(f"{verb} on {run['summary']} -> {out}{ranks}")
        result = _fit(opts, work, run, spec, kwargs, quiet=quiet, distributed=distributed)
        if not main:
            if result.history.stop_reason == "interrupted":
                ctx.exit(EXIT_INTERRUPTED)
            return
        if replacing and result.history.stop_reason == "interrupted":
            raise KeyboardInterrupt  # a --force run replaces the old one only when it ends
        finish_run(run, result, spec, work, data_seconds, started)
        commit_run(work, out)
    except KeyboardInterrupt:
        if main:
            stop_run(run, work, "interrupted", started)
        if _dist.world_size() > 1:
            raise
        if replacing:
            shutil.rmtree(work, ignore_errors=True)
            where = (
                f"the run in {out} was left as it was (--force replaces it only with a "
                "finished run)"
            )
        elif (out / CHECKPOINT_FILE).is_file():
            where = (
                f"the run in {out} is saved as of its last completed epoch; continue it "
                f"with: retrograd train --resume {out}"
            )
        else:
            where = (
                f"no epoch ended; the run in {out} cannot be resumed (start it again with --force)"
            )
        click.echo(f"\nInterrupted; {where}", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    except (click.ClickException, OSError) as e:
        if main:
            stop_run(run, work, "diverged" if isinstance(e, _Diverged) else "failed", started)
            if replacing:
                shutil.rmtree(work, ignore_errors=True)
        if isinstance(e, click.ClickException):
            if replacing:
                e.message += f"\nThe run in {out} was left as it was."
            raise
        what = describe_os_error(e)
        kept = f"; the run in {out} was left as it was" if replacing else ""
        raise RunFailure(f"the run in {out} failed: cannot write {what}{kept}") from None
    except Exception:  # a bug: the guard around every command says it; run.json says failed
        if main:
            stop_run(run, work, "failed", started)
        raise
    echo_lines(summary(run, result.metrics, out))
    if run["status"] == "interrupted":
        click.echo(
            f"\nInterrupted after epoch {run['epochs']}: the run is saved in {out}; "
            f"continue it with: retrograd train --resume {out}",
            err=True,
        )
        ctx.exit(EXIT_INTERRUPTED)


class _Diverged(click.ClickException):
    """Training diverged (status 1): the loss or a gradient stopped being finite."""


def _open_run(
    ctx: click.Context, opts: Mapping[str, Any], distributed: bool
) -> tuple[Path, dict[str, Any], Any, dict[str, Any]]:
    """The run folder, its run.json record, the data and ``pipeline.train``'s arguments.

    A new run or a resumed one; every option (and the data against them) is
    checked before the folder is created or touched, and a resumed run must
    find the data it started on.
    """
    resume: Path | None = opts["resume"]
    if resume is not None:
        clash = given(ctx, (*TRAIN_OPTIONS, "out", "force"))
        if clash:
            raise click.UsageError(
                f"--resume continues a run with the options saved in {resume / RUN_FILE}; "
                f"drop {', '.join(flag(n) for n in clash)}",
                ctx,
            )
        out, run = resume, together(_dist.run_on_main, lambda: read_run(resume))
        options = run["options"]
    else:
        options = _new_options(opts)
        stamp = _dist.broadcast_object(time.strftime("%Y%m%d-%H%M%S"))
        out = opts["out"] or Path("runs") / f"{data_slug(options['data'])}-{stamp}"
        together(_dist.run_on_main, lambda: check_out(out))

    spec = together(_dist.run_everywhere, lambda: load_data(options["data"], options["target"]))
    fingerprint = data_fingerprint(np.asarray(spec.X), np.asarray(spec.y))
    if distributed:  # one collective: ranks started with other options or data stop here
        processes = _check_same_everywhere(opts, options, fingerprint)
    try:
        kwargs = _check_options(ctx, spec, options)
    except click.ClickException as e:
        raise agreed(e) if distributed else e from None  # the same options on every rank
    if resume is None:
        run = {
            "format": RUN_FORMAT,
            "options": options,
            "data_fingerprint": fingerprint,
            "summary": describe_data(spec),
            "train_seconds": 0.0,
            "total_seconds": 0.0,
            "sessions": 0,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    elif run.get("data_fingerprint") != fingerprint:
        raise UsageFailure(
            f"the data {options['data']!r} changed since the run in {out} started; "
            "resuming would not continue the same run"
        )
    if distributed:  # which sessions ran on how many ranks; which process was which rank
        run.setdefault("world_sizes", []).append(_dist.world_size())
        run["ranks"] = [{"rank": r, "host": h, "pid": p} for r, (h, p) in enumerate(processes)]
    return out, run, spec, kwargs


def _fit(
    opts: Mapping[str, Any],
    out: Path,
    run: dict[str, Any],
    spec: Any,
    kwargs: Mapping[str, Any],
    *,
    quiet: bool,
    distributed: bool,
) -> pipeline.RunResult:
    """``pipeline.train`` saving checkpoints in ``out``; the time trained goes into ``run``."""
    checkpoint = out / CHECKPOINT_FILE
    callbacks = (_StopAfter(opts["stop_after"]),) if opts["stop_after"] else ()
    t0 = time.perf_counter()
    try:
        return pipeline.train(
            spec,
            **kwargs,
            quiet=quiet,
            checkpoint_path=checkpoint,
            resume_from=checkpoint if opts["resume"] else None,
            callbacks=callbacks,
            distributed=distributed,
            capture=not opts["no_capture"],
        )
    except NonFiniteError as e:  # every rank stops at this step
        raise agreed(_Diverged(str(e))) from None
    except ValueError as e:
        raise UsageFailure(str(e)) from None
    finally:
        run["train_seconds"] += time.perf_counter() - t0


def _check_same_everywhere(
    opts: Mapping[str, Any], options: Mapping[str, Any], fingerprint: str
) -> list[tuple[str, int]]:
    """Stop every rank when one was started with other options or data; (host, pid) per rank."""
    given_values = {flag(k): v for k, v in options.items()}
    given_values.update(
        {"--resume": opts["resume"], "--timeout": opts["timeout"], "the data": fingerprint}
    )
    try:
        return _dist.check_consistent(given_values)
    except ValueError as e:
        raise agreed(UsageFailure(str(e))) from None


def _new_options(opts: Mapping[str, Any]) -> dict[str, Any]:
    """The options of a new run, as saved in run.json (a data file by its absolute path)."""
    options = {name: opts[name] for name in TRAIN_OPTIONS}
    options["hidden"] = list(options["hidden"])
    options["channels"] = list(options["channels"])
    if Path(options["data"]).is_file():  # so that --resume works from another folder
        options["data"] = str(Path(options["data"]).resolve())
    return options


def _check_options(ctx: click.Context, spec: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments for :func:`retrograd.pipeline.train`, checked as it checks them.

    :func:`retrograd.pipeline.check_options` checks each value, the options
    together and against the data's task (a loss for the other task, splits that
    leave no training rows); a refusal is a usage error naming the option.
    """
    kwargs = {k: v for k, v in options.items() if k not in ("data", "target")}
    try:
        pipeline.check_data(spec)  # a single class, no rows: refused before --out is made
    except ValueError as e:
        raise UsageFailure(str(e)) from None
    try:
        kwargs = pipeline.check_options(spec.task, **kwargs)
        pipeline.input_shape(spec, kwargs.get("arch", "mlp"))  # --arch cnn needs images
        pipeline.check_run(spec, **kwargs)  # the split it can make; the memory it needs
        return kwargs
    except OptionError as e:
        raise click.BadParameter(str(e), ctx, param_hint=f"'{flag(e.option)}'") from None
    except DataError as e:
        raise UsageFailure(f"--data {options['data']}: {e}") from None
