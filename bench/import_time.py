"""Time to ``import retrograd`` in a fresh interpreter, against numpy and torch.

Usage::

    .venv/bin/python bench/import_time.py               # 15 rounds
    .venv/bin/python bench/import_time.py --rounds 5 --modules retrograd,torch

Each round starts one fresh interpreter per module (order alternating over
rounds) that runs ``t = perf_counter(); import M; perf_counter() - t`` and
nothing else, so interpreter start-up is not counted and nothing is cached in
the process (the operating system's file cache is warm after the first round).
The interpreters may write bytecode caches (``PYTHONDONTWRITEBYTECODE`` is
removed from their environment) and one untimed import of each module comes
first, so every timed import reads ``__pycache__`` as an installed package
does; with that variable set, as on some CI machines, every import of
retrograd would compile its ~75 modules from source (about 0.1 s more).
Then one more interpreter runs ``python -X importtime -c 'import retrograd'``
and the report lists the slowest imports under it (cumulative).

Goal (issue 8): ``import retrograd`` under 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

import _harness as h

GOAL_S = 0.2
_CODE = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"


#: The interpreters' environment: bytecode caches written and read, as for an installed package.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_import(module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _CODE.format(m=module)],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    )
    return float(out.stdout.strip().splitlines()[-1])


def slowest_imports(module: str, n: int = 8) -> list[tuple[float, str]]:
    """The ``n`` largest cumulative times of ``-X importtime`` under ``module``, in seconds."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    )
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (s.strip() for s in line[len("import time:") :].split("|"))
        rows.append((int(cumulative) / 1e6, name.strip()))
    rows.sort(reverse=True)
    return rows[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds (default 15)")
    parser.add_argument(
        "--modules", default="numpy,retrograd,torch", help="modules (default numpy,retrograd,torch)"
    )
    args = parser.parse_args(argv)
    modules = [m.strip() for m in args.modules.split(",") if m.strip()]
    machine = h.machine_info()
    times: dict[str, list[float]] = {m: [] for m in modules}
    for m in modules:  # untimed: writes the bytecode caches
        time_import(m)
    for order in h.schedule(modules, args.rounds):
        for m in order:
            times[m].append(time_import(m))
    command = " ".join(["python bench/import_time.py", *(sys.argv[1:] if argv is None else argv)])
    out = [f"Command: `{command}`", "", *h.header_lines(machine)]
    out.append(
        f"- method: {args.rounds} rounds, one fresh interpreter per module and round, "
        "the order alternating; the import statement alone is timed"
    )
    rows = [[m, h.Stats.of(t).fmt(".3f")] for m, t in times.items()]
    out += ["", h.markdown_table(["module", "import s (median [min, max])"], rows, "lr"), ""]
    if "retrograd" in times:
        med = statistics.median(times["retrograd"])
        ok = "met" if med < GOAL_S else "NOT met"
        out.append(f"- import retrograd: {med:.3f} s (goal < {GOAL_S} s: {ok})")
        out += ["", "Slowest imports under `import retrograd` (cumulative, `-X importtime`):", ""]
        out += [f"- {name}: {s * 1000:.0f} ms" for s, name in slowest_imports("retrograd")]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
