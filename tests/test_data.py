"""retrograd.data: loaders against torch.utils.data, data sets, files, splits and scaling."""

from __future__ import annotations

import collections
import gzip
import json
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import retrograd as rg
from retrograd.data import (
    DATASETS,
    DataError,
    DataLoader,
    Dataset,
    DataSpec,
    LabelEncoder,
    Standardizer,
    Subset,
    TensorDataset,
    available_datasets,
    default_collate,
    infer_task,
    load_dataset,
    random_split,
    read_csv,
    read_csv_features,
    read_idx,
    read_idx_folder,
    read_npz,
    train_val_test_split,
)

# ---------------------------------------------------------------------------- helpers


def as_np(x):
    if isinstance(x, rg.Tensor):
        return x.array
    if isinstance(x, torch.Tensor):
        return x.numpy()
    return np.asarray(x)


def assert_same_batch(ours, theirs):
    """A retrograd batch equals a torch batch: same structure, values and dtypes."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, rg.Tensor), type(ours)
        a, b = as_np(ours), as_np(theirs)
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_array_equal(a, b)
    elif isinstance(theirs, dict):
        assert ours.keys() == theirs.keys()
        for key in theirs:
            assert_same_batch(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple))
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            assert_same_batch(o, t)
    else:
        assert ours == theirs


def epoch_labels(loader):
    """The y values of one pass, batch by batch."""
    return [y.tolist() for _, y in loader]


def flatten(batches):
    return [i for batch in batches for i in batch]


def tensor_data(n=23, d=3, seed=0):
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, d)).astype(np.float32)
    y = np.arange(n, dtype=np.int64)
    return X, y


class PairDataset(Dataset):
    """A generic data set: (float32 features, int label) per sample."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __getitem__(self, i):
        return self.X[i], int(self.y[i])

    def __len__(self):
        return len(self.X)


class SlowTensorDataset(TensorDataset):
    """A TensorDataset whose own __getitem__ takes the loader off the fast path."""

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)


# ---------------------------------------------------------------------------- DataLoader vs torch


@pytest.mark.parametrize("n", [0, 1, 10, 64, 65])
@pytest.mark.parametrize("batch_size", [1, 3, 64, 100])
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_matches_torch_in_order(n, batch_size, drop_last):
    X, y = tensor_data(n)
    ours = DataLoader(
        TensorDataset(rg.tensor(X), rg.tensor(y)), batch_size=batch_size, drop_last=drop_last
    )
    theirs = tud.DataLoader(
        tud.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
        batch_size=batch_size,
        drop_last=drop_last,
    )
    assert len(ours) == len(theirs)
    ours_batches, their_batches = list(ours), list(theirs)
    assert len(ours_batches) == len(their_batches) == len(theirs)
    for a, b in zip(ours_batches, their_batches, strict=True):
        assert isinstance(a, tuple)
        assert_same_batch(a, b)


@pytest.mark.parametrize("batch_size", [1, 4, 7])
def test_generic_dataset_collates_like_torch(batch_size):
    X, y = tensor_data(15)
    ours = list(DataLoader(PairDataset(X, y), batch_size=batch_size))
    theirs = list(tud.DataLoader(PairDataset(X, y), batch_size=batch_size))
    assert len(ours) == len(theirs) == -(-15 // batch_size)
    for a, b in zip(ours, theirs, strict=True):
        assert isinstance(a, tuple)  # torch gives a list here; we keep the sample's tuple
        assert_same_batch(a, b)


def test_default_collate_matches_torch_on_structures():
    Point = collections.namedtuple("Point", "x label")
    r = np.random.default_rng(0)
    cases = [
        [1.5, 2.0, -3.25],
        [1, 2, 3],
        [True, False],
        [np.float32(1.5), np.float32(2)],
        [np.int16(3), np.int16(4)],
        [r.standard_normal((2, 3)) for _ in range(4)],
        [{"a": np.ones(2, np.float32) * i, "b": i} for i in range(3)],
        [Point(np.zeros(3, np.float32) + i, i) for i in range(3)],
        [[np.arange(2) + i, float(i)] for i in range(3)],
        ["a", "b"],
    ]
    for batch in cases:
        assert_same_batch(default_collate(batch), tud.default_collate(batch))
    points = default_collate([Point(np.zeros(3), 1), Point(np.ones(3), 2)])
    assert isinstance(points, Point)
    stacked = default_collate([rg.ones(2, 3), rg.zeros(2, 3)])
    assert stacked.shape == (2, 2, 3)


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="same length"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="dtype <U"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_tensor_fast_path_equals_generic_path():
    X, y = tensor_data(50)
    fast = TensorDataset(rg.tensor(X), rg.tensor(y))
    slow = SlowTensorDataset(rg.tensor(X), rg.tensor(y))
    for shuffle, drop_last in [(False, False), (True, False), (True, True)]:
        rg.manual_seed(3)
        a = list(DataLoader(fast, batch_size=8, shuffle=shuffle, drop_last=drop_last))
        rg.manual_seed(3)
        b = list(DataLoader(slow, batch_size=8, shuffle=shuffle, drop_last=drop_last))
        assert len(a) == len(b)
        for ba, bb in zip(a, b, strict=True):
            for ta, tb in zip(ba, bb, strict=True):
                assert ta.dtype == tb.dtype
                np.testing.assert_array_equal(ta.array, tb.array)


def test_tensor_fast_path_indexes_once_per_tensor_per_batch(monkeypatch):
    X, y = tensor_data(1000)
    ds = TensorDataset(rg.tensor(X), rg.tensor(y))
    calls = []
    original = rg.Tensor.__getitem__

    def counting(self, idx):
        calls.append(idx)
        return original(self, idx)

    monkeypatch.setattr(rg.Tensor, "__getitem__", counting)
    loader = DataLoader(ds, batch_size=100, shuffle=True)
    batches = list(loader)
    assert len(batches) == 10
    assert len(calls) == 2 * len(batches)  # two tensors, one fancy index each per batch
    assert all(isinstance(c, np.ndarray) and c.shape == (100,) for c in calls)


def test_shuffle_is_reproducible_under_manual_seed_and_fresh_each_epoch():
    X, y = tensor_data(40)
    loader = DataLoader(TensorDataset(X, y), batch_size=6, shuffle=True)
    rg.manual_seed(7)
    first, second = epoch_labels(loader), epoch_labels(loader)
    rg.manual_seed(7)
    assert epoch_labels(loader) == first
    assert epoch_labels(loader) == second
    assert first != second  # a fresh permutation each epoch
    for epoch in (first, second):
        flat = [i for batch in epoch for i in batch]
        assert sorted(flat) == list(range(40))  # every index exactly once
        assert flat != list(range(40))
        assert [len(b) for b in epoch] == [6] * 6 + [4]
    rg.manual_seed(8)
    assert epoch_labels(loader) != first


def test_shuffle_with_generator_is_independent_of_the_global_one():
    X, y = tensor_data(30)
    ds = TensorDataset(X, y)
    a = DataLoader(ds, batch_size=5, shuffle=True, generator=rg.Generator(11))
    b = DataLoader(ds, batch_size=5, shuffle=True, generator=rg.Generator(11))
    rg.manual_seed(0)
    ea = [epoch_labels(a) for _ in range(3)]
    rg.manual_seed(99)
    eb = [epoch_labels(b) for _ in range(3)]
    assert ea == eb
    assert ea[0] != ea[1] != ea[2]
    c = DataLoader(ds, batch_size=5, shuffle=True, generator=rg.Generator(12))
    assert epoch_labels(c) != ea[0]


def test_shuffle_draws_the_order_when_the_pass_starts():
    ds = TensorDataset(*tensor_data(20))
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=rg.Generator(5))
    it1 = iter(loader)
    it2 = iter(loader)  # a second pass started before the first is consumed
    e1 = [y.tolist() for _, y in it1]
    e2 = [y.tolist() for _, y in it2]
    gen = rg.Generator(5)
    expected1 = gen.np.permutation(20).tolist()
    expected2 = gen.np.permutation(20).tolist()
    assert flatten(e1) == expected1
    assert flatten(e2) == expected2


