"""retrograd.save / retrograd.load as PyTorch users write them: safetensors plus JSON, no pickle.

Round trips of every structure kind, the resume pattern (bit-identical training after
a reload), PyTorch's arguments (map_location, weights_only, file objects), and damaged
or foreign files refused with a clear message.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import retrograd as rg
import retrograd.nn as nn
from retrograd import serialization as S


def round_trip(obj, tmp_path, name="obj.pt"):
    path = tmp_path / name
    rg.save(obj, path)
    return rg.load(path)


def test_plain_values_round_trip(tmp_path):
    obj = {
        "int": 3,
        "big": 2**80 + 1,
        "float": 0.1,
        "inf": float("inf"),
        "str": 'épique "quoted" \n',
        "bool": True,
        "none": None,
        "list": [1, [2.5, "x"], []],
        "tuple": (1, (2, 3), ()),
        "int keys": {0: "a", 1: {"b": 2}},
        "mixed keys": {None: 1, True: 2, 1.5: 3, "s": 4},
        "empty": {},
    }
    back = round_trip(obj, tmp_path)
    assert back == obj
    assert type(back["tuple"]) is tuple and type(back["tuple"][1]) is tuple
    assert list(back["mixed keys"]) == [None, True, 1.5, "s"]
    nan = round_trip([float("nan")], tmp_path)[0]
    assert nan != nan
    for top in (5, "s", None, [1, 2], (3,)):
        assert round_trip(top, tmp_path) == top


@pytest.mark.parametrize(
    "dtype", [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_, np.float16]
)
def test_arrays_and_tensors_keep_dtype_shape_and_kind(tmp_path, dtype):
    arr = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    obj = {
        "tensor": rg.tensor(arr)
        if np.dtype(dtype) != np.float16
        else rg.tensor(arr.astype(np.float32)),
        "array": arr,
        "strided": arr[:, ::2],  # not contiguous
        "scalar0d": np.asarray(arr[0, 1]),
        "npscalar": arr[1, 1],  # a NumPy scalar
        "empty": np.zeros((0, 3), dtype=dtype),
    }
    back = round_trip(obj, tmp_path)
    assert isinstance(back["tensor"], rg.Tensor) and not back["tensor"].requires_grad
    np.testing.assert_array_equal(back["tensor"].array, obj["tensor"].array)
    assert back["tensor"].dtype == obj["tensor"].dtype
    for k in ("array", "strided", "scalar0d", "empty"):
        assert (
            type(back[k]) is np.ndarray and back[k].dtype == dtype and back[k].shape == obj[k].shape
        )
        np.testing.assert_array_equal(back[k], obj[k])
    assert type(back["npscalar"]) is type(obj["npscalar"]) and back["npscalar"] == obj["npscalar"]
    back["array"][0, 0] = 1  # writable


def test_parameters_requires_grad_and_shared_objects(tmp_path):
    p = nn.Parameter(rg.ones(2))
    frozen = nn.Parameter(rg.zeros(3), requires_grad=False)
    leaf = rg.tensor([1.0, 2.0], requires_grad=True)
    shared = [1, 2]
    obj = {"p": p, "frozen": frozen, "leaf": leaf, "a": shared, "b": shared, "p_again": p}
    back = round_trip(obj, tmp_path)
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert isinstance(back["frozen"], nn.Parameter) and not back["frozen"].requires_grad
    assert type(back["leaf"]) is rg.Tensor and back["leaf"].requires_grad
    assert back["a"] is back["b"] and back["p"] is back["p_again"]
    cyclic = [1]
    cyclic.append(cyclic)
    back = round_trip(cyclic, tmp_path)
    assert back[1] is back


def test_state_dict_round_trip_is_an_ordered_dict_with_torch_keys(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Embedding(5, 4))
    sd = model.state_dict()
    back = round_trip(sd, tmp_path, "sd.pth")
    assert type(back) is OrderedDict and list(back) == list(sd)
    for k, v in sd.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k].array, v.array)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Embedding(5, 4))
    fresh.load_state_dict(back)
    x = rg.randn(2, 3)
    np.testing.assert_array_equal(fresh[:2].eval()(x).array, model[:2].eval()(x).array)
    # the tensors are plain safetensors under the state_dict names: PyTorch reads them
    import safetensors.torch

    theirs = safetensors.torch.load_file(str(tmp_path / "sd.pth"))
    assert set(theirs) == set(sd)


def test_loaded_values_do_not_alias_the_saved_ones(tmp_path):
    model = nn.Linear(2, 2)
    back = round_trip(model.state_dict(), tmp_path)
    back["weight"].array[...] = 7
    assert not (model.weight.array == 7).any()


def _train(model, opt, sched, steps, seed):
    gen = np.random.default_rng(seed)
    for _ in range(steps):
        x = rg.tensor(gen.normal(size=(8, 4)).astype(np.float32))
        y = rg.tensor(gen.integers(0, 3, 8))
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
    return loss.item()


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: rg.optim.Adam(ps, lr=1e-2, weight_decay=1e-3, amsgrad=True),
        lambda ps: rg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        lambda ps: rg.optim.RMSprop(ps, lr=1e-2, centered=True),
        lambda ps: rg.optim.Adagrad(ps, lr=0.1),
    ],
    ids=["adam", "sgd", "rmsprop", "adagrad"],
)
def test_resume_pattern_is_bit_identical(tmp_path, make_opt):
    """torch.save({'model': ..., 'optimizer': ..., 'epoch': ...}), load, load_state_dict, go on."""

    def build():
        rg.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.SiLU(), nn.LayerNorm(16), nn.Linear(16, 3))
        opt = make_opt(model.parameters())
        return model, opt, rg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    model, opt, sched = build()
    _train(model, opt, sched, 5, seed=1)
    path = tmp_path / "ckpt.pt"
    rg.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "epoch": 3,
        },
        path,
    )
    expected = _train(model, opt, sched, 5, seed=2)

    model2, opt2, sched2 = build()
    _train(model2, opt2, sched2, 1, seed=9)  # different state: everything must be overwritten
    ckpt = rg.load(path, map_location="cpu", weights_only=True)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert ckpt["epoch"] == 3
    got = _train(model2, opt2, sched2, 5, seed=2)
    assert got == expected
    for (k, a), b in zip(model.state_dict().items(), model2.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.array, b.array, err_msg=k)


def test_model_files_keep_working(tmp_path):
    """retrograd.save of a Module still writes a model file that load rebuilds."""
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    path = tmp_path / "m.safetensors"
    rg.save(model, path, metadata={"k": 1})
    back = rg.load(path)
    assert isinstance(back, nn.Sequential) and not back.training
    x = rg.randn(4, 2)
    np.testing.assert_array_equal(back(x).array, model(x).array)
    assert S.read_metadata(path) == {"k": 1}
    with pytest.raises(TypeError, match="metadata"):
        rg.save({"a": 1}, tmp_path / "o.pt", metadata={"k": 1})


def test_training_checkpoints_load_too(tmp_path):
    path = tmp_path / "c.safetensors"
    S.save_checkpoint({"epoch": 2, "w": np.ones(2)}, path)
    back = rg.load(path)
    assert back["epoch"] == 2 and back["w"].tolist() == [1.0, 1.0]


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    rg.save({"w": rg.ones(2), "n": 1}, buf)
    buf.seek(0)
    back = rg.load(buf)
    assert back["n"] == 1 and back["w"].tolist() == [1.0, 1.0]
    with open(tmp_path / "f.pt", "wb") as f:
        rg.save([rg.zeros(1)], f)
    with open(tmp_path / "f.pt", "rb") as f:
        assert rg.load(f)[0].tolist() == [0.0]


def test_map_location_and_weights_only(tmp_path):
    path = tmp_path / "o.pt"
    rg.save({"a": rg.ones(1)}, path)
    for loc in (None, "cpu", torch.device("cpu"), "cpu:0"):
        assert rg.load(path, map_location=loc)["a"].tolist() == [1.0]
    assert rg.load(path, weights_only=None)["a"].tolist() == [1.0]
    for loc in ("cuda", torch.device("cuda:0"), {"cuda:0": "cpu"}, lambda s, loc: s):
        with pytest.raises(ValueError, match="runs on the CPU only"):
            rg.load(path, map_location=loc)
    with pytest.raises(ValueError, match="weights_only=False is not supported"):
        rg.load(path, weights_only=False)


def test_unsupported_values_are_refused_with_their_place(tmp_path):
    with pytest.raises(TypeError, match=r"cannot save a set \(at opt.x\)"):
        rg.save({"opt": {"x": {1, 2}}}, tmp_path / "o.pt")
    with pytest.raises(TypeError, match="cannot save a function"):
        rg.save([lambda: 0], tmp_path / "o.pt")
    with pytest.raises(TypeError, match="keys must be"):
        rg.save({(1, 2): 3}, tmp_path / "o.pt")
    with pytest.raises(TypeError, match="dtype object"):
        rg.save({"a": np.array(["x", None], dtype=object)}, tmp_path / "o.pt")
    with pytest.raises(TypeError, match="cannot describe a Custom"):

        class Custom(nn.Module):
            def forward(self, x):
                return x

        rg.save(Custom(), tmp_path / "m.pt")
    assert not (tmp_path / "o.pt").exists()


def test_pytorch_pickles_are_refused_without_unpickling(tmp_path):
    path = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, path)  # a zip archive holding a pickle
    with pytest.raises(ValueError, match="PyTorch pickle file.*never unpickles"):
        rg.load(path)
    assert zipfile.is_zipfile(path)
    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(pickle.dumps({"w": [1.0]}, protocol=2))
    with pytest.raises(ValueError, match="PyTorch pickle file"):
        rg.load(legacy)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda b: b[: len(b) // 2],
        lambda b: b[:5],
        lambda b: b"",
        lambda b: b"plain text, not a file retrograd wrote\n" * 4,
        lambda b: (10**9).to_bytes(8, "little") + b[8:],
    ],
)
def test_damaged_files_are_refused_cleanly(tmp_path, corrupt):
    path = tmp_path / "o.pt"
    rg.save({"a": rg.ones(3), "b": [1, 2]}, path)
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(ValueError, match="o.pt"):
        rg.load(path)


def test_a_damaged_structure_is_refused_cleanly(tmp_path):
    path = tmp_path / "o.pt"
    S.save_file(
        {"a": np.ones(1)}, path, {"format": S.OBJECT_FORMAT, "tree": '{"tensor": "nope", "id": 0}'}
    )
    with pytest.raises(ValueError, match="damaged structure"):
        rg.load(path)
    S.save_file({}, path, {"format": S.OBJECT_FORMAT, "tree": "{not json"})
    with pytest.raises(ValueError, match="damaged structure"):
        rg.load(path)


def test_writes_are_atomic_and_keep_the_umask_mode(tmp_path, monkeypatch):
    path = tmp_path / "o.pt"
    rg.save({"a": 1}, path)
    old = os.umask(0o027)
    try:
        rg.save({"a": 2}, path)
        assert os.stat(path).st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
    rg.save({"a": 3}, path)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~old

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        rg.save({"a": 4}, path)
    monkeypatch.undo()
    assert rg.load(path) == {"a": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["o.pt"]  # no temporary file left


def test_model_files_describe_the_new_layers(tmp_path):
    rg.manual_seed(0)
    model = nn.Sequential(
        nn.Embedding(6, 4, padding_idx=0, max_norm=2.0),
        nn.Flatten(),
        nn.Linear(8, 5),
        nn.PReLU(1, init=0.2),
        nn.Hardtanh(-2.0, 2.0),
        nn.SiLU(),
        nn.Mish(),
        nn.Softsign(),
        nn.LogSigmoid(),
    )
    path = tmp_path / "m.safetensors"
    rg.save(model, path)
    back = rg.load(path)
    assert repr(back) == repr(model)
    idx = rg.tensor([[1, 5], [0, 3]])
    np.testing.assert_array_equal(back(idx).array, model.eval()(idx).array)


def test_a_checkpoint_without_its_structure_is_refused_cleanly(tmp_path):
    path = tmp_path / "c.safetensors"
    S.save_file({"w": np.ones(1)}, path, {"format": S.CHECKPOINT_FORMAT})
    with pytest.raises(ValueError, match="damaged structure"):
        rg.load(path)
