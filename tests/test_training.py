"""The training loop (retrograd.training.fit) and the train-a-model pipeline."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import retrograd as rg
from retrograd import nn, optim
from retrograd.data import DataError, DataLoader, DataSpec, TensorDataset
from retrograd.nn.loss import CrossEntropyLoss, MSELoss
from retrograd.optim import lr_scheduler
from retrograd.pipeline import (
    ACTIVATIONS,
    LOSSES,
    TrainedModel,
    build_mlp,
    get_activation,
    get_loss,
    train,
)
from retrograd.training import (
    History,
    NonFiniteError,
    _apply_stopping_rules,
    _Stopping,
    evaluate,
    fit,
)

# ------------------------------------------------------------------ helpers


def blobs(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in 2-D, labels 0..2, float32 features."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    y = np.arange(n) % 3
    X = centers[y] + rng.normal(size=(n, 2))
    return X.astype(np.float32), y.astype(np.int64)


def make_setup(seed: int = 0, dropout: float = 0.0, lr: float = 0.01):
    """A small MLP, its Adam optimizer and a shuffling loader over blobs."""
    X, y = blobs()
    rg.manual_seed(seed)
    model = build_mlp(2, (8,), 3, dropout=dropout)
    opt = optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(rg.tensor(X), rg.tensor(y)), batch_size=16, shuffle=True)
    return model, opt, loader, (rg.tensor(X[:30]), rg.tensor(y[:30]))


def params_of(model) -> dict[str, np.ndarray]:
    return {k: v.array.copy() for k, v in model.state_dict().items()}


def assert_same_params(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


class Scripted:
    """A loss whose value is scripted per epoch (training and validation separately).

    The value is ``output.sum() * 0 + value``, so backward() works and every
    gradient is zero: the weights do not move, only the recorded losses do. A
    callback sets ``epoch`` to the number of completed epochs.
    """

    def __init__(self, model, train_losses, val_losses=None) -> None:
        self.model, self.train, self.val = model, list(train_losses), val_losses
        self.epoch = 0

    def __call__(self, out, target):
        losses = self.train if self.model.training else self.val
        return out.sum() * 0.0 + losses[min(self.epoch, len(losses) - 1)]


def scripted_fit(train_losses, val_losses=None, **kw):
    X, y = blobs(12)
    rg.manual_seed(0)
    model = build_mlp(2, (4,), 3)
    loss = Scripted(model, train_losses, val_losses)
    batches = [(rg.tensor(X), rg.tensor(y))]

    def on_epoch(epoch, record, m):
        loss.epoch = epoch

    val = batches if val_losses is not None else None
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, loss, opt, batches, val, progress=False, callbacks=[on_epoch], **kw)
    return history, model


# ------------------------------------------------------------------ history


def test_history_holds_plain_floats_and_round_trips_json():
    model, opt, loader, val = make_setup()
    h = fit(
        model,
        CrossEntropyLoss(),
        opt,
        loader,
        [val],
        max_epochs=3,
        metric="accuracy",
        progress=False,
    )
    assert len(h.records) == 3 and h.epochs == [1, 2, 3]
    for r in h.records:
        assert set(r) == {
            "epoch",
            "train_loss",
            "val_loss",
            "train_metric",
            "val_metric",
            "lr",
            "seconds",
        }
        assert type(r["epoch"]) is int
        for k in ("train_loss", "val_loss", "train_metric", "val_metric", "lr", "seconds"):
            assert type(r[k]) is float, (k, type(r[k]))
    assert h.train_loss[-1] < h.train_loss[0]
    assert h.metric == "accuracy"
    back = History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert back == h


def test_missing_numbers_are_none_without_validation_or_metric():
    model, opt, loader, _ = make_setup()
    h = fit(model, CrossEntropyLoss(), opt, loader, max_epochs=2, progress=False)
    assert h.val_loss == [None, None] and h.train_metric == [None, None]
    assert h.best_epoch in (1, 2)


def test_max_epochs_stops_and_is_the_total():
    model, opt, loader, _ = make_setup()
    h = fit(
        model, CrossEntropyLoss(), opt, loader, max_epochs=4, n_iter_no_change=None, progress=False
    )
    assert h.n_epochs == 4 and h.stop_reason == "max_epochs"


# ------------------------------------------------------------------ stopping rules


def test_convergence_rule_is_scikit_learns():
    # scikit-learn counts epochs whose loss is not below best - tol and stops when the
    # count exceeds n_iter_no_change; the best follows any decrease, however small.
    losses = [1.0, 0.5, 0.4999, 0.4998, 0.4997, 0.3, 0.2999, 0.2998, 0.2997, 0.2996]
    h, _ = scripted_fit(losses, tol=1e-3, n_iter_no_change=3, max_epochs=50)
    # epochs 3, 4, 5 gain < tol (count 1..3), epoch 6 improves (count 0),
    # epochs 7..10 gain < tol: the count reaches 4 > 3 at epoch 10.
    assert h.stop_reason == "converged"
    assert h.n_epochs == 10
    assert h.best_epoch == 10  # the lowest training loss, any decrease counts


def test_a_decrease_of_exactly_tol_is_an_improvement():
    # Binary fractions, so that best - tol is exact: scikit-learn's test is loss > best - tol.
    h, _ = scripted_fit([1.0, 0.75, 0.5, 0.25, 0.0], tol=0.25, n_iter_no_change=1, max_epochs=5)
    assert h.stop_reason == "max_epochs"


def test_convergence_rule_against_a_reimplementation():
    rng = np.random.default_rng(3)
    for _ in range(50):
        losses = list(np.cumsum(-np.abs(rng.normal(0, 1e-3, size=40))) + 1.0)
        stop = _Stopping()
        # scikit-learn's MLP._update_no_improvement_count, written out.
        best, count, expected = math.inf, 0, None
        for epoch, loss in enumerate(losses, 1):
            if loss > best - 1e-3:
                count += 1
            else:
                count = 0
            best = min(best, loss)
            if count > 2:
                expected = epoch
                break
        got = None
        for epoch, loss in enumerate(losses, 1):
            record = {"train_loss": loss, "val_loss": None}
            reason, _ = _apply_stopping_rules(stop, record, epoch, False, 1e-3, 2, 10)
            if reason == "converged":
                got = epoch
                break
        assert got == expected


def noisy_val() -> tuple[rg.Tensor, rg.Tensor]:
    """Held-out blobs with a third of the labels wrong: the validation loss turns up."""
    X, y = blobs(60, seed=1)
    y[::3] = (y[::3] + 1) % 3
    return rg.tensor(X), rg.tensor(y)


def test_early_stopping_restores_the_best_weights():
    model, opt, loader, _ = make_setup(lr=0.05)
    val = noisy_val()
    snapshots = {}

    def keep(epoch, record, m):
        snapshots[epoch] = params_of(m)

    h = fit(
        model, CrossEntropyLoss(), opt, loader, [val], early_stopping=True, patience=3, tol=0.0,
        max_epochs=200, callbacks=[keep], progress=False,
    )  # fmt: skip
    assert h.stop_reason == "early_stopping"
    best = h.best_epoch
    assert h.val_loss[best - 1] == min(h.val_loss)
    assert h.n_epochs == best + 3
    assert_same_params(params_of(model), snapshots[best])


def test_early_stopping_patience_counts_epochs_without_val_improvement():
    val = [1.0, 0.8, 0.9, 0.85, 0.81, 0.95]
    h, _ = scripted_fit([1.0] * 10, val, early_stopping=True, patience=3, tol=0.0)
    assert h.stop_reason == "early_stopping"
    assert h.best_epoch == 2 and h.n_epochs == 5


def test_restore_best_false_keeps_the_last_weights():
    model, opt, loader, _ = make_setup(lr=0.05)
    val = noisy_val()
    last = {}
    h = fit(
        model, CrossEntropyLoss(), opt, loader, [val], early_stopping=True, patience=2,
        restore_best=False, callbacks=[lambda e, r, m: last.update(params_of(m))],
        progress=False,
    )  # fmt: skip
    assert h.stop_reason == "early_stopping"
    assert_same_params(params_of(model), last)


def test_early_stopping_needs_validation_data():
    model, opt, loader, _ = make_setup()
    with pytest.raises(ValueError, match="val_loader"):
        fit(model, CrossEntropyLoss(), opt, loader, early_stopping=True, progress=False)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"max_epochs": 0}, "max_epochs"),
        ({"patience": 0}, "patience"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"tol": -1.0}, "tol"),
        ({"metric": "f1"}, "unknown metric"),
    ],
)
def test_bad_options_are_refused(kw, match):
    model, opt, loader, _ = make_setup()
    with pytest.raises(ValueError, match=match):
        fit(model, CrossEntropyLoss(), opt, loader, progress=False, **kw)


# ------------------------------------------------------------------ callbacks, schedulers, metrics


def test_callbacks_get_epoch_record_model_and_can_stop():
    model, opt, loader, _ = make_setup()
    seen = []

    def cb(epoch, record, m):
        seen.append((epoch, record["epoch"], m is model))
        return epoch == 2

    h = fit(model, CrossEntropyLoss(), opt, loader, callbacks=[cb], progress=False)
    assert seen == [(1, 1, True), (2, 2, True)]
    assert h.stop_reason == "callback" and h.n_epochs == 2


def test_plateau_scheduler_follows_the_validation_loss():
    val = [1.0, 1.0, 1.0, 1.0, 1.0]
    X, y = blobs(12)
    rg.manual_seed(0)
    model = build_mlp(2, (4,), 3)
    opt = optim.SGD(model.parameters(), lr=1.0)
    loss = Scripted(model, [1.0] * 5, val)
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    batches = [(rg.tensor(X), rg.tensor(y))]
    h = fit(
        model, loss, opt, batches, batches, scheduler=sched, max_epochs=4, progress=False,
        n_iter_no_change=None, callbacks=[lambda e, r, m: setattr(loss, "epoch", e)],
    )  # fmt: skip
    # The first evaluation sets the best; each later one is not better and halves the rate.
    assert h.lr == [1.0, 1.0, 0.5, 0.25]


def test_epoch_scheduler_steps_once_per_epoch():
    model, opt, loader, _ = make_setup(lr=0.1)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    h = fit(model, CrossEntropyLoss(), opt, loader, scheduler=sched, max_epochs=3, progress=False)
    np.testing.assert_allclose(h.lr, [0.1, 0.05, 0.025])


def test_r2_and_callable_metrics():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).astype(np.float32)
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 1))
    opt = optim.Adam(model.parameters(), lr=0.1)
    batches = [(rg.tensor(X), rg.tensor(y))]
    h = fit(
        model,
        MSELoss(),
        opt,
        batches,
        batches,
        metric="r2",
        max_epochs=150,
        n_iter_no_change=None,
        progress=False,
    )
    assert h.val_metric[-1] > 0.99

    def neg_mae(pred, true):
        assert isinstance(pred, rg.Tensor) and isinstance(true, rg.Tensor)
        return -float(np.abs(pred.numpy() - true.numpy()).mean())

    h2 = fit(model, MSELoss(), opt, batches, batches, metric=neg_mae, max_epochs=1, progress=False)
    assert h2.metric == "neg_mae" and h2.val_metric[0] <= 0


def test_evaluate_runs_without_graph_in_eval_mode_and_restores_the_mode():
    model, _, _, val = make_setup(dropout=0.5)
    modes = []

    def loss_fn(out, target):
        modes.append((model.training, out.requires_grad))
        return CrossEntropyLoss()(out, target)

    model.train()
    loss, acc = evaluate(model, loss_fn, [val], metric="accuracy")
    assert modes == [(False, False)]
    assert model.training
    assert isinstance(loss, float) and 0.0 <= acc <= 1.0


def test_numpy_batches_train_and_validate_as_tensors_regression():
    # docs/training.md passed [(X_val, y_val)] as NumPy arrays: the first epoch trained,
    # then the validation pass called the model on an ndarray and raised TypeError.
    X, y = blobs()
    model, opt, loader, _ = make_setup()
    history = fit(model, CrossEntropyLoss(), opt, loader, [(X[:30], y[:30])],
                  max_epochs=2, metric="accuracy", progress=False)  # fmt: skip
    tensors = [(rg.tensor(X[:30]), rg.tensor(y[:30]))]
    assert history.records[-1]["val_loss"] == evaluate(model, CrossEntropyLoss(), tensors)[0]
    assert evaluate(model, CrossEntropyLoss(), [(X[:30], y[:30])], "accuracy") == evaluate(
        model, CrossEntropyLoss(), tensors, "accuracy"
    )
    model, opt, _, _ = make_setup()
    trained = fit(model, CrossEntropyLoss(), opt, [(X, y)], max_epochs=3, progress=False)
    assert trained.n_epochs == 3 and trained.train_loss[-1] < trained.train_loss[0]


def test_progress_bar_and_quiet_mode(capsys):
    model, opt, loader, val = make_setup()
    fit(
        model,
        CrossEntropyLoss(),
        opt,
        loader,
        [val],
        max_epochs=2,
        metric="accuracy",
        progress=True,
    )
    err = capsys.readouterr().err
    assert "2/2" in err and "loss=" in err and "val_loss=" in err and "accuracy=" in err
    fit(model, CrossEntropyLoss(), opt, loader, max_epochs=2, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


# ------------------------------------------------------------------ the loop's shape


class RecordingLoader:
    """Four batches of 16, 16, 16 and 2 rows, numbered; a sampler that records set_epoch."""

    class Sampler:
        def __init__(self) -> None:
            self.epochs: list[int] = []

        def set_epoch(self, epoch: int) -> None:
            self.epochs.append(epoch)

    def __init__(self) -> None:
        X, y = blobs(50)
        self.batches = [
            (rg.tensor(X[i : i + 16]), rg.tensor(y[i : i + 16])) for i in range(0, 50, 16)
        ]
        self.sampler = self.Sampler()
        self.handed: list[list[int]] = []  # per pass: the numbers of the batches handed out

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        self.handed.append([])
        for b, batch in enumerate(self.batches, 1):
            self.handed[-1].append(b)
            yield batch


def test_the_loop_visits_each_batch_once_per_epoch_and_steps_once_per_batch():
    rg.manual_seed(0)
    model = build_mlp(2, (4,), 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    steps = []
    step = opt.step
    opt.step = lambda: (steps.append(1), step())[1]
    loader = RecordingLoader()
    losses: list[tuple[float, int]] = []  # (mean loss, rows) of every training batch

    def loss_fn(out, target):
        loss = CrossEntropyLoss()(out, target)
        if model.training:
            losses.append((float(loss.array), target.shape[0]))
        return loss

    h = fit(model, loss_fn, opt, loader, max_epochs=3, n_iter_no_change=None, progress=False)
    assert loader.handed == [[1, 2, 3, 4]] * 3
    assert loader.sampler.epochs == [0, 1, 2]  # set_epoch before each epoch, from 0
    assert len(steps) == 12
    # The record's loss is the epoch's mean over samples (the last batch of 2 weighs 2/50).
    for e in range(3):
        epoch = losses[4 * e : 4 * e + 4]
        want = sum(v * n for v, n in epoch) / sum(n for _, n in epoch)
        assert h.train_loss[e] == pytest.approx(want, rel=1e-12)
    assert [n for _, n in losses[:4]] == [16, 16, 16, 2]


def test_evaluate_weights_uneven_batches_by_their_rows():
    X, y = blobs(10)
    rg.manual_seed(0)
    model = build_mlp(2, (4,), 3)
    loss, acc = evaluate(
        model,
        CrossEntropyLoss(),
        [(rg.tensor(X[:3]), rg.tensor(y[:3])), (rg.tensor(X[3:]), rg.tensor(y[3:]))],
        metric="accuracy",
    )
    with rg.no_grad():
        out = model(rg.tensor(X))
        whole = float(CrossEntropyLoss()(out, rg.tensor(y)).array)
    assert loss == pytest.approx(whole, rel=1e-6)
    assert acc == np.mean(out.numpy().argmax(axis=1) == y)
    with pytest.raises(ValueError, match="evaluation loader yielded no batches"):
        evaluate(model, CrossEntropyLoss(), [])
    with pytest.raises(ValueError, match="train_loader yielded no batches"):
        fit(model, CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), [], progress=False)


def test_a_function_of_the_metrics_registry_is_taken_in_its_own_argument_order():
    from retrograd.metrics import METRICS, r2_score

    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).astype(np.float32)
    batches = [(rg.tensor(X), rg.tensor(y))]
    runs = []
    for metric in ("r2", r2_score):
        rg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 1))
        opt = optim.SGD(model.parameters(), lr=0.05)
        runs.append(fit(model, MSELoss(), opt, batches, batches, metric=metric, max_epochs=3,
                        progress=False))  # fmt: skip
    by_name, by_function = runs
    assert by_function.metric == "r2" and METRICS["r2"] is r2_score
    assert by_function.val_metric == by_name.val_metric
    with rg.no_grad():
        pred = model(rg.tensor(X)).numpy()
    assert by_function.val_metric[-1] == pytest.approx(r2_score(y, pred), rel=1e-6)
    assert r2_score(pred, y) != pytest.approx(r2_score(y, pred), rel=1e-3)  # order matters


# ------------------------------------------------------------------ non-finite values


class SnapshotLoader:
    """Batches of fixed data; records the model's weights as each batch is handed out."""

    def __init__(self, model, X, y, batch_size, poison=None) -> None:
        self.model, self.X, self.y, self.bs = model, X, y, batch_size
        self.poison = poison  # (epoch, batch): that batch gets a NaN feature
        self.epoch = 0
        self.snapshots: dict[tuple[int, int], dict[str, np.ndarray]] = {}

    def __iter__(self):
        self.epoch += 1
        for b, start in enumerate(range(0, len(self.X), self.bs), 1):
            xb = self.X[start : start + self.bs].copy()
            if self.poison == (self.epoch, b):
                xb[0, 1] = np.nan
            self.snapshots[(self.epoch, b)] = params_of(self.model)
            yield rg.tensor(xb), rg.tensor(self.y[start : start + self.bs])


