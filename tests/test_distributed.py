"""retrograd.distributed: data-parallel training over MPI equals single-process training.

The multi-rank tests launch ``mpiexec`` (from the mpich wheel that ``retrograd[mpi]``
installs next to the interpreter, else from PATH) on this very file, whose
``__main__`` holds the workers. ``mpiexec`` starts slowly, so each launch checks
several things at once; every launch has a timeout, so a hang fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

HERE = Path(__file__).resolve()
TIMEOUT = 60  # seconds for one mpiexec launch; a hang fails instead of blocking CI

# The equivalence problem: 120 rows, global batch 12 (divisible by 2 and 3), 5 epochs = 50 steps.
N_ROWS, N_FEATURES, N_CLASSES, GLOBAL_BATCH, EPOCHS = 120, 10, 3, 12, 5


def find_mpiexec() -> str | None:
    """The mpiexec beside this interpreter (the mpich wheel puts it there), else on PATH."""
    for directory in (Path(sys.executable).parent, Path(sys.prefix) / "bin"):
        candidate = directory / "mpiexec"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("mpiexec")


def _has_mpi4py() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("mpi4py") is not None
    except ImportError:  # pragma: no cover
        return False


MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or not _has_mpi4py(),
    reason="needs mpi4py and mpiexec: pip install 'retrograd[mpi]'",
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"  # one BLAS thread per rank: the ranks share the cores
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent.parent / "src"), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    # Ranks waiting in a collective yield the core instead of spinning on it (2-core CI).
    env.setdefault("MPIR_CVAR_CH4_PROGRESS_THROTTLE", "1")
    return env


def mpirun(n: int, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``python <args>`` on ``n`` ranks; fail the test on a timeout (a hang)."""
    assert MPIEXEC is not None
    cmd = [MPIEXEC, "-n", str(n), sys.executable, *args]
    try:
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_env(),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} did not finish in {timeout} s (a hang?)\n{e.stderr}")


# ---------------------------------------------------------------- the problem


def _problem():
    import retrograd as rg
    from retrograd import nn

    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, N_FEATURES))
    y = (X[:, :3] @ rng.normal(size=(3, 1))).ravel()
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])).astype(np.int64)
    rg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(N_FEATURES, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, N_CLASSES)
    )
    for p in model.parameters():
        p.array = p.array.astype(np.float64)
    return model, rg.data.TensorDataset(rg.tensor(X), rg.tensor(labels))


def _train(num_replicas: int, rank: int, distributed: bool):
    """50 steps of Adam on this rank's shards; the model and history."""
    from retrograd import distributed as dist
    from retrograd import fit, nn, optim
    from retrograd.data import DataLoader

    model, data = _problem()
    if distributed and rank != 0:  # rank 0's weights must win: make the others differ
        for p in model.parameters():
            p.array = p.array + 1.0
    sampler = dist.DistributedSampler(data, num_replicas=num_replicas, rank=rank, seed=3)
    loader = DataLoader(data, batch_size=GLOBAL_BATCH // num_replicas, sampler=sampler)
    opt = optim.Adam(model.parameters(), lr=0.01)
    history = fit(
        model, nn.CrossEntropyLoss(), opt, loader, max_epochs=EPOCHS, n_iter_no_change=None,
        metric="accuracy", progress=False, distributed=distributed,
    )  # fmt: skip
    return model, history


class _CountingComm:
    """An mpi4py communicator that counts the calls of each method."""

    def __init__(self, comm):
        self._comm, self.calls = comm, {}

    def __getattr__(self, name):
        method = getattr(self._comm, name)

        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted


def _worker_equivalence(out: str) -> None:
    from retrograd import distributed as dist

    dist.init()
    counting = dist._world.comm = _CountingComm(dist._world.comm)
    model, history = _train(dist.world_size(), dist.rank(), True)
    calls = dict(counting.calls)
    sums = dist.all_gather_object(dist.parameters_checksum(model))
    if dist.is_main():
        np.savez(out, *[p.array for p in model.parameters()])
        info = {"checksums": sums, "history": history.to_dict()["records"], "calls": calls}
        Path(out + ".json").write_text(json.dumps(info))


def _worker_failure(mode: str) -> None:
    """Rank 1 fails at epoch 2 (``raise``, ``kill``) or sees NaN inputs (``nan``)."""
    import signal

    from retrograd import distributed as dist
    from retrograd import fit, nn, optim
    from retrograd.data import DataLoader

    dist.init()
    model, data = _problem()
    if mode == "nan" and dist.rank() == 1:
        data.tensors[0].array[:] = np.nan

    def fail(epoch, record, model):
        if epoch == 2 and dist.rank() == 1:
            if mode == "raise":
                raise RuntimeError("rank 1 fails on purpose")
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)

    sampler = dist.DistributedSampler(data, seed=3)
    loader = DataLoader(data, batch_size=GLOBAL_BATCH // dist.world_size(), sampler=sampler)
    fit(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader,
        max_epochs=50, n_iter_no_change=None, progress=False, callbacks=[fail],
    )  # fmt: skip
    print("finished", dist.rank(), flush=True)


def _worker_average(out: str) -> None:
    """Each rank backpropagates its uneven share of 7 rows; the strategy averages."""
    from retrograd import distributed as dist
    from retrograd import nn

    model, data = _problem()
    X, y = data.tensors[0][:7], data.tensors[1][:7]
    loss_fn = nn.CrossEntropyLoss()
    whole = loss_fn(model(X), y)  # the reference: one process, every row
    whole.backward()
    want = [p.grad.array.copy() for p in model.parameters()]
    model.zero_grad()
    # No init() before: the strategy joins the job before it asks for this rank (a regression:
    # fit once read is_main() before init(), so every rank printed and wrote checkpoints).
    strategy, module = dist.strategy_for(model, [None], distributed=True)
    rows = np.array_split(np.arange(7), dist.world_size())[dist.rank()]
    loss = loss_fn(module(X[rows]), y[rows])
    loss.backward()
    step = strategy.after_backward(float(loss.array), len(rows))
    error = max(
        float(np.max(np.abs(p.grad.array - w)) / np.max(np.abs(w)))
        for p, w in zip(model.parameters(), want, strict=True)
    )
    pred, _ = strategy.gather(np.array([dist.rank()]), np.array([len(rows)]))
    info = {
        "rows": len(rows),
        "error": error,
        "loss": step.loss,
        "want_loss": float(whole.array),
        "batch_size": step.batch_size,
        "all_finite": strategy.all_finite(step, list(model.parameters())),
        "gathered": pred.tolist(),
        "agreed": strategy.agree(dist.rank()),
        "is_main": strategy.is_main,
        "can_roll_back": strategy.can_roll_back,
    }
    infos = dist.all_gather_object(info)
    if dist.is_main():
        Path(out).write_text(json.dumps(infos))


# The global-batch problem: 202 training rows in global batches of 40, so the last batch has
# 2 rows (one of 3 ranks gets none); BatchNorm and dropout on; float64 throughout. (No bias before
# BatchNorm: its gradient is 0 up to rounding, which Adam would scale up to whole steps.)
N_ODD, BATCH_ODD, N_VAL = 202, 40, 31


def _to64(model, dtype=np.float64):
    for t in [*model.parameters(), *model.buffers()]:
        if t.array.dtype.kind == "f":
            t.array = t.array.astype(dtype)
    return model


def _odd_problem(dropout: float = 0.3, sync: bool = False, dtype=np.float64, norm: bool = True):
    import retrograd as rg
    from retrograd import nn

    rng = np.random.default_rng(1)
    X = rng.normal(size=(N_ODD + N_VAL, N_FEATURES))
    labels = (X[:, 0] + X[:, 1] ** 2 > 1).astype(np.int64) + (X[:, 2] > 0.5)
    rg.manual_seed(5)
    if norm:
        first = [nn.Linear(N_FEATURES, 16, bias=False), nn.BatchNorm1d(16)]
    else:  # the layers that capture replays: Linear, Tanh, ReLU, Dropout
        first = [nn.Linear(N_FEATURES, 16), nn.Tanh(), nn.Linear(16, 16)]
    model = nn.Sequential(*first, nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, N_CLASSES))
    if sync:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    X = X.astype(dtype)
    train = rg.data.TensorDataset(rg.tensor(X[:N_ODD]), rg.tensor(labels[:N_ODD]))
    val = (rg.tensor(X[N_ODD:]), rg.tensor(labels[N_ODD:]))
    return _to64(model, dtype), train, val


