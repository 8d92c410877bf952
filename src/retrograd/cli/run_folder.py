"""The run folder ``retrograd train`` writes: its files, their formats, and the
bookkeeping that makes ``--force`` and ``--resume`` safe.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import socket
import tempfile
import time
from collections.abc import Mapping
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..options import OptionError
from ..pipeline import check_options
from ..serialization import atomic_write, load_checkpoint
from ..training import check_checkpoint
from .errors import UsageFailure
from .plots import plot_curves
from .text import table

MODEL_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
CURVES_FILE = "curves.png"
RUN_FILE = "run.json"
CHECKPOINT_FILE = "checkpoint.safetensors"
#: Everything ``train`` writes into ``--out``; ``--force`` replaces these and nothing else.
RUN_FILES = (MODEL_FILE, METRICS_FILE, CURVES_FILE, RUN_FILE, CHECKPOINT_FILE)
#: The lock file that keeps a second run out of a run folder in use (see :class:`RunLock`).
LOCK_FILE = ".retrograd.lock"
RUN_FORMAT = "retrograd-run/1"
METRICS_FORMAT = "retrograd-metrics/1"

#: The options of ``train`` that define a run: saved in run.json, reused by ``--resume``.
TRAIN_OPTIONS = (
    "data", "target", "hidden", "activation", "loss", "optimizer", "lr", "momentum",
    "weight_decay", "batch_size", "epochs", "patience", "dropout", "seed", "val_split",
    "test_split", "arch", "channels", "kernel", "augment", "label_smoothing",
)  # fmt: skip


def plain(obj: Any) -> Any:
    """``obj`` as strict JSON data: NumPy scalars and arrays to Python, nan and inf to None."""
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: Path, obj: Any) -> None:
    text = json.dumps(plain(obj), indent=2, allow_nan=False) + "\n"
    atomic_write(path, text.encode())


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; anything else is a usage error naming the file."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as e:
        raise UsageFailure(f"cannot read {path}: {e}") from None
    if not isinstance(value, dict):
        raise UsageFailure(
            f"{path} is damaged: it holds a JSON {type(value).__name__}, not an object"
        )
    return value


def versions() -> dict[str, str]:
    out = {"retrograd": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for dist in ("click", "matplotlib", "scikit-learn", "safetensors"):
        try:
            out[dist] = _metadata.version(dist)
        except _metadata.PackageNotFoundError:  # pragma: no cover - depends on the install
            pass
    out["platform"] = platform.platform()
    return out


def data_fingerprint(x: np.ndarray, y: np.ndarray) -> str:
    """A short hash of the data, so that ``--resume`` notices data that changed under it."""
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(x), np.ascontiguousarray(y)):
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()[:16]


class RunLock:
    """An exclusive lock on a run folder, so that two runs cannot write one ``--out``.

    The lock is ``fcntl.flock`` on ``LOCK_FILE`` in the folder, which holds the
    pid and host of its owner for the message the second run gets. The kernel
    releases it when its process ends, however it ends, so a lock file left by
    a killed run is stale by construction: the next run takes it. (Where
    ``fcntl`` is missing, on Windows, runs are not locked.)
    """

    def __init__(self, folder: Path, option: str = "--out") -> None:
        self.folder = folder
        self.option = option
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or raise a usage error naming the run that holds it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        path = self.folder / LOCK_FILE
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                owner = os.read(fd, 200).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise UsageFailure(
                    f"{self.option} {self.folder} is in use by another retrograd run "
                    f"({owner}); wait for it to end, or choose another {self.option}"
                ) from None
            try:  # the owner before us may have removed the file we opened: lock the new one
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()} on {socket.gethostname()}".encode())
        self.fd = fd

    def release(self) -> None:
        """Give the lock back (nothing when it is not held)."""
        if self.fd is None:
            return
        try:  # removed while still held, so no run can lock the removed file after us
            (self.folder / LOCK_FILE).unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def remove_stale_files(folder: Path) -> None:
    """Remove what a run killed mid-write left: our ``.NAME.*.tmp`` files and staging folders.

    Called with the folder's :class:`RunLock` held, so no live run owns them.
    """
    if folder.is_dir():
        for name in RUN_FILES:
            for tmp in folder.glob(f".{name}.*.tmp"):
                tmp.unlink(missing_ok=True)
    for staging in folder.parent.glob(f".{folder.name}.*.new"):
        shutil.rmtree(staging, ignore_errors=True)


def _holds_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.name != LOCK_FILE for p in folder.iterdir())


def prepare_out(out: Path, force: bool) -> Path:
    """Make ``out`` ready for a new run; the folder to write it in.

    An existing run is replaced only with ``--force``, and then only once the
    new one has succeeded: the new run is written into a staging folder beside
    ``out`` (returned), which :func:`commit_run` moves into place. Otherwise
    the folder is ``out`` itself.
    """
    check_out(out)
    if _holds_files(out):
        if not force:
            resumable = (out / RUN_FILE).is_file() and (out / CHECKPOINT_FILE).is_file()
            if resumable:
                resumable = read_json(out / RUN_FILE).get("status") != "finished"
            hint = f", continue it with --resume {out}" if resumable else ""
            raise UsageFailure(
                f"--out {out} already exists and is not empty; choose another --out{hint}, "
                "or pass --force to replace the run in it"
            )
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=out.parent))
    out.mkdir(parents=True, exist_ok=True)
    return out


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that cannot be a run folder, before anything is written."""
    if out.exists() and not out.is_dir():
        raise UsageFailure(f"--out {out} is a file, not a folder")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageFailure(f"--out {out}: {parent} is a file, not a folder")
            return


