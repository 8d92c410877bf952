"""Devices, as PyTorch names them: ``retrograd.device('cpu')``, the only one this build has.

PyTorch scripts name a device everywhere (``device=`` on factories and layers,
``.to(device)``, ``map_location``). retrograd computes with NumPy on the CPU, so
every such argument is checked here, in one place: the CPU (``'cpu'``,
``'cpu:0'``, ``retrograd.device('cpu')`` or a ``torch.device('cpu')``) is
accepted and changes nothing; anything else raises, never silently computing on
the CPU what the script asked to run elsewhere. A GPU backend (CuPy behind
``_backend.xp``) is future work.
"""

from __future__ import annotations

from typing import Any

from .validation import is_int

_CPU_NAMES = ("cpu", "cpu:0")


class device:  # noqa: N801 - PyTorch's name
    """A device, as ``torch.device``: ``device('cpu')``, ``device('cpu', 0)``.

    Parameters
    ----------
    type : str or device
        ``'cpu'`` (or ``'cpu:0'``). Other types (``'cuda'``, ``'mps'``) raise
        ``ValueError``: this build runs on the CPU only.
    index : int, optional
        The device index; only 0 (or None) for the CPU.
    """

    __slots__ = ("index", "type")

    def __init__(self, type: Any, index: int | None = None) -> None:
        name = str(type)
        if ":" in name and index is None:
            name, _, idx = name.partition(":")
            index = int(idx) if idx.isdigit() else idx  # type: ignore[assignment]
        if name != "cpu" or (index is not None and not (is_int(index) and index == 0)):
            raise ValueError(_refusal(f"{name}:{index}" if index is not None else name, "device"))
        self.type = "cpu"
        self.index = None if index is None else int(index)

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{extra})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str(self) == other
        return str(self) == str(other) and type(other).__name__ == "device"

    def __hash__(self) -> int:
        return hash(str(self))


CPU = device("cpu")


def _refusal(name: str, op: str) -> str:
    return (
        f"{op}: device {name!r} is not available: this build of retrograd runs on the CPU "
        "only (NumPy); use 'cpu'. A GPU backend (CuPy) is future work."
    )


def check_device(dev: Any, op: str) -> device:
    """The CPU device for ``dev`` (None, ``'cpu'``, a retrograd or torch CPU device); else raise.

    Parameters
    ----------
    dev : None, str or device
        What the user passed as ``device=`` (or to ``.to()``, ``map_location``).
    op : str
        The function that received it, for the message.

    Raises
    ------
    ValueError
        For any device but the CPU, naming it and ``op``.
    """
    if dev is None:
        return CPU
    if isinstance(dev, device):
        return dev
    if is_int(dev):  # torch reads an int as a CUDA ordinal
        raise ValueError(_refusal(f"cuda:{dev}", op))
    if not (isinstance(dev, str) or type(dev).__name__ == "device"):
        raise TypeError(f"{op}: expected a device (a str or retrograd.device), got {dev!r}")
    if str(dev) not in _CPU_NAMES:
        raise ValueError(_refusal(str(dev), op))
    return CPU


def is_device(value: Any) -> bool:
    """True for what ``.to()`` reads as a device: a str, an int (a CUDA ordinal), a device."""
    return isinstance(value, (str, device)) or is_int(value) or type(value).__name__ == "device"


_default = [CPU]


def set_default_device(dev: Any) -> None:
    """As ``torch.set_default_device``: only the CPU (or None) is accepted."""
    _default[0] = check_device(dev, "set_default_device")


def get_default_device() -> device:
    """The device factories use when ``device=`` is not given: the CPU."""
    return _default[0]
