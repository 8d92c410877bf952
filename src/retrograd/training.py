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

The loop itself is the seed's: for each epoch, for each batch, forward, loss,
backward, step; then evaluate and decide whether to stop. Everything else is a
small named piece beside it: :class:`_Meter` (the per-batch bookkeeping),
:class:`_FiniteGuard` (non-finite detection), :class:`_TrainingState` (what a
checkpoint holds and Ctrl-C rolls back; the stopping rules), :class:`_ProgressBar`,
:func:`_call_callbacks`; and the strategy of :mod:`retrograd.distributed`
(one process, or the ranks of an MPI job), chosen once.

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
from .capture import TrainStep
from .creation import from_numpy
from .metrics import METRICS, Metric
from .options import lookup
from .serialization import PathLike, load_checkpoint, save_checkpoint
from .tensor import Tensor, wrap_array
from .validation import is_int, is_real

__all__ = ["STOP_REASONS", "History", "NonFiniteError", "evaluate", "fit"]

#: Why :func:`fit` ended, as stored in :attr:`History.stop_reason` ('diverged': it raised
#: :class:`NonFiniteError`, whose ``history`` attribute holds the History).
STOP_REASONS = ("max_epochs", "converged", "early_stopping", "interrupted", "callback", "diverged")

#: ``metric=`` accepts a name of :data:`retrograd.metrics.METRICS`, one of its functions, or a
#: callable ``(y_pred, y_true) -> float`` on Tensors.
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
    capture: bool = True,
) -> History:
    """Train ``model`` by mini-batch gradient descent and return its :class:`History`.

    Each step: ``optimizer.zero_grad()``, ``loss = loss_fn(model(x), y)``,
    ``loss.backward()``, a finiteness check, ``optimizer.step()``. The forward,
    loss and backward are captured and replayed (:mod:`retrograd.capture`) when
    the model and loss are of the kinds it replays, with the same results bit
    for bit; anything else runs eagerly. Each epoch
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
    metric : {'accuracy', 'r2'}, a function of that registry, or callable, optional
        Recorded for training and validation each epoch: a name of
        :data:`retrograd.metrics.METRICS` or one of its functions, or your own
        callable, which gets ``(y_pred, y_true)`` Tensors of the whole epoch
        and returns a float.
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
        (None: when it is initialized with more than one rank; a model already
        wrapped in a ``DistributedDataParallel`` is trained so too): the loop
        then asks an :class:`~retrograd.distributed.MPIStrategy` instead of a
        :class:`~retrograd.distributed.LocalStrategy`. Every rank iterates the
        same ``train_loader`` of global batches (the generators seeded alike)
        and trains on its contiguous share of each, the last batch split
        unevenly; gradients are averaged weighted by each rank's rows, dropout
        masks are drawn for the whole global batch and sliced, so that K ranks
        train the model one process trains (use
        :class:`~retrograd.nn.SyncBatchNorm` for BatchNorm). The model is
        wrapped in a :class:`~retrograd.distributed.DistributedDataParallel`
        (rank 0's weights are broadcast); losses and metrics are those of the
        global batches, validation is sharded the same way and reduced; only
        rank 0 shows progress and writes the checkpoint, and a resumed
        checkpoint is read by rank 0 and broadcast. A loader whose sampler is
        a :class:`~retrograd.distributed.DistributedSampler` yields each
        rank's own batches and is used as it is.
    capture : bool, default=True
        Replay the step with :class:`retrograd.capture.TrainStep` where it
        applies, with the optimizer's update over flat buffers for SGD, Adam and
        AdamW in one process; in distributed training each rank replays its
        share and writes the gradients into the ``Allreduce``'s buffer. False
        runs every step eagerly.

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
    strategy, model = _dist.strategy_for(model, train_loader, distributed)
    rules = _Rules(max_epochs, early_stopping, tol, n_iter_no_change, patience, restore_best)
    state = _TrainingState(model, optimizer, scheduler, train_loader, rules, metric_name)
    state.epoch = start_epoch  # epochs done before this call (numbering continues from it)
    if resume_from is not None:  # read on rank 0 only: the other ranks need not see its disk
        state.resume(strategy.run_on_main(lambda: load_checkpoint(resume_from)), resume_from)
    guard = _FiniteGuard(model, strategy) if check_finite else None
    # In one process the optimizer's update is captured too (over flat buffers); under MPI the
    # gradients go straight into the Allreduce's buffer instead, and the update runs eagerly.
    train_step = TrainStep(model, loss_fn, optimizer, enabled=capture, grads=strategy.grad_arrays())
    step_optimizer = train_step.step_optimizer

    model.train()
    last_epoch = state.snapshot()  # what Ctrl-C, or weights that overflowed, go back to
    reason = state.history.stop_reason or "max_epochs"
    epochs = state.epochs_left()
    show = progress and strategy.is_main and len(epochs) > 0
    with _ProgressBar(show, state.epoch, max_epochs, metric_name) as bar:
        for epoch in epochs:
            strategy.begin_epoch(epoch)  # this process's batches (and dropout draws)
            try:
                meter = _Meter(metric_fn, lr=optimizer.param_groups[0]["lr"])
                for batch, (x, y) in enumerate(strategy.batches(train_loader), 1):
                    x, y = _as_tensor(x), _as_tensor(y)
                    optimizer.zero_grad()
                    loss, output = train_step.forward_backward(x, y, metric_fn is not None)
                    step = strategy.after_backward(float(loss.array), _batch_size(y))
                    if guard is not None:
                        guard.check(step, batch)
                    step_optimizer()
                    meter.add(step.loss, step.batch_size, output, y)
                record = meter.record(epoch, strategy.gather)
                if val_loader is not None:
                    record["val_loss"], record["val_metric"] = _evaluate(
                        model, loss_fn, val_loader, metric_fn, strategy
                    )
                # Every rank decides with rank 0's numbers: a last-bit difference between
                # machines' BLAS must not make one rank stop an epoch before the others.
                record = strategy.agree(record)
                reason = state.end_epoch(record)
                if checkpoint_path is not None and strategy.is_main:
                    save_checkpoint(state.checkpoint(), checkpoint_path)
                last_epoch = state.snapshot()
            except _DivergedError as d:
                raise state.diverged(d, epoch, last_epoch, strategy.world_size) from None
            except KeyboardInterrupt:
                if not strategy.can_roll_back:
                    raise
                state.restore(last_epoch)
                reason = "interrupted"
                break
            bar.show(record)
            reason = _call_callbacks(callbacks, epoch, record, model, reason)
            reason = strategy.agree(reason)  # callbacks may differ between ranks: rank 0's holds
            if reason != "max_epochs":
                break
    return state.finish(reason)


# ------------------------------------------------------------------ the per-batch bookkeeping


def _as_tensor(value: Any) -> Any:
    """A NumPy array of a batch as a Tensor sharing its memory (modules take Tensors only)."""
    return from_numpy(value) if isinstance(value, np.ndarray) else value


def _batch_size(target: Any) -> int:
    shape = getattr(target, "shape", None)
    return int(shape[0]) if shape else 1


def _data(x: Any) -> np.ndarray:
    return x.array if isinstance(x, Tensor) else np.asarray(x)


def _same(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return pred, true


class _Meter:
    """The per-batch bookkeeping of a pass: the loss summed over samples, outputs for the metric.

    Used by the training epoch (losses and sizes of the global batches, in distributed
    training) and by the evaluation pass.
    """

    def __init__(self, metric_fn: Metric | None, lr: float | None = None) -> None:
        self.started = time.perf_counter()
        self.metric_fn, self.lr = metric_fn, lr
        self.total, self.count = 0.0, 0
        self.outputs: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []

    def add(self, loss: float, n: int, output: Any, target: Any) -> None:
        """Count one batch of ``n`` samples whose mean loss is ``loss``."""
        self.total += loss * n
        self.count += n
        if self.metric_fn is not None:
            self.outputs.append(_data(output))
            self.targets.append(_data(target))

    def result(
        self,
        source: str,
        gather: Callable[..., tuple[np.ndarray, np.ndarray]] = _same,
        reduce: Callable[[Sequence[float]], Sequence[float]] | None = None,
    ) -> tuple[float, float | None]:
        """The mean loss and the metric of the pass (over every process's outputs).

        ``reduce`` sums the loss total and count over the processes (for a pass
        whose losses are each process's own; the training meter's are global).
        """
        total, count = (
            (self.total, self.count) if reduce is None else reduce([self.total, self.count])
        )
        if count == 0:
            raise ValueError(f"{source} yielded no batches")
        value = None
        if self.metric_fn is not None:
            pred, true = gather(np.concatenate(self.outputs), np.concatenate(self.targets))
            value = self.metric_fn(true, pred)
        return total / count, value

    def record(
        self, epoch: int, gather: Callable[..., tuple[np.ndarray, np.ndarray]]
    ) -> dict[str, Any]:
        """The epoch's record in the history (validation numbers still None)."""
        loss, metric = self.result("train_loader", gather)
        return {
            "epoch": epoch,
            "train_loss": loss,
            "val_loss": None,
            "train_metric": metric,
            "val_metric": None,
            "lr": float(self.lr) if self.lr is not None else None,
            "seconds": time.perf_counter() - self.started,
        }


# ------------------------------------------------------------------ non-finite values


class _FiniteGuard:
    """Raises :class:`_DivergedError` before a step whose loss or gradients hold NaN or inf."""

    def __init__(self, model: Any, strategy: _dist.Strategy) -> None:
        self.named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.params = [p for _, p in self.named]
        self.strategy = strategy

    def check(self, step: _dist.SyncResult, batch: int) -> None:
        if not self.strategy.all_finite(step, self.params):
            parameter = _first_nonfinite(self.named)
            raise _DivergedError(batch, parameter, step.loss, step.nonfinite_ranks)


def _first_nonfinite(named: list[tuple[str, Tensor]]) -> str | None:
    for name, p in named:
        if p.grad is not None and not np.isfinite(p.grad.array).all():
            return name
    return None


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
    metric : {'accuracy', 'r2'}, a function of that registry, or callable, optional
        As in :func:`fit`; computed once on the concatenated outputs and targets.

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
    metric_fn: Metric | None,
    strategy: _dist.Strategy | None = None,
) -> tuple[float, float | None]:
    """The pass of :func:`evaluate`; with a strategy, each process its share of every batch."""
    strategy = strategy if strategy is not None else _dist.LocalStrategy(loader)
    was_training = model.training
    model.eval()
    meter = _Meter(metric_fn)
    try:
        with no_grad():
            for x, y in strategy.batches(loader):
                x, y = _as_tensor(x), _as_tensor(y)
                n = _batch_size(y)
                output = model(x)
                meter.add(float(loss_fn(output, y).array) if n else 0.0, n, output, y)
    finally:
        model.train(was_training)
    return meter.result("evaluation loader", strategy.gather, strategy.sum)


