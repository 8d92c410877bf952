"""retrograd.threads: BLAS threads chosen per product by its work, and the user's ceiling.

The policy is tested against a fake BLAS that records every thread count set
(so the tests hold on any BLAS), and once against NumPy's own OpenBLAS where it
is found. No test times anything.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import nn, optim, threads
from retrograd.threads import GRAIN, threads_for


class FakeBLAS:
    """A BLAS thread count: ``get`` and ``set`` as threads binds them; ``sets`` records."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.sets: list[int] = []

    def get(self) -> int:
        return self.count

    def set(self, n: int) -> None:
        self.count = n
        self.sets.append(n)


@pytest.fixture
def fake(monkeypatch):
    """A 4-thread fake BLAS in place of the real one; the module's state restored after."""
    blas = FakeBLAS(4)
    monkeypatch.setattr(threads, "_backend", (blas.get, blas.set))
    monkeypatch.setattr(threads, "_ceiling", 4)
    monkeypatch.setattr(threads, "_applied", 4)
    monkeypatch.setattr(threads, "_user", None)
    return blas


# ---------------------------------------------------------------- the policy's choice


@pytest.mark.parametrize(
    ("work", "ceiling", "expected"),
    [
        (0, 4, 1),
        (1, 4, 1),
        (GRAIN - 1, 4, 1),  # under one grain: one thread
        (2 * GRAIN - 1, 4, 1),  # a second thread only once each gets a full grain
        (2 * GRAIN, 4, 2),
        (3 * GRAIN + 5, 4, 3),
        (100 * GRAIN, 4, 4),  # never more than the ceiling
        (100 * GRAIN, 1, 1),
    ],
)
def test_threads_for_gives_one_thread_per_grain_within_the_ceiling(work, ceiling, expected):
    assert threads_for(work, ceiling) == expected


def test_small_products_run_on_one_thread_and_large_on_all(fake):
    a = rg.randn(200, 64)  # the digits MLP's first layer: 1.3 million multiply-adds
    w = rg.randn(100, 64, requires_grad=True)
    (a @ w.T).sum().backward()
    assert fake.sets == [1] and fake.count == 1  # set once: the backward found 1 in place
    big = rg.randn(512, 784)  # 103 million multiply-adds: every thread
    nn.functional.linear(big, rg.randn(256, 784))
    assert fake.sets == [1, 4]


@pytest.mark.parametrize(
    ("sa", "sb", "work"),
    [
        ((3, 4), (4, 5), 60),
        ((4,), (4, 5), 20),
        ((3, 4), (4,), 12),
        ((4,), (4,), 4),
        ((7, 3, 4), (4, 5), 420),  # batched: the 2-D operand broadcast over the batch
        ((3, 4), (7, 4, 5), 420),
        ((7, 3, 4), (7, 4, 5), 420),
    ],
)
def test_matmul_work_counts_multiply_adds(sa, sb, work):
    assert threads.matmul_work(np.ones(sa), np.ones(sb)) == work


def test_the_count_is_set_only_when_it_changes(fake):
    for _ in range(5):
        threads.for_work(10)
    threads.for_work(10 * GRAIN)
    threads.for_work(10 * GRAIN)
    threads.for_work(10)
    assert fake.sets == [1, 4, 1]


def test_vector_updates_ask_the_policy_too(fake):
    from retrograd import _blas

    if not _blas.available():
        pytest.skip("NumPy loaded no OpenBLAS with axpy in this process")
    y = np.ones(_blas.MIN_SIZE, np.float32)
    fake.count = threads._applied = 2
    assert _blas.axpy(0.5, np.ones_like(y), y)
    assert fake.sets == [1]


# ---------------------------------------------------------------- set/get, as torch's


def test_set_num_threads_sets_what_get_num_threads_returns(fake):
    rg.set_num_threads(3)
    assert rg.get_num_threads() == 3
    rg.set_num_threads(1_000_000)  # torch accepts any positive count, and so do we
    assert rg.get_num_threads() == 1_000_000
    assert isinstance(rg.get_num_threads(), int)


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)],
)
def test_set_num_threads_refuses_what_torch_refuses(fake, value, error):
    with pytest.raises(RuntimeError):
        torch.set_num_threads(value)
    with pytest.raises(error, match="set_num_threads expects"):
        rg.set_num_threads(value)
    assert rg.get_num_threads() == 4  # unchanged


def test_set_num_threads_accepts_numpy_integers(fake):
    rg.set_num_threads(np.int64(2))
    assert rg.get_num_threads() == 2 and type(rg.get_num_threads()) is int


def test_default_ceiling_is_the_blas_count(fake):
    assert rg.get_num_threads() == 4


# ---------------------------------------------------------------- the override is respected


