"""The training loop: forward, loss, backward, update, over mini-batches and epochs.

:func:`fit` runs the loop and returns a :class:`History`. It stops at
``max_epochs``; earlier when the training loss stops improving (scikit-learn's
``tol``/``n_iter_no_change`` rule) or, with ``early_stopping=True``, when the
validation loss has not improved for ``patience`` epochs (the best weights are
then restored); when a callback asks; or on Ctrl-C, which rolls back to the
last completed epoch. A non-finite loss or gradient raises
:class:`NonFiniteError` before the update, so the weights stay finite.

With ``checkpoint_path`` every epoch ends by writing a checkpoint (weights,
optimizer and scheduler state, history, stopping bookkeeping, random state);
``resume_from`` continues from one so that the run ends bit for bit where an
uninterrupted run would.

Epochs are numbered from 1, and so are batches within an epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from . import distributed as _dist
from . import random as _random
from .autograd import no_grad
from .serialization import PathLike, load_checkpoint, save_checkpoint
from .tensor import Tensor, wrap_array

__all__ = ["STOP_REASONS", "History", "NonFiniteError", "evaluate", "fit"]

#: Why :func:`fit` ended, as stored in :attr:`History.stop_reason` ('diverged': it raised
#: :class:`NonFiniteError`, whose ``history`` attribute holds the History).
STOP_REASONS = ("max_epochs", "converged", "early_stopping", "interrupted", "callback", "diverged")

#: ``metric=`` accepts one of these names or a callable ``(y_pred, y_true) -> float``.
MetricLike = Union[str, Callable[[Tensor, Tensor], float], None]
#: A callback: ``(epoch, record, model) -> bool | None``; True stops training.
Callback = Callable[[int, dict[str, Any], Any], Any]

_CHECKPOINT_KIND = "retrograd-fit/1"


class NonFiniteError(RuntimeError):
    """The loss or a gradient became NaN or infinite; the update was not applied.

    Attributes
    ----------
    epoch : int
        The epoch (from 1) of the failing step.
    batch : int
        The batch (from 1, within the epoch) of the failing step.
    parameter : str or None
        Dotted name (as in ``model.named_parameters()``) of the first parameter
        whose gradient holds NaN or inf; None when every gradient is finite and
        only the loss is not.
    loss : float
        The loss of the failing batch.
    restored_epoch : int or None
        None when the weights are those from before the failing step (they were
        finite). When they were not (a finite but huge update overflowed them),
        the model and optimizer were rolled back to the end of this epoch (0:
        the start of training).
    history : History or None
        The epochs completed before the failure (``stop_reason='diverged'``).
    ranks : list of int
        In distributed training, the ranks whose loss or gradients were not
        finite (empty otherwise).
    """

    history: History | None = None

    def __init__(
        self,
        epoch: int,
        batch: int,
        parameter: str | None,
        loss: float,
        restored_epoch: int | None = None,
        ranks: Sequence[int] = (),
        world_size: int = 1,
    ) -> None:
        self.epoch, self.batch, self.parameter, self.loss = epoch, batch, parameter, loss
        self.restored_epoch = restored_epoch
        self.ranks = list(ranks)
        where = ""
        if self.ranks:
            names = ", ".join(map(str, self.ranks))
            where = f" on rank{'s' if len(self.ranks) > 1 else ''} {names} of {world_size}"
        if parameter is None:
            what = f"the loss is {loss}"
        else:
            what = f"the gradient of parameter {parameter!r} is not finite (loss {loss})"
        if restored_epoch is None:
            kept = "The update was not applied: the weights are those from before this step."
        else:
            kept = (
                "The weights had already overflowed, so the model and optimizer were restored "
                f"to the end of epoch {restored_epoch}."
            )
        super().__init__(
            f"training diverged at epoch {epoch}, batch {batch}{where}: {what}. {kept} Lower the "
            "learning rate, check the inputs for NaN/inf, or clip the gradients."
        )


class _DivergedError(Exception):
    """Internal: a step found a non-finite loss or gradient (fit turns it into NonFiniteError)."""

    def __init__(
        self, batch: int, parameter: str | None, loss: float, ranks: Sequence[int] = ()
    ) -> None:
        self.batch, self.parameter, self.loss, self.ranks = batch, parameter, loss, ranks


# ------------------------------------------------------------------ history


@dataclass
class History:
    """What :func:`fit` measured, one record per completed epoch.

    Attributes
    ----------
    records : list of dict
        One dict per epoch with ``epoch`` (int, from 1), ``train_loss``,
        ``val_loss``, ``train_metric``, ``val_metric``, ``lr`` (the rate used
        during the epoch) and ``seconds``: Python floats, or None where not
        measured (no validation data, no metric). ``train_metric`` is computed
        on the outputs seen during the epoch (dropout active, weights moving),
        as Keras reports it; ``train_loss`` is the mean over the epoch's
        samples in the same way.
    best_epoch : int or None
        The epoch with the lowest validation loss (training loss without
        validation data).
    stop_reason : str or None
        One of :data:`STOP_REASONS`.
    metric : str or None
        The metric's name (``'accuracy'``, ``'r2'`` or a callable's ``__name__``).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    stop_reason: str | None = None
    metric: str | None = None

    def _column(self, key: str) -> list[Any]:
        return [r[key] for r in self.records]

    @property
    def epochs(self) -> list[int]:
        """Epoch numbers of the records."""
        return self._column("epoch")

    @property
    def train_loss(self) -> list[float]:
        """Mean training loss per epoch."""
        return self._column("train_loss")

    @property
    def val_loss(self) -> list[float | None]:
        """Validation loss per epoch (None without validation data)."""
        return self._column("val_loss")

    @property
    def train_metric(self) -> list[float | None]:
        """Training metric per epoch (None without a metric)."""
        return self._column("train_metric")

    @property
    def val_metric(self) -> list[float | None]:
        """Validation metric per epoch (None without a metric or validation data)."""
        return self._column("val_metric")

    @property
    def lr(self) -> list[float]:
        """Learning rate of the first param group during each epoch."""
        return self._column("lr")

    @property
    def n_epochs(self) -> int:
        """Number of completed epochs (including those before a resume)."""
        return self.records[-1]["epoch"] if self.records else 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy: ``{'records', 'best_epoch', 'stop_reason', 'metric'}``."""
        return {
            "records": [dict(r) for r in self.records],
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
            "metric": self.metric,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a History from :meth:`to_dict`'s output."""
        return cls(
            records=[dict(r) for r in data.get("records", [])],
            best_epoch=data.get("best_epoch"),
            stop_reason=data.get("stop_reason"),
            metric=data.get("metric"),
        )


