"""Data-parallel training over MPI: throughput of 1 and 2 ranks against 2 BLAS threads.

Usage::

    .venv/bin/python bench/distributed.py                 # 5 rounds (about 4 minutes)
    .venv/bin/python bench/distributed.py --rounds 1 --samples 4096
    .venv/bin/python bench/distributed.py --setups fit1,fit2,fit2-eager --batches 512

The model is the 784-256-128-10 ReLU MLP (235,146 float32 parameters, so each
step's Allreduce sums a 0.94 MB buffer), trained by SGD with momentum on
synthetic data (standard normal features, 10 classes) with global batches of
32, 128 and 512. Six set-ups (``--setups`` picks some by their short names),
each a fresh set of processes:

- ``1`` (``1 rank, 1 thread``): one process, one BLAS thread (no MPI);
- ``1x2`` (``1 rank, 2 threads``): one process, NumPy's BLAS on two threads;
- ``2`` (``2 ranks, 1 thread``): ``mpiexec -n 2``, one BLAS thread per rank,
  each rank its half of every global batch through a ``DistributedSampler``
  (as a PyTorch user loads it, and as f6cbe2d's bench did), a PyTorch-style loop on the
  ``DistributedDataParallel`` wrapper: ``loss.backward()`` averages the
  gradients when it ends (one Allreduce per step, with its deadline), then
  ``opt.step()``;
- ``fit1``, ``fit2`` (``fit: 1 rank``, ``fit: 2 ranks``): ``retrograd.fit`` on
  the same loader, one BLAS thread per process, what ``retrograd train`` and
  ``mpiexec -n 2 retrograd train`` run: the captured step
  (:mod:`retrograd.capture`) on each rank's share, the averaging
  (``sync_gradients``), the finiteness check, the optimizer's step, and
  ``fit``'s per-epoch work (no validation, no metric);
- ``fit2-eager`` (``fit --no-capture: 2 ranks``): the same with
  ``capture=False``, which is what ``fit`` ran under MPI before it replayed the
  captured step.

Protocol (as ``_harness.py``): every set-up runs in its own processes, in an
order that alternates between rounds; each process warms up (10 steps), then
trains on ``--samples`` samples per batch size between two barriers (``fit``:
one epoch of the 8,192 rows to warm up, then the whole epochs nearest to
``--samples``, timed from the end of the first epoch to the end of the last
by an epoch callback). Reported are medians over rounds [min,
max]: samples/s; the time per step spent in the averaging
(``DistributedDataParallel._on_backward_end`` for the loop: packing the
gradients, the Allreduce, and waiting for the slower rank;
``sync_gradients`` for ``fit``), as a mean over the steps and, below the
table, for the median step; the time of the Allreduce alone on a buffer of
the same size (50 calls after a barrier, so no waiting for a slower rank);
and the scaling efficiency, samples/s of 2 ranks / (2 x samples/s of 1 rank),
paired by round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _harness as h

SIZES = (784, 256, 128, 10)
BATCHES = (32, 128, 512)
N_ROWS = 8192  # the synthetic data set: fit trains on whole epochs of it
SETUPS = {  # short name: (label, ranks, BLAS threads per rank, what each process runs)
    "1": ("1 rank, 1 thread", 1, 1, "loop"),
    "1x2": ("1 rank, 2 threads", 1, 2, "loop"),
    "2": ("2 ranks, 1 thread", 2, 1, "loop"),
    "fit1": ("fit: 1 rank", 1, 1, "fit"),
    "fit2": ("fit: 2 ranks", 2, 1, "fit"),
    "fit2-eager": ("fit --no-capture: 2 ranks", 2, 1, "fit-eager"),
}
HERE = Path(__file__).resolve()


def _measure(batch: int, samples: int, data: Any) -> tuple[dict[str, float], int]:
    """Train ``samples`` samples in global batches of ``batch``; timings and Allreduce bytes."""
    import time

    from retrograd import distributed as dist
    from retrograd import nn, optim
    from retrograd.data import DataLoader
    from retrograd.pipeline import build_mlp

    world = dist.world_size()
    model = build_mlp(SIZES[0], SIZES[1:-1], SIZES[-1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    ddp = dist.DistributedDataParallel(model) if world > 1 else None
    # As a PyTorch user writes it: each rank loads its own rows of every global batch
    # through a DistributedSampler (one process: the shuffled loader itself).
    if world > 1:
        sampler = dist.DistributedSampler(data, seed=0)
        loader = DataLoader(data, batch_size=batch // world, sampler=sampler, drop_last=True)
    else:
        loader = DataLoader(data, batch_size=batch, shuffle=True, drop_last=True)

    def batches(count: int) -> Any:
        epoch = 0
        while True:
            if world > 1:
                sampler.set_epoch(epoch)
            for xb, yb in loader:
                yield xb, yb
                count -= 1
                if count == 0:
                    return
            epoch += 1

    spent = [0.0]
    if ddp is not None:  # time the averaging that ends each backward pass
        average = ddp._on_backward_end

        def timed() -> Any:
            t = time.perf_counter()
            result = average()
            spent[0] += time.perf_counter() - t
            return result

        ddp._on_backward_end = timed

    def step(xb: Any, yb: Any) -> float:
        spent[0] = 0.0
        opt.zero_grad()
        loss = loss_fn((ddp or model)(xb), yb)
        loss.backward()  # with 2 ranks: averages the gradients at its end
        opt.step()
        return spent[0]

    for xb, yb in batches(10):  # warm-up
        step(xb, yb)
    steps = max(samples // batch, 1)
    sync_seconds = []
    dist.barrier()
    t0 = time.perf_counter()
    for xb, yb in batches(steps):
        sync_seconds.append(step(xb, yb))
    dist.barrier()
    elapsed = time.perf_counter() - t0
    timings = {
        f"{batch}/samples_per_s": steps * batch / elapsed,
        f"{batch}/step_ms": 1e3 * elapsed / steps,
        f"{batch}/sync_ms": 1e3 * sum(sync_seconds) / steps,
        f"{batch}/sync_median_ms": 1e3 * sorted(sync_seconds)[steps // 2],
    }
    return timings, (ddp.bytes_per_step if ddp is not None else 0)


def _measure_fit(
    batch: int, samples: int, data: Any, capture: bool
) -> tuple[dict[str, float], int]:
    """``fit`` for whole epochs (about ``samples`` samples) after one; timings, Allreduce bytes.

    The clock runs from the end of the first epoch (a warm-up: the start of
    ``fit``, the capture) to the end of the last, as seen by epoch callbacks:
    the steady state of a long run, each epoch's own work included.
    """
    import time

    from retrograd import distributed as dist
    from retrograd import fit, nn, optim
    from retrograd.data import DataLoader
    from retrograd.pipeline import build_mlp

    spent: list[float] = []
    ddp_type = dist.DistributedDataParallel
    sync = ddp_type.sync_gradients
    made: list[Any] = []

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(self)
        t = time.perf_counter()
        result = sync(self, *args, **kwargs)
        spent.append(time.perf_counter() - t)
        return result

    ends: list[float] = []

    def clock(epoch: int, record: Any, model: Any) -> None:
        ends.append(time.perf_counter())
        if epoch == 1:
            spent.clear()

    epochs = max(round(samples / N_ROWS), 1)
    model = build_mlp(SIZES[0], SIZES[1:-1], SIZES[-1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = DataLoader(data, batch_size=batch, shuffle=True, drop_last=True)
    ddp_type.sync_gradients = timed  # type: ignore[method-assign]
    try:
        fit(
            model, nn.CrossEntropyLoss(), opt, loader, max_epochs=1 + epochs,
            n_iter_no_change=None, progress=False, distributed=dist.world_size() > 1,
            capture=capture, callbacks=[clock],
        )  # fmt: skip
    finally:
        ddp_type.sync_gradients = sync  # type: ignore[method-assign]
    steps = epochs * len(loader)
    elapsed = ends[-1] - ends[0]
    timings = {
        f"{batch}/samples_per_s": steps * batch / elapsed,
        f"{batch}/step_ms": 1e3 * elapsed / steps,
    }
    if spent:
        timings[f"{batch}/sync_ms"] = 1e3 * sum(spent) / steps
        timings[f"{batch}/sync_median_ms"] = 1e3 * sorted(spent)[len(spent) // 2]
    return timings, (made[-1].bytes_per_step if made else 0)


def worker(config: dict[str, Any]) -> dict[str, Any] | None:
    """Train with every global batch size; rank 0 returns the timings (the others None)."""
    import numpy as np

    import retrograd as rg
    from retrograd import distributed as dist
    from retrograd.data import TensorDataset

    info = h.limit_threads(config["threads"])
    world = dist.init(mpi=config["ranks"] > 1)
    rng = np.random.default_rng(0)
    X = rg.from_numpy(rng.standard_normal((N_ROWS, SIZES[0])).astype(np.float32))
    y = rg.from_numpy(rng.integers(0, SIZES[-1], N_ROWS))
    data = TensorDataset(X, y)
    timings: dict[str, float] = {}
    extra: dict[str, Any] = {"world_size": world}
    mode = config["mode"]
    for batch in config["batches"]:
        if mode == "loop":
            more, extra["allreduce_bytes"] = _measure(batch, config["samples"], data)
        else:
            capture = mode == "fit"
            more, extra["allreduce_bytes"] = _measure_fit(batch, config["samples"], data, capture)
        timings.update(more)
    if world > 1:  # the Allreduce alone, on a buffer of the step's size
        from mpi4py import MPI

        buf = np.zeros(extra["allreduce_bytes"] // 4, dtype=np.float32)
        comm = MPI.COMM_WORLD
        for _ in range(5):
            comm.Allreduce(MPI.IN_PLACE, buf)
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(50):
            comm.Allreduce(MPI.IN_PLACE, buf)
        timings["allreduce_ms"] = 1e3 * (time.perf_counter() - t0) / 50
        extra["mpi"] = MPI.Get_library_version().splitlines()[0]
    if not dist.is_main():
        return None
    return {"info": info, "timings": timings, "extra": extra}


def _mpiexec() -> str:
    """The mpiexec beside this interpreter (the mpich wheel puts it there), else on PATH."""
    candidate = Path(sys.executable).parent / "mpiexec"
    if candidate.is_file():
        return str(candidate)
    import shutil

    found = shutil.which("mpiexec")
    if found is None:
        raise SystemExit("mpiexec not found: pip install 'retrograd[mpi]'")
    return found


def run_setup(
    label: str, ranks: int, threads: int, mode: str, config: dict[str, Any]
) -> dict[str, Any]:
    """One process (or ``mpiexec -n ranks``) running :func:`worker`; rank 0's result."""
    cfg = json.dumps({**config, "ranks": ranks, "threads": threads, "mode": mode})
    cmd = [sys.executable, str(HERE), "--worker", cfg]
    if ranks > 1:
        cmd = [_mpiexec(), "-n", str(ranks), *cmd]
    env = {**os.environ, **h.thread_env(threads)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(h.MARKER)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1][len(h.MARKER) :])


