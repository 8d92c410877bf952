"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``,
``AdaptiveMaxPool2d``.

Thin modules over the functions of the same names (:mod:`retrograd.functional`);
arguments are kept as given, as PyTorch's layers keep them, and shown by ``repr``.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module


class _MaxPoolNd(Module):
    """What MaxPool1d and MaxPool2d share; each names its functional as ``_pool``."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Any:
        return self._pool(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling, as ``torch.nn.MaxPool1d``; arguments as :class:`MaxPool2d`'s.

    Shape: input (N, C, L) or (C, L) -> output (N, C, L_out).
    """

    _pool = staticmethod(F.max_pool1d)


@F.pool_doc
class MaxPool2d(_MaxPoolNd):
    """2-D max pooling, as ``torch.nn.MaxPool2d``.

    Parameters
    ----------
    {max_window}
    return_indices : bool, default=False
        Also return the flat indices of the maxima in each H*W plane.
    ceil_mode : bool, default=False
        Round the output size up.

    Shape
    -----
    input (N, C, H, W) or (C, H, W) -> output (N, C, OH, OW),
    ``OH = (H + 2*padding - dilation*(kh-1) - 1) // stride + 1`` (rounded up in ceil mode).
    """

    _pool = staticmethod(F.max_pool2d)


class _AvgPoolNd(Module):
    """What AvgPool1d and AvgPool2d share; each names its functional as ``_pool``."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return self._pool(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling, as ``torch.nn.AvgPool1d``; arguments as :class:`AvgPool2d`'s.

    Shape: input (N, C, L) or (C, L) -> output (N, C, L_out).
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        # As PyTorch's AvgPool1d (not its MaxPool1d), the sizes are kept as 1-tuples.
        self.kernel_size, self.stride, self.padding = (
            (v,) if isinstance(v, int) else tuple(v)
            for v in (self.kernel_size, self.stride, self.padding)
        )

    _pool = staticmethod(F.avg_pool1d)


@F.pool_doc
class AvgPool2d(_AvgPoolNd):
    """2-D average pooling, as ``torch.nn.AvgPool2d``.

    Parameters
    ----------
    {avg_window}
    count_include_pad : bool, default=True
        Count the padding zeros in each window's divisor.
    divisor_override : None
        Not supported: anything but None raises NotImplementedError.

    Shape
    -----
    input (N, C, H, W) or (C, H, W) -> output (N, C, OH, OW).
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        if divisor_override is not None:
            raise NotImplementedError(
                f"AvgPool2d: divisor_override is not supported (got {divisor_override!r})"
            )
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.divisor_override = None

    _pool = staticmethod(F.avg_pool2d)


class _AdaptivePoolNd(Module):
    """What the adaptive pools share; each names its functional as ``_pool``."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return self._pool(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average over ``output_size`` adaptive windows, as ``torch.nn.AdaptiveAvgPool1d``.

    Shape: input (N, C, L) or (C, L) -> output (N, C, output_size).
    """

    _pool = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average over adaptive windows, as ``torch.nn.AdaptiveAvgPool2d``.

    Window i of a dimension of size n covers ``[floor(i*n/out), ceil((i+1)*n/out))``.

    Parameters
    ----------
    output_size : int or (int or None, int or None)
        None keeps that dimension's size.

    Shape
    -----
    input (N, C, H, W) or (C, H, W) -> output (N, C, *output_size).
    """

    _pool = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveMaxPool2d(_AdaptivePoolNd):
    """Maximum over adaptive windows, as ``torch.nn.AdaptiveMaxPool2d``.

    Parameters
    ----------
    output_size : int or (int or None, int or None)
        None keeps that dimension's size.
    return_indices : bool, default=False
        Also return the flat indices of the maxima in each H*W plane.

    Shape
    -----
    input (N, C, H, W) or (C, H, W) -> output (N, C, *output_size).
    """

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
