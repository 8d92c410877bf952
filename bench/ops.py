"""Per-operation cost of retrograd's engine against raw NumPy and PyTorch's autograd.

Usage::

    .venv/bin/python bench/ops.py            # full run, 9 rounds (about 70 seconds)
    .venv/bin/python bench/ops.py --quick    # smoke run, 2 rounds (about 20 seconds)
    .venv/bin/python bench/ops.py --rounds 9 --threads 2 --json out.json

For each case (an add of 4x4, matmuls of 32x32 and 512x512, relu and softmax on
tiny and medium inputs) three libraries are timed, each in its own process (see
``_harness.py``), alternating the order over rounds:

- ``numpy``: the forward as the engine computes it, and for ``f+b`` the same
  forward plus the gradients written by hand (the engine's own formulas);
- ``retrograd``: inputs with ``requires_grad=True``, so every op is recorded;
- ``torch``: the same with PyTorch's eager autograd, and, in the same process,
  PyTorch without autograd (inputs without ``requires_grad``; for ``f+b`` the
  gradients written by hand in torch, as for NumPy).

``fwd`` times the operation alone. ``f+b`` times ``x.grad = None`` for every
input, the operation, and ``out.backward(g)`` with a fixed random gradient
``g`` of the output's shape (no ``.sum()``: one recorded op in every library).

Overheads, per round (the processes of a round ran next to each other):

- *overhead* (the issue's measure): a library's time minus raw NumPy's;
- *torch's autograd-only overhead*: torch minus torch without autograd, which
  does not credit torch for kernels faster than NumPy's (fused softmax, MKL).

Goals (issue): on tiny tensors retrograd's overhead is at most half of
PyTorch's; on 512x512 matmuls retrograd is within 5% of raw NumPy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import _harness as h


@dataclass(frozen=True)
class Case:
    """One operation on inputs of given shapes; ``tiny`` cases count toward the overhead goal."""

    name: str
    kind: str  # "add", "matmul", "relu" or "softmax"
    shapes: tuple[tuple[int, ...], ...]
    tiny: bool


CASES = (
    Case("add 4x4", "add", ((4, 4), (4, 4)), tiny=True),
    Case("matmul 32x32", "matmul", ((32, 32), (32, 32)), tiny=True),
    Case("relu 4x4", "relu", ((4, 4),), tiny=True),
    Case("softmax 32x10", "softmax", ((32, 10),), tiny=True),
    Case("matmul 512x512", "matmul", ((512, 512), (512, 512)), tiny=False),
    Case("relu 512x512", "relu", ((512, 512),), tiny=False),
    Case("softmax 512x512", "softmax", ((512, 512),), tiny=False),
)
PASSES = ("fwd", "f+b")
LIBRARIES = ("numpy", "retrograd", "torch")
SEED = 0
GOAL_OVERHEAD_RATIO = 0.5
GOAL_MATMUL_RATIO = 1.05

Fns = dict[str, Callable[[], Any]]  # pass name -> the callable to time


# ---------------------------------------------------------------- workers (one per process)


def _inputs(case: Case) -> tuple[list[Any], Any]:
    """The case's float32 inputs and output gradient, the same in every process."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    arrays = [rng.standard_normal(s, dtype=np.float32) for s in case.shapes]
    if case.kind == "matmul":
        out_shape = (case.shapes[0][0], case.shapes[1][1])
    else:
        out_shape = case.shapes[0]
    return arrays, rng.standard_normal(out_shape, dtype=np.float32)


def _numpy_fns(case: Case) -> Fns:
    """Raw NumPy: the forward, and the forward with the gradients written by hand."""
    import numpy as np

    (a, *rest), g = _inputs(case)
    b = rest[0] if rest else None

    def softmax(x: Any) -> Any:  # as retrograd.ops.Softmax.forward
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def add() -> tuple[Any, ...]:
        return a + b, g, g  # d(a+b) = (g, g): nothing to compute

    def matmul() -> tuple[Any, ...]:
        return a @ b, g @ b.T, a.T @ g

    def relu() -> tuple[Any, ...]:
        return np.maximum(a, 0), g * (a > 0)

    def softmax_fb() -> tuple[Any, ...]:
        s = softmax(a)
        gs = g * s
        return s, gs - s * gs.sum(axis=-1, keepdims=True)

    fwd = {
        "add": lambda: a + b,
        "matmul": lambda: a @ b,
        "relu": lambda: np.maximum(a, 0),
        "softmax": lambda: softmax(a),
    }
    fb = {"add": add, "matmul": matmul, "relu": relu, "softmax": softmax_fb}
    return {"fwd": fwd[case.kind], "f+b": fb[case.kind]}