def test_nan_input_raises_naming_epoch_batch_parameter_and_keeps_the_weights():
    X, y = blobs()
    rg.manual_seed(0)
    model = build_mlp(2, (8,), 3)
    opt = optim.Adam(model.parameters(), lr=0.01)
    loader = SnapshotLoader(model, X, y, 16, poison=(2, 3))
    with pytest.raises(NonFiniteError) as info:
        fit(model, CrossEntropyLoss(), opt, loader, max_epochs=5, progress=False)
    e = info.value
    assert (e.epoch, e.batch, e.parameter) == (2, 3, "0.weight")
    assert e.restored_epoch is None and math.isnan(e.loss)
    msg = str(e)
    assert "epoch 2" in msg and "batch 3" in msg and "'0.weight'" in msg
    # No update was applied: the weights are those handed to the failing batch.
    assert_same_params(params_of(model), loader.snapshots[(2, 3)])
    # ... and so is the optimizer: 6 steps in epoch 1 and 2 before the failure.
    assert all(s["step"] == 6 + 2 for s in opt.state_dict()["state"].values())
    assert e.history is not None and e.history.n_epochs == 1


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_huge_learning_rate_raises_and_leaves_finite_weights():
    model, _, loader, _ = make_setup()
    opt = optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(NonFiniteError, match=r"epoch \d+, batch \d+") as info:
        fit(model, CrossEntropyLoss(), opt, loader, max_epochs=20, progress=False)
    assert all(np.isfinite(p.array).all() for p in model.parameters())
    assert info.value.epoch >= 1


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_weights_that_overflowed_are_rolled_back_to_the_last_completed_epoch():
    # lr=1e39 exceeds float32: the first update itself makes the weights infinite, with
    # finite gradients; the next batch fails, and only a rollback gives finite weights.
    model, _, loader, _ = make_setup()
    start = params_of(model)
    opt = optim.SGD(model.parameters(), lr=1e39)
    with pytest.raises(NonFiniteError, match="restored to the end of epoch 0") as info:
        fit(model, CrossEntropyLoss(), opt, loader, max_epochs=3, progress=False)
    assert (info.value.epoch, info.value.batch, info.value.restored_epoch) == (1, 2, 0)
    assert_same_params(params_of(model), start)


