"""The benchmark harness's interleaved mode, end to end on a tiny configuration.

It checks the protocol (processes kept alive, one epoch per request, passes
paired), that retrograd and the hand-written NumPy loop do the same work (the
same loss after the same epochs), the report, ``--pool``, and that a worker
that dies is reported with its error. No timing is asserted.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)

import _harness as h  # noqa: E402
import mlp  # noqa: E402

CONFIG = {
    "threads": 1,
    "batches": [64],
    "optimizers": ["sgd"],
    "samples": 512,
    "epochs": 2,
    "mode": "interleaved",
    "gap": 0.0,
}


@pytest.fixture(scope="module")
def runs() -> dict[str, h.Run]:
    workers = [
        h.Worker(lib, "mlp:server", {**CONFIG, "library": lib}, h.thread_env(1))
        for lib in ("numpy", "retrograd", "capture", "capture-ib")
    ]
    return mlp.run_interleaved(workers, CONFIG)


def test_interleaved_runs_one_epoch_per_pass(runs: dict[str, h.Run]) -> None:
    for lib in ("numpy", "retrograd"):
        results = runs[lib].results
        assert len(results) == CONFIG["epochs"]
        assert all(r["timings"]["sgd/64"] > 0 for r in results)
        assert results[0]["info"]["version"]
    assert runs["numpy"].results[0]["timings"]["gemm_peak"] > 0


def test_retrograd_does_the_hand_written_loops_work(runs: dict[str, h.Run]) -> None:
    for k in range(CONFIG["epochs"]):
        a = runs["numpy"].results[k]["losses"]["sgd/64"]
        b = runs["retrograd"].results[k]["losses"]["sgd/64"]
        assert b == pytest.approx(a, rel=1e-5)
        # the captured step replays retrograd's arithmetic exactly; the update in the
        # backward pass to float rounding
        assert runs["capture"].results[k]["losses"]["sgd/64"] == b
        assert runs["capture-ib"].results[k]["losses"]["sgd/64"] == pytest.approx(b, rel=1e-5)


def test_report_and_pool(runs: dict[str, h.Run], tmp_path) -> None:
    text = mlp.report(runs, h.machine_info(), CONFIG)
    assert "paired per pass" in text
    assert "Goals met:" in text
    raw = {
        "machine": h.machine_info(),
        "config": CONFIG,
        "runs": {k: v.results for k, v in runs.items()},
    }
    paths = []
    for i in range(2):
        path = tmp_path / f"run{i}.json"
        path.write_text(json.dumps(raw))
        paths.append(str(path))
    pooled = mlp.pooled_report(paths)
    assert pooled.startswith("Pooled from 2 runs")
    assert f"then {2 * CONFIG['epochs']} passes" in pooled
    other = {**raw, "config": {**CONFIG, "threads": 2}}
    (tmp_path / "other.json").write_text(json.dumps(other))
    with pytest.raises(SystemExit, match="other settings"):
        mlp.pooled_report([paths[0], str(tmp_path / "other.json")])


def test_a_worker_that_dies_is_reported() -> None:
    with pytest.raises(RuntimeError, match=r"(?s)ended with exit code 1.*AttributeError"):
        h.Server(h.Worker("broken", "mlp:no_such_function"))


def test_step_ab_counts_python_calls_per_step_of_each_tree():
    """bench/step_ab.py --count runs each tree's step in its own process and reports per tree."""
    import subprocess

    src = os.path.join(os.path.dirname(BENCH), "src")
    cmd = [sys.executable, os.path.join(BENCH, "step_ab.py"), f"a={src}", f"b={src}", "--count"]
    out = subprocess.run(
        [*cmd, "--batches", "8", "--opts", "sgd", "adam"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    lines = out.strip().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["sgd  batch    8", "adam batch    8"]
    for ln in lines:
        a, b = (int(w) for w in ln.split()[-3::2])  # "a N  b M": the same tree, the same count
        assert a == b > 100
