"""Synchronous data-parallel training over MPI, with PyTorch's names.

Every process (a *rank*) holds a full replica of the model and trains on its
own shard of each global batch; after ``backward()`` the gradients are averaged
across ranks, so every rank takes the same optimizer step and the replicas never
drift. Launch with any MPI launcher::

    mpiexec -n 4 retrograd train --data digits        # or: python my_script.py

- :func:`init` reads the MPI world through ``mpi4py`` when the process was
  started by an MPI launcher (or when asked with ``init(mpi=True)``); a plain
  process is a world of one and needs neither MPI nor ``mpi4py``.
- :class:`DistributedSampler` gives each rank a disjoint shard of every
  epoch's shuffled order; the order depends on the seed and the epoch only, not
  on the number of ranks.
- :class:`DistributedDataParallel` broadcasts the initial parameters and
  buffers from rank 0 and, in :meth:`~DistributedDataParallel.sync_gradients`,
  averages gradients with ONE ``Allreduce`` per step on a flat, preallocated
  buffer (which also carries the loss, the sample count and a non-finite flag
  per rank).
- :class:`LocalStrategy` and :class:`MPIStrategy` are what
  :func:`retrograd.fit` asks, with the same few methods, about the processes:
  which batches this one sees, how a step's gradients, loss and metric are
  combined, whether this process prints and writes. ``fit`` picks one with
  :func:`strategy_for` and never asks whether it is distributed.

``import retrograd`` does not import ``mpi4py``: only :func:`init` does, and only
when MPI is in use. See ``docs/distributed.md``.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

from . import random as _random
from .autograd import hooks as _autograd_hooks
from .autograd import is_grad_enabled, queue_callback
from .nn import sync_batchnorm as _sync_batchnorm
from .nn.module import Module
from .tensor import Tensor, wrap_array
from .validation import is_int, is_real

__all__ = [
    "DistributedDataParallel",
    "DistributedSampler",
    "LocalStrategy",
    "MPIStrategy",
    "Strategy",
    "SyncResult",
    "abort",
    "all_gather_object",
    "barrier",
    "all_sum",
    "broadcast_object",
    "check_consistent",
    "get_timeout",
    "init",
    "is_initialized",
    "is_main",
    "launched_by_mpi",
    "parameters_checksum",
    "rank",
    "run_everywhere",
    "run_on_main",
    "set_timeout",
    "shard_bounds",
    "sharded",
    "strategy_for",
    "wait",
    "world_size",
]

#: Environment variables that MPI launchers set in the processes they start: MPICH and
#: Intel MPI (Hydra: PMI_*), Open MPI (OMPI_*), PMIx-based launchers, MVAPICH.
LAUNCH_VARIABLES = (
    "PMI_RANK",
    "PMI_SIZE",
    "OMPI_COMM_WORLD_SIZE",
    "PMIX_RANK",
    "MV2_COMM_WORLD_SIZE",
)

_INSTALL_HINT = "install it with: pip install 'retrograd[mpi]' (mpi4py and the mpich wheel)"


class _World:
    """The processes of the job: an mpi4py communicator, or None for a single process."""

    def __init__(self, comm: Any = None, mpi: Any = None) -> None:
        self.comm, self.MPI = comm, mpi
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()


_world: _World | None = None

#: Set by a caller that knows every rank is leaving with the same error (decided together),
#: so that the command line exits plainly instead of aborting the job.
agreed_exit = False


def launched_by_mpi() -> bool:
    """Whether an MPI launcher (``mpiexec``, ``mpirun``, ``srun --mpi``) started this process."""
    return any(v in os.environ for v in LAUNCH_VARIABLES)


def init(mpi: bool | None = None, *, abort_on_error: bool = True) -> int:
    """Join the job's processes; return the world size. Calling it again does nothing.

    Parameters
    ----------
    mpi : bool or None, default=None
        None: use MPI when an MPI launcher started this process
        (:func:`launched_by_mpi`), else be a world of one without importing
        ``mpi4py``. True: always use MPI (a plain process is then MPI's
        "singleton" world of one). False: never use MPI.
    abort_on_error : bool, default=True
        With more than one rank, an uncaught exception on any rank prints the
        rank and the traceback, then calls ``MPI_Abort`` so that the launcher
        stops every rank, instead of leaving the others waiting forever in the
        next collective.

    Returns
    -------
    int
        The number of ranks.

    Raises
    ------
    RuntimeError
        When MPI is needed (launched by an MPI launcher, or ``mpi=True``) but
        ``mpi4py`` is not installed.
    """
    global _world
    if _world is not None:
        return _world.size
    use = launched_by_mpi() if mpi is None else bool(mpi)
    if not use:
        _world = _World()
        return 1
    try:
        from mpi4py import MPI
    except ImportError:
        found = [v for v in LAUNCH_VARIABLES if v in os.environ]
        why = (
            f"this process was started by an MPI launcher ({found[0]} is set)"
            if found
            else ("init(mpi=True) asks for MPI")
        )
        raise RuntimeError(
            f"retrograd.distributed: {why}, but mpi4py is missing; {_INSTALL_HINT}"
        ) from None
    _world = _World(MPI.COMM_WORLD, MPI)
    if abort_on_error and _world.size > 1:
        _install_excepthook()
    return _world.size


def is_initialized() -> bool:
    """Whether :func:`init` has run."""
    return _world is not None


def _get() -> _World:
    return _world if _world is not None else _World()


def rank() -> int:
    """This process's rank, from 0 (0 before :func:`init` and in a single process)."""
    return _get().rank


def world_size() -> int:
    """The number of ranks (1 before :func:`init` and in a single process)."""
    return _get().size


