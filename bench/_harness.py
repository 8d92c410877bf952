"""A small harness for benchmarks that compare libraries, each in its own process.

Why one process per library: BLAS and OpenMP thread pools keep spinning for a
while after a call and slow down whatever runs next in the same process, and an
imported library changes allocator and cache state. So every measurement runs
in a fresh interpreter that imports only the library it measures, and the
order alternates between rounds (A B, B A, A B, ... so that over two rounds
each library sees the same neighbours: A B B A) to cancel drift of a shared,
noisy machine.

Protocol
--------
A *worker* is a function ``worker(config: dict) -> dict`` in a module under
``bench/``, named ``"module:function"`` (e.g. ``"ops:numpy_worker"``). The
harness starts ``python bench/_harness.py module:function`` with the JSON
config on stdin; the child imports the module, calls the function and prints
its return value as one JSON line after :data:`MARKER`. A worker returns::

    {"info": {...anything JSON...},           # versions, threads, BLAS, ...
     "timings": {"name": float, ...},         # one number per measurement
     ...}                                     # any other JSON, kept as is

Parent side: :func:`run_alternating` runs several :class:`Worker` s for N
rounds and returns one :class:`Run` per label, holding each round's timings in
round order, so that two libraries can be compared round by round
(:func:`paired`) as well as overall (:meth:`Run.stats`). :func:`machine_info`,
:func:`header_lines` and :func:`markdown_table` format the report.

Worker side: :func:`limit_threads` sets thread counts explicitly (threadpoolctl
for NumPy's BLAS and OpenMP, ``torch.set_num_threads`` when torch is imported)
and reports what is in effect; :func:`time_per_call` times a callable in
batches with ``time.perf_counter_ns``.

A new benchmark, ``bench/mlp.py`` say, needs only its workers and a report::

    import _harness as h

    def torch_worker(config):
        import torch
        info = h.limit_threads(config["threads"])
        ...  # build the model, then time what the benchmark is about
        return {"info": info, "timings": {"epoch": seconds}}

    workers = [h.Worker(lib, f"mlp:{lib}_worker", config, h.thread_env(1))
               for lib in ("numpy", "retrograd", "torch")]
    runs = h.run_alternating(workers, rounds=5)
    print(h.markdown_table(["library", "epoch s"],
                           [[k, r.stats("epoch").fmt(".3f")] for k, r in runs.items()]))
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Prefix of the line that carries a worker's JSON result on its stdout.
MARKER = "@@bench-result@@ "
#: Environment variables recorded in every report (set or not); the BLAS ones
#: change which OpenBLAS kernel runs, the thread ones how many threads it uses.
ENV_OF_INTEREST = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)
_HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- parent side


@dataclass(frozen=True)
class Worker:
    """One library's measurement: a label, the worker function and its config.

    Parameters
    ----------
    label : str
        The name in reports (``"numpy"``, ``"retrograd"``, ``"torch"``).
    target : str
        ``"module:function"``; the module is imported from ``bench/``.
    config : dict, default={}
        JSON-serialisable; passed to the function.
    env : dict, default={}
        Extra environment variables for the child (e.g. :func:`thread_env`).
    """

    label: str
    target: str
    config: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stats:
    """Median, min and max of a list of samples."""

    median: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise ValueError("Stats.of(): no samples")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def fmt(self, spec: str = ".2f", spread: bool = True) -> str:
        """``"1.23 [1.20, 1.31]"`` (median [min, max]), or the median alone."""
        med = format(self.median, spec)
        if not spread or self.n == 1:
            return med
        return f"{med} [{format(self.lo, spec)}, {format(self.hi, spec)}]"


@dataclass
class Run:
    """Everything one label's processes returned, in round order."""

    label: str
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def info(self) -> dict[str, Any]:
        """The first round's ``info`` (versions, threads; the same every round)."""
        return self.results[0].get("info", {}) if self.results else {}

    def samples(self, key: str, section: str = "timings") -> list[float]:
        """The number ``key`` of ``section`` (a dict in each result) for every round."""
        return [r[section][key] for r in self.results]

    def stats(self, key: str, section: str = "timings") -> Stats:
        """Median, min and max over rounds of ``section[key]``."""
        return Stats.of(self.samples(key, section))