# ------------------------------------------------------------------ metrics


def _accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    """Share of correct predictions; one output column is read as a logit (> 0 is class 1)."""
    if pred.ndim == 2 and pred.shape[1] > 1:
        labels = pred.argmax(axis=1)
    else:
        labels = (pred.reshape(-1) > 0).astype(np.int64)
    if true.ndim == 2 and true.shape[1] > 1:  # one-hot or probability targets
        true = true.argmax(axis=1)
    return float(np.mean(labels == true.reshape(-1)))


def _r2(pred: np.ndarray, true: np.ndarray) -> float:
    """Coefficient of determination, averaged over output columns as scikit-learn's r2_score."""
    p = pred.reshape(len(pred), -1).astype(np.float64)
    t = true.reshape(len(true), -1).astype(np.float64)
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    # As scikit-learn (force_finite): a constant target scores 1 if predicted exactly, else 0.
    safe = np.where(ss_tot > 0, ss_tot, 1.0)
    scores = np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy,
    "r2": _r2,
}


def _resolve_metric(
    metric: MetricLike,
) -> tuple[str | None, Callable[[np.ndarray, np.ndarray], float] | None]:
    if metric is None:
        return None, None
    if isinstance(metric, str):
        if metric not in _METRICS:
            raise ValueError(
                f"unknown metric {metric!r}; expected one of {', '.join(map(repr, _METRICS))} "
                "or a callable (y_pred, y_true) -> float"
            )
        return metric, _METRICS[metric]
    if callable(metric):

        def on_tensors(pred: np.ndarray, true: np.ndarray) -> float:
            return float(metric(wrap_array(pred), wrap_array(true)))

        return getattr(metric, "__name__", "metric"), on_tensors
    raise TypeError(f"metric must be None, a name or a callable, got {type(metric).__name__}")


def _batch_size(target: Any) -> int:
    shape = getattr(target, "shape", None)
    return int(shape[0]) if shape else 1


