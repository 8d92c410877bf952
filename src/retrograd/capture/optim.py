"""The optimizer's step, captured: every parameter updated in a few passes over flat buffers.

An eager ``optimizer.step()`` updates the parameters one after another: a
Python call, a state lookup and a dozen NumPy calls per parameter, each pass
over a small array. :class:`FlatOptimizer` makes the parameters, their
gradients and the optimizer's state arrays views of flat buffers (the way
``torch.optim``'s ``foreach``/``fused`` paths and scikit-learn's solvers work
on packed parameters) and runs the optimizer's own update rule
(``optimizer._update``) once per *region* of those buffers instead of once per
parameter.

A region is one parameter of at least :data:`retrograd._blas.MIN_SIZE` elements,
or several smaller ones packed together up to that size. That is the size at
which an eager update switches between NumPy ufuncs and one-pass BLAS calls
(:mod:`retrograd.optim.updates`), so each element goes through the same calls
as in eager and the update is equal bit for bit. For the 784-256-128-10 MLP
the six parameters become three regions. What this saves is the
per-parameter Python work (7% of the instructions of an Adam step on that
MLP).

On a region of the BLAS size the update goes one step further
(:class:`Chunks`: :class:`SGDChunks`, :class:`AdamChunks`): the same calls,
made chunk by chunk on :data:`CHUNK_BYTES` of each array, so that the two to
ten passes of the update over a chunk find it in cache instead of streaming
the whole region through memory each time, with BLAS called directly on
addresses computed once. On a loaded machine (``docs/capture.md``) the step of
the MLP got 2-6% faster with Adam and plain SGD in float32, 7% with momentum,
18% with Nesterov momentum and weight decay, 9-18% in float64. No pass is
dropped: none can be, with the roundings kept.

What stays visible: each parameter's ``.array`` is a view of the flat
parameter buffer, its ``.grad`` a view of the flat gradient buffer, and
``optimizer.state[p]`` holds views of the flat state buffers (``exp_avg``,
``momentum_buffer``, ...) and the step count, so ``state_dict()``,
``load_state_dict()`` (whose arrays are gathered into flat buffers on the next
step), schedulers (which change ``param_groups[0]['lr']``, read at every step)
and resuming work as eagerly.

Captured: :class:`~retrograd.optim.SGD`, :class:`~retrograd.optim.Adam` and
:class:`~retrograd.optim.AdamW` (matched by exact type), every option, with one
parameter group holding exactly the captured parameters. Anything else, or a
state that is not the same across parameters (parameters with different step
counts or state keys), runs ``optimizer.step()`` eagerly.
"""

from __future__ import annotations

import ctypes
import itertools
from typing import Any

from .. import _blas, threads
from .._backend import ndarray, xp
from ..optim.updates import direction
from ..tensor import Tensor, wrap_array

#: Bytes per array in a chunk of :class:`Chunks` (131,072 float32 elements, 65,536
#: float64 ones): of 64 KiB to 2 MiB, the fastest Adam step in float64 and within
#: noise of the fastest in float32 on the 784-256-128-10 MLP (``docs/capture.md``).
CHUNK_BYTES = 1 << 19


def _chunked_rules() -> dict[type, type[Chunks]]:
    """The optimizer types whose update :class:`Chunks` subclasses run chunk by chunk."""
    from ..optim import SGD, Adam, AdamW

    return {SGD: SGDChunks, Adam: AdamChunks, AdamW: AdamChunks}


def _captured_types() -> tuple[type, ...]:
    """The optimizer types whose ``_update`` is elementwise over a parameter and its state."""
    from ..optim import SGD, Adam, AdamW

    return (SGD, Adam, AdamW)


def regions(sizes: list[int], min_size: int) -> list[tuple[int, int]]:
    """``[(first, stop)]``: each parameter of ``min_size`` or more alone, the others packed.

    Small parameters are packed in order while their total stays below
    ``min_size``, so a region takes the BLAS path exactly when its parameters
    did one by one. :class:`FlatOptimizer` lays the large parameters out first.
    """
    out: list[tuple[int, int]] = []
    first, total = 0, 0
    for i, size in enumerate(sizes):
        if size >= min_size:
            if first < i:  # the small ones before it
                out.append((first, i))
            out.append((i, i + 1))
            first, total = i + 1, 0
            continue
        if total + size >= min_size:
            out.append((first, i))
            first, total = i, 0
        total += size
    if first < len(sizes):
        out.append((first, len(sizes)))
    return out