def _resolve_metric(metric: MetricLike) -> tuple[str | None, Metric | None]:
    """The metric's name and a function ``(y_true, y_pred)`` on arrays, as in METRICS."""
    if metric is None:
        return None, None
    if isinstance(metric, str):
        try:  # the one rule for names: case and '-'/'_' ignored, as on the command line
            key = lookup(METRICS, metric, "metric")
        except ValueError as e:
            raise ValueError(f"{e} or a callable (y_pred, y_true) -> float") from None
        return key, METRICS[key]
    for name, fn in METRICS.items():
        if metric is fn:  # its arguments are (y_true, y_pred): not the callables' order
            return name, fn
    if callable(metric):

        def on_tensors(true: np.ndarray, pred: np.ndarray) -> float:
            return float(metric(wrap_array(pred), wrap_array(true)))

        return getattr(metric, "__name__", "metric"), on_tensors
    raise TypeError(f"metric must be None, a name or a callable, got {type(metric).__name__}")


# ------------------------------------------------------------------ what a checkpoint holds


@dataclass(frozen=True)
class _Rules:
    """The stopping options of one ``fit``."""

    max_epochs: int
    early_stopping: bool
    tol: float
    n_iter_no_change: int | None
    patience: int
    restore_best: bool

    @property
    def keeps_best(self) -> bool:
        """Whether the best validation epoch's weights are kept, to be restored at the end."""
        return self.early_stopping and self.restore_best


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


