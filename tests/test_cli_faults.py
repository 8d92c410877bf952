"""The command line's contract under faults (issue 20, sections 3 and 4).

One ``Error:`` line and a documented status for whatever happens, never a
traceback; options and data checked before ``--out`` exists; a ``--force`` run
that does not finish leaves the old run as it was; a locked run folder; Ctrl-C
and a full disk recorded in run.json at every phase; files with the umask's
mode. Tiny data and two epochs keep it fast.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrograd import cli, pipeline, serialization
from retrograd.cli import cmd_train, run_folder
from retrograd.cli.run_folder import LOCK_FILE, RunLock

from .test_cli import assert_user_error, invoke, run_cli, write_csv

TINY = ["--data", "iris", "--hidden", "4", "--epochs", "2", "--quiet"]


def status(out: Path) -> str:
    return json.loads((out / cli.RUN_FILE).read_text())["status"]


def no_traceback(result) -> None:
    assert "Traceback" not in result.output + getattr(result, "stderr", "")


@pytest.fixture
def run(tmp_path) -> Path:
    out = tmp_path / "run"
    result = invoke("train", *TINY, "--out", out)
    assert result.exit_code == 0, result.output
    return out


# ---------------------------------------------------------------- section 3: the contract


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom"), KeyError("standardizer"), AttributeError("'list' has no 'get'")],
)
def test_an_unexpected_exception_is_one_error_line_naming_its_type(tmp_path, monkeypatch, error):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(pipeline, "train", broken)
    out = tmp_path / "run"
    result = invoke("train", *TINY, "--out", out)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: unexpected "), lines
    assert type(error).__name__ in lines[0] and "report" in lines[0]
    assert status(out) == "failed"  # not left at "running"


def test_the_guard_lets_a_developer_see_the_traceback(monkeypatch):
    monkeypatch.setenv("RETROGRAD_DEBUG", "1")
    monkeypatch.setattr(pipeline, "check_run", lambda *a, **k: 1 / 0)
    result = invoke("train", *TINY, "--out", "nowhere")
    assert isinstance(result.exception, ZeroDivisionError)


@pytest.mark.parametrize(
    "args, option",
    [
        (["--hidden", "1000000000"], "--hidden"),
        (["--hidden", "200000,200000"], "--hidden"),
        (["--data", "digits", "--arch", "cnn", "--channels", "100000"], "--channels"),
    ],
)
def test_a_network_too_big_for_memory_is_refused_with_the_estimate(tmp_path, args, option):
    out = tmp_path / "big"
    result = invoke("train", *TINY, *args, "--out", out)
    assert result.exit_code == 2, result.output
    assert "GiB" in result.stderr and option in result.stderr, result.stderr
    assert not out.exists()


def test_a_batch_too_big_for_memory_names_the_batch_size(tmp_path, monkeypatch):
    spec = pipeline.load_dataset("iris")
    one = sum(pipeline.estimate_memory(4, 3, 112, (64,), 1).values())
    monkeypatch.setattr(pipeline, "_available_memory", lambda: one + 100)
    out = tmp_path / "batch"
    result = invoke("train", *TINY, "--hidden", "64", "--batch-size", "100", "--out", out)
    assert result.exit_code == 2 and "--batch-size" in result.stderr, result.stderr
    assert not out.exists()
    with pytest.raises(pipeline.OptionError, match="memory") as caught:  # the API refuses too
        pipeline.train(spec, hidden=(64,), batch_size=100, epochs=1, quiet=True)
    assert caught.value.option == "batch_size"


@pytest.mark.parametrize(
    "args",
    [
        ["--lr", "nan"],
        ["--lr", "inf"],
        ["--seed", str(2**64)],
        ["--momentum", "1"],
        ["--test-split", "0.01"],  # iris's 3 classes cannot all be in a 2-row test part
        ["--val-split", "0.01"],
    ],
)
def test_a_refused_option_leaves_no_folder_and_the_corrected_rerun_needs_no_force(tmp_path, args):
    out = tmp_path / "run"
    result = invoke("train", *TINY, *args, "--out", out)
    assert result.exit_code == 2, result.output
    assert not out.exists()
    assert invoke("train", *TINY, "--out", out).exit_code == 0


def test_data_that_cannot_be_split_is_refused_before_the_folder(tmp_path):
    data = write_csv(tmp_path / "two.csv", ["a", "y"], [[1, 0], [2, 1], [3, 0], [4, 1]])
    out = tmp_path / "run"
    result = invoke("train", "--data", data, "--epochs", "2", "--quiet", "--out", out)
    assert result.exit_code == 2 and "split" in result.stderr, result.stderr
    assert not out.exists()


def test_evaluate_refuses_an_unknown_plot_format_before_computing(run, tmp_path):
    result = invoke("evaluate", run, "--data", "iris", "--plot", tmp_path / "out.xyz")
    assert result.exit_code == 2
    assert "out.xyz" in result.stderr and ".png" in result.stderr and ".svg" in result.stderr
    assert "accuracy" not in result.stdout  # refused before the metrics
    result = invoke("evaluate", run, "--plot", tmp_path / "cm.svg")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cm.svg").read_text().lstrip().startswith("<?xml")


def test_an_output_under_a_file_is_refused_naming_the_file(run, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    src = write_csv(tmp_path / "in.csv", None, [[5.1, 3.5, 1.4, 0.2]])
    for args in (
        ["predict", run, src, "-o", afile / "p.csv"],
        ["export", run, "-o", afile / "m.safetensors"],
        ["evaluate", run, "--plot", afile / "cm.png"],
        ["train", *TINY, "--out", afile / "run"],
        ["explain", "--format", "html", "--out", afile / "e.html"],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert str(afile) in result.stderr and "is a file" in result.stderr, result.stderr
        assert "Errno" not in result.stderr


def test_dash_writes_to_standard_output(run, tmp_path):
    src = write_csv(tmp_path / "in.csv", None, [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
    result = invoke("predict", run, src, "-o", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("prediction,")
    assert len(result.stdout.splitlines()) == 3 and not Path("-").exists()
    result = invoke("export", run, "-o", "-")
    assert result.exit_code == 0
    size = int.from_bytes(result.stdout_bytes[:8], "little")
    assert json.loads(result.stdout_bytes[8 : 8 + size])["__metadata__"]["format"] == "pt"
    result = invoke("explain", "--out", "-")
    assert result.exit_code == 0 and "forward" in result.stdout.lower()
    assert not Path("-").exists()


def test_a_closed_pipe_ends_quietly_with_the_sigpipe_status():
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes a byte
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "retrograd.cli", "datasets"],
            stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.close(write)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""


def test_divergence_prints_no_numpy_warning_with_internal_paths(tmp_path):
    for lr in ("1e4", "1e30"):
        proc = run_cli(
            "train", "--data", "iris", "--hidden", "8", "--optimizer", "sgd", "--lr", lr,
            "--epochs", "3", "--out", tmp_path / lr, "-q",
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert "RuntimeWarning" not in proc.stderr and ".py:" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("Error: training diverged"), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_a_core_only_install_names_the_extra_to_install():
    code = (
        "import sys; sys.modules['click'] = None\n"  # import click now fails, as when missing
        "from retrograd.cli import main; main(['datasets'])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "pip install 'retrograd[cli]'" in proc.stderr and "'click'" in proc.stderr
    assert "Traceback" not in proc.stderr and "ModuleNotFoundError" not in proc.stderr


# ---------------------------------------------------------------- section 4: faults


def model_bytes(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in cli.RUN_FILES if (out / n).is_file()}


def leftovers(out: Path) -> list[str]:
    hidden = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    return hidden + [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_diverged_force_run_leaves_the_old_run_intact(run):
    before = model_bytes(run)
    result = invoke(
        "train", *TINY, "--hidden", "8", "--optimizer", "sgd", "--lr", "1e4", "--epochs", "3",
        "--out", run, "--force",
    )  # fmt: skip
    assert result.exit_code == 1 and "diverged" in result.stderr, result.output
    assert "left as it was" in result.stderr
    assert model_bytes(run) == before and status(run) == "finished"
    assert leftovers(run) == []


@pytest.mark.parametrize("where", ["training", "scoring", "saving"])
def test_an_interrupted_force_run_leaves_the_old_run_intact(run, monkeypatch, where):
    before = model_bytes(run)
    interrupt(monkeypatch, where)
    result = invoke("train", *TINY, "--out", run, "--force")
    assert result.exit_code == 130, result.output
    assert model_bytes(run) == before and leftovers(run) == []


def test_a_force_run_replaces_the_run_only_and_keeps_other_files(run):
    (run / "notes.txt").write_text("mine")
    before = model_bytes(run)
    result = invoke("train", *TINY, "--hidden", "6", "--out", run, "--force")
    assert result.exit_code == 0, result.output
    assert model_bytes(run)[cli.MODEL_FILE] != before[cli.MODEL_FILE]
    assert (run / "notes.txt").read_text() == "mine"
    assert leftovers(run) == [] and not (run / LOCK_FILE).exists()


def test_stale_temporary_files_are_cleaned_at_start_and_resume(tmp_path):
    out = tmp_path / "run"
    assert invoke("train", *TINY, "--epochs", "5", "--out", out, "--stop-after", "1").exit_code
    stale = [out / ".checkpoint.safetensors.a1b2.tmp", out / ".model.safetensors.x.tmp"]
    for path in stale:
        path.write_bytes(b"\0" * 1000)
    (out / ".mine.tmp").write_text("not ours")
    staging = tmp_path / ".run.k9.new"  # a --force run killed before it was moved in
    staging.mkdir()
    result = invoke("train", "--resume", out, "-q")
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in stale) and not staging.exists()
    assert (out / ".mine.tmp").exists()  # only our own files go


def test_a_second_run_on_a_locked_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    with RunLock(out):
        result = invoke("train", *TINY, "--out", out)
        assert result.exit_code == 2, result.output
        assert "in use by another retrograd run" in result.stderr
        assert f"process {os.getpid()}" in result.stderr
        assert not (out / cli.RUN_FILE).exists()
    assert invoke("train", *TINY, "--out", out).exit_code == 0  # released


def test_a_lock_left_by_a_killed_run_is_stale(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK_FILE).write_text("process 999999 on elsewhere")  # no process holds it
    result = invoke("train", *TINY, "--out", out)
    assert result.exit_code == 0, result.output


def test_two_runs_started_together_on_one_folder_one_is_refused(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", "iris", "--hidden", "4", "--epochs", "30", "-q", "--out", out]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "retrograd.cli", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    message = next(err for code, err in results if code == 2)
    assert "in use by another retrograd run" in message or "already exists" in message


def interrupt(monkeypatch, where: str) -> None:
    """Ctrl-C at one phase of ``train``, in-process."""

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    target = {
        "start-up": (cmd_train, "load_data"),
        "training": (pipeline, "fit"),
        "scoring": (pipeline, "_scores"),
        "saving": (run_folder, "plot_curves"),
    }[where]
    monkeypatch.setattr(*target, ctrl_c)


@pytest.mark.parametrize("where", ["start-up", "training", "scoring", "saving"])
def test_ctrl_c_at_any_phase_exits_130_and_records_interrupted(tmp_path, monkeypatch, where):
    out = tmp_path / "run"
    interrupt(monkeypatch, where)
    result = invoke("train", *TINY, "--out", out)
    assert result.exit_code == 130, result.output
    assert "Aborted" not in result.output and "Traceback" not in result.output
    assert "Interrupted" in result.stderr
    if where == "start-up":
        assert not out.exists()  # nothing was written yet
    else:
        assert status(out) == "interrupted"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds the file by /proc")
@pytest.mark.parametrize("victim", [cli.CHECKPOINT_FILE, cli.MODEL_FILE])
def test_a_full_disk_names_the_file_and_the_run_and_records_failed(tmp_path, monkeypatch, victim):
    real = os.fsync

    def full(fd):  # the disk fills up while the victim's temporary file is written
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path / "run" / f".{victim}.")):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "run"
    result = invoke("train", *TINY, "--out", out)
    assert result.exit_code == 1, result.output
    assert victim in result.stderr and str(out) in result.stderr, result.stderr
    assert "No space left on device" in result.stderr
    assert status(out) == "failed"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_atomic_write_names_the_file_it_could_not_write(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left") as caught:
        serialization.atomic_write(tmp_path / "m.safetensors", b"x")
    assert caught.value.filename == str(tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_every_file_written_has_the_umasks_mode(tmp_path, umask, mode):
    import retrograd as rg
    from retrograd import nn
    from retrograd.sklearn import MLPClassifier

    old = os.umask(umask)
    try:
        out = tmp_path / "run"
        assert invoke("train", *TINY, "--out", out).exit_code == 0
        src = write_csv(tmp_path / "in.csv", None, [[5.1, 3.5, 1.4, 0.2]])
        assert invoke("predict", out, src, "-o", tmp_path / "p.csv").exit_code == 0
        assert invoke("export", out, "-o", tmp_path / "t.safetensors").exit_code == 0
        assert invoke("evaluate", out, "--plot", tmp_path / "cm.png").exit_code == 0
        html = tmp_path / "e.html"
        assert invoke("explain", "--format", "html", "--out", html).exit_code == 0
        rg.save(nn.Linear(2, 1), tmp_path / "net.safetensors")
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(20, 2)), np.arange(20) % 2
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=3).fit(X, y).save(tmp_path / "c.st")
    finally:
        os.umask(old)
    files = [*(out / n for n in cli.RUN_FILES)]
    files += [tmp_path / n for n in ("p.csv", "t.safetensors", "cm.png", "e.html")]
    files += [tmp_path / "net.safetensors", tmp_path / "c.st"]
    for path in files:
        assert path.stat().st_mode & 0o777 == mode, (path.name, oct(path.stat().st_mode))


def test_a_bad_model_file_is_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    for content in (b"", b"\x80\x04junk", b"\x10\0\0\0\0\0\0\0{not json}xxxxxx"):
        bad.write_bytes(content)
        for command in (
            ["info", bad],
            ["evaluate", bad, "--data", "iris"],
            ["export", bad, "-o", tmp_path / "x"],
        ):
            result = invoke(*command)
            assert result.exit_code == 2, (command, result.output)
            assert str(bad) in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1


def test_subprocess_errors_have_no_traceback(tmp_path):
    assert_user_error(run_cli("train", *TINY, "--hidden", "1000000000", "--out", tmp_path / "x"),
                      "--hidden")  # fmt: skip


@pytest.mark.parametrize(
    "args, option",
    [
        (["--data", "digits", "--arch", "cnn", "--kernel", "100000"], "--kernel"),
        (["--data", "digits", "--hidden", "4", "--batch-size", "1000000000"], None),
    ],
)
def test_the_memory_refusal_names_the_option_to_lower(tmp_path, args, option):
    out = tmp_path / "big"
    result = invoke("train", "--epochs", "1", "-q", *args, "--out", out)
    if option is None:  # a batch larger than the data is the data: it fits
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2 and option in result.stderr and "GiB" in result.stderr
    assert not out.exists()


def test_explain_refuses_layers_too_big_to_explain():
    result = invoke("explain", "--layers", "2,1000000000,1")
    assert result.exit_code == 2, result.output
    assert "3,000,000,000 weights" in result.stderr and "--layers" in result.stderr