class _Region:
    """Some parameters laid out one after another: their flat arrays and their shared state."""

    def __init__(self, params: list[Tensor], offsets: list[int], flat: ndarray, grad: ndarray):
        start, stop = offsets[0], offsets[-1]
        self.params = params
        self.transposed = [not p.array.flags.c_contiguous for p in params]
        self.spans = [(a - start, b - start) for a, b in itertools.pairwise(offsets)]
        self.proxy = wrap_array(flat[start:stop])  # the "parameter" the optimizer updates
        self.grad = grad[start:stop]
        self.state: dict[str, Any] = {}  # the optimizer's state of the proxy
        self.views: list[dict[str, ndarray]] = [{} for _ in params]  # per parameter, by name
        self.dicts: list[dict[str, Any] | None] = [None for _ in params]  # optimizer.state[p]
        self.chunks: Chunks | None = None  # the update chunk by chunk, where eager calls BLAS

    def view(self, a: ndarray, i: int) -> ndarray:
        """Parameter ``i``'s part of the region array ``a``, laid out as the parameter is."""
        b, e = self.spans[i]
        return _layout(a[b:e], self.params[i].array.shape, self.transposed[i])

    def synced(self, state: dict[Tensor, Any]) -> bool:
        """Whether each parameter's state is still made of this region's views and scalars."""
        rs = self.state
        for p, d, views in zip(self.params, self.dicts, self.views, strict=True):
            st = state.get(p)
            if not rs and not st:  # no state yet, or none at all (SGD without momentum)
                continue
            if st is not d or st is None or len(st) != len(rs):
                return False
            for k, v in rs.items():
                if type(v) is ndarray:
                    if st.get(k) is not views.get(k):
                        return False
                elif k not in st or st[k] != v:
                    return False
        return True

    def gather(self, state: dict[Tensor, Any]) -> bool:
        """Rebuild the region's state from its parameters' (first step, loaded, eager steps).

        False when the parameters' states differ in their keys or scalars.
        """
        states = [state.get(p) or {} for p in self.params]
        first = states[0]
        for st in states:
            if list(st) != list(first):
                return False
            for k, v in first.items():
                if isinstance(v, ndarray) != isinstance(st[k], ndarray):
                    return False
                if not isinstance(v, ndarray) and st[k] != v:
                    return False
        rs: dict[str, Any] = {}
        for k, v in first.items():
            if isinstance(v, ndarray):
                arrays = [st[k] for st in states]
                flat = xp.empty(self.grad.shape, dtype=self.grad.dtype)
                for i, a in enumerate(arrays):
                    if a.shape != self.params[i].array.shape:
                        return False
                    self.view(flat, i)[...] = a
                rs[k] = flat
            else:
                rs[k] = v
        self.state = rs
        self.views = [{} for _ in self.params]
        self.dicts = [None for _ in self.params]
        if rs:
            self.publish(state)
        return True

    def publish(self, state: dict[Tensor, Any]) -> None:
        """Write the region's state into each parameter's: views of its arrays, its scalars."""
        rs = self.state
        for i, p in enumerate(self.params):
            st = state.setdefault(p, {})
            views = self.views[i]
            for k, v in rs.items():
                if type(v) is ndarray:
                    view = views.get(k)
                    if view is None or view.base is not v:
                        view = views[k] = self.view(v, i)
                    st[k] = view
                else:
                    st[k] = v
            self.dicts[i] = st


