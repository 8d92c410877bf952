"""``fit`` time of retrograd.sklearn's MLPClassifier against scikit-learn's, same parameters.

Usage::

    .venv/bin/python bench/sklearn_fit.py              # 3 rounds (about 4 minutes)
    .venv/bin/python bench/sklearn_fit.py --rounds 1 --epochs-large 1
    .venv/bin/python bench/sklearn_fit.py --rounds 4 --numpy   # the table in docs/benchmarks.md

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

``--numpy`` adds a third process: :func:`numpy_fit`, the same training written
by hand in NumPy (preallocated buffers, every parameter in one flat array, the
gradients written straight into it, no autograd, no input validation), to
measure the ceiling: how much faster than scikit-learn the same arithmetic can
be on this machine.
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


def numpy_fit(X: Any, y: Any, solver: str, batch_size: int, epochs: int, seed: int = 0) -> float:  # noqa: N803
    """scikit-learn's MLPClassifier fit, written by hand in NumPy; returns the last epoch's loss.

    The configuration of the benchmark (one hidden layer of 100 relu units, a
    softmax output, ``alpha=1e-4``, ``learning_rate_init=1e-3``, Nesterov
    momentum 0.9 or Adam's defaults), the weights drawn and the rows shuffled
    from ``RandomState(seed)`` as scikit-learn does, and the same work per
    batch: forward, log-loss and L2 term, backward, update. Every parameter
    lives in one flat array and the gradients are written into another, so an
    update is a few passes over one array.
    """
    import numpy as np

    alpha, lr, momentum, beta_1, beta_2, epsilon = 1e-4, 1e-3, 0.9, 0.9, 0.999, 1e-8
    dtype = X.dtype
    rs = np.random.RandomState(seed)
    classes, yi = np.unique(y, return_inverse=True)
    (n, d), hidden, k = X.shape, 100, len(classes)
    n_coef = d * hidden + hidden * k
    flat = np.empty(n_coef + hidden + k, dtype)
    grad, s1, s2 = np.empty_like(flat), np.empty_like(flat), np.empty_like(flat)
    v, m = np.zeros_like(flat), np.zeros_like(flat)

    def split(a: Any) -> tuple[Any, Any, Any, Any]:
        w1, w2 = a[: d * hidden].reshape(d, hidden), a[d * hidden : n_coef].reshape(hidden, k)
        return w1, w2, a[n_coef : n_coef + hidden], a[n_coef + hidden :]

    W1, W2, b1, b2 = split(flat)
    gW1, gW2, gb1, gb2 = split(grad)
    for W, b in ((W1, b1), (W2, b2)):  # scikit-learn's Glorot uniform, in its order
        bound = np.sqrt(6.0 / sum(W.shape))
        W[...] = rs.uniform(-bound, bound, W.shape)
        b[...] = rs.uniform(-bound, bound, b.shape)
    eps = np.finfo(dtype).eps
    coefs, coef_grad, coef_scratch = flat[:n_coef], grad[:n_coef], s1[:n_coef]
    idx, t, loss = np.arange(n), 0, 0.0
    for _ in range(epochs):
        idx = rs.permutation(idx)
        accumulated = 0.0
        for start in range(0, n, batch_size):
            rows_of = idx[start : start + batch_size]
            nb = len(rows_of)
            xb, yb, rows = X.take(rows_of, axis=0), yi.take(rows_of), np.arange(nb)
            h = xb @ W1
            h += b1
            np.maximum(h, 0, out=h)
            z = h @ W2
            z += b2
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
            p = np.clip(z[rows, yb], eps, 1 - eps)
            batch_loss = -float(np.log(p).mean())
            batch_loss += 0.5 * alpha * float(np.dot(coefs, coefs)) / nb
            accumulated += batch_loss * nb
            z[rows, yb] -= 1  # the output delta, softmax - one_hot, over the batch
            z /= nb
            np.matmul(h.T, z, out=gW2)
            z.sum(axis=0, out=gb2)
            dh = z @ W2.T
            dh *= h > 0
            np.matmul(xb.T, dh, out=gW1)
            dh.sum(axis=0, out=gb1)
            np.multiply(coefs, alpha / nb, out=coef_scratch)
            coef_grad += coef_scratch
            if solver == "sgd":  # scikit-learn's Nesterov step: v = mu*v - lr*g; mu*v - lr*g
                np.multiply(grad, lr, out=s1)
                v *= momentum
                v -= s1
                np.multiply(v, momentum, out=s2)
                s2 -= s1
                flat += s2
            else:  # Adam as scikit-learn
                t += 1
                lr_t = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
                m *= beta_1
                np.multiply(grad, 1 - beta_1, out=s1)
                m += s1
                v *= beta_2
                np.multiply(grad, grad, out=s1)
                s1 *= 1 - beta_2
                v += s1
                np.sqrt(v, out=s1)
                s1 += epsilon
                np.divide(m, s1, out=s1)
                s1 *= -lr_t
                flat += s1
        loss = accumulated / n
    return loss


def worker(config: dict[str, Any]) -> dict[str, Any]:
    """Fit every cell once with the library named in ``config['lib']``; seconds per fit."""
    if config["lib"] == "numpy":
        return numpy_worker(config)
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


def numpy_worker(config: dict[str, Any]) -> dict[str, Any]:
    """:func:`worker` for :func:`numpy_fit`: every cell once after a warm-up fit."""
    info = h.limit_threads(config["threads"])
    timings: dict[str, float] = {}
    epochs_of = {"digits": config["epochs_digits"], "synthetic": config["epochs_large"]}
    for name, epochs in epochs_of.items():
        X, y = _data(name)
        for dtype in DTYPES:
            Xd = X.astype(dtype)
            for solver in SOLVERS:
                for batch in BATCHES:
                    numpy_fit(Xd[:2000], y[:2000], solver, batch, 1)  # warm-up
                    t = time.perf_counter()
                    numpy_fit(Xd, y, solver, batch, epochs)
                    timings[f"{name}/{solver}/{batch}/{dtype}"] = time.perf_counter() - t
    return {"info": info, "timings": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs-digits", type=int, default=20)
    parser.add_argument("--epochs-large", type=int, default=1)
    parser.add_argument(
        "--numpy", action="store_true", help="also time the hand-written NumPy loop (the ceiling)"
    )
    args = parser.parse_args()
    config = {
        "threads": args.threads,
        "epochs_digits": args.epochs_digits,
        "epochs_large": args.epochs_large,
    }
    libs = ("retrograd", "sklearn", "numpy") if args.numpy else ("retrograd", "sklearn")
    workers = [
        h.Worker(lib, "sklearn_fit:worker", {**config, "lib": lib}, h.thread_env(args.threads))
        for lib in libs
    ]
    runs = h.run_alternating(workers, rounds=args.rounds, progress=print)
    rg, sk = runs["retrograd"], runs["sklearn"]
    print("\n".join(h.header_lines(h.machine_info(), rg.info.get("env"))))
    print(f"- {args.rounds} rounds; epochs: digits {args.epochs_digits}, "
          f"synthetic {args.epochs_large}; {args.threads} BLAS thread(s)\n")  # fmt: skip
    rows, ceiling = [], []
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
                sk64 = sk.samples(f"{cell}/float64")
                row.append(_ratios(sk64, rg.samples(f"{cell}/float32")).fmt(".2f"))
                rows.append(row)
                if args.numpy:
                    nps = runs["numpy"]
                    line = [name, solver, str(batch)]
                    for dtype in DTYPES:
                        key = f"{cell}/{dtype}"
                        line.append(nps.stats(key).fmt(".2f", spread=False))
                        line.append(h.paired(sk, nps, key, lambda a, b: a / b).fmt(".2f"))
                        line.append(h.paired(rg, nps, key, lambda a, b: a / b).fmt(".2f"))
                    line.append(_ratios(sk64, nps.samples(f"{cell}/float32")).fmt(".2f"))
                    ceiling.append(line)
    header = [
        "data", "solver", "batch",
        "sklearn f32 s", "retrograd f32 s", "speed-up f32",
        "sklearn f64 s", "retrograd f64 s", "speed-up f64",
        "default vs default",
    ]  # fmt: skip
    print(h.markdown_table(header, rows, align="lllrrrrrrr"))
    if ceiling:
        header = [
            "data", "solver", "batch",
            "numpy f32 s", "sklearn / numpy f32", "retrograd / numpy f32",
            "numpy f64 s", "sklearn / numpy f64", "retrograd / numpy f64",
            "sklearn f64 / numpy f32",
        ]  # fmt: skip
        print("\nThe hand-written NumPy loop (numpy_fit): its time, and the others' time over it\n")
        print(h.markdown_table(header, ceiling, align="lllrrrrrrr"))


def _ratios(a: list[float], b: list[float]) -> h.Stats:
    """Stats of the per-round ratios a / b (processes of the same round paired)."""
    return h.Stats.of([x / y for x, y in zip(a, b, strict=True)])


if __name__ == "__main__":
    main()