def _autograd_fns(case: Case, leaf: Callable[[Any], Any], grad: Callable[[Any], Any]) -> Fns:
    """fwd and f+b through autograd: the same code for retrograd and torch."""
    arrays, g_array = _inputs(case)
    xs = [leaf(x) for x in arrays]
    g = grad(g_array)
    a = xs[0]
    b = xs[1] if len(xs) > 1 else None
    op: Callable[[], Any] = {
        "add": lambda: a + b,
        "matmul": lambda: a @ b,
        "relu": lambda: a.relu(),
        "softmax": lambda: a.softmax(-1),
    }[case.kind]

    def fb() -> tuple[Any, ...]:
        for x in xs:
            x.grad = None
        out = op()
        out.backward(g)
        return (out, *[x.grad for x in xs])

    return {"fwd": op, "f+b": fb}


def _torch_raw_fns(case: Case) -> Fns:
    """torch without autograd: the forward, and the gradients written by hand (as NumPy's)."""
    import torch

    (a_np, *rest), g_np = _inputs(case)
    a = torch.from_numpy(a_np)
    b = torch.from_numpy(rest[0]) if rest else None
    g = torch.from_numpy(g_np)

    def add() -> tuple[Any, ...]:
        return a + b, g, g

    def matmul() -> tuple[Any, ...]:
        return a @ b, g @ b.T, a.T @ g

    def relu() -> tuple[Any, ...]:
        return a.relu(), g * (a > 0)

    def softmax_fb() -> tuple[Any, ...]:
        s = a.softmax(-1)
        gs = g * s
        return s, gs - s * gs.sum(-1, keepdim=True)

    fwd = {
        "add": lambda: a + b,
        "matmul": lambda: a @ b,
        "relu": lambda: a.relu(),
        "softmax": lambda: a.softmax(-1),
    }
    fb = {"add": add, "matmul": matmul, "relu": relu, "softmax": softmax_fb}
    return {"raw fwd": fwd[case.kind], "raw f+b": fb[case.kind]}


def _measure(config: dict[str, Any], build: Callable[[Case], Fns]) -> dict[str, Any]:
    """Time every pass of every case in the config.

    Returns ``timings`` (µs per call) and ``faults`` (minor page faults per
    call) keyed ``"case/pass"``, and ``checks``: sums of each f+b result, to
    compare the libraries' outputs and gradients.
    """
    timings: dict[str, float] = {}
    faults: dict[str, float] = {}
    checks: dict[str, list[float]] = {}
    for case in CASES:
        if case.name not in config["cases"]:
            continue
        fns = build(case)
        if "f+b" in fns:
            checks[case.name] = [float(_as_numpy(x).astype("float64").sum()) for x in fns["f+b"]()]
        for pass_, fn in fns.items():
            t = h.time_per_call(fn, config["min_batch_s"], config["repeat"])
            timings[f"{case.name}/{pass_}"] = t["best"] / 1000.0
            faults[f"{case.name}/{pass_}"] = t["faults"]
    return {"timings": timings, "faults": faults, "checks": checks}


def _as_numpy(x: Any) -> Any:
    if hasattr(x, "detach"):  # torch and retrograd tensors
        x = x.detach()
    return x.numpy() if hasattr(x, "numpy") else x


def numpy_worker(config: dict[str, Any]) -> dict[str, Any]:
    """Raw NumPy (one process)."""
    import numpy as np

    info = h.limit_threads(config["threads"])
    info["version"] = np.__version__
    return {"info": info, **_measure(config, _numpy_fns)}


def retrograd_worker(config: dict[str, Any]) -> dict[str, Any]:
    """retrograd with every input requiring grad (one process)."""
    import numpy as np

    import retrograd as rg

    info = h.limit_threads(config["threads"])
    info["version"] = f"{rg.__version__} from {rg.__file__} (numpy {np.__version__})"

    def build(case: Case) -> Fns:
        return _autograd_fns(case, lambda x: rg.tensor(x, requires_grad=True), rg.tensor)

    return {"info": info, **_measure(config, build)}


def torch_worker(config: dict[str, Any]) -> dict[str, Any]:
    """PyTorch with and without autograd (one process)."""
    import torch

    info = h.limit_threads(config["threads"])
    info["version"] = torch.__version__
    info["blas"] = "MKL" if torch.backends.mkl.is_available() else "not MKL"

    def build(case: Case) -> Fns:
        fns = _autograd_fns(
            case, lambda x: torch.from_numpy(x.copy()).requires_grad_(), torch.from_numpy
        )
        return {**fns, **_torch_raw_fns(case)}

    return {"info": info, **_measure(config, build)}


# ---------------------------------------------------------------- report


