"""BLAS threads on an idle and a busy machine: the digits MLP, trained five ways.

Every library runs with its default threads (no ``*_NUM_THREADS`` variable, no
limit): the point is what a user gets. Each measurement is a fresh process,
A B B A over rounds (``_harness.run_alternating``); the report gives medians
[min, max] over rounds and, per workload, the busy/idle ratio of the medians.
"Busy" is one process spinning ``while True: pass`` beside the workers, as
another user's job would.

Workloads (digits: 1,797 rows of 64 features, standardised; 64-100-10 ReLU
MLP, batch 200, SGD lr 0.1 momentum 0.9, the same number of epochs each):

- ``rg loop``: a hand-written retrograd loop (forward, loss, backward, step);
- ``rg loop 1t``: the same after ``retrograd.set_num_threads(1)`` (the reference);
- ``rg fit``: :func:`retrograd.fit`;
- ``rg MLPClassifier``: :class:`retrograd.sklearn.MLPClassifier` (solver 'sgd');
- ``torch loop``: the same loop in PyTorch.

    .venv/bin/python bench/threads.py                 # 3 rounds, 20 epochs
    .venv/bin/python bench/threads.py --rounds 5 --epochs 40
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

import _harness as h

HIDDEN, BATCH, LR, MOMENTUM = 100, 200, 0.1, 0.9


def _digits() -> tuple[Any, Any]:
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return X.astype(np.float32), y.astype(np.int64)


def _info() -> dict[str, Any]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {}
    return {"threadpools": [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]}


def retrograd_worker(config: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    import retrograd as rg
    from retrograd import nn, optim

    X, y = _digits()
    if config["way"] == "loop 1t" and hasattr(rg, "set_num_threads"):
        rg.set_num_threads(1)
    elif config["way"] == "loop 1t":  # a commit before retrograd.threads: threadpoolctl
        from threadpoolctl import threadpool_limits

        globals()["_limit"] = threadpool_limits(1, user_api="blas")
    rg.manual_seed(0)
    t0 = time.perf_counter()
    if config["way"] == "MLPClassifier":
        from retrograd.sklearn import MLPClassifier

        clf = MLPClassifier(
            hidden_layer_sizes=(HIDDEN,), solver="sgd", learning_rate_init=LR, momentum=MOMENTUM,
            nesterovs_momentum=False, batch_size=BATCH, max_iter=config["epochs"], tol=0.0,
            n_iter_no_change=10**9, random_state=0,
        )  # fmt: skip
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the budget
            clf.fit(X, y)
        return {"info": {**_info(), "rg_threads": getattr(rg, "get_num_threads", lambda: None)()},
                "timings": {"s": time.perf_counter() - t0}}  # fmt: skip
    model = nn.Sequential(nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    batches = [
        (rg.from_numpy(X[i : i + BATCH]), rg.from_numpy(y[i : i + BATCH]))
        for i in range(0, len(X), BATCH)
    ]
    if config["way"] == "fit":
        rg.fit(
            model, loss_fn, opt, batches, max_epochs=config["epochs"], n_iter_no_change=None,
            progress=False,
        )  # fmt: skip
    else:
        for _ in range(config["epochs"]):
            for xb, yb in batches:
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
    assert np.isfinite(model(batches[0][0]).detach().numpy()).all()
    return {"info": {**_info(), "rg_threads": getattr(rg, "get_num_threads", lambda: None)()},
            "timings": {"s": time.perf_counter() - t0}}  # fmt: skip


def torch_worker(config: dict[str, Any]) -> dict[str, Any]:
    import torch

    X, y = _digits()
    torch.manual_seed(0)
    t0 = time.perf_counter()
    model = torch.nn.Sequential(
        torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = [
        (torch.from_numpy(X[i : i + BATCH]), torch.from_numpy(y[i : i + BATCH]))
        for i in range(0, len(X), BATCH)
    ]
    for _ in range(config["epochs"]):
        for xb, yb in batches:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    return {"info": {**_info(), "torch_threads": torch.get_num_threads()},
            "timings": {"s": time.perf_counter() - t0}}  # fmt: skip


WAYS = {
    "rg loop": ("threads:retrograd_worker", "loop"),
    "rg loop 1t": ("threads:retrograd_worker", "loop 1t"),
    "rg fit": ("threads:retrograd_worker", "fit"),
    "rg MLPClassifier": ("threads:retrograd_worker", "MLPClassifier"),
    "torch loop": ("threads:torch_worker", "loop"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    clean = {k: "" for k in h.ENV_OF_INTEREST if k.endswith("NUM_THREADS")}
    workers = [
        h.Worker(label, target, {"way": way, "epochs": args.epochs}, {})
        for label, (target, way) in WAYS.items()
    ]
    for k in clean:  # default threads: the workers inherit no thread variable
        os.environ.pop(k, None)
    progress = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    idle = h.run_alternating(workers, args.rounds, progress)
    load = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        busy = h.run_alternating(workers, args.rounds, progress)
    finally:
        load.kill()
        load.wait()
    machine = h.machine_info()
    print("\n".join(h.header_lines(machine)))
    print(f"- {args.rounds} rounds per condition, {args.epochs} epochs of digits per run")
    for label in WAYS:
        print(f"- {label}: {idle[label].info}")
    rows = []
    for label in WAYS:
        i, b = idle[label].stats("s"), busy[label].stats("s")
        rows.append([label, i.fmt(".3f"), b.fmt(".3f"), f"{b.median / i.median:.2f}"])
    print()
    print(h.markdown_table(["workload", "idle s", "busy s", "busy / idle"], rows, "lrrr"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