def _table(
    runs: dict[str, h.Run], batches: list[int], one: str, two: str, others: dict[str, str]
) -> list[str]:
    """Samples/s of each set-up present, the 2-rank step and averaging, and paired ratios.

    ``one`` and ``two`` name the 1-rank and 2-rank set-ups of the efficiency;
    ``others`` maps a set-up's name to the header of the ratio ``two / it``.
    """
    names = [n for n in (one, *others, two) if n in runs]
    if not names:
        return []
    header = ["global batch", *(f"{SETUPS[n][0]}: samples/s" for n in names)]
    if two in runs:
        header += [f"{SETUPS[two][0]}: ms/step", "of which the averaging"]
    if one in runs and two in runs:
        header.append("efficiency (2 ranks / 2x 1 rank)")
    ratios = [n for n in others if n in runs and two in runs]
    header += [others[n] for n in ratios]
    rows = []
    for b in batches:
        key = f"{b}/samples_per_s"
        row = [str(b), *(runs[n].stats(key).fmt(".0f") for n in names)]
        if two in runs:
            row.append(runs[two].stats(f"{b}/step_ms").fmt(".2f"))
            row.append(runs[two].stats(f"{b}/sync_ms").fmt(".2f"))
        if one in runs and two in runs:
            row.append(h.paired(runs[two], runs[one], key, lambda a, c: a / (2 * c)).fmt(".2f"))
        for n in ratios:
            row.append(h.paired(runs[two], runs[n], key, lambda a, c: a / c).fmt(".2f"))
        rows.append(row)
    lines = [h.markdown_table(header, rows, align="r" * len(header)), ""]
    if two in runs:
        medians = ", ".join(
            f"{b}: {runs[two].stats(f'{b}/sync_median_ms').fmt('.3f')}" for b in batches
        )
        lines += [f"Averaging of the median step, ms (global batch: ms): {medians}", ""]
    return lines


