"""Pooling: max and average over windows, and their adaptive forms.

Like the convolutions (:mod:`.conv`), the windows are a strided view of the
padded input (no copy) and both directions loop over the kernel's kh*kw
offsets, one vectorised operation on a strided slice each: a running maximum
(keeping the offset of the first maximum, PyTorch's choice at ties) or a running
sum forward, and the matching adds into the input's gradient backward. 1-D
pools run as 2-D ones over a height of 1.
"""

from __future__ import annotations

from typing import Any

from .._backend import ndarray, xp
from ..autograd import Op
from ..autograd import higher as hg
from .conv import Pair, _as_2d, _pad, windows


def _offset_slices(
    kernel: Pair, stride: Pair, dilation: Pair, oh: int, ow: int
) -> list[tuple[int, int, tuple[slice, slice]]]:
    """``(i, j, (rows, cols))`` per kernel offset: where its elements sit in the padded input."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    out = []
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            out.append((i, j, (rows, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))))
    return out


def arg_dtype(kernel: Pair) -> Any:
    """The integer type of a max pool's chosen offsets: int8 while they fit."""
    return xp.int8 if kernel[0] * kernel[1] < 2**7 else xp.int32


def max_pool_forward(
    v: ndarray, best: ndarray, arg: ndarray, before: ndarray, differs: ndarray
) -> None:
    """``best`` = the maximum of each window of ``v`` (n, C, OH, OW, kh, kw); ``arg`` its offset.

    ``arg`` (of :func:`arg_dtype`) is the offset of the window's first maximum;
    ``before`` and ``differs`` are boolean scratch of ``best``'s shape. Eager
    (:class:`MaxPool`) and replay (:mod:`retrograd.capture`) both run this.
    """
    kh, kw = v.shape[4:]
    xp.copyto(best, v[:, :, :, :, 0, 0])
    for o in range(1, kh * kw):
        xp.maximum(best, v[:, :, :, :, o // kw, o % kw], out=best)
    # The offset of the first maximum (PyTorch's choice at ties, such as windows of
    # zeros after a ReLU) is the number of leading offsets that hold no maximum.
    # NOTE: these comparisons and adds are 3x faster than a where() per offset.
    arg.fill(0)
    before.fill(True)  # no maximum among the offsets so far
    int8 = arg.dtype == xp.int8
    for o in range(kh * kw - 1):
        xp.not_equal(v[:, :, :, :, o // kw, o % kw], best, out=differs)
        before &= differs
        arg += before.view(xp.int8) if int8 else before


def pool_tiles(kernel: Pair, stride: Pair, dilation: Pair) -> bool:
    """Whether the windows do not overlap (stride >= span, the usual 2x2/2)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    return sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1


def max_pool_backward(
    g: ndarray,
    arg: ndarray,
    gxpad: ndarray,
    kernel: Pair,
    stride: Pair,
    dilation: Pair,
    mask: ndarray | None = None,
    tmp: ndarray | None = None,
) -> None:
    """Add ``g`` (N, C, OH, OW) into the zero ``gxpad`` at each window's first maximum.

    ``mask`` (bool) and ``tmp`` (of ``g``'s dtype; used when windows overlap)
    are scratch of ``g``'s shape, made here when not given. Windows that do not
    overlap (:func:`pool_tiles`) write each element once, always the same ones:
    a reused ``gxpad`` needs no zeroing again.
    """
    oh, ow = arg.shape[2:]
    tiles = pool_tiles(kernel, stride, dilation)
    if mask is None:
        mask = xp.empty(arg.shape, dtype=bool)
    if tmp is None and not tiles:
        tmp = xp.empty(g.shape, dtype=g.dtype)
    for o, (_, _, (rows, cols)) in enumerate(_offset_slices(kernel, stride, dilation, oh, ow)):
        xp.equal(arg, o, out=mask)
        # NOTE: g times the mask, 4x faster than where(); an infinite g would leave
        # NaN, not 0, beside its window's maximum.
        if tiles:
            xp.multiply(g, mask, out=gxpad[:, :, rows, cols])
        else:
            xp.multiply(g, mask, out=tmp)
            gxpad[:, :, rows, cols] += tmp


class PoolMap(Op):
    """A pool's linear map with its windows (and chosen maxima) fixed: ``S x``, or ``S^T x``.

    A pool's gradient ``dx = S^T g`` is linear in ``g``; recorded under
    ``create_graph=True`` as this op, its own gradient is ``S gg``, and so on to
    any order (``transposed`` flips at each one).
    """

    pool: Any
    transposed: bool

    def forward(self, x: ndarray) -> ndarray:
        return self.pool.backward(x)[0] if self.transposed else self.pool.linear(x)

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        return (self.pool.linear(g) if self.transposed else self.pool.backward(g)[0],)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return (hg.call(PoolMap, g, pool=self.pool, transposed=not self.transposed),)


def _pool_backward_graph(pool: Op, g: Any) -> tuple[Any, ...]:
    """A pool's recorded gradient: ``S^T g`` as a :class:`PoolMap` (constant windows)."""
    return (hg.call(PoolMap, g, pool=pool, transposed=True),)


def _gather(x: ndarray, flat: ndarray, one_d: bool) -> ndarray:
    """``x`` (N, C, H, W) read at flat per-plane indices (N, C, OH, OW)."""
    x4 = _as_2d(x)
    n, c = x4.shape[:2]
    out = xp.take_along_axis(x4.reshape(n, c, -1), flat.reshape(n, c, -1), axis=2)
    out = out.reshape(flat.shape)
    return out[:, :, 0] if one_d else out


class MaxPool(Op):
    """Maximum over each window; the gradient goes to the first maximum of the window.

    ``padding`` is ((top, bottom), (left, right)), the bottom/right including
    what ``ceil_mode`` adds; ``out_size`` the (OH, OW) to produce. When
    ``sink`` is a list, the flat indices into each input plane (PyTorch's
    ``return_indices``) are appended to it.
    """

    kernel: Pair
    stride: Pair
    padding: tuple[Pair, Pair]
    dilation: Pair
    out_size: Pair
    sink: list[ndarray] | None

    def forward(self, x: ndarray) -> ndarray:
        one_d = x.ndim == 3
        x = _as_2d(x)
        oh, ow = self.out_size
        xpad = _pad(x, self.padding, -xp.inf)
        v = windows(xpad, self.kernel, self.stride, self.dilation)[:, :, :oh, :ow]
        best = xp.empty(v.shape[:4], dtype=x.dtype)
        arg = xp.empty(best.shape, dtype=arg_dtype(self.kernel))
        max_pool_forward(v, best, arg, xp.empty(best.shape, bool), xp.empty(best.shape, bool))
        self.arg, self.in_shape, self.pad_shape, self.one_d = arg, x.shape, xpad.shape, one_d
        if self.sink is not None:
            self.sink.append(self._indices(x.shape, arg))
        return best[:, :, 0] if one_d else best

    def _indices(self, shape: tuple[int, ...], arg: ndarray) -> ndarray:
        (_, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        (t, _), (left, _) = self.padding
        oh, ow = arg.shape[2:]
        arg = arg.astype(xp.int64)
        rows = (xp.arange(oh) * sh - t)[:, None] + (arg // kw) * dh
        cols = (xp.arange(ow) * sw - left)[None, :] + (arg % kw) * dw
        idx = rows.astype(xp.int64) * shape[3] + cols
        return idx[:, :, 0] if self.one_d else idx

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        g4 = _as_2d(g)
        arg = self.arg
        gxpad = xp.zeros(self.pad_shape, dtype=g.dtype)
        max_pool_backward(g4, arg, gxpad, self.kernel, self.stride, self.dilation)
        (t, _), (left, _) = self.padding
        _, _, h, w = self.in_shape
        gx = gxpad[:, :, t : t + h, left : left + w]
        return (gx[:, :, 0] if self.one_d else gx,)

    def linear(self, x: ndarray) -> ndarray:
        """``x`` read at each window's chosen maximum (the map forward applied to the input)."""
        one_d, self.one_d = self.one_d, False
        flat = self._indices(self.in_shape, self.arg)
        self.one_d = one_d
        return _gather(x, flat, one_d)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return _pool_backward_graph(self, g)


def avg_divisor(
    size: int, out: int, kernel: int, stride: int, pad: int, include_pad: bool
) -> ndarray:
    """Per output position along one axis: how many elements its window averages (PyTorch's rule).

    A window may reach past the input into the padding (counted with
    ``count_include_pad``), never past the padding (``ceil_mode``'s extra windows).
    """
    start = xp.arange(out) * stride - pad
    end = xp.minimum(start + kernel, size + pad)
    if not include_pad:
        start, end = xp.maximum(start, 0), xp.minimum(end, size)
    return end - start


def avg_pool_forward(xpad: ndarray, slices: list[Any], divisor: ndarray, total: ndarray) -> None:
    """``total`` = each window's sum over the padded input ``xpad``, divided by ``divisor``.

    ``slices`` are :func:`_offset_slices` of the pool. Eager (:class:`AvgPool`)
    and replay (:mod:`retrograd.capture`) both run this.
    """
    xp.copyto(total, xpad[:, :, slices[0][2][0], slices[0][2][1]])
    for _, _, (rows, cols) in slices[1:]:
        total += xpad[:, :, rows, cols]
    total /= divisor


def avg_pool_backward(
    g: ndarray, slices: list[Any], divisor: ndarray, gs: ndarray, gxpad: ndarray
) -> None:
    """Add ``g / divisor`` (made in ``gs``) into the zero ``gxpad`` under every window."""
    xp.divide(g, divisor, out=gs)
    for _, _, (rows, cols) in slices:
        gxpad[:, :, rows, cols] += gs


class AvgPool(Op):
    """Mean over each window: ``y = sum(window) / divisor``, ``dx += g / divisor`` per offset.

    ``divisor`` is the (OH, OW) array of element counts (see :func:`avg_divisor`).
    """

    kernel: Pair
    stride: Pair
    padding: tuple[Pair, Pair]
    out_size: Pair
    divisor: ndarray

    def forward(self, x: ndarray) -> ndarray:
        one_d = x.ndim == 3
        x = _as_2d(x)
        oh, ow = self.out_size
        xpad = _pad(x, self.padding)
        slices = _offset_slices(self.kernel, self.stride, (1, 1), oh, ow)
        total = xp.empty((*x.shape[:2], oh, ow), dtype=x.dtype)
        avg_pool_forward(xpad, slices, self.divisor.astype(x.dtype), total)
        self.in_shape, self.pad_shape, self.one_d = x.shape, xpad.shape, one_d
        return total[:, :, 0] if one_d else total

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        g4 = _as_2d(g)
        gs = xp.empty(g4.shape, dtype=g.dtype)
        gxpad = xp.zeros(self.pad_shape, dtype=g.dtype)
        slices = _offset_slices(self.kernel, self.stride, (1, 1), *g4.shape[2:])
        avg_pool_backward(g4, slices, self.divisor.astype(g.dtype), gs, gxpad)
        (t, _), (left, _) = self.padding
        _, _, h, w = self.in_shape
        gx = gxpad[:, :, t : t + h, left : left + w]
        return (gx[:, :, 0] if self.one_d else gx,)

    def linear(self, x: ndarray) -> ndarray:
        """The average pool itself (it is linear)."""
        fresh = AvgPool()
        fresh.__dict__.update(
            kernel=self.kernel,
            stride=self.stride,
            padding=self.padding,
            out_size=self.out_size,
            divisor=self.divisor,
        )
        return fresh.forward(x)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return _pool_backward_graph(self, g)


def adaptive_bounds(size: int, out: int) -> tuple[ndarray, ndarray]:
    """PyTorch's adaptive windows along one axis: ``[floor(i*size/out), ceil((i+1)*size/out))``."""
    i = xp.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _averaging(size: int, out: int, dtype: Any) -> ndarray:
    """The (out, size) matrix whose row i averages adaptive window i."""
    start, end = adaptive_bounds(size, out)
    pos = xp.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool(Op):
    """Adaptive average as two matrix products: ``y = Ph @ x @ Pw^T``, ``dx = Ph^T @ g @ Pw``."""

    out_size: Pair

    def forward(self, x: ndarray) -> ndarray:
        one_d = x.ndim == 3
        x = _as_2d(x)
        ph = _averaging(x.shape[2], self.out_size[0], x.dtype)
        pw = _averaging(x.shape[3], self.out_size[1], x.dtype)
        self.ph, self.pw, self.one_d = ph, pw, one_d
        out = xp.matmul(xp.matmul(ph, x), pw.T)
        return out[:, :, 0] if one_d else out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        gx = xp.matmul(xp.matmul(self.ph.T, _as_2d(g)), self.pw)
        return (gx[:, :, 0] if self.one_d else gx,)

    def linear(self, x: ndarray) -> ndarray:
        """The adaptive average itself (it is linear)."""
        out = xp.matmul(xp.matmul(self.ph, _as_2d(x)), self.pw.T)
        return out[:, :, 0] if self.one_d else out

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return _pool_backward_graph(self, g)


class AdaptiveMaxPool(Op):
    """Adaptive maximum: one pass per output position (windows differ in size).

    The gradient goes to each window's first maximum; one output position
    sends at most one gradient per plane, so each pass is a plain indexed add.
    """

    out_size: Pair
    sink: list[ndarray] | None

    def forward(self, x: ndarray) -> ndarray:
        one_d = x.ndim == 3
        x = _as_2d(x)
        n, c, h, w = x.shape
        oh, ow = self.out_size
        hs, he = adaptive_bounds(h, oh)
        ws, we = adaptive_bounds(w, ow)
        out = xp.empty((n, c, oh, ow), dtype=x.dtype)
        idx = xp.empty((n, c, oh, ow), dtype=xp.int64)
        for i in range(oh):
            for j in range(ow):
                win = x[:, :, hs[i] : he[i], ws[j] : we[j]].reshape(n, c, -1)
                a = win.argmax(axis=2)
                out[:, :, i, j] = xp.take_along_axis(win, a[:, :, None], axis=2)[:, :, 0]
                width = we[j] - ws[j]
                idx[:, :, i, j] = (hs[i] + a // width) * w + ws[j] + a % width
        self.idx, self.in_shape, self.one_d = idx, x.shape, one_d
        if self.sink is not None:
            self.sink.append(idx[:, :, 0] if one_d else idx)
        return out[:, :, 0] if one_d else out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        g4 = _as_2d(g)
        n, c, h, w = self.in_shape
        gx = xp.zeros((n * c, h * w), dtype=g.dtype)
        idx = self.idx.reshape(n * c, -1)
        rows = xp.arange(n * c)
        g2 = g4.reshape(n * c, -1)
        for p in range(idx.shape[1]):
            gx[rows, idx[:, p]] += g2[:, p]  # one index per row: no repeats within a pass
        gx = gx.reshape(self.in_shape)
        return (gx[:, :, 0] if self.one_d else gx,)

    def linear(self, x: ndarray) -> ndarray:
        """``x`` read at each window's chosen maximum."""
        return _gather(x, self.idx, self.one_d)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        return _pool_backward_graph(self, g)