def _ratio(num: list[float], den: list[float]) -> h.Stats | None:
    """Per-round ratios of two times, or None when a denominator is not positive."""
    if any(d <= 0 for d in den):
        return None
    return h.Stats.of([n / d for n, d in zip(num, den, strict=True)])


def _overhead_ratio(num: list[float], den: list[float]) -> float | None:
    """Median overhead over median overhead, or None when the second is not positive.

    Not per round: an overhead is a small difference of two noisy times, and one
    round near zero would make a per-round ratio explode.
    """
    d = statistics.median(den)
    return statistics.median(num) / d if d > 0 else None


def _diff(a: list[float], b: list[float]) -> list[float]:
    return [x - y for x, y in zip(a, b, strict=True)]


def _fmt(s: h.Stats | float | None, spec: str) -> str:
    if s is None:
        return "n/a"
    return format(s, spec) if isinstance(s, float) else s.fmt(spec)


def _spec(t_us: float) -> str:
    """Two decimals below 100 µs, none above."""
    return ".2f" if abs(t_us) < 100 else ".0f"


def _threads_line(label: str, info: dict[str, Any]) -> str:
    pools = info.get("threadpools", [])
    parts = []
    if isinstance(pools, list):
        for p in pools:
            kernel = f", {p['architecture']} kernel" if "architecture" in p else ""
            version = f" {p['version']}" if p.get("version") else ""
            parts.append(
                f"{p.get('internal_api')}{version} ({p.get('prefix')}{kernel}): "
                f"{p.get('num_threads')} thread(s)"
            )
    else:
        parts.append(str(pools))
    if "torch_threads" in info:
        parts.append(
            f"torch intra-op {info['torch_threads']}, inter-op "
            f"{info['torch_interop_threads']} thread(s), BLAS {info.get('blas')}"
        )
    return f"- {label} {info.get('version')}: " + "; ".join(parts)


def _check_agreement(runs: dict[str, h.Run]) -> list[str]:
    """Compare each library's output and gradient sums with NumPy's (first round)."""
    ref = runs["numpy"].results[0]["checks"]
    bad = []
    for label in ("retrograd", "torch"):
        for case, sums in runs[label].results[0]["checks"].items():
            for i, (x, y) in enumerate(zip(sums, ref[case], strict=True)):
                if abs(x - y) > 1e-3 * max(1.0, abs(y)):
                    bad.append(f"{label} {case} result {i}: sum {x:.6g}, NumPy {y:.6g}")
    return bad