def test_check_finite_false_skips_the_check():
    X, y = blobs()
    rg.manual_seed(0)
    model = build_mlp(2, (8,), 3)
    opt = optim.SGD(model.parameters(), lr=0.01)
    loader = SnapshotLoader(model, X, y, 16, poison=(1, 1))
    h = fit(
        model, CrossEntropyLoss(), opt, loader, max_epochs=1, check_finite=False, progress=False
    )
    assert math.isnan(h.train_loss[0])


# ------------------------------------------------------------------ Ctrl-C


def test_keyboard_interrupt_mid_epoch_keeps_the_last_completed_epoch():
    model, opt, loader, _ = make_setup()
    calls = {"n": 0}
    end_of = {}

    def loss_fn(out, target):
        calls["n"] += 1
        if calls["n"] == 2 * len(loader) + 3:  # epoch 3, batch 3
            raise KeyboardInterrupt
        return CrossEntropyLoss()(out, target)

    def keep(epoch, record, m):
        end_of[epoch] = (params_of(m), opt.state_dict())

    h = fit(model, loss_fn, opt, loader, max_epochs=10, callbacks=[keep], progress=False)
    assert h.stop_reason == "interrupted" and h.n_epochs == 2
    weights, opt_state = end_of[2]
    assert_same_params(params_of(model), weights)
    now = opt.state_dict()
    for i, s in opt_state["state"].items():
        assert now["state"][i]["step"] == s["step"]
        np.testing.assert_array_equal(now["state"][i]["exp_avg"], s["exp_avg"])
    assert model.training