def paired(a: Run, b: Run, key: str, fn: Callable[[float, float], float]) -> Stats:
    """Stats over rounds of ``fn(a's key, b's key)``, pairing the processes of each round.

    Pairing uses the alternation: the two processes of a round ran next to each
    other, so a ratio per round is less noisy than a ratio of medians.
    """
    return Stats.of([fn(x, y) for x, y in zip(a.samples(key), b.samples(key), strict=True)])


def schedule(labels: Sequence[str], rounds: int) -> list[list[str]]:
    """The order of processes in each round: forward, reversed, forward, ...

    For two labels this is A B, B A, A B, ... (A B B A); for three, A B C, C B A.
    """
    return [list(labels) if r % 2 == 0 else list(reversed(labels)) for r in range(rounds)]


def run_worker(worker: Worker, timeout: float = 600.0) -> dict[str, Any]:
    """Run one worker in a fresh interpreter and return what it returned."""
    env = {**os.environ, **worker.env}
    proc = subprocess.run(
        [sys.executable, os.path.join(_HERE, "_harness.py"), worker.target],
        input=json.dumps(worker.config),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"worker {worker.label} ({worker.target}) failed with exit code "
            f"{proc.returncode}:\n{proc.stderr[-4000:]}"
        )
    return json.loads(lines[-1][len(MARKER) :])


def run_alternating(
    workers: Sequence[Worker],
    rounds: int,
    progress: Callable[[str], None] | None = None,
    timeout: float = 600.0,
) -> dict[str, Run]:
    """Run every worker once per round, alternating the order; one :class:`Run` per label."""
    by_label = {w.label: w for w in workers}
    if len(by_label) != len(workers):
        raise ValueError(f"run_alternating(): labels repeat in {[w.label for w in workers]}")
    runs = {w.label: Run(w.label) for w in workers}
    for r, order in enumerate(schedule(list(by_label), rounds)):
        if progress is not None:
            progress(f"round {r + 1}/{rounds}: {' '.join(order)}")
        for label in order:
            runs[label].results.append(run_worker(by_label[label], timeout))
    return runs


class Server:
    """A worker process kept alive between requests, for benchmarks that interleave.

    The child (``python _harness.py --serve module:function``) calls
    ``function(config)``, which returns ``(info, handler)``; it then answers each
    request (a JSON line on its stdin) with ``handler(request)`` (a JSON line
    after :data:`MARKER`). Use it as a context manager; the child ends when its
    stdin closes.

    Parameters
    ----------
    worker : Worker
        The label, ``"module:function"``, config and environment of the child.
    """

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(_HERE, "_harness.py"), "--serve", worker.target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, **worker.env},
        )
        self.info: dict[str, Any] = self.request(worker.config)

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one JSON request and wait for the child's answer."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child died: reported below
        for line in self.proc.stdout:
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER) :])
        self.proc.wait()
        self._stderr.seek(0)
        raise RuntimeError(
            f"worker {self.worker.label} ({self.worker.target}) ended with exit code "
            f"{self.proc.returncode} before answering {message}:\n{self._stderr.read()[-4000:]}"
        )

    def close(self) -> None:
        """Close the child's stdin and wait for it to end."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self._stderr.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.proc.kill()
        self.close()


def thread_env(n: int) -> dict[str, str]:
    """Environment that sizes OpenMP, OpenBLAS and MKL pools to ``n`` threads at start."""
    return {k: str(n) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo, with family and model numbers when given."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return platform.processor() or "unknown"
    name = fields.get("model name", platform.processor() or "unknown")
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def machine_info() -> dict[str, Any]:
    """Date, machine, cores, Python, :data:`ENV_OF_INTEREST` and the repository's commit."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "env": {k: os.environ.get(k) for k in ENV_OF_INTEREST},
        "git": git_state(),
    }


