"""retrograd.sklearn: scikit-learn's estimator checks, its MLP bugs as regressions, parity."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn import neural_network as sk_nn
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    parametrize_with_checks,
)

import retrograd as rg
from retrograd.sklearn import ACTIVATIONS, SOLVERS, MLPClassifier, MLPRegressor
from retrograd.sklearn._stochastic_optimizers import SGDOptimizer

# ---------------------------------------------------------------- scikit-learn's own checks

# scikit-learn runs its MLPs' checks with max_iter=100 (sklearn/utils/_test_common/
# instance_generator.py); the same here. In float64 every check passes, none expected to fail.
_F64 = [
    MLPClassifier(max_iter=100, dtype="float64"),
    MLPRegressor(max_iter=100, dtype="float64"),
]


@parametrize_with_checks(_F64)
def test_sklearn_checks_float64(estimator, check):
    check(estimator)


_F32_REASON = (
    "float32 arithmetic (the default dtype): a weight of k and k repeated rows round "
    "differently (~1e-7 relative), which 100 epochs grow past the check's rtol=1e-7. "
    "scikit-learn's MLPs fail it the same way on float32 data (they compute in X's dtype; "
    "test_sklearn_own_mlp_fails_weight_equivalence_in_float32), and the check passes here "
    "in float64 (test_sklearn_checks_float64)."
)


def _f32_xfails(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": _F32_REASON,
        "check_sample_weight_equivalence_on_sparse_data": _F32_REASON,
    }


@parametrize_with_checks(
    [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)],
    expected_failed_checks=_f32_xfails,
)
def test_sklearn_checks_float32_default(estimator, check):
    check(estimator)


def _weight_equivalence_gap(cls, dtype):
    """Max |predict_proba(weighted) - predict_proba(repeated)| as in scikit-learn's check."""
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30).astype(dtype)
    y = rng.randint(0, 3, size=15)
    sw = rng.randint(0, 5, size=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = cls(max_iter=100, random_state=0).fit(X.repeat(sw, axis=0), y.repeat(sw))
        b = cls(max_iter=100, random_state=0).fit(X, y, sample_weight=sw)
    method = "predict_proba" if hasattr(a, "predict_proba") else "predict"
    pa, pb = getattr(a, method)(X), getattr(b, method)(X)
    return float(np.max(np.abs(pa - pb) / np.maximum(np.abs(pb), 1e-300)))


def test_sklearn_own_mlp_fails_weight_equivalence_in_float32():
    # The reason written for the two expected failures above, checked on scikit-learn's MLP.
    for cls in (sk_nn.MLPClassifier, sk_nn.MLPRegressor):
        assert _weight_equivalence_gap(cls, np.float64) < 1e-7
        assert _weight_equivalence_gap(cls, np.float32) > 1e-7


@pytest.mark.parametrize(
    "est",
    [
        # The parameters scikit-learn itself uses for its MLPs in this check.
        MLPClassifier(solver="lbfgs", max_iter=100, dtype="float64"),
        MLPRegressor(solver="sgd", tol=1e-2, random_state=42, max_iter=100),
    ],
)
def test_weight_equivalence_with_sklearns_parameters(est):
    check_sample_weight_equivalence_on_dense_data(type(est).__name__, est)


# ---------------------------------------------------------------- scikit-learn's conventions


def _digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, random_state=0)


