"""``retrograd.nn.functional``: the same module as :mod:`retrograd.functional`.

PyTorch code writes ``import torch.nn.functional as F``; here both
``import retrograd.nn.functional as F`` and ``import retrograd.functional as F``
work. Names are looked up in :mod:`retrograd.functional` when used, so
functions added there (the losses) appear here too.
"""

from __future__ import annotations

from typing import Any

from .. import functional as _functional


def __getattr__(name: str) -> Any:
    try:
        return getattr(_functional, name)
    except AttributeError:
        raise AttributeError(
            f"module 'retrograd.nn.functional' has no attribute '{name}'"
        ) from None


def __dir__() -> list[str]:
    return dir(_functional)