def test_keyboard_interrupt_in_a_callback_keeps_that_epoch():
    model, opt, loader, _ = make_setup()

    def cb(epoch, record, m):
        if epoch == 2:
            raise KeyboardInterrupt

    h = fit(model, CrossEntropyLoss(), opt, loader, max_epochs=10, callbacks=[cb], progress=False)
    assert h.stop_reason == "interrupted" and h.n_epochs == 2


# ------------------------------------------------------------------ checkpoints


def run_resumable(tmp_path, stop_after=None, resume=False, own_generator=False, epochs=6):
    """Adam + StepLR + dropout + shuffling + early-stopping bookkeeping: everything a resume
    must restore. A different seed on resume: the checkpoint must override it all."""
    X, y = blobs()
    rg.manual_seed(123 if resume else 0)
    model = build_mlp(2, (8,), 3, dropout=0.3)
    opt = optim.Adam(model.parameters(), lr=0.02)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.7)
    gen = rg.Generator(99 if resume else 7) if own_generator else None
    loader = DataLoader(
        TensorDataset(rg.tensor(X), rg.tensor(y)), batch_size=16, shuffle=True, generator=gen
    )
    val = [noisy_val()]

    def interrupt(epoch, record, m):
        if epoch == stop_after:
            raise KeyboardInterrupt

    path = tmp_path / "ckpt.safetensors"
    h = fit(
        model, CrossEntropyLoss(), opt, loader, val, max_epochs=epochs, scheduler=sched,
        early_stopping=True, patience=100, metric="accuracy", progress=False,
        checkpoint_path=path, resume_from=path if resume else None, callbacks=[interrupt],
    )  # fmt: skip
    return model, opt, sched, h