@pytest.mark.parametrize(
    "extra",
    [
        dict(solver="adam"),
        dict(solver="sgd"),
        dict(solver="sgd", nesterovs_momentum=False, learning_rate="invscaling", power_t=0.3),
        # tol=10: no epoch improves, so the rate is divided by 5 after epochs 2 and 4.
        dict(solver="sgd", learning_rate="adaptive", tol=10.0, n_iter_no_change=1, max_iter=6),
        dict(solver="adam", sample_weight=True),
    ],
    ids=["adam", "sgd", "sgd-invscaling", "sgd-adaptive", "adam-sample-weight"],
)
def test_same_trajectory_as_sklearn(extra):
    # Same draws of the initial weights, same steps: float64, no shuffling.
    X, _, y, _ = _digits()
    X, y = X[:300], y[:300]
    extra = dict(extra)
    sw = np.random.RandomState(0).randint(0, 4, size=300) if extra.pop("sample_weight", 0) else None
    kw = {
        **dict(hidden_layer_sizes=(20, 10), max_iter=3, shuffle=False, random_state=3),
        **dict(batch_size=64, alpha=1e-3, learning_rate_init=0.01),
        **extra,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(dtype="float64", **kw).fit(X, y, sample_weight=sw)
        ref = sk_nn.MLPClassifier(**kw).fit(X, y, sample_weight=sw)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    assert ours.t_ == ref.t_ and ours.n_iter_ == ref.n_iter_
    if kw["solver"] == "sgd":  # the schedules ('adaptive' divided it by 5 twice)
        assert ours._optimizer.learning_rate == pytest.approx(ref._optimizer.learning_rate)


@pytest.mark.parametrize(
    "extra",
    [dict(solver="sgd"), dict(solver="sgd", nesterovs_momentum=False), dict(solver="adam")],
    ids=["sgd", "sgd-no-nesterov", "adam"],
)
def test_same_trajectory_as_sklearn_with_a_wide_layer(extra, update_path):
    # 64*300 + 300*10 + 310 = 22,510 parameters: over _blas.MIN_SIZE, so the solver
    # steps through BLAS (fused multiply-adds: the same values to ~1e-15 in float64).
    path, calls = update_path
    X, _, y, _ = _digits()
    X, y = X[:300], y[:300]
    kw = dict(hidden_layer_sizes=(300,), max_iter=3, shuffle=False, random_state=3)
    kw.update(batch_size=64, alpha=1e-3, learning_rate_init=0.01, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(dtype="float64", **kw).fit(X, y)
        ref = sk_nn.MLPClassifier(**kw).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    done = [ok for name, ok in calls if name == "axpby"]
    assert done and all(done) == (path == "blas")


def test_lbfgs_matches_sklearn_regressor():
    X, y = load_diabetes(return_X_y=True)
    kw = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPRegressor(dtype="float64", **kw).fit(X, y / 100)
        ref = sk_nn.MLPRegressor(**kw).fit(X, y / 100)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-6)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-5)


def test_sgd_momentum_convention_closed_form():
    # scikit-learn's v = mu*v - lr*g (not PyTorch's v = mu*v + g), without Nesterov.
    est = MLPClassifier(learning_rate_init=0.1, momentum=0.5, nesterovs_momentum=False)
    p = [np.array([1.0])]
    opt = SGDOptimizer(p, est)
    opt.update_params(p, [np.array([2.0])])  # v = -0.2
    opt.update_params(p, [np.array([2.0])])  # v = 0.5*-0.2 - 0.2 = -0.3
    np.testing.assert_allclose(p[0], [1.0 - 0.2 - 0.3])


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "rmsprop"])
def test_solver_state_sinking_into_subnormals_is_flushed(solver, monkeypatch):
    # One gradient, then zeros (a dead unit): the solver's momenta and moments decay
    # into subnormal numbers, 40-50x slower arithmetic on Intel CPUs, and stay there.
    # step() sets them to zero every flush_every steps; the parameters never notice.
    def run(flush_every):
        monkeypatch.setattr(SOLVERS[solver], "flush_every", flush_every)
        est = MLPClassifier(learning_rate_init=0.01, momentum=0.9, beta_2=0.9)
        est._n_coef = 3
        p = [np.array([0.5, -1.0, 2.0, 0.25], np.float32)]
        opt = SOLVERS[solver](p, est)
        first = np.array([1e-30, -1e-17, 0.5, 0.0], np.float32)
        for step in range(400):
            opt.step(p, [first if step == 0 else np.zeros_like(first)])
        stuck = [(a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny) for a in opt.state_arrays()]
        return p[0], any(s.any() for s in stuck)

    flushed, stuck_after_flush = run(SOLVERS[solver].flush_every)
    kept, stuck_without = run(0)
    assert stuck_without, "the case never reached subnormal numbers"
    assert not stuck_after_flush
    np.testing.assert_array_equal(flushed, kept)


def test_registries_drive_validation():
    assert set(ACTIVATIONS) >= {"identity", "logistic", "tanh", "relu", "gelu", "elu"}
    assert set(SOLVERS) == {"lbfgs", "sgd", "adam", "adamw", "rmsprop"}
    with pytest.raises(ValueError, match="activation"):
        MLPClassifier(activation="swish").fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(ValueError, match="dtype"):
        MLPClassifier(dtype="int32").fit([[0.0], [1.0]], [0, 1])


@pytest.mark.parametrize("activation", ["gelu", "leaky_relu", "elu", "logistic", "tanh"])
@pytest.mark.parametrize("solver", ["adamw", "rmsprop"])
def test_extra_activations_and_solvers_learn(activation, solver):
    X, Xt, y, yt = _digits()
    est = MLPClassifier(
        (32,),
        activation=activation,
        solver=solver,
        max_iter=15,
        random_state=0,
        learning_rate_init=0.01,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.score(Xt, yt) > 0.85


def test_dropout_trains_and_predicts_deterministically():
    X, Xt, y, yt = _digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier((64,), dropout=0.2, max_iter=20, random_state=0).fit(X, y)
        b = MLPClassifier((64,), dropout=0.2, max_iter=20, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))
    assert a.score(Xt, yt) > 0.9


# ---------------------------------------------------------------- scikit-learn's MLP bugs


def test_n_iter_counts_latest_fit_with_warm_start():
    # scikit-learn #24764: n_iter_ must count this fit's iterations, not all of them.
    X, _, y, _ = _digits()
    est = MLPClassifier((16,), max_iter=4, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        assert est.n_iter_ == 4
        est.fit(X, y)
    assert est.n_iter_ == 4
    assert len(est.loss_curve_) == 8 and est.t_ == 8 * X.shape[0]


def test_early_stopping_with_string_labels():
    # scikit-learn #33760: early stopping's validation score with string class labels.
    X, _, y, _ = _digits()
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "8", "9"])
    est = MLPClassifier((32,), early_stopping=True, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, names[y])
    assert est.validation_scores_ and all(0.0 <= s <= 1.0 for s in est.validation_scores_)
    assert est.best_validation_score_ == max(est.validation_scores_) > 0.8
    assert set(est.predict(X)) <= set(names)


def test_early_stopping_split_is_stratified():
    rng = np.random.RandomState(0)
    X = rng.rand(200, 3)
    y = np.array(["a"] * 180 + ["b"] * 20)
    est = MLPClassifier(early_stopping=True, validation_fraction=0.1, random_state=0)
    Xv, yv = est._validate_input(X, y, incremental=False, reset=True)
    est._random_state = np.random.RandomState(0)
    est.n_outputs_ = yv.shape[1] if yv.ndim == 2 else 1
    _, _, _, y_val, _, _ = est._split_validation(Xv, yv.reshape(len(yv), -1), None)
    assert list(np.unique(y_val, return_counts=True)[1]) == [18, 2]


def test_validation_fraction_too_small_is_a_clear_error():
    # scikit-learn #24713: a validation set of one sample used to fail obscurely.
    rng = np.random.RandomState(0)
    X, y = rng.rand(20, 3), np.arange(20) % 2
    with pytest.raises(ValueError, match="validation set is too small.*validation_fraction"):
        MLPClassifier(early_stopping=True, validation_fraction=0.01).fit(X, y)
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPRegressor(early_stopping=True, validation_fraction=0.05).fit(X, y.astype(float))


