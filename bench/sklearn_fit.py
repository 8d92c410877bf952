"""``fit`` time of retrograd.sklearn's MLPClassifier against scikit-learn's, same parameters.

Usage::

    .venv/bin/python bench/sklearn_fit.py              # 3 rounds (about 4 minutes)
    .venv/bin/python bench/sklearn_fit.py --rounds 1 --epochs-large 1

Protocol: each library runs in its own process (``_harness.py``), the order
alternating between rounds, with one BLAS thread. Each process fits every cell
once after a warm-up fit: data sets ``digits`` (1797 x 64, scaled to [0, 1])
and ``synthetic`` (``make_classification``, 60,000 x 784, 10 classes,
standardized); solvers 'sgd' and 'adam'; ``batch_size`` 32 and 200; and the
floating type of the arithmetic: float32 (scikit-learn computes in the dtype of
``X``, so it is given float32 ``X``; retrograd ``dtype='float32'``) and
float64. Every fit runs a fixed number of epochs (``tol=0``,
``n_iter_no_change`` above ``max_iter``), ``hidden_layer_sizes=(100,)``,
``random_state=0``, the other parameters at their defaults. "default against
default" compares scikit-learn on float64 ``X`` (its default for NumPy data)
with retrograd's default float32.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import _harness as h

SOLVERS = ("sgd", "adam")
BATCHES = (32, 200)
DTYPES = ("float32", "float64")


def _data(name: str) -> tuple[Any, Any]:
    import numpy as np
    from sklearn.datasets import load_digits, make_classification

    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    X, y = make_classification(
        n_samples=60_000, n_features=784, n_informative=80, n_classes=10, random_state=0
    )
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float64), y


def worker(config: dict[str, Any]) -> dict[str, Any]:
    """Fit every cell once with the library named in ``config['lib']``; seconds per fit."""
    if config["lib"] == "retrograd":
        from retrograd.sklearn import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    info = h.limit_threads(config["threads"])
    timings: dict[str, float] = {}
    warnings.simplefilter("ignore")
    epochs_of = {"digits": config["epochs_digits"], "synthetic": config["epochs_large"]}
    for name, epochs in epochs_of.items():
        X, y = _data(name)
        for dtype in DTYPES:
            Xd = X.astype(dtype)
            for solver in SOLVERS:
                for batch in BATCHES:
                    kw = dict(
                        hidden_layer_sizes=(100,),
                        solver=solver,
                        batch_size=batch,
                        max_iter=epochs,
                        tol=0.0,
                        n_iter_no_change=epochs + 1,
                        random_state=0,
                    )
                    if config["lib"] == "retrograd":
                        kw["dtype"] = dtype
                    MLPClassifier(**{**kw, "max_iter": 1}).fit(Xd[:2000], y[:2000])  # warm-up
                    t = time.perf_counter()
                    MLPClassifier(**kw).fit(Xd, y)
                    timings[f"{name}/{solver}/{batch}/{dtype}"] = time.perf_counter() - t
    return {"info": info, "timings": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs-digits", type=int, default=20)
    parser.add_argument("--epochs-large", type=int, default=1)
    args = parser.parse_args()
    config = {
        "threads": args.threads,
        "epochs_digits": args.epochs_digits,
        "epochs_large": args.epochs_large,
    }
    workers = [
        h.Worker(lib, "sklearn_fit:worker", {**config, "lib": lib}, h.thread_env(args.threads))
        for lib in ("retrograd", "sklearn")
    ]
    runs = h.run_alternating(workers, rounds=args.rounds, progress=print)
    rg, sk = runs["retrograd"], runs["sklearn"]
    print("\n".join(h.header_lines(h.machine_info(), rg.info.get("env"))))
    print(f"- {args.rounds} rounds; epochs: digits {args.epochs_digits}, "
          f"synthetic {args.epochs_large}; {args.threads} BLAS thread(s)\n")  # fmt: skip
    rows = []
    for name in ("digits", "synthetic"):
        for solver in SOLVERS:
            for batch in BATCHES:
                cell = f"{name}/{solver}/{batch}"
                row = [name, solver, str(batch)]
                for dtype in DTYPES:
                    key = f"{cell}/{dtype}"
                    row.append(sk.stats(key).fmt(".2f", spread=False))
                    row.append(rg.stats(key).fmt(".2f", spread=False))
                    row.append(h.paired(sk, rg, key, lambda a, b: a / b).fmt(".2f"))
                sk64, rg32 = sk.samples(f"{cell}/float64"), rg.samples(f"{cell}/float32")
                default = h.Stats.of([a / b for a, b in zip(sk64, rg32, strict=True)])
                row.append(default.fmt(".2f"))
                rows.append(row)
    header = [
        "data", "solver", "batch",
        "sklearn f32 s", "retrograd f32 s", "speed-up f32",
        "sklearn f64 s", "retrograd f64 s", "speed-up f64",
        "default vs default",
    ]  # fmt: skip
    print(h.markdown_table(header, rows, align="lllrrrrrrr"))


if __name__ == "__main__":
    main()
