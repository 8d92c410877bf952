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
    return sorted({*dir(_functional), *_CONV})


# Convolutions and pooling (defined in ._conv_functional): module attributes, found
# before __getattr__ is asked.
from . import _conv_functional  # noqa: E402
from ._conv_functional import (  # noqa: E402, F401 - re-exported
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
    dropout2d,
    max_pool1d,
    max_pool2d,
)

_CONV = _conv_functional.__all__