def test_non_finite_weights_stop_with_clear_error():
    rng = np.random.RandomState(0)
    X = rng.rand(50, 4) * 1e30
    y = rng.rand(50) * 1e30
    est = MLPRegressor(solver="sgd", learning_rate_init=1.0, max_iter=200, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            est.fit(X, y)
    assert len(est.loss_curve_) < 200  # stopped at the first bad epoch, not after max_iter


# ---------------------------------------------------------------- inside scikit-learn


def test_pipeline_gridsearch_cross_val_score():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=50, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe, X, y, cv=3)
        assert scores.mean() > 0.93
        grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert grid.best_params_["mlpclassifier__alpha"] in (1e-4, 1e-2)
    assert grid.score(X, y) > 0.95
    Xr, yr = load_diabetes(return_X_y=True)
    reg = MLPRegressor(
        hidden_layer_sizes=(8,), solver="lbfgs", alpha=1.0, max_iter=100, random_state=0
    )
    reg = make_pipeline(StandardScaler(), reg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert cross_val_score(reg, Xr, yr, cv=3).mean() > 0.38


def test_partial_fit_and_lbfgs_has_none():
    X, Xt, y, yt = _digits()
    est = MLPClassifier((32,), learning_rate_init=0.01, random_state=0)
    for _ in range(5):
        est.partial_fit(X, y, classes=np.arange(10))
    assert est.n_iter_ == 1 and est.t_ == 5 * X.shape[0]
    assert est.score(Xt, yt) > 0.85
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


# ---------------------------------------------------------------- retrograd's side


@pytest.mark.parametrize("solver", ["sgd", "adamw"])
def test_training_continues_the_same_after_pickling(solver):
    # The weights and intercepts are views of one flat array that the solvers update (adamw
    # decays its weight part); an unpickled estimator holds separate arrays, which its next
    # partial_fit must gather again, else the solver would update a stale copy.
    X, _, y, _ = _digits()
    a = MLPClassifier((16,), solver=solver, learning_rate_init=0.01, random_state=0)
    a.partial_fit(X, y, classes=np.arange(10))
    b = pickle.loads(pickle.dumps(a))
    before = [c.copy() for c in b.coefs_]
    a.partial_fit(X, y)
    b.partial_fit(X, y)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(b.coefs_[0], before[0])
    net = b.to_module()  # coefs_ show the network's trained weights, not a stale copy
    np.testing.assert_array_equal(b.coefs_[0], net[0].weight.array.T)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_save_load_round_trip_and_to_module(tmp_path):
    X, Xt, y, _ = _digits()
    labels = np.array(list("abcdefghij"))[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((16, 8), activation="gelu", max_iter=10, random_state=0).fit(X, labels)
        reg = MLPRegressor(
            hidden_layer_sizes=(8,), loss="poisson", max_iter=10, random_state=0
        ).fit(X, y)
    for est, cls in ((clf, MLPClassifier), (reg, MLPRegressor)):
        est.save(tmp_path / "m.safetensors")
        back = cls.load(tmp_path / "m.safetensors")
        np.testing.assert_array_equal(back.predict(Xt), est.predict(Xt))
        assert back.get_params() == {**est.get_params(), "dtype": "float32"}
        assert back.n_layers_ == est.n_layers_ and back.n_features_in_ == 64
    assert back.loss_curve_ == pytest.approx(reg.loss_curve_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        back.set_params(warm_start=True, max_iter=2).fit(X, y)  # a loaded model trains on
    assert back.n_iter_ == 2 and len(back.loss_curve_) == len(reg.loss_curve_) + 2
    with pytest.raises(ValueError, match="MLPClassifier"):
        MLPClassifier.load(tmp_path / "m.safetensors")  # holds the regressor

    module = clf.to_module()
    with rg.no_grad():
        proba = module(rg.tensor(Xt.astype(np.float32))).numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(Xt), rtol=1e-5, atol=1e-6)
    rg.save(module, tmp_path / "net.safetensors")
    with rg.no_grad():
        again = rg.load(tmp_path / "net.safetensors")(rg.tensor(Xt.astype(np.float32))).numpy()
    np.testing.assert_array_equal(again, proba)


# ---------------------------------------------------------------- accuracy against scikit-learn


def _accuracy_cases():
    Xd, yd = load_digits(return_X_y=True)
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    return {
        "digits": (Xd / 16.0, yd, "clf", {}),
        "breast_cancer": (StandardScaler().fit_transform(Xb), yb, "clf", {}),
        "diabetes": (
            StandardScaler().fit_transform(Xr),
            yr,
            "reg",
            dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300),
        ),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digits", "breast_cancer", "diabetes"])
def test_accuracy_at_least_sklearns(name):
    X, y, task, params = _accuracy_cases()[name]
    ours_cls, ref_cls = (
        (MLPClassifier, sk_nn.MLPClassifier)
        if task == "clf"
        else (MLPRegressor, sk_nn.MLPRegressor)
    )
    ours, ref = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(5):
            Xa, Xb, ya, yb = train_test_split(X, y, random_state=seed)
            ours.append(ours_cls(random_state=seed, **params).fit(Xa, ya).score(Xb, yb))
            ref.append(ref_cls(random_state=seed, **params).fit(Xa, ya).score(Xb, yb))
    margin = 0.005 if task == "clf" else 0.01
    assert np.mean(ours) >= np.mean(ref) - margin, (np.mean(ours), np.mean(ref))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("extra", [{}, {"dropout": 0.2, "alpha": 0.0}, {"early_stopping": True}])
def test_captured_fit_equals_the_eager_one_bit_for_bit(solver, extra):
    # capture=True (the default) replays the network's forward and backward; capture=False
    # runs the eager engine: the same loss curve and weights to the last bit.
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16, y[:400]
    fits = []
    for capture in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = MLPClassifier(
                hidden_layer_sizes=(16, 8), solver=solver, max_iter=4, random_state=0,
                capture=capture, **extra,
            ).fit(X, y)  # fmt: skip
        fits.append(est)
    captured, eager = fits
    assert captured._replay[0].replays > 0 and eager._replay[0].replays == 0
    assert captured.loss_curve_ == eager.loss_curve_
    for a, b in zip(
        captured.coefs_ + captured.intercepts_, eager.coefs_ + eager.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(a, b)
    reg = [
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0, capture=c)
        for c in (True, False)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        curves = [r.fit(X, y[:400] / 10.0).loss_curve_ for r in reg]
    assert curves[0] == curves[1]


def test_a_pickled_estimator_trains_on_with_a_fresh_replay():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    assert "_replay" not in back.__dict__  # a cache whose views a pickle would cut loose
    est.partial_fit(X, y)
    back.partial_fit(X, y)
    assert back._replay[0].replays > 0
    for a, b in zip(est.coefs_, back.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
