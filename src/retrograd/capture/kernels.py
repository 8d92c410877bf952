"""The replayed kernels: one small class per layer, forward and backward side by side.

Each kernel is built once, for one batch size, over preallocated arrays; its
``forward`` and ``backward`` then run NumPy ufuncs and matrix products with
``out=`` and create nothing. Kernels are wired at capture time: a kernel reads
its input from ``self.x`` (the previous kernel's ``out``, or the batch, which
:class:`~retrograd.capture.TrainStep` sets each step) and its incoming gradient
from ``self.g`` (the next kernel's ``gx``, or the loss's gradient).

Each kernel does exactly the arithmetic of the eager op it replaces
(:mod:`retrograd.ops`), in the same order, so that replay equals eager bit for
bit; where a kernel writes in place (ReLU's and Dropout's backward, the
softmax turned into its gradient) the value is the same, only the array is
reused. The eager op's derivative is restated in each docstring.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy

from .. import random as _random
from .. import threads
from .._backend import ndarray, xp
from .._blas import NO_TRANS, ROW_MAJOR, TRANS


class LinearKernel:
    """``out = x @ W^T + b``; ``gx = g @ W``, ``gW = g^T @ x``, ``gb = sum(g, 0)`` (ops.Linear).

    A weight stored transposed (Fortran-contiguous: :class:`TrainStep` stores the
    first layer's so when it captures the optimizer) makes ``x @ W^T`` a product
    of two C-contiguous matrices, which OpenBLAS runs faster at small batches
    than the NT product; ``gW`` is then computed as ``(x^T @ g)^T``, written
    straight into the transposed gradient. Where :func:`transposed_rounds_as_eager`
    finds that OpenBLAS sums in another order at these sizes, the kernel copies
    the weight to C order each step and multiplies as eagerly instead.
    """

    def __init__(self, module: Any, n: int, dtype: Any, needs_gx: bool) -> None:
        self.weight = module.weight
        w = module.weight.array
        self.w, self.wt = w, w.T  # the transpose is a view: BLAS reads it without a copy
        self.b = module.bias.array if module.bias is not None else None
        self.x: ndarray = None  # type: ignore[assignment]  # wired by the plan
        self.g: ndarray = None  # type: ignore[assignment]
        self.out = xp.empty((n, w.shape[0]), dtype=dtype)
        self.gx = xp.empty((n, w.shape[1]), dtype=dtype) if needs_gx else None
        self.gw = xp.empty_like(w)
        self.gb = xp.empty_like(self.b) if self.b is not None else None
        # the three products have the same multiply-adds: threads chosen as eager's (ops.Linear)
        self.work = n * w.shape[0] * w.shape[1]
        self.copy: ndarray | None = None  # W in C order, refreshed each step, when needed
        self.gw_c: ndarray | None = None
        if not w.flags.c_contiguous and not transposed_rounds_as_eager(n, *w.shape, w.dtype):
            self.copy = xp.empty(w.shape, dtype=dtype)
            self.wt = self.copy.T
            self.gw_c = xp.empty(w.shape, dtype=dtype)
        #: Set by :class:`~retrograd.capture.TrainStep` (``update_in_backward=True``):
        #: while it is on, the weight-gradient product updates the weight itself.
        self.update: Any = None
        self._x: ndarray | None = None  # the input whose address _x_address holds
        self._x_address = 0
        self._addresses: tuple[Any, ...] = (None,)  # g, and the addresses of g and W

    def forward(self) -> None:
        threads.for_work(self.work)
        if self.copy is not None:
            xp.copyto(self.copy, self.w)
        xp.matmul(self.x, self.wt, out=self.out)
        if self.b is not None:
            xp.add(self.out, self.b, out=self.out)

    def backward(self) -> None:
        g = self.g
        threads.for_work(self.work)
        if self.gx is not None:
            xp.matmul(g, self.w if self.copy is None else self.copy, out=self.gx)
        gw = self.gw
        update = self.update
        if update is not None and update.on:
            self.update_weight(update.alpha, update.beta)
        elif gw.flags.c_contiguous:
            xp.matmul(g.T, self.x, out=gw)
        elif self.gw_c is None:  # gW^T = x^T g, a C-contiguous result
            xp.matmul(self.x.T, g, out=gw.T)
        else:
            xp.matmul(g.T, self.x, out=self.gw_c)
            xp.copyto(gw, self.gw_c)
        if self.gb is not None:
            g.sum(axis=0, out=self.gb)

    def update_weight(self, alpha: float, beta: float) -> None:
        """``W = beta W + alpha g^T x``: one BLAS ``gemm`` that adds the product to ``W``.

        The SGD step ``W -= lr (gW + wd W)`` (:class:`~retrograd.capture.optim.SGDInBackward`
        gives ``alpha = -lr``, ``beta = 1 - lr wd``) without writing ``gW`` and reading it
        back. The product is added as BLAS accumulates it, unrounded: the weight
        may differ from eager's in the last bit (``docs/capture.md``).
        """
        x, g, w = self.x, self.g, self.w
        if not x.flags.c_contiguous:  # a strided batch: BLAS reads rows of k elements
            x = xp.ascontiguousarray(x)
            x_address = x.ctypes.data
        elif x is self._x:
            x_address = self._x_address
        else:  # a new batch (the plan's own arrays are the same each step)
            self._x, self._x_address = x, x.ctypes.data
            x_address = self._x_address
        if self._addresses[0] is not g:
            self._addresses = (g, g.ctypes.data, w.ctypes.data)
        _, g_address, w_address = self._addresses
        (n, k), m = x.shape, w.shape[0]
        gemm = self.update.gemm
        if w.flags.c_contiguous:  # W (m, k) = beta W + alpha g^T x
            gemm(ROW_MAJOR, TRANS, NO_TRANS, m, k, n, alpha,
                 g_address, m, x_address, k, beta, w_address, k)  # fmt: skip
        else:  # stored transposed: W^T (k, m) = beta W^T + alpha x^T g
            gemm(ROW_MAJOR, TRANS, NO_TRANS, k, m, n, alpha,
                 x_address, k, g_address, m, beta, w_address, m)  # fmt: skip


@functools.lru_cache(maxsize=64)
def transposed_rounds_as_eager(n: int, m: int, k: int, dtype: Any) -> bool:
    """Whether the products of an ``(m, k)`` weight stored transposed round as eager's.

    Probed once per shape on random values: ``x @ W^T``, ``g^T @ x`` and
    ``g @ W`` against ``(x^T @ g)^T`` and the products with a Fortran-ordered
    ``W``. OpenBLAS picks its kernel and blocking by the operands' layout and
    sizes; where it sums in the same order the results are equal for any values,
    and where it does not, random values almost surely show it.
    """
    rng = numpy.random.default_rng(0)
    x, w, g = (rng.standard_normal(shape).astype(dtype) for shape in ((n, k), (m, k), (n, m)))
    wf = numpy.asfortranarray(w)
    threads.for_work(n * m * k)
    return (
        numpy.array_equal(x @ w.T, x @ wf.T)
        and numpy.array_equal(g.T @ x, (x.T @ g).T)
        and numpy.array_equal(g @ w, g @ wf)
    )


class ReLUKernel:
    """``out = max(x, 0)``; ``gx = g * (out > 0)``, in place in ``g`` (ops.ReLU)."""

    def __init__(self, n_shape: tuple[int, ...], dtype: Any) -> None:
        self.x: ndarray = None  # type: ignore[assignment]
        self.g: ndarray = None  # type: ignore[assignment]
        self.out = xp.empty(n_shape, dtype=dtype)
        self.mask = xp.empty(n_shape, dtype=bool)
        self.gx: ndarray = None  # type: ignore[assignment]  # g itself, wired by the plan

    def forward(self) -> None:
        xp.maximum(self.x, 0, out=self.out)

    def backward(self) -> None:
        xp.greater(self.out, 0, out=self.mask)
        xp.multiply(self.g, self.mask, out=self.g)


class TanhKernel:
    """``out = tanh(x)``; ``gx = g * (1 - out * out)``, in place in ``g`` (ops.Tanh)."""

    def __init__(self, n_shape: tuple[int, ...], dtype: Any) -> None:
        self.x: ndarray = None  # type: ignore[assignment]
        self.g: ndarray = None  # type: ignore[assignment]
        self.out = xp.empty(n_shape, dtype=dtype)
        self.tmp = xp.empty(n_shape, dtype=dtype)
        self.gx: ndarray = None  # type: ignore[assignment]

    def forward(self) -> None:
        xp.tanh(self.x, out=self.out)

    def backward(self) -> None:
        xp.multiply(self.out, self.out, out=self.tmp)
        xp.subtract(1, self.tmp, out=self.tmp)
        xp.multiply(self.g, self.tmp, out=self.g)


class SigmoidKernel:
    """``out = stable_sigmoid(x)``; ``gx = g * out * (1 - out)``, in place in ``g`` (ops.Sigmoid).

    The forward is :func:`retrograd.ops.elementwise.stable_sigmoid` over buffers:
    ``e = exp(-|x|)``, then ``1/(1+e)`` where ``x >= 0`` and ``e/(1+e)`` elsewhere.
    """

    def __init__(self, n_shape: tuple[int, ...], dtype: Any) -> None:
        self.x: ndarray = None  # type: ignore[assignment]
        self.g: ndarray = None  # type: ignore[assignment]
        self.out = xp.empty(n_shape, dtype=dtype)
        self.e = xp.empty(n_shape, dtype=dtype)
        self.d = xp.empty(n_shape, dtype=dtype)
        self.pos = xp.empty(n_shape, dtype=bool)
        self.gx: ndarray = None  # type: ignore[assignment]

    def forward(self) -> None:
        e, d, out = self.e, self.d, self.out
        xp.abs(self.x, out=e)
        xp.negative(e, out=e)
        xp.exp(e, out=e)
        xp.add(1, e, out=d)  # 1 + e
        xp.greater_equal(self.x, 0, out=self.pos)
        xp.divide(e, d, out=out)  # e / (1 + e) everywhere, then 1 / (1 + e) where x >= 0
        xp.divide(1, d, out=out, where=self.pos)

    def backward(self) -> None:
        xp.multiply(self.g, self.out, out=self.g)
        xp.subtract(1, self.out, out=self.d)
        xp.multiply(self.g, self.d, out=self.g)


class DropoutKernel:
    """``out = x * mask``, ``mask = (u >= p) / (1 - p)``; ``gx = g * mask`` in place (ops.Dropout).

    ``u`` is drawn from the default generator each step, exactly as
    :func:`retrograd.nn.functional.dropout` draws it, so the random stream
    advances as in eager training. ``x * (u >= p) * scale`` rounds as
    ``x * mask``: multiplying by 1 or 0 is exact.
    """

    def __init__(self, p: float, n_shape: tuple[int, ...], dtype: Any) -> None:
        self.x: ndarray = None  # type: ignore[assignment]
        self.g: ndarray = None  # type: ignore[assignment]
        self.p, self.dtype, self.shape = p, dtype, n_shape
        self.u = xp.empty(n_shape, dtype=dtype)
        self.keep = xp.empty(n_shape, dtype=bool)
        self.mask = xp.empty(n_shape, dtype=dtype)
        self.scale = xp.asarray(1.0 / (1.0 - p), dtype=dtype)
        self.out = xp.empty(n_shape, dtype=dtype)
        self.gx: ndarray = None  # type: ignore[assignment]

    def forward(self) -> None:
        # NOTE: looked up each step, as get_rng() does: manual_seed replaces the NumPy generator.
        _random.default_generator.np.random(self.shape, dtype=self.dtype, out=self.u)
        xp.greater_equal(self.u, self.p, out=self.keep)
        xp.multiply(self.keep, self.scale, out=self.mask)
        xp.multiply(self.x, self.mask, out=self.out)

    def backward(self) -> None:
        xp.multiply(self.g, self.mask, out=self.g)


class BatchNormKernel:
    """Training-mode batch norm of (N, C) input with batch statistics (F.batch_norm, ops.BatchNorm).

    Forward: ``mean``, biased ``var``, the running statistics updated in place
    (the unbiased variance), ``xhat = (x - mean) * invstd``, ``out = xhat * w + b``.
    Backward, with ``gh = g * w`` and ``m`` rows::

        gx = invstd/m * (m*gh - sum(gh) - xhat*sum(gh*xhat)),  gw = sum(g*xhat),  gb = sum(g)
    """

    def __init__(self, module: Any, n: int, dtype: Any, needs_gx: bool) -> None:
        c = module.num_features
        self.module = module
        self.x: ndarray = None  # type: ignore[assignment]
        self.g: ndarray = None  # type: ignore[assignment]
        self.n, self.eps = n, float(module.eps)
        self.w = module.weight.array if module.weight is not None else None
        self.b = module.bias.array if module.bias is not None else None
        self.rm = module.running_mean.array if module.running_mean is not None else None
        self.rv = module.running_var.array if module.running_var is not None else None
        self.tracked = module.num_batches_tracked.array if module.track_running_stats else None
        self.mean = xp.empty(c, dtype=dtype)
        self.var = xp.empty(c, dtype=dtype)
        self.invstd = xp.empty((1, c), dtype=dtype)
        self.xc = xp.empty((n, c), dtype=dtype)
        self.xhat = xp.empty((n, c), dtype=dtype)
        self.out = xp.empty((n, c), dtype=dtype)
        self.gh = xp.empty((n, c), dtype=dtype)
        self.s1 = xp.empty((1, c), dtype=dtype)
        self.s2 = xp.empty((1, c), dtype=dtype)
        self.gx = xp.empty((n, c), dtype=dtype) if needs_gx else None
        self.gw = xp.empty_like(self.w) if self.w is not None else None
        self.gb = xp.empty_like(self.b) if self.b is not None else None

    def forward(self) -> None:
        x, mean, var, xc = self.x, self.mean, self.var, self.xc
        module = self.module
        factor = 0.0 if module.momentum is None else module.momentum
        if self.tracked is not None:
            self.tracked[...] += 1
            if module.momentum is None:
                factor = 1.0 / float(self.tracked)
        x.mean(axis=0, out=mean)
        xp.subtract(x, mean, out=xc)
        xp.multiply(xc, xc, out=self.xhat)  # xhat as scratch: the squares
        self.xhat.mean(axis=0, out=var)
        n = self.n
        if self.rm is not None:
            self.rm[...] = (1 - factor) * self.rm + factor * mean
        if self.rv is not None:
            self.rv[...] = (1 - factor) * self.rv + factor * var * (n / (n - 1))
        # ops.BatchNorm: invstd = 1 / sqrt(var + eps); xhat = (x - mean) * invstd
        inv = self.invstd
        xp.add(var.reshape(1, -1), self.eps, out=inv)
        xp.sqrt(inv, out=inv)
        xp.divide(1.0, inv, out=inv)
        xp.subtract(x, mean.reshape(1, -1), out=self.xhat)
        xp.multiply(self.xhat, inv, out=self.xhat)
        out = self.out
        out[...] = self.xhat
        if self.w is not None:
            out *= self.w.reshape(1, -1)
        if self.b is not None:
            out += self.b.reshape(1, -1)

    def backward(self) -> None:
        g, xhat, gh = self.g, self.xhat, self.gh
        if self.gx is not None:
            if self.w is not None:
                xp.multiply(g, self.w.reshape(1, -1), out=gh)
            else:
                gh[...] = g
            m = self.n
            gh.sum(axis=(0,), keepdims=True, out=self.s1)
            gx = self.gx
            xp.multiply(gh, xhat, out=gx)
            gx.sum(axis=(0,), keepdims=True, out=self.s2)
            # (invstd / m) * (m * gh - s1 - xhat * s2)
            xp.multiply(xhat, self.s2, out=gx)
            xp.multiply(m, gh, out=gh)
            xp.subtract(gh, self.s1, out=gh)
            xp.subtract(gh, gx, out=gx)
            xp.divide(self.invstd, m, out=self.s2)
            xp.multiply(self.s2, gx, out=gx)
        if self.gw is not None:
            xp.multiply(g, xhat, out=gh)
            gh.sum(axis=(0,), out=self.gw)
        if self.gb is not None:
            g.sum(axis=(0,), out=self.gb)


class CrossEntropyKernel:
    """Softmax cross-entropy of (N, C) logits and class indices, forward and backward in one pass.

    As ops.SoftmaxCrossEntropy: ``shifted = x - max(x)``, ``e = exp(shifted)``,
    ``s = sum(e)``, ``loss = (sum(log s) - sum(shifted[t])) / n``; its gradient
    ``(e / s - onehot(t)) * g / n`` is formed right after, in ``e``'s array.
    """

    def __init__(self, n: int, c: int, dtype: Any, mean: bool) -> None:
        self.x: ndarray = None  # type: ignore[assignment]
        self.target: ndarray = None  # type: ignore[assignment]  # set each step
        self.n, self.c = n, c
        self.mean = mean
        self.max = xp.empty((n, 1), dtype=dtype)
        self.shifted = xp.empty((n, c), dtype=dtype)
        self.flat_shifted = self.shifted.reshape(-1)
        self.gx = xp.empty((n, c), dtype=dtype)  # exp(shifted), then the gradient
        self.flat_gx = self.gx.reshape(-1)
        self.s = xp.empty((n, 1), dtype=dtype)
        self.logs = xp.empty((n, 1), dtype=dtype)
        self.offsets = xp.arange(0, n * c, c, dtype=xp.int64)
        self.flat = xp.empty(n, dtype=xp.int64)
        seed = xp.ones((), dtype=dtype)  # the backward's seed, dL/dL = 1
        self.scale = seed / seed.dtype.type(n) if mean else None
        self.divisor = xp.dtype(dtype).type(n)
        self.loss: Any = None

    def forward(self) -> None:
        x, shifted, e = self.x, self.shifted, self.gx
        x.max(axis=1, keepdims=True, out=self.max)
        xp.subtract(x, self.max, out=shifted)
        xp.exp(shifted, out=e)
        e.sum(axis=1, keepdims=True, out=self.s)
        xp.add(self.target, self.offsets, out=self.flat)
        xp.log(self.s, out=self.logs)
        total = self.logs.sum() - self.flat_shifted.take(self.flat).sum()
        self.loss = total / self.divisor if self.mean else total
        # the backward, fused: e / s - onehot(t), times g / n
        xp.divide(e, self.s, out=e)
        self.flat_gx[self.flat] -= 1
        if self.scale is not None:
            e *= self.scale

    def backward(self) -> None:
        """Nothing left: the forward formed the gradient."""

    def valid(self, target: ndarray) -> bool:
        """Whether every target is a class index in [0, C) (else eager raises its error)."""
        return bool(target.min() >= 0) and bool(target.max() < self.c)


class MSEKernel:
    """``(x - t)**2`` reduced by mean or sum; ``gx = 2 (x - t) g / n`` (ops.SquaredError, Mean)."""

    def __init__(self, shape: tuple[int, ...], dtype: Any, mean: bool) -> None:
        self.x: ndarray = None  # type: ignore[assignment]
        self.target: ndarray = None  # type: ignore[assignment]
        self.d = xp.empty(shape, dtype=dtype)
        self.sq = xp.empty(shape, dtype=dtype)
        self.gx = xp.empty(shape, dtype=dtype)
        self.axes = tuple(range(len(shape)))
        n = 1
        for size in shape:
            n *= size
        self.mean = mean
        self.divisor = xp.asarray(n, dtype=dtype)
        seed = xp.ones((), dtype=dtype)
        self.scale = seed / n if mean else None  # Mean's backward hands g / n on
        self.loss: Any = None

    def forward(self) -> None:
        xp.subtract(self.x, self.target, out=self.d)
        xp.multiply(self.d, self.d, out=self.sq)
        total = self.sq.sum(axis=self.axes)
        self.loss = total / self.divisor if self.mean else total
        xp.multiply(self.d, 2, out=self.gx)  # SquaredError's backward: 2 * d * g
        if self.scale is not None:
            self.gx *= self.scale

    def backward(self) -> None:
        """Nothing left: the forward formed the gradient."""

    def valid(self, target: ndarray) -> bool:
        """Every target of the right shape and dtype is valid."""
        return True


class SeedKernel:
    """The gradient of the output, given by the caller (:class:`~retrograd.capture.Backprop`)."""

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.x: ndarray = None  # type: ignore[assignment]
        self.target: Any = None
        self.gx = xp.empty(shape, dtype=dtype)
        self.loss: Any = None

    def forward(self) -> None:
        """Nothing: the caller computes the loss from the output."""

    def backward(self) -> None:
        """Nothing: ``gx`` holds the caller's gradient."""

    def valid(self, target: Any) -> bool:
        return True
