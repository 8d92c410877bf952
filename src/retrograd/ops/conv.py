"""Convolutions: ``Conv`` (1-D and 2-D; stride, padding, dilation, groups) and ``ConvTranspose``.

Layout (chosen by measurement, see docs/nn.md): channels-first throughout, as
the tensors arrive (N, C, H, W). The windows of the padded input are a strided
view (:class:`Geometry`, no copy); one copy of them, ``cols`` of shape
(n, groups, C/groups*kh*kw, OH*OW), feeds one batched matrix product with the
weight for the output and one for each gradient. The input gradient is the
``cols`` gradient added back into the input by a loop over the kernel's kh*kw
offsets, each one vectorised add into a view of the input's gradient (for
stride 1, one long run per group: :meth:`Geometry.scatter_targets`).

Scratch memory is bounded: the batch is processed in chunks whose ``cols``
hold at most :data:`SCRATCH_BYTES` (or one sample's, when that is larger), in
two buffers per thread reused by every call (:func:`scratch`). The bound is
sized for the cache: a chunk's windows are copied and multiplied (and their
gradient made and added back) while they are still in the L2 cache. Backward
copies the windows again rather than keeping them: it saves only the padded
input.

1-D convolutions run as 2-D ones over a height of 1: 3-D arrays are viewed as
4-D on the way in and the results viewed back.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from .. import threads
from .._backend import ndarray, xp
from ..autograd import Op
from ..autograd import higher as hg
from .shape import IndexBackward

#: Upper bound on the bytes of one chunk's ``cols`` (and of its gradient). 1 MiB
#: chunks fit a 2 MiB L2 cache: LeNet-5's convolutions ran forward in 0.77 and
#: 0.86 ms instead of 0.90 and 1.03 with 32 MiB chunks (the whole batch).
SCRATCH_BYTES = 1 << 20

Pair = tuple[int, int]


def _pad(x: ndarray, pads: tuple[Pair, Pair], value: float = 0.0) -> ndarray:
    """``x`` (N, C, H, W) with ``value`` around H and W: ((top, bottom), (left, right))."""
    (t, b), (left, r) = pads
    if t == b == left == r == 0:
        return x
    n, c, h, w = x.shape
    out = xp.full((n, c, h + t + b, w + left + r), value, dtype=x.dtype)
    out[:, :, t : t + h, left : left + w] = x
    return out


def windows(xp_: ndarray, kernel: Pair, stride: Pair, dilation: Pair) -> ndarray:
    """The (N, C, OH, OW, kh, kw) view of every window of ``xp_``; no copy."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    v = xp.lib.stride_tricks.sliding_window_view(xp_, span, axis=(2, 3))
    return v[:, :, ::sh, ::sw, ::dh, ::dw]


