"""The checks that recur wherever retrograd takes a number from a user.

Python's ``bool`` is an ``int`` (``True + 1 == 2``), so ``isinstance(x, int)``
accepts ``True``; PyTorch and scikit-learn refuse a bool where a count or a
rate belongs. These two predicates say it once, for every module: an integer
is a Python or NumPy integer that is not a bool, a real number is any real
number (Python's or NumPy's) that is not a bool. Each caller keeps its own
message, which names its operation and option.
"""

from __future__ import annotations

import numbers


def is_int(value: object) -> bool:
    """True for a Python or NumPy integer, False for a bool or anything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """True for a real number (int, float, NumPy's), False for a bool or anything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