def test_shuffle_drop_last():
    ds = TensorDataset(*tensor_data(23))
    rg.manual_seed(1)
    loader = DataLoader(ds, batch_size=5, shuffle=True, drop_last=True)
    epoch = epoch_labels(loader)
    assert len(loader) == len(epoch) == 4
    assert all(len(b) == 5 for b in epoch)
    flat = flatten(epoch)
    assert len(set(flat)) == 20


def test_loader_over_subsets_uses_the_subset_indices():
    X, y = tensor_data(30)
    ds = TensorDataset(X, y)
    rg.manual_seed(2)
    train, val = random_split(ds, [0.8, 0.2])
    got = flatten(epoch_labels(DataLoader(val, batch_size=4)))
    assert got == [int(y[i]) for i in val.indices]
    nested = Subset(train, [5, 0, 3])
    got = flatten(epoch_labels(DataLoader(nested, batch_size=2)))
    assert got == [train.indices[5], train.indices[0], train.indices[3]]
    rg.manual_seed(4)
    shuffled = flatten(epoch_labels(DataLoader(train, batch_size=7, shuffle=True)))
    assert sorted(shuffled) == sorted(train.indices)


def test_batch_size_none_yields_samples_like_torch():
    X, y = tensor_data(5)
    ours = list(DataLoader(PairDataset(X, y), batch_size=None))
    theirs = list(tud.DataLoader(PairDataset(X, y), batch_size=None))
    assert len(ours) == len(theirs) == 5
    for a, b in zip(ours, theirs, strict=True):
        assert_same_batch(a, b)
    samples = list(DataLoader(TensorDataset(X, y), batch_size=None))
    assert len(samples) == 5 and samples[2][0].shape == (3,) and samples[2][1].item() == 2
    assert len(DataLoader(TensorDataset(X, y), batch_size=None)) == 5


def test_collate_fn_is_used():
    X, y = tensor_data(6)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, collate_fn=len)
    assert list(loader) == [4, 2]


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "4"])
def test_loader_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match=r"batch_size should be a positive integer"):
        DataLoader(TensorDataset(*tensor_data(4)), batch_size=bad)


def test_loader_errors():
    ds = TensorDataset(*tensor_data(4))
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(TypeError, match="retrograd.Generator"):
        DataLoader(ds, shuffle=True, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="retrograd.Generator"):
        DataLoader(ds, shuffle=True, generator=torch.Generator())
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(iter([1, 2]))
    with pytest.raises(ValueError, match="empty"):
        DataLoader(TensorDataset(np.zeros((0, 2))), shuffle=True)
    with pytest.raises(TypeError, match="collate_fn"):
        DataLoader(ds, collate_fn=3)


# ---------------------------------------------------------------------------- Dataset, random_split


def test_dataset_base_methods_raise():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        len(Dataset())


def test_tensor_dataset_items_and_errors():
    X, y = tensor_data(6)
    ds = TensorDataset(rg.tensor(X), rg.tensor(y))
    assert len(ds) == 6
    x2, y2 = ds[2]
    np.testing.assert_array_equal(x2.array, X[2])
    assert y2.item() == 2
    assert isinstance(ds[1:3], tuple) and ds[1:3][0].shape == (2, 3)
    arr_ds = TensorDataset(X)
    assert np.shares_memory(arr_ds.tensors[0].array, X)  # arrays are wrapped, not copied
    with pytest.raises(ValueError, match=r"tensor 0 has 6 samples .* tensor 1 has 5"):
        TensorDataset(rg.tensor(X), rg.tensor(y[:5]))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-dimensional"):
        TensorDataset(rg.tensor(1.0))
    with pytest.raises(TypeError, match="LabelEncoder"):
        TensorDataset(X, np.array(["a"] * 6))
    with pytest.raises(TypeError, match="argument 1 is a list"):
        TensorDataset(X, list(y))


