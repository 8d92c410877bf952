"""Data-parallel training over MPI: throughput of 1 and 2 ranks against 2 BLAS threads.

Usage::

    .venv/bin/python bench/distributed.py                 # 5 rounds (about 2 minutes)
    .venv/bin/python bench/distributed.py --rounds 1 --samples 4096

The model is the 784-256-128-10 ReLU MLP (235,146 float32 parameters, so each
step's Allreduce sums a 0.94 MB buffer), trained by SGD with momentum on
synthetic data (standard normal features, 10 classes) with global batches of
32, 128 and 512. Three set-ups, each a fresh set of processes:

- ``1 rank, 1 thread``: one process, one BLAS thread (no MPI);
- ``1 rank, 2 threads``: one process, NumPy's BLAS on two threads (no MPI);
- ``2 ranks, 1 thread``: ``mpiexec -n 2``, one BLAS thread per rank, each rank
  its half of every global batch of the shared loader (``shard_bounds``, as
  ``fit`` does), a PyTorch-style loop on the ``DistributedDataParallel``
  wrapper: ``loss.backward()`` averages the gradients when it ends (one
  Allreduce per step, with its deadline), then ``opt.step()``.

Protocol (as ``_harness.py``): every set-up runs in its own processes, in an
order that alternates between rounds; each process warms up (10 steps), then
trains on ``--samples`` samples per batch size between two barriers. Reported
are medians over rounds [min, max]: samples/s; the time per step spent in
the averaging at the end of backward
(``DistributedDataParallel._on_backward_end``: packing the gradients, the
Allreduce, and waiting for the slower rank), as a mean over the steps and,
below the table, for the median step; the time of the Allreduce alone
on a buffer of the same size (50 calls after a barrier, so no waiting for a
slower rank); and the scaling
efficiency, samples/s of 2 ranks / (2 x samples/s of 1 rank), paired by round.
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
SETUPS = {  # label: (ranks, BLAS threads per rank)
    "1 rank, 1 thread": (1, 1),
    "1 rank, 2 threads": (1, 2),
    "2 ranks, 1 thread": (2, 1),
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
    loader = DataLoader(data, batch_size=batch, shuffle=True, drop_last=True)
    start, stop = dist.shard_bounds(batch, world, dist.rank())

    def batches(count: int) -> Any:
        while True:
            for xb, yb in loader:  # the global batch; this rank's rows of it
                yield xb[start:stop], yb[start:stop]
                count -= 1
                if count == 0:
                    return

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


def worker(config: dict[str, Any]) -> dict[str, Any] | None:
    """Train with every global batch size; rank 0 returns the timings (the others None)."""
    import numpy as np

    import retrograd as rg
    from retrograd import distributed as dist
    from retrograd.data import TensorDataset

    info = h.limit_threads(config["threads"])
    world = dist.init(mpi=config["ranks"] > 1)
    rng = np.random.default_rng(0)
    n_rows = 8192
    X = rg.from_numpy(rng.standard_normal((n_rows, SIZES[0])).astype(np.float32))
    y = rg.from_numpy(rng.integers(0, SIZES[-1], n_rows))
    data = TensorDataset(X, y)
    timings: dict[str, float] = {}
    extra: dict[str, Any] = {"world_size": world}
    for batch in config["batches"]:
        more, extra["allreduce_bytes"] = _measure(batch, config["samples"], data)
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


def run_setup(ranks: int, threads: int, config: dict[str, Any]) -> dict[str, Any]:
    """One process (or ``mpiexec -n ranks``) running :func:`worker`; rank 0's result."""
    cfg = json.dumps({**config, "ranks": ranks, "threads": threads})
    cmd = [sys.executable, str(HERE), "--worker", cfg]
    if ranks > 1:
        cmd = [_mpiexec(), "-n", str(ranks), *cmd]
    env = {**os.environ, **h.thread_env(threads)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(h.MARKER)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1][len(h.MARKER) :])


def report(runs: dict[str, h.Run], batches: list[int], args: argparse.Namespace) -> str:
    one, two_threads, two_ranks = (runs[k] for k in SETUPS)
    lines = h.header_lines(h.machine_info(), one.info.get("env"))
    lines.append(
        f"- {args.rounds} rounds, {args.samples} samples per measurement; MPI: "
        f"{two_ranks.results[0]['extra'].get('mpi', '?')}; Allreduce buffer "
        f"{two_ranks.results[0]['extra'].get('allreduce_bytes', 0):,} bytes"
    )
    lines.append("")
    rows = []
    for b in batches:
        key = f"{b}/samples_per_s"
        eff = h.paired(two_ranks, one, key, lambda a, c: a / (2 * c))
        vs_threads = h.paired(two_ranks, two_threads, key, lambda a, c: a / c)
        rows.append(
            [
                str(b),
                one.stats(key).fmt(".0f"),
                two_threads.stats(key).fmt(".0f"),
                two_ranks.stats(key).fmt(".0f"),
                two_ranks.stats(f"{b}/step_ms").fmt(".2f"),
                two_ranks.stats(f"{b}/sync_ms").fmt(".2f"),
                eff.fmt(".2f"),
                vs_threads.fmt(".2f"),
            ]
        )
    header = [
        "global batch",
        "1 rank, 1 thread: samples/s",
        "1 rank, 2 threads: samples/s",
        "2 ranks: samples/s",
        "2 ranks: ms/step",
        "2 ranks: sync ms/step",
        "efficiency (2 ranks / 2x 1 rank)",
        "2 ranks / 2 threads",
    ]
    lines.append(h.markdown_table(header, rows, align="rrrrrrrr"))
    lines.append("")
    medians = ", ".join(
        f"{b}: {two_ranks.stats(f'{b}/sync_median_ms').fmt('.3f')}" for b in batches
    )
    lines.append(f"Averaging of the median step, ms (global batch: ms): {medians}")
    lines.append(
        f"Allreduce alone of the {two_ranks.results[0]['extra'].get('allreduce_bytes', 0):,}-byte "
        f"buffer on 2 ranks: {two_ranks.stats('allreduce_ms').fmt('.3f')} ms"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=16384, help="per batch size")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
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
    config = {"samples": args.samples, "batches": batches}
    runs = {label: h.Run(label) for label in SETUPS}
    for r, order in enumerate(h.schedule(list(SETUPS), args.rounds)):
        print(f"round {r + 1}/{args.rounds}: {' | '.join(order)}", flush=True)
        for label in order:
            runs[label].results.append(run_setup(*SETUPS[label], config))
    print(report(runs, batches, args))
    if args.json:
        Path(args.json).write_text(json.dumps({k: v.results for k, v in runs.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