class FlatOptimizer:
    """An optimizer's step over flat buffers of its parameters, gradients and state.

    Built by :class:`~retrograd.capture.TrainStep` when the optimizer can be
    captured (:meth:`build`); :meth:`step` then replaces ``optimizer.step()``
    after a replayed backward.

    Parameters
    ----------
    optimizer : optim.Optimizer
        An SGD, Adam or AdamW with one parameter group.
    params : list of Tensor
        The group's parameters, in its order; their arrays are moved into one
        flat buffer (values kept) and become views of it.
    transpose : list of Tensor, optional
        2-D parameters to store transposed: the view is the transpose of a
        C-contiguous ``(columns, rows)`` block (Fortran-contiguous), and so is
        the gradient's. ``x @ W.T`` then reads a C-contiguous matrix, which
        OpenBLAS multiplies faster at small batches (see ``docs/capture.md``).
    """

    def __init__(self, optimizer: Any, params: list[Tensor], transpose: Any = ()) -> None:
        self.optimizer = optimizer
        self.group = optimizer.param_groups[0]
        self.param_list = self.group["params"]
        # large parameters first, so that the small ones pack into few regions
        big = [p for p in params if p.array.size >= _blas.MIN_SIZE]
        order = big + [p for p in params if p.array.size < _blas.MIN_SIZE]
        dtype = params[0].array.dtype
        total = sum(p.array.size for p in order)
        self.flat = xp.empty(total, dtype=dtype)
        self.flat_grad = xp.empty(total, dtype=dtype)
        offsets = [0]
        for p in order:
            offsets.append(offsets[-1] + p.array.size)
        self.grads: dict[int, ndarray] = {}
        flipped = {id(p) for p in transpose if p.array.ndim == 2}
        for p, a, b in zip(order, offsets, offsets[1:], strict=False):
            t = id(p) in flipped
            view = _layout(self.flat[a:b], p.array.shape, t)
            view[...] = p.array
            p.array = view
            self.grads[id(p)] = _layout(self.flat_grad[a:b], view.shape, t)
        self.params = order
        self.arrays = [p.array for p in order]
        #: Set by :class:`~retrograd.capture.TrainStep` with ``update_in_backward=True``.
        self.in_backward: SGDInBackward | None = None
        self.regions = [
            _Region(order[i:j], offsets[i : j + 1], self.flat, self.flat_grad)
            for i, j in regions([p.array.size for p in order], _blas.MIN_SIZE)
        ]
        # the update rule chunk by chunk, on the regions where eager calls BLAS
        rule = _chunked_rules().get(type(optimizer))
        usable = [r for r in self.regions if rule is not None and rule.usable(r.grad)]
        if usable:
            n = min(chunk_size(dtype), max(r.grad.size for r in usable))
            scratch = (xp.empty(n, dtype=dtype), xp.empty(n, dtype=dtype))
            for r in usable:
                r.chunks = rule(r.proxy.array, r.grad, scratch)  # type: ignore[misc]

    @staticmethod
    def build(optimizer: Any, params: list[Tensor], transpose: Any = ()) -> FlatOptimizer | None:
        """A flat optimizer over ``params``, or None when this optimizer is stepped eagerly."""
        if optimizer is None or type(optimizer) not in _captured_types():
            return None
        groups = optimizer.param_groups
        if len(groups) != 1 or len(groups[0]["params"]) != len(params):
            return None
        ids = {id(p) for p in params}
        if any(id(p) not in ids for p in groups[0]["params"]):
            return None
        if any(type(p.array) is not ndarray for p in params):
            return None
        return FlatOptimizer(optimizer, list(groups[0]["params"]), transpose)

    def _same_group(self) -> bool:
        """Whether the optimizer still has one group, holding the list captured."""
        groups = self.optimizer.param_groups
        return len(groups) == 1 and groups[0]["params"] is self.param_list

    def valid(self) -> bool:
        """Whether the parameters are still views of the flat buffer and the group unchanged."""
        if not self._same_group():
            return False
        return all(p.array is a for p, a in zip(self.params, self.arrays, strict=True))

    def step(self) -> bool:
        """``optimizer.step()`` over the regions; False (nothing done) when it must run eagerly.

        The gradients are the flat gradient buffer's, written by the replay.
        """
        if not self._same_group():
            return False
        opt = self.optimizer
        group, state = opt.param_groups[0], opt.state
        for r in self.regions:
            if not r.synced(state) and not r.gather(state):
                return False
        in_backward = self.in_backward
        done = in_backward.ids if in_backward is not None and in_backward.on else ()
        for r in self.regions:
            if done and id(r.params[0]) in done:
                continue  # updated by the backward pass
            if r.chunks is not None and r.chunks.step(group, r.state):
                scalars = [(k, v) for k, v in r.state.items() if type(v) is not ndarray]
                for st in r.dicts:
                    for k, v in scalars:
                        st[k] = v  # type: ignore[index]
                continue
            proxy = r.proxy
            before = _arrays(r.state)
            state[proxy] = r.state
            try:
                opt._update(proxy, r.grad, group)
            finally:
                del state[proxy]
            after = _arrays(r.state)
            if len(after) != len(before) or any(
                a is not b for a, b in zip(after, before, strict=True)
            ):
                r.publish(state)  # a new state array (the first step, AMSGrad's maximum)
            else:
                scalars = [(k, v) for k, v in r.state.items() if type(v) is not ndarray]
                for st in r.dicts:
                    for k, v in scalars:
                        st[k] = v  # type: ignore[index]
        opt._count_step()
        return True