def commit_run(work: Path, out: Path) -> None:
    """Move the run written in the staging folder ``work`` into ``out``, replacing the old one.

    Only the run's own files are replaced (anything else in ``out`` stays);
    run.json moves last, so a run folder never claims a run whose files are
    not there.
    """
    if work == out:
        return
    for name in (*(n for n in RUN_FILES if n != RUN_FILE), RUN_FILE):
        if (work / name).is_file():
            os.replace(work / name, out / name)
        else:
            (out / name).unlink(missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)


def data_slug(data: str) -> str:
    name = Path(data).stem if Path(data).suffix else data
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "data"


def describe_data(spec: Any) -> str:
    text = f"{spec.name}: {spec.n_samples:,} rows, {spec.n_features} features, {spec.task}"
    if spec.task == "classification":
        text += f" ({len(spec.classes)} classes)"
    return text


def summary(run: Mapping[str, Any], metrics: Mapping[str, Any], out: Path) -> list[str]:
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
    sessions = run.get("sessions", 1)
    over = f" over {sessions} sessions" if sessions > 1 else ""
    return [
        "",
        f"run {out}  ({run['summary']})",
        *table(rows, "lr" + "r" * len(columns)),
        f"epochs: {run['epochs']} ({best}stop reason: {run['stop_reason']})",
        f"time: {timings['train_seconds']:.1f} s training ({timings['seconds_per_epoch']:.2f} "
        f"s/epoch), {timings['total_seconds']:.1f} s in all{over}",
        "wrote: " + "  ".join(n for n in RUN_FILES if (out / n).is_file()),
    ]


def finish_run(
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
    # The data by name or absolute path (run.json's), so that evaluate finds it from anywhere
    result.model.info.update(data=run["options"]["data"], target=run["options"]["target"])
    result.model.save(out / MODEL_FILE)
    plot_curves(history, out / CURVES_FILE, run["summary"], loss=run["options"].get("loss"),
                test=_test_score(result.metrics, history.metric))  # fmt: skip
    run["timings"] = {
        "data_seconds": data_seconds,
        "train_seconds": run["train_seconds"],
        "seconds_per_epoch": run["train_seconds"] / max(history.n_epochs, 1),
        # every session's, as train_seconds: a resumed run's time in all includes the first
        "total_seconds": run.get("total_seconds", 0.0) + time.perf_counter() - started,
        "sessions": run["sessions"],
    }
    run["total_seconds"] = run["timings"]["total_seconds"]
    write_json(
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
            "versions": versions(),
        },
    )
    write_json(out / RUN_FILE, run)