def test_set_num_threads_caps_every_product_at_once(fake):
    threads.for_work(100 * GRAIN)
    assert fake.count == 4
    rg.set_num_threads(2)
    assert fake.count == 2  # lowered now, for BLAS calls that do not ask the policy
    threads.for_work(100 * GRAIN)
    assert fake.count == 2
    rg.set_num_threads(1)
    threads.for_work(100 * GRAIN)
    assert set(fake.sets) == {2, 1} and fake.count == 1


def test_num_threads_block_restores_the_ceiling(fake):
    with threads.num_threads(1):
        assert rg.get_num_threads() == 1
        threads.for_work(100 * GRAIN)
        assert fake.count == 1
    assert rg.get_num_threads() == 4
    threads.for_work(100 * GRAIN)
    assert fake.count == 4
    with threads.num_threads(None):
        assert rg.get_num_threads() == 4


def test_a_change_made_outside_becomes_the_ceiling(fake):
    fake.count = 2  # as threadpoolctl.threadpool_limits(2) would
    assert rg.get_num_threads() == 2
    threads.for_work(100 * GRAIN)
    assert fake.count == 2 and fake.sets == []
    fake.count = 4  # the block ends: threadpoolctl restores the count it found
    threads.for_work(100 * GRAIN)
    assert fake.count == 4


def test_set_num_threads_wins_over_an_outside_change(fake):
    rg.set_num_threads(3)
    fake.count = 1
    threads.for_work(100 * GRAIN)
    assert fake.count == 3


def test_training_obeys_the_users_ceiling(fake):
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    x, y = rg.randn(512, 784), rg.randint(0, 10, (512,))
    loader = [(x, y)]
    rg.set_num_threads(2)
    rg.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), loader, max_epochs=1)
    assert max(fake.sets) == 2  # the big first layer took the ceiling, and no more
    assert min(fake.sets) == 1  # the 10-unit layer stayed on one thread


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # 2 epochs do not converge
def test_the_sklearn_estimators_obey_the_users_ceiling(fake):
    pytest.importorskip("sklearn")
    from retrograd.sklearn import MLPClassifier

    rg.set_num_threads(1)
    X = np.random.default_rng(0).standard_normal((600, 900))
    y = np.arange(600) % 3
    MLPClassifier(hidden_layer_sizes=(300,), max_iter=2).fit(X, y)
    assert fake.sets in ([], [1]) and fake.count == 1


# ---------------------------------------------------------------- NumPy's own BLAS


def _real_backend():
    backend = threads._bind()
    if not backend:
        pytest.skip("NumPy's BLAS thread count cannot be set in this process")
    return backend


def test_the_real_blas_follows_the_policy(monkeypatch):
    get, _ = _real_backend()
    monkeypatch.setattr(threads, "_user", None)
    threads.for_work(10)
    assert get() == 1
    with threads.num_threads(1):
        threads.for_work(100 * GRAIN)
        assert get() == 1
    threads.for_work(100 * GRAIN)
    assert get() == threads.get_num_threads()


@pytest.mark.parametrize("variable", ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"])
def test_environment_variables_set_the_default_ceiling(variable):
    _real_backend()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GOTO_NUM_THREADS")
    }
    env[variable] = "1"
    code = "import retrograd as rg; rg.ones(2, 2) @ rg.ones(2, 2); print(rg.get_num_threads())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1"


def test_convolutions_ask_the_policy_too(fake):
    import retrograd.nn.functional as F

    x = rg.randn(2, 3, 8, 8, requires_grad=True)
    w = rg.randn(4, 3, 3, 3, requires_grad=True)
    F.conv2d(x, w).sum().backward()  # 2*4*27*36 multiply-adds per product: one thread
    assert fake.sets == [1]
    rg.set_num_threads(2)
    big = rg.randn(4, 64, 32, 32)
    F.conv2d(big, rg.randn(64, 64, 3, 3))  # 140 million multiply-adds: the ceiling
    assert fake.sets == [1, 2]
    F.conv_transpose2d(rg.randn(1, 2, 4, 4), rg.randn(2, 3, 3, 3))
    assert fake.sets == [1, 2, 1]


def test_a_replayed_step_asks_the_policy_as_eager_does(fake):
    from retrograd.capture import TrainStep

    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    step = TrainStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01))
    x, y = rg.randn(512, 784), rg.randint(0, 10, (512,))
    step(x, y)  # captured
    step(x, y)  # replayed once: its first product ends where the loop starts again
    fake.sets.clear()
    replays = step.replays
    step(x, y)
    assert step.replays == replays + 1, step.reason
    assert 4 in fake.sets and 1 in fake.sets  # big first layer on every thread, small on one
