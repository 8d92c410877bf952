"""A griffe extension: the site shows the docstrings Python has at run time, complete.

Griffe reads docstrings from the source, which misses two kinds that retrograd writes:

- text that several functions and classes share, written once as ``{name}`` fields that
  :func:`retrograd._docstrings.fill_doc` fills in when the module is imported: griffe
  sees the fields;
- a docstring built by code: an f-string assigned to ``__doc__`` in a class body (the
  optimizers and convolutions compose shared parameter entries that way), or
  ``fn.__doc__ = ...`` in a factory: griffe sees no docstring at all.

For both, this extension takes the docstring of the live object. Enabled in mkdocs.yml
(``extensions:`` of the python handler); tests/test_docs_site.py checks that no public
object of the API pages is left without the docstring Python has.
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


def _filled_doc(path: str) -> str | None:
    """The run-time docstring of the object at ``path`` (of any kind), cleaned, or None."""
    doc = getattr(_runtime_object(path), "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) else None


def runtime_doc(path: str) -> str | None:
    """The run-time docstring of the class or function defined at ``path``, cleaned, or None.

    Only an object that was defined under that name counts (its ``__module__`` and
    ``__qualname__`` make ``path``): an instance such as ``float32 = dtype(...)`` would
    otherwise lend its class's docstring, an alias its target's.
    """
    obj = _runtime_object(path)
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        return None
    if f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}" != path:
        return None
    doc = vars(obj).get("__doc__") if inspect.isclass(obj) else obj.__doc__
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


class FillDoc(griffe.Extension):
    """Give an object the run-time docstring when griffe's has ``{name}`` fields or is missing."""

    def on_instance(self, *, obj: griffe.Object, agent: Any = None, **kwargs: Any) -> None:
        if obj.docstring is not None:
            if not _FIELD.search(obj.docstring.value):
                return
            doc = _filled_doc(obj.path)
            if not doc or _FIELD.search(doc):
                raise ValueError(f"{obj.path}: its docstring fields are not filled at run time")
            obj.docstring.value = doc
        elif obj.kind in (griffe.Kind.CLASS, griffe.Kind.FUNCTION, griffe.Kind.ATTRIBUTE):
            doc = runtime_doc(obj.path)
            if doc:
                obj.docstring = griffe.Docstring(
                    doc,
                    parent=obj,
                    parser=getattr(agent, "docstring_parser", None),
                    parser_options=getattr(agent, "docstring_options", None),
                )