@pytest.mark.parametrize("own_generator", [False, True])
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, own_generator):
    full_dir, part_dir = tmp_path / "full", tmp_path / "part"
    m1, o1, s1, h1 = run_resumable(full_dir, own_generator=own_generator)
    _, _, _, h2 = run_resumable(part_dir, stop_after=3, own_generator=own_generator)
    assert h2.stop_reason == "interrupted" and h2.n_epochs == 3
    rg.manual_seed(555)  # the resumed process's global state differs
    m3, o3, s3, h3 = run_resumable(part_dir, resume=True, own_generator=own_generator)
    assert h3.n_epochs == 6 and h3.stop_reason == "max_epochs"
    assert h1.best_epoch < 3  # so the best weights kept before the interruption matter
    assert_same_params(params_of(m3), params_of(m1))
    assert h3.train_loss == h1.train_loss and h3.val_loss == h1.val_loss
    assert h3.best_epoch == h1.best_epoch and h3.lr == h1.lr
    st1, st3 = o1.state_dict(), o3.state_dict()
    for i in st1["state"]:
        np.testing.assert_array_equal(st1["state"][i]["exp_avg_sq"], st3["state"][i]["exp_avg_sq"])
    assert s3.get_last_lr() == s1.get_last_lr()


def test_checkpoint_holds_every_part_and_resuming_a_finished_run_trains_no_more(tmp_path):
    from retrograd.serialization import load_checkpoint

    m1, _, _, _ = run_resumable(tmp_path, epochs=3)
    ckpt = load_checkpoint(tmp_path / "ckpt.safetensors")
    assert {
        "model",
        "optimizer",
        "scheduler",
        "epoch",
        "history",
        "stopping",
        "best_weights",
        "rng",
    } <= set(ckpt)
    assert ckpt["epoch"] == 3 and ckpt["history"]["stop_reason"] == "max_epochs"
    m2, _, _, h2 = run_resumable(tmp_path, resume=True, epochs=3)
    assert h2.n_epochs == 3
    assert_same_params(params_of(m2), params_of(m1))