class SGDInBackward:
    """Plain SGD's step for the large weights, made inside the backward pass.

    ``W -= lr (gW + wd W)`` is ``W = (1 - lr wd) W - lr g^T x``: one BLAS
    ``gemm`` with ``beta != 0`` adds the weight-gradient product to the weight
    as it computes it (:meth:`~retrograd.capture.kernels.LinearKernel.update_weight`),
    instead of writing ``gW``, then reading it and ``W`` back for the update.
    For weights of :data:`retrograd._blas.MIN_SIZE` elements or more, each alone
    in its region; :meth:`FlatOptimizer.step` skips their regions while :attr:`on`.

    Only while :attr:`on` (:meth:`arm`, for one :class:`~retrograd.capture.TrainStep`
    call, when the group has no momentum and a non-zero lr); the weights' ``.grad``
    are then left None. The product is added unrounded, so a weight may differ
    from eager's SGD in the last bit: equal where OpenBLAS accumulates the
    product in one block (an inner dimension, the batch, within its blocking,
    and no small-matrix kernel), rounded once more otherwise.

    Parameters
    ----------
    optimizer : optim.SGD
    weights : list of Tensor
        The weights whose update the backward pass makes.
    """

    def __init__(self, optimizer: Any, weights: list[Tensor]) -> None:
        self.optimizer = optimizer
        self.ids = {id(w) for w in weights}
        self.gemm = _blas.gemm_function(weights[0].array.dtype)
        self.on = False
        self.alpha = self.beta = 0.0

    @staticmethod
    def build(optimizer: Any, params: list[Tensor]) -> SGDInBackward | None:
        """For ``optimizer`` (exactly an SGD) and its 2-D parameters of BLAS size, or None."""
        from ..optim import SGD

        if type(optimizer) is not SGD:
            return None
        weights = [p for p in params if p.array.ndim == 2 and p.array.size >= _blas.MIN_SIZE]
        if not weights or _blas.gemm_function(weights[0].array.dtype) is None:
            return None
        return SGDInBackward(optimizer, weights)

    def arm(self) -> bool:
        """Turn on for this step, with the group's lr and decay; False (off) with momentum.

        The group is read as it is now (``load_state_dict`` may have replaced it); off
        when the optimizer has more than one.
        """
        groups = self.optimizer.param_groups
        group = groups[0]
        lr = float(group["lr"])
        self.on = len(groups) == 1 and float(group["momentum"]) == 0 and lr != 0
        if self.on:
            self.alpha = lr if group["maximize"] else -lr
            self.beta = 1.0 - lr * float(group["weight_decay"])
        return self.on


