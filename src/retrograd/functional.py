"""``retrograd.functional``: a shorter path to :mod:`retrograd.nn.functional`.

``import retrograd.functional as F`` and ``import retrograd.nn.functional as F``
give the same functions; they are defined in :mod:`retrograd.nn.functional`.
"""

from __future__ import annotations

from .nn.functional import *  # noqa: F403
from .nn.functional import __all__ as __all__
