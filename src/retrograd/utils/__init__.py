"""``retrograd.utils``: PyTorch's ``torch.utils`` import paths (``retrograd.utils.data``)."""

from __future__ import annotations

from . import data as data

__all__ = ["data"]