class Chunks:
    """An optimizer's update over one region, chunk by chunk, each chunk kept in cache.

    An eager update makes two to ten passes over a region (``w``, ``g``, the
    state arrays, temporaries), each streaming the whole region through the
    cache; for the 784-256-128-10 MLP's first weight each array is 0.8 MB
    (1.6 MB in float64), and three to six of them exceed a core's L2. A
    subclass runs its optimizer's calls on one chunk of :data:`CHUNK_BYTES`
    per array after another, so that a chunk's arrays come from memory once
    and the later passes, and the chunk-long temporaries, find them in cache.
    Each element goes through the calls that eager makes on a region of this
    size, with the same scalars (BLAS ``axpby``/``axpy``, called directly on the
    chunk's addresses, and the same ufuncs), and OpenBLAS rounds an element
    alike whatever the length of the call: the result equals eager's bit for
    bit. It also skips :mod:`retrograd._blas`'s per-call checks and address
    lookups.

    Parameters
    ----------
    param, grad : ndarray
        The region's flat parameter and gradient arrays, of one floating dtype
        with a BLAS kernel (:meth:`usable`).
    scratch : tuple of two ndarray
        Two 1-D arrays of the dtype, at least a chunk long (or the region's
        length), shared by the regions, which are updated one after another.
    """

    def __init__(self, param: ndarray, grad: ndarray, scratch: tuple[ndarray, ndarray]) -> None:
        self.param, self.grad = param, grad
        self.axpy, self.axpby = _blas.functions(param.dtype)  # type: ignore[misc]
        self.length = self.axpy.argtypes[0]  # BLAS's integer
        self.real = self.axpy.argtypes[1]  # c_float or c_double: BLAS's scalars
        self.size = chunk_size(param.dtype)
        self.bounds = [(a, min(a + self.size, param.size)) for a in range(0, param.size, self.size)]
        self.scratch = scratch
        self.key: tuple[Any, ...] = ()  # the state arrays that self.plan was made for
        self.plan: list[tuple[Any, ...]] = []

    @staticmethod
    def usable(a: ndarray) -> bool:
        """Whether eager's update of ``a`` calls BLAS (where its scalars are not 0)."""
        return a.size >= _blas.MIN_SIZE and _blas.functions(a.dtype) is not None

    def _plan(self, *state: ndarray | None) -> list[tuple[Any, ...]]:
        """Per chunk: its length, views and pointers of ``w``, ``g``, the scratch and ``state``.

        The views of ``w``, ``g`` and the two scratch arrays, their pointers, then a
        tuple of the views of the ``state`` arrays and one of their pointers (None for
        None). Made again only when the state arrays change (loaded, or a new one made).
        """
        if self.key and all(a is b for a, b in zip(state, self.key, strict=True)):
            return self.plan
        plan = []
        tmp, d = self.scratch
        for a, b in self.bounds:
            views = (self.param[a:b], self.grad[a:b], tmp[: b - a], d[: b - a])
            parts = tuple(None if x is None else x[a:b] for x in state)
            pointers = tuple(None if x is None else _pointer(x) for x in parts)
            plan.append((self.length(b - a), *views, *map(_pointer, views), parts, pointers))
        self.key, self.plan = state, plan
        return plan

    def _arrays(self, *arrays: Any) -> bool:
        """Whether BLAS can take ``arrays``: the region's shape and dtype, contiguous, writeable."""
        like = self.grad
        return all(
            type(x) is ndarray
            and x.shape == like.shape
            and x.dtype == like.dtype
            and x.flags.c_contiguous
            and x.flags.writeable
            for x in arrays
        )

    def step(self, group: dict[str, Any], state: dict[str, Any]) -> bool:
        """One step of the optimizer's ``_update`` over the region; False if it can't.

        False (nothing done) where eager's calls would differ: ``_update`` runs instead.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement step")


class AdamChunks(Chunks):
    """``Adam._update`` (and AdamW's) chunk by chunk: its seven to ten passes per chunk."""

    def step(self, group: dict[str, Any], state: dict[str, Any]) -> bool:
        """As ``Adam._update``; False (nothing done) where eager's calls would differ.

        That is: no state yet, AMSGrad's maximum still to be made, or a zero scalar,
        which :mod:`retrograd._blas` refuses (eager then takes the ufunc path).
        """
        amsgrad = group["amsgrad"]
        m, v = state.get("exp_avg"), state.get("exp_avg_sq")
        vmax = state.get("max_exp_avg_sq") if amsgrad else None
        if "step" not in state or not self._arrays(m, v, *((vmax,) if amsgrad else ())):
            return False
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        step = state["step"] + 1
        bias_correction1 = 1.0 - beta1**step
        bias_correction2_sqrt = (1.0 - beta2**step) ** 0.5
        rate = -lr * bias_correction2_sqrt / bias_correction1
        if 0.0 in (beta1, 1.0 - beta1, beta2, 1.0 - beta2, rate):
            return False
        state["step"] = step
        # NOTE: eager passes Python floats, which BLAS's argtypes and the ufuncs round to
        # the array's dtype at each call; rounded once here, to the same values.
        real, typed = self.real, self.param.dtype.type
        a1, b1, a2, b2, r = (real(x) for x in (1.0 - beta1, beta1, 1.0 - beta2, beta2, rate))
        offset = typed(eps * bias_correction2_sqrt)
        wd = float(group["weight_decay"])
        decoupled = wd != 0 and group.get("decoupled_weight_decay", False)
        shrink = typed(1.0 - lr * wd) if decoupled else None
        l2 = typed(wd) if wd != 0 and not decoupled else 0
        maximize = group["maximize"]
        axpy, axpby, one = self.axpy, self.axpby, self.length(1)
        multiply, sqrt, divide, add = xp.multiply, xp.sqrt, xp.divide, xp.add
        threads.for_work(self.size)  # the threads _blas sets for a call of this length
        for n, p, g, tmp, d, pp, gp, tp, dp, arrays, pointers in self._plan(m, v, vmax):
            (m_, v_, vmax_), (mp, vp, _) = arrays, pointers
            if shrink is not None:
                multiply(p, shrink, out=p)  # AdamW: w *= 1 - lr wd
            if direction(p, g, maximize, l2, d) is g:
                d, dp = g, gp
            axpby(n, a1, dp, one, b1, mp, one)  # m = beta1 m + (1 - beta1) d
            multiply(d, d, out=tmp)
            axpby(n, a2, tp, one, b2, vp, one)  # v = beta2 v + (1 - beta2) d^2
            if vmax_ is not None:
                xp.maximum(vmax_, v_, out=vmax_)
                v_ = vmax_
            sqrt(v_, out=tmp)
            add(tmp, offset, out=tmp)
            divide(m_, tmp, out=tmp)
            axpy(n, r, tp, one, pp, one)  # w += rate m / (sqrt(v) + eps bc2)
        return True


class SGDChunks(Chunks):
    """``SGD._update`` chunk by chunk: its one to six passes per chunk."""

    def step(self, group: dict[str, Any], state: dict[str, Any]) -> bool:
        """As ``SGD._update``; False (nothing done) where eager's calls would differ.

        That is: no momentum buffer yet (the first step), or a zero scalar, which
        :mod:`retrograd._blas` refuses (eager then takes the ufunc path). Also a
        region so large that eager's BLAS passes run on several threads
        (:func:`retrograd.threads.for_work`): SGD's few passes gain less from the cache
        than they lose from one thread (a 6-million-element weight with momentum:
        11.7 ms whole, 12.4 ms in chunks).
        """
        if threads.threads_for(self.param.size, threads.get_num_threads()) > 1:
            return False
        lr, momentum = float(group["lr"]), float(group["momentum"])
        buf = state.get("momentum_buffer") if momentum != 0 else None
        alpha = 1.0 - float(group["dampening"])
        if lr == 0 or (momentum != 0 and (alpha == 0 or not self._arrays(buf))):
            return False
        real, typed = self.real, self.param.dtype.type
        rate, b, a = real(-lr), real(momentum), real(alpha)
        wd = float(group["weight_decay"])
        l2 = typed(wd) if wd != 0 else 0
        maximize, nesterov, mu = group["maximize"], group["nesterov"], typed(momentum)
        axpy, axpby, one = self.axpy, self.axpby, self.length(1)
        threads.for_work(self.size)  # the threads _blas sets for a call of this length
        for n, p, g, tmp, d, pp, gp, tp, dp, (buf_,), (bp,) in self._plan(buf):
            if direction(p, g, maximize, l2, d) is g:
                d, dp = g, gp
            if buf_ is not None:
                axpby(n, a, dp, one, b, bp, one)  # b = momentum b + (1 - dampening) d
                if nesterov:
                    xp.multiply(buf_, mu, out=tmp)
                    xp.add(d, tmp, out=tmp)
                    d, dp = tmp, tp
                else:
                    d, dp = buf_, bp
            axpy(n, rate, dp, one, pp, one)  # w -= lr d
        return True


def chunk_size(dtype: Any) -> int:
    """Elements per chunk for ``dtype``: :data:`CHUNK_BYTES`, a multiple of 64 (cache lines)."""
    return max(64, CHUNK_BYTES // xp.dtype(dtype).itemsize // 64 * 64)


def _pointer(a: ndarray) -> Any:
    """The address of ``a``'s first element, as BLAS takes it."""
    return ctypes.c_void_p(a.ctypes.data)


def _layout(flat: ndarray, shape: tuple[int, ...], transposed: bool) -> ndarray:
    """``flat`` as an array of ``shape``: C order, or the transpose of a C-ordered block."""
    return flat.reshape(shape[::-1]).T if transposed else flat.reshape(shape)


def _arrays(state: dict[str, Any]) -> list[ndarray]:
    return [v for v in state.values() if type(v) is ndarray]


__all__ = ["AdamChunks", "Chunks", "FlatOptimizer", "SGDChunks", "SGDInBackward", "regions"]