def is_main() -> bool:
    """Whether this is rank 0, the one that prints and writes files."""
    return _get().rank == 0


def barrier() -> None:
    """Wait until every rank gets here (at most :func:`get_timeout` seconds)."""
    w = _get()
    if w.comm is not None and w.size > 1:
        wait(w.comm.Ibarrier(), "barrier")


def broadcast_object(obj: Any, root: int = 0) -> Any:
    """``root``'s ``obj`` on every rank (pickled; for small objects, not per step)."""
    w = _get()
    if w.comm is None or w.size == 1:
        return obj
    data = pickle.dumps(obj) if w.rank == root else b""
    size = np.array([len(data)], dtype=np.int64)
    wait(w.comm.Ibcast(size, root=root), "broadcast_object")
    buf = np.frombuffer(data, dtype=np.uint8).copy() if w.rank == root else None
    if buf is None:
        buf = np.empty(int(size[0]), dtype=np.uint8)
    wait(w.comm.Ibcast(buf, root=root), "broadcast_object")
    return obj if w.rank == root else pickle.loads(buf.tobytes())


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank (pickled)."""
    w = _get()
    if w.comm is None or w.size == 1:
        return [obj]
    data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
    sizes = np.zeros(w.size, dtype=np.int64)
    wait(w.comm.Iallgather(np.array([data.size], dtype=np.int64), sizes), "all_gather_object")
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    wait(w.comm.Iallgatherv(data, [out, sizes.tolist()]), "all_gather_object")
    ends = np.cumsum(sizes).tolist()
    return [
        pickle.loads(out[e - k : e].tobytes()) for e, k in zip(ends, sizes.tolist(), strict=True)
    ]


def all_sum(values: Sequence[float]) -> np.ndarray:
    """The elementwise sum over the ranks of ``values`` (float64; one Allreduce)."""
    w = _get()
    buf = np.array(values, dtype=np.float64)
    if w.comm is not None and w.size > 1:
        wait(w.comm.Iallreduce(w.MPI.IN_PLACE, buf, op=w.MPI.SUM), "all_sum")
    return buf


def sharded(fn: Callable[[Any], np.ndarray], rows: Any) -> np.ndarray:
    """``fn(rows)``, each rank computing its share (:func:`shard_bounds`), gathered everywhere.

    For evaluation: ``fn`` maps rows to one result row each (predictions);
    every rank returns the whole result, in row order.
    """
    w = _get()
    if w.size == 1:
        return fn(rows)
    start, stop = shard_bounds(len(rows), w.size, w.rank)
    mine = np.asarray(fn(rows[start:stop])) if stop > start else None  # no rows: nothing to add
    return np.concatenate([p for p in all_gather_object(mine) if p is not None])


class _WorldGroup:
    """The ranks of :func:`init`, as the group that ``nn.SyncBatchNorm`` sums over."""

    @property
    def size(self) -> int:
        return world_size()

    @staticmethod
    def all_sum(values: Sequence[float]) -> np.ndarray:
        return all_sum(values)


_sync_batchnorm.default_group = _WorldGroup()


# ------------------------------------------------------------------ deadlines

#: Seconds a collective waits for the slowest rank before the job is aborted (``--timeout``).
#: PyTorch's default for its process groups is 30 minutes; training steps here take
#: milliseconds, so 5 minutes only ever stops a job that is stuck.
DEFAULT_TIMEOUT = 300.0
_timeout = DEFAULT_TIMEOUT
_TIMEOUT_TAG = 0x7E7  # the point-to-point messages that find the missing ranks


def set_timeout(seconds: float) -> None:
    """Abort the job when a collective waits more than ``seconds`` for some rank."""
    global _timeout
    if not is_real(seconds) or not seconds > 0:
        raise ValueError(f"set_timeout: seconds must be a number > 0, got {seconds!r}")
    _timeout = float(seconds)


def get_timeout() -> float:
    """The seconds a collective may wait (:func:`set_timeout`; default :data:`DEFAULT_TIMEOUT`)."""
    return _timeout


def wait(request: Any, what: str) -> None:
    """Complete the nonblocking collective ``request``, or abort the job at the deadline.

    Polls ``request`` (MPICH progresses it only when asked, so the first
    milliseconds spin, then the loop sleeps a little between polls). When
    :func:`get_timeout` seconds pass, the ranks that are waiting too tell each
    other so; the ranks never heard from are named in the message of
    :func:`abort`, which then stops the job.
    """
    if request.Test():
        return
    start = time.monotonic()
    spins = 0
    while not request.Test():
        spins += 1
        if spins & 63:
            continue
        waited = time.monotonic() - start
        if waited > _timeout:
            missing = _ranks_not_waiting()
            names = ", ".join(map(str, missing)) if missing else "unknown"
            abort(
                f"{what}: waited {_timeout:g} s for rank(s) {names}, which did not reach it "
                "(stalled, killed or much slower); stopping the job. Raise --timeout "
                "(retrograd.distributed.set_timeout) if a step can really take that long."
            )
        if waited > 0.01:
            time.sleep(0.0005)


def _ranks_not_waiting() -> list[int]:
    """The ranks that do not answer the waiting ranks within a short grace period."""
    w = _get()
    others = [r for r in range(w.size) if r != w.rank]
    token = np.zeros(1, dtype=np.int64)
    sends = [w.comm.Isend(token, dest=r, tag=_TIMEOUT_TAG) for r in others]
    boxes = {r: np.zeros(1, dtype=np.int64) for r in others}
    recvs = {r: w.comm.Irecv(boxes[r], source=r, tag=_TIMEOUT_TAG) for r in others}
    heard: set[int] = set()
    end = time.monotonic() + min(max(_timeout, 2.0), 10.0)
    while time.monotonic() < end and len(heard) < len(others):
        heard.update(r for r, req in recvs.items() if r not in heard and req.Test())
        time.sleep(0.01)
    del sends  # never completed when the peer is gone; MPI_Abort follows
    return [r for r in others if r not in heard]


def run_on_main(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on rank 0 only and return its result on every rank.

    Should ``fn`` raise, the same exception is raised on every rank, so that
    they all stop together (a single process just calls ``fn``).
    """
    w = _get()
    if w.comm is None or w.size == 1:
        return fn()
    outcome: tuple[bool, Any] = (True, None)
    if w.rank == 0:
        try:
            outcome = (True, fn())
        except Exception as e:  # sent to the other ranks, then raised everywhere
            outcome = (False, _picklable(e))
    ok, value = broadcast_object(outcome)
    if not ok:
        if w.rank == 0:
            raise value
        raise value from None
    return value


