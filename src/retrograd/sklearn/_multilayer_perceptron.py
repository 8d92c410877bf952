"""The estimators: :class:`MLPClassifier` and :class:`MLPRegressor`, as
``sklearn/neural_network/_multilayer_perceptron.py`` (see the package's docstring
for the conventions). The forward and backward passes run through retrograd's
engine; the solvers are in :mod:`._stochastic_optimizers`, the losses in :mod:`._base`.
"""

# X is scikit-learn's name for the feature matrix; keep it.

from __future__ import annotations

import itertools
import math
import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d, gen_batches
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import nn, serialization
from .._docstrings import fill_doc
from ..autograd import no_grad
from ..capture import Backprop
from ..random import manual_seed
from ..serialization import LOAD_RAISES_DOC, ModelFileError, PathLike
from ..tensor import wrap_array
from ..validation import is_int, is_real
from ._base import ACTIVATIONS, OUT_ACTIVATIONS, batch_log_losses, check_dtype, data_loss
from ._stochastic_optimizers import SOLVERS

__all__ = ["MLPClassifier", "MLPRegressor"]

_FORMAT = "retrograd-sklearn-mlp/1"


# ---------------------------------------------------------------- the shared base


class _BaseMLP(BaseEstimator):
    """The training loop shared by :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "dtype": "no_validation",  # checked by check_dtype: float32 or float64
    }

    loss: str
    dropout: float
    dtype: Any

    def _store_params(self, params: dict[str, Any]) -> None:
        """Keep each ``__init__`` argument (``locals()`` there) as the attribute of its name.

        scikit-learn's contract: ``__init__`` only stores its arguments, unvalidated, so that
        ``get_params``/``set_params``/``clone`` round-trip them; ``fit`` validates them.
        """
        for name, value in params.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    # ------------------------------------------------------------ the network

    def _build(self, layer_units: list[int], dtype: np.dtype) -> None:
        """Make the network and draw its weights as scikit-learn does (Glorot uniform)."""
        act = ACTIVATIONS[self.activation]
        factor = 2.0 if self.activation == "logistic" else 6.0
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(layer_units)):
            lin = nn.Linear(fan_in, fan_out, dtype=dtype)
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = self._random_state.uniform(-bound, bound, fan_out)
            # scikit-learn's coefs_ are (fan_in, fan_out): the transpose of Linear's weight.
            lin.weight.array = np.ascontiguousarray(coef.T, dtype=dtype)
            lin.bias.array = intercept.astype(dtype)
            layers.append(lin)
            if i < len(layer_units) - 2:
                layers.append(act())
                if self.dropout:
                    layers.append(nn.Dropout(float(self.dropout)))
        self._net = nn.Sequential(*layers)
        self._linears = [m for m in layers if isinstance(m, nn.Linear)]
        self._flatten()

    def _flatten(self) -> None:
        """Make the weights and intercepts views of one flat array, ``self._flat``.

        The layout is :meth:`_params`' order: the weights first (``self._n_coef``
        entries), then the intercepts. The solvers then update every parameter
        in a few passes over one array, and :meth:`_backprop` gathers the
        gradients into ``self._flat_grad`` in the same layout. A no-op when the
        parameters are views of ``self._flat`` already; a loaded or unpickled
        estimator has separate arrays, and they are copied in.
        """
        params = self._params()
        flat = getattr(self, "_flat", None)
        if flat is not None and all(p.base is flat for p in params):
            return
        flat = np.empty(sum(p.size for p in params), dtype=params[0].dtype)
        start = 0
        for t in [lin.weight for lin in self._linears] + [lin.bias for lin in self._linears]:
            view = flat[start : start + t.array.size].reshape(t.array.shape)
            view[...] = t.array
            t.array = view
            start += view.size
        self._flat = flat
        self._n_coef = n_coef = sum(lin.weight.array.size for lin in self._linears)
        self._flat_grad = grad = np.empty_like(flat)
        views, start = {}, 0
        for t in [lin.weight for lin in self._linears] + [lin.bias for lin in self._linears]:
            views[t] = grad[start : start + t.array.size].reshape(t.array.shape)
            start += t.array.size
        # The replayed backward writes each gradient straight into its place in _flat_grad.
        self._replay = (Backprop(self._net, grads=views), grad)
        self._scratch = np.empty(n_coef, dtype=flat.dtype)
        self._coef_views = [lin.weight.array.ravel() for lin in self._linears]  # 1-D views
        self._sync_attributes()

    def _replay_for(self) -> Backprop | None:
        """The replayed forward and backward, when ``capture`` and it writes into _flat_grad."""
        replay = self.__dict__.get("_replay")
        if not getattr(self, "capture", True) or replay is None:
            return None
        backprop, grad = replay
        return backprop if grad is self._flat_grad else None

    def __getstate__(self) -> dict[str, Any]:
        # The replay's arrays are a cache, and a pickle would cut its gradient views
        # loose from _flat_grad: it is left out, and rebuilt by _flatten.
        state = dict(super().__getstate__())
        state.pop("_replay", None)
        return state

    def _sync_attributes(self) -> None:
        # Views: updates in place on the weights show in coefs_ and intercepts_.
        self.coefs_ = [lin.weight.array.T for lin in self._linears]
        self.intercepts_ = [lin.bias.array for lin in self._linears]
        self._tensors = [lin.weight for lin in self._linears] + [lin.bias for lin in self._linears]

    def _params(self) -> list[np.ndarray]:
        return [lin.weight.array for lin in self._linears] + [
            lin.bias.array for lin in self._linears
        ]

    def _loss_kind(self) -> str:
        if not is_classifier(self):
            return self.loss
        return "log_loss" if self.out_activation_ == "softmax" else "binary_log_loss"

    def _targets(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """The targets as :meth:`_backprop` takes them: class indices for a softmax output."""
        if self.out_activation_ == "softmax":
            return y.argmax(axis=1)  # y is one-hot: one class per row
        return y.astype(dtype, copy=False)

    def _raw(self, X: np.ndarray) -> np.ndarray:
        """The output layer's pre-activation values, without recording a graph."""
        self._net.eval()
        with no_grad():
            return self._net(wrap_array(X)).array

    def _forward_pass_fast(self, X: Any, check_input: bool = True) -> np.ndarray:
        if check_input:
            X = self._check_input(X)
        return OUT_ACTIVATIONS[self.out_activation_](self._raw(X.astype(self._dtype, copy=False)))

    def _check_input(self, X: Any) -> np.ndarray:
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
        )
        return X.toarray() if hasattr(X, "toarray") else X

    def _backprop(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sw: np.ndarray | None,
        kind: str,
        decoupled: bool = False,
        p_true: np.ndarray | None = None,
    ) -> float:
        """The objective on a batch; its gradient goes to ``self._flat_grad``.

        ``y`` comes from :meth:`_targets`, ``kind`` from :meth:`_loss_kind`. The
        gradient's layout is ``self._flat``'s (see :meth:`_flatten`); with
        ``decoupled`` it leaves out the L2 term (the solver applies it). With
        ``p_true`` ('log_loss' only), the rows' true-class probabilities are
        written there and the objective returned is the L2 term alone: the
        caller adds the data loss (:func:`batch_log_losses`).
        """
        for p in self._tensors:  # the caller has put the network in training mode
            p.grad = None
        replay = self._replay_for()
        raw_array = replay.forward(X) if replay is not None else None
        raw = None
        if raw_array is None:  # not replayed: the eager engine
            raw = self._net(wrap_array(X))
            raw_array = raw.array
        out = OUT_ACTIVATIONS[self.out_activation_](raw_array)  # a new array, except for 'identity'
        n = X.shape[0]
        if p_true is None:
            loss = data_loss(kind, y, out, sw)
        else:
            p_true[...] = out[np.arange(n), y]
            loss = 0.0
        sw_sum = n if sw is None else float(sw.sum())
        # Every loss here pairs with its canonical link: d(loss)/d(raw) = out - y.
        if kind == "log_loss":
            delta = out  # the softmax's own array: out - one_hot(y), in place
            delta[np.arange(n), y] -= 1
        else:
            delta = out - y
        if sw is not None:
            delta *= sw.reshape(-1, 1)
        delta /= sw_sum
        delta = delta if delta.dtype == X.dtype else delta.astype(X.dtype)
        grad = self._flat_grad
        if raw is None:  # replayed: the gradients are written in _flat_grad already
            replay.backward(delta)  # type: ignore[union-attr]
        else:
            raw.backward(delta)
            # One call gathers the gradients into the flat buffer (self._tensors is its order).
            np.concatenate([p.grad.array.ravel() for p in self._tensors], out=grad)
        if self.alpha and not decoupled:
            n_coef, w = self._n_coef, self._flat
            # NOTE: one dot per layer, summed in Python, as scikit-learn sums the L2 term.
            values = sum(float(np.dot(c, c)) for c in self._coef_views)
            np.multiply(w[:n_coef], self.alpha / sw_sum, out=self._scratch)
            grad[:n_coef] += self._scratch
            loss += 0.5 * self.alpha * values / sw_sum
        elif self.alpha:
            loss += 0.5 * self.alpha * sum(float((c * c).sum()) for c in self.coefs_) / sw_sum
        return loss

    # ------------------------------------------------------------ fitting

    def _fit(self, X: Any, y: Any, sample_weight: Any = None, incremental: bool = False) -> Any:
        self._validate_params()
        dtype = check_dtype(self.dtype)
        hidden = self.hidden_layer_sizes
        hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if any(h <= 0 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        if not first_pass and dtype != self._dtype:
            raise ValueError(
                f"dtype={dtype} differs from the fitted network's {self._dtype}; "
                "set warm_start=False to refit"
            )
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if hasattr(X, "toarray"):
            X = X.toarray()
        X = X.astype(dtype, copy=False)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        n_features = X.shape[1]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, [n_features, *hidden, y.shape[1]], dtype)
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs, the fitted network {self.n_outputs_}")
        if self.dropout and self.random_state is not None:
            manual_seed(int(self._random_state.randint(np.iinfo(np.int32).max)))

        self._flatten()
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, self._targets(y, dtype), sample_weight)
        else:
            self._fit_stochastic(X, y, sample_weight, incremental)
        self._check_finite()
        return self

    def _initialize(self, y: np.ndarray, layer_units: list[int], dtype: np.dtype) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self._dtype = dtype
        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"
        self._build(layer_units, dtype)
        self._best_coefs = [c.copy() for c in self._params()]
        if hasattr(self, "_optimizer"):
            del self._optimizer
        if self.solver != "lbfgs":
            self.loss_curve_: list[float] = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_: list[float] | None = []
                self.best_validation_score_: float | None = -np.inf
                self.best_loss_: float | None = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _check_finite(self) -> None:
        if not all(np.isfinite(p).all() for p in self._params()):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed (e.g. StandardScaler), or the "
                "learning rate (learning_rate_init) may be too high."
            )

    def _fit_lbfgs(self, X: np.ndarray, y: np.ndarray, sw: np.ndarray | None) -> None:
        kind = self._loss_kind()
        self._net.train()

        def unpack(theta: np.ndarray) -> None:
            self._flat[...] = theta  # every parameter: they are views of self._flat

        def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
            unpack(theta)
            loss = self._backprop(X, y, sw, kind)
            return loss, self._flat_grad.astype(np.float64)  # a copy: the buffer is reused

        res = scipy.optimize.minimize(
            loss_grad,
            self._flat.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        if res.status != 0:
            msg = res.message.decode("latin1") if isinstance(res.message, bytes) else res.message
            warnings.warn(
                f"lbfgs failed to converge after {res.nit} iteration(s) (status={res.status}):\n"
                f"{msg}.\n\nIncrease the number of iterations to improve the convergence "
                f"(max_iter={self.max_iter}).\nYou might also want to scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.n_iter_ = min(int(res.nit), self.max_iter)
        self.loss_ = float(res.fun)
        unpack(res.x)

    def _split_validation(
        self, X: np.ndarray, y: np.ndarray, sw: np.ndarray | None
    ) -> tuple[Any, ...]:
        """scikit-learn's early-stopping split, stratified for single-label classification."""
        n = X.shape[0]
        n_val = math.ceil(self.validation_fraction * n)
        stratify = None
        if is_classifier(self) and self._label_binarizer.y_type_ in ("binary", "multiclass"):
            labels = self._label_binarizer.inverse_transform(y if y.shape[1] > 1 else y.ravel())
            _, counts = np.unique(labels, return_counts=True)
            if counts.min() >= 2 and n_val >= len(counts) and n - n_val >= len(counts):
                stratify = labels
        if n_val < 2 or n - n_val < 1:
            raise ValueError(
                f"The validation set is too small: validation_fraction={self.validation_fraction}"
                f" of {n} samples leaves {n_val} for validation; early stopping needs at least "
                "2. Increase 'validation_fraction' or the size of your dataset, or set "
                "early_stopping=False."
            )
        arrays = [X, y] if sw is None else [X, y, sw]
        parts = train_test_split(
            *arrays, random_state=self._random_state, test_size=n_val, stratify=stratify
        )
        X_tr, X_val, y_tr, y_val = parts[:4]
        sw_tr, sw_val = (parts[4], parts[5]) if sw is not None else (None, None)
        if is_classifier(self):
            # Compare labels with labels: the scores work on the original classes (strings too).
            y_val = self._label_binarizer.inverse_transform(
                y_val if y_val.shape[1] > 1 else y_val.ravel()
            )
        return X_tr, X_val, y_tr, y_val, sw_tr, sw_val

    def _fit_stochastic(
        self, X: np.ndarray, y: np.ndarray, sw: np.ndarray | None, incremental: bool
    ) -> None:
        """Epochs of mini-batch steps until ``max_iter``, or the solver says stop."""
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = SOLVERS[self.solver]([self._flat], self)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if self.early_stopping:
            X, X_val, y, y_val, sw, sw_val = self._split_validation(X, y, sw)
            validation = (X_val, y_val, sw_val)
        else:
            validation = None
        y = self._targets(y, X.dtype)
        batch_size = self._batch_size(X.shape[0])
        sample_idx = np.arange(X.shape[0])
        self.n_iter_ = 0  # the iterations of this call, also with warm_start (sklearn #24764)
        for _ in range(self.max_iter):
            self._net.train()  # scoring the validation set switches it to eval
            if self.shuffle:
                sample_idx = self._random_state.permutation(sample_idx)
            loss = self._epoch(X, y, sw, sample_idx, batch_size)
            if self._epoch_ends(loss, X.shape[0], validation) or incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                    "the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
        if self.early_stopping:
            for p, best in zip(self._params(), self._best_coefs, strict=True):
                p[...] = best

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to "
                "be clipped",
                stacklevel=4,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _epoch(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sw: np.ndarray | None,
        sample_idx: np.ndarray,
        batch_size: int,
    ) -> float:
        """One pass over the batches, a solver step each; returns the epoch's mean loss."""
        optimizer, kind = self._optimizer, self._loss_kind()
        n_samples = X.shape[0]
        # NOTE: the log-loss of a batch needs only its rows' true-class probabilities; they
        # are kept for the epoch, and every batch's loss computed from them at its end in a
        # few array passes instead of a few per batch (unweighted log-loss only).
        p_true = np.empty(n_samples, X.dtype) if kind == "log_loss" and sw is None else None
        batch_losses = []
        for batch in gen_batches(n_samples, batch_size):
            # NOTE: a batch's rows are gathered one batch at a time: a permuted copy of a
            # large X per epoch costs more (a fresh allocation of X's size). take() is
            # the quicker gather than X[idx] (the same rows).
            if self.shuffle:
                idx = sample_idx[batch]
                Xb, yb = X.take(idx, axis=0), y.take(idx, axis=0)
                swb = None if sw is None else sw.take(idx)
            else:
                Xb, yb, swb = X[batch], y[batch], None if sw is None else sw[batch]
            p_b = None if p_true is None else p_true[batch]
            batch_losses.append(self._backprop(Xb, yb, swb, kind, optimizer.decoupled, p_b))
            optimizer.step([self._flat], [self._flat_grad])
        if p_true is not None:  # batch_losses hold the L2 terms: add the log-losses
            data = batch_log_losses(p_true, batch_size)
            batch_losses = [d + l2 for d, l2 in zip(data, batch_losses, strict=True)]
        accumulated_loss = 0.0
        for batch, batch_loss in zip(gen_batches(n_samples, batch_size), batch_losses, strict=True):
            accumulated_loss += batch_loss * (batch.stop - batch.start)
        return accumulated_loss / n_samples

    def _epoch_ends(self, loss: float, n_samples: int, validation: tuple | None) -> bool:
        """Record the epoch, as scikit-learn does; whether training should stop."""
        self.n_iter_ += 1
        self.loss_ = loss
        self.t_ += n_samples
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        if not np.isfinite(self.loss_):
            self._check_finite()
        early_stopping = validation is not None
        self._update_no_improvement_count(early_stopping, *(validation or (None, None, None)))
        self._optimizer.iteration_ends(self.t_)
        if self._no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if early_stopping else "Training loss"
            msg = (
                f"{what} did not improve more than tol={self.tol:f} for "
                f"{self.n_iter_no_change} consecutive epochs."
            )
            if self._optimizer.trigger_stopping(msg, self.verbose):
                return True
            self._no_improvement_count = 0
        return False

    def _update_no_improvement_count(
        self, early_stopping: bool, X: Any, y: Any, sw: np.ndarray | None
    ) -> None:
        if early_stopping:
            score = self._score(X, y, sample_weight=sw)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_coefs = [p.copy() for p in self._params()]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _score_with_function(self, X: Any, y: Any, sample_weight: Any, fn: Any) -> float:
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return float(fn(y, y_pred, sample_weight=sample_weight))

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classification) or real targets (regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss (its weighted mean) and in the
            L2 term's scaling, as in scikit-learn 1.7+.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self) -> bool:
        if self.solver == "lbfgs":
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is "
                "not stochastic."
            )
        return True

    # ------------------------------------------------------------ retrograd's additions

    def to_module(self) -> nn.Sequential:
        """The trained network as a ``retrograd.nn.Sequential`` (a copy, in eval mode).

        Its output is ``predict_proba`` for a classifier (a final ``Softmax`` or
        ``Sigmoid``) and ``predict`` for a squared-error regressor; with
        ``loss='poisson'`` it ends at the log of the prediction (apply ``exp``).
        """
        check_is_fitted(self)
        layers = [m for m in self._net.children() if not isinstance(m, nn.Dropout)]
        out = {"softmax": [nn.Softmax(dim=1)], "logistic": [nn.Sigmoid()]}
        copy = serialization.build(
            serialization.architecture(nn.Sequential(*layers, *out.get(self.out_activation_, [])))
        )
        linears = [m for m in copy.children() if isinstance(m, nn.Linear)]
        for dst, src in zip(linears, self._linears, strict=True):
            dst.weight.array = src.weight.array.copy()
            dst.bias.array = src.bias.array.copy()
        return copy.eval()

    def save(self, path: PathLike) -> None:
        """Write the fitted estimator to ``path`` (safetensors: weights, architecture, metadata)."""
        check_is_fitted(self)
        params = self.get_params()
        params["dtype"] = str(self._dtype)
        hidden = params["hidden_layer_sizes"]
        params["hidden_layer_sizes"] = list(hidden) if hasattr(hidden, "__iter__") else hidden
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None
        meta: dict[str, Any] = {
            "kind": _FORMAT,
            "estimator": type(self).__name__,
            "params": params,
            "n_features_in_": int(self.n_features_in_),
            "n_outputs_": int(self.n_outputs_),
            "n_layers_": int(self.n_layers_),
            "out_activation_": self.out_activation_,
            "n_iter_": int(self.n_iter_),
            "t_": int(self.t_),
            "loss_": float(self.loss_),
        }
        for key in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
            if hasattr(self, key):
                value = getattr(self, key)
                meta[key] = None if value is None else np.asarray(value, dtype=float).tolist()
        if hasattr(self, "feature_names_in_"):
            meta["feature_names_in_"] = [str(f) for f in self.feature_names_in_]
        if is_classifier(self):
            lb = self._label_binarizer
            meta["classes_"] = self.classes_.tolist()
            meta["classes_dtype"] = str(self.classes_.dtype)
            meta["y_type_"] = lb.y_type_
            meta["sparse_input_"] = bool(lb.sparse_input_)
        serialization.save(self._net, path, meta)

    @classmethod
    @fill_doc(raises=LOAD_RAISES_DOC)
    def load(cls, path: PathLike) -> Any:
        """Read an estimator written by :meth:`save`; it predicts as the saved one did.

        The file is checked before it is used: its parameters (as ``fit``
        validates them), every fitted attribute's type, the architecture against
        the tensors it holds, finite weights, and the layer sizes against
        ``n_features_in_``, ``n_outputs_`` and the classes.

        {raises}
        """
        meta = serialization.read_metadata(path)
        if meta.get("kind") != _FORMAT or meta.get("estimator") != cls.__name__:
            raise ModelFileError(
                f"{path} does not hold a retrograd.sklearn {cls.__name__} "
                f"(found {meta.get('estimator') or meta.get('kind')!r})"
            )
        check = _SavedEstimator(meta, path, cls)
        est = check.estimator()
        net = serialization.load(path)
        est._net = net
        est._linears = [m for m in net.children() if isinstance(m, nn.Linear)]
        est._dtype = np.dtype(meta["params"]["dtype"])
        check.network(net, est._linears)
        est._sync_attributes()
        for key in ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_"):
            setattr(est, key, meta[key])
        est.t_, est.loss_ = meta["t_"], meta["loss_"]
        for key in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
            if key in meta:
                setattr(est, key, meta[key])
        est._no_improvement_count = 0
        if "feature_names_in_" in meta:
            est.feature_names_in_ = np.asarray(meta["feature_names_in_"], dtype=object)
        if "classes_" in meta:
            lb = LabelBinarizer()
            lb.classes_ = check.classes
            lb.y_type_ = meta["y_type_"]
            lb.sparse_input_ = meta["sparse_input_"]
            est._label_binarizer = lb
            est.classes_ = lb.classes_
        return est

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _SavedEstimator:
    """The metadata of a saved estimator, each field checked for its type and value."""

    _REQUIRED = (
        "kind", "estimator", "params", "n_features_in_", "n_outputs_", "n_layers_",
        "out_activation_", "n_iter_", "t_", "loss_",
    )  # fmt: skip
    _OPTIONAL = (
        "loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
        "feature_names_in_",
    )  # fmt: skip
    _CLASSIFIER = ("classes_", "classes_dtype", "y_type_", "sparse_input_")

    def __init__(self, meta: dict[str, Any], path: PathLike, cls: type) -> None:
        self.meta, self.path, self.cls = meta, path, cls
        classifier = issubclass(cls, ClassifierMixin)
        known = self._REQUIRED + self._OPTIONAL + (self._CLASSIFIER if classifier else ())
        unknown = sorted(set(meta) - set(known))
        missing = [
            k for k in self._REQUIRED + (self._CLASSIFIER if classifier else ()) if k not in meta
        ]
        if unknown or missing:
            said = [f"missing {', '.join(map(repr, missing))}"] if missing else []
            said += [f"unknown {', '.join(map(repr, unknown))}"] if unknown else []
            raise ModelFileError(f"{path}: the estimator's metadata is damaged: {'; '.join(said)}")
        for key in ("n_features_in_", "n_outputs_", "n_layers_", "n_iter_", "t_"):
            low = 2 if key == "n_layers_" else 1 if key in ("n_features_in_", "n_outputs_") else 0
            if not is_int(meta[key]) or meta[key] < low:
                self.bad(key, f"an int >= {low}", meta[key])
        if not is_real(meta["loss_"]):
            self.bad("loss_", "a number", meta["loss_"])
        for key in ("loss_curve_", "validation_scores_"):
            value = meta.get(key)
            if value is not None and not (
                isinstance(value, list) and all(is_real(v) for v in value)
            ):
                self.bad(key, "a list of numbers", value)
        for key in ("best_loss_", "best_validation_score_"):
            if meta.get(key) is not None and not is_real(meta[key]):
                self.bad(key, "a number or null", meta[key])
        names = meta.get("feature_names_in_")
        if names is not None and not (
            isinstance(names, list)
            and all(isinstance(n, str) for n in names)
            and len(names) == meta["n_features_in_"]
        ):
            self.bad("feature_names_in_", f"{meta['n_features_in_']} column names", names)
        if meta["out_activation_"] not in OUT_ACTIVATIONS:
            self.bad(
                "out_activation_", f"one of {', '.join(OUT_ACTIVATIONS)}", meta["out_activation_"]
            )
        self.classes = self.check_classes() if classifier else None

    def bad(self, key: str, expected: str, got: Any) -> None:
        raise ModelFileError(
            f"{self.path}: field {key!r} must be {expected}, "
            f"got {serialization.describe_value(got)}"
        )

    def check_classes(self) -> np.ndarray:
        """The classes, their dtype, the target type and the outputs they need, consistent."""
        meta = self.meta
        try:
            dtype = np.dtype(meta["classes_dtype"])
        except (TypeError, ValueError):
            dtype = None
        if dtype is None or dtype.kind not in "biufU":
            self.bad("classes_dtype", "a dtype of numbers, bools or strings", meta["classes_dtype"])
        if not isinstance(meta["classes_"], list) or len(meta["classes_"]) < 1:
            self.bad("classes_", "a non-empty list of labels", meta["classes_"])
        try:
            classes = np.asarray(meta["classes_"], dtype=dtype)
        except (TypeError, ValueError, OverflowError):
            self.bad("classes_", f"labels of dtype {dtype}", meta["classes_"])
        if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
            self.bad("classes_", "distinct labels", meta["classes_"])
        y_type, k, n_out = meta["y_type_"], len(classes), meta["n_outputs_"]
        outputs = {"binary": 1, "multiclass": k, "multilabel-indicator": k}
        if y_type not in outputs:
            self.bad("y_type_", f"one of {', '.join(outputs)}", y_type)
        if n_out != outputs[y_type] or (y_type == "binary" and k > 2):
            raise ModelFileError(
                f"{self.path}: {k} classes ({y_type}) need {outputs[y_type]} output(s), but "
                f"'n_outputs_' is {n_out}"
            )
        activation = "softmax" if y_type == "multiclass" else "logistic"
        if meta["out_activation_"] != activation:
            self.bad(
                "out_activation_", f"{activation!r} for {y_type} targets", meta["out_activation_"]
            )
        if not isinstance(meta["sparse_input_"], bool):
            self.bad("sparse_input_", "true or false", meta["sparse_input_"])
        return classes

    def estimator(self) -> Any:
        """The estimator with the saved parameters, validated as ``fit`` validates them."""
        params = self.meta["params"]
        expected = set(self.cls().get_params())
        if not isinstance(params, dict) or set(params) != expected:
            got = set(params) if isinstance(params, dict) else params
            raise ModelFileError(
                f"{self.path}: field 'params' must hold {self.cls.__name__}'s parameters "
                f"({', '.join(sorted(expected))}), got {serialization.describe_value(got)}"
            )
        params = dict(params)
        if isinstance(params["hidden_layer_sizes"], list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        est = self.cls(**params)
        try:
            est._validate_params()
            check_dtype(params["dtype"])
        except ValueError as e:
            raise ModelFileError(f"{self.path}: field 'params': {e}") from None
        return est

    def network(self, net: Any, linears: list[Any]) -> None:
        """Linear layers (and the hidden activation, Dropout) sized as the metadata says."""
        meta = self.meta
        allowed = (nn.Linear, nn.Dropout, ACTIVATIONS[meta["params"]["activation"]])
        odd = [type(m).__name__ for m in net.children() if not isinstance(m, allowed)]
        sizes = [(m.in_features, m.out_features) for m in linears]
        ok = (
            isinstance(net, nn.Sequential)
            and not odd
            and len(linears) == meta["n_layers_"] - 1
            and all(a[1] == b[0] for a, b in itertools.pairwise(sizes))
            and sizes[0][0] == meta["n_features_in_"]
            and sizes[-1][1] == meta["n_outputs_"]
        )
        if not ok:
            raise ModelFileError(
                f"{self.path}: the network (Linear sizes {sizes}"
                f"{', other layers ' + ', '.join(odd) if odd else ''}) does not match the "
                f"metadata: n_features_in_={meta['n_features_in_']}, "
                f"n_outputs_={meta['n_outputs_']}, n_layers_={meta['n_layers_']}"
            )


_DOC_PARAMS = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The number of neurons of each hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu', 'gelu', 'leaky_relu', 'elu'}, \
default='relu'
        The hidden layers' activation (a key of :data:`ACTIVATIONS`).
    solver : {'lbfgs', 'sgd', 'adam', 'adamw', 'rmsprop'}, default='adam'
        The optimizer (a key of :data:`SOLVERS`). 'lbfgs' runs
        ``scipy.optimize.minimize(method='L-BFGS-B')`` on the full batch with the
        engine's gradients. 'adamw' is Adam with the L2 term applied as decoupled
        weight decay ``W -= learning_rate * alpha * W``; 'rmsprop' uses
        ``beta_2`` as its smoothing constant and ``epsilon``.
    alpha : float, default=0.0001
        Strength of the L2 term, divided by the (weighted) sample count.
    batch_size : int or 'auto', default='auto'
        Mini-batch size of the stochastic solvers; 'auto' is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        The schedule of 'sgd': 'invscaling' is ``learning_rate_init / t**power_t``
        (``t`` samples seen); 'adaptive' divides the rate by 5 each time
        ``n_iter_no_change`` epochs pass without improvement by ``tol``.
    learning_rate_init : float, default=0.001
        The initial learning rate of the stochastic solvers.
    power_t : float, default=0.5
        The exponent of 'invscaling'.
    max_iter : int, default=200
        The most epochs (stochastic solvers) or iterations ('lbfgs').
    shuffle : bool, default=True
        Whether to shuffle the samples each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling, the early-stopping split (and
        the dropout masks).
    tol : float, default=1e-4
        The improvement of the loss (or validation score) below which an epoch
        counts as no improvement.
    verbose : bool, default=False
        Print the loss after each epoch.
    warm_start : bool, default=False
        Start from the previous fit's weights.
    momentum : float, default=0.9
        Momentum of 'sgd', scikit-learn's convention ``v = momentum*v - lr*g``.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for 'sgd'.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for single-label
        classification) and stop when its score stops improving; keeps the best
        weights.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping; must leave at least 2 samples.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's decay rates of the first and second moments.
    epsilon : float, default=1e-8
        Adam's (and RMSprop's) stabiliser.
    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` before stopping.
    max_fun : int, default=15000
        The most loss evaluations of 'lbfgs'.
    dropout : float, default=0.0
        retrograd only: dropout probability after each hidden activation, in training.
    dtype : {'float32', 'float64'}, default='float32'
        retrograd only: the floating type of the weights and the training arithmetic.
    capture : bool, default=True
        retrograd only: replay the network's forward and backward passes
        (:class:`retrograd.capture.Backprop`) instead of running them through the
        eager engine each batch; the same numbers bit for bit.
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = (
        """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on retrograd.

    Minimises the log-loss (softmax output for multiclass targets, logistic for
    binary and multilabel ones) plus the L2 term.

    Parameters
    ----------"""
        + _DOC_PARAMS
        + """
    Attributes
    ----------
    classes_ : ndarray
        The class labels.
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_ :
        As in scikit-learn (the last three only for the stochastic solvers).
    coefs_, intercepts_ : list of ndarray
        Weight matrices (fan_in, fan_out) and bias vectors of each layer.
    n_iter_ : int
        Iterations of the latest ``fit`` (also with ``warm_start``).
    t_ : int
        Samples seen by the stochastic solvers, over all fits.
    n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_ :
        As in scikit-learn.
    """
    )

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        dtype: Any = "float32",
        capture: bool = True,
    ) -> None:
        self._store_params(locals())

    loss = "log_loss"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple[Any, Any]:
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels, of shape (n_samples,) or (n_samples, n_classes) for multilabel."""
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return self._score_with_function(X, y, sample_weight, accuracy_score)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None) -> Any:
        """One epoch over ``X``, ``y``; ``classes`` is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The log of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = (
        """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on retrograd.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        Half squared error (identity output) or half Poisson deviance (exp output)."""
        + _DOC_PARAMS
        + """
    Attributes
    ----------
    As :class:`MLPClassifier`, without ``classes_``.
    """
    )

    _parameter_constraints: ClassVar[dict] = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        dtype: Any = "float32",
        capture: bool = True,
    ) -> None:
        self._store_params(locals())

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple[Any, Any]:
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("loss='poisson' requires non-negative y")
        return X, y

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return self._score_with_function(X, y, sample_weight, r2_score)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """One epoch over ``X``, ``y``."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