def report(
    runs: dict[str, h.Run], machine: dict[str, Any], config: dict[str, Any], command: str
) -> str:
    """The Markdown report: header, three tables and the goal status."""
    np_run, rg_run, th_run = (runs[lib] for lib in LIBRARIES)
    cases = [c for c in CASES if c.name in config["cases"]]
    out = [
        f"Command: `{command}`",
        "",
        *h.header_lines(machine, np_run.info.get("env")),
        *[_threads_line(lib, runs[lib].info) for lib in LIBRARIES],
        f"- method: {len(np_run.results)} rounds; each round runs each library in a fresh "
        "process, in the order numpy retrograd torch, reversed every other round; per "
        f"process and measurement, the best of {config['repeat']} batches of at least "
        f"{config['min_batch_s'] * 1000:g} ms (perf_counter_ns, gc on). float32 inputs. "
        "`f+b`: clear the inputs' grads, the op, `out.backward(g)` with a fixed random `g`; "
        "numpy's and torch-without-autograd's `f+b` compute the same gradients by hand.",
        "",
    ]
    bad = _check_agreement(runs)
    out.append(
        "Outputs and gradients agree with NumPy's (sums, rtol 1e-3)."
        if not bad
        else "**Results disagree:** " + "; ".join(bad)
    )

    out += ["", "Time per operation, µs (median over rounds [min, max]):", ""]
    rows = []
    for c in cases:
        for p in PASSES:
            k = f"{c.name}/{p}"
            spec = _spec(np_run.stats(k).median)
            rows.append(
                [
                    c.name,
                    p,
                    *[runs[lib].stats(k).fmt(spec) for lib in LIBRARIES],
                    th_run.stats(f"{c.name}/raw {p}").fmt(spec),
                ]
            )
    out.append(
        h.markdown_table(
            ["case", "pass", "numpy", "retrograd", "torch", "torch, no autograd"], rows, "llrrrr"
        )
    )

    out += [
        "",
        "Ratios and overheads, µs: per round, then median over rounds [min, max]. "
        "Overhead: time - numpy's time; torch autograd-only: torch - torch without "
        "autograd. Overhead ratios, for the tiny cases (the goal's): median over median "
        "(n/a: the denominator is not positive: torch's kernel beats NumPy's).",
        "",
    ]
    rows = []
    for c in cases:
        for p in PASSES:
            k = f"{c.name}/{p}"
            n, r, t = np_run.samples(k), rg_run.samples(k), th_run.samples(k)
            t_raw = th_run.samples(f"{c.name}/raw {p}")
            spec = _spec(np_run.stats(k).median)
            rg_over, th_over, th_ag = _diff(r, n), _diff(t, n), _diff(t, t_raw)
            rows.append(
                [
                    c.name,
                    p,
                    _fmt(_ratio(r, n), ".2f"),
                    _fmt(_ratio(r, t), ".2f"),
                    h.Stats.of(rg_over).fmt(spec),
                    h.Stats.of(th_over).fmt(spec),
                    _fmt(_overhead_ratio(rg_over, th_over), ".2f") if c.tiny else "",
                    h.Stats.of(th_ag).fmt(spec),
                    _fmt(_overhead_ratio(rg_over, th_ag), ".2f") if c.tiny else "",
                ]
            )
    out.append(
        h.markdown_table(
            [
                "case",
                "pass",
                "retrograd / numpy",
                "retrograd / torch",
                "retrograd overhead",
                "torch overhead",
                "overhead ratio",
                "torch autograd-only",
                "retrograd overhead / torch autograd-only",
            ],
            rows,
            "llrrrrrrr",
        )
    )

    medium = [c for c in cases if not c.tiny]
    if medium:
        out += ["", "Minor page faults per call (median over rounds), medium cases:", ""]
        rows = [
            [
                c.name,
                p,
                *[f"{runs[lib].stats(f'{c.name}/{p}', 'faults').median:.0f}" for lib in LIBRARIES],
            ]
            for c in medium
            for p in PASSES
        ]
        out.append(h.markdown_table(["case", "pass", *LIBRARIES], rows, "llrrr"))

    out += ["", "Goals (medians):", ""]
    for c in cases:
        for p in PASSES:
            k = f"{c.name}/{p}"
            n, r, t = np_run.samples(k), rg_run.samples(k), th_run.samples(k)
            if c.tiny:
                issue = _overhead_ratio(_diff(r, n), _diff(t, n))
                alt = _overhead_ratio(_diff(r, n), _diff(t, th_run.samples(f"{c.name}/raw {p}")))
                out.append(
                    f"- {c.name} {p}: overhead ratio {_fmt(issue, '.2f')} "
                    f"(goal ≤ {GOAL_OVERHEAD_RATIO:.2f}: {_verdict(issue, GOAL_OVERHEAD_RATIO)}); "
                    f"against torch's autograd-only overhead {_fmt(alt, '.2f')} "
                    f"({_verdict(alt, GOAL_OVERHEAD_RATIO)})"
                )
            elif c.kind == "matmul":
                s = _ratio(r, n)
                out.append(
                    f"- {c.name} {p}: retrograd / numpy {_fmt(s, '.3f')} "
                    f"(goal ≤ {GOAL_MATMUL_RATIO:.2f}: {_verdict(s, GOAL_MATMUL_RATIO)})"
                )
    return "\n".join(out) + "\n"


def _verdict(s: h.Stats | float | None, goal: float) -> str:
    if s is None:
        return "not applicable"
    value = s if isinstance(s, float) else s.median
    return "met" if value <= goal else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="rounds of processes (default 9)")
    parser.add_argument("--quick", action="store_true", help="2 rounds of short batches")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads for BLAS, OpenMP and torch (default 1)"
    )
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--json", help="also write the raw per-round results to this file")
    args = parser.parse_args(argv)

    names = [c.name for c in CASES]
    if args.cases:
        wanted = [s.strip() for s in args.cases.split(",")]
        unknown = [w for w in wanted if w not in names]
        if unknown:
            parser.error(f"unknown case(s) {unknown}; choose from {names}")
        names = wanted
    if args.rounds < 1 or args.threads < 1:
        parser.error("--rounds and --threads must be at least 1")
    config = {
        "threads": args.threads,
        "min_batch_s": 0.002 if args.quick else 0.01,
        "repeat": 3 if args.quick else 5,
        "cases": names,
    }
    workers = [
        h.Worker(lib, f"ops:{lib}_worker", config, h.thread_env(args.threads)) for lib in LIBRARIES
    ]
    machine = h.machine_info()
    runs = h.run_alternating(
        workers,
        2 if args.quick else args.rounds,
        progress=lambda s: print(s, file=sys.stderr, flush=True),
    )
    command = " ".join(["python bench/ops.py", *(sys.argv[1:] if argv is None else argv)])
    print(report(runs, machine, config, command))
    if args.json:
        raw = {"machine": machine, "config": config}
        raw["runs"] = {k: v.results for k, v in runs.items()}
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