def run_everywhere(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on every rank; should it raise on any, raise on all of them.

    The exception raised everywhere is that of the lowest failing rank, so a
    failure of one rank (a file missing on one machine) stops the job at once
    rather than leaving the others waiting in the next collective.
    """
    w = _get()
    if w.comm is None or w.size == 1:
        return fn()
    try:
        value, error = fn(), None
    except Exception as e:
        value, error = None, _picklable(e)
    errors = all_gather_object(error)
    failed = [(r, e) for r, e in enumerate(errors) if e is not None]
    if failed:
        if error is not None:
            raise error
        raise failed[0][1] from None
    return value


def _picklable(e: Exception) -> Exception:
    try:
        pickle.dumps(e)
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")
    return e


def abort(message: str, code: int = 1) -> None:
    """Print ``message`` (prefixed by the rank) on stderr and stop every rank of the job.

    In a single process this is ``sys.exit(code)`` after the message.
    """
    w = _get()
    prefix = f"retrograd: rank {w.rank} of {w.size}: " if w.size > 1 else "retrograd: "
    sys.stderr.write(prefix + message.rstrip("\n") + "\n")
    sys.stderr.flush()
    if w.comm is None or w.size == 1:
        raise SystemExit(code)
    # NOTE: the launcher forwards each rank's output through its own pipes; MPI_Abort makes
    # it kill everything at once, so give it a moment to pass the message on first.
    time.sleep(0.5)
    w.comm.Abort(code)


def _install_excepthook() -> None:
    previous: Callable[..., Any] = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            abort("interrupted", 130)
        text = "".join(traceback.format_exception(kind, value, tb))
        abort(f"failed; stopping every rank of the job.\n{text}", 1)

    sys.excepthook = hook


# ------------------------------------------------------------------ sampling


class DistributedSampler:
    """Each rank's share of every epoch's shuffled order (``torch.utils.data.DistributedSampler``).

    The epoch's order is a permutation of the ``n`` samples drawn from
    ``seed + epoch`` alone, so it is the same whatever the number of ranks.
    To give every rank the same number of samples (and so the same number of
    steps), the order is made a multiple of ``num_replicas`` long: with
    ``drop_last=False`` by repeating its first :attr:`num_padded` samples,
    with ``drop_last=True`` by leaving out its last :attr:`num_dropped`.
    Rank ``r`` takes positions ``r, r + N, r + 2N, ...``; with a local batch
    size ``b`` on each rank, step ``k`` of the job then trains on positions
    ``k*b*N`` to ``(k+1)*b*N - 1`` of the order: the batches of a single
    process with batch size ``b*N``, in the same order.

    Parameters
    ----------
    dataset : Dataset
        Anything with ``__len__``.
    num_replicas : int, optional
        The number of ranks; default :func:`world_size`.
    rank : int, optional
        This rank; default :func:`rank`.
    shuffle : bool, default=True
        Shuffle (else the order is ``0 .. n-1``).
    seed : int, default=0
        With the epoch (:meth:`set_epoch`), sets the order; the same on every rank.
    drop_last : bool, default=False
        Drop the tail instead of padding (see above).

    Attributes
    ----------
    num_samples : int
        Samples per rank per epoch (``len(sampler)``).
    total_size : int
        ``num_samples * num_replicas``.
    num_padded, num_dropped : int
        Samples repeated, or left out, per epoch to make the shards equal.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        num_replicas = world_size() if num_replicas is None else num_replicas
        rank = _get().rank if rank is None else rank
        for name, value, low in (("num_replicas", num_replicas, 1), ("rank", rank, 0)):
            if not is_int(value) or value < low:
                raise ValueError(
                    f"DistributedSampler: {name} must be an int >= {low}, got {value!r}"
                )
        if rank >= num_replicas:
            raise ValueError(
                f"DistributedSampler: rank {rank} is out of range for {num_replicas} ranks "
                f"(0 to {num_replicas - 1})"
            )
        if not is_int(seed) or seed < 0:
            raise ValueError(f"DistributedSampler: seed must be an int >= 0, got {seed!r}")
        n = len(dataset)
        if drop_last and n < num_replicas:
            raise ValueError(
                f"DistributedSampler: {n} samples cannot give each of {num_replicas} ranks one "
                "with drop_last=True"
            )
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        if drop_last:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.num_padded = max(self.total_size - n, 0)
        self.num_dropped = max(n - self.total_size, 0)

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order in the next pass (``fit`` calls it every epoch)."""
        self.epoch = int(epoch)

    def global_order(self) -> np.ndarray:
        """The epoch's order of all ranks together (padded or cut to :attr:`total_size`)."""
        n = len(self.dataset)
        if self.shuffle:
            gen = np.random.Generator(np.random.PCG64(self.seed + self.epoch))
            order = gen.permutation(n)
        else:
            order = np.arange(n)
        if self.num_padded:
            reps = -(-self.num_padded // max(n, 1))
            order = np.concatenate([order, np.tile(order, reps)[: self.num_padded]])
        return order[: self.total_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.global_order()[self.rank :: self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (
            f"DistributedSampler({len(self.dataset)} samples, rank {self.rank} of "
            f"{self.num_replicas}, shuffle={self.shuffle}, seed={self.seed}, "
            f"num_padded={self.num_padded}, num_dropped={self.num_dropped})"
        )


# ------------------------------------------------------------------ the model wrapper


class SyncResult:
    """What one :meth:`DistributedDataParallel.sync_gradients` found across all ranks.

    Attributes
    ----------
    loss : float
        The global batch's mean loss (each rank's mean weighted by its samples).
    batch_size : int
        The global batch size (the sum of the ranks' ``batch_size``).
    nonfinite_ranks : list of int
        The ranks whose loss or gradients held NaN or inf (empty when all were finite).
    """

    __slots__ = ("batch_size", "loss", "nonfinite_ranks")

    def __init__(self, loss: float, batch_size: int, nonfinite_ranks: list[int]) -> None:
        self.loss, self.batch_size, self.nonfinite_ranks = loss, batch_size, nonfinite_ranks

    def __repr__(self) -> str:
        return (
            f"SyncResult(loss={self.loss}, batch_size={self.batch_size}, "
            f"nonfinite_ranks={self.nonfinite_ranks})"
        )


class DistributedDataParallel(Module):
    """Data-parallel training of ``module`` over the ranks of :func:`init` (PyTorch's DDP).

    On construction the parameters and buffers of rank 0 are broadcast to
    every rank. Calling the wrapper calls ``module`` (and counts the rows of
    its first argument). As with PyTorch's DDP, a ``backward()`` that goes
    through the wrapper's output averages the gradients when it ends: every
    gradient becomes that of the mean loss over the global batch, with one
    ``Allreduce`` on a flat buffer allocated once, so ``loss.backward();
    optimizer.step()`` is a complete step. A forward call inside
    :meth:`no_sync` makes a backward that does not average (gradient
    accumulation); the next one that does averages everything accumulated.

    The averaging runs in an end-of-backward callback
    (:func:`retrograd.autograd.queue_callback`), queued by a hook on the
    output when the backward pass reaches it: a backward that does not go
    through the wrapper sends nothing, so the ranks agree on the number of
    collectives. :meth:`sync_gradients` is the same averaging as an explicit
    call, for loops that also want the global loss in the same ``Allreduce``
    (``fit`` calls the module itself, not the wrapper, then
    ``sync_gradients``); called after a backward that averaged already, it does
    not average again.

    The flat buffer holds, in the parameters' dtype (float64 if any parameter
    is float64), each rank's gradients multiplied by its share of the rows,
    then the floating-point buffers of modules that are not
    :class:`~retrograd.nn.SyncBatchNorm` (plain BatchNorm's running statistics,
    averaged so that the replicas stay equal; SyncBatchNorm's are equal
    already), the loss times the rows, the rows, and one non-finite flag per
    rank. The share is the rank's rows over the global rows of the previous
    step (the same on every rank), so the sum is the gradient of the mean loss
    over the global batch as it arrives; when the global rows differ (an
    epoch's uneven last batch, the first step), one more pass rescales it. A
    rank with no rows adds nothing. ``.grad`` arrays are views of the buffer.

    Parameters
    ----------
    module : nn.Module
        The model; the same architecture on every rank.

    Attributes
    ----------
    require_backward_grad_sync : bool
        False inside :meth:`no_sync`.

    Examples
    --------
    >>> ddp = DistributedDataParallel(model)            # doctest: +SKIP
    >>> for xb, yb in loader:                           # doctest: +SKIP
    ...     opt.zero_grad()
    ...     loss = loss_fn(ddp(xb), yb)
    ...     loss.backward()                             # averages across ranks
    ...     opt.step()
    """

    def __init__(self, module: Module) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel: module must be a retrograd.nn.Module, "
                f"got {type(module).__name__}"
            )
        init()
        self.module = module
        self.require_backward_grad_sync = True
        self._rows = 0  # rows of the forward calls since the last sync
        self._queued_in: object | None = None  # the backward pass that will average
        self._averaged: tuple[SyncResult, float] | None = None  # by backward, since forward
        world = _get()
        params = [p for p in module.parameters() if p.requires_grad]
        synced = {
            id(b)
            for m in module.modules()
            if isinstance(m, _sync_batchnorm.SyncBatchNorm)
            for b in m.buffers()
        }
        buffers = [b for b in module.buffers() if b.array.dtype.kind == "f" and id(b) not in synced]
        kinds = {p.array.dtype for p in params} | {b.array.dtype for b in buffers}
        dtype = np.result_type(*kinds) if kinds else np.dtype(np.float64)
        n_grads = int(sum(p.array.size for p in params))
        n_bufs = int(sum(b.array.size for b in buffers))
        # Layout: [gradients | buffers | loss * n, n | one flag per rank]
        self._flat = np.zeros(n_grads + n_bufs + 2 + world.size, dtype=dtype)
        self._n_grads = n_grads
        self._loss_at = n_grads + n_bufs  # then the rows, then the flags
        # Views of the buffer made once, in each tensor's shape: a step slices nothing.
        self._params = params
        self._grad_views = _views_of(self._flat, params)
        self._averaged_buffers = buffers  # not _buffers: that is Module's registry
        self._buffer_views = _views_of(self._flat[n_grads:], buffers)
        #: The global rows of the last averaging (the same on every rank): gradients are
        #: scaled by ``rows / _expected_rows`` as they are packed, so that a step whose
        #: global rows are as expected needs no second pass over the summed buffer.
        self._expected_rows = 1.0
        self._broadcast_state()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            shape = getattr(args[0], "shape", None)
            self._rows += int(shape[0]) if shape else 1
        self._averaged = None
        out = self.module(*args, **kwargs)
        # As PyTorch's DDP, the forward call decides whether its backward averages.
        if self.require_backward_grad_sync and is_grad_enabled():
            for t in _tensors_in(out):
                if t.requires_grad:
                    t.register_hook(self._on_output_grad)
        return out

    def _on_output_grad(self, grad: Tensor) -> None:
        """A hook on the output: queue the averaging once per backward pass that reaches it."""
        token = _autograd_hooks.current_pass()
        if token is not None and token is not self._queued_in:
            self._queued_in = token
            queue_callback(self._on_backward_end)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Accumulate gradients locally (no communication) inside the block.

        As PyTorch's: the first synchronised step after the block averages
        everything accumulated since the last one, each rank weighted by the
        rows of all its forward calls since then.
        """
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    def _on_backward_end(self) -> SyncResult:
        """The end-of-backward callback: average the gradients of the forward calls since."""
        n_local = float(self._rows)
        result = self._average(n_local, 0.0)
        self._averaged = (result, n_local)
        return result

    def _broadcast_state(self) -> None:
        """Copy rank 0's parameters and buffers to every rank (one Bcast per tensor, once)."""
        world = _get()
        if world.comm is None or world.size == 1:
            return
        for t in [*self.module.parameters(), *self.module.buffers()]:
            arr = t.array
            if not arr.flags.c_contiguous or not arr.flags.writeable:
                arr = np.ascontiguousarray(arr).copy()
            wait(
                world.comm.Ibcast(arr, root=0),
                "DistributedDataParallel: broadcast of rank 0's weights",
            )
            if arr is not t.array:
                if t.array.flags.writeable:
                    t.array[...] = arr
                else:
                    t.array = arr

    def grad_views(self) -> dict[Tensor, np.ndarray]:
        """Each parameter's view of the flat buffer, for a backward to write its gradient into.

        A backward that writes each gradient straight into its view
        (:class:`retrograd.capture.TrainStep`'s ``grads``, as ``fit`` does)
        saves the averaging its copy into the buffer: it then scales the
        views in place, with the same rounding (PyTorch's
        ``gradient_as_bucket_view=True``). Parameters of another dtype than
        the buffer's are left out (their gradients are converted as packed).

        Returns
        -------
        dict
            ``{parameter: view}``, C-contiguous views in each parameter's
            shape; valid for the wrapper's lifetime.
        """
        return {
            p: view
            for p, view in zip(self._params, self._grad_views, strict=True)
            if view.dtype == p.array.dtype
        }

    @property
    def bytes_per_step(self) -> int:
        """The size of the buffer that each step's Allreduce sums, in bytes."""
        return int(self._flat.nbytes)

    def sync_gradients(self, batch_size: int | None = None, loss: float = 0.0) -> SyncResult:
        """Average the gradients over the global batch; one ``Allreduce`` on every rank.

        For loops that call the module itself rather than the wrapper (as ``fit``
        does, to carry the loss in the same ``Allreduce``): every rank must call it
        once per step, after ``backward()`` and before ``optimizer.step()``.
        Afterwards each parameter's ``.grad`` is the
        gradient of the mean loss over the global batch (a view of the flat
        buffer, valid until the next call).

        Parameters
        ----------
        batch_size : int, optional
            This rank's number of rows in the step; default the rows of the
            wrapper's forward calls since the last synchronisation. May be 0.
        loss : float, default=0.0
            This rank's mean loss over them (ignored for 0 rows).

        Returns
        -------
        SyncResult
            The global mean loss, the global batch size and the ranks that
            saw a non-finite loss or gradient; on such a step the gradients
            are not finite and the caller should not apply them.

        Notes
        -----
        After a ``backward()`` through the wrapper, which averaged the gradients
        already, the gradients are left as they are (one averaging per step) and
        only ``loss`` is reduced, in a two-number ``Allreduce``.
        """
        averaged, self._averaged = self._averaged, None
        if averaged is not None:
            return self._reduce_loss(averaged, batch_size, loss)
        return self._average(float(self._rows if batch_size is None else batch_size), loss)

    def _reduce_loss(
        self, averaged: tuple[SyncResult, float], batch_size: int | None, loss: float
    ) -> SyncResult:
        """``sync_gradients`` after the backward pass averaged: the global loss only."""
        result, n_local = averaged
        if batch_size is not None:
            n_local = float(batch_size)
        world = _get()
        pair = np.array([loss * n_local if n_local else 0.0, n_local])
        if world.comm is not None and world.size > 1:
            request = world.comm.Iallreduce(world.MPI.IN_PLACE, pair, op=world.MPI.SUM)
            wait(request, "DistributedDataParallel: loss Allreduce")
        mean_loss = float(pair[0] / pair[1]) if pair[1] > 0 else float("nan")
        return SyncResult(mean_loss, result.batch_size, result.nonfinite_ranks)

    def _average(self, n_local: float, loss: float) -> SyncResult:
        """Replace the gradients by those of the global batch's mean loss: one Allreduce.

        Each rank packs its gradients times ``n_local / expected`` (``expected``: the
        global rows of the last averaging), so the sum is already the global mean
        when the global rows are as expected (every step but an epoch's uneven last
        one); otherwise one more pass rescales it by ``expected / total``.
        """
        world = _get()
        flat = self._flat
        self._rows = 0
        if n_local == 0:
            loss = 0.0  # the mean over no rows is NaN; such a rank adds nothing
        alone = world.comm is None or world.size == 1
        expected = self._expected_rows
        # Alone, the gradients are those of the mean already: leave them bit for bit.
        weight = 1.0 if alone else n_local / expected
        for p, view in zip(self._params, self._grad_views, strict=True):
            g = p.grad
            if g is None or n_local == 0:
                view.fill(0.0)
            elif g.array is view:  # written there by a captured backward (grad_views)
                if weight != 1.0:
                    view *= weight  # the rounding of the multiply below, in place
            else:
                np.multiply(g.array, weight, out=view)
        for b, view in zip(self._averaged_buffers, self._buffer_views, strict=True):
            view[...] = b.array
        end = self._loss_at
        flat[end] = loss * n_local
        flat[end + 1] = n_local
        flags = flat[end + 2 :]
        flags[:] = 0.0
        grads = flat[: self._n_grads]
        if not (math.isfinite(loss) and _all_finite(grads)):
            flags[world.rank] = 1.0
        if not alone:
            request = world.comm.Iallreduce(world.MPI.IN_PLACE, flat, op=world.MPI.SUM)
            wait(request, "DistributedDataParallel: gradient Allreduce")
        total = float(flat[end + 1])
        # NOTE: enumerate over tolist(), not np.flatnonzero: 4 us against 16 us per step here.
        bad = [r for r, flag in enumerate(flags.tolist()) if flag]
        if total > 0 and not alone:
            if total != expected:
                grads *= expected / total
            self._expected_rows = total
        for p, view in zip(self._params, self._grad_views, strict=True):
            if p.grad is None or p.grad.array is not view:
                p.grad = wrap_array(view)
        if self._averaged_buffers and not alone:
            for b, view in zip(self._averaged_buffers, self._buffer_views, strict=True):
                b.array[...] = view / world.size
        mean_loss = float(flat[end]) / total if total > 0 else float("nan")
        return SyncResult(mean_loss, round(total), bad)


def _views_of(flat: np.ndarray, tensors: Sequence[Tensor]) -> list[np.ndarray]:
    """Consecutive views of ``flat`` from its start, one in each tensor's shape."""
    views, start = [], 0
    for t in tensors:
        size = t.array.size
        views.append(flat[start : start + size].reshape(t.array.shape))
        start += size
    return views


def _all_finite(values: np.ndarray) -> bool:
    """Whether every entry of ``values`` is finite, in one BLAS dot product when it is.

    NaN or inf anywhere makes the sum of squares non-finite; only when it is
    (or when squares of large finite values overflow it) is each entry checked.
    """
    # NOTE: ravel("K") is a view of a Fortran-ordered gradient too (capture's transposed first
    # weight); np.vdot of the matrix itself copies it in C order, 30x slower (0.5 ms at 784x256).
    flat = values.ravel(order="K")
    return math.isfinite(float(np.vdot(flat, flat))) or bool(np.isfinite(values).all())


def _tensors_in(out: Any) -> Iterator[Tensor]:
    """The tensors of a forward call's output: itself, or those in its tuples, lists, dicts."""
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for item in out:
            yield from _tensors_in(item)
    elif isinstance(out, dict):
        for item in out.values():
            yield from _tensors_in(item)


def parameters_checksum(module: Module) -> str:
    """A hex digest of every parameter's bytes, in order (to compare replicas across ranks)."""
    import hashlib

    h = hashlib.sha256()
    for name, p in module.named_parameters():
        h.update(name.encode())
        h.update(np.ascontiguousarray(p.array).tobytes())
    return h.hexdigest()


def check_consistent(values: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Raise on every rank when some rank's ``values`` differ from rank 0's (one collective).

    ``values`` maps names (as the user knows them: ``'--epochs'``, ``'data'``)
    to small values or fingerprints; the error names the first name that
    differs, the ranks where it does and both values. Every rank raises the
    same error, so that they stop together instead of meeting in mismatched
    collectives (a different ``--hidden`` sends buffers of other sizes, a
    different ``--epochs`` leaves ranks waiting for steps that never come).

    Returns
    -------
    list of (str, int)
        Every rank's host name and process id, in rank order (the launcher
        names a killed rank by its process id only).

    Raises
    ------
    ValueError
        Naming the first differing entry and rank.
    """
    import socket

    mine = {str(k): repr(v) for k, v in values.items()}
    gathered = all_gather_object((mine, (socket.gethostname(), os.getpid())))
    every = [g[0] for g in gathered]
    first = every[0]
    for name in sorted(set().union(*every), key=lambda k: (k not in first, k)):
        differ = [r for r, d in enumerate(every) if d.get(name) != first.get(name)]
        if differ:
            r = differ[0]
            ranks = ", ".join(map(str, differ))
            raise ValueError(
                f"the ranks disagree on {name}: rank {r} has {_short(every[r].get(name))}, "
                f"rank 0 has {_short(first.get(name))} (different on rank(s) {ranks} of "
                f"{len(every)}); start every rank with the same options and data"
            )
    return [g[1] for g in gathered]


def _short(text: str | None) -> str:
    if text is None:
        return "none"
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------ strategies for fit


class Strategy(Protocol):
    """What :func:`retrograd.fit` asks about the processes it trains in.

    :class:`LocalStrategy` (one process) and :class:`MPIStrategy` (the ranks
    of :func:`init`) answer it; ``fit`` asks nothing else, so its loop has no
    ``if distributed`` branch.
    """

    #: Whether this process shows progress and writes files (rank 0).
    is_main: bool

    @property
    def world_size(self) -> int:
        """The number of processes (named in error messages)."""
        ...

    @property
    def can_roll_back(self) -> bool:
        """Whether Ctrl-C may roll back to the last epoch (every process is at one point)."""
        ...

    def begin_epoch(self, epoch: int) -> None:
        """Prepare epoch ``epoch`` (from 1): the sampler's epoch, the random draws."""
        ...

    def batches(self, loader: Iterable[Any]) -> Iterator[Any]:
        """This process's part of each of ``loader``'s batches (and random draws for it)."""
        ...

    def grad_arrays(self) -> dict[Tensor, np.ndarray] | None:
        """Where the step's backward should write each parameter's gradient (None: anywhere)."""
        ...

    def after_backward(self, loss: float, batch_size: int) -> SyncResult:
        """After ``backward()``: make every ``.grad`` the gradient of the step's whole batch.

        Returns the batch's mean loss and size over every process.
        """
        ...

    def all_finite(self, step: SyncResult, params: Sequence[Tensor]) -> bool:
        """Whether the step's loss and every gradient in ``params`` are finite everywhere."""
        ...

    def gather(self, pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """An epoch's outputs and targets of every process, concatenated in rank order."""
        ...

    def sum(self, values: Sequence[float]) -> Sequence[float]:
        """The elementwise sum of ``values`` over every process."""
        ...

    def agree(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process, so that all take the same decision."""
        ...

    def run_on_main(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on rank 0 only (reading a file) and return its result everywhere."""
        ...


def _set_epoch(loader: Any, epoch: int) -> None:
    """Tell the loader's sampler, if it has ``set_epoch``, which epoch's order to draw."""
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch - 1)  # the sampler's epochs count from 0, fit's from 1


class LocalStrategy:
    """One process trains on every batch: each step's numbers are its own, nothing is sent.

    Parameters
    ----------
    loader : iterable
        The training loader; a ``sampler`` with ``set_epoch`` gets the epoch.
    """

    is_main = True
    world_size = 1
    can_roll_back = True

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def begin_epoch(self, epoch: int) -> None:
        _set_epoch(self.loader, epoch)

    def batches(self, loader: Iterable[Any]) -> Iterator[Any]:
        return iter(loader)

    def grad_arrays(self) -> None:
        return None

    def after_backward(self, loss: float, batch_size: int) -> SyncResult:
        return SyncResult(loss, batch_size, [])

    def all_finite(self, step: SyncResult, params: Sequence[Tensor]) -> bool:
        return math.isfinite(step.loss) and all(
            p.grad is None or _all_finite(p.grad.array) for p in params
        )

    def gather(self, pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return pred, true

    def sum(self, values: Sequence[float]) -> Sequence[float]:
        return values

    def agree(self, obj: Any) -> Any:
        return obj

    def run_on_main(self, fn: Callable[[], Any]) -> Any:
        return fn()


def shard_bounds(n: int, size: int, rank: int) -> tuple[int, int]:
    """Rank ``rank``'s rows ``[start, stop)`` of a batch of ``n`` split over ``size`` ranks.

    Contiguous and as even as possible (``numpy.array_split``): the first
    ``n % size`` ranks get one row more; with fewer rows than ranks, the last
    ranks get none.
    """
    q, r = divmod(n, size)
    start = rank * q + min(rank, r)
    return start, start + q + (rank < r)


def _rows_of(x: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of a batch's tensor, array, or tuple/list/dict of them."""
    if isinstance(x, Tensor):
        return wrap_array(x.array[start:stop])
    if isinstance(x, np.ndarray):
        return x[start:stop]
    if isinstance(x, (tuple, list)):
        return type(x)(_rows_of(v, start, stop) for v in x)
    if isinstance(x, dict):
        return {k: _rows_of(v, start, stop) for k, v in x.items()}
    return x[start:stop]


def _tensor_rows(loader: Any) -> tuple[tuple[Tensor, ...], Iterator[np.ndarray]] | None:
    """A DataLoader's tensors and each batch's row indices into them, or None.

    ``DataLoader._index_batches`` for a ``DataLoader`` that iterates as the class
    does (no subclass ``__iter__``): a rank then fetches its share of each global
    batch alone instead of every row of it (at a global batch of 512 rows of 784
    floats, 0.2 ms a step), with the default generator's stream drawn as the
    loader's own iteration draws it.
    """
    from .data.dataloader import DataLoader

    if not isinstance(loader, DataLoader) or type(loader).__iter__ is not DataLoader.__iter__:
        return None
    return loader._index_batches()


def _rows_in(batch: Any) -> int:
    first = batch[-1] if isinstance(batch, (tuple, list)) else batch
    shape = getattr(first, "shape", None)
    return int(shape[0]) if shape else len(first)


class _RowShardedRandom:
    """The default generator's NumPy generator, seen by one rank during one global batch.

    A draw whose first dimension is this rank's rows (a dropout mask: eager
    ``F.dropout`` draws ``random(shape)``, the captured
    :class:`~retrograd.capture.kernels.DropoutKernel` ``random(shape, out=u)``)
    is drawn for every row of the global batch, and this rank's rows are kept:
    the stream advances as in one process, and each row gets the mask one
    process would give it. Everything else goes to the generator unchanged.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self.rows, self.start, self.stop = 0, 0, 0
        self._scratch: np.ndarray | None = None

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        shape = (size,) if isinstance(size, int) else size
        if shape is None and out is not None:
            shape = out.shape
        if not (shape and self.rows and shape[0] == self.stop - self.start):
            return self._rng.random(size, dtype=dtype, out=out)
        full_shape = (self.rows, *shape[1:])
        if out is None:  # eager dropout: a mask of its own
            return self._rng.random(full_shape, dtype=dtype)[self.start : self.stop]
        # The captured DropoutKernel draws into its array: the whole batch's draw goes into a
        # scratch array kept for the next step, and this rank's rows are copied over.
        full = self._scratch
        if full is None or full.shape != full_shape or full.dtype != out.dtype:
            full = self._scratch = np.empty(full_shape, dtype=out.dtype)
        self._rng.random(full_shape, dtype=dtype, out=full)
        np.copyto(out, full[self.start : self.stop])
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rng, name)


class MPIStrategy:
    """Data-parallel training over the ranks of :func:`init`, through ``ddp``.

    Every rank iterates the same loader of *global* batches (the same
    shuffling order as one process: the generators are seeded alike) and
    trains on its contiguous share of each (:func:`shard_bounds`; the last
    batch may split unevenly, and ranks then weigh in by their rows). During
    a batch, dropout masks are drawn for the whole global batch and each rank
    keeps its rows (:class:`_RowShardedRandom`), so that K ranks train the
    model one process trains. A loader whose sampler is a
    :class:`DistributedSampler` is taken as sharded already (each rank's
    batches are its own; dropout then draws per rank).

    Gradients, losses and metrics are those of the global batches; rank 0
    shows progress, writes and reads files.

    Parameters
    ----------
    ddp : DistributedDataParallel
        The model's wrapper (built, and rank 0's weights broadcast, beforehand).
    loader : iterable
        The training loader; every rank's must have as many batches.

    Raises
    ------
    ValueError
        When the ranks' loaders have different numbers of batches (the job
        would hang in the first missing ``Allreduce``).
    """

    def __init__(self, ddp: DistributedDataParallel, loader: Any) -> None:
        self.ddp, self.loader = ddp, loader
        self.is_main = is_main()
        self.presharded = isinstance(getattr(loader, "sampler", None), DistributedSampler)
        _check_same_length(loader)

    @property
    def world_size(self) -> int:
        return world_size()

    @property
    def can_roll_back(self) -> bool:
        # The other ranks may be anywhere in the epoch: no common state to roll back to.
        return world_size() == 1

    def begin_epoch(self, epoch: int) -> None:
        _set_epoch(self.loader, epoch)
        if self.presharded:  # per-rank batches: ranks draw different masks, reproducibly
            seed = getattr(self.loader.sampler, "seed", 0)
            _random.default_generator.manual_seed(_rank_seed(seed, epoch, rank()))

    def batches(self, loader: Iterable[Any]) -> Iterator[Any]:
        if self.presharded and loader is self.loader:
            yield from loader
            return
        gen = _random.default_generator
        sharded = _RowShardedRandom(gen.np)
        gen.np = sharded
        size, me = world_size(), rank()
        try:
            source = _tensor_rows(loader)
            if source is not None:  # fetch this rank's rows alone
                tensors, batches = source
                for idx in batches:
                    sharded.rows = len(idx)
                    sharded.start, sharded.stop = shard_bounds(sharded.rows, size, me)
                    mine = idx[sharded.start : sharded.stop]
                    yield tuple(t[mine] for t in tensors)
                return
            for batch in loader:
                sharded.rows = _rows_in(batch)
                sharded.start, sharded.stop = shard_bounds(sharded.rows, size, me)
                yield _rows_of(batch, sharded.start, sharded.stop)
        finally:
            if gen.np is sharded:
                gen.np = sharded._rng

    def grad_arrays(self) -> dict[Tensor, np.ndarray]:
        return self.ddp.grad_views()  # the captured backward writes into the Allreduce's buffer

    def after_backward(self, loss: float, batch_size: int) -> SyncResult:
        return self.ddp.sync_gradients(batch_size, loss)

    def all_finite(self, step: SyncResult, params: Sequence[Tensor]) -> bool:
        return not step.nonfinite_ranks  # every rank's flag came with the Allreduce

    def gather(self, pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if world_size() == 1:
            return pred, true
        parts = all_gather_object((pred, true))
        return np.concatenate([p for p, _ in parts]), np.concatenate([t for _, t in parts])

    def sum(self, values: Sequence[float]) -> Sequence[float]:
        return all_sum(values).tolist()

    def agree(self, obj: Any) -> Any:
        return broadcast_object(obj)

    def run_on_main(self, fn: Callable[[], Any]) -> Any:
        return run_on_main(fn)


def strategy_for(model: Any, loader: Any, distributed: bool | None) -> tuple[Strategy, Any]:
    """The strategy for ``fit(model, ..., loader, distributed=...)`` and the module to train.

    Distributed (an :class:`MPIStrategy`) when ``distributed`` is True, when it
    is None and :func:`init` found more than one rank, or when ``model`` is
    already a :class:`DistributedDataParallel`; else a :class:`LocalStrategy`.
    """
    if distributed is None:
        distributed = is_initialized() and world_size() > 1
    if isinstance(model, DistributedDataParallel):
        return MPIStrategy(model, loader), model.module
    if distributed:
        init()
        return MPIStrategy(DistributedDataParallel(model), loader), model
    return LocalStrategy(loader), model


def _check_same_length(loader: Any) -> None:
    """Every rank must take the same number of steps per epoch, or the job would hang."""
    n = len(loader) if hasattr(loader, "__len__") else None
    lengths = all_gather_object(n)
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