def report(runs: dict[str, h.Run], batches: list[int], args: argparse.Namespace) -> str:
    first = next(iter(runs.values()))
    lines = h.header_lines(h.machine_info(), first.info.get("env"))
    ranks = [r for n, r in runs.items() if SETUPS[n][1] > 1]
    extra = ranks[0].results[0]["extra"] if ranks else {}
    lines.append(
        f"- {args.rounds} rounds, {args.samples} samples per measurement; MPI: "
        f"{extra.get('mpi', '?')}; Allreduce buffer {extra.get('allreduce_bytes', 0):,} bytes"
    )
    lines.append("")
    lines += _table(runs, batches, "1", "2", {"1x2": "2 ranks / 2 threads"})
    lines += _table(
        runs,
        batches,
        "fit1",
        "fit2",
        {"fit2-eager": "fit: 2 ranks / --no-capture", "2": "fit: 2 ranks / the loop"},
    )
    if ranks:
        lines.append(
            f"Allreduce alone of the {extra.get('allreduce_bytes', 0):,}-byte buffer on 2 "
            f"ranks: {ranks[0].stats('allreduce_ms').fmt('.3f')} ms"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=16384, help="per batch size")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--setups", default=",".join(SETUPS), help=f"some of: {', '.join(SETUPS)}")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:  # inside one process of a set-up
        result = worker(json.loads(args.worker))
        if result is not None:
            sys.stdout.write(h.MARKER + json.dumps(result) + "\n")
            sys.stdout.flush()
        return 0
    batches = [int(b) for b in args.batches.split(",")]
    names = args.setups.split(",")
    unknown = [n for n in names if n not in SETUPS]
    if unknown:
        parser.error(f"--setups: unknown {', '.join(unknown)}; choose from {', '.join(SETUPS)}")
    config = {"samples": args.samples, "batches": batches}
    runs = {name: h.Run(SETUPS[name][0]) for name in names}
    for r, order in enumerate(h.schedule(names, args.rounds)):
        print(f"round {r + 1}/{args.rounds}: {' | '.join(order)}", flush=True)
        for name in order:
            runs[name].results.append(run_setup(*SETUPS[name], config))
    print(report(runs, batches, args))
    if args.json:
        Path(args.json).write_text(json.dumps({k: v.results for k, v in runs.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