def _data(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


# ------------------------------------------------------------------ evaluation


def evaluate(
    model: Any,
    loss_fn: Callable[[Any, Any], Tensor],
    loader: Iterable[tuple[Any, Any]],
    metric: MetricLike = None,
) -> tuple[float, float | None]:
    """Mean loss (weighted by batch size) and metric of ``model`` over ``loader``.

    Runs under :func:`retrograd.no_grad` in eval mode and puts the model back
    into the mode it was in.

    Parameters
    ----------
    model : nn.Module
    loss_fn : callable
        ``loss_fn(output, target)`` with ``reduction='mean'``.
    loader : iterable of (input, target)
        Batches; ``target.shape[0]`` is the batch size.
    metric : {'accuracy', 'r2'} or callable, optional
        Computed once on the concatenated outputs and targets.

    Returns
    -------
    (float, float or None)
        The loss and the metric (None without one).
    """
    _, metric_fn = _resolve_metric(metric)
    return _evaluate(model, loss_fn, loader, metric_fn)


def _evaluate(
    model: Any,
    loss_fn: Callable[[Any, Any], Tensor],
    loader: Iterable[tuple[Any, Any]],
    metric_fn: Callable[[np.ndarray, np.ndarray], float] | None,
) -> tuple[float, float | None]:
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    outs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    try:
        with no_grad():
            for xb, yb in loader:
                out = model(xb)
                n = _batch_size(yb)
                total += float(loss_fn(out, yb).data) * n
                count += n
                if metric_fn is not None:
                    outs.append(_data(out))
                    targets.append(_data(yb))
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluation loader yielded no batches")
    value = None
    if metric_fn is not None:
        value = metric_fn(np.concatenate(outs), np.concatenate(targets))
    return total / count, value


# ------------------------------------------------------------------ stopping rules


@dataclass
class _Stopping:
    """The bookkeeping of the stopping rules, saved in checkpoints."""

    best_train_loss: float = math.inf
    no_improvement: int = 0  # epochs in a row without a train-loss gain of tol
    best_val_loss: float = math.inf
    bad_epochs: int = 0  # epochs in a row without a val-loss gain of tol
    best_epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _snapshot_model(model: Any) -> dict[str, np.ndarray]:
    return {k: v.data.copy() for k, v in model.state_dict().items()}


def _restore_model(model: Any, arrays: Mapping[str, np.ndarray]) -> None:
    model.load_state_dict(arrays)


class _Rollback:
    """Model, optimizer and scheduler state at the end of the last completed epoch."""

    def __init__(self, model: Any, optimizer: Any, scheduler: Any, n_records: int) -> None:
        self.model_state = _snapshot_model(model)
        self.optimizer_state = optimizer.state_dict()
        self.scheduler_state = scheduler.state_dict() if scheduler is not None else None
        self.n_records = n_records

    def restore(self, model: Any, optimizer: Any, scheduler: Any) -> None:
        _restore_model(model, self.model_state)
        optimizer.load_state_dict(self.optimizer_state)
        if scheduler is not None:
            scheduler.load_state_dict(self.scheduler_state)


def _loader_generator(loader: Any) -> Any:
    """The loader's own random generator (for shuffling), if it has one with a state."""
    gen = getattr(loader, "generator", None)
    return gen if gen is not None and hasattr(gen, "get_state") else None


def _is_plateau(scheduler: Any) -> bool:
    from .optim.lr_scheduler import ReduceLROnPlateau

    return isinstance(scheduler, ReduceLROnPlateau)


def _progress_bar(progress: bool, start: int, total: int) -> Any:
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm comes with retrograd[cli]; without it, train silently
        return None
    return tqdm(total=total, initial=start, unit="epoch", dynamic_ncols=True, leave=True)


# ------------------------------------------------------------------ the loop


def fit(
    model: Any,
    loss_fn: Callable[[Any, Any], Tensor],
    optimizer: Any,
    train_loader: Iterable[tuple[Any, Any]],
    val_loader: Iterable[tuple[Any, Any]] | None = None,
    *,
    max_epochs: int = 200,
    tol: float = 1e-4,
    n_iter_no_change: int | None = 10,
    early_stopping: bool = False,
    patience: int = 10,
    restore_best: bool = True,
    scheduler: Any = None,
    metric: MetricLike = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    check_finite: bool = True,
    checkpoint_path: PathLike | None = None,
    resume_from: PathLike | None = None,
    start_epoch: int = 0,
    distributed: bool | None = None,
) -> History:
    """Train ``model`` by mini-batch gradient descent and return its :class:`History`.

    Each step: ``optimizer.zero_grad()``, ``loss = loss_fn(model(x), y)``,
    ``loss.backward()``, a finiteness check, ``optimizer.step()``. Each epoch
    ends with the validation pass (eval mode, no graph), the record, the
    scheduler step, the stopping rules, the checkpoint, and the callbacks.

    Stopping rules, checked at the end of every epoch:

    - ``max_epochs`` epochs in total have run (``stop_reason='max_epochs'``);
    - without ``early_stopping``: the training loss has not fallen below its
      best by more than ``tol`` for more than ``n_iter_no_change`` epochs in a
      row, exactly scikit-learn's MLP rule (``'converged'``);
    - with ``early_stopping``: the validation loss has not fallen below its
      best by more than ``tol`` for ``patience`` epochs in a row
      (``'early_stopping'``); at the end, whatever stopped the run (but Ctrl-C),
      the weights of the epoch with the lowest validation loss are restored
      when ``restore_best``;
    - a callback returned True (``'callback'``);
    - Ctrl-C (KeyboardInterrupt): the model, optimizer and scheduler go back to
      the end of the last completed epoch and the history is returned
      (``'interrupted'``); nothing is re-raised.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(x)``; its parameters with ``requires_grad`` are checked
        for finite gradients.
    loss_fn : callable
        ``loss_fn(output, target) -> Tensor`` of shape (), a mean over the batch.
    optimizer : optim.Optimizer
        Over the model's parameters.
    train_loader : iterable of (input, target)
        Re-iterated every epoch (a ``DataLoader`` reshuffles then);
        ``target.shape[0]`` is the batch size used to weight the mean loss.
    val_loader : iterable of (input, target), optional
        Evaluated at the end of every epoch.
    max_epochs : int, default=200
        The total number of epochs, counting those before ``start_epoch`` or a resume.
    tol : float, default=1e-4
        The smallest decrease of a loss that counts as an improvement.
    n_iter_no_change : int or None, default=10
        The convergence rule on the training loss; None turns it off.
    early_stopping : bool, default=False
        Stop on the validation loss instead (needs ``val_loader``).
    patience : int, default=10
        Epochs without validation improvement before early stopping.
    restore_best : bool, default=True
        With early stopping, end with the weights of the best validation epoch.
    scheduler : optim.lr_scheduler.LRScheduler, optional
        Stepped once per epoch; ``ReduceLROnPlateau`` with the validation loss
        (the training loss without validation data).
    metric : {'accuracy', 'r2'} or callable, optional
        Recorded for training and validation each epoch. A callable gets
        ``(y_pred, y_true)`` Tensors of the whole epoch and returns a float.
    callbacks : sequence of callable, default=()
        Each called as ``callback(epoch, record, model)`` after the epoch's
        checkpoint; a return value of True stops training.
    progress : bool, default=True
        Show a tqdm bar over epochs with the loss, validation loss and metric.
    check_finite : bool, default=True
        Check the loss and the gradients every step and raise
        :class:`NonFiniteError` before a non-finite update.
    checkpoint_path : str or PathLike, optional
        Written (atomically) at the end of every epoch.
    resume_from : str or PathLike, optional
        A checkpoint written by a previous ``fit`` of the same model, optimizer
        and scheduler setup; training continues after its epoch.
    start_epoch : int, default=0
        Epochs already done (numbering continues from it); ignored when resuming.
    distributed : bool or None, default=None
        Train data-parallel over the ranks of :mod:`retrograd.distributed`
        (None: when it is initialized with more than one rank). Each rank's
        ``train_loader`` yields its shard of every global batch (a
        ``DataLoader`` with a :class:`~retrograd.distributed.DistributedSampler`,
        whose ``set_epoch`` is called before every epoch); the model is wrapped
        in a :class:`~retrograd.distributed.DistributedDataParallel` (rank 0's
        weights are broadcast), gradients, losses and metrics are reduced
        across ranks, every rank validates on the whole ``val_loader``, only
        rank 0 shows progress and writes the checkpoint, and a resumed
        checkpoint is read by rank 0 and broadcast. Before every epoch the
        default generator (dropout) is reseeded from the sampler's seed, the
        epoch and the rank, so that ranks draw different masks and a resume
        with any number of ranks repeats them.

    Returns
    -------
    History

    Raises
    ------
    NonFiniteError
        When the loss or a gradient is NaN or inf. The update is not applied;
        should the weights themselves have overflowed (a finite but huge
        update), the model and optimizer go back to the end of the last
        completed epoch. The error names the epoch, the batch and the first
        parameter with a non-finite gradient, and carries the history.
    ValueError
        For inconsistent options or an empty loader.
    """
    _check_fit_options(max_epochs, tol, n_iter_no_change, patience, start_epoch)
    if early_stopping and val_loader is None:
        raise ValueError("early_stopping=True needs a val_loader to monitor the validation loss")
    metric_name, metric_fn = _resolve_metric(metric)
    if distributed is None:
        distributed = _dist.is_initialized() and _dist.world_size() > 1
    ddp: _dist.DistributedDataParallel | None = None
    if isinstance(model, _dist.DistributedDataParallel):
        ddp, model = model, model.module
    is_main = not distributed or _dist.is_main()
    if distributed:
        _dist.init()
        _check_same_length(train_loader)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    plateau = _is_plateau(scheduler)
    loader_gen = _loader_generator(train_loader)
    history = History(metric=metric_name)
    stop = _Stopping()
    best_weights: dict[str, np.ndarray] | None = None

    if resume_from is not None:
        if distributed:  # rank 0 reads it: the other ranks need not see its disk
            ckpt = _dist.run_on_main(lambda: load_checkpoint(resume_from))
        else:
            ckpt = load_checkpoint(resume_from)
        if ckpt.get("kind") != _CHECKPOINT_KIND:
            raise ValueError(f"{resume_from} is not a checkpoint written by retrograd.fit")
        _restore_model(model, ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None:
            if ckpt["scheduler"] is None:
                raise ValueError(f"{resume_from} was written without a scheduler")
            scheduler.load_state_dict(ckpt["scheduler"])
        history = History.from_dict(ckpt["history"])
        history.metric = metric_name
        stop = _Stopping(**ckpt["stopping"])
        best_weights = ckpt["best_weights"]
        _random.default_generator.set_state(ckpt["rng"]["default"])
        if loader_gen is not None and ckpt["rng"]["loader"] is not None:
            loader_gen.set_state(ckpt["rng"]["loader"])
        start_epoch = int(ckpt["epoch"])
    if distributed and ddp is None:
        ddp = _dist.DistributedDataParallel(model)  # broadcasts rank 0's weights
    sampler = getattr(train_loader, "sampler", None)
    if not hasattr(sampler, "set_epoch"):
        sampler = None

    def write_checkpoint(epoch: int) -> None:
        save_checkpoint(
            {
                "kind": _CHECKPOINT_KIND,
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "history": history.to_dict(),
                "stopping": stop.to_dict(),
                "best_weights": best_weights,
                "rng": {
                    "default": _random.default_generator.get_state(),
                    "loader": loader_gen.get_state() if loader_gen is not None else None,
                },
            },
            checkpoint_path,  # type: ignore[arg-type]
        )

    model.train()
    rollback = _Rollback(model, optimizer, scheduler, len(history.records))
    saved_stop, saved_best = dict(stop.to_dict()), best_weights
    reason = history.stop_reason or "max_epochs"
    first = max_epochs + 1 if history.stop_reason else start_epoch + 1  # a finished run: no-op
    show = progress and is_main and first <= max_epochs
    bar = _progress_bar(progress, start_epoch, max_epochs) if show else None
    try:
        for epoch in range(first, max_epochs + 1):
            if sampler is not None:
                sampler.set_epoch(epoch - 1)  # the sampler's epochs count from 0
            if ddp is not None:
                _random.default_generator.manual_seed(
                    _rank_seed(getattr(sampler, "seed", 0), epoch, _dist.rank())
                )
            try:
                record = _run_epoch(
                    model, loss_fn, optimizer, train_loader, named, params, epoch,
                    metric_fn, check_finite, ddp,
                )  # fmt: skip
                if val_loader is not None:
                    record["val_loss"], record["val_metric"] = _evaluate(
                        model, loss_fn, val_loader, metric_fn
                    )
                if ddp is not None:
                    # Every rank decides with rank 0's numbers: a last-bit difference between
                    # machines' BLAS must not make one rank stop an epoch before the others.
                    record = _dist.broadcast_object(record)
                history.records.append(record)
                reason, improved = _apply_stopping_rules(
                    stop, record, epoch, early_stopping, tol, n_iter_no_change, patience
                )
                if improved and early_stopping and restore_best:
                    best_weights = _snapshot_model(model)
                history.best_epoch = stop.best_epoch
                if reason != "max_epochs" or epoch == max_epochs:
                    # Saved in the checkpoint: resuming a finished run then trains no more.
                    history.stop_reason = reason
                if scheduler is not None:
                    if plateau:
                        monitored = record["val_loss"]
                        scheduler.step(record["train_loss"] if monitored is None else monitored)
                    else:
                        scheduler.step()
                if checkpoint_path is not None and is_main:
                    write_checkpoint(epoch)
                rollback = _Rollback(model, optimizer, scheduler, len(history.records))
                saved_stop, saved_best = dict(stop.to_dict()), best_weights
            except _DivergedError as d:
                restored = None
                if not all(np.isfinite(p.data).all() for p in params):
                    rollback.restore(model, optimizer, scheduler)
                    restored = epoch - 1
                error = NonFiniteError(
                    epoch, d.batch, d.parameter, d.loss, restored, d.ranks, _dist.world_size()
                )
                history.stop_reason = "diverged"
                error.history = history
                raise error from None
            except KeyboardInterrupt:
                if ddp is not None and _dist.world_size() > 1:
                    raise  # the other ranks may be anywhere in the epoch: no common rollback
                rollback.restore(model, optimizer, scheduler)
                del history.records[rollback.n_records :]
                stop, best_weights = _Stopping(**saved_stop), saved_best
                history.best_epoch = stop.best_epoch
                model.train()
                reason = "interrupted"
                break
            if bar is not None:
                bar.update(1)
                bar.set_postfix(_postfix(record, metric_name), refresh=False)
            try:
                for callback in callbacks:
                    if callback(epoch, record, model) is True and reason == "max_epochs":
                        reason = "callback"
            except KeyboardInterrupt:  # the epoch is complete: keep it
                reason = "interrupted"
            if ddp is not None:  # callbacks may differ between ranks: rank 0's decision holds
                reason = _dist.broadcast_object(reason)
            if reason != "max_epochs":
                break
    finally:
        if bar is not None:
            bar.close()
    history.stop_reason = reason
    if early_stopping and restore_best and reason != "interrupted" and best_weights is not None:
        _restore_model(model, best_weights)
    return history


def _check_fit_options(
    max_epochs: int, tol: float, n_iter_no_change: int | None, patience: int, start_epoch: int
) -> None:
    for name, value in (("max_epochs", max_epochs), ("patience", patience)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if n_iter_no_change is not None and (
        isinstance(n_iter_no_change, bool)
        or not isinstance(n_iter_no_change, int)
        or n_iter_no_change < 1
    ):
        raise ValueError(f"n_iter_no_change must be an int >= 1 or None, got {n_iter_no_change!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    if isinstance(start_epoch, bool) or not isinstance(start_epoch, int) or start_epoch < 0:
        raise ValueError(f"start_epoch must be an int >= 0, got {start_epoch!r}")


def _run_epoch(
    model: Any,
    loss_fn: Callable[[Any, Any], Tensor],
    optimizer: Any,
    loader: Iterable[tuple[Any, Any]],
    named: list[tuple[str, Tensor]],
    params: list[Tensor],
    epoch: int,
    metric_fn: Callable[[np.ndarray, np.ndarray], float] | None,
    check_finite: bool,
    ddp: _dist.DistributedDataParallel | None = None,
) -> dict[str, Any]:
    """One pass over ``loader``; returns the epoch's record (without validation numbers).

    With ``ddp``, the loader yields this rank's shards; losses, counts and the
    metric are those of the global batches.
    """
    t0 = time.perf_counter()
    lr = float(optimizer.param_groups[0]["lr"])
    total, count, batch = 0.0, 0, 0
    outs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    isfinite = math.isfinite
    for batch, (xb, yb) in enumerate(loader, 1):
        optimizer.zero_grad()
        out = model(xb)
        loss = loss_fn(out, yb)
        loss.backward()
        value = float(loss.data)
        if ddp is not None:
            sync = ddp.sync_gradients(_batch_size(yb), value)
            value = sync.loss
            if check_finite and sync.nonfinite_ranks:
                raise _DivergedError(batch, _first_nonfinite(named), value, sync.nonfinite_ranks)
            optimizer.step()
            total += value * sync.batch_size
            count += sync.batch_size
            if metric_fn is not None:
                outs.append(out.data)
                targets.append(_data(yb))
            continue
        if check_finite:
            # One reduction per gradient, summed: finite unless some entry is NaN/inf (or
            # the sum overflows, which _first_nonfinite then tells apart).
            s = 0.0
            for p in params:
                g = p.grad
                if g is not None:
                    s += float(g.data.sum())
            if not (isfinite(value) and isfinite(s)):
                name = _first_nonfinite(named)
                if name is not None or not isfinite(value):
                    raise _DivergedError(batch, name, value)
        optimizer.step()
        n = _batch_size(yb)
        total += value * n
        count += n
        if metric_fn is not None:
            outs.append(out.data)
            targets.append(_data(yb))
    if count == 0:
        raise ValueError("train_loader yielded no batches")
    metric_value = None
    if metric_fn is not None:
        pred, true = np.concatenate(outs), np.concatenate(targets)
        if ddp is not None and _dist.world_size() > 1:  # the metric of the whole epoch
            parts = _dist.all_gather_object((pred, true))
            pred = np.concatenate([p for p, _ in parts])
            true = np.concatenate([t for _, t in parts])
        metric_value = metric_fn(pred, true)
    return {
        "epoch": epoch,
        "train_loss": total / count,
        "val_loss": None,
        "train_metric": metric_value,
        "val_metric": None,
        "lr": lr,
        "seconds": time.perf_counter() - t0,
    }


def _check_same_length(loader: Any) -> None:
    """Every rank must take the same number of steps per epoch, or the job would hang."""
    n = len(loader) if hasattr(loader, "__len__") else None
    lengths = _dist.all_gather_object(n)
    if len(set(lengths)) > 1:
        per_rank = ", ".join(f"rank {r}: {k}" for r, k in enumerate(lengths))
        raise ValueError(
            f"distributed fit: the ranks' train_loaders have different numbers of batches "
            f"({per_rank}); shard the data with retrograd.distributed.DistributedSampler, which "
            "gives every rank as many samples"
        )


def _rank_seed(seed: int, epoch: int, rank: int) -> int:
    """A seed for one rank's random draws (dropout) in one epoch, independent across ranks."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def _first_nonfinite(named: list[tuple[str, Tensor]]) -> str | None:
    for name, p in named:
        if p.grad is not None and not np.isfinite(p.grad.data).all():
            return name
    return None


def _apply_stopping_rules(
    stop: _Stopping,
    record: dict[str, Any],
    epoch: int,
    early_stopping: bool,
    tol: float,
    n_iter_no_change: int | None,
    patience: int,
) -> tuple[str, bool]:
    """Update the bookkeeping with one epoch; return (stop reason, improved on the best)."""
    loss = record["train_loss"]
    # scikit-learn's rule (MLP._update_no_improvement_count): count epochs whose loss is not
    # below the best by more than tol; the best itself follows any decrease.
    if loss > stop.best_train_loss - tol:
        stop.no_improvement += 1
    else:
        stop.no_improvement = 0
    improved = False
    if record["val_loss"] is None:
        if loss < stop.best_train_loss:
            stop.best_epoch, improved = epoch, True
    if loss < stop.best_train_loss:
        stop.best_train_loss = loss
    val = record["val_loss"]
    if val is not None:
        if val > stop.best_val_loss - tol:
            stop.bad_epochs += 1
        else:
            stop.bad_epochs = 0
        if val < stop.best_val_loss:
            stop.best_val_loss, stop.best_epoch, improved = val, epoch, True
    if early_stopping:
        if stop.bad_epochs >= patience:
            return "early_stopping", improved
    elif n_iter_no_change is not None and stop.no_improvement > n_iter_no_change:
        return "converged", improved
    return "max_epochs", improved


def _postfix(record: dict[str, Any], metric_name: str | None) -> dict[str, str]:
    post = {"loss": f"{record['train_loss']:.4g}"}
    if record["val_loss"] is not None:
        post["val_loss"] = f"{record['val_loss']:.4g}"
    shown = record["val_metric"] if record["val_metric"] is not None else record["train_metric"]
    if metric_name is not None and shown is not None:
        post[metric_name] = f"{shown:.4f}"
    return post