class Geometry:
    """Where every window element of a convolution sits in a padded buffer.

    The buffer is the input with its zero padding, plus spare zero rows at the
    bottom; :meth:`view` is the (N, C, kh, kw, OH, Wq) strided view of it (no
    copy) that holds, for each kernel offset, the input element under every
    output position. Usually ``Wq = OW``. For stride 1 (when the padded width
    ``Wp`` is at most 1.5 ``OW``) ``Wq = Wp``: each output row is computed
    over the whole padded row, its last ``Wp - OW`` columns wrapping into the
    next row and thrown away. That costs ``Wp/OW`` more arithmetic but makes
    every offset's elements one contiguous run per plane, so copying the
    windows and adding their gradients back move long runs instead of rows of
    OW elements (2x faster on LeNet's second layer). The spare rows keep the
    wrapped reads of the last row inside the buffer. ``wide`` says whether
    ``Wq = Wp``; ``rows`` is the padded height without the spare rows.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        kernel: Pair,
        stride: Pair,
        padding: tuple[Pair, Pair],
        dilation: Pair,
        extra: Pair = (0, 0),
    ) -> None:
        n, c, h, w = shape
        (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
        (t, b), (left, r) = padding
        self.shape, self.kernel, self.stride, self.dilation = shape, kernel, stride, dilation
        self.top, self.left = t, left
        hp, wp = h + t + b, w + left + r
        self.oh = (hp - dh * (kh - 1) - 1) // sh + 1
        self.ow = (wp - dw * (kw - 1) - 1) // sw + 1
        # ``extra`` rows and columns at the end belong to the buffer, not to any window.
        self.rows, self.wp = hp + extra[0], wp + extra[1]
        self.wide = sh == sw == 1 and 2 * self.wp <= 3 * self.ow
        self.wq = self.wp if self.wide else self.ow
        spare = -(-(dw * (kw - 1)) // self.wp) if self.wide else 0
        self.buf_shape = (n, c, self.rows + spare, self.wp)

    def pad(self, x: ndarray) -> ndarray:
        """A fresh buffer: ``x`` inside its padding and spare rows, zeros around."""
        buf = xp.zeros(self.buf_shape, dtype=x.dtype)
        xp.copyto(self.crop(buf), x)
        return buf

    def crop(self, buf: ndarray) -> ndarray:
        """The input's part of a buffer (a view)."""
        _, _, h, w = self.shape
        return buf[:, :, self.top : self.top + h, self.left : self.left + w]

    def view(self, buf: ndarray) -> ndarray:
        """The (n, C, kh, kw, OH, Wq) windows of ``buf`` (any leading batch slice); no copy."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        s0, s1, row, col = buf.strides
        return xp.lib.stride_tricks.as_strided(
            buf,
            (buf.shape[0], buf.shape[1], kh, kw, self.oh, self.wq),
            (s0, s1, dh * row, dw * col, sh * row, sw * col),
            writeable=False,
        )

    def widen(self, g: ndarray, out: ndarray | None = None) -> ndarray:
        """``g`` (n, O, OH, OW) as (n, O, OH*Wq), zeros in the thrown-away columns.

        ``out`` is a (n, O, OH, Wq) buffer to reuse, its thrown-away columns zero
        (replay, :mod:`retrograd.capture`); else a fresh one is made when needed.
        """
        n, o = g.shape[:2]
        if self.wq == self.ow:
            return g.reshape(n, o, -1)
        if out is None:
            out = xp.zeros((n, o, self.oh, self.wq), dtype=g.dtype)
        xp.copyto(out[:, :, :, : self.ow], g)
        return out.reshape(n, o, -1)

    def scatter_targets(self, groups: int, dtype: Any) -> tuple[ndarray, ndarray, list[ndarray]]:
        """A zero buffer for the input's gradient, and per kernel offset its writeable view.

        Returned as ``(whole, buf, targets)``: ``whole`` is all the memory the
        targets reach (to zero again before a reuse), ``buf`` the buffer's
        (N, C, rows, Wp) view of it.

        Each view is (N, G, C/G, P) (wide; P = ``rows * Wp``) or (N, G, C/G, OH,
        Wq), laid over the buffer where that offset's elements of the windows
        sit. When wide, one offset's elements of all C/G planes of a group are
        one run of C/G*P: the planes follow one another, so an offset shifts
        them all by the same ``i*dh*Wp + j*dw``. The zeros that :func:`_scatter`
        puts past each plane's outputs then land in the next plane or in the
        tail that the buffer has past its end for the last plane.
        """
        n, c = self.shape[:2]
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        offsets = [(i * dh, j * dw) for i in range(kh) for j in range(kw)]
        if self.wide:
            size = n * c * self.rows * self.wp
            flat = xp.zeros(size + (kh - 1) * dh * self.wp + (kw - 1) * dw, dtype=dtype)
            shape = (n, groups, c // groups, self.rows * self.wp)
            targets = [
                flat[i * self.wp + j : i * self.wp + j + size].reshape(shape) for i, j in offsets
            ]
            return flat, flat[:size].reshape(n, c, self.rows, self.wp), targets
        buf = xp.zeros(self.buf_shape, dtype=dtype)
        s0, s1, row, col = buf.strides
        (sh, sw), cg = self.stride, c // groups
        shape = (n, groups, cg, self.oh, self.wq)
        strides = (s0, cg * s1, s1, sh * row, sw * col)
        targets = [
            xp.lib.stride_tricks.as_strided(buf[:, :, i:, j:], shape, strides) for i, j in offsets
        ]
        return buf, buf, targets


def _im2col(v: ndarray, groups: int, out: ndarray) -> ndarray:
    """Copy the windows ``v`` (n, C, kh, kw, OH, Wq) into ``out`` as (n, G, C/G*kh*kw, OH*Wq)."""
    xp.copyto(out.reshape(v.shape), v)
    return out


def _offset_major(w: ndarray, groups: int, out: ndarray | None = None) -> ndarray:
    """A weight (G*A, B, kh, kw) as (G, kh*kw*B, A), contiguous: ``W^T``, rows by kernel offset.

    Written into ``out`` (of that shape) when given.
    """
    a, b, kh, kw = w.shape
    w5 = w.reshape(groups, a // groups, b, kh, kw).transpose(0, 3, 4, 2, 1)
    if out is None:
        return xp.ascontiguousarray(w5).reshape(groups, kh * kw * b, a // groups)
    xp.copyto(out.reshape(w5.shape), w5)
    return out


def _scatter(
    geo: Geometry,
    wt: ndarray,
    gg: ndarray,
    into: tuple[ndarray, ndarray, list[ndarray]] | None = None,
) -> ndarray:
    """The windows' gradient ``wt @ gg``, added back into a zero buffer of the input.

    ``wt`` is (G, kh*kw*C/G, O/G) from :func:`_offset_major`, ``gg`` (n, G,
    O/G, OH*Wq) from :meth:`Geometry.widen`. Per chunk of samples, one product
    makes the chunk's windows' gradient (in scratch) and one add per kernel
    offset puts it back (:meth:`Geometry.scatter_targets`). When wide, each
    row of the product is followed by zeros up to a whole plane, P elements.
    ``into`` is a :meth:`Geometry.scatter_targets` to reuse (zeroed here); else
    a fresh one is made.
    """
    n, c = geo.shape[:2]
    groups, k, og = wt.shape
    l_ = gg.shape[-1]
    p = geo.rows * geo.wp if geo.wide else l_
    if into is None:
        _, buf, targets = geo.scatter_targets(groups, gg.dtype)
    else:
        whole, buf, targets = into
        whole.fill(0)
    step = _chunk(n, k * groups * p, gg.itemsize)
    threads.for_work(step * groups * k * og * l_)  # each chunk's product (retrograd.threads)
    gcols = scratch(1, (step, groups, k, p), gg.dtype)
    for n0 in range(0, n, step):
        m = min(step, n - n0)
        gc = gcols[:m]
        # NOTE: the product writes the first OH*Wq of each plane (BLAS takes the row
        # stride) and the rest is zeroed: measured as fast as multiplying a zero-padded
        # copy of g (0.53 against 0.51 ms on LeNet-5's second layer), without the copy.
        _outer_or_matmul(wt, gg[n0 : n0 + m], gc[..., :l_])
        gc[..., l_:] = 0
        per_offset = gc.reshape(m, groups, len(targets), c // groups, *targets[0].shape[3:])
        for o, target in enumerate(targets):
            target[n0 : n0 + m] += per_offset[:, :, o]
    return buf


def conv_forward(
    geo: Geometry, buf: ndarray, w: ndarray, groups: int, bias: ndarray | None, out: ndarray
) -> ndarray:
    """``out = W * windows(buf) + b``: one product per chunk of samples; the (n, O, OH, OW) view.

    ``buf`` is the padded input (:meth:`Geometry.pad`), ``w`` the (O, C/G, kh,
    kw) weight, ``out`` (n, G, O/G, OH*Wq) receives the products; the result is
    its view without the thrown-away columns. Eager (:class:`Conv`) and replay
    (:mod:`retrograd.capture`) both run this.
    """
    n, c = geo.shape[:2]
    o, cg, kh, kw = w.shape
    v = geo.view(buf)
    k, l_ = cg * kh * kw, geo.oh * geo.wq
    wg = w.reshape(groups, o // groups, k)
    step = _chunk(n, c * kh * kw * l_, buf.itemsize)
    threads.for_work(step * o * k * l_)  # each chunk's product (retrograd.threads)
    cols = scratch(0, (step, groups, k, l_), buf.dtype)
    for n0 in range(0, n, step):
        m = min(step, n - n0)
        xp.matmul(wg, _im2col(v[n0 : n0 + m], groups, cols[:m]), out=out[n0 : n0 + m])
    if bias is not None:
        # NOTE: added before the thrown-away columns are cropped: runs of OH*Wq
        # elements instead of rows of OW, 3-5x faster on LeNet-5's layers.
        planes = out.reshape(n, o, l_)
        planes += bias.reshape(1, o, 1)
    return out.reshape(n, o, geo.oh, geo.wq)[:, :, :, : geo.ow]


def conv_weight_grad(geo: Geometry, buf: ndarray, gg: ndarray, groups: int, gw: ndarray) -> None:
    """``gw = sum over samples of g @ cols^T`` into ``gw`` (G, O/G, C/G*kh*kw), per chunk.

    ``gg`` is the output's gradient from :meth:`Geometry.widen` as (n, G, O/G,
    OH*Wq). The windows are copied again (into scratch) rather than kept from
    the forward.
    """
    n, c = geo.shape[:2]
    kh, kw = geo.kernel
    k, l_ = gw.shape[2], geo.oh * geo.wq
    step = _chunk(n, c * kh * kw * l_, buf.itemsize)
    threads.for_work(step * groups * gw.shape[1] * k * l_)  # each chunk's product, as forward's
    cols = scratch(0, (step, groups, k, l_), buf.dtype)
    v = geo.view(buf)
    gw.fill(0)
    for n0 in range(0, n, step):
        m = min(step, n - n0)
        gw += _weight_grad(gg[n0 : n0 + m], _im2col(v[n0 : n0 + m], groups, cols[:m]))


def _weight_grad(g: ndarray, cols: ndarray) -> ndarray:
    """``sum_n g[n] @ cols[n]^T`` (G, O/G, k) for g (n, G, O/G, L) and cols (n, G, k, L).

    NOTE: OpenBLAS runs ``cols @ g^T`` (g^T copied contiguous) up to twice as
    fast as ``g @ cols^T`` when its (k, O/G) result is large in both
    directions, and 1.5-2.5x slower when one of them is small (measured per
    1 MiB chunk: k=150, O/G=16 of LeNet's second layer want the former; k=25,
    O/G=6 of its first, and O/G < 16 or k < 32 generally, the latter).
    """
    if g.shape[2] < 16 or cols.shape[2] < 32:
        return xp.matmul(g, cols.transpose(0, 1, 3, 2)).sum(axis=0)
    gt = xp.ascontiguousarray(g.transpose(0, 1, 3, 2))
    return xp.matmul(cols, gt).sum(axis=0).transpose(0, 2, 1)


_SCRATCH = threading.local()


def scratch(slot: int, shape: tuple[int, ...], dtype: Any) -> ndarray:
    """A reusable array of ``shape`` (uninitialised), one per ``slot`` and thread.

    The windows and their gradient go through these instead of fresh arrays:
    a fresh array of megabytes comes from the operating system as new pages,
    and touching them (page faults) cost LeNet-5 a fifth of its training step.
    Each slot keeps the largest chunk seen, so at most 2 x :data:`SCRATCH_BYTES`
    per thread (more only when one sample's windows are larger).
    """
    nbytes = math.prod(shape) * xp.dtype(dtype).itemsize
    bufs = getattr(_SCRATCH, "bufs", None)
    if bufs is None:
        bufs = _SCRATCH.bufs = {}
    buf = bufs.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = bufs[slot] = xp.empty(nbytes, dtype=xp.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def _outer_or_matmul(a: ndarray, b: ndarray, out: ndarray) -> None:
    """``out = a @ b`` for a (G, k, j) and b (n, G, j, L).

    NOTE: with j = 1 (depthwise convolutions) the product is an outer product,
    which a broadcast multiply does 2.5x faster than BLAS called per (n, G).
    """
    if a.shape[-1] == 1:
        xp.multiply(a, b, out=out)
    else:
        xp.matmul(a, b, out=out)


def _chunk(n: int, per_sample: int, itemsize: int) -> int:
    """Samples per chunk so that a chunk's ``cols`` stay within :data:`SCRATCH_BYTES`."""
    return max(1, min(n, SCRATCH_BYTES // max(1, per_sample * itemsize)))


def _as_2d(a: ndarray) -> ndarray:
    return a[:, :, None] if a.ndim == 3 else a


def _grads(
    fn: Op, gx: ndarray | None, gw: ndarray | None, g4: ndarray
) -> tuple[ndarray | None, ...]:
    """The gradients of a (transposed) convolution in its inputs' shapes, with the bias's."""
    if gw is not None:
        gw = gw.reshape(fn.w.shape)
    if fn.one_d:  # back from the height of 1
        gx = gx[:, :, 0] if gx is not None else None
        gw = gw[:, :, 0] if gw is not None else None
    if not fn.has_bias:
        return gx, gw
    return gx, gw, g4.sum(axis=(0, 2, 3)) if fn.needs[2] else None


class Conv(Op):
    """Cross-correlation ``y = W * x + b`` over windows; gradients by matrix products::

        dW = g @ cols^T,   d cols = W^T @ g (added back into x by offsets),   db = sum(g)

    Parameters (set by ``retrograd.functional``) are those of the 2-D form:
    ``stride`` and ``dilation`` pairs, ``padding`` as ((top, bottom), (left,
    right)), ``groups`` and ``has_bias``.
    """

    stride: Pair
    padding: tuple[Pair, Pair]
    dilation: Pair
    groups: int
    has_bias: bool

    def forward(self, x: ndarray, w: ndarray, *bias: ndarray) -> ndarray:
        one_d = x.ndim == 3
        x, w = _as_2d(x), _as_2d(w)
        o, _, kh, kw = w.shape
        g = self.groups
        geo = Geometry(x.shape, (kh, kw), self.stride, self.padding, self.dilation)
        buf = geo.pad(x)
        out = xp.empty((x.shape[0], g, o // g, geo.oh * geo.wq), dtype=x.dtype)
        out = conv_forward(geo, buf, w, g, bias[0] if bias else None, out)
        self.buf, self.w, self.geo, self.one_d = buf, w, geo, one_d
        return out[:, :, 0] if one_d else out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        needs, w, geo, buf = self.needs, self.w, self.geo, self.buf
        o, cg, kh, kw = w.shape
        groups = self.groups
        g4 = _as_2d(g)
        gg = geo.widen(g4).reshape(geo.shape[0], groups, o // groups, geo.oh * geo.wq)
        gw = None
        if needs[1]:
            gw = xp.empty((groups, o // groups, cg * kh * kw), dtype=w.dtype)
            conv_weight_grad(geo, buf, gg, groups, gw)
        gx = geo.crop(_scatter(geo, _offset_major(w, groups), gg)) if needs[0] else None
        return _grads(self, gx, gw, g4)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        x = self.geo.crop(self.buf)
        w = self.w
        if self.one_d:
            x, w = x[:, :, 0], w[:, :, 0]
        arrays = (x, w, *((xp.zeros(w.shape[0], dtype=w.dtype),) if self.has_bias else ()))
        # NOTE: a bias enters additively, so its value (not saved) does not change a gradient.
        return hg.by_recompute(self, arrays, self.composed, g)

    def composed(self, x: Any, w: Any, *bias: Any) -> Any:
        """The forward in Tensor ops: the windows gathered by one index, then a matmul."""
        geo, groups = self.geo, self.groups
        n, c, h, wd = geo.shape
        o, cg, kh, kw = self.w.shape
        (sh, sw), (dh, dw) = geo.stride, geo.dilation
        rows = (xp.arange(kh) * dh)[:, None, None, None] + (xp.arange(geo.oh) * sh)[:, None]
        cols = (xp.arange(kw) * dw)[:, None, None] + xp.arange(geo.ow) * sw
        rows, cols = rows - geo.top, cols[None] - geo.left  # (kh, 1, OH, 1), (1, kw, 1, OW)
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < wd)
        flat = xp.where(inside, rows * wd + cols, 0).reshape(-1)
        planes = x.reshape(n, c, h * wd)[:, :, flat] * hg.const(inside.reshape(-1), x)
        windows = planes.reshape(n, groups, cg * kh * kw, geo.oh * geo.ow)
        out = (w.reshape(groups, o // groups, cg * kh * kw) @ windows).reshape(n, o, geo.oh, geo.ow)
        if bias:
            out = out + bias[0].reshape(1, o, 1, 1)
        return out.reshape(n, o, geo.ow) if self.one_d else out


class ConvTranspose(Op):
    """The adjoint of :class:`Conv` over its input: ``y = Conv^T(x; W) + b``.

    Forward is Conv's input gradient (``cols = W^T @ x``, added back by
    offsets) into the full output, cropped by ``padding`` ((top, bottom),
    (left, right)); ``output_padding`` adds rows/columns at the end. Backward
    is Conv's forward on ``g`` for ``x`` and Conv's weight gradient for ``W``.
    """

    stride: Pair
    padding: tuple[Pair, Pair]
    output_padding: Pair
    dilation: Pair
    groups: int
    has_bias: bool

    def forward(self, x: ndarray, w: ndarray, *bias: ndarray) -> ndarray:
        one_d = x.ndim == 3
        x, w = _as_2d(x), _as_2d(w)
        n, c, h, wd = x.shape
        _, og, kh, kw = w.shape
        groups = self.groups
        (sh, sw), (dh, dw) = self.stride, self.dilation
        o = og * groups
        full = (n, o, (h - 1) * sh + dh * (kh - 1) + 1, (wd - 1) * sw + dw * (kw - 1) + 1)
        geo = Geometry(
            full, (kh, kw), self.stride, ((0, 0), (0, 0)), self.dilation, self.output_padding
        )
        xg = geo.widen(x).reshape(n, groups, c // groups, -1)
        buf = _scatter(geo, _offset_major(w, groups), xg)
        (t, b), (left, r) = self.padding
        oh, ow = (
            full[2] + self.output_padding[0] - t - b,
            full[3] + self.output_padding[1] - left - r,
        )
        out = buf[:, :, t : t + oh, left : left + ow]
        if bias:
            out = out + bias[0].reshape(1, o, 1, 1)
        self.x, self.w, self.geo, self.one_d = x, w, geo, one_d
        return out[:, :, 0] if one_d else out

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        needs, x, w, geo = self.needs, self.x, self.w, self.geo
        n, c, _, wd = x.shape
        _, og, kh, kw = w.shape
        groups = self.groups
        k, l_ = og * kh * kw, geo.oh * geo.wq
        g4 = _as_2d(g)
        (t, _), (left, _) = self.padding
        gbuf = xp.zeros(geo.buf_shape, dtype=g.dtype)
        gbuf[:, :, t : t + g4.shape[2], left : left + g4.shape[3]] = g4
        v = geo.view(gbuf)
        xg = geo.widen(x).reshape(n, groups, c // groups, l_)
        wg = w.reshape(groups, c // groups, k)
        gx = xp.empty((n, groups, c // groups, l_), dtype=x.dtype) if needs[0] else None
        gw = xp.zeros((groups, c // groups, k), dtype=w.dtype) if needs[1] else None
        step = _chunk(n, geo.shape[1] * kh * kw * l_, x.itemsize)
        threads.for_work(step * k * c * l_)  # each chunk's products, as forward's
        cols = scratch(0, (step, groups, k, l_), x.dtype)
        for n0 in range(0, n, step):
            m = min(step, n - n0)
            cm = _im2col(v[n0 : n0 + m], groups, cols[:m])
            if gx is not None:
                xp.matmul(wg, cm, out=gx[n0 : n0 + m])
            if gw is not None:
                gw += _weight_grad(xg[n0 : n0 + m], cm)
        if gx is not None:
            gx = gx.reshape(n, c, geo.oh, geo.wq)[:, :, :, :wd]
        return _grads(self, gx, gw, g4)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        x, w = self.x, self.w
        if self.one_d:
            x, w = x[:, :, 0], w[:, :, 0]
        n_out = w.shape[1] * self.groups
        arrays = (x, w, *((xp.zeros(n_out, dtype=w.dtype),) if self.has_bias else ()))
        # NOTE: a bias enters additively, so its value (not saved) does not change a gradient.
        return hg.by_recompute(self, arrays, self.composed, g)

    def composed(self, x: Any, w: Any, *bias: Any) -> Any:
        """The forward in Tensor ops: ``W^T @ x``, each column added at its place by one index."""
        n, c, h, wd = self.x.shape
        _, og, kh, kw = self.w.shape
        groups, o = self.groups, og * self.groups
        (sh, sw), (dh, dw) = self.stride, self.dilation
        (t, b), (left, r) = self.padding
        hf = (h - 1) * sh + dh * (kh - 1) + 1 + self.output_padding[0]
        wf = (wd - 1) * sw + dw * (kw - 1) + 1 + self.output_padding[1]
        k = og * kh * kw
        wt = w.reshape(groups, c // groups, k).transpose(-1, -2)
        cols = (wt @ x.reshape(n, groups, c // groups, h * wd)).reshape(n, o, kh * kw * h * wd)
        rows = (xp.arange(kh) * dh)[:, None, None, None] + (xp.arange(h) * sh)[:, None]
        cols_at = (xp.arange(kw) * dw)[:, None, None] + xp.arange(wd) * sw
        flat = (rows * wf + cols_at[None]).reshape(-1)  # (kh, kw, h, wd) -> place in the plane
        full = hg.call(
            IndexBackward,
            cols,
            idx=(slice(None), slice(None), flat),
            advanced=True,
            shape=(n, o, hf * wf),
        ).reshape(n, o, hf, wf)
        out = full[:, :, t : hf - b, left : wf - r]
        if bias:
            out = out + bias[0].reshape(1, o, 1, 1)
        return out.reshape(n, o, out.shape[3]) if self.one_d else out
