"""What every part of ``retrograd.data`` shares: the error type and the lazy scikit-learn import."""

from __future__ import annotations

import importlib
from types import ModuleType


class DataError(ValueError):
    """Bad input data: a malformed file, an unknown data set, a split that cannot be made.

    A ``ValueError``, so code that catches those keeps working; the command line
    catches this one to print the message instead of a traceback.
    """


def require_sklearn(module: str, what: str) -> ModuleType:
    """Import ``sklearn.<module>`` for ``what``, or say how to install scikit-learn.

    scikit-learn is an optional dependency: ``retrograd.data`` imports without it
    and only the functions that need it call here.
    """
    try:
        return importlib.import_module(f"sklearn.{module}")
    except ImportError:
        raise ImportError(
            f"{what} needs scikit-learn, which is not installed; "
            "install it with `pip install scikit-learn`"
        ) from None
