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
reused. The eager op's derivative is restated in each docstring. The kernels
of the other activations and losses (:class:`OpKernel` and those after it)
run the eager op itself, on the plan's arrays.

Layouts follow eager's too: a product or a sum over a strided array may round
differently from one over a C-contiguous copy of it, so the plan wires an
activation's backward in place only where ``g`` is C-contiguous, as eager's
product ``g * mask`` is (else ``gx`` is an array of its own).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy

from .. import random as _random
from .. import threads
from .._backend import ndarray, xp
from .._blas import NO_TRANS, ROW_MAJOR, TRANS
from ..ops.elementwise import leaky_relu_slopes, leaky_relu_table, stable_sigmoid


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
        # g itself (C-contiguous, as eager's product is), or an array of its own: wired by the plan
        self.gx: ndarray = None  # type: ignore[assignment]

    def forward(self) -> None:
        xp.maximum(self.x, 0, out=self.out)

    def backward(self) -> None:
        xp.greater(self.out, 0, out=self.mask)
        xp.multiply(self.g, self.mask, out=self.gx)


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
        xp.multiply(self.g, self.tmp, out=self.gx)


class SigmoidKernel:
    """``out = stable_sigmoid(x)``; ``gx = g * out * (1 - out)``, in place in ``g`` (ops.Sigmoid).

    The forward is :func:`retrograd.ops.elementwise.stable_sigmoid`, the eager op's
    own function, over kept arrays: ``e = exp(-|x|)``, then ``1/(1+e)`` where
    ``x >= 0`` and ``e/(1+e)`` elsewhere.
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
        stable_sigmoid(self.x, self.out, self.e, self.d, self.pos)

    def backward(self) -> None:
        xp.multiply(self.g, self.out, out=self.gx)
        xp.subtract(1, self.out, out=self.d)
        xp.multiply(self.gx, self.d, out=self.gx)


class LeakyReLUKernel:
    """``out = x * slopes``, ``slopes`` 1 where ``x > 0`` else the negative slope;
    ``gx = g * slopes``, in place in ``g`` (ops.LeakyReLU).

    The slopes are :func:`retrograd.ops.elementwise.leaky_relu_slopes`, the eager op's
    own function, gathered into a kept array: the backward needs neither ``x`` nor
    ``out``, so the forward may write over its input.
    """

    def __init__(self, negative_slope: float, n_shape: tuple[int, ...], dtype: Any) -> None:
        self.x: ndarray = None  # type: ignore[assignment]
        self.g: ndarray = None  # type: ignore[assignment]
        self.table = leaky_relu_table(negative_slope, dtype)
        self.mask = xp.empty(n_shape, dtype=bool)
        self.slopes = xp.empty(n_shape, dtype=dtype)
        self.out = xp.empty(n_shape, dtype=dtype)
        self.gx: ndarray = None  # type: ignore[assignment]

    def forward(self) -> None:
        leaky_relu_slopes(self.x, self.table, self.mask, self.slopes)
        xp.multiply(self.x, self.slopes, out=self.out)

    def backward(self) -> None:
        xp.multiply(self.g, self.slopes, out=self.gx)


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
        xp.multiply(self.g, self.mask, out=self.gx)


class BatchNormKernel:
    """Training-mode batch norm of (N, C, *) input, batch statistics (F.batch_norm, ops.BatchNorm).

    Statistics are per channel, over every axis but 1 (``m`` elements each).
    Forward: ``mean``, biased ``var``, the running statistics updated in place
    (the unbiased variance), ``xhat = (x - mean) * invstd``, ``out = xhat * w + b``.
    Backward, with ``gh = g * w``::

        gx = invstd/m * (m*gh - sum(gh) - xhat*sum(gh*xhat)),  gw = sum(g*xhat),  gb = sum(g)
    """

    def __init__(self, module: Any, n_shape: tuple[int, ...], dtype: Any, needs_gx: bool) -> None:
        c = module.num_features
        self.module = module
        self.x: ndarray = None  # type: ignore[assignment]
        self.g: ndarray = None  # type: ignore[assignment]
        self.axes = (0, *range(2, len(n_shape)))
        self.bshape = (1, c) + (1,) * (len(n_shape) - 2)  # a channel's values broadcast
        self.n, self.eps = math.prod(n_shape) // c, float(module.eps)
        self.w = module.weight.array if module.weight is not None else None
        self.b = module.bias.array if module.bias is not None else None
        self.rm = module.running_mean.array if module.running_mean is not None else None
        self.rv = module.running_var.array if module.running_var is not None else None
        self.tracked = module.num_batches_tracked.array if module.track_running_stats else None
        self.mean = xp.empty(c, dtype=dtype)
        self.var = xp.empty(c, dtype=dtype)
        self.invstd = xp.empty(self.bshape, dtype=dtype)
        self.xc = xp.empty(n_shape, dtype=dtype)
        self.xhat = xp.empty(n_shape, dtype=dtype)
        self.out = xp.empty(n_shape, dtype=dtype)
        self.gh = xp.empty(n_shape, dtype=dtype)
        self.s1 = xp.empty(self.bshape, dtype=dtype)
        self.s2 = xp.empty(self.bshape, dtype=dtype)
        self.gx = xp.empty(n_shape, dtype=dtype) if needs_gx else None
        self.gw = xp.empty_like(self.w) if self.w is not None else None
        self.gb = xp.empty_like(self.b) if self.b is not None else None

    def forward(self) -> None:
        x, mean, var, xc, axes, bshape = (
            self.x,
            self.mean,
            self.var,
            self.xc,
            self.axes,
            self.bshape,
        )
        module = self.module
        factor = 0.0 if module.momentum is None else module.momentum
        if self.tracked is not None:
            self.tracked[...] += 1
            if module.momentum is None:
                factor = 1.0 / float(self.tracked)
        x.mean(axis=axes, out=mean)
        xp.subtract(x, mean.reshape(bshape), out=xc)
        xp.multiply(xc, xc, out=self.xhat)  # xhat as scratch: the squares
        self.xhat.mean(axis=axes, out=var)
        n = self.n
        if self.rm is not None:
            self.rm[...] = (1 - factor) * self.rm + factor * mean
        if self.rv is not None:
            self.rv[...] = (1 - factor) * self.rv + factor * var * (n / (n - 1))
        # ops.BatchNorm: invstd = 1 / sqrt(var + eps); xhat = (x - mean) * invstd
        inv = self.invstd
        xp.add(var.reshape(bshape), self.eps, out=inv)
        xp.sqrt(inv, out=inv)
        xp.divide(1.0, inv, out=inv)
        xp.subtract(x, mean.reshape(bshape), out=self.xhat)
        xp.multiply(self.xhat, inv, out=self.xhat)
        out = self.out
        out[...] = self.xhat
        if self.w is not None:
            out *= self.w.reshape(bshape)
        if self.b is not None:
            out += self.b.reshape(bshape)

    def backward(self) -> None:
        g, xhat, gh, axes = self.g, self.xhat, self.gh, self.axes
        if self.gx is not None:
            if self.w is not None:
                xp.multiply(g, self.w.reshape(self.bshape), out=gh)
            else:
                gh[...] = g
            m = self.n
            gh.sum(axis=axes, keepdims=True, out=self.s1)
            gx = self.gx
            xp.multiply(gh, xhat, out=gx)
            gx.sum(axis=axes, keepdims=True, out=self.s2)
            # (invstd / m) * (m * gh - s1 - xhat * s2)
            xp.multiply(xhat, self.s2, out=gx)
            xp.multiply(m, gh, out=gh)
            xp.subtract(gh, self.s1, out=gh)
            xp.subtract(gh, gx, out=gx)
            xp.divide(self.invstd, m, out=self.s2)
            xp.multiply(self.s2, gx, out=gx)
        if self.gw is not None:
            xp.multiply(g, xhat, out=gh)
            gh.sum(axis=axes, out=self.gw)
        if self.gb is not None:
            g.sum(axis=axes, out=self.gb)


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


# ---------------------------------------------------------------- kernels that run the eager op


class OpKernel:
    """An activation replayed by its eager op: ``out = op.forward(x)``, ``gx = op.backward(g)``.

    ``op`` is the node one eager call of the module recorded (``ops.LeakyReLU``,
    ``ops.GELU``, ... with the module's options as the op got them), run again
    on the plan's arrays each step: the arithmetic is the eager op's own, so
    replay equals eager bit for bit by construction. The results are copied into
    ``out`` and ``gx`` (the arrays the neighbouring kernels were wired to): one
    pass each, and the op's temporaries are made each step, unlike the fused
    :class:`ReLUKernel`, :class:`TanhKernel` and :class:`SigmoidKernel`.
    """

    def __init__(self, op: Any, n_shape: tuple[int, ...], dtype: Any, needs_gx: bool) -> None:
        self.op = op
        self.x: ndarray = None  # type: ignore[assignment]
        self.g: ndarray = None  # type: ignore[assignment]
        self.out = xp.empty(n_shape, dtype=dtype)
        self.gx = xp.empty(n_shape, dtype=dtype) if needs_gx else None

    def forward(self) -> None:
        xp.copyto(self.out, self.op.forward(self.x))

    def backward(self) -> None:
        xp.copyto(self.gx, self.op.backward(self.g)[0])


class PReLUKernel(OpKernel):
    """``out = x if x > 0 else w x``; ``gx``, and ``gw`` summed per slope (ops.PReLU, run as is)."""

    def __init__(
        self, op: Any, module: Any, n_shape: tuple[int, ...], dtype: Any, needs_gx: bool
    ) -> None:
        super().__init__(op, n_shape, dtype, needs_gx)
        op.needs = (needs_gx, True)
        self.w = module.weight.array
        self.gw = xp.empty_like(self.w)
        self.gb = None

    def forward(self) -> None:
        xp.copyto(self.out, self.op.forward(self.x, self.w))

    def backward(self) -> None:
        gx, gw = self.op.backward(self.g)
        if self.gx is not None:
            xp.copyto(self.gx, gx)
        xp.copyto(self.gw, gw)


class CrossEntropyOpKernel:
    """Cross-entropy with class weights, label smoothing or an ``ignore_index``: ops.CrossEntropy.

    The eager op (configured as :func:`retrograd.nn.functional.cross_entropy`
    configures it) runs forward, then backward from the seed ``dL/dL = 1``, each
    step; its gradient is copied into ``gx``. Without weights and smoothing,
    eager takes the fused :class:`~retrograd.ops.SoftmaxCrossEntropy` for every
    batch in which no target equals ``ignore_index``, and so does this kernel
    (``fused``, a :class:`CrossEntropyKernel` writing the same ``gx``):
    :meth:`valid`, called on each batch before the forward, finds out which.
    """

    def __init__(self, op: Any, n: int, c: int, dtype: Any, fused: CrossEntropyKernel | None):
        self.op, self.c, self.fused = op, c, fused
        op.needs = (True,)
        self.ignore_index = int(op.ignore_index)
        self.x: ndarray = None  # type: ignore[assignment]
        self.target: ndarray = None  # type: ignore[assignment]
        self.gx = fused.gx if fused is not None else xp.empty((n, c), dtype=dtype)
        self.seed = xp.ones((), dtype=dtype)
        self.ignored = True  # some target of this batch equals ignore_index (set by valid)
        self.loss: Any = None

    def forward(self) -> None:
        fused = self.fused
        if fused is not None and not self.ignored:
            fused.x, fused.target = self.x, self.target
            fused.forward()
            self.loss = fused.loss
            return
        op = self.op
        op.target = self.target.astype(xp.int64, copy=False)  # as eager's _class_indices
        self.loss = op.forward(self.x)
        xp.copyto(self.gx, op.backward(self.seed)[0])

    def backward(self) -> None:
        """Nothing left: the forward formed the gradient."""

    def valid(self, target: ndarray) -> bool:
        """Whether every target is a class in [0, C) or ``ignore_index`` (else eager raises).

        Also decides, as eager's ``_class_indices`` does, whether one of them is ignored.
        """
        c, ignore = self.c, self.ignore_index
        if target.min() >= 0 and target.max() < c:
            self.ignored = 0 <= ignore < c and bool((target == ignore).any())
            return True
        # NOTE: an ignore_index outside [0, C) has no fused kernel to choose
        return not ((target != ignore) & ((target < 0) | (target >= c))).any()


class RegressionKernel:
    """An elementwise loss (ops.AbsoluteError, ops.Huber, ops.SmoothL1) and its ops.Mean or ops.Sum.

    Both are the nodes one eager call of the loss recorded, run again each step:
    forward, then the reduction's backward from the seed ``dL/dL = 1`` and the
    elementwise op's backward; the gradient is copied into ``gx``.
    """

    def __init__(self, op: Any, reduce: Any, shape: tuple[int, ...], dtype: Any) -> None:
        self.op, self.reduce = op, reduce
        op.needs = (True, False)  # the target needs no gradient
        self.x: ndarray = None  # type: ignore[assignment]
        self.target: ndarray = None  # type: ignore[assignment]
        self.gx = xp.empty(shape, dtype=dtype)
        self.seed = xp.ones((), dtype=dtype)
        self.loss: Any = None

    def forward(self) -> None:
        self.loss = self.reduce.forward(self.op.forward(self.x, self.target))
        (g,) = self.reduce.backward(self.seed)
        xp.copyto(self.gx, self.op.backward(g)[0])

    def backward(self) -> None:
        """Nothing left: the forward formed the gradient."""

    def valid(self, target: ndarray) -> bool:
        """Every target of the right shape and dtype is valid."""
        return True
