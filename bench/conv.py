"""Convolutional layers and LeNet-5 training: retrograd against PyTorch eager on the CPU.

Usage::

    .venv/bin/python bench/conv.py                  # 4 rounds (A B B A), 1 thread (~2 minutes)
    .venv/bin/python bench/conv.py --rounds 2 --threads 2 --json out.json
    .venv/bin/python bench/conv.py --lenet-only

What runs, in a fresh process per library and round (``_harness.py``), the
order alternating over rounds:

- per layer, forward + backward (a random upstream gradient, the input's and
  the parameters' gradients) for typical shapes: LeNet-5's two convolutions,
  3x3 convolutions of 32 and 64 channels (stride 1 and 2), a depthwise one,
  a 1-D one, max and average pooling and BatchNorm2d. Both libraries build
  the layer with the same code (``lib.nn.Conv2d(...)``); milliseconds per call
  are the fastest of a few timed batches (:func:`_harness.time_per_call`);
- LeNet-5 training (1x28x28 inputs, batch 64, SGD lr 0.01, cross-entropy):
  samples per second over an epoch of 2,560 synthetic images, the fastest of
  three epochs after a warm-up one, as ``bench/mlp.py`` times epochs. In the
  retrograd process also captured (``retrograd.capture.TrainStep``, a model
  and optimizer of its own), its epochs alternating with the eager ones.

Reported: the median [min, max] over rounds of each library's time, and the
ratio torch time / retrograd time paired per round (above 1: retrograd is
faster); for LeNet-5 the throughput ratio retrograd / torch against the goal of
issue 22 (>= 0.8), and captured / eager and captured / torch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import _harness as h

LIBRARIES = ("retrograd", "torch")
GOAL_LENET = 0.8
BATCH = 64
LENET_SAMPLES = 40 * BATCH

#: name -> (layer constructor arguments as source, input shape); ``lib`` is the nn module.
LAYERS: dict[str, tuple[str, tuple[int, ...]]] = {
    "conv 1->6 5x5 p2 28x28 (LeNet 1)": ("lib.Conv2d(1, 6, 5, padding=2)", (64, 1, 28, 28)),
    "conv 6->16 5x5 14x14 (LeNet 2)": ("lib.Conv2d(6, 16, 5)", (64, 6, 14, 14)),
    "conv 32->32 3x3 p1 32x32": ("lib.Conv2d(32, 32, 3, padding=1)", (32, 32, 32, 32)),
    "conv 64->64 3x3 p1 16x16": ("lib.Conv2d(64, 64, 3, padding=1)", (32, 64, 16, 16)),
    "conv 32->64 3x3 s2 p1 32x32": ("lib.Conv2d(32, 64, 3, 2, 1)", (32, 32, 32, 32)),
    "conv depthwise 64 3x3 p1 16x16": (
        "lib.Conv2d(64, 64, 3, padding=1, groups=64)",
        (32, 64, 16, 16),
    ),
    "conv1d 32->32 k5 p2 L128": ("lib.Conv1d(32, 32, 5, padding=2)", (32, 32, 128)),
    "maxpool 2x2 32x32x32": ("lib.MaxPool2d(2)", (32, 32, 32, 32)),
    "avgpool 2x2 32x32x32": ("lib.AvgPool2d(2)", (32, 32, 32, 32)),
    "batchnorm2d 32 32x32": ("lib.BatchNorm2d(32)", (32, 32, 32, 32)),
}  # fmt: skip


def _lenet(nn: Any) -> Any:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def worker(config: dict[str, Any]) -> dict[str, Any]:
    """One library's measurements in this process (``config["library"]``)."""
    import numpy as np

    name = config["library"]
    if name == "torch":
        import torch as lib_root
        import torch.nn as nn

        def tensor(a: Any, grad: bool = False) -> Any:
            return lib_root.tensor(a, requires_grad=grad)
    else:
        import retrograd as lib_root
        import retrograd.nn as nn

        def tensor(a: Any, grad: bool = False) -> Any:
            return lib_root.tensor(a, requires_grad=grad)

    info = h.limit_threads(config["threads"])
    info["version"] = lib_root.__version__
    rng = np.random.default_rng(0)
    timings: dict[str, float] = {}
    if not config.get("lenet_only"):
        for label, (make, shape) in LAYERS.items():
            layer = eval(make, {"lib": nn})  # the same source builds both libraries' layer
            x = tensor(rng.standard_normal(shape).astype(np.float32), grad=True)
            y0 = layer(x)
            g = tensor(rng.standard_normal(tuple(y0.shape)).astype(np.float32))

            def step(layer: Any = layer, x: Any = x, g: Any = g) -> None:
                x.grad = None
                for p in layer.parameters():
                    p.grad = None
                layer(x).backward(g)

            timings[label] = h.time_per_call(step, min_batch_s=0.05, repeat=3)["best"] / 1e6
    model = _lenet(nn)
    opt = lib_root.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    images = rng.random((LENET_SAMPLES, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, LENET_SAMPLES)
    xs = [tensor(images[i : i + BATCH]) for i in range(0, LENET_SAMPLES, BATCH)]
    ys = [tensor(labels[i : i + BATCH]) for i in range(0, LENET_SAMPLES, BATCH)]

    def epoch() -> float:
        loss = None
        for xb, yb in zip(xs, ys, strict=True):
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float(loss.item())

    epochs = {"lenet samples/s": epoch}
    if name == "retrograd":
        captured = _lenet(nn)
        step = lib_root.capture.TrainStep(
            captured, loss_fn, lib_root.optim.SGD(captured.parameters(), lr=0.01)
        )

        def captured_epoch() -> float:
            loss = None
            for xb, yb in zip(xs, ys, strict=True):
                loss = step(xb, yb)
            return float(loss.item())

        epochs["lenet captured samples/s"] = captured_epoch
    best = dict.fromkeys(epochs, float("inf"))
    for run in epochs.values():  # warm-up (and the capture)
        run()
    for _ in range(3):  # the variants' epochs alternate
        for key, run in epochs.items():
            start = time.perf_counter()
            loss = run()
            best[key] = min(best[key], time.perf_counter() - start)
    if name == "retrograd" and step.reason is not None:
        raise RuntimeError(f"bench/conv.py: LeNet-5's step was not replayed: {step.reason}")
    for key, seconds in best.items():
        timings[key] = LENET_SAMPLES / seconds
    return {"info": info, "timings": timings, "loss": loss}


def report(runs: dict[str, h.Run], machine: dict[str, Any], rounds: int, threads: int) -> str:
    rg, pt = runs["retrograd"], runs["torch"]
    lines = [
        f"# Convolutions: retrograd {rg.info.get('version')} vs torch {pt.info.get('version')}",
        "",
        *h.header_lines(machine, rg.info.get("env")),
        f"- {rounds} rounds (A B B A), {threads} thread(s); median [min, max] over rounds",
        "",
    ]
    rows = []
    for key in rg.results[0]["timings"]:
        if key.startswith("lenet"):
            continue
        ratio = h.paired(pt, rg, key, lambda t, r: t / r)
        rows.append([key, rg.stats(key).fmt(".2f"), pt.stats(key).fmt(".2f"), ratio.fmt(".2f")])
    if rows:
        lines += [
            "Forward + backward, milliseconds per call (torch / retrograd > 1: retrograd faster):",
            "",
            h.markdown_table(
                ["layer", "retrograd ms", "torch ms", "torch/retrograd"], rows, "lrrr"
            ),
            "",
        ]
    key = "lenet samples/s"
    ratio = h.paired(rg, pt, key, lambda r, t: r / t)
    verdict = "meets" if ratio.median >= GOAL_LENET else "misses"
    lines += [
        "LeNet-5 training, batch 64, SGD (samples per second):",
        "",
        h.markdown_table(
            ["retrograd", "torch", "retrograd/torch", f"goal >= {GOAL_LENET}"],
            [[rg.stats(key).fmt(".0f"), pt.stats(key).fmt(".0f"), ratio.fmt(".2f"), verdict]],
            "rrrl",
        ),
    ]
    cap = "lenet captured samples/s"
    if cap in rg.results[0]["timings"]:
        by_eager = h.Stats.of(
            [c / e for c, e in zip(rg.samples(cap), rg.samples(key), strict=True)]
        )
        by_torch = h.Stats.of(
            [c / t for c, t in zip(rg.samples(cap), pt.samples(key), strict=True)]
        )
        lines += [
            "",
            "LeNet-5 training captured (retrograd.capture.TrainStep), samples per second:",
            "",
            h.markdown_table(
                ["retrograd captured", "captured/eager", "captured/torch"],
                [[rg.stats(cap).fmt(".0f"), by_eager.fmt(".2f"), by_torch.fmt(".2f")]],
                "rrr",
            ),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="rounds of processes (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per library (default 1)")
    parser.add_argument("--lenet-only", action="store_true", help="skip the per-layer timings")
    parser.add_argument("--json", help="also write the raw per-round results to this file")
    args = parser.parse_args(argv)
    config = {"threads": args.threads, "lenet_only": args.lenet_only}
    workers = [
        h.Worker(lib, "conv:worker", {**config, "library": lib}, h.thread_env(args.threads))
        for lib in LIBRARIES
    ]
    machine = h.machine_info()
    runs = h.run_alternating(
        workers, args.rounds, progress=lambda s: print(s, file=sys.stderr, flush=True)
    )
    print(report(runs, machine, args.rounds, args.threads))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, **{k: r.results for k, r in runs.items()}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