def read_run(out: Path) -> dict[str, Any]:
    """The saved state of the run in ``out``, checked to be resumable.

    run.json is checked field by field (types, every option known and valid)
    and the checkpoint's structure and epoch against the run's options, before
    anything is written: a damaged run is refused and left as it was.
    """
    if not (out / RUN_FILE).is_file():
        raise UsageFailure(f"--resume {out}: no {RUN_FILE} there; is it a retrograd run folder?")
    run = read_json(out / RUN_FILE)
    if not isinstance(run, dict) or run.get("format") != RUN_FORMAT:
        raise UsageFailure(f"--resume {out}: {RUN_FILE} is not a {RUN_FORMAT} file")
    _check_run(run, out / RUN_FILE)
    if run["status"] == "finished":
        raise UsageFailure(f"--resume {out}: that run already finished; nothing to resume")
    if not (out / CHECKPOINT_FILE).is_file():
        raise UsageFailure(
            f"--resume {out}: no {CHECKPOINT_FILE} (the run stopped before its first epoch "
            "ended); start it again with --force"
        )
    try:
        check_checkpoint(
            load_checkpoint(out / CHECKPOINT_FILE), out / CHECKPOINT_FILE, run["options"]["epochs"]
        )
    except ValueError as e:
        raise UsageFailure(f"--resume {out}: {e}") from None
    return run


#: The statuses run.json records.
RUN_STATUSES = ("running", "interrupted", "finished", "diverged", "failed")


def _check_run(run: dict[str, Any], path: Path) -> None:
    """Each field of run.json that ``--resume`` reads, with its type; every option valid."""

    def bad(name: str, expected: str, got: Any) -> UsageFailure:
        return UsageFailure(
            f"{path}: {name!r} must be {expected}, got {type(got).__name__} {got!r:.80}"
        )

    fields = {
        "status": (str,), "options": (dict,), "data_fingerprint": (str,), "summary": (str,),
        "train_seconds": (int, float), "sessions": (int,), "created": (str,),
    }  # fmt: skip
    for name, kinds in fields.items():
        if name not in run:
            raise UsageFailure(f"{path} is damaged: it lacks {name!r}")
        value = run[name]
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise bad(name, " or ".join(k.__name__ for k in kinds), value)
    if run["status"] not in RUN_STATUSES:
        raise bad("status", f"one of {', '.join(RUN_STATUSES)}", run["status"])
    if not (math.isfinite(run["train_seconds"]) and run["train_seconds"] >= 0):
        raise bad("train_seconds", "a number of seconds >= 0", run["train_seconds"])
    if run["sessions"] < 0:
        raise bad("sessions", "a count >= 0", run["sessions"])
    options = run["options"]
    # A run started before these options existed trained without them.
    options.setdefault("augment", "none")
    options.setdefault("label_smoothing", 0.0)
    missing = [k for k in TRAIN_OPTIONS if k not in options]
    unknown = sorted(set(options) - set(TRAIN_OPTIONS))
    if missing or unknown:
        said = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unknown {', '.join(map(repr, unknown))}"] if unknown else []
        )
        raise UsageFailure(f"{path}: its options are damaged: {'; '.join(said)}")
    if not isinstance(options["data"], str):
        raise bad("options.data", "a data set name or path", options["data"])
    if not isinstance(options["target"], str | int | None) or isinstance(options["target"], bool):
        raise bad("options.target", "a column name or index, or null", options["target"])
    checked = {k: v for k, v in options.items() if k not in ("data", "target")}
    try:
        check_options(None, **checked)
    except OptionError as e:
        raise UsageFailure(f"{path}: option {e.option!r}: {e}") from None
    except (TypeError, ValueError) as e:
        raise UsageFailure(f"{path}: its options are damaged: {e}") from None


def _test_score(metrics: Mapping[str, Any], metric: str | None) -> float | None:
    value = metrics.get(f"test_{metric}")
    return value if isinstance(value, float) else None


def stop_run(run: dict[str, Any], out: Path, status: str, started: float) -> None:
    """Record in run.json that the session ended early (``status``), and its time.

    ``run["train_seconds"]`` already holds the time trained; ``started`` is when
    the session began. Best effort: a full disk may refuse this file too.
    """
    run["status"] = status
    run["total_seconds"] = run.get("total_seconds", 0.0) + time.perf_counter() - started
    try:
        write_json(out / RUN_FILE, run)
    except OSError:
        pass