def git_state(path: str = _HERE) -> str:
    """The commit checked out at ``path`` and whether tracked files differ from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" with uncommitted changes" if dirty else "")


def header_lines(machine: dict[str, Any], env: dict[str, str | None] | None = None) -> list[str]:
    """The machine description as Markdown list items.

    ``env`` (default: the parent's, from ``machine``) is the environment to
    report: pass a worker's (``info["env"]`` from :func:`limit_threads`).
    """
    env_items = (machine["env"] if env is None else env).items()
    env_text = ", ".join(f"{k}={v}" if v is not None else f"{k} not set" for k, v in env_items)
    return [
        f"- date: {machine['date']}",
        f"- machine: {machine['cpu']}, {machine['cores']} cores "
        f"({machine['usable_cores']} usable), {machine['platform']}",
        f"- python: {machine['python']}; repository at {machine['git']}",
        f"- environment{' of the workers' if env is not None else ''}: {env_text}",
    ]


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None
) -> str:
    """A Markdown table; ``align`` has one of ``l``/``r`` per column (default: text left)."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    align = align or "l" * len(header)
    if len(align) != len(header):
        raise ValueError(f"markdown_table(): align {align!r} does not match {len(header)} columns")

    def line(row: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(w) if a == "r" else c.ljust(w)
                for c, w, a in zip(row, widths, align, strict=True)
            )
            + " |"
        )

    rule = "|" + "|".join(
        ("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2))
        for w, a in zip(widths, align, strict=True)
    )
    return "\n".join([line(cells[0]), rule + "|", *[line(r) for r in cells[1:]]])


# ---------------------------------------------------------------- worker side


def limit_threads(n: int) -> dict[str, Any]:
    """Set every thread pool of this process to ``n`` threads and report what is in effect.

    Call it after importing the libraries to measure. Sets NumPy's BLAS and any
    OpenMP runtime through threadpoolctl, and torch's intra- and inter-op
    threads when torch has been imported. Returns threadpoolctl's view of the
    loaded pools (library, version, threads, and the kernel OpenBLAS chose) and
    the environment variables of :data:`ENV_OF_INTEREST` as this process sees them.
    """
    info: dict[str, Any] = {
        "threads_requested": n,
        "env": {k: os.environ.get(k) for k in ENV_OF_INTEREST},
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:  # only settable before the first parallel work
            pass
        info["torch_threads"] = torch.get_num_threads()
        info["torch_interop_threads"] = torch.get_num_interop_threads()
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        info["threadpools"] = "threadpoolctl not installed"
        return info
    # NOTE: kept referenced at module level: the limit stays in effect for the process.
    globals()["_LIMITS"] = threadpool_limits(limits=n)
    info["threadpools"] = [
        {
            k: p.get(k)
            for k in ("internal_api", "prefix", "version", "num_threads", "architecture")
            if p.get(k) is not None
        }
        for p in threadpool_info()
    ]
    return info


def time_per_call(
    fn: Callable[[], Any], min_batch_s: float = 0.01, repeat: int = 5
) -> dict[str, float]:
    """Time ``fn()`` in batches: the best and median nanoseconds per call, and page faults.

    The batch size grows until one batch takes at least ``min_batch_s`` (which
    also warms ``fn`` up); then ``repeat`` batches are timed with
    ``time.perf_counter_ns``. The garbage collector stays on: its cost is part
    of the cost of an operation that allocates Python objects. ``faults`` is
    the number of minor page faults per call during the timed batches.
    """
    number = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter_ns() - start
        if elapsed >= min_batch_s * 1e9:
            break
        # Aim straight at the target, at most 10x per step (the first calls are slow).
        number = min(number * 10, max(number + 1, int(number * min_batch_s * 1.2e9 / elapsed)))
    per_call = []
    faults = _minor_faults()
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        per_call.append((time.perf_counter_ns() - start) / number)
    faults = (_minor_faults() - faults) / (repeat * number)
    return {
        "best": min(per_call),
        "median": statistics.median(per_call),
        "number": number,
        "faults": faults,
    }


def _minor_faults() -> float:
    """Minor page faults of this process so far (NaN where getrusage is missing).

    A fault per 4 KiB page touched for the first time: many per call mean that
    the allocator hands back fresh memory from the OS on every call.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return float("nan")
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)


def _main(argv: list[str]) -> int:
    """Child entry point: ``python _harness.py [--serve] module:function``.

    Without ``--serve``: the JSON config on stdin, one result out. With it: the
    config as the first JSON line, then one answer per request line (:class:`Server`).
    """
    serve = argv[:1] == ["--serve"]
    if serve:
        argv = argv[1:]
    if len(argv) != 1 or ":" not in argv[0]:
        print(
            "usage: python bench/_harness.py [--serve] module:function < config.json",
            file=sys.stderr,
        )
        return 2
    module_name, func_name = argv[0].split(":", 1)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    func = getattr(importlib.import_module(module_name), func_name)
    if not serve:
        config = json.loads(sys.stdin.read() or "{}")
        _answer(func(config))
        return 0
    info, handler = func(json.loads(sys.stdin.readline() or "{}"))
    _answer(info)
    for line in sys.stdin:
        if line.strip():
            _answer(handler(json.loads(line)))
    return 0


def _answer(result: Any) -> None:
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
