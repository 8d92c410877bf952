"""Docstring text shared by several public functions and classes, filled in where it is used.

A docstring names a shared field as ``{name}`` on a line of its own (indented as the
section it belongs to), and :func:`fill_doc` replaces it with the text. The text's
continuation lines carry the indentation of the docstrings it is filled into (4 spaces
for the entries of a module-level function's or class's, 8 for a method's), as the
optimizers' f-string docstrings do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_Obj = TypeVar("_Obj", bound=Callable[..., Any])


def fill_doc(**fields: str) -> Callable[[_Obj], _Obj]:
    """A decorator that replaces each ``{name}`` of a docstring with ``fields[name]``.

    Other braces (``{'mean', 'sum'}``) are left alone; a docstring of None (``python
    -OO``) stays None.
    """

    def fill(obj: _Obj) -> _Obj:
        if obj.__doc__:
            doc = obj.__doc__
            for name, text in fields.items():
                doc = doc.replace("{" + name + "}", text)
            obj.__doc__ = doc
        return obj

    return fill