@pytest.mark.parametrize(
    "n, lengths",
    [
        (30, [0.3, 0.3, 0.4]),
        (10, [0.33, 0.33, 0.34]),
        (7, [0.5, 0.5]),
        (11, [0.1, 0.2, 0.3, 0.4]),
        (10, [3, 7]),
        (5, [5, 0]),
    ],
)
def test_random_split_lengths_match_torch(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = random_split(list(range(n)), lengths, generator=rg.Generator(0))
        theirs = tud.random_split(list(range(n)), lengths, generator=torch.Generator())
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    flat = sorted(i for s in ours for i in s.indices)
    assert flat == list(range(n))  # disjoint and complete


def test_random_split_is_reproducible_and_indexable():
    data = list(range(100, 120))
    a = random_split(data, [15, 5], generator=rg.Generator(3))
    b = random_split(data, [15, 5], generator=rg.Generator(3))
    c = random_split(data, [15, 5], generator=rg.Generator(4))
    assert [s.indices for s in a] == [s.indices for s in b]
    assert a[0].indices != c[0].indices
    rg.manual_seed(9)
    d = random_split(data, [15, 5])
    rg.manual_seed(9)
    e = random_split(data, [15, 5])
    assert d[1].indices == e[1].indices
    sub = a[1]
    assert len(sub) == 5 and sub[0] == data[sub.indices[0]]
    assert [sub[i] for i in range(5)] == [data[i] for i in sub.indices]


def test_random_split_errors():
    with pytest.raises(ValueError, match=r"sum to 9, but the data set has 10"):
        random_split(list(range(10)), [4, 5])
    with pytest.raises(ValueError, match=">= 0"):
        random_split(list(range(10)), [12, -2])
    with pytest.raises(ValueError, match="neither whole counts nor fractions"):
        random_split(list(range(10)), [0.5, 0.2])
    with pytest.raises(TypeError, match="retrograd.Generator"):
        random_split(list(range(10)), [5, 5], generator=torch.Generator())
    with pytest.warns(UserWarning, match="split 1 is empty"):
        random_split(list(range(2)), [0.9, 0.1])


# ---------------------------------------------------------------------------- named data sets

EXPECTED = {
    "digits": ((1797, 64), "classification", 10),
    "iris": ((150, 4), "classification", 3),
    "wine": ((178, 13), "classification", 3),
    "breast_cancer": ((569, 30), "classification", 2),
    "diabetes": ((442, 10), "regression", None),
    "xor": ((400, 2), "classification", 2),
    "moons": ((400, 2), "classification", 2),
    "circles": ((400, 2), "classification", 2),
    "spirals": ((400, 2), "classification", 2),
}


def test_registry_holds_exactly_the_named_sets():
    assert set(DATASETS) == set(EXPECTED)
    assert available_datasets() == sorted(EXPECTED)
    for name, info in DATASETS.items():
        assert info.name == name and info.description and info.task == EXPECTED[name][1]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_dataset_loads(name):
    shape, task, n_classes = EXPECTED[name]
    spec = load_dataset(name)
    assert isinstance(spec, DataSpec)
    assert spec.X.shape == shape and spec.X.dtype == np.float64
    assert np.all(np.isfinite(spec.X))
    assert spec.y.shape == (shape[0],)
    assert spec.task == task and spec.name == name
    assert len(spec.feature_names) == shape[1]
    if task == "classification":
        assert spec.y.dtype == np.int64
        assert spec.classes == list(range(n_classes))
    else:
        assert spec.y.dtype == np.float64 and spec.classes is None


def test_bundled_sets_are_sklearns_copies():
    from sklearn import datasets

    spec = load_dataset("Breast-Cancer")  # case and hyphens are ignored
    bunch = datasets.load_breast_cancer()
    np.testing.assert_array_equal(spec.X, bunch.data)
    np.testing.assert_array_equal(spec.y, bunch.target)
    assert spec.target_names == ["malignant", "benign"]
    assert load_dataset("iris").feature_names[0] == "sepal length (cm)"


def test_synthetic_options_and_reproducibility():
    a = load_dataset("spirals", n_samples=90, noise=0.1, seed=3, n_classes=3)
    b = load_dataset("spirals", n_samples=90, noise=0.1, seed=3, n_classes=3)
    c = load_dataset("spirals", n_samples=90, noise=0.1, seed=4, n_classes=3)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert np.bincount(a.y).tolist() == [30, 30, 30]
    for name in ("xor", "moons", "circles", "spirals"):
        s = load_dataset(name, n_samples=50, seed=1)
        assert s.X.shape == (50, 2)
        assert not np.array_equal(s.X, load_dataset(name, n_samples=50, seed=2).X)


def test_xor_is_xor():
    s = load_dataset("xor", n_samples=101, noise=0.0)
    assert set(map(tuple, s.X.tolist())) == {(-1, -1), (-1, 1), (1, -1), (1, 1)}
    np.testing.assert_array_equal(s.y, (s.X[:, 0] * s.X[:, 1] < 0).astype(int))
    assert abs(np.mean(s.y) - 0.5) < 0.02


def test_synthetic_sets_need_a_nonlinear_model():
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    for name in ("xor", "spirals", "circles"):
        s = load_dataset(name, n_samples=400, seed=0)
        train, test = slice(0, 300), slice(300, 400)
        linear = LogisticRegression().fit(s.X[train], s.y[train]).score(s.X[test], s.y[test])
        knn = KNeighborsClassifier(5).fit(s.X[train], s.y[train]).score(s.X[test], s.y[test])
        assert knn > 0.95, (name, knn)
        assert linear < 0.75, (name, linear)


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(DataError) as e:
        load_dataset("irsi")
    msg = str(e.value)
    assert "unknown data set 'irsi'" in msg
    for name in EXPECTED:
        assert name in msg
    assert "Did you mean 'iris'?" in msg
    with pytest.raises(DataError, match="download their four IDX files"):
        load_dataset("fashion-mnist")


def test_named_set_option_errors():
    with pytest.raises(DataError, match=r"'iris' data set does not take 'n_samples'.*no options"):
        load_dataset("iris", n_samples=10)
    with pytest.raises(DataError, match=r"does not take 'factor'; it takes: n_samples, noise"):
        load_dataset("moons", factor=0.3)
    with pytest.raises(DataError, match="fixed target"):
        load_dataset("wine", target="x")
    with pytest.raises(DataError, match="n_samples must be at least"):
        load_dataset("spirals", n_samples=2, n_classes=3)
    with pytest.raises(DataError, match="noise must be a number >= 0"):
        load_dataset("xor", noise=-1)


def test_data_imports_and_works_without_sklearn(tmp_path):
    csv_file = tmp_path / "d.csv"
    csv_file.write_text("a,b,label\n1,2,x\n3,4,y\n")
    code = f"""
import sys
sys.modules["sklearn"] = None  # as if scikit-learn were not installed
import retrograd.data as d
assert d.load_dataset("xor").X.shape == (400, 2)
assert d.load_dataset("spirals").X.shape == (400, 2)
assert d.load_dataset({str(csv_file)!r}).y.tolist() == ["x", "y"]
s = d.Standardizer.from_dict({{"mean": [1.0], "scale": [2.0]}})
assert s.transform([[3.0]]).tolist() == [[1.0]]
try:
    d.load_dataset("iris")
except ImportError as e:
    assert "pip install scikit-learn" in str(e), e
else:
    raise AssertionError("iris loaded without scikit-learn")
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    out = subprocess.run(
        [sys.executable, "-c", "import sys, retrograd.data; print('sklearn' in sys.modules)"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "False"  # importing retrograd.data does not import sklearn


# ---------------------------------------------------------------------------- CSV


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_round_trips_iris_with_header_and_string_labels(tmp_path):
    from sklearn import datasets

    bunch = datasets.load_iris()
    species = bunch.target_names[bunch.target]
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    lines += [
        ",".join([*map(repr, row.tolist()), s]) for row, s in zip(bunch.data, species, strict=True)
    ]
    path = write(tmp_path, "iris.csv", "\n".join(lines) + "\n")
    spec = read_csv(path)
    np.testing.assert_array_equal(spec.X, bunch.data)
    assert spec.y.dtype.kind == "U" and spec.y.tolist() == species.tolist()
    assert spec.task == "classification" and spec.target_name == "species"
    assert spec.feature_names == lines[0].split(",")[:4]
    assert spec.classes == ["setosa", "versicolor", "virginica"]
    # with another target, the text column becomes a feature, which must be numeric
    with pytest.raises(DataError, match=r"iris\.csv, line 2: column 'species' is 'setosa', not a"):
        read_csv(path, target="sepal_length")


def test_csv_target_by_name_and_index(tmp_path):
    path = write(tmp_path, "d.csv", "y,a,b\n1,0.5,2\n0,1.5,3\n1,2.5,4\n")
    for target in ("y", 0, -3, "0"):
        spec = read_csv(path, target=target)
        assert spec.y.tolist() == [1, 0, 1] and spec.y.dtype == np.int64
        assert spec.feature_names == ["a", "b"] and spec.target_name == "y"
        np.testing.assert_array_equal(spec.X, [[0.5, 2], [1.5, 3], [2.5, 4]])
    spec = read_csv(path, target="b")
    assert spec.y.tolist() == [2, 3, 4] and spec.feature_names == ["y", "a"]
    spec = load_dataset(path, target="a")
    assert spec.task == "regression" and spec.y.tolist() == [0.5, 1.5, 2.5]


def test_csv_without_header(tmp_path):
    path = write(tmp_path, "plain.csv", "0.1,0.2,3\n0.4,0.5,4\n\n0.7,0.8,3\n")
    spec = read_csv(path)
    assert spec.X.shape == (3, 2) and spec.y.tolist() == [3, 4, 3]
    assert spec.feature_names == ["x0", "x1"] and spec.target_name == "target"
    spec = read_csv(path, target=0)
    assert spec.feature_names == ["x1", "x2"]
    np.testing.assert_array_equal(spec.y, [0.1, 0.4, 0.7])
    forced = read_csv(path, header=True)  # the first row taken as names when asked
    assert forced.X.shape == (2, 2) and forced.feature_names == ["0.1", "0.2"]


def test_csv_header_detected_with_string_target_and_text_labels_without_header(tmp_path):
    path = write(tmp_path, "s.csv", "1,2,cat\n3,4,dog\n5,6,cat\n")
    spec = read_csv(path)
    assert spec.X.shape == (3, 2) and spec.y.tolist() == ["cat", "dog", "cat"]
    path = write(tmp_path, "h.csv", "\ufeffa;b;kind\n1;2;cat\n3;4;dog\n")  # BOM, ';'
    spec = read_csv(path, delimiter=";")
    assert spec.feature_names == ["a", "b"] and spec.y.tolist() == ["cat", "dog"]
    path = write(tmp_path, "t.tsv", "a\tb\tc\n1\t2\t0.5\n3\t4\t1.5\n")
    spec = load_dataset(path)
    assert spec.feature_names == ["a", "b"] and spec.task == "regression"
    path = write(tmp_path, "q.csv", 'x,"the, label"\n"1.5",yes\n2.5,no\n')
    spec = read_csv(path, target="the, label")
    assert spec.X[:, 0].tolist() == [1.5, 2.5] and spec.y.tolist() == ["yes", "no"]


def test_task_inference():
    assert infer_task(np.array(["a", "b"])) == "classification"
    assert infer_task(np.array([0, 1, 2, 1])) == "classification"
    assert infer_task(np.array([0.0, 1.0, 1.0])) == "classification"
    assert infer_task(np.array([0.5, 1.0])) == "regression"
    assert infer_task(np.arange(100)) == "regression"
    assert infer_task(np.array([True, False])) == "classification"


def test_csv_task_override(tmp_path):
    path = write(tmp_path, "d.csv", "a,t\n1,1\n2,2\n3,1\n")
    assert read_csv(path).task == "classification"
    spec = read_csv(path, task="regression")
    assert spec.task == "regression" and spec.y.dtype == np.float64
    text = write(tmp_path, "s.csv", "a,t\n1,x\n2,y\n")
    with pytest.raises(
        DataError, match=r"s\.csv, line 2: .* is 'x', not a number, task='regression' needs"
    ):
        read_csv(text, task="regression")
    with pytest.raises(DataError, match="task must be"):
        read_csv(text, task="clustering")


@pytest.mark.parametrize(
    "text, pattern",
    [
        (
            "a,b,y\n1,2,0\n3,4\n5,6,1\n",
            r"bad\.csv, line 3: expected 3 fields \(as on line 1\), found 2",
        ),
        ("a,b,y\n1,2,0\n3,oops,1\n", r"bad\.csv, line 3: column 'b' is 'oops', not a number"),
        ("a,b,y\n1,2,0\n\n\n3,,1\n", r"bad\.csv, line 5: column 'b' is empty"),
        ("a,b,y\n1,2,0\n3,nan,1\n", r"bad\.csv, line 3: column 'b' is 'nan'; .* finite"),
        ("a,b,y\n1,2,0\n3,4,\n5,6,1\n", r"bad\.csv, line 3: the target \('y'\) is empty"),
        ("1,2,0\n3,4,1\n5,x,1\n", r"bad\.csv, line 3: column 'x1' is 'x', not a number"),
        (
            "a,b,y\n1,2,0.5\n3,4,1..5\n5,6,2.5\n",
            r"line 3: the target \('y'\) is '1\.\.5'.*task='classification'",
        ),
        ("", r"bad\.csv is empty"),
        ("\n  \n", r"bad\.csv is empty"),
        ("a,b,y\n", r"header row but no data rows"),
        ("a\n1\n2\n", r"bad\.csv, line 1: found 1 column"),
    ],
)
def test_malformed_csv_names_file_and_line(tmp_path, text, pattern):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataError, match=pattern) as e:
        read_csv(path)
    assert isinstance(e.value, ValueError)
    assert str(path) in str(e.value)


def test_csv_target_errors(tmp_path):
    path = write(tmp_path, "d.csv", "alpha,beta,label\n1,2,0\n3,4,1\n")
    with pytest.raises(
        DataError,
        match=r"no column named 'lable'; its columns are: alpha, beta, label\. Did you mean 'label'",
    ):
        read_csv(path, target="lable")
    with pytest.raises(DataError, match=r"index 3 is out of range: .* has 3 columns"):
        read_csv(path, target=3)
    plain = write(tmp_path, "p.csv", "1,2,0\n3,4,1\n")
    with pytest.raises(
        DataError, match="has no header row, so the target cannot be chosen by name"
    ):
        read_csv(plain, target="label")
    with pytest.raises(TypeError, match="column name or index"):
        read_csv(plain, target=1.5)


def test_csv_features_for_prediction(tmp_path):
    path = write(tmp_path, "new.csv", "a, b ,c\n1,2,3\n4,5,6\n")
    X, names = read_csv_features(path)
    assert names == ["a", "b", "c"] and X.tolist() == [[1, 2, 3], [4, 5, 6]]
    X, names = read_csv_features(path, drop="b")
    assert names == ["a", "c"] and X.tolist() == [[1, 3], [4, 6]]
    X, names = read_csv_features(write(tmp_path, "one.csv", "0.5\n1.5\n"))
    assert names == ["x0"] and X.tolist() == [[0.5], [1.5]]
    with pytest.raises(DataError, match=r"bad\.csv, line 3: column 'b' is 'x', not a number"):
        read_csv_features(write(tmp_path, "bad.csv", "a,b\n1,2\n3,x\n"))
    with pytest.raises(DataError, match="no feature columns are left"):
        read_csv_features(write(tmp_path, "one.csv", "0.5\n1.5\n"), drop=0)


def test_csv_binary_and_missing_files(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    with pytest.raises(DataError, match=r"bin\.csv is not a UTF-8 text file"):
        read_csv(path)
    with pytest.raises(FileNotFoundError):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"no such file or folder: .*nope\.csv"):
        load_dataset(str(tmp_path / "nope.csv"))
    with pytest.raises(DataError, match="does not take 'split'"):
        load_dataset(write(tmp_path, "ok.csv", "1,2\n3,4\n"), split="train")


# ---------------------------------------------------------------------------- .npz


def test_npz_round_trip(tmp_path):
    r = np.random.default_rng(0)
    X = r.standard_normal((20, 3))
    y = np.array(["b", "a"] * 10)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y, feature_names=np.array(["p", "q", "r"]))
    spec = load_dataset(path)
    np.testing.assert_array_equal(spec.X, X)
    assert spec.y.tolist() == y.tolist() and spec.task == "classification"
    assert spec.feature_names == ["p", "q", "r"] and spec.name == "d.npz"
    images = r.integers(0, 255, (10, 4, 4), dtype=np.uint8)
    np.savez_compressed(path, X=images, y=np.linspace(0, 1, 10))
    spec = read_npz(path)
    assert spec.X.shape == (10, 16) and spec.X.dtype == np.float64
    np.testing.assert_array_equal(spec.X, images.reshape(10, -1))
    assert spec.task == "regression" and spec.feature_names[0] == "x0"
    np.savez(path, X=X.astype(np.float32), y=np.arange(20)[:, None] % 3)
    spec = read_npz(path, task="classification")
    assert spec.X.dtype == np.float32 and spec.y.tolist() == (np.arange(20) % 3).tolist()


def test_npz_errors(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, features=np.zeros((2, 2)), labels=np.zeros(2))
    with pytest.raises(
        DataError, match=r"no array named 'X' or 'y' \(it holds: features, labels\)"
    ):
        read_npz(path)
    np.savez(path, X=np.zeros((3, 2)), y=np.array([1, "a", None], dtype=object))
    with pytest.raises(DataError, match=r"cannot read array 'y'.*never unpickles"):
        read_npz(path)
    np.savez(path, X=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match="X has 3 samples but y has 4"):
        read_npz(path)
    np.savez(path, X=np.zeros(3), y=np.zeros(3))
    with pytest.raises(DataError, match="shape"):
        read_npz(path)
    np.savez(path, X=np.array([[1.0, np.nan]]), y=np.zeros(1))
    with pytest.raises(DataError, match="non-finite"):
        read_npz(path)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(DataError, match=r"\.npy file, which holds one array"):
        load_dataset(tmp_path / "one.npy")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match=r"junk\.npz is not a readable \.npz archive"):
        read_npz(tmp_path / "junk.npz")
    with pytest.raises(DataError, match="target= is for CSV files"):
        load_dataset(tmp_path / "d.npz", target=0)


# ---------------------------------------------------------------------------- IDX

IDX_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``, written independently of the reader."""
    code = IDX_CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    r = np.random.default_rng(0)
    array = (r.standard_normal((3, 4, 5)) * 100).astype(dtype)
    got = read_idx(write_idx(tmp_path / "a-idx3-ubyte", array, gz))
    assert got.dtype == np.dtype(dtype).newbyteorder("=") and got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, array)
    got[0, 0, 0] = 1  # a writable copy, not a view of the file's bytes
    labels = np.array([7, 0, 255], dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l", labels, gz)), labels)


def make_mnist_folder(folder: Path, n_train=12, n_test=5, gz=True, dot=False) -> dict:
    folder.mkdir(exist_ok=True)
    r = np.random.default_rng(1)
    parts = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = r.integers(0, 256, (n, 4, 3), dtype=np.uint8)
        labels = r.integers(0, 10, n, dtype=np.uint8)
        sep = "." if dot else "-"
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{prefix}-images{sep}idx3-ubyte{suffix}", images, gz)
        write_idx(folder / f"{prefix}-labels{sep}idx1-ubyte{suffix}", labels, gz)
        parts[prefix] = (images, labels)
    return parts


@pytest.mark.parametrize("gz, dot", [(True, False), (False, False), (False, True)])
def test_idx_folder_like_mnist(tmp_path, gz, dot):
    parts = make_mnist_folder(tmp_path / "mnist", gz=gz, dot=dot)
    spec = load_dataset(tmp_path / "mnist")
    images, labels = parts["train"]
    assert spec.X.shape == (12, 12) and spec.X.dtype == np.float32
    assert spec.X.min() >= 0 and spec.X.max() <= 1
    np.testing.assert_allclose(spec.X, images.reshape(12, -1) / 255.0, rtol=1e-6)
    assert spec.y.dtype == np.int64 and spec.y.tolist() == labels.tolist()
    assert spec.task == "classification" and spec.feature_names[-1] == "pixel11"
    test = read_idx_folder(tmp_path / "mnist", split="test")
    assert test.X.shape == (5, 12) and test.y.tolist() == parts["t10k"][1].tolist()
    both = load_dataset(str(tmp_path / "mnist"), split="all")
    assert both.X.shape == (17, 12)
    assert both.y.tolist() == parts["train"][1].tolist() + parts["t10k"][1].tolist()


def test_idx_errors_name_the_file(tmp_path):
    good = idx_bytes(np.zeros((4, 2, 2), np.uint8))
    cases = {
        "truncated-data": (
            good[:-3],
            r"is truncated: its header declares shape \(4, 2, 2\) of uint8, 16 bytes of data, but only 13",
        ),
        "truncated-header": (good[:9], "is truncated: its header declares 3 dimensions"),
        "bad-magic": (b"\x08\x03\x00\x00" + good[4:], "bad magic number 0x08030000"),
        "bad-type": (b"\x00\x00\x07\x03" + good[4:], "bad magic number 0x00000703"),
        "tiny": (b"\x00\x00", "fewer than the 4-byte magic"),
        "extra": (good + b"\x00\x00", "2 bytes more than its header"),
        "bad-gzip": (gzip.compress(good)[:-10], "gzip data is damaged or truncated"),
    }
    for name, (data, pattern) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DataError, match=pattern) as e:
            read_idx(path)
        assert str(path) in str(e.value), name


