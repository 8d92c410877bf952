"""Feature names in the Python API, as scikit-learn checks ``feature_names_in_``.

``TrainedModel.predict`` matches a DataFrame's columns to the training features by
name (a regression test: it used to take them in order, silently wrong when the
order differed), with the name check the CLI applies to a CSV header
(:func:`retrograd.data.spec.match_feature_names`). The scikit-learn estimators must
behave exactly as scikit-learn's own: the same errors and warnings.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from retrograd import pipeline
from retrograd.data.spec import match_feature_names

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def iris_model() -> pipeline.TrainedModel:
    return pipeline.train("iris", hidden=(8,), epochs=3, quiet=True).model


@pytest.fixture(scope="module")
def iris_frame(iris_model) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = rng.normal([5.8, 3.0, 3.8, 1.2], [0.8, 0.4, 1.8, 0.8], size=(30, 4))
    return pd.DataFrame(X, columns=iris_model.feature_names)


def test_a_dataframe_s_columns_are_matched_by_name_in_any_order(iris_model, iris_frame):
    assert iris_model.named_features
    shuffled = iris_frame[iris_frame.columns[[2, 0, 3, 1]]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # names on both sides: nothing to warn of
        expected = iris_model.predict(iris_frame)
        proba = iris_model.predict_proba(iris_frame)
        assert np.array_equal(iris_model.predict(shuffled), expected)
        assert np.array_equal(iris_model.predict_proba(shuffled), proba)
        assert iris_model.score(shuffled, expected) == 1.0
    # taken in order, the shuffled columns would predict something else
    assert not np.array_equal(iris_model.predict_proba(shuffled.to_numpy()), proba)


def test_missing_and_unexpected_columns_are_refused_naming_them(iris_model, iris_frame):
    names = [re.escape(n) for n in iris_model.feature_names]
    with pytest.raises(ValueError, match=rf"TrainedModel.predict: X .*missing {names[3]}"):
        iris_model.predict(iris_frame.drop(columns=iris_model.feature_names[3]))
    extra = iris_frame.assign(species=0)
    with pytest.raises(ValueError, match=r"5 feature columns.*unexpected species"):
        iris_model.predict_proba(extra)
    renamed = iris_frame.rename(columns={iris_model.feature_names[0]: "sepal"})
    with pytest.raises(ValueError, match=rf"missing {names[0]}; unexpected sepal"):
        iris_model.predict(renamed)
    mixed = iris_frame.set_axis([*iris_model.feature_names[:3], 3], axis=1)
    with pytest.raises(TypeError, match=r"mix strings and other types \(int, str\)"):
        iris_model.predict(mixed)
    twice = pd.concat([iris_frame, iris_frame[[iris_model.feature_names[0]]]], axis=1)
    with pytest.raises(ValueError, match=rf"more than one column named {names[0]}"):
        iris_model.predict(twice)


def test_numpy_input_is_taken_in_order_without_a_warning(iris_model, iris_frame):
    # scikit-learn warns here ("X does not have valid feature names"); retrograd does
    # not: a DataSpec's X, the usual input, is an array in the training order.
    X = iris_frame.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = iris_model.predict(X)
        assert np.array_equal(pred, iris_model.predict(iris_frame))
        # integer column labels are positions, as in scikit-learn
        assert np.array_equal(iris_model.predict(pd.DataFrame(X)), pred)
        shuffled = pd.DataFrame(X[:, ::-1], columns=[3, 2, 1, 0])
        assert not np.array_equal(iris_model.predict_proba(shuffled),
                                  iris_model.predict_proba(X))  # fmt: skip


def test_names_given_to_a_model_without_names_warn_and_go_in_order():
    model = pipeline.train("moons", hidden=(8,), epochs=2, quiet=True).model
    assert not model.named_features
    X = np.random.default_rng(1).normal(size=(10, 2))
    frame = pd.DataFrame(X[:, ::-1], columns=["b", "a"])
    with pytest.warns(UserWarning, match="^X has feature names, but TrainedModel was fitted "
                      "without feature names$") as record:  # fmt: skip
        pred = model.predict(frame)
    assert record[0].filename == __file__  # points at the caller of predict
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(pred, model.predict(X[:, ::-1]))


def test_training_scores_its_own_arrays_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        pipeline.train("iris", hidden=(4,), epochs=1, quiet=True)


def test_match_feature_names():
    assert match_feature_names(["a", "b"], ["a", "b"], "t") is None
    assert match_feature_names(["a", "b", "c"], ["c", "a", "b"], "t") == [1, 2, 0]
    with pytest.raises(ValueError, match=r"^t's columns do not match .* by name: missing b; "
                       r"unexpected x \(the model's: a, b\)$"):  # fmt: skip
        match_feature_names(["a", "b"], ["a", "x"], "t")
    with pytest.raises(ValueError, match=r"unexpected y \(the model.s: a\); drop it$"):
        match_feature_names(["a"], ["a", "y"], "t", "; drop it")
    with pytest.raises(ValueError, match=r"^t has more than one column named a$"):
        match_feature_names(["a", "b"], ["a", "a"], "t")


# ---------------------------------------------------------------- retrograd.sklearn


def _raised(call):
    try:
        call()
    except ValueError as e:
        return str(e)
    return None


@pytest.mark.parametrize("kind", ["MLPClassifier", "MLPRegressor"])
def test_sklearn_estimators_check_feature_names_as_scikit_learn_does(kind):
    import sklearn.neural_network as sk_nn

    import retrograd.sklearn as rg_sk

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0).astype(int)
    options = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    ours, theirs = (getattr(m, kind)(**options) for m in (rg_sk, sk_nn))
    for est in (ours, theirs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # not converged in 2 iterations
            est.fit(X, y)
    assert list(ours.feature_names_in_) == list(theirs.feature_names_in_) == ["a", "b", "c"]
    for bad in (X[["c", "a", "b"]], X[["a", "b"]], X.assign(d=1.0), X.rename(columns={"a": "z"})):
        got, want = _raised(lambda: ours.predict(bad)), _raised(lambda: theirs.predict(bad))
        assert want is not None and got == want
    for other in (X.to_numpy(),):
        with pytest.warns(UserWarning) as ours_w:
            ours.predict(other)
        with pytest.warns(UserWarning) as theirs_w:
            theirs.predict(other)
        assert [str(w.message).replace(kind, "") for w in ours_w] == [
            str(w.message).replace(kind, "") for w in theirs_w
        ]
    # fitted without names: a DataFrame warns, and a refit on arrays forgets the names
    for est in (ours, theirs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X.to_numpy(), y)
        assert not hasattr(est, "feature_names_in_")
        with pytest.warns(UserWarning, match="X has feature names, but"):
            est.predict(X)