@dataclass
class _Snapshot:
    """The training state at the end of an epoch, in memory (Ctrl-C rolls back to it)."""

    model: dict[str, np.ndarray]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any] | None
    n_records: int
    stop: dict[str, Any]
    best_weights: dict[str, np.ndarray] | None


class _TrainingState:
    """Everything an epoch changes: model, optimizer, scheduler, history, stopping bookkeeping.

    :meth:`checkpoint` and :meth:`resume` write and read it with the random
    state (files); :meth:`snapshot` and :meth:`restore` keep it in memory.
    """

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        scheduler: Any,
        loader: Any,
        rules: _Rules,
        metric_name: str | None,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.loader_gen = _loader_generator(loader)
        self.plateau = _is_plateau(scheduler)
        self.rules = rules
        self.history = History(metric=metric_name)
        self.stop = _Stopping()
        self.best_weights: dict[str, np.ndarray] | None = None
        self.epoch = 0  # completed epochs

    def epochs_left(self) -> range:
        """The epochs still to run; none when the run had already finished."""
        first = self.epoch + 1 if self.history.stop_reason is None else self.rules.max_epochs + 1
        return range(first, self.rules.max_epochs + 1)

    def end_epoch(self, record: dict[str, Any]) -> str:
        """Record the epoch, apply the stopping rules, step the scheduler; the stop reason."""
        r, epoch = self.rules, record["epoch"]
        self.history.records.append(record)
        reason, improved = _apply_stopping_rules(
            self.stop, record, epoch, r.early_stopping, r.tol, r.n_iter_no_change, r.patience
        )
        if improved and r.keeps_best:
            self.best_weights = _snapshot_model(self.model)
        self.history.best_epoch = self.stop.best_epoch
        if reason != "max_epochs" or epoch == r.max_epochs:
            # Saved in the checkpoint: resuming a finished run then trains no more.
            self.history.stop_reason = reason
        if self.scheduler is not None:
            if self.plateau:
                monitored = record["val_loss"]
                self.scheduler.step(record["train_loss"] if monitored is None else monitored)
            else:
                self.scheduler.step()
        self.epoch = epoch
        return reason

    def finish(self, reason: str) -> History:
        """The history of the run that ended for ``reason``, with the best weights restored."""
        self.history.stop_reason = reason
        if self.rules.keeps_best and reason != "interrupted" and self.best_weights is not None:
            _restore_model(self.model, self.best_weights)
        return self.history

    def diverged(
        self, d: _DivergedError, epoch: int, last: _Snapshot, world_size: int
    ) -> NonFiniteError:
        """The error for a non-finite step, after rolling back weights that overflowed."""
        restored = None
        if not all(np.isfinite(p.array).all() for p in self.model.parameters() if p.requires_grad):
            self.restore(last)
            restored = epoch - 1
        error = NonFiniteError(epoch, d.batch, d.parameter, d.loss, restored, d.ranks, world_size)
        self.history.stop_reason = "diverged"
        error.history = self.history
        return error

    def snapshot(self) -> _Snapshot:
        scheduler = self.scheduler.state_dict() if self.scheduler is not None else None
        return _Snapshot(
            _snapshot_model(self.model),
            self.optimizer.state_dict(),
            scheduler,
            len(self.history.records),
            self.stop.to_dict(),
            self.best_weights,
        )

    def restore(self, snap: _Snapshot) -> None:
        _restore_model(self.model, snap.model)
        self.optimizer.load_state_dict(snap.optimizer)
        if self.scheduler is not None:
            self.scheduler.load_state_dict(snap.scheduler)
        del self.history.records[snap.n_records :]
        self.stop, self.best_weights = _Stopping(**snap.stop), snap.best_weights
        self.history.best_epoch = self.stop.best_epoch
        self.model.train()

    def checkpoint(self) -> dict[str, Any]:
        """What ``checkpoint_path`` holds after the last completed epoch."""
        return {
            "kind": _CHECKPOINT_KIND,
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "history": self.history.to_dict(),
            "stopping": self.stop.to_dict(),
            "best_weights": self.best_weights,
            "rng": {
                "default": _random.default_generator.get_state(),
                "loader": self.loader_gen.get_state() if self.loader_gen is not None else None,
            },
        }

    def resume(self, ckpt: Mapping[str, Any], source: PathLike) -> None:
        """Continue from a :meth:`checkpoint` read from ``source``, checked field by field
        (:func:`check_checkpoint`, then the weights against the model) before any is used."""
        check_checkpoint(ckpt, source, self.rules.max_epochs)
        expected = {k: tuple(v.shape) for k, v in self.model.state_dict().items()}
        for key in ("model", "best_weights"):
            _check_weights(ckpt[key], expected, f"{source}: {key!r}")
        if self.scheduler is not None and ckpt["scheduler"] is None:
            raise ValueError(f"{source} was written without a scheduler")
        _check_optimizer_state(ckpt["optimizer"], source)
        default_rng = _random.default_generator.get_state()
        try:  # the optimizer, scheduler and generators check their own states
            self.optimizer.load_state_dict(ckpt["optimizer"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(ckpt["scheduler"])
            _random.default_generator.set_state(ckpt["rng"]["default"])
            if self.loader_gen is not None and ckpt["rng"]["loader"] is not None:
                self.loader_gen.set_state(ckpt["rng"]["loader"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as e:
            _random.default_generator.set_state(default_rng)
            raise ValueError(
                f"{source}: the optimizer, scheduler or random state does not fit this "
                f"training run ({type(e).__name__}: {e})"
            ) from None
        _restore_model(self.model, ckpt["model"])
        metric = self.history.metric
        self.history = History.from_dict(ckpt["history"])
        self.history.metric = metric
        self.stop = _Stopping(**ckpt["stopping"])
        self.best_weights = ckpt["best_weights"]
        self.epoch = ckpt["epoch"]


def check_checkpoint(ckpt: Any, source: PathLike, max_epochs: int | None = None) -> None:
    """Check the structure of a checkpoint of :func:`fit` before anything is taken from it.

    Every field must be present with its type (no unknown ones), the epoch an
    int in ``[0, max_epochs]`` that agrees with the history, the weights finite.

    Raises
    ------
    ValueError
        Naming ``source``, the field, what was expected and what was found.
    """

    def bad(name: str, expected: str, got: Any) -> ValueError:
        text = repr(got)
        return ValueError(
            f"{source}: checkpoint field {name!r} must be {expected}, got "
            f"{type(got).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"
        )

    if not isinstance(ckpt, Mapping) or ckpt.get("kind") != _CHECKPOINT_KIND:
        raise ValueError(f"{source} is not a checkpoint written by retrograd.fit")
    fields = {
        "kind": str, "epoch": int, "model": Mapping, "optimizer": Mapping,
        "scheduler": (Mapping, type(None)), "history": Mapping, "stopping": Mapping,
        "best_weights": (Mapping, type(None)), "rng": Mapping,
    }  # fmt: skip
    missing = [k for k in fields if k not in ckpt]
    unknown = sorted(set(ckpt) - set(fields))
    if missing or unknown:
        raise ValueError(
            f"{source} is a damaged checkpoint: "
            + "; ".join(
                ([f"missing {', '.join(map(repr, missing))}"] if missing else [])
                + ([f"unknown {', '.join(map(repr, unknown))}"] if unknown else [])
            )
        )
    for name, kind in fields.items():
        if not isinstance(ckpt[name], kind) or (kind is int and not is_int(ckpt[name])):
            raise bad(name, "an int" if kind is int else "an object", ckpt[name])
    epoch = ckpt["epoch"]
    top = max_epochs if max_epochs is not None else math.inf
    if not 0 <= epoch <= top:
        raise bad("epoch", f"an epoch of this run, 0 to {max_epochs}", epoch)
    history = ckpt["history"]
    records = history.get("records", [])
    if not isinstance(records, list) or not all(
        isinstance(r, Mapping) and is_int(r.get("epoch")) for r in records
    ):
        raise bad("history.records", "a list of per-epoch records", records)
    if len(records) > epoch or (records and records[-1]["epoch"] != epoch):
        raise bad("epoch", f"the last recorded epoch ({len(records)} records)", epoch)
    for key in ("best_epoch", "stop_reason", "metric"):
        value = history.get(key)
        ok = is_int(value) if key == "best_epoch" else isinstance(value, str)
        if value is not None and not ok:
            raise bad(f"history.{key}", "an int" if key == "best_epoch" else "a string", value)
    if history.get("stop_reason") not in (None, *STOP_REASONS):
        raise bad(
            "history.stop_reason", f"one of {', '.join(STOP_REASONS)}", history["stop_reason"]
        )
    stopping = ckpt["stopping"]
    names = set(_Stopping.__dataclass_fields__)
    if set(stopping) != names:
        raise bad("stopping", f"an object with {', '.join(sorted(names))}", stopping)
    for key, value in stopping.items():
        ok = (value is None or is_int(value)) if key == "best_epoch" else is_real(value)
        if not ok:
            raise bad(f"stopping.{key}", "a number", value)
    rng = ckpt["rng"]
    if set(rng) != {"default", "loader"} or not isinstance(rng["default"], Mapping):
        raise bad("rng", "an object with the 'default' and 'loader' generator states", rng)


def _check_optimizer_state(state: Mapping[str, Any], source: PathLike) -> None:
    """Per-parameter optimizer state holds arrays (which the optimizer checks) and numbers."""
    per_param = state.get("state", {})
    if not isinstance(per_param, Mapping) or not all(
        isinstance(v, Mapping) for v in per_param.values()
    ):
        raise ValueError(
            f"{source}: checkpoint field 'optimizer.state' must map parameters to states"
        )
    for key, entries in per_param.items():
        for name, value in entries.items():
            if not (value is None or is_real(value) or isinstance(value, np.ndarray)):
                raise ValueError(
                    f"{source}: checkpoint field 'optimizer.state.{key}.{name}' must be a number "
                    f"or an array, got {type(value).__name__} {value!r:.60}"
                )


def _check_weights(
    weights: Mapping[str, Any] | None, expected: Mapping[str, tuple[int, ...]], what: str
) -> None:
    """Weights from a checkpoint: the model's names and shapes, and finite."""
    if weights is None:
        return
    missing = sorted(set(expected) - set(weights))
    unknown = sorted(set(weights) - set(expected))
    if missing or unknown:
        raise ValueError(
            f"{what} does not hold this model's weights: missing {missing or 'none'}, "
            f"unexpected {unknown or 'none'}"
        )
    for name, value in weights.items():
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf" or arr.shape != expected[name]:
            raise ValueError(
                f"{what}: tensor {name!r} has shape {arr.shape} ({arr.dtype}), but the model's "
                f"is {expected[name]}"
            )
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"{what}: tensor {name!r} holds NaN or infinite values")


def _snapshot_model(model: Any) -> dict[str, np.ndarray]:
    return {k: v.array.copy() for k, v in model.state_dict().items()}


def _restore_model(model: Any, arrays: Mapping[str, np.ndarray]) -> None:
    model.load_state_dict(arrays)


def _loader_generator(loader: Any) -> Any:
    """The loader's own random generator (for shuffling), if it has one with a state."""
    gen = getattr(loader, "generator", None)
    return gen if gen is not None and hasattr(gen, "get_state") else None


def _is_plateau(scheduler: Any) -> bool:
    from .optim.lr_scheduler import ReduceLROnPlateau

    return isinstance(scheduler, ReduceLROnPlateau)


# ------------------------------------------------------------------ stopping rules


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


# ------------------------------------------------------------------ around the epochs


class _ProgressBar:
    """A tqdm bar over epochs showing the loss, validation loss and metric; or nothing."""

    def __init__(self, show: bool, start: int, total: int, metric_name: str | None) -> None:
        self.metric_name = metric_name
        self.bar = None
        if show:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # tqdm comes with retrograd[cli]; without it, train silently
                return
            self.bar = tqdm(
                total=total, initial=start, unit="epoch", dynamic_ncols=True, leave=True
            )

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def show(self, record: dict[str, Any]) -> None:
        if self.bar is not None:  # the numbers first, so the bar never shows the last epoch's
            self.bar.set_postfix(_postfix(record, self.metric_name), refresh=False)
            self.bar.update(1)


def _postfix(record: dict[str, Any], metric_name: str | None) -> dict[str, str]:
    """The epoch's numbers under Keras's names: ``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy`` (the metric on the training part, then on the validation part)."""
    post = {"loss": f"{record['train_loss']:.4g}"}
    if metric_name is not None and record["train_metric"] is not None:
        post[metric_name] = f"{record['train_metric']:.4f}"
    if record["val_loss"] is not None:
        post["val_loss"] = f"{record['val_loss']:.4g}"
    if metric_name is not None and record["val_metric"] is not None:
        post[f"val_{metric_name}"] = f"{record['val_metric']:.4f}"
    return post


def _call_callbacks(
    callbacks: Sequence[Callback], epoch: int, record: dict[str, Any], model: Any, reason: str
) -> str:
    """Call every callback after the epoch; the stop reason, 'callback' if one returned True."""
    try:
        for callback in callbacks:
            if callback(epoch, record, model) is True and reason == "max_epochs":
                reason = "callback"
    except KeyboardInterrupt:  # the epoch is complete: keep it
        reason = "interrupted"
    return reason


def _check_fit_options(
    max_epochs: int, tol: float, n_iter_no_change: int | None, patience: int, start_epoch: int
) -> None:
    for name, value in (("max_epochs", max_epochs), ("patience", patience)):
        if not is_int(value) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if n_iter_no_change is not None and (not is_int(n_iter_no_change) or n_iter_no_change < 1):
        raise ValueError(f"n_iter_no_change must be an int >= 1 or None, got {n_iter_no_change!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    if not is_int(start_epoch) or start_epoch < 0:
        raise ValueError(f"start_epoch must be an int >= 0, got {start_epoch!r}")