def _fit_global(
    distributed: bool,
    dtype=np.float64,
    norm: bool = True,
    capture: bool = True,
    plain_bn: bool = False,
):
    """``fit`` on global batches: every process iterates the same shuffled loader.

    ``plain_bn`` keeps BatchNorm1d under MPI (each rank's own batch statistics), and drops
    the last batch, whose 2 rows would leave a rank with one.
    """
    from retrograd import fit, nn, optim
    from retrograd.data import DataLoader

    model, train, val = _odd_problem(sync=distributed and not plain_bn, dtype=dtype, norm=norm)
    loader = DataLoader(train, batch_size=BATCH_ODD, shuffle=True, drop_last=plain_bn)
    history = fit(
        model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), loader, [val],
        max_epochs=4, n_iter_no_change=None, metric="accuracy", progress=False,
        distributed=distributed, capture=capture,
    )  # fmt: skip
    return model, history


def _record_train_steps() -> list:
    """Make ``fit``'s TrainStep record itself here, to tell replayed steps from eager ones."""
    from retrograd import training

    made = []

    class Recorded(training.TrainStep):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    training.TrainStep = Recorded
    return made


def _counts(step) -> dict:
    return {k: getattr(step, k) for k in ("captures", "replays", "eager_steps", "reason")}


def _ddp_loop(distributed: bool, explicit: bool = False):
    """A PyTorch-style loop: each rank its rows of every micro-batch, two micro-batches
    accumulated per step (the first, forward and backward, under no_sync); backward averages.

    With ``explicit`` it also calls ``sync_gradients()`` after the last backward, as loops
    written before backward averaged did: the gradients must not be averaged twice.
    """
    from retrograd import distributed as dist
    from retrograd import nn, optim

    model, train, _ = _odd_problem(dropout=0.0, sync=distributed)
    ddp = dist.DistributedDataParallel(model) if distributed else model
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    X, y = train.tensors
    size, rank = (dist.world_size(), dist.rank()) if distributed else (1, 0)
    for step in range(6):
        opt.zero_grad()
        for micro in range(2):
            base = (2 * step + micro) * 15
            start, stop = dist.shard_bounds(15, size, rank)
            rows = slice(base + start, base + stop)
            if distributed and micro == 0:
                with ddp.no_sync():
                    loss_fn(ddp(X[rows]), y[rows]).backward()
            else:
                loss_fn(ddp(X[rows]), y[rows]).backward()
        if distributed and explicit:
            ddp.sync_gradients()
        opt.step()
    return model


def _ddp_full_batch(distributed: bool):
    """``model = DDP(model); loss.backward(); opt.step()``: on K ranks each its rows of a
    global batch of 25 (split unevenly), against one process on the whole batch."""
    from retrograd import distributed as dist
    from retrograd import nn, optim

    model, train, _ = _odd_problem(dropout=0.0, sync=distributed)
    if distributed:
        model = dist.DistributedDataParallel(model)
    opt = optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    X, y = train.tensors
    size, rank = (dist.world_size(), dist.rank()) if distributed else (1, 0)
    for step in range(8):
        start, stop = dist.shard_bounds(25, size, rank)
        rows = slice(25 * step + start, 25 * step + stop)
        opt.zero_grad()
        loss = loss_fn(model(X[rows]), y[rows])
        loss.backward()
        opt.step()
    return model.module if distributed else model


def _state(model) -> list[np.ndarray]:
    return [t.array for t in (*model.parameters(), *model.buffers())]


def _worker_global(out: str) -> None:
    from retrograd import distributed as dist

    dist.init()
    steps = _record_train_steps()
    model, history = _fit_global(True)
    model32, _ = _fit_global(True, np.float32)
    loops = {
        "loop": _ddp_loop(True),
        "explicit": _ddp_loop(True, explicit=True),
        "full": _ddp_full_batch(True),
    }
    sums = dist.all_gather_object([dist.parameters_checksum(m) for m in (model, *loops.values())])
    if dist.is_main():
        np.savez(out, *_state(model))
        np.savez(out + ".32.npz", *_state(model32))
        for name, m in loops.items():
            np.savez(out + f".{name}.npz", *_state(m))
        info = {"checksums": sums, "history": history.to_dict()["records"]}
        info["steps"] = _counts(steps[0])
        Path(out + ".json").write_text(json.dumps(info))


