"""``retrograd.cuda``: what PyTorch scripts ask before choosing a device. There is no GPU here.

``device = 'cuda' if torch.cuda.is_available() else 'cpu'`` picks the CPU.
Seeding is accepted and does nothing, as ``torch.cuda.manual_seed`` does on a
machine without CUDA; anything that would need a GPU raises.
"""

from __future__ import annotations


def is_available() -> bool:
    """False: this build of retrograd runs on the CPU only (a CuPy backend is future work)."""
    return False


def device_count() -> int:
    """0: no GPU is visible to this build."""
    return 0


def manual_seed(seed: int) -> None:
    """Accepted and without effect, as PyTorch's on a machine without CUDA."""


def manual_seed_all(seed: int) -> None:
    """Accepted and without effect, as PyTorch's on a machine without CUDA."""


def current_device() -> int:
    """Raises: there is no CUDA device."""
    raise RuntimeError(
        "retrograd.cuda.current_device(): this build of retrograd runs on the CPU only; "
        "check retrograd.cuda.is_available() first"
    )


synchronize = current_device