def test_idx_folder_errors(tmp_path):
    folder = tmp_path / "m"
    make_mnist_folder(folder, gz=False)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(
        DataError, match=r"lacks the t10k-images and t10k-labels .*found: .*train-images"
    ):
        read_idx_folder(folder, split="test")
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="holds 5 images but t10k-labels-idx1-ubyte 3 labels"):
        read_idx_folder(folder, split="test")
    with pytest.raises(DataError, match="split must be one of"):
        read_idx_folder(folder, split="validation")
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte is not an IDX file"):
        load_dataset(folder)
    with pytest.raises(DataError, match="target= is for CSV files"):
        load_dataset(folder, target="label")


# ---------------------------------------------------------------------------- splits


def imbalanced(n_per_class=(300, 150, 50), labels=("a", "b", "c")):
    y = np.concatenate([np.full(n, lab) for n, lab in zip(n_per_class, labels, strict=True)])
    X = np.arange(len(y), dtype=np.float64)[:, None]  # the sample's own index, to track it
    return X, y


def test_stratified_split_keeps_class_proportions():
    X, y = imbalanced()
    s = train_val_test_split(X, y, val_size=0.2, test_size=0.1, task="classification", seed=0)
    assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (350, 100, 50)
    for Xp, yp in ((s.X_train, s.y_train), (s.X_val, s.y_val), (s.X_test, s.y_test)):
        np.testing.assert_array_equal(y[Xp[:, 0].astype(int)], yp)  # rows stay paired
        counts = {lab: int(np.sum(yp == lab)) for lab in "abc"}
        for lab, total in zip("abc", (300, 150, 50), strict=True):
            assert abs(counts[lab] - total * len(yp) / 500) <= 1, (counts, len(yp))
    used = np.concatenate([s.X_train, s.X_val, s.X_test])[:, 0]
    assert sorted(used.tolist()) == list(range(500))  # disjoint and complete
    again = train_val_test_split(X, y, 0.2, 0.1, "classification", 0)
    np.testing.assert_array_equal(again.X_val, s.X_val)
    other = train_val_test_split(X, y, 0.2, 0.1, "classification", 1)
    assert not np.array_equal(other.X_val, s.X_val)


