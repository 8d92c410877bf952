"""Convolution and pooling functions, as ``torch.nn.functional``'s.

Each validates its arguments once (errors name the function, the shapes and
what was expected), turns PyTorch's int-or-tuple arguments into the 2-D form
the ops take (1-D calls get a leading height of 1) and records one op from
:mod:`retrograd.ops.conv` or :mod:`retrograd.ops.pool`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import ops
from .._backend import FLOAT_DTYPES, xp
from ..ops.pool import avg_divisor
from ..random import Generator, get_rng
from ..tensor import Tensor, apply_op, wrap_array

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "dropout2d",
    "max_pool1d",
    "max_pool2d",
]

IntOr = int | Sequence[int]


def _ints(value: Any, d: int, name: str, op: str, low: int = 1) -> tuple[int, ...]:
    """``value`` (an int or ``d`` ints, each >= ``low``) as a tuple of ``d`` ints."""
    items = (value,) * d if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(
            f"{op}(): {name} must be an int or a tuple of {d} ints, got {value!r}"
        ) from None
    if len(items) == 1 and d > 1:
        items = items * d
    if len(items) != d or any(isinstance(v, bool) or not isinstance(v, int) for v in items):
        raise TypeError(f"{op}(): {name} must be an int or a tuple of {d} ints, got {value!r}")
    if any(v < low for v in items):
        raise ValueError(f"{op}(): {name} must be >= {low}, got {value!r}")
    return items


def _pair(values: tuple[int, ...], fill: int) -> tuple[int, int]:
    """A 1-D argument with ``fill`` put in front for the height of 1."""
    return (fill, values[0]) if len(values) == 1 else (values[0], values[1])


def _check_input(input: Any, d: int, op: str) -> bool:
    """Check ``input`` is a float Tensor of d+2 (batched) or d+1 dims; True when unbatched."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (d + 1, d + 2):
        want = "(N, C, L) or (C, L)" if d == 1 else "(N, C, H, W) or (C, H, W)"
        raise ValueError(f"{op}(): expected an input of shape {want}, got {tuple(input.shape)}")
    if input.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}(): expected a floating point input, got dtype {input.dtype}")
    return input.ndim == d + 1


def _batched(input: Tensor, unbatched: bool) -> Tensor:
    return input.unsqueeze(0) if unbatched else input


def _unbatched(out: Tensor, unbatched: bool) -> Tensor:
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------- convolutions


def _check_weight(
    op: str, input: Tensor, weight: Any, bias: Any, groups: int, d: int, transposed: bool
) -> None:
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}(): weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim != d + 2:
        layout = "(in, out/groups, *kernel)" if transposed else "(out, in/groups, *kernel)"
        raise ValueError(f"{op}(): weight must be {d + 2}-D {layout}, got {tuple(weight.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}(): groups must be a positive int, got {groups!r}")
    c = input.shape[1]
    if transposed:
        if weight.shape[0] != c:
            raise ValueError(
                f"{op}(): input of shape {tuple(input.shape)} has {c} channels but weight of "
                f"shape {tuple(weight.shape)} expects {weight.shape[0]} (weight.shape[0])"
            )
        if c % groups:
            raise ValueError(f"{op}(): groups={groups} does not divide the {c} input channels")
        out = weight.shape[1] * groups
    else:
        if weight.shape[0] % groups:
            raise ValueError(
                f"{op}(): groups={groups} does not divide the {weight.shape[0]} output channels "
                f"of weight {tuple(weight.shape)}"
            )
        if c != weight.shape[1] * groups:
            raise ValueError(
                f"{op}(): input of shape {tuple(input.shape)} has {c} channels but weight of "
                f"shape {tuple(weight.shape)} with groups={groups} expects "
                f"{weight.shape[1] * groups} (weight.shape[1] * groups)"
            )
        out = weight.shape[0]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise TypeError(
                f"{op}(): input has dtype {input.dtype} but {name} has dtype {t.dtype}; "
                "cast one of them (e.g. model.double() or x.float())"
            )
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise TypeError(f"{op}(): bias must be a Tensor, got {type(bias).__name__}")
        if tuple(bias.shape) != (out,):
            raise ValueError(f"{op}(): bias must have shape ({out},), got {tuple(bias.shape)}")


