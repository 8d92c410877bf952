"""The replayed kernels of convolutional networks: convolutions, pools, reshapes.

As :mod:`retrograd.capture.kernels`: one class per layer, built once for one
batch size over preallocated arrays, wired by the plan (``x`` the input,
``g`` the incoming gradient). The arithmetic is not restated here: each
kernel calls the same functions of :mod:`retrograd.ops.conv` and
:mod:`retrograd.ops.pool` that the eager op calls, over arrays kept from step
to step (the padded input, the products, the gradient buffers) instead of
fresh ones, so replay equals eager bit for bit. The layer's parameters
(stride, padding as ((top, bottom), (left, right)), dilation, groups, output
size) are read from the op node that one eager forward of the layer records
(:func:`retrograd.capture._recorded`): functional's own conversion of the
module's arguments, not a copy of it.

1-D layers run as 2-D ones over a height of 1, as eagerly: their arrays are
viewed with a height axis once, at capture.
"""

from __future__ import annotations

from typing import Any

from .._backend import ndarray, xp
from ..ops import conv as C
from ..ops import pool as P


class ConvKernel:
    """``out = W * x + b`` over windows; ``gW``, ``gx`` (added back by offsets), ``gb`` (ops.Conv).

    Forward copies the input into a padded buffer kept from step to step (its
    padding stays zero) and runs :func:`~retrograd.ops.conv.conv_forward`;
    backward runs :meth:`~retrograd.ops.conv.Geometry.widen`,
    :func:`~retrograd.ops.conv.conv_weight_grad` and
    :func:`~retrograd.ops.conv._scatter` into kept buffers, and sums ``g``
    for the bias's gradient, as :class:`~retrograd.ops.conv.Conv` does.
    """

    def __init__(
        self, op: Any, module: Any, n: int, in_shape: tuple[int, ...], dtype: Any, needs_gx: bool
    ) -> None:
        self.one_d = len(in_shape) == 2
        self.w = C._as_2d(module.weight.array)  # a view: the parameter's array is kept
        self.b = module.bias.array if module.bias is not None else None
        o, cg, kh, kw = self.w.shape
        self.groups = groups = op.groups
        c, *spatial = in_shape
        h, w = (1, spatial[0]) if self.one_d else spatial
        self.geo = geo = C.Geometry((n, c, h, w), (kh, kw), op.stride, op.padding, op.dilation)
        self.x: ndarray = None  # type: ignore[assignment]  # wired by the plan
        self.g: ndarray = None  # type: ignore[assignment]
        self.buf = xp.zeros(geo.buf_shape, dtype=dtype)  # the padding and spare rows stay zero
        self.inside = self._squeeze(geo.crop(self.buf))
        l_ = geo.oh * geo.wq
        self.products = xp.empty((n, groups, o // groups, l_), dtype=dtype)
        # conv_forward's result: the products without the thrown-away columns
        out = self.products.reshape(n, o, geo.oh, geo.wq)[:, :, :, : geo.ow]
        self.out = self._squeeze(out)
        self.gw = xp.empty_like(module.weight.array)
        self.gb = xp.empty_like(self.b) if self.b is not None else None
        self.gg_shape = (n, groups, o // groups, l_)
        # the gradient's thrown-away columns, zero (when Wq > OW)
        self.wide = xp.zeros((n, o, geo.oh, geo.wq), dtype=dtype) if geo.wq != geo.ow else None
        self.gx: ndarray | None = None
        if needs_gx:
            self.wt = xp.empty((groups, kh * kw * cg, o // groups), dtype=dtype)
            self.targets = geo.scatter_targets(groups, dtype)
            self.gx = self._squeeze(geo.crop(self.targets[1]))

    def _squeeze(self, a: ndarray) -> ndarray:
        return a[:, :, 0] if self.one_d else a

    def forward(self) -> None:
        xp.copyto(self.inside, self.x)
        C.conv_forward(self.geo, self.buf, self.w, self.groups, self.b, self.products)

    def backward(self) -> None:
        geo, groups = self.geo, self.groups
        g4 = C._as_2d(self.g)
        gg = geo.widen(g4, self.wide).reshape(self.gg_shape)
        C.conv_weight_grad(geo, self.buf, gg, groups, self.gw.reshape(groups, gg.shape[2], -1))
        if self.gx is not None:
            C._scatter(geo, C._offset_major(self.w, groups, self.wt), gg, self.targets)
        if self.gb is not None:
            g4.sum(axis=(0, 2, 3), out=self.gb)


class _PoolKernel:
    """What the pool kernels share: the padded input (a kept buffer, its border
    ``fill``) and the input gradient's zero buffer; 1-D pools as 2-D ones."""

    def __init__(
        self, op: Any, n: int, in_shape: tuple[int, ...], dtype: Any, needs_gx: bool, fill: float
    ) -> None:
        self.one_d = len(in_shape) == 2
        c, *spatial = in_shape
        h, w = (1, spatial[0]) if self.one_d else spatial
        self.out_shape = (n, c, *op.out_size)
        (t, b), (left, r) = op.padding
        pad_shape = (n, c, h + t + b, w + left + r)
        inside = (slice(None), slice(None), slice(t, t + h), slice(left, left + w))
        self.x: ndarray = None  # type: ignore[assignment]  # wired by the plan
        self.g: ndarray = None  # type: ignore[assignment]
        self.xpad: ndarray | None = None  # None: the windows read the input itself
        if pad_shape[2:] != (h, w):
            self.xpad = xp.full(pad_shape, fill, dtype=dtype)
            self.inside = self._squeeze(self.xpad[inside])
        self.gxpad = xp.zeros(pad_shape, dtype=dtype) if needs_gx else None
        self.gx = self._squeeze(self.gxpad[inside]) if self.gxpad is not None else None

    def _squeeze(self, a: ndarray) -> ndarray:
        return a[:, :, 0] if self.one_d else a

    def _padded(self) -> ndarray:
        """The input as the windows read it: copied into the padded buffer, or itself (4-D)."""
        if self.xpad is None:
            return C._as_2d(self.x)
        xp.copyto(self.inside, self.x)
        return self.xpad


class MaxPoolKernel(_PoolKernel):
    """Maximum over each window; the gradient goes to its first maximum (ops.MaxPool).

    Runs :func:`~retrograd.ops.pool.max_pool_forward` and
    :func:`~retrograd.ops.pool.max_pool_backward` over kept arrays. A padded
    input is copied into a buffer whose border stays ``-inf``; the windows'
    strided view is made again only when the array they read changes (the
    batch, for an unpadded first layer).
    """

    def __init__(
        self, op: Any, n: int, in_shape: tuple[int, ...], dtype: Any, needs_gx: bool
    ) -> None:
        super().__init__(op, n, in_shape, dtype, needs_gx, -xp.inf)
        self.kernel, self.stride, self.dilation = op.kernel, op.stride, op.dilation
        shape = self.out_shape
        self.best = xp.empty(shape, dtype=dtype)
        self.arg = xp.empty(shape, dtype=P.arg_dtype(self.kernel))
        self.before = xp.empty(shape, dtype=bool)
        self.differs = xp.empty(shape, dtype=bool)
        self.out = self._squeeze(self.best)
        self._src: ndarray | None = None  # the array the windows below view
        self._v: ndarray | None = None
        self.mask = xp.empty(shape, dtype=bool)
        self.tiles = P.pool_tiles(self.kernel, self.stride, self.dilation)
        self.tmp = None if self.tiles else xp.empty(shape, dtype=dtype)

    def forward(self) -> None:
        src = self._padded()
        if src is not self._src:
            self._src = src
            oh, ow = self.out_shape[2:]
            self._v = C.windows(src, self.kernel, self.stride, self.dilation)[:, :, :oh, :ow]
        P.max_pool_forward(self._v, self.best, self.arg, self.before, self.differs)

    def backward(self) -> None:
        if self.gxpad is None:
            return
        if not self.tiles:  # overlapping windows add into it
            self.gxpad.fill(0)
        P.max_pool_backward(
            C._as_2d(self.g),
            self.arg,
            self.gxpad,
            self.kernel,
            self.stride,
            self.dilation,
            self.mask,
            self.tmp,
        )


class AvgPoolKernel(_PoolKernel):
    """Mean over each window: ``out = sum(window) / divisor``; ``gx += g / divisor`` (ops.AvgPool).

    Runs :func:`~retrograd.ops.pool.avg_pool_forward` and
    :func:`~retrograd.ops.pool.avg_pool_backward` over kept arrays; a padded
    input is copied into a buffer whose border stays zero.
    """

    def __init__(
        self, op: Any, n: int, in_shape: tuple[int, ...], dtype: Any, needs_gx: bool
    ) -> None:
        super().__init__(op, n, in_shape, dtype, needs_gx, 0.0)
        self.slices = P._offset_slices(op.kernel, op.stride, (1, 1), *op.out_size)
        self.divisor = op.divisor.astype(dtype)
        self.total = xp.empty(self.out_shape, dtype=dtype)
        self.out = self._squeeze(self.total)
        self.gs = xp.empty(self.out_shape, dtype=dtype) if needs_gx else None

    def forward(self) -> None:
        P.avg_pool_forward(self._padded(), self.slices, self.divisor, self.total)

    def backward(self) -> None:
        if self.gxpad is None:
            return
        self.gxpad.fill(0)  # the windows add into it
        P.avg_pool_backward(C._as_2d(self.g), self.slices, self.divisor, self.gs, self.gxpad)


class ReshapeKernel:
    """``out = x.reshape(shape)`` (Flatten, Unflatten); ``gx = g.reshape(x.shape)`` (ops.Reshape).

    Wired as views of its neighbours' arrays, so it does nothing per step, as
    eager's reshape of a contiguous array copies nothing; where a view is
    impossible (a strided input or gradient) it copies, as eager's reshape then does.
    """

    def __init__(
        self, in_shape: tuple[int, ...], out_shape: tuple[int, ...], dtype: Any, needs_gx: bool
    ) -> None:
        self.in_shape, self.shape, self.dtype = in_shape, out_shape, dtype
        self.needs_gx = needs_gx
        self.x: ndarray = None  # type: ignore[assignment]
        self.g: ndarray = None  # type: ignore[assignment]
        self.out: ndarray = None  # type: ignore[assignment]
        self.gx: ndarray | None = None
        self._copy_x: ndarray | None = None  # ``out`` viewed as ``x`` when it is a copy
        self._copy_g: ndarray | None = None  # ``gx`` viewed as ``g`` when it is a copy

    def link_input(self, x: ndarray) -> None:
        """Take ``x`` as the input: ``out`` is its view, or an array copied into each step."""
        self.x = x
        self.out, self._copy_x = self._reshaped(x, self.shape)

    def link_grad(self, g: ndarray) -> None:
        """Take ``g`` as the incoming gradient: ``gx`` is its view, or a copy made each step."""
        self.g = g
        self.gx, self._copy_g = self._reshaped(g, self.in_shape)

    def _reshaped(self, a: ndarray, shape: tuple[int, ...]) -> tuple[ndarray, ndarray | None]:
        """``a`` viewed as ``shape``; else an array of its own, and that array viewed as ``a``."""
        try:
            return xp.reshape(a, shape, copy=False), None
        except ValueError:
            own = xp.empty(shape, dtype=self.dtype)
            return own, own.reshape(a.shape)

    def forward(self) -> None:
        if self._copy_x is not None:
            xp.copyto(self._copy_x, self.x)

    def backward(self) -> None:
        if self._copy_g is not None:
            xp.copyto(self._copy_g, self.g)