def test_split_test_part_is_sklearns():
    from sklearn.model_selection import train_test_split

    X, y = imbalanced()
    s = train_val_test_split(X, y, val_size=0.2, test_size=0.1, seed=5)
    _, X_test, _, _ = train_test_split(X, y, test_size=50, random_state=5, stratify=y)
    np.testing.assert_array_equal(s.X_test, X_test)


def test_regression_split_and_empty_parts():
    r = np.random.default_rng(0)
    X, y = r.standard_normal((50, 3)), r.standard_normal(50)
    s = train_val_test_split(X, y, val_size=10, test_size=0.0, task="regression", seed=0)
    assert s.X_train.shape == (40, 3) and s.X_val.shape == (10, 3) and s.X_test.shape == (0, 3)
    assert s.y_test.shape == (0,)
    none = train_val_test_split(X, y, 0, 0, "regression")
    np.testing.assert_array_equal(none.X_train, X)


def test_split_too_small_for_the_classes():
    X, y = imbalanced((40, 30, 30), labels=(0, 1, 2))
    with pytest.raises(
        DataError,
        match=r"the validation split is too small to hold every class: it has 2 samples \(val_size=0\.02\) but y has 3 classes",
    ):
        train_val_test_split(X, y, val_size=0.02)
    with pytest.raises(DataError, match=r"test split is too small .* 1 samples .* 3 classes"):
        train_val_test_split(X, y, val_size=0.2, test_size=1)
    with pytest.raises(DataError, match=r"training split is too small .* 2 samples"):
        train_val_test_split(X, y, val_size=49, test_size=49)
    y[0] = 9
    with pytest.raises(
        DataError, match=r"class 9 has only 1 sample\(s\), but a stratified split into 2 parts"
    ):
        train_val_test_split(X, y, val_size=0.2)
    with pytest.raises(DataError, match="pass task='regression'"):
        train_val_test_split(X, np.linspace(0, 1, 100), val_size=0.2)
    with pytest.raises(DataError, match="no training samples"):
        train_val_test_split(X, y, val_size=0.5, test_size=0.5)
    with pytest.raises(DataError, match=r"val_size=1\.5 must be a fraction"):
        train_val_test_split(X, y, val_size=1.5)
    with pytest.raises(DataError, match="task must be"):
        train_val_test_split(X, y, task="ranking")


