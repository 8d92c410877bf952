"""A/B of one MLP training step between two source trees of retrograd.

Usage::

    git worktree add /tmp/old f6cbe2d
    .venv/bin/python bench/step_ab.py old=/tmp/old/src new=src           # wall clock
    .venv/bin/python bench/step_ab.py old=/tmp/old/src new=src --count   # Python calls
    .venv/bin/python bench/step_ab.py old=/tmp/old/src new=src --callgrind  # instructions

Each tree runs the step of ``bench/mlp.py`` (784-256-128-10 ReLU MLP,
``nn.CrossEntropyLoss``, SGD or Adam; ``loss_fn(model(x), y)``, ``zero_grad``,
``backward``, ``step``) in its own process with one BLAS thread, the tree's
``src`` first on ``PYTHONPATH``. Three measures:

- wall clock (the default): ``--rounds`` rounds, the trees in the order A B B A
  (reversed every other round); each process runs ``--warmup`` steps, then
  ``--blocks`` blocks of ``--steps`` steps and reports its fastest block's
  time per step. Reported: the median over processes per tree, and the median
  of the per-round ratios against the first tree. On a loaded machine prefer
  the next two.
- ``--count``: Python function calls per step (cProfile), deterministic.
- ``--callgrind``: machine instructions per step under valgrind's callgrind,
  nearly independent of the load (the garbage collector's work included). The
  process starts with instrumentation off (imports and warm-up at full speed),
  turns it on with ``callgrind_control``, and dumps the counts of an empty
  segment and of ``--steps`` steps; the difference over the steps is reported.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

SIZES = (784, 256, 128, 10)
LR = {"sgd": 0.1, "adam": 1e-3}
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _trainer(batch: int, opt_name: str) -> Any:
    """One training step of the benchmark MLP on a rotating set of batches."""
    import numpy as np

    import retrograd as rg
    from retrograd import nn, optim

    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    for layer, (fan_in, fan_out) in zip(model[::2], itertools.pairwise(SIZES), strict=True):
        bound = 1 / fan_in**0.5
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        layer.weight.detach().numpy()[...] = w
        layer.bias.detach().numpy()[...] = 0.0
    loss_fn = nn.CrossEntropyLoss()
    cls = optim.SGD if opt_name == "sgd" else optim.Adam
    opt = cls(model.parameters(), lr=LR[opt_name])
    xs = rng.random((16, batch, 784), dtype=np.float32)
    ys = rng.integers(0, 10, (16, batch))
    data = [(rg.from_numpy(x), rg.from_numpy(y)) for x, y in zip(xs, ys, strict=True)]
    i = 0

    def step() -> None:
        nonlocal i
        xb, yb = data[i % 16]
        i += 1
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def child(args: argparse.Namespace) -> None:
    """Run in the tree's process: print one JSON line with what was measured."""
    step = _trainer(args.batch, args.opt)
    for _ in range(args.warmup):
        step()
    if args.measure == "time":
        best = float("inf")
        for _ in range(args.blocks):
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            best = min(best, (time.perf_counter() - start) / args.steps)
        print(json.dumps({"us": best * 1e6}))
    elif args.measure == "count":
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.steps):
            step()
        prof.disable()
        calls = pstats.Stats(prof).total_calls  # type: ignore[attr-defined]
        print(json.dumps({"calls": calls / args.steps}))
    else:  # callgrind: the counts of an empty segment, then of the steps (see _instructions)
        _callgrind_control("-i", "on")
        _callgrind_control("-d", "empty")
        for _ in range(args.steps):
            step()
        _callgrind_control("-d", "steps")


def _callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(os.getpid())], check=True, capture_output=True)


def _run(src: str, argv: list[str], valgrind: list[str] = ()) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src), **ONE_THREAD)
    cmd = [*valgrind, sys.executable, os.path.abspath(__file__), "--child", *argv]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)


def _child_json(src: str, argv: list[str]) -> dict[str, float]:
    return json.loads(_run(src, argv).stdout.strip().splitlines()[-1])


def _instructions(src: str, argv: list[str], steps: int) -> float:
    """Instructions per step: (steps segment - empty segment) / steps, from callgrind's dumps."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        valgrind = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
        ]
        _run(src, [*argv, "--measure", "cg", "--steps", str(steps)], valgrind)
        totals = {}
        for name in os.listdir(tmp):
            with open(os.path.join(tmp, name)) as f:
                text = f.read()
            trigger = text.split("desc: Trigger: ")[1].split("\n")[0]
            totals[trigger] = int(text.split("\ntotals: ")[1].split()[0])
    return (totals["dump steps"] - totals["dump empty"]) / steps


def parent(args: argparse.Namespace) -> None:
    trees = dict(t.split("=", 1) for t in args.trees)
    names = list(trees)
    for opt_name in args.opts:
        for batch in args.batches:
            base = ["--batch", str(batch), "--opt", opt_name]
            if args.callgrind:
                res = {n: _instructions(trees[n], base, args.cg_steps) for n in names}
                row = "  ".join(f"{n} {v / 1e6:7.3f} M" for n, v in res.items())
                rel = "  ".join(f"{n}/{names[0]} {res[n] / res[names[0]]:.3f}" for n in names[1:])
                print(f"{opt_name:4} batch {batch:4}: instructions/step {row}  {rel}", flush=True)
                continue
            if args.count:
                res = {
                    n: _child_json(trees[n], [*base, "--measure", "count", "--steps", "50"])
                    for n in names
                }
                row = "  ".join(f"{n} {v['calls']:.0f}" for n, v in res.items())
                print(f"{opt_name:4} batch {batch:4}: Python calls/step {row}", flush=True)
                continue
            times: dict[str, list[float]] = {n: [] for n in names}
            ratios: dict[str, list[float]] = {n: [] for n in names[1:]}
            timing = [
                "--measure",
                "time",
                "--steps",
                str(args.steps),
                "--blocks",
                str(args.blocks),
                "--warmup",
                str(args.warmup),
            ]
            for r in range(args.rounds):
                order = names if r % 2 == 0 else names[::-1]
                got = {n: _child_json(trees[n], [*base, *timing])["us"] for n in order}
                for n in names:
                    times[n].append(got[n])
                for n in names[1:]:
                    ratios[n].append(got[n] / got[names[0]])
            row = "  ".join(
                f"{n} {statistics.median(v):7.1f} [{min(v):.1f}, {max(v):.1f}] us"
                for n, v in times.items()
            )
            rel = "  ".join(f"{n}/{names[0]} {statistics.median(v):.3f}" for n, v in ratios.items())
            print(f"{opt_name:4} batch {batch:4}: {row}  {rel}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trees", nargs="*", help="NAME=SRC_DIR, the first is the reference")
    p.add_argument("--batches", type=int, nargs="+", default=[32, 128, 512])
    p.add_argument("--opts", nargs="+", default=["sgd", "adam"], choices=["sgd", "adam"])
    p.add_argument("--rounds", type=int, default=6, help="rounds of processes (default 6)")
    p.add_argument("--steps", type=int, default=100, help="steps per timed block (default 100)")
    p.add_argument("--blocks", type=int, default=7, help="timed blocks per process (default 7)")
    p.add_argument("--warmup", type=int, default=50, help="untimed steps first (default 50)")
    p.add_argument("--count", action="store_true", help="count Python calls per step")
    p.add_argument("--callgrind", action="store_true", help="count instructions per step")
    p.add_argument("--cg-steps", type=int, default=50, help="steps under callgrind (default 50)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    p.add_argument("--opt", help=argparse.SUPPRESS)
    p.add_argument("--measure", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