def _worker_captured(out: str) -> None:
    """``fit`` of a model that capture replays: captured and eager, float64 and float32."""
    from retrograd import distributed as dist

    dist.init()
    steps = _record_train_steps()
    runs = {
        "captured": _fit_global(True, norm=False),
        "eager": _fit_global(True, norm=False, capture=False),
        "captured32": _fit_global(True, np.float32, norm=False),
        "bn": _fit_global(True, plain_bn=True),  # BatchNorm1d, not SyncBatchNorm: captured
        "bn_eager": _fit_global(True, plain_bn=True, capture=False),
    }
    counts = dist.all_gather_object([_counts(s) for s in steps])
    sums = dist.all_gather_object([dist.parameters_checksum(m) for m, _ in runs.values()])
    if dist.is_main():
        for name, (model, _) in runs.items():
            np.savez(out + f".{name}.npz", *_state(model))
        history = {name: h.to_dict()["records"] for name, (_, h) in runs.items()}
        info = {"checksums": sums, "counts": counts, "history": history}
        Path(out + ".json").write_text(json.dumps(info))


def _worker_cli(mode: str, *args: str) -> None:
    """``retrograd <args>`` in this process; rank 1 fails as ``mode`` says."""
    import signal

    from retrograd import optim
    from retrograd.cli import main

    argv = list(args)
    if os.environ.get("PMI_RANK") == "1":
        if mode == "usage":
            argv.append("--bogus")
        elif mode == "options":
            argv += ["--epochs", "3"]
        elif mode in ("raise", "value", "kill", "stop"):  # at the 7th step: epoch 2, mid-epoch
            original, calls = optim.Adam.step, []

            def step(self, *a, **k):
                calls.append(1)
                if len(calls) == 7:
                    if mode in ("raise", "value"):  # the CLI turns a ValueError into a message
                        kind = RuntimeError if mode == "raise" else ValueError
                        raise kind("rank 1 fails on purpose")
                    os.kill(os.getpid(), signal.SIGKILL if mode == "kill" else signal.SIGSTOP)
                return original(self, *a, **k)

            optim.Adam.step = step
    main(argv, prog_name="retrograd")


# ---------------------------------------------------------------- workers run by mpiexec

WORKERS = {
    "average": _worker_average,
    "captured": _worker_captured,
    "cli": _worker_cli,
    "equivalence": _worker_equivalence,
    "failure": _worker_failure,
    "global": _worker_global,
}

if __name__ == "__main__":
    WORKERS[sys.argv[1]](*sys.argv[2:])
    sys.exit(0)


# ---------------------------------------------------------------- tests


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_equivalence_with_a_single_process(n, tmp_path):
    out = str(tmp_path / f"params{n}.npz")
    proc = mpirun(n, str(HERE), "equivalence", out)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(Path(out + ".json").read_text())
    assert len(info["checksums"]) == n
    assert len(set(info["checksums"])) == 1, "the replicas drifted apart"
    # One Allreduce per step (50 steps); per epoch only small pickled messages.
    assert info["calls"]["Iallreduce"] == EPOCHS * N_ROWS // GLOBAL_BATCH == 50
    assert "Allreduce" not in info["calls"] and "bcast" not in info["calls"]  # all with deadlines
    ref_model, ref_history = _train(1, 0, False)
    got = np.load(out)
    ref = [p.array for p in ref_model.parameters()]
    assert len(got.files) == len(ref)
    for i, r in enumerate(ref):
        np.testing.assert_allclose(got[f"arr_{i}"], r, rtol=1e-6, atol=1e-12)
    for a, b in zip(info["history"], ref_history.records, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-9)
        assert a["train_metric"] == pytest.approx(b["train_metric"], rel=1e-12)


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_global_batches_train_the_single_process_model(n, tmp_path):
    """fit and a hand-written DDP loop on K ranks equal one process: uneven last batch,
    SyncBatchNorm, dropout, sharded validation; float64 to 1e-12, float32 to 1e-5."""
    out = str(tmp_path / "global.npz")
    proc = mpirun(n, str(HERE), "global", out)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(Path(out + ".json").read_text())
    assert len(info["checksums"]) == n and len(set(map(tuple, info["checksums"]))) == 1
    # capture is on, and SyncBatchNorm sends fit's steps to the eager engine (no collective
    # is captured), on every step
    assert info["steps"]["replays"] == 0 and info["steps"]["eager_steps"] == 4 * 6
    assert info["steps"]["reason"] == "SyncBatchNorm is not captured"
    ref_model, ref_history = _fit_global(False)
    got = np.load(out)
    for i, want in enumerate(_state(ref_model)):  # weights and BatchNorm's running statistics
        np.testing.assert_allclose(got[f"arr_{i}"], want, rtol=1e-12, atol=1e-14)
    for a, b in zip(info["history"], ref_history.records, strict=True):
        for key in ("train_loss", "val_loss", "train_metric", "val_metric"):
            assert a[key] == pytest.approx(b[key], rel=1e-12), key
    got32 = np.load(out + ".32.npz")  # float32: 1e-5 relative (norm of each tensor)
    for i, want in enumerate(_state(_fit_global(False, np.float32)[0])):
        got = got32[f"arr_{i}"]
        assert got.dtype == want.dtype
        if want.dtype.kind == "f":
            assert np.linalg.norm(got - want) <= 1e-5 * np.linalg.norm(want), i
    # Hand-written PyTorch-style loops: backward averages (once, even with an explicit
    # sync_gradients after it), no_sync accumulates, the whole batch in one process.
    for name, ref in [
        ("loop", _ddp_loop(False)),
        ("explicit", _ddp_loop(False)),
        ("full", _ddp_full_batch(False)),
    ]:
        loop = np.load(out + f".{name}.npz")
        for i, want in enumerate(_state(ref)):
            np.testing.assert_allclose(loop[f"arr_{i}"], want, rtol=1e-12, atol=1e-14, err_msg=name)


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_fit_replays_the_captured_step_on_every_rank(n, tmp_path):
    """Distributed fit replays capture's kernels (dropout on, the last batch split unevenly, one
    of 3 ranks without rows) and trains one process's model; capture=False trains the same,
    bit for bit, also with plain BatchNorm1d (rank-local statistics, running ones averaged)."""
    out = str(tmp_path / "captured")
    proc = mpirun(n, str(HERE), "captured", out)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(Path(out + ".json").read_text())
    assert all(len(set(sums)) == 1 for sums in zip(*info["checksums"], strict=True))
    steps = 4 * 6  # 4 epochs of 202 rows in batches of 40
    for rank, (captured, eager, captured32, bn, bn_eager) in enumerate(info["counts"]):
        # two shapes: the share of 40 rows and of the last batch's 2 (none on rank 2 of 3)
        empty = n == 3 and rank == 2
        assert captured["captures"] == (1 if empty else 2), (rank, captured)
        assert captured["replays"] == steps - 4 * empty, (rank, captured)
        assert captured["eager_steps"] == 4 * empty, (rank, captured)
        assert captured32["replays"] == captured["replays"], rank
        assert eager["replays"] == 0 and eager["eager_steps"] == steps, rank
        assert bn["replays"] == 4 * 5 and bn_eager["eager_steps"] == 4 * 5, (rank, bn)
    ref_model, ref_history = _fit_global(False, norm=False)
    for name in ("captured", "eager"):
        got = np.load(out + f".{name}.npz")
        for i, want in enumerate(_state(ref_model)):
            np.testing.assert_allclose(got[f"arr_{i}"], want, rtol=1e-12, atol=1e-14, err_msg=name)
        for a, b in zip(info["history"][name], ref_history.records, strict=True):
            for key in ("train_loss", "val_loss", "train_metric", "val_metric"):
                assert a[key] == pytest.approx(b[key], rel=1e-12), (name, key)
    # replay equals eager bit for bit, with the gradients written into DDP's buffer
    for a, b in (("captured", "eager"), ("bn", "bn_eager")):
        captured, eager = np.load(out + f".{a}.npz"), np.load(out + f".{b}.npz")
        assert len(captured.files) == (8 if a == "bn" else 6)  # BatchNorm: its 3 buffers
        for key in captured.files:
            np.testing.assert_array_equal(captured[key], eager[key], err_msg=f"{a}: {key}")
    got32 = np.load(out + ".captured32.npz")
    for i, want in enumerate(_state(_fit_global(False, np.float32, norm=False)[0])):
        got = got32[f"arr_{i}"]
        assert got.dtype == want.dtype == np.float32
        assert np.linalg.norm(got - want) <= 1e-5 * np.linalg.norm(want), i