# ---------------------------------------------------------------------------- Standardizer


def test_standardizer_matches_sklearn_and_round_trips_json():
    from sklearn.preprocessing import StandardScaler

    r = np.random.default_rng(0)
    X_train = r.standard_normal((40, 5)) * [1, 10, 100, 0.1, 0] + [0, 5, -3, 1, 7]
    X_val = r.standard_normal((10, 5))
    s = Standardizer().fit(X_train)
    ref = StandardScaler().fit(X_train)
    np.testing.assert_allclose(s.transform(X_train), ref.transform(X_train), rtol=1e-12)
    np.testing.assert_allclose(s.transform(X_val), ref.transform(X_val), rtol=1e-12)
    assert s.scale_[4] == 1.0  # a constant feature is left unscaled
    state = json.loads(json.dumps(s.to_dict()))
    assert set(state) == {"mean", "scale"} and all(isinstance(v, float) for v in state["mean"])
    loaded = Standardizer.from_dict(state)
    np.testing.assert_array_equal(loaded.transform(X_val), s.transform(X_val))  # bit for bit
    np.testing.assert_allclose(loaded.inverse_transform(loaded.transform(X_val)), X_val, atol=1e-12)
    assert loaded.n_features_in_ == 5
    assert s.transform(X_val.astype(np.float32)).dtype == np.float32


def test_standardizer_errors():
    s = Standardizer().fit(np.ones((3, 64)))
    with pytest.raises(DataError, match="^the model expects 64 features, the data has 10$"):
        s.transform(np.ones((2, 10)))
    with pytest.raises(DataError, match="2-D"):
        s.transform(np.ones(64))
    with pytest.raises(RuntimeError, match="call fit"):
        Standardizer().transform(np.ones((1, 1)))
    with pytest.raises(DataError, match="'mean' and 'scale'"):
        Standardizer.from_dict({"mean": [0.0]})
    with pytest.raises(DataError, match="equal length"):
        Standardizer.from_dict({"mean": [0.0], "scale": [1.0, 2.0]})
    with pytest.raises(DataError, match="scale finite and > 0"):
        Standardizer.from_dict({"mean": [0.0], "scale": [0.0]})


# ---------------------------------------------------------------------------- LabelEncoder


@pytest.mark.parametrize(
    "labels, expected_classes",
    [
        (["dog", "cat", "dog", "bird"], ["bird", "cat", "dog"]),
        ([3, 1, 3, 10], [1, 3, 10]),
        ([2.5, 1.0, 2.5], [1.0, 2.5]),
        ([True, False, True], [False, True]),
    ],
)
def test_label_encoder_round_trips_json_with_types(labels, expected_classes):
    enc = LabelEncoder().fit(np.array(labels))
    assert enc.classes == expected_classes
    assert [type(c) for c in enc.classes] == [type(c) for c in expected_classes]
    idx = enc.transform(labels)
    assert idx.dtype == np.int64
    assert [expected_classes[i] for i in idx] == list(labels)
    state = json.loads(json.dumps(enc.to_dict()))
    loaded = LabelEncoder.from_dict(state)
    assert loaded.classes == expected_classes
    assert [type(c) for c in loaded.classes] == [type(c) for c in expected_classes]
    back = loaded.inverse_transform(idx).tolist()
    assert back == list(labels) and [type(v) for v in back] == [type(v) for v in labels]
    np.testing.assert_array_equal(loaded.transform(labels), idx)


def test_label_encoder_matches_sklearn():
    from sklearn.preprocessing import LabelEncoder as SkLabelEncoder

    r = np.random.default_rng(0)
    y = r.choice(["x", "aa", "b", "Z"], 100)
    ours, theirs = LabelEncoder().fit(y), SkLabelEncoder().fit(y)
    assert ours.classes == theirs.classes_.tolist()
    np.testing.assert_array_equal(ours.transform(y), theirs.transform(y))


def test_label_encoder_errors():
    enc = LabelEncoder().fit(["a", "b"])
    with pytest.raises(
        DataError, match=r"unknown class label 'c': the model knows 2 classes \('a', 'b'\)"
    ):
        enc.transform(["a", "c"])
    with pytest.raises(DataError, match="unknown class label 1"):
        enc.transform([1])
    with pytest.raises(DataError, match="0..1"):
        enc.inverse_transform([2])
    with pytest.raises(DataError, match="mix of int, str"):
        LabelEncoder().fit(np.array([1, "a"], dtype=object))
    with pytest.raises(DataError, match="NaN"):
        LabelEncoder().fit([1.0, np.nan])
    with pytest.raises(DataError, match="sorted and distinct"):
        LabelEncoder.from_dict({"classes": ["b", "a"]})
    with pytest.raises(DataError, match="must all be strings"):
        LabelEncoder.from_dict({"classes": [1, "a"]})
    with pytest.raises(RuntimeError, match="call fit"):
        LabelEncoder().transform([1])
    ints = LabelEncoder().fit([0, 1, 2])
    np.testing.assert_array_equal(ints.transform(np.array([2.0, 0.0])), [2, 0])


# ---------------------------------------------------------------------------- all together


def test_csv_to_batches_end_to_end(tmp_path):
    r = np.random.default_rng(0)
    X = r.standard_normal((60, 3)) * 5 + 2
    labels = np.array(["no", "yes", "maybe"])[np.arange(60) % 3]
    rows = ["f1,f2,f3,answer"] + [
        ",".join([*map(repr, x.tolist()), lab]) for x, lab in zip(X, labels, strict=True)
    ]
    path = write(tmp_path, "survey.csv", "\n".join(rows))
    spec = load_dataset(str(path), target="answer")
    parts = train_val_test_split(spec.X, spec.y, val_size=0.25, task=spec.task, seed=0)
    scaler = Standardizer().fit(parts.X_train)
    encoder = LabelEncoder().fit(parts.y_train)
    train = TensorDataset(
        rg.tensor(scaler.transform(parts.X_train), dtype=rg.float32),
        rg.tensor(encoder.transform(parts.y_train)),
    )
    rg.manual_seed(0)
    batches = list(DataLoader(train, batch_size=16, shuffle=True))
    assert [len(yb) for _, yb in batches] == [16, 16, 13]
    xb, yb = batches[0]
    assert xb.dtype == rg.float32 and yb.dtype == rg.int64
    np.testing.assert_allclose(scaler.transform(parts.X_train).mean(0), 0, atol=1e-12)
    # the stored state reproduces validation features and labels after a JSON trip
    meta = json.loads(json.dumps({"scaler": scaler.to_dict(), "labels": encoder.to_dict()}))
    val_X = Standardizer.from_dict(meta["scaler"]).transform(parts.X_val)
    np.testing.assert_array_equal(val_X, scaler.transform(parts.X_val))
    decoded = LabelEncoder.from_dict(meta["labels"]).inverse_transform(
        encoder.transform(parts.y_val)
    )
    assert decoded.tolist() == parts.y_val.tolist()
    assert sorted(set(parts.y_val.tolist())) == ["maybe", "no", "yes"]