def test_resume_from_a_file_that_is_not_a_fit_checkpoint(tmp_path):
    from retrograd.serialization import save_checkpoint

    save_checkpoint({"epoch": 1}, tmp_path / "other.safetensors")
    model, opt, loader, _ = make_setup()
    with pytest.raises(ValueError, match="not a checkpoint written by retrograd.fit"):
        fit(model, CrossEntropyLoss(), opt, loader, resume_from=tmp_path / "other.safetensors")


# ------------------------------------------------------------------ the pipeline


def string_spec(n: int = 90, names=("setosa", "versicolor", "virginica")) -> DataSpec:
    X, y = blobs(n)
    names = np.array(names)
    return DataSpec(
        X=X.astype(np.float64) * 10 + 5, y=names[y], task="classification",
        feature_names=["a", "b"], name="blobs", target_name="species",
    )  # fmt: skip


def test_string_labels_end_to_end_through_save_and_load(tmp_path):
    spec = string_spec()
    result = train(spec, hidden=(16,), epochs=40, quiet=True, seed=1)
    model = result.model
    assert model.classes == ["setosa", "versicolor", "virginica"]
    pred = model.predict(result.X_test)
    assert pred.dtype.kind == "U" and set(pred) <= set(model.classes)
    assert result.metrics["test_accuracy"] == pytest.approx(np.mean(pred == result.y_test))
    assert result.metrics["test_accuracy"] > 0.9
    proba = model.predict_proba(result.X_test)
    assert proba.shape == (len(pred), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = TrainedModel.load(path)
    np.testing.assert_array_equal(loaded.predict(result.X_test), pred)
    np.testing.assert_array_equal(loaded.predict_proba(result.X_test), proba)
    assert loaded.feature_names == ["a", "b"] and loaded.target_name == "species"
    assert loaded.score(result.X_test, result.y_test) == model.score(result.X_test, result.y_test)


@pytest.mark.parametrize(
    ("names", "kind"), [((-5, 0, 7), "i"), ((1.0, 2.0, 3.0), "f"), (("x", "y", "z"), "U")]
)
def test_labels_keep_their_type_through_save_and_load(tmp_path, names, kind):
    result = train(string_spec(names=names), hidden=(16,), epochs=40, quiet=True)
    path = tmp_path / "m.safetensors"
    result.model.save(path)
    loaded = TrainedModel.load(path)
    pred = loaded.predict(result.X_test)
    assert pred.dtype.kind == kind and loaded.classes == list(names)
    assert loaded.score(result.X_test, result.y_test) > 0.9


def test_the_test_split_is_stratified_and_set_by_the_seed():
    spec = string_spec(120)
    a = train(spec, hidden=(4,), epochs=2, quiet=True, seed=3)
    b = train(spec, hidden=(4,), epochs=2, quiet=True, seed=3)
    c = train(spec, hidden=(4,), epochs=2, quiet=True, seed=4)
    np.testing.assert_array_equal(a.indices["test"], b.indices["test"])
    assert_same_params(params_of(a.model.network), params_of(b.model.network))
    assert not np.array_equal(a.indices["test"], c.indices["test"])
    assert len(a.indices["test"]) == 30
    _, counts = np.unique(spec.y[a.indices["test"]], return_counts=True)
    assert list(counts) == [10, 10, 10]
    parts = np.concatenate([a.indices[k] for k in ("train", "val", "test")])
    np.testing.assert_array_equal(np.sort(parts), np.arange(120))


def test_validation_split_too_small_for_every_class_is_a_clear_error():
    spec = string_spec(60)
    with pytest.raises(DataError, match=r"validation split is too small.*2 samples.*3 classes"):
        train(spec, val_split=0.03, quiet=True)


def test_validation_split_turns_on_early_stopping():
    spec = string_spec(120)
    result = train(spec, hidden=(8,), val_split=0.25, epochs=300, patience=3, quiet=True)
    assert result.history.stop_reason == "early_stopping"
    assert result.metrics["n_val"] == 30 and "val_accuracy" in result.metrics
    assert result.history.val_loss[0] is not None


def test_feature_count_mismatch_names_both_counts():
    result = train(string_spec(), hidden=(4,), epochs=2, quiet=True)
    with pytest.raises(ValueError, match="X has 3 features, but the model was trained on 2"):
        result.model.predict(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"reshape\(1, -1\)"):
        result.model.predict(np.zeros(2))


def test_regression_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = 100 + 30 * X[:, 0] - 20 * X[:, 1] + rng.normal(scale=1.0, size=200)
    spec = DataSpec(
        X=X, y=y, task="regression", feature_names=["x0", "x1", "x2"], name="lin", target_name="y"
    )
    result = train(spec, hidden=(16,), epochs=100, quiet=True)
    m = result.metrics
    assert m["test_r2"] > 0.95 and m["test_mse"] < 100
    pred = result.model.predict(result.X_test)
    assert abs(pred.mean() - 100) < 15  # in the target's units, not standardized
    path = tmp_path / "reg.safetensors"
    result.model.save(path)
    loaded = TrainedModel.load(path)
    np.testing.assert_array_equal(loaded.predict(result.X_test), pred)
    with pytest.raises(ValueError, match="classification"):
        loaded.predict_proba(result.X_test)


def test_pipeline_checkpoint_and_resume_match_an_uninterrupted_run(tmp_path):
    spec = string_spec()
    kw = dict(hidden=(8,), epochs=6, dropout=0.2, val_split=0.2, patience=50, quiet=True, seed=2)
    full = train(spec, **kw)

    def stop_at_3(epoch, record, model):
        if epoch == 3:
            raise KeyboardInterrupt

    path = tmp_path / "run.ckpt"
    part = train(spec, checkpoint_path=path, callbacks=[stop_at_3], **kw)
    assert part.history.stop_reason == "interrupted"
    resumed = train(spec, checkpoint_path=path, resume_from=path, **kw)
    assert_same_params(params_of(resumed.model.network), params_of(full.model.network))
    assert resumed.metrics["test_accuracy"] == full.metrics["test_accuracy"]


def test_metrics_are_plain_json():
    result = train(string_spec(), hidden=(4,), epochs=2, quiet=True)
    m = result.metrics
    assert {"test_accuracy", "train_accuracy", "epochs", "seconds", "seed", "versions"} <= set(m)
    json.dumps(m)
    json.dumps(result.history.to_dict())


# ------------------------------------------------------------------ registries and build_mlp


def test_build_mlp_layers_and_seed():
    m = build_mlp(5, (7, 3), 2, activation="tanh", dropout=0.1, batch_norm=True, seed=4)
    kinds = [type(layer).__name__ for layer in m]
    assert kinds == [
        "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear",
    ]  # fmt: skip
    again = build_mlp(5, (7, 3), 2, activation="tanh", dropout=0.1, batch_norm=True, seed=4)
    assert_same_params(params_of(m), params_of(again))
    assert [type(x).__name__ for x in build_mlp(3, (), 1)] == ["Linear"]


@pytest.mark.parametrize("bad", [(0,), (3, -1), (2.5,), "abc"])
def test_build_mlp_refuses_bad_sizes(bad):
    with pytest.raises((ValueError, TypeError)):
        build_mlp(3, bad, 2)


def test_registries_name_their_options_in_errors():
    assert set(ACTIVATIONS) >= {"relu", "tanh", "sigmoid", "gelu", "leaky_relu", "elu", "identity"}
    assert get_activation("Leaky-ReLU") is nn.LeakyReLU
    with pytest.raises(ValueError, match="unknown activation 'swishy'.*'relu'"):
        get_activation("swishy")
    assert set(LOSSES) >= {"auto", "cross-entropy", "mse", "l1", "huber"}
    assert isinstance(get_loss("auto", "classification"), CrossEntropyLoss)
    assert isinstance(get_loss("auto", "regression"), MSELoss)
    with pytest.raises(ValueError, match="'mse' is for regression.*'cross-entropy'"):
        get_loss("mse", "classification")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        get_loss("hinge", "classification")
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        train(string_spec(), optimizer="lbfgs", quiet=True)


def test_metric_names_follow_the_one_lookup_rule():
    """fit(metric=) spells names as every other option does: case and '-'/'_' ignored."""
    from retrograd.training import _resolve_metric

    assert _resolve_metric("Accuracy")[0] == "accuracy"
    assert _resolve_metric(" R2 ")[0] == "r2"
    with pytest.raises(ValueError, match="unknown metric 'f1'.*or a callable"):
        _resolve_metric("f1")
