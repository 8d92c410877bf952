"""retrograd.distributed: data-parallel training over MPI equals single-process training.

The multi-rank tests launch ``mpiexec`` (from the mpich wheel that ``retrograd[mpi]``
installs next to the interpreter, else from PATH) on this very file, whose
``__main__`` holds the workers. ``mpiexec`` starts slowly, so each launch checks
several things at once; every launch has a timeout, so a hang fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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
        p.data = p.data.astype(np.float64)
    return model, rg.data.TensorDataset(rg.tensor(X), rg.tensor(labels))


def _train(num_replicas: int, rank: int, distributed: bool):
    """50 steps of Adam on this rank's shards; the model and history."""
    from retrograd import distributed as dist
    from retrograd import fit, nn, optim
    from retrograd.data import DataLoader

    model, data = _problem()
    if distributed and rank != 0:  # rank 0's weights must win: make the others differ
        for p in model.parameters():
            p.data = p.data + 1.0
    sampler = dist.DistributedSampler(data, num_replicas=num_replicas, rank=rank, seed=3)
    loader = DataLoader(data, batch_size=GLOBAL_BATCH // num_replicas, sampler=sampler)
    opt = optim.Adam(model.parameters(), lr=0.01)
    history = fit(
        model, nn.CrossEntropyLoss(), opt, loader, max_epochs=EPOCHS, n_iter_no_change=None,
        metric="accuracy", progress=False, distributed=distributed,
    )  # fmt: skip
    return model, history


def _worker_equivalence(out: str) -> None:
    from retrograd import distributed as dist

    dist.init()
    model, history = _train(dist.world_size(), dist.rank(), True)
    sums = dist.all_gather_object(dist.parameters_checksum(model))
    if dist.is_main():
        np.savez(out, *[p.data for p in model.parameters()])
        Path(out + ".json").write_text(
            json.dumps({"checksums": sums, "history": history.to_dict()["records"]})
        )


# ---------------------------------------------------------------- workers run by mpiexec

WORKERS = {"equivalence": _worker_equivalence}

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
    ref_model, ref_history = _train(1, 0, False)
    got = np.load(out)
    ref = [p.data for p in ref_model.parameters()]
    assert len(got.files) == len(ref)
    for i, r in enumerate(ref):
        np.testing.assert_allclose(got[f"arr_{i}"], r, rtol=1e-6, atol=1e-12)
    for a, b in zip(info["history"], ref_history.records, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-9)
        assert a["train_metric"] == pytest.approx(b["train_metric"], rel=1e-12)