def _docs_loop_script(tmp_path: Path) -> Path:
    """docs/distributed.md's hand-written loop, then rank 0 saves the weights."""
    text = (HERE.parent.parent / "docs" / "distributed.md").read_text()
    start = text.index("### A loop written by hand")
    (block,) = re.findall(
        r"```python\n(.+?)```", text[start : text.index("\n### ", start + 1)], re.S
    )
    script = tmp_path / "loop.py"
    script.write_text(
        block + "\nif dist.is_main():\n"
        "    np.savez(__import__('sys').argv[1], *[p.detach().numpy() for p in net.parameters()])\n"
    )
    return script


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_docs_hand_written_ddp_loop_equals_one_process(n, tmp_path):
    """The PyTorch-style loop of docs/distributed.md: K ranks train one process's weights."""
    script = _docs_loop_script(tmp_path)
    one = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "one.npz")],
        capture_output=True, text=True, timeout=TIMEOUT, env=_env(),
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    proc = mpirun(n, str(script), str(tmp_path / "many.npz"))
    assert proc.returncode == 0, proc.stderr
    want, got = np.load(tmp_path / "one.npz"), np.load(tmp_path / "many.npz")
    assert len(want.files) == 4
    for key in want.files:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-14)


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_mpi_strategy_averages_uneven_shards_to_the_single_process_gradient(n, tmp_path):
    out = tmp_path / "average.json"
    proc = mpirun(n, str(HERE), "average", str(out))
    assert proc.returncode == 0, proc.stderr
    infos = json.loads(out.read_text())
    assert [i["rows"] for i in infos] == [len(r) for r in np.array_split(np.arange(7), n)]
    for rank, info in enumerate(infos):
        assert info["error"] < 1e-13, (rank, info)  # weighted by rows: the global mean's gradient
        assert info["loss"] == pytest.approx(info["want_loss"], rel=1e-13)
        assert info["batch_size"] == 7 and info["all_finite"]
        assert info["gathered"] == list(range(n))  # every rank's part, in rank order
        assert info["agreed"] == 0  # rank 0's value everywhere
        assert info["is_main"] == (rank == 0) and info["can_roll_back"] is False


@needs_mpi
def test_a_failing_rank_stops_the_job_with_its_message():
    # An exception on one rank: its traceback, prefixed by the rank, then MPI_Abort.
    proc = mpirun(2, str(HERE), "failure", "raise")
    assert proc.returncode != 0
    assert "rank 1 of 2" in proc.stderr and "rank 1 fails on purpose" in proc.stderr
    assert "finished" not in proc.stdout
    # NaN on one rank: every rank stops at the same step, naming the failing rank.
    proc = mpirun(2, str(HERE), "failure", "nan")
    assert proc.returncode != 0
    assert "training diverged at epoch 1, batch 1 on rank 1 of 2" in proc.stderr
    # A killed rank: the launcher ends the others.
    proc = mpirun(2, str(HERE), "failure", "kill")
    assert proc.returncode != 0
    assert "finished" not in proc.stdout


# ---------------------------------------------------------------- the command line


def _cli(n: int, tmp_path: Path, *args: str, timeout: float = TIMEOUT):
    """``retrograd <args>`` on ``n`` ranks: rank 0 in tmp_path/rank0, the others in tmp_path/other."""
    rank0, other = tmp_path / "rank0", tmp_path / "other"
    rank0.mkdir(exist_ok=True)
    other.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "retrograd", *args]
    spec = ["-n", "1", "-wdir", str(rank0), *cmd]
    if n > 1:
        spec += [":", "-n", str(n - 1), "-wdir", str(other), *cmd]
    assert MPIEXEC is not None
    try:
        return subprocess.run(
            [MPIEXEC, *spec], capture_output=True, text=True, timeout=timeout, env=_env(),
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"mpiexec {' '.join(spec)} did not finish in {timeout} s\n{e.stderr}")


