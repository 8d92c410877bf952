"""A griffe extension: the site shows the docstrings ``fill_doc`` completes, complete.

retrograd writes docstring text that several functions and classes share once, as
``{name}`` fields that :func:`retrograd._docstrings.fill_doc` fills in when the module
is imported. Griffe reads the source, where the fields are still fields; for an object
whose docstring holds one, this extension takes the docstring Python has at run time.
Enabled in mkdocs.yml (``extensions:`` of the python handler).
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import griffe

#: A line that is only a ``{name}`` field.
_FIELD = re.compile(r"^\s*\{[a-z_]+\}\s*$", re.MULTILINE)


def _runtime_object(path: str) -> Any:
    """The live object at dotted ``path`` (module, then attributes), or None."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:n]))
        except ImportError:
            continue
        for name in parts[n:]:
            obj = getattr(obj, name, None)
        return obj
    return None


class FillDoc(griffe.Extension):
    """Replace a docstring that still has ``{name}`` fields with its filled run-time text."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None or not _FIELD.search(obj.docstring.value):
            return
        doc = getattr(_runtime_object(obj.path), "__doc__", None)
        if not doc or _FIELD.search(doc):
            raise ValueError(f"{obj.path}: its docstring fields are not filled at run time")
        obj.docstring.value = inspect.cleandoc(doc)
