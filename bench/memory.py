"""Peak memory of MLP training: retrograd against PyTorch eager and hand-written NumPy.

Usage::

    .venv/bin/python bench/memory.py                      # 2 rounds, 20,000 and 60,000 samples
    .venv/bin/python bench/memory.py --samples 20000 --rounds 1

Each library runs in its own process (``_harness.py``), alternated over
rounds. A process imports its library, records its resident set size (RSS),
builds the data set (``bench/mlp.py``'s 784-feature float32 samples, made in
chunks so that no larger copy ever exists), resets the kernel's peak-RSS
counter (``/proc/self/clear_refs``), then trains the 784-256-128-10 MLP of
``bench/mlp.py`` with batch 512 for a warm-up epoch and one more epoch, and
reads the peak (``VmHWM``). Reported, in MiB: the data's bytes, and the
training's overhead, peak minus the RSS after import minus the data. Any
memory the library allocates on first use (thread pools, allocator caches,
the model, the optimizer's state, every batch's arrays) is in the overhead.

Goal (issues 8 and 23): retrograd's peak, eager (``retrograd``) and with the captured
step and its kept arrays (``capture``), is at most the data plus 20 MiB.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import _harness as h
import mlp

LIBRARIES = ("numpy", "retrograd", "capture", "torch")  # capture: the replayed step
GOAL_OVERHEAD_MIB = 20.0
MIB = 1024 * 1024


def _status_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+); False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(config: dict[str, Any]) -> dict[str, Any]:
    """One library, every data size in ``config['samples']``, each in a fresh process."""
    lib = config["library"]
    if lib == "torch":
        import torch

        version = torch.__version__
    elif lib in mlp.RETROGRAD:
        import retrograd

        version = retrograd.__version__
    import numpy as np

    if lib == "numpy":
        version = np.__version__
    info = h.limit_threads(config["threads"])
    info["version"] = version
    base = _status_kib("VmRSS") * 1024
    features, labels = mlp.make_data(config["samples"])
    data = features.nbytes + labels.nbytes
    reset = _reset_peak()
    run_epoch = mlp.TRAINERS[lib](features, labels, config["batch"], config["optimizer"])
    run_epoch(0)
    run_epoch(1)
    peak = _status_kib("VmHWM") * 1024
    return {
        "info": {**info, "peak_reset": reset},
        "timings": {
            "base_mib": base / MIB,
            "data_mib": data / MIB,
            "peak_mib": peak / MIB,
            "overhead_mib": (peak - base - data) / MIB,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of processes (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="threads (default 2)")
    parser.add_argument(
        "--samples", default="20000,60000", help="data set sizes (default 20000,60000)"
    )
    parser.add_argument("--optimizers", default="sgd,adam", help="sgd, adam or both (default)")
    args = parser.parse_args(argv)
    machine = h.machine_info()
    rows = []
    verdicts = []
    infos: dict[str, Any] = {}
    for n in [int(s) for s in args.samples.split(",")]:
        for opt in [s.strip() for s in args.optimizers.split(",")]:
            config = {"threads": args.threads, "samples": n, "batch": 512, "optimizer": opt}
            workers = [
                h.Worker(
                    lib, "memory:worker", {**config, "library": lib}, h.thread_env(args.threads)
                )
                for lib in LIBRARIES
            ]
            runs = h.run_alternating(
                workers,
                args.rounds,
                progress=lambda s, n=n, opt=opt: print(
                    f"{n} samples, {opt}: {s}", file=sys.stderr, flush=True
                ),
            )
            for lib, run in runs.items():
                infos[lib] = run.info
                data = run.stats("data_mib")
                over = run.stats("overhead_mib")
                rows.append(
                    [
                        f"{n:,}",
                        opt,
                        lib,
                        f"{data.median:.1f}",
                        run.stats("base_mib").fmt(".0f", spread=False),
                        run.stats("peak_mib").fmt(".1f"),
                        over.fmt(".1f"),
                    ]
                )
                if lib in mlp.RETROGRAD:
                    verdicts.append((f"{lib}, {n:,} samples, {opt}", over.median))
    command = " ".join(["python bench/memory.py", *(sys.argv[1:] if argv is None else argv)])
    out = [f"Command: `{command}`", "", *h.header_lines(machine, infos["numpy"].get("env"))]
    out.append(
        f"- method: {args.rounds} rounds, libraries alternated, {args.threads} thread(s); "
        f"batch 512; peak counter reset after the data is built: "
        f"{'yes' if all(i.get('peak_reset') for i in infos.values()) else 'NO'}"
    )
    for lib, info in infos.items():
        out.append(f"- {lib} {info.get('version')}")
    out += [
        "",
        "MiB; RSS after import; peak RSS of the two epochs (median [min, max]); "
        "overhead = peak - RSS after import - data:",
        "",
        h.markdown_table(
            ["samples", "optimizer", "library", "data", "after import", "peak", "overhead"],
            rows,
            "lllrrrr",
        ),
        "",
    ]
    for what, over in verdicts:
        ok = "met" if over <= GOAL_OVERHEAD_MIB else "NOT met"
        out.append(f"- {what}: overhead {over:.1f} MiB (goal ≤ {GOAL_OVERHEAD_MIB:.0f}: {ok})")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