# 1,344 training rows (--test-split 0.252) in global batches of 25: the last has 19 rows, which
# 2 and 3 ranks split unevenly; dropout on.
TRAIN_ARGS = (
    "train", "--hidden", "32", "--epochs", "4", "--batch-size", "25", "--test-split", "0.252",
    "--dropout", "0.2",
)  # fmt: skip


def _weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))


@needs_mpi
def test_cli_under_mpiexec_rank0_writes_and_n_to_m_resume(tmp_path):
    proc = _cli(2, tmp_path, *TRAIN_ARGS, "--out", "run", "--stop-after", "2", "-q")
    assert proc.returncode == 130, proc.stderr
    assert proc.stdout.count("stop reason: interrupted") == 1  # one summary: rank 0's
    assert proc.stderr.count("continue it with: retrograd train --resume run") == 1
    assert list((tmp_path / "other").iterdir()) == []  # rank 1 wrote nothing
    run = tmp_path / "rank0" / "run"
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"

    proc = _cli(3, tmp_path, "train", "--resume", "run", "-q")  # checkpoint of 2 ranks, on 3
    assert proc.returncode == 0, proc.stderr
    assert list((tmp_path / "other").iterdir()) == []  # rank 0 read and sent the checkpoint
    assert proc.stdout.count("stop reason: max_epochs") == 1
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["world_size"] == 3 and metrics["n_train"] == 1344
    assert json.loads((run / "run.json").read_text())["world_sizes"] == [2, 3]

    # Two epochs on 2 ranks, two on 3: the model of the plain command, to float32 rounding.
    from click.testing import CliRunner

    from retrograd.cli import main

    single = tmp_path / "single"
    result = CliRunner().invoke(main, [*TRAIN_ARGS, "--out", str(single), "-q"])
    assert result.exit_code == 0, result.output
    want, got = _weights(single), _weights(run)
    for name, w in want.items():
        error = np.linalg.norm(got[name] - w) / np.linalg.norm(w)
        assert error < 1e-5, (name, error)
    ref = json.loads((single / "metrics.json").read_text())
    np.testing.assert_allclose(
        [r["train_loss"] for r in metrics["history"]],
        [r["train_loss"] for r in ref["history"]],
        rtol=1e-5,
    )
    # --no-capture: every rank eager (the runs above replay captured steps), the same model
    proc = _cli(2, tmp_path, *TRAIN_ARGS, "--out", "eager", "--no-capture", "-q")
    assert proc.returncode == 0, proc.stderr
    got = _weights(tmp_path / "rank0" / "eager")
    for name, w in want.items():
        assert np.linalg.norm(got[name] - w) < 1e-5 * np.linalg.norm(w), name

    # A diverging run: one message (rank 0's), status 1, no hang.
    proc = _cli(
        2, tmp_path, *TRAIN_ARGS, "--out", "nan", "--optimizer", "sgd", "--lr", "1e30", "-q"
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("Error: training diverged at epoch 1") == 1
    assert list((tmp_path / "other").iterdir()) == []


FAULT_ARGS = ("train", "--data", "wine", "--hidden", "8", "--epochs", "4", "-q")


@needs_mpi
def test_a_rank_that_fails_stops_every_rank_within_seconds(tmp_path):
    """Usage error, other options, exceptions, kill, stall on rank 1 of 2: the job ends soon,
    non-zero, naming the rank and the cause; the run folder resumes."""
    import time

    from click.testing import CliRunner

    from retrograd.cli import main

    cases = {
        "usage": ("No such option '--bogus'", "rank 1 of 2: exited with status 2"),
        "options": ("the ranks disagree on --epochs: rank 1 has 3, rank 0 has 4",),
        "raise": ("rank 1 of 2", "RuntimeError: rank 1 fails on purpose"),
        "value": ("rank 1 of 2: Error: rank 1 fails on purpose",),
        "kill": ("BAD TERMINATION", "EXIT CODE: 9"),  # mpiexec names the pid: see run.json
        "stop": ("waited 2 s for rank(s) 1, which did not reach it",),
    }
    for mode, messages in cases.items():
        out = tmp_path / mode
        args = [*FAULT_ARGS, "--out", str(out), "--timeout", "2"]
        started = time.monotonic()
        proc = mpirun(2, str(HERE), "cli", mode, *args, timeout=40)
        seconds = time.monotonic() - started
        said = proc.stdout + proc.stderr
        assert proc.returncode != 0, (mode, said)
        for message in messages:
            assert message in said, (mode, said)
        if mode == "kill":  # run.json says which process was rank 1
            ranks = json.loads((out / "run.json").read_text())["ranks"]
            assert f"PID {ranks[1]['pid']} " in said, (ranks, said)
        assert seconds < 25, (mode, seconds)  # startup (a few s), the 2 s deadline, the abort
        if mode in ("raise", "value", "kill", "stop"):  # epoch 1 was saved: the run continues
            assert (out / "checkpoint.safetensors").is_file(), mode
    result = CliRunner().invoke(main, ["train", "--resume", str(tmp_path / "raise"), "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "raise" / "run.json").read_text())["status"] == "finished"


# ---------------------------------------------------------------- the sampler


@given(
    n=st.integers(1, 60),
    world=st.integers(1, 7),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**16),
    epoch=st.integers(0, 3),
    local_batch=st.integers(1, 5),
)
def test_sampler_shards(n, world, drop_last, seed, epoch, local_batch):
    from retrograd.distributed import DistributedSampler

    data = list(range(n))
    if drop_last and n < world:
        with pytest.raises(ValueError, match="cannot give each"):
            DistributedSampler(data, world, 0, drop_last=True)
        return
    samplers = [
        DistributedSampler(data, world, r, seed=seed, drop_last=drop_last) for r in range(world)
    ]
    for s in samplers:
        s.set_epoch(epoch)
    shards = [list(s) for s in samplers]
    order = samplers[0].global_order()
    # One permutation for every world size: the order of a single process, padded or cut.
    alone = DistributedSampler(data, 1, 0, seed=seed)
    alone.set_epoch(epoch)
    perm = alone.global_order()
    assert sorted(perm.tolist()) == data
    m = min(n, len(order))
    assert order[:m].tolist() == perm[:m].tolist()
    # Equal shards, padding or dropping stated.
    assert {len(sh) for sh in shards} == {samplers[0].num_samples}
    total = samplers[0].total_size
    assert total == world * samplers[0].num_samples
    if drop_last:
        assert samplers[0].num_padded == 0 and samplers[0].num_dropped == n - total < world
    else:
        assert samplers[0].num_dropped == 0 and samplers[0].num_padded == total - n < world
    # Disjoint shards (by position in the order) that together are the order.
    positions = sorted(r + world * j for r in range(world) for j in range(len(shards[r])))
    assert positions == list(range(total))
    for r, sh in enumerate(shards):
        assert sh == order[r::world].tolist()
    if drop_last or total == n:
        assert len(set().union(*map(set, shards))) == total  # no sample twice
    # Step k of the job trains on positions k*b*N .. (k+1)*b*N - 1 of the order.
    for k in range(-(-samplers[0].num_samples // local_batch)):
        step = sorted(i for sh in shards for i in sh[k * local_batch : (k + 1) * local_batch])
        chunk = order[k * local_batch * world : (k + 1) * local_batch * world]
        assert step == sorted(chunk.tolist())


def test_sampler_errors_and_no_shuffle():
    from retrograd.distributed import DistributedSampler

    with pytest.raises(ValueError, match="rank 2 is out of range for 2 ranks"):
        DistributedSampler(range(10), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be an int >= 1"):
        DistributedSampler(range(10), num_replicas=0, rank=0)
    s = DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
    assert list(s) == [1, 3, 0] and s.num_padded == 1  # sample 0 repeated, said so
    assert "num_padded=1" in repr(s)


# ---------------------------------------------------------------- one process, no MPI


def test_world_of_one_without_mpi(monkeypatch):
    import retrograd
    from retrograd import distributed as dist
    from retrograd import pipeline

    for var in dist.LAUNCH_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if not installed
    monkeypatch.setattr(dist, "_world", None)
    assert not dist.launched_by_mpi()
    assert dist.init() == 1
    assert (dist.rank(), dist.world_size(), dist.is_main()) == (0, 1, True)
    dist.barrier()
    assert dist.broadcast_object("x") == "x" and dist.all_gather_object(3) == [3]
    result = pipeline.train("iris", hidden=(8,), epochs=3, distributed=True, quiet=True)
    assert result.metrics["world_size"] == 1 and result.history.n_epochs == 3
    assert retrograd.distributed is dist

    monkeypatch.setattr(dist, "_world", None)
    with pytest.raises(
        RuntimeError, match=r"mpi4py is missing; install it with: pip install 'retrograd\[mpi\]'"
    ):
        dist.init(mpi=True)
    monkeypatch.setenv("PMI_RANK", "0")
    with pytest.raises(RuntimeError, match="started by an MPI launcher \\(PMI_RANK is set\\)"):
        dist.init()


# ---------------------------------------------------------------- the strategies in one process


def test_strategy_for_picks_local_unless_distributed(monkeypatch):
    from retrograd import distributed as dist

    for var in dist.LAUNCH_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(dist, "_world", None)
    model, _ = _problem()
    strategy, module = dist.strategy_for(model, [], None)
    assert isinstance(strategy, dist.LocalStrategy) and module is model
    strategy, module = dist.strategy_for(model, [], True)  # a world of one, through DDP
    assert isinstance(strategy, dist.MPIStrategy) and module is model
    assert strategy.can_roll_back and strategy.is_main and strategy.world_size == 1
    ddp = dist.DistributedDataParallel(model)
    strategy, module = dist.strategy_for(ddp, [], None)  # a wrapped model: that wrapper
    assert isinstance(strategy, dist.MPIStrategy) and strategy.ddp is ddp and module is model


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_local_strategy_finiteness_rule():
    import retrograd as rg
    from retrograd import distributed as dist

    local = dist.LocalStrategy([])
    a, b = rg.zeros(2), rg.zeros(2)
    a.grad, b.grad = rg.tensor([1.0, 2.0]), rg.tensor([3.0, 4.0])
    ok = local.after_backward(0.5, 4)
    assert (ok.loss, ok.batch_size, ok.nonfinite_ranks) == (0.5, 4, [])
    assert local.all_finite(ok, [a, b])
    assert not local.all_finite(local.after_backward(float("nan"), 4), [a, b])
    b.grad = rg.tensor([3.0, float("inf")])
    assert not local.all_finite(ok, [a, b])
    # Finite gradients whose float32 sum of squares overflows are finite: the sum of squares
    # (one BLAS dot) is only a quick test, and each entry is checked when it fails.
    b.grad = rg.tensor(np.array([1e20, -1e20], dtype=np.float32))
    assert np.isinf(np.vdot(b.grad.array, b.grad.array))
    assert local.all_finite(ok, [a, b])
    b.grad = rg.tensor(np.array([1e20, -np.inf], dtype=np.float32))
    assert not local.all_finite(ok, [a, b])
    # A Fortran-ordered gradient (capture's transposed first weight), checked in place.
    f = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    b.grad = rg.from_numpy(f)
    assert local.all_finite(ok, [a, b])
    f[2, 1] = np.nan
    assert not local.all_finite(ok, [a, b])


def test_local_strategy_sets_the_samplers_epoch_and_sends_nothing():
    from retrograd import distributed as dist
    from retrograd.data import DataLoader

    _, data = _problem()
    sampler = dist.DistributedSampler(data, num_replicas=1, rank=0, seed=3)
    local = dist.LocalStrategy(DataLoader(data, batch_size=8, sampler=sampler))
    local.begin_epoch(3)
    assert sampler.epoch == 2  # fit's epochs count from 1, the sampler's from 0
    pred, true = np.arange(3), np.arange(3, 6)
    assert local.gather(pred, true) == (pred, true)
    assert local.agree("x") == "x" and local.run_on_main(lambda: 7) == 7


def test_import_retrograd_does_not_import_mpi4py():
    code = "import sys, retrograd, retrograd.cli; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_distributed_pipeline_in_one_process_is_the_plain_run(monkeypatch):
    """Any global batch size; BatchNorm becomes SyncBatchNorm; the same model bit for bit."""
    from retrograd import distributed as dist
    from retrograd import nn, pipeline

    for var in dist.LAUNCH_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(dist, "_world", None)
    kwargs = dict(hidden=(8,), epochs=3, batch_size=29, dropout=0.2, batch_norm=True, quiet=True)
    plain = pipeline.train("iris", **kwargs)
    alone = pipeline.train("iris", distributed=True, **kwargs)
    assert alone.metrics["world_size"] == 1
    layers = list(alone.model.network.modules())
    assert any(isinstance(m, nn.SyncBatchNorm) for m in layers)
    want = plain.model.network.state_dict()
    for name, t in alone.model.network.state_dict().items():
        np.testing.assert_array_equal(t.array, want[name].array, err_msg=name)


def test_shard_bounds_split_every_batch_as_array_split():
    from retrograd.distributed import shard_bounds

    for n in range(0, 12):
        for size in range(1, 5):
            want = np.array_split(np.arange(n), size)
            got = [shard_bounds(n, size, r) for r in range(size)]
            assert [list(range(*b)) for b in got] == [w.tolist() for w in want]


def test_ddp_no_sync_and_row_counting():
    """World of one: backward averages over the rows of the forward calls since the last one."""
    import retrograd as rg
    from retrograd import distributed as dist
    from retrograd import nn

    model, data = _problem()
    ddp = dist.DistributedDataParallel(model)
    x, y = data.tensors
    ends = []
    original = ddp._on_backward_end
    ddp._on_backward_end = lambda: ends.append(original())
    with ddp.no_sync():
        assert ddp.require_backward_grad_sync is False
        nn.CrossEntropyLoss()(ddp(x[:5]), y[:5]).backward()
    assert ends == [] and ddp.require_backward_grad_sync is True
    loss = nn.CrossEntropyLoss()(ddp(x[5:8]), y[5:8])
    loss.backward()
    assert [e.batch_size for e in ends] == [8]
    # An explicit call after it does not average again; it reduces the loss it is given.
    sync = ddp.sync_gradients(loss=float(loss.array))
    assert sync.batch_size == 8 and sync.loss == pytest.approx(float(loss.array), rel=1e-15)
    assert ddp.sync_gradients().batch_size == 0  # nothing since: a rank with no rows
    # A backward that does not go through the wrapper's output queues nothing.
    sum(p.sum() for p in model.parameters()).backward()
    with rg.no_grad():  # nor does a forward without grad
        ddp(x[:2])
    assert len(ends) == 1


def test_ddp_averages_once_per_backward_pass_and_not_after_a_failed_one():
    """Two outputs in one pass: one averaging; a pass that raised leaves nothing queued."""
    from retrograd import distributed as dist

    model, data = _problem()
    ddp = dist.DistributedDataParallel(model)
    x = data.tensors[0]
    ends = []
    original = ddp._on_backward_end
    ddp._on_backward_end = lambda: ends.append(original())
    a, b = ddp(x[:3]), ddp(x[3:7])
    (a.sum() + b.sum()).backward()
    assert [e.batch_size for e in ends] == [7]
    weight = next(model.parameters())
    handle = weight.register_hook(lambda g: 1 / 0)  # runs after the output's hook
    with pytest.raises(ZeroDivisionError):
        ddp(x[:2]).sum().backward()
    handle.remove()
    ddp(x[:4]).sum().backward()
    assert [e.batch_size for e in ends] == [7, 6]  # the failed pass's rows count in the next


def test_ddp_single_rank_averages_by_batch_size():
    """World of one: sync_gradients is the identity on gradients and reports the batch."""
    import retrograd as rg
    from retrograd import distributed as dist
    from retrograd import nn

    model, data = _problem()
    ddp = dist.DistributedDataParallel(model)
    x, y = data.tensors[0][:7], data.tensors[1][:7]
    loss = nn.CrossEntropyLoss()(ddp(x), y)
    loss.backward()
    before = [p.grad.array.copy() for p in model.parameters()]
    sync = ddp.sync_gradients(7, float(loss.array))
    assert sync.batch_size == 7 and sync.nonfinite_ranks == []
    assert sync.loss == pytest.approx(float(loss.array), rel=1e-15)
    for b, p in zip(before, model.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.array, b, rtol=1e-15)
    assert ddp.bytes_per_step == 8 * (sum(p.array.size for p in model.parameters()) + 3)
    assert isinstance(rg.distributed.parameters_checksum(model), str)


def test_captured_backward_writes_its_gradients_into_the_ddp_buffer():
    """TrainStep(grads=ddp.grad_views()), as distributed fit builds it: the replay's gradients
    are the buffer's views (the averaging copies nothing) and equal the eager backward's."""
    from retrograd import distributed as dist
    from retrograd import nn
    from retrograd.capture import TrainStep

    model, data = _problem()
    ddp = dist.DistributedDataParallel(model)
    x, y = data.tensors[0][:7], data.tensors[1][:7]
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(model(x), y).backward()
    want = [p.grad.array.copy() for p in model.parameters()]
    views = ddp.grad_views()
    assert list(views) == list(model.parameters())
    step = TrainStep(model, loss_fn, grads=views)
    for _ in range(2):
        model.zero_grad()
        loss, _ = step.forward_backward(x, y)
        assert step.reason is None
        for p, w in zip(model.parameters(), want, strict=True):
            assert p.grad.array is views[p]
            np.testing.assert_array_equal(p.grad.array, w)
        assert ddp.sync_gradients(7, float(loss.array)).batch_size == 7
        for p, w in zip(model.parameters(), want, strict=True):
            assert p.grad.array is views[p]  # left in place, bit for bit (a world of one)
            np.testing.assert_array_equal(p.grad.array, w)
    assert step.captures == 1 and step.replays == 2
    # a parameter of another dtype than the buffer's gets no view: it is converted as packed
    mixed, _ = _problem()
    next(mixed.parameters()).array = next(mixed.parameters()).array.astype(np.float32)
    views = dist.DistributedDataParallel(mixed).grad_views()
    assert list(views) == list(mixed.parameters())[1:]


def test_ddp_wraps_a_model_with_plain_batchnorm():
    """Regression: the wrapper kept its list of averaged buffers (plain BatchNorm's running
    statistics) in ``_buffers``, Module's own registry, so building it raised a TypeError."""
    from retrograd import distributed as dist
    from retrograd import nn

    model, train, _ = _odd_problem(sync=False)
    ddp = dist.DistributedDataParallel(model)
    names = [n for n, _ in model.named_buffers()]
    assert [n for n, _ in ddp.named_buffers()] == [f"module.{n}" for n in names]
    assert len(names) == 3  # running_mean, running_var, num_batches_tracked
    X, y = train.tensors
    loss = nn.CrossEntropyLoss()(ddp(X[:8]), y[:8])
    loss.backward()
    mean = model[1].running_mean.numpy().copy()
    assert ddp.sync_gradients(loss=float(loss.array)).batch_size == 8
    np.testing.assert_array_equal(model[1].running_mean.numpy(), mean)  # a world of one


def test_row_sharded_draws_into_out_as_the_whole_batch():
    """The captured dropout draws ``random(shape, out=u)``: rows 3:5 of a 7-row batch get the
    draws one process gives them, and the stream advances by the whole batch's."""
    from retrograd import distributed as dist

    rng, same = np.random.default_rng(3), np.random.default_rng(3)
    sharded = dist._RowShardedRandom(rng)
    sharded.rows, sharded.start, sharded.stop = 7, 3, 5
    for dtype in (np.float32, np.float64, np.float32):
        out = np.empty((2, 4), dtype=dtype)
        assert sharded.random((2, 4), dtype=dtype, out=out) is out
        np.testing.assert_array_equal(out, same.random((7, 4), dtype=dtype)[3:5])
        eager = sharded.random((2, 4), dtype=dtype)  # F.dropout's draw, without out
        np.testing.assert_array_equal(eager, same.random((7, 4), dtype=dtype)[3:5])
    other = np.empty((3, 4))  # not this rank's rows: drawn as asked
    sharded.random((3, 4), out=other)
    np.testing.assert_array_equal(other, same.random((3, 4)))


@pytest.mark.parametrize("kind", ["shuffle", "subset", "drop_last", "batch_sampler", "collate"])
def test_mpi_strategy_fetches_each_ranks_rows_of_every_batch(kind, monkeypatch):
    """Rank r of 3 gets rows shard_bounds(...) of each of the loader's batches, drawn from the
    default generator as the loader draws them; a DataLoader over tensors fetches those alone."""
    import retrograd as rg
    from retrograd import distributed as dist
    from retrograd.data import (
        BatchSampler,
        DataLoader,
        RandomSampler,
        Subset,
        TensorDataset,
        default_collate,
    )

    data = TensorDataset(rg.tensor(np.arange(46.0).reshape(23, 2)), rg.tensor(np.arange(23)))

    def loader():
        if kind == "subset":
            return DataLoader(Subset(data, list(range(3, 20))), batch_size=5, shuffle=True)
        if kind == "batch_sampler":
            return DataLoader(data, batch_sampler=BatchSampler(RandomSampler(data), 4, False))
        if kind == "collate":  # fetched whole, then sliced
            return DataLoader(data, batch_size=5, shuffle=True, collate_fn=default_collate)
        return DataLoader(data, batch_size=5, shuffle=True, drop_last=kind == "drop_last")

    strategy = dist.MPIStrategy(dist.DistributedDataParallel(_problem()[0]), loader())
    assert (dist._tensor_rows(strategy.loader) is None) == (kind == "collate")
    monkeypatch.setattr(dist, "world_size", lambda: 3)
    for r in range(3):
        rg.manual_seed(1)
        want = [dist._rows_of(batch, *dist.shard_bounds(len(batch[1]), 3, r)) for batch in loader()]
        after = rg.rand(3).numpy()
        monkeypatch.setattr(dist, "rank", lambda r=r: r)
        rg.manual_seed(1)
        got = list(strategy.batches(loader()))
        np.testing.assert_array_equal(rg.rand(3).numpy(), after)  # the same draws
        assert len(got) == len(want) > 0
        for g, w in zip(got, want, strict=True):
            for a, b in zip(g, w, strict=True):
                np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_dataloader_takes_a_sampler():
    import retrograd as rg
    from retrograd.data import DataLoader, TensorDataset

    data = TensorDataset(rg.arange(5))
    loader = DataLoader(data, batch_size=2, sampler=[3, 1, 4])
    assert len(loader) == 2
    assert [b[0].tolist() for b in loader] == [[3, 1], [4]]
    with pytest.raises(ValueError, match="sampler and shuffle=True cannot be used together"):
        DataLoader(data, sampler=[0], shuffle=True)
    with pytest.raises(TypeError, match="sampler must be an iterable of indices with __len__"):
        DataLoader(data, sampler=iter([0]))


def test_sync_batchnorm_alone_is_batchnorm_forward_and_backward():
    import copy

    import retrograd as rg
    from retrograd import nn

    rg.manual_seed(0)
    plain = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 3))
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(plain))
    assert isinstance(synced[1], nn.SyncBatchNorm) and type(plain[1]) is nn.BatchNorm1d
    x = rg.tensor(np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32))
    y = rg.tensor(np.arange(9) % 3)
    for model in (plain, synced):
        nn.CrossEntropyLoss()(model(x), y).backward()
    for a, b in zip(plain.state_dict().values(), synced.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.array, b.array)  # weights and running statistics
    for a, b in zip(plain.parameters(), synced.parameters(), strict=True):
        np.testing.assert_array_equal(a.grad.array, b.grad.array)
    no_bias = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(3, affine=False))
    assert isinstance(no_bias, nn.SyncBatchNorm) and no_bias.weight is None
    with pytest.raises(ValueError, match="process_group must be None"):
        nn.SyncBatchNorm(3, process_group="group")
    with pytest.raises(ValueError, match="more than 1 value per channel over all ranks"):
        nn.SyncBatchNorm(3)(rg.zeros(1, 3))


def test_check_consistent_and_sharded_in_one_process():
    from retrograd import distributed as dist

    processes = dist.check_consistent({"--epochs": 4, "the data": "abc"})
    assert processes == [(__import__("socket").gethostname(), os.getpid())]
    assert dist.sharded(lambda r: r * 2, np.arange(5)).tolist() == [0, 2, 4, 6, 8]
    with pytest.raises(ValueError, match="seconds must be a number > 0"):
        dist.set_timeout(0)