# ---------------------------------------------------------------------------- torch.utils.data's API


def test_retrograd_utils_data_re_exports_the_data_classes():
    import retrograd.data
    import retrograd.utils.data as data
    from retrograd.utils.data import (  # the names PyTorch scripts import
        BatchSampler,
        ConcatDataset,
        DataLoader,
        Dataset,
        RandomSampler,
        Sampler,
        SequentialSampler,
        Subset,
        SubsetRandomSampler,
        TensorDataset,
        WeightedRandomSampler,
        default_collate,
        random_split,
    )

    for obj in [
        BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler, Sampler,
        SequentialSampler, Subset, SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
        default_collate, random_split,
    ]:  # fmt: skip
        assert getattr(retrograd.data, obj.__name__) is obj  # the same objects, not copies
    for name in data.__all__:
        assert hasattr(tud, name), f"torch.utils.data has no {name}"
    # `torch.utils.data.DataLoader` works after a bare `import torch`; so must this
    code = "import retrograd as torch; print(torch.utils.data.DataLoader.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "retrograd.data.dataloader"


def torch_and_ours(make):
    """``make(lib)`` with lib = retrograd.utils.data, then torch.utils.data."""
    import retrograd.utils.data as ours

    return make(ours), make(tud)


def numpy_pair(n=11):
    X, y = tensor_data(n)
    return (
        TensorDataset(rg.tensor(X), rg.tensor(y)),
        tud.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(batch_size=3, sampler=[5, 1, 1, 9, 0, 3, 2]),
        dict(batch_size=None, sampler=[4, 2]),
        dict(batch_sampler=[[0, 1, 2], [10], [5, 5, 4, 3]]),
        dict(batch_size=4, drop_last=True, pin_memory=True, timeout=0, worker_init_fn=print),
        dict(batch_size=2, num_workers=0, prefetch_factor=None, persistent_workers=False),
        dict(batch_size=2, shuffle=False, in_order=False, pin_memory_device=""),
    ],
    ids=["sampler", "sampler-unbatched", "batch_sampler", "accepted", "workers-off", "in_order"],
)
@pytest.mark.parametrize("generic", [False, True], ids=["tensor", "generic"])
@pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true")  # torch's, no GPU
def test_loader_options_give_torchs_batches(kwargs, generic):
    if generic:
        X, y = tensor_data(11)
        ours_ds, their_ds = PairDataset(X, y), PairDataset(X, y)
    else:
        ours_ds, their_ds = numpy_pair()
    ours, theirs = DataLoader(ours_ds, **kwargs), tud.DataLoader(their_ds, **kwargs)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want) > 0
    for a, b in zip(got, want, strict=True):
        assert_same_batch(a, b)


def test_loader_with_samplers_objects_gives_torchs_batches():
    for make in [
        lambda lib, ds: lib.BatchSampler(lib.SequentialSampler(ds), 4, drop_last=False),
        lambda lib, ds: lib.BatchSampler(range(10, 0, -2), 2, drop_last=True),
        lambda lib, ds: lib.BatchSampler([3, 4, 5], 5, drop_last=False),
    ]:
        import retrograd.utils.data as ours_lib

        ours_ds, their_ds = numpy_pair()
        ours = DataLoader(ours_ds, batch_sampler=make(ours_lib, ours_ds))
        theirs = tud.DataLoader(their_ds, batch_sampler=make(tud, their_ds))
        assert len(ours) == len(theirs)
        for a, b in zip(list(ours), list(theirs), strict=True):
            assert_same_batch(a, b)


def test_sequential_and_batch_samplers_equal_torchs():
    for n, size, drop_last in [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False)]:
        ours, theirs = torch_and_ours(
            lambda lib, n=n, size=size, drop_last=drop_last: lib.BatchSampler(
                lib.SequentialSampler(range(n)), size, drop_last
            )
        )
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        assert list(ours.sampler) == list(theirs.sampler) == list(range(n))


def test_random_samplers_draw_from_the_generator():
    data = range(10)
    a = rg.utils.data.RandomSampler(data, generator=rg.Generator(3))
    b = rg.utils.data.RandomSampler(data, generator=rg.Generator(3))
    first = list(a)
    assert sorted(first) == list(range(10)) and first == list(b) and first != list(range(10))
    assert list(a) != first  # a fresh order each pass
    assert len(a) == 10
    long = list(rg.utils.data.RandomSampler(data, num_samples=25, generator=rg.Generator(0)))
    counts = np.bincount(long, minlength=10)
    assert len(long) == 25 and counts.min() == 2 and counts.max() == 3  # 2 whole + 5 more
    drawn = list(rg.utils.data.RandomSampler(data, True, num_samples=200))
    assert len(drawn) == 200 and set(drawn) <= set(range(10))
    sub = list(rg.utils.data.SubsetRandomSampler([7, 2, 9], generator=rg.Generator(1)))
    assert sorted(sub) == [2, 7, 9]


def test_weighted_random_sampler_follows_the_weights():
    gen = rg.Generator(0)
    sampler = rg.utils.data.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=gen)
    drawn = np.array(list(sampler))
    assert len(sampler) == 4000 and 0 not in drawn
    assert abs((drawn == 2).mean() - 0.75) < 0.03
    unique = list(rg.utils.data.WeightedRandomSampler([1, 1, 5, 0], 3, replacement=False))
    assert sorted(unique) == [0, 1, 2]
    # torch's draws come from its own generator: only the law is the same
    theirs = np.array(list(tud.WeightedRandomSampler([0.0, 1.0, 3.0], 4000)))
    assert abs((theirs == 2).mean() - 0.75) < 0.03


def test_shuffle_goes_through_a_random_sampler_with_the_same_stream():
    # the order of a shuffled pass is the generator's next permutation, as before
    ds = TensorDataset(*tensor_data(20))
    loader = DataLoader(ds, batch_size=6, shuffle=True, generator=rg.Generator(4))
    assert isinstance(loader.sampler, rg.utils.data.RandomSampler)
    assert isinstance(loader.batch_sampler, rg.utils.data.BatchSampler)
    expected = rg.Generator(4).np.permutation(20).tolist()
    assert flatten(epoch_labels(loader)) == expected
    plain = DataLoader(ds, batch_size=6)
    assert isinstance(plain.sampler, rg.utils.data.SequentialSampler)


class Stream(rg.utils.data.IterableDataset):
    def __init__(self, n, lib):
        self.n, self.lib = n, lib

    def __iter__(self):
        return iter({"x": np.full(2, i, np.float32), "i": i} for i in range(self.n))


