"""Model files: safetensors round trips, PyTorch interchange, atomic writes, bad files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import retrograd as rg
import retrograd.nn as nn
from retrograd import serialization as S


def _model():
    rg.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(8, 6),
        nn.LayerNorm(6),
        nn.Tanh(),
        nn.Linear(6, 3),
    )


def _torch_model():
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.BatchNorm1d(8),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(8, 6),
        torch.nn.LayerNorm(6),
        torch.nn.Tanh(),
        torch.nn.Linear(6, 3),
    )


def _trained(model):
    """Run a few training-mode batches so BatchNorm's running statistics are not defaults."""
    x = rg.randn(16, 4)
    for _ in range(3):
        model(x)
    return model.eval()


def test_round_trip_predicts_the_same(tmp_path):
    model = _trained(_model())
    path = tmp_path / "m.safetensors"
    S.save(model, path, metadata={"classes": ["a", "b", "c"], "scale": [1.5, 2.0]})
    loaded = S.load(path)
    assert repr(loaded) == repr(model)
    assert not loaded.training
    x = rg.randn(5, 4)
    np.testing.assert_array_equal(loaded(x).array, model(x).array)
    assert S.read_metadata(path) == {"classes": ["a", "b", "c"], "scale": [1.5, 2.0]}
    for (k, v), (k2, v2) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert k == k2 and v.dtype == v2.dtype
        np.testing.assert_array_equal(v.array, v2.array)


def test_file_loads_into_pytorch_and_predicts_the_same(tmp_path):
    model = _trained(_model())
    path = tmp_path / "m.safetensors"
    S.save(model, path)
    tm = _torch_model()
    tm.load_state_dict(safetensors.torch.load_file(str(path)))
    tm.eval()
    x = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    np.testing.assert_allclose(
        model(rg.tensor(x)).array, tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_pytorch_weights_load_here(tmp_path):
    torch.manual_seed(0)
    tm = _torch_model()
    tm.train()
    tm(torch.randn(16, 4))
    tm.eval()
    path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(tm.state_dict(), str(path))
    model = _model().eval()
    model.load_state_dict(S.load_file(path))
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        model(rg.tensor(x)).array, tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="no retrograd model description"):
        S.load(path)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b"\x00" * 4,  # too short for a header
        lambda b: b"not a model file at all, just some text\n" * 10,  # foreign
        lambda b: (10**9).to_bytes(8, "little") + b[8:],  # header length beyond the file
    ],
)
def test_bad_files_get_a_clear_error(tmp_path, corrupt):
    path = tmp_path / "m.safetensors"
    S.save(_model(), path)
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(ValueError, match="m.safetensors"):
        S.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        S.load(tmp_path / "nope.safetensors")


def test_unknown_layer_type_in_a_file_is_refused(tmp_path):
    """A file can only name registered layers: nothing else is ever constructed."""
    path = tmp_path / "evil.safetensors"
    arch = {"type": "Sequential", "children": [{"type": "os.system", "args": {"command": "true"}}]}
    S.save_file({}, path, {"format": S.FORMAT, "architecture": json.dumps(arch), "metadata": "{}"})
    with pytest.raises(ValueError, match="unknown layer type 'os.system'"):
        S.load(path)


def test_unsupported_module_is_refused():
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="cannot describe a Custom"):
        S.save(Custom(), "unused.safetensors")


def test_crash_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    S.save(_model(), path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        S.save(nn.Sequential(nn.Linear(2, 2)), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temp file left


def test_files_are_plain_safetensors_without_pickle(tmp_path):
    path = tmp_path / "m.safetensors"
    S.save(_model(), path)
    raw = path.read_bytes()
    assert b"\x80\x04" not in raw[:16]  # no pickle protocol header
    arrays = safetensors.numpy.load(raw)
    assert set(arrays) == set(_model().state_dict())


def test_checkpoint_round_trip(tmp_path):
    state = {
        "epoch": 3,
        "model": {"0.weight": np.arange(6.0).reshape(2, 3), "0.bias": rg.tensor([1.0, 2.0])},
        "optimizer": {
            "state": {0: {"step": 5, "exp_avg": np.ones(3, dtype=np.float32)}, 1: {}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1]}],
        },
        "rng": {"bit_generator": "PCG64", "state": {"state": 2**100 + 7, "inc": 3}},
        "history": [{"loss": 0.5}, {"loss": float("inf")}],
        "none": None,
    }
    path = tmp_path / "ckpt.safetensors"
    S.save_checkpoint(state, path)
    back = S.load_checkpoint(path)
    assert back["epoch"] == 3 and back["none"] is None
    np.testing.assert_array_equal(back["model"]["0.weight"], state["model"]["0.weight"])
    np.testing.assert_array_equal(back["model"]["0.bias"], [1.0, 2.0])
    assert back["optimizer"]["state"][0]["step"] == 5
    assert back["optimizer"]["state"][0]["exp_avg"].dtype == np.float32
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["rng"]["state"]["state"] == 2**100 + 7
    assert back["history"][1]["loss"] == float("inf")
    with pytest.raises(ValueError, match="not a retrograd checkpoint"):
        S.save(_model(), tmp_path / "m.safetensors")
        S.load_checkpoint(tmp_path / "m.safetensors")


def test_a_cnn_round_trips_with_its_architecture(tmp_path):
    from retrograd.pipeline import build_cnn

    for shape in ((1, 8, 8), (2, 12)):
        network = build_cnn(shape, (3, 4), 3, (5,), 2, batch_norm=True, seed=0)
        network.eval()
        S.save(network, tmp_path / "cnn.safetensors")
        loaded = S.load(tmp_path / "cnn.safetensors")
        loaded.eval()
        assert [type(m) for m in loaded] == [type(m) for m in network]
        x = rg.randn(4, int(np.prod(shape)))
        np.testing.assert_array_equal(loaded(x).detach().numpy(), network(x).detach().numpy())
