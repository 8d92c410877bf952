"""Input at the boundary: the option types, checked by the rules the Python API uses
(:mod:`retrograd.options`), and helpers to read options.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ..options import NUMERIC, check_number, lookup
from .errors import UsageFailure


class Name(click.ParamType):
    """A name from a registry table, spelled as the Python API accepts it.

    Resolved by :func:`retrograd.options.lookup` (case, spaces and ``-``/``_``
    ignored), so ``--activation Leaky-ReLU`` is ``leaky_relu``; the command gets
    the table's own spelling.
    """

    name = "NAME"

    def __init__(self, table: Mapping[str, Any], option: str) -> None:
        self.table = table
        self.option = option

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.table) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return lookup(self.table, value, self.option)
        except (TypeError, ValueError) as e:
            self.fail(str(e), param, ctx)


class Number(click.ParamType):
    """A number within the range :data:`retrograd.options.NUMERIC` gives the option.

    The same rule checks the Python API's argument of the same name, so both
    accept exactly the same values.
    """

    def __init__(self, option: str) -> None:
        self.option = option
        self.rule = NUMERIC[option]
        self.name = "INTEGER" if self.rule.kind is int else "FLOAT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            try:
                value = self.rule.kind(value.strip())
            except ValueError:
                self.fail(f"{value!r} is not {self.rule.describe()}", param, ctx)
        try:
            return check_number(value, self.option)
        except ValueError as e:
            self.fail(str(e), param, ctx)


class HiddenSizes(click.ParamType):
    """``--hidden 128,64``: comma-separated positive layer widths; ``none`` for no hidden layer.

    ``option='channels'`` reads ``--channels 16,32`` by its own rule, where
    ``none`` is refused (a CNN has at least one convolution).
    """

    name = "SIZES"

    def __init__(self, option: str = "hidden") -> None:
        self.option = option

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        empty_ok = self.option == "hidden"
        if empty_ok and text.lower() in ("", "none"):
            return ()
        try:
            sizes = tuple(int(part) for part in text.split(","))
        except ValueError:
            sizes = ()
        if not sizes or not all(NUMERIC[self.option].accepts(h) for h in sizes):
            example = "128,64 (or 'none')" if empty_ok else "16,32"
            self.fail(
                f"expected comma-separated positive integers such as {example}; got {value!r}",
                param,
                ctx,
            )
        return sizes


def given(ctx: click.Context, names: Iterable[str]) -> list[str]:
    """The options among ``names`` that the user set (not left at their defaults)."""
    return [n for n in names if ctx.get_parameter_source(n) not in (None, ParameterSource.DEFAULT)]


def flag(name: str) -> str:
    """The command-line flag of an option's Python name: ``'val_split'`` -> ``'--val-split'``."""
    return "--" + name.replace("_", "-")


def parse_numbers(value: str | None, option: str) -> list[float] | None:
    """``--input 1,0``: comma-separated numbers, or a usage error naming the option."""
    if value is None:
        return None
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        raise UsageFailure(
            f"{option} expects comma-separated numbers such as 1,0; got {value!r}"
        ) from None
    if not all(math.isfinite(v) for v in numbers):
        raise UsageFailure(f"{option} expects finite numbers; got {value!r}")
    return numbers


def output_option(metavar: str, what: str) -> Any:
    """``--output``/``-o``: the file a command writes, or ``-`` for standard output."""
    return click.option(
        "--output",
        "-o",
        required=True,
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        metavar=metavar,
        help=f"The {what} to write (replaced if it exists); - for standard output.",
    )


def number_option(name: str, default: Any = None, help: str | None = None) -> Any:
    """``--name``, a :class:`Number` checked by the rule the Python API applies to ``name``.

    Parameters
    ----------
    name : str
        The option's Python name, a key of :data:`retrograd.options.NUMERIC`
        (``'val_split'`` is the flag ``--val-split``).
    default : int or float, optional
        Shown in the help; None leaves the option unset when not given.
    help : str, optional
        The option's help text.
    """
    return _option(name, Number(name), default, help)


def name_option(name: str, table: Mapping[str, Any], default: str, help: str | None = None) -> Any:
    """``--name``, a :class:`Name` from ``table``, with its default shown in the help."""
    return _option(name, Name(table, name), default, help)


def _option(name: str, kind: click.ParamType, default: Any, help: str | None) -> Any:
    """The ``click.option`` of ``number_option`` and ``name_option``."""
    if default is None:
        return click.option(flag(name), type=kind, help=help)
    return click.option(flag(name), type=kind, default=default, show_default=True, help=help)