class TorchStream(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter({"x": np.full(2, i, np.float32), "i": i} for i in range(self.n))


@pytest.mark.parametrize("kwargs", [dict(batch_size=3), dict(batch_size=3, drop_last=True), {}])
def test_iterable_dataset_batches_like_torch(kwargs):
    ours = list(DataLoader(Stream(8, rg), **kwargs))
    theirs = list(tud.DataLoader(TorchStream(8), **kwargs))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert_same_batch(a, b)
    unbatched = list(DataLoader(Stream(3, rg), batch_size=None))
    assert [s["i"] for s in unbatched] == [0, 1, 2]


def test_concat_dataset_and_dataset_sum_index_like_torch():
    a, b = PairDataset(*tensor_data(3)), PairDataset(*tensor_data(4, seed=1))
    ours = rg.utils.data.ConcatDataset([a, b])
    theirs = tud.ConcatDataset([a, b])
    assert len(ours) == len(theirs) == 7 and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in [*range(7), -1, -7]:
        (x, label), (tx, tlabel) = ours[i], theirs[i]
        np.testing.assert_array_equal(x, tx)
        assert label == tlabel
    summed = TensorDataset(*tensor_data(2)) + TensorDataset(*tensor_data(3))
    assert isinstance(summed, rg.utils.data.ConcatDataset) and len(summed) == 5
    batches = list(DataLoader(ours, batch_size=4))
    assert [len(y) for _, y in batches] == [4, 3]
    for i in (7, -8):
        with pytest.raises((IndexError, ValueError)):
            ours[i]
        with pytest.raises((IndexError, ValueError)):
            theirs[i]


def test_nested_collation_matches_torch():
    r = np.random.default_rng(5)
    samples = [
        {
            "image": r.standard_normal((2, 2)).astype(np.float32),
            "meta": {"id": i, "scale": 0.5 * i, "ok": i % 2 == 0},
            "pair": [rg.tensor(np.arange(3.0) + i), np.int64(i)],
            "name": f"s{i}",
        }
        for i in range(4)
    ]
    tsamples = [
        {**s, "pair": [torch.from_numpy(s["pair"][0].array.copy()), s["pair"][1]]} for s in samples
    ]
    assert_same_batch(default_collate(samples), tud.default_collate(tsamples))
    ours = list(DataLoader(samples, batch_size=3))  # a list is a map-style data set
    theirs = list(tud.DataLoader(tsamples, batch_size=3))
    for a, b in zip(ours, theirs, strict=True):
        assert_same_batch(a, b)


def test_default_collate_keeps_tuples_where_torch_gives_lists():
    # a documented difference: a tuple sample gives a tuple batch (torch: a list)
    ours = default_collate([(1, 2.0), (3, 4.0)])
    theirs = tud.default_collate([(1, 2.0), (3, 4.0)])
    assert isinstance(ours, tuple) and isinstance(theirs, list)
    assert_same_batch(ours, theirs)


LOADER_ERRORS = [
    (dict(batch_sampler=[[0]], batch_size=2), ValueError, "batch_sampler option is mutually"),
    (dict(batch_sampler=[[0]], shuffle=True), ValueError, "batch_sampler option is mutually"),
    (dict(batch_sampler=[[0]], sampler=[0]), ValueError, "batch_sampler option is mutually"),
    (dict(batch_sampler=[[0]], drop_last=True), ValueError, "batch_sampler option is mutually"),
    (dict(sampler=[0], shuffle=True), ValueError, "sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), ValueError, "mutually exclusive with drop_last"),
    (dict(num_workers=-1), ValueError, "num_workers option should be non-negative"),
    (dict(timeout=-1), ValueError, "timeout option should be non-negative"),
    (dict(prefetch_factor=2), ValueError, "prefetch_factor option could only be specified"),
    (dict(persistent_workers=True), ValueError, "persistent_workers option needs num_workers"),
    (dict(multiprocessing_context="spawn"), ValueError, "multiprocessing_context can only"),
]


@pytest.mark.parametrize(
    "kwargs,exc,message", LOADER_ERRORS, ids=[str(c[0]) for c in LOADER_ERRORS]
)
def test_loader_argument_rules_are_torchs(kwargs, exc, message):
    ours_ds, their_ds = numpy_pair()
    with pytest.raises(exc, match=message):
        DataLoader(ours_ds, **kwargs)
    with pytest.raises(exc, match=message):
        tud.DataLoader(their_ds, **kwargs)


def test_loader_refuses_worker_processes_naming_the_option():
    ds = TensorDataset(*tensor_data(4))
    with pytest.raises(ValueError, match=r"num_workers=2\) is not supported: .*main process"):
        DataLoader(ds, num_workers=2)
    with pytest.raises(ValueError, match="pin_memory_device='cuda' is not supported"):
        DataLoader(ds, pin_memory=True, pin_memory_device="cuda")
    # torch accepts a timeout without workers, then fails at the first batch
    with pytest.raises(ValueError, match="timeout=5 applies to worker processes"):
        DataLoader(ds, timeout=5)
    with pytest.raises(AssertionError, match="requires timeout == 0"):
        list(tud.DataLoader(tud.TensorDataset(torch.zeros(2)), timeout=5))
    with pytest.raises(TypeError, match="worker_init_fn must be callable"):
        DataLoader(ds, worker_init_fn=3)
    with pytest.raises(TypeError, match="batch_sampler must be an iterable of index lists"):
        DataLoader(ds, batch_sampler=iter([[0]]))


def test_iterable_dataset_refuses_an_order_like_torch():
    for kwargs in [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])]:
        name = next(iter(kwargs))
        with pytest.raises(ValueError, match=f"expected unspecified {name} option"):
            DataLoader(Stream(3, rg), **kwargs)
        with pytest.raises(ValueError, match=f"expected unspecified {name} option"):
            tud.DataLoader(TorchStream(3), **kwargs)
    with pytest.raises(TypeError):
        len(DataLoader(Stream(3, rg)))


SAMPLER_ERRORS = [
    (lambda lib: lib.BatchSampler(range(3), 0, False), ValueError, "batch_size should be a"),
    (lambda lib: lib.BatchSampler(range(3), 2, "no"), ValueError, "drop_last should be a"),
    (lambda lib: lib.RandomSampler(range(3), replacement=1), TypeError, "replacement should be"),
    (lambda lib: lib.RandomSampler(range(3), num_samples=0), ValueError, "num_samples should"),
    (lambda lib: lib.RandomSampler([]), ValueError, "num_samples should be a positive integer"),
    (lambda lib: lib.WeightedRandomSampler([1.0], 0), ValueError, "num_samples should be a"),
    (lambda lib: lib.WeightedRandomSampler([[1.0]], 2), ValueError, "weights should be a 1d"),
]


@pytest.mark.parametrize("make,exc,message", SAMPLER_ERRORS)
def test_sampler_and_concat_errors_are_torchs(make, exc, message):
    import retrograd.utils.data as ours

    with pytest.raises(exc, match=message):
        make(ours)
    with pytest.raises(exc, match=message):
        make(tud)


def test_concat_of_nothing_is_refused():
    with pytest.raises(ValueError, match="datasets should not be an empty iterable"):
        rg.utils.data.ConcatDataset([])
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        tud.ConcatDataset([])


def test_sampler_base_must_be_overridden():
    with pytest.raises(NotImplementedError, match="Half must implement __iter__"):

        class Half(rg.utils.data.Sampler):
            pass

        iter(Half())
    with pytest.raises(NotImplementedError):
        iter(rg.utils.data.IterableDataset())