def _conv(
    op: str,
    d: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: IntOr,
    padding: IntOr | str,
    dilation: IntOr,
    groups: int,
) -> Tensor:
    unbatched = _check_input(input, d, op)
    x = _batched(input, unbatched)
    _check_weight(op, x, weight, bias, groups, d, transposed=False)
    s = _ints(stride, d, "stride", op)
    dil = _ints(dilation, d, "dilation", op)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * d
        elif padding == "same":
            if any(v != 1 for v in s):
                raise ValueError(
                    f"{op}(): padding='same' is not supported for strided convolutions"
                )
            # As PyTorch: the odd element of an even total goes at the end.
            pads = [
                (dk * (k - 1) // 2, dk * (k - 1) - dk * (k - 1) // 2)
                for k, dk in zip(kernel, dil, strict=True)
            ]
        else:
            raise ValueError(f"{op}(): padding must be 'same', 'valid' or ints, got {padding!r}")
    else:
        pads = [(p, p) for p in _ints(padding, d, "padding", op, low=0)]
    spatial = tuple(x.shape[2:])
    for size, (lo, hi), k, dk, name in zip(
        spatial, pads, kernel, dil, "HW"[-d:] if d == 2 else "L", strict=True
    ):
        if size + lo + hi < dk * (k - 1) + 1:
            raise ValueError(
                f"{op}(): input of shape {tuple(input.shape)}, padded to {size + lo + hi} along "
                f"{name}, is smaller than the (dilated) kernel {dk * (k - 1) + 1} of weight "
                f"{tuple(weight.shape)}"
            )
    pad2 = ((0, 0), pads[0]) if d == 1 else (pads[0], pads[1])
    params = dict(stride=_pair(s, 1), padding=pad2, dilation=_pair(dil, 1), groups=groups)
    if bias is not None:
        out = apply_op(ops.Conv, x, weight, bias, has_bias=True, **params)
    else:
        out = apply_op(ops.Conv, x, weight, has_bias=False, **params)
    return _unbatched(out, unbatched)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr | str = 0,
    dilation: IntOr = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``.

    Parameters
    ----------
    input : Tensor of shape (N, C_in, L) or (C_in, L)
    weight : Tensor of shape (C_out, C_in/groups, k)
    bias : Tensor of shape (C_out,), optional
    stride, dilation : int or (int,), default=1
    padding : int, (int,), 'valid' or 'same', default=0
        Zeros on both ends; 'same' (stride 1 only) keeps the length.
    groups : int, default=1
        Split the channels into groups convolved separately.

    Returns
    -------
    Tensor of shape (N, C_out, L_out), ``L_out = (L + 2p - d(k-1) - 1) // s + 1``.
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr | str = 0,
    dilation: IntOr = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    One node: the forward and each gradient are one batched matrix product
    over the copied windows (see :mod:`retrograd.ops.conv`).

    Parameters
    ----------
    input : Tensor of shape (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor of shape (C_out, C_in/groups, kh, kw)
    bias : Tensor of shape (C_out,), optional
    stride, dilation : int or (int, int), default=1
    padding : int, (int, int), 'valid' or 'same', default=0
        Zeros on both sides of each dimension; 'same' (stride 1 only) keeps
        the size, the odd element of an even total at the end as PyTorch.
    groups : int, default=1
        Split the channels into groups convolved separately.

    Returns
    -------
    Tensor of shape (N, C_out, OH, OW), ``OH = (H + 2p - d(kh-1) - 1) // s + 1``.
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(
    op: str,
    d: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: IntOr,
    padding: IntOr,
    output_padding: IntOr,
    groups: int,
    dilation: IntOr,
) -> Tensor:
    unbatched = _check_input(input, d, op)
    x = _batched(input, unbatched)
    _check_weight(op, x, weight, bias, groups, d, transposed=True)
    s = _ints(stride, d, "stride", op)
    dil = _ints(dilation, d, "dilation", op)
    p = _ints(padding, d, "padding", op, low=0)
    op_ = _ints(output_padding, d, "output_padding", op, low=0)
    for a, sa, da in zip(op_, s, dil, strict=True):
        if a >= sa and a >= da:
            raise ValueError(
                f"{op}(): output_padding {op_} must be smaller than stride {s} or dilation {dil}"
            )
    for size, k, sa, da, pa, a in zip(x.shape[2:], weight.shape[2:], s, dil, p, op_, strict=True):
        if (size - 1) * sa - 2 * pa + da * (k - 1) + a + 1 <= 0:
            raise ValueError(
                f"{op}(): input of shape {tuple(input.shape)} with weight {tuple(weight.shape)}, "
                f"stride {s}, padding {p} and dilation {dil} gives an empty output"
            )
    pad2 = ((0, 0), (p[0], p[0])) if d == 1 else ((p[0], p[0]), (p[1], p[1]))
    params = dict(
        stride=_pair(s, 1),
        padding=pad2,
        output_padding=_pair(op_, 0),
        dilation=_pair(dil, 1),
        groups=groups,
    )
    if bias is not None:
        out = apply_op(ops.ConvTranspose, x, weight, bias, has_bias=True, **params)
    else:
        out = apply_op(ops.ConvTranspose, x, weight, has_bias=False, **params)
    return _unbatched(out, unbatched)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr = 0,
    output_padding: IntOr = 0,
    groups: int = 1,
    dilation: IntOr = 1,
) -> Tensor:
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    See :func:`conv_transpose2d`; ``input`` (N, C_in, L), ``weight`` (C_in, C_out/groups, k).
    """
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr = 0,
    output_padding: IntOr = 0,
    groups: int = 1,
    dilation: IntOr = 1,
) -> Tensor:
    """2-D transposed convolution (the adjoint of :func:`conv2d`), as PyTorch's.

    Parameters
    ----------
    input : Tensor of shape (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor of shape (C_in, C_out/groups, kh, kw)
    bias : Tensor of shape (C_out,), optional
    stride, dilation : int or (int, int), default=1
    padding : int or (int, int), default=0
        Rows/columns cropped from each side of the full output.
    output_padding : int or (int, int), default=0
        Extra rows/columns at the end; smaller than stride or dilation.
    groups : int, default=1

    Returns
    -------
    Tensor of shape (N, C_out, OH, OW), ``OH = (H-1)s - 2p + d(kh-1) + output_padding + 1``.
    """
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


# ---------------------------------------------------------------- pooling


def _pool_size(
    op: str, size: int, k: int, s: int, p: int, dk: int, ceil_mode: bool, shape: Any
) -> int:
    """PyTorch's pooled length; in ceil mode the last window must start inside the input."""
    span = dk * (k - 1) + 1
    num = size + 2 * p - span
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    if out < 1:
        raise ValueError(
            f"{op}(): input of shape {tuple(shape)} is too small for kernel {k} with "
            f"padding {p} and dilation {dk}: output size would be {out}"
        )
    return out


def _pool_args(
    op: str,
    d: int,
    x: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None,
    padding: IntOr,
    dilation: IntOr,
    ceil_mode: bool,
    shape: tuple[int, ...],
) -> tuple[tuple[int, ...], ...]:
    """Pooling arguments as tuples, the output size and the bottom/right padding."""
    k = _ints(kernel_size, d, "kernel_size", op)
    s = (
        k
        if stride is None or (not isinstance(stride, int) and len(stride) == 0)
        else _ints(stride, d, "stride", op)
    )
    p = _ints(padding, d, "padding", op, low=0)
    dil = _ints(dilation, d, "dilation", op)
    for pa, ka in zip(p, k, strict=True):
        if pa > ka // 2:
            raise ValueError(
                f"{op}(): padding should be at most half of the kernel size, got padding {p} "
                f"and kernel_size {k}"
            )
    out = tuple(
        _pool_size(op, n, ka, sa, pa, da, ceil_mode, shape)
        for n, ka, sa, pa, da in zip(x.shape[2:], k, s, p, dil, strict=True)
    )
    # Bottom/right padding: enough for the last window (ceil mode may need more than p).
    hi = tuple(
        max(pa, (o - 1) * sa + da * (ka - 1) + 1 - n - pa)
        for n, o, ka, sa, pa, da in zip(x.shape[2:], out, k, s, p, dil, strict=True)
    )
    return k, s, p, dil, out, hi


def _max_pool(
    op: str,
    d: int,
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None,
    padding: IntOr,
    dilation: IntOr,
    ceil_mode: bool,
    return_indices: bool,
) -> Tensor | tuple[Tensor, Tensor]:
    unbatched = _check_input(input, d, op)
    x = _batched(input, unbatched)
    k, s, p, dil, out, hi = _pool_args(
        op, d, x, kernel_size, stride, padding, dilation, ceil_mode, input.shape
    )
    pads = ((0, 0), (p[0], hi[0])) if d == 1 else ((p[0], hi[0]), (p[1], hi[1]))
    sink: list[Any] | None = [] if return_indices else None
    y = apply_op(
        ops.MaxPool,
        x,
        kernel=_pair(k, 1),
        stride=_pair(s, 1),
        padding=pads,
        dilation=_pair(dil, 1),
        out_size=_pair(out, 1),
        sink=sink,
    )
    y = _unbatched(y, unbatched)
    if sink is None:
        return y
    idx = sink[0][0] if unbatched else sink[0]
    return y, wrap_array(idx)


def max_pool1d(
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``; see :func:`max_pool2d`."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    The gradient of each window goes to its first maximum (PyTorch's choice at ties).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default ``kernel_size``.
    padding : int or (int, int), default=0
        Implicit -inf on both sides, at most half the kernel.
    dilation : int or (int, int), default=1
    ceil_mode : bool, default=False
        Round the output size up (a last window may overhang the input).
    return_indices : bool, default=False
        Also return the int64 indices of the maxima in each flattened H*W plane.

    Returns
    -------
    Tensor of shape (N, C, OH, OW), and the indices of that shape with ``return_indices``.
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(
    op: str,
    d: int,
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None,
    padding: IntOr,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    if divisor_override is not None:
        raise NotImplementedError(
            f"{op}(): divisor_override is not supported (got {divisor_override!r}); divide the "
            "sum yourself: avg_pool(x) * count / divisor"
        )
    unbatched = _check_input(input, d, op)
    x = _batched(input, unbatched)
    k, s, p, _, out, hi = _pool_args(
        op, d, x, kernel_size, stride, padding, 1, ceil_mode, input.shape
    )
    divs = [
        avg_divisor(n, o, ka, sa, pa, count_include_pad)
        for n, o, ka, sa, pa in zip(x.shape[2:], out, k, s, p, strict=True)
    ]
    divisor = divs[0][None, :] if d == 1 else divs[0][:, None] * divs[1][None, :]
    pads = ((0, 0), (p[0], hi[0])) if d == 1 else ((p[0], hi[0]), (p[1], hi[1]))
    y = apply_op(
        ops.AvgPool,
        x,
        kernel=_pair(k, 1),
        stride=_pair(s, 1),
        padding=pads,
        out_size=_pair(out, 1),
        divisor=divisor,
    )
    return _unbatched(y, unbatched)


def avg_pool1d(
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d``; see :func:`avg_pool2d`."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default ``kernel_size``.
    padding : int or (int, int), default=0
        Implicit zeros on both sides, at most half the kernel.
    ceil_mode : bool, default=False
        Round the output size up.
    count_include_pad : bool, default=True
        Count the padding zeros in the divisor (never the overhang of ``ceil_mode``).
    divisor_override : None
        Not supported: anything but None raises NotImplementedError.

    Returns
    -------
    Tensor of shape (N, C, OH, OW)
    """
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _adaptive_size(output_size: Any, x: Tensor, d: int, op: str) -> tuple[int, ...]:
    if output_size is None or isinstance(output_size, int):
        items: tuple[Any, ...] = (output_size,) * d
    else:
        items = tuple(output_size)
    if len(items) != d:
        raise ValueError(f"{op}(): output_size must be an int or {d} ints, got {output_size!r}")
    # None keeps that dimension's input size, as PyTorch.
    sizes = tuple(int(x.shape[2 + i]) if v is None else v for i, v in enumerate(items))
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sizes):
        raise ValueError(f"{op}(): output_size must be positive ints, got {output_size!r}")
    for n in x.shape[2:]:
        if n < 1:
            raise ValueError(f"{op}(): input of shape {tuple(x.shape)} has an empty dimension")
    return sizes


def _adaptive_avg(op: str, d: int, input: Tensor, output_size: Any) -> Tensor:
    unbatched = _check_input(input, d, op)
    x = _batched(input, unbatched)
    out = _adaptive_size(output_size, x, d, op)
    y = apply_op(ops.AdaptiveAvgPool, x, out_size=_pair(out, 1))
    return _unbatched(y, unbatched)


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:
    """1-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool1d``."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """2-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Output cell i of a dimension of size n averages the input's
    ``[floor(i*n/out), ceil((i+1)*n/out))``; both directions are matrix products.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    output_size : int or (int or None, int or None)
        None keeps that dimension's size.

    Returns
    -------
    Tensor of shape (N, C, *output_size)
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def _adaptive_max(
    op: str, d: int, input: Tensor, output_size: Any, return_indices: bool
) -> Tensor | tuple[Tensor, Tensor]:
    unbatched = _check_input(input, d, op)
    x = _batched(input, unbatched)
    out = _adaptive_size(output_size, x, d, op)
    sink: list[Any] | None = [] if return_indices else None
    y = _unbatched(apply_op(ops.AdaptiveMaxPool, x, out_size=_pair(out, 1), sink=sink), unbatched)
    if sink is None:
        return y
    return y, wrap_array(sink[0][0] if unbatched else sink[0])


def adaptive_max_pool1d(
    input: Tensor, output_size: int | Sequence[int], return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """1-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool1d``."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(
    input: Tensor, output_size: int | Sequence[int | None], return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """2-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool2d``.

    Windows as :func:`adaptive_avg_pool2d`'s; the gradient goes to each window's
    first maximum. ``return_indices`` also returns the int64 flat indices of
    the maxima in each H*W plane.
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


# ---------------------------------------------------------------- channel dropout


def dropout2d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero whole channels with probability ``p``, scaling the rest by ``1/(1-p)``.

    As ``torch.nn.functional.dropout2d``: one draw per (sample, channel) of an
    (N, C, H, W) input; a 3-D input is taken as (N, C, L), as PyTorch does.
    The mask comes from the default generator (or ``generator``).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (N, C, L)
    p : float, default=0.5
    training : bool, default=True
        False returns ``input`` unchanged.
    inplace : bool, default=False
        Accepted for PyTorch compatibility; the result is a new tensor.
    generator : Generator, optional

    Returns
    -------
    Tensor of the same shape as ``input``
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout2d(): input must be a Tensor, got {type(input).__name__}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
    if input.ndim not in (3, 4):
        raise ValueError(
            f"dropout2d(): expected an input of shape (N, C, H, W) or (N, C, L), got "
            f"{tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    if input.dtype not in FLOAT_DTYPES:
        raise TypeError(f"dropout2d(): expected a floating point input, got dtype {input.dtype}")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    dtype = input.dtype
    if p == 1.0:
        mask = xp.zeros(shape, dtype=dtype)
    else:
        keep = get_rng(generator).random(shape, dtype=dtype) >= p
        mask = keep * xp.asarray(1.0 / (1.0 - p), dtype=dtype)
    # ops.Dropout multiplies by the broadcast mask; its gradient g*mask has g's shape.
    return apply_op(ops.Dropout, input, mask=mask)
