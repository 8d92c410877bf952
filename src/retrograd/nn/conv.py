"""``Conv1d``, ``Conv2d`` and ``ConvTranspose2d``: PyTorch's layers, weight layout and keys."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .linear import Linear
from .module import Module
from .parameter import check_device, check_size, empty_parameter

#: PyTorch's other padding modes: named so that the error can say they are not built.
_TORCH_PADDING_MODES = ("reflect", "replicate", "circular")

#: The entries ``groups`` to ``dtype`` of the Parameters sections of Conv1d and Conv2d
#: (their docstrings are f-strings that insert it; continuations carry the 8-space indent).
_OPTIONS_DOC = """groups : int, default=1
        Divides both channel counts; each group of inputs feeds its own outputs.
    bias : bool, default=True
    padding_mode : {'zeros'}, default='zeros'
        PyTorch's other modes raise NotImplementedError.
    device : {None, 'cpu'}, optional
    dtype : dtype, optional
        float32 (default) or float64."""


def _tuple(value: Any, d: int, name: str, op: str, low: int = 1) -> tuple[int, ...]:
    return F._ints(value, d, name, op, low)


class _ConvNd(Module):
    """What the convolution layers share: arguments, parameters, initialisation, repr.

    Its ``__init__`` and ``forward`` are :class:`Conv1d`'s and :class:`Conv2d`'s (each
    names its functional as ``_conv``), in PyTorch's order; :class:`ConvTranspose2d`
    orders its own arguments, adds ``output_padding`` and has its own ``forward``.
    """

    _d = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        d = self._d
        self.in_channels = check_size(in_channels, "in_channels", name, positive=True)
        self.out_channels = check_size(out_channels, "out_channels", name, positive=True)
        self.groups = check_size(groups, "groups", name, positive=True)
        for what, n in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if n % self.groups:
                raise ValueError(f"{name}: {what}={n} must be divisible by groups={self.groups}")
        if padding_mode != "zeros":
            if padding_mode in _TORCH_PADDING_MODES:
                raise NotImplementedError(
                    f"{name}: padding_mode={padding_mode!r} is not supported; retrograd pads "
                    "with zeros only (padding_mode='zeros')"
                )
            raise ValueError(
                f"{name}: padding_mode must be one of 'zeros', 'reflect', 'replicate' or "
                f"'circular' (retrograd supports 'zeros'), got {padding_mode!r}"
            )
        self.padding_mode = padding_mode
        self.kernel_size = _tuple(kernel_size, d, "kernel_size", name)
        self.stride = _tuple(stride, d, "stride", name)
        self.dilation = _tuple(dilation, d, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{name}: padding must be 'same', 'valid' or ints, got {padding!r}"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions"
                )
            self.padding: Any = padding
        else:
            self.padding = _tuple(padding, d, "padding", name, low=0)
        self.output_padding = (0,) * d  # ConvTranspose2d sets its own
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = empty_parameter(shape, dtype, name)
        if bias:
            self.bias = empty_parameter((self.out_channels,), dtype, name)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: ``kaiming_uniform_(a=sqrt(5))``, bias U(-1/sqrt(fan_in), ...)."""
        # The same rule as Linear's (fan_in counts the kernel: in/groups * kh * kw).
        Linear.reset_parameters(self)  # type: ignore[arg-type]

    def forward(self, input: Tensor) -> Tensor:
        return self._conv(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        d = self._d
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * d:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * d:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * d:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    __doc__ = f"""1-D convolution (cross-correlation), as ``torch.nn.Conv1d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int,)
    stride : int or (int,), default=1
    padding : int, (int,), 'valid' or 'same', default=0
    dilation : int or (int,), default=1
    {_OPTIONS_DOC}

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels/groups, k)
    bias : Parameter of shape (out_channels,) or None

    Shape
    -----
    input (N, C_in, L) or (C_in, L) -> output (N, C_out, L_out),
    ``L_out = (L + 2*padding - dilation*(k-1) - 1) // stride + 1``.
    """

    _d = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    __doc__ = f"""2-D convolution (cross-correlation), as ``torch.nn.Conv2d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int or (int, int), default=1
    padding : int, (int, int), 'valid' or 'same', default=0
        'same' (stride 1 only) keeps H and W.
    dilation : int or (int, int), default=1
    {_OPTIONS_DOC}

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels/groups, kh, kw)
        Initialised by ``kaiming_uniform_(a=sqrt(5))``, as PyTorch.
    bias : Parameter of shape (out_channels,) or None

    Shape
    -----
    input (N, C_in, H, W) or (C_in, H, W) -> output (N, C_out, OH, OW),
    ``OH = (H + 2*padding - dilation*(kh-1) - 1) // stride + 1``.
    """

    _conv = staticmethod(F.conv2d)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution (the adjoint of :class:`Conv2d`), as ``torch.nn.ConvTranspose2d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int or (int, int), default=1
    padding : int or (int, int), default=0
        Cropped from both sides of the full output.
    output_padding : int or (int, int), default=0
        Extra rows/columns at the end; smaller than stride or dilation.
    groups : int, default=1
    bias : bool, default=True
    dilation : int or (int, int), default=1
    padding_mode : {'zeros'}, default='zeros'
    device : {None, 'cpu'}, optional
    dtype : dtype, optional

    Attributes
    ----------
    weight : Parameter of shape (in_channels, out_channels/groups, kh, kw)
    bias : Parameter of shape (out_channels,) or None

    Shape
    -----
    input (N, C_in, H, W) -> output (N, C_out, OH, OW),
    ``OH = (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1``.
    """

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be ints, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self.output_padding = _tuple(output_padding, 2, "output_padding", "ConvTranspose2d", low=0)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        if output_size is not None:
            raise NotImplementedError(
                "ConvTranspose2d.forward(): output_size is not supported; set output_padding"
            )
        return F.conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )
