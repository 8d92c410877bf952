"""Reading the user's data files: CSV, ``.npz`` and MNIST-style IDX, without pickle.

Every reader checks its input and raises :class:`DataError` with the file (and,
for CSV, the line) and what was wrong, so that the command line can print a
message instead of a traceback.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import math
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from ..validation import is_int
from ._common import DataError
from .spec import TASKS, DataSpec, resolve_task

PathLike = str | os.PathLike

# ------------------------------------------------------------------------------------ CSV


_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_rows(path: Path, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """The non-blank rows of a CSV file, with the line number of each.

    Fields are not stripped here (``float`` ignores surrounding spaces, and
    stripping two million fields costs more than the parse); names and text
    labels are stripped where they are used.
    """
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            try:
                for row in reader:
                    if row and (len(row) > 1 or row[0].strip()):
                        rows.append(row)
                        lines.append(reader.line_num)
            except csv.Error as e:
                raise DataError(f"{path}, line {reader.line_num}: {e}") from None
    except UnicodeDecodeError as e:
        raise DataError(
            f"{path} is not a UTF-8 text file (undecodable byte at offset {e.start}); "
            "is it really a CSV file?"
        ) from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not a CSV file") from None
    return rows, lines


def _has_header(rows: list[list[str]]) -> bool:
    """Whether the first row is a header: a non-number atop a column of numbers.

    A column counts as numeric when most of the next 20 rows hold numbers there,
    so one malformed value does not hide the header.
    """
    if len(rows) == 1:
        return not any(_is_number(v) for v in rows[0])
    sample = rows[1:21]
    for j, first in enumerate(rows[0]):
        numeric = sum(_is_number(r[j]) for r in sample)
        if 2 * numeric > len(sample) and not _is_number(first):
            return True
    return False


def _target_column(target: int | str | None, names: list[str] | None, n: int, path: Path) -> int:
    """The index of the target column given by name, index or None (the last)."""
    if target is None:
        return n - 1
    if isinstance(target, str):
        if names is not None and target in names:
            if names.count(target) > 1:
                raise DataError(f"{path}: more than one column is named {target!r}")
            return names.index(target)
        if re.fullmatch(r"\s*-?\d+\s*", target):
            target = int(target)
        elif names is None:
            raise DataError(
                f"{path} has no header row, so the target cannot be chosen by name "
                f"({target!r}); give its column index instead (0 to {n - 1}, or -1 for the last)"
            )
        else:
            close = difflib.get_close_matches(target, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise DataError(
                f"{path} has no column named {target!r}; its columns are: {', '.join(names)}.{hint}"
            )
    if not is_int(target):
        raise TypeError(f"target must be a column name or index, got {type(target).__name__}")
    if not -n <= target < n:
        raise DataError(
            f"target column index {target} is out of range: {path} has {n} columns "
            f"(0 to {n - 1}, or -1 for the last)"
        )
    return int(target) % n


def _parse_features(
    rows: list[list[str]], columns: list[int], lines: list[int], names: list[str], path: Path
) -> np.ndarray:
    """The feature columns as float64, or an error naming the first bad cell's line and column."""
    try:
        # Python's float() per field beats NumPy's string-to-float cast several times over.
        X = np.array([[float(row[j]) for j in columns] for row in rows], dtype=np.float64)
    except ValueError:
        for i, row in enumerate(rows):
            for k, j in enumerate(columns):
                value = row[j].strip()
                if not _is_number(value):
                    what = "is empty" if value == "" else f"is {value!r}, not a number"
                    raise DataError(
                        f"{path}, line {lines[i]}: column {names[k]!r} {what}; feature columns "
                        "must hold numbers (the target may hold text labels)"
                    ) from None
        raise  # pragma: no cover - every float() failure is found above
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, k = bad[0]
        raise DataError(
            f"{path}, line {lines[i]}: column {names[k]!r} is {rows[i][columns[k]].strip()!r}; "
            "feature values must be finite numbers (missing values are not supported)"
        )
    return X


def _parse_target(
    cells: np.ndarray, lines: list[int], name: str, task: str | None, path: Path
) -> np.ndarray:
    """Targets as int64, float64 or, for text labels, str."""
    empty = np.flatnonzero(cells == "")
    if len(empty):
        raise DataError(f"{path}, line {lines[empty[0]]}: the target ({name!r}) is empty")
    for kind in (np.int64, np.float64):
        try:
            y = cells.astype(kind)
        except (ValueError, OverflowError):
            continue
        if kind is np.float64 and task != "regression" and all(map(_INTEGER.fullmatch, cells)):
            # Integers beyond int64: as floats, 10**30 and 10**30 + 1 would be one class.
            # Kept exact, as text labels (a regression target may round).
            return np.array([str(int(v)) for v in cells.tolist()])
        if kind is np.float64 and not np.all(np.isfinite(y)):
            i = int(np.flatnonzero(~np.isfinite(y))[0])
            raise DataError(
                f"{path}, line {lines[i]}: the target ({name!r}) is {str(cells[i])!r}; "
                "targets must be finite numbers or text labels"
            )
        return y
    if task != "classification":
        numeric = np.array([_is_number(v) for v in cells.tolist()])
        if task == "regression" or numeric.mean() > 0.5:
            i = int(np.flatnonzero(~numeric)[0])
            why = (
                "task='regression' needs numeric targets"
                if task == "regression"
                else "while the column is numeric elsewhere; fix the value, or pass "
                "task='classification' to read the targets as text labels"
            )
            raise DataError(
                f"{path}, line {lines[i]}: the target ({name!r}) is {str(cells[i])!r}, "
                f"not a number, {why}"
            )
    return cells.astype(str)


def _read_table(
    path: Path, delimiter: str | None, header: bool | None, min_fields: int
) -> tuple[list[list[str]], list[int], list[str] | None, int]:
    """The data rows of a CSV file, their line numbers, the column names and the width.

    Checks what every CSV reader needs: a non-empty file, at least ``min_fields``
    columns, the same number of fields on every row, and data after the header.
    """
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    rows, lines = _read_rows(path, delimiter)
    if not rows:
        raise DataError(f"{path} is empty: there are no rows to read")
    n_fields = len(rows[0])
    if n_fields < min_fields:
        raise DataError(
            f"{path}, line {lines[0]}: found {n_fields} column(s); a data file needs at least "
            f"one feature column and a target column, separated by {delimiter!r}"
        )
    for row, line in zip(rows, lines, strict=True):
        if len(row) != n_fields:
            raise DataError(
                f"{path}, line {line}: expected {n_fields} fields (as on line {lines[0]}), "
                f"found {len(row)}"
            )
    if header is None:
        header = _has_header(rows)
    names = [name.strip() or f"column{j}" for j, name in enumerate(rows[0])] if header else None
    body, body_lines = (rows[1:], lines[1:]) if header else (rows, lines)
    if not body:
        raise DataError(f"{path} has a header row but no data rows")
    return body, body_lines, names, n_fields


def read_csv(
    path: PathLike,
    target: int | str | None = None,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    task: str | None = None,
) -> DataSpec:
    """Read a CSV file of numeric features and one target column.

    Parameters
    ----------
    path : str or os.PathLike
        The file. UTF-8 text (a byte-order mark is ignored); blank lines are skipped.
    target : str or int, optional
        The target column, by header name or by index (negative counts from the
        end); default the last column. A string of digits is taken as an index
        when no column has that name.
    delimiter : str, optional
        Field separator; default ``','`` (``'\\t'`` for ``.tsv`` files).
    header : bool, optional
        Whether the first row holds column names; default detected: the first
        row is a header when it has a non-number in a column of numbers.
    task : {'classification', 'regression'}, optional
        Default inferred from the targets (:func:`~retrograd.data.spec.infer_task`).

    Returns
    -------
    DataSpec
        ``X`` float64 of shape (n_rows, n_columns - 1); ``y`` int64, float64 or
        str (text labels are kept as they are).

    Raises
    ------
    DataError
        For a malformed file, naming the file and the line: a row with the wrong
        number of fields, a feature value that is not a finite number, an empty
        target, or an unknown target column.
    FileNotFoundError
        When ``path`` does not exist.
    """
    path = Path(path)
    if task not in (None, *TASKS):
        raise DataError(f"task must be 'classification' or 'regression', got {task!r}")
    body, body_lines, names, n_fields = _read_table(path, delimiter, header, min_fields=2)
    t = _target_column(target, names, n_fields, path)
    feature_cols = [j for j in range(n_fields) if j != t]
    feature_names = [names[j] for j in feature_cols] if names else [f"x{j}" for j in feature_cols]
    target_name = names[t] if names else "target"
    X = _parse_features(body, feature_cols, body_lines, feature_names, path)
    targets = np.array([row[t].strip() for row in body], dtype=str)
    y = _parse_target(targets, body_lines, target_name, task, path)
    return _file_spec(
        path, X, y, task, feature_names, target_name, "CSV file", named_features=names is not None
    )


def _file_spec(
    path: Path,
    X: np.ndarray,
    y: np.ndarray,
    task: str | None,
    feature_names: list[str],
    target_name: str,
    kind: str,
    **extra: Any,
) -> DataSpec:
    """The DataSpec of a ``kind`` of file: its task checked against (or inferred from) ``y``."""
    task, y = resolve_task(task, y, str(path))
    return DataSpec(
        X=X,
        y=y,
        task=task,
        feature_names=feature_names,
        name=path.name,
        target_name=target_name,
        description=f"{kind} {path}",
        **extra,
    )


def read_csv_features(
    path: PathLike,
    drop: int | str | None = None,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Read the feature columns of a CSV file that has no target: new data to predict.

    The same rules and messages as :func:`read_csv` (header detection, the
    file and line of a malformed row), without a target column.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    drop : str or int, optional
        A column to leave out (say, a target the file still holds), by name or index.
    delimiter : str, optional
        Field separator; default ``','`` (``'\\t'`` for ``.tsv`` files).
    header : bool, optional
        Whether the first row holds column names; default detected.

    Returns
    -------
    X : numpy.ndarray of shape (n_rows, n_features)
        float64.
    feature_names : list of str
        The header's names, or ``x0, x1, ...`` (numbered by column) without one.
    """
    table = read_feature_table(path, drop, delimiter=delimiter, header=header)
    return table.X, table.feature_names


class FeatureTable(NamedTuple):
    """What :func:`read_feature_table` reads: the features, their names, and whether the
    names came from a header row (else they are ``x0, x1, ...`` by column)."""

    X: np.ndarray
    feature_names: list[str]
    has_header: bool


def read_feature_table(
    path: PathLike,
    drop: int | str | None = None,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
) -> FeatureTable:
    """:func:`read_csv_features`, saying also whether the file had a header row.

    A model matches the columns of a file with a header by name (in any order),
    and those of a file without one by position.
    """
    path = Path(path)
    body, body_lines, names, n_fields = _read_table(path, delimiter, header, min_fields=1)
    dropped = _target_column(drop, names, n_fields, path) if drop is not None else None
    columns = [j for j in range(n_fields) if j != dropped]
    if not columns:
        raise DataError(f"{path}: no feature columns are left after dropping column {drop!r}")
    feature_names = [names[j] for j in columns] if names else [f"x{j}" for j in columns]
    X = _parse_features(body, columns, body_lines, feature_names, path)
    return FeatureTable(X, feature_names, names is not None)


# ------------------------------------------------------------------------------------ .npz


def read_npz(path: PathLike, *, task: str | None = None) -> DataSpec:
    """Read a NumPy ``.npz`` archive holding arrays ``X`` and ``y``.

    Made by ``numpy.savez(path, X=features, y=targets)``; an optional
    ``feature_names`` array of strings names the columns. Pickled (object)
    arrays are refused: the file is read with ``allow_pickle=False``.

    Parameters
    ----------
    path : str or os.PathLike
        The archive.
    task : {'classification', 'regression'}, optional
        Default inferred from ``y``.

    Returns
    -------
    DataSpec
        ``X`` of shape (n, d): float32 stays float32, other numbers become float64,
        and arrays of more than two dimensions are flattened per sample.
    """
    path = Path(path)
    _check_npz(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataError(f"{path} is not a readable .npz archive: {e}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(
            f"{path} holds a single array, not an .npz archive of X and y; "
            "save it with numpy.savez(path, X=features, y=targets)"
        )
    with archive:
        keys = list(archive.keys())
        missing = [k for k in ("X", "y") if k not in keys]
        if missing:
            held = ", ".join(keys) if keys else "no arrays"
            raise DataError(
                f"{path} has no array named {' or '.join(repr(k) for k in missing)} "
                f"(it holds: {held}); save it with numpy.savez(path, X=features, y=targets)"
            )
        arrays = {}
        for key in ("X", "y", "feature_names", "layout"):
            if key not in keys:
                continue
            try:
                arrays[key] = archive[key]
            except (ValueError, OSError, zipfile.BadZipFile, zlib.error) as e:
                raise DataError(
                    f"{path}: cannot read array {key!r} ({e}); retrograd never unpickles data, "
                    "so store numbers or strings, not Python objects"
                ) from None
    X, y = arrays["X"], arrays["y"]
    if X.dtype.kind not in "biuf":
        raise DataError(f"{path}: X must hold numbers, but its dtype is {X.dtype}")
    if X.ndim < 2:
        raise DataError(
            f"{path}: X must have shape (samples, features), but its shape is {X.shape}"
        )
    if X.shape[0] == 0 or math.prod(X.shape[1:]) == 0:
        what = "no samples" if X.shape[0] == 0 else "no features"
        raise DataError(f"{path}: X has {what} (its shape is {X.shape}); there is nothing to use")
    sample_shape = _npz_sample_shape(X.shape, arrays.get("layout"), path)
    X = X.reshape(len(X), -1)
    X = X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(
            f"{path}: y must be 1-D (one target per sample), but its shape is {y.shape}"
        )
    if len(y) != len(X):
        raise DataError(f"{path}: X has {len(X)} samples but y has {len(y)}")
    if y.dtype.kind == "S":
        y = y.astype(str)
    if y.dtype.kind not in "biufU":
        raise DataError(f"{path}: y must hold numbers or strings, but its dtype is {y.dtype}")
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        raise DataError(
            f"{path}: X holds a non-finite value ({X[tuple(bad[0])]}) at row {bad[0][0]}, "
            f"column {bad[0][1]}; missing values are not supported"
        )
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise DataError(f"{path}: y holds NaN or infinite values")
    names = arrays.get("feature_names")
    named = names is not None and names.shape == (X.shape[1],)
    if named:
        feature_names = [str(n) for n in names.tolist()]
    else:
        feature_names = [f"x{j}" for j in range(X.shape[1])]
    return _file_spec(
        path,
        X,
        y,
        task,
        feature_names,
        "y",
        "NumPy archive",
        named_features=named,
        sample_shape=sample_shape,
    )


#: The most memory one data file may take once read (its arrays and their float copies),
#: unless the environment variable ``RETROGRAD_MAX_DATA_BYTES`` says otherwise.
DEFAULT_MAX_DATA_BYTES = 4 * 2**30
#: A compressed array that expands more than this many times, to more than
#: :data:`_BOMB_BYTES`, is refused as a zip bomb: real data does not compress so well.
_BOMB_RATIO = 100
_BOMB_BYTES = 64 * 2**20


def max_data_bytes() -> int:
    """The memory a data file may take once read: ``RETROGRAD_MAX_DATA_BYTES`` or 4 GiB."""
    text = os.environ.get("RETROGRAD_MAX_DATA_BYTES")
    if text is None:
        return DEFAULT_MAX_DATA_BYTES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise DataError(
            f"RETROGRAD_MAX_DATA_BYTES must be a positive number of bytes, got {text!r}"
        )
    return value


def _check_size(path: Path, what: str, nbytes: int) -> None:
    """Refuse data that would take more than :func:`max_data_bytes` once read."""
    limit = max_data_bytes()
    if nbytes > limit:
        raise DataError(
            f"{path}: {what} would take {nbytes / 2**30:,.2f} GiB of memory once read, more "
            f"than the limit of {limit / 2**30:,.2f} GiB; it is damaged, or set "
            "RETROGRAD_MAX_DATA_BYTES to allow more"
        )


def _npy_header(f: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an .npy stream declares, read from its header alone."""
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(f)
    else:
        shape, _, dtype = fmt.read_array_header_2_0(f)
    return tuple(shape), dtype


def _check_npz(path: Path) -> None:
    """Check each array's declared size against its zip entry and the memory limit, reading
    headers only: a small file claiming 10**12 values, or a zip bomb, is refused at once."""
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not an .npz archive") from None
    if magic == b"\x93NUMPY":
        raise DataError(
            f"{path} holds a single array, not an .npz archive of X and y; "
            "save it with numpy.savez(path, X=features, y=targets)"
        )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise DataError(f"{path} is not a readable .npz archive: {e}") from None
    total = 0
    with archive:
        for key in ("X", "y", "feature_names", "layout"):
            try:
                info = archive.getinfo(f"{key}.npy")
            except KeyError:
                continue
            expands = info.file_size / max(info.compress_size, 1)
            if info.file_size > _BOMB_BYTES and expands > _BOMB_RATIO:
                raise DataError(
                    f"{path}: array {key!r} expands {expands:,.0f} times, from "
                    f"{info.compress_size:,} to {info.file_size:,} bytes; refused as a zip bomb "
                    "(real data does not compress so well)"
                )
            try:
                with archive.open(info) as f:
                    shape, dtype = _npy_header(f)
                    header = f.tell()
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                raise DataError(f"{path}: cannot read the header of array {key!r}: {e}") from None
            count = math.prod(shape)
            nbytes = count * dtype.itemsize
            if nbytes != info.file_size - header and dtype.kind != "O":
                raise DataError(
                    f"{path}: array {key!r} declares shape {shape} of {dtype}, {nbytes:,} bytes, "
                    f"but the archive holds {max(info.file_size - header, 0):,}; it is damaged"
                )
            total += nbytes + (8 * count if key == "X" and dtype.kind != "f" else 0)
        _check_size(path, "its arrays", total)


#: What an ``.npz`` archive's optional ``layout`` string says its ``X`` is (N: samples).
NPZ_LAYOUTS = ("NF", "NL", "NCL", "NHW", "NCHW")


def _npz_sample_shape(
    shape: tuple[int, ...], layout: np.ndarray | None, path: Path
) -> tuple[int, ...] | None:
    """One sample's channels-first shape for a convolutional network, None for a table.

    Without a ``layout``: 2-D ``X`` is a table, 3-D one-channel images (N x H x W,
    MNIST's own layout), 4-D images N x C x H x W; more dimensions are flattened
    (an MLP can still read them). ``layout='NL'`` marks 2-D ``X`` as sequences
    and ``'NCL'`` 3-D ``X`` as multi-channel sequences.
    """
    if layout is None:
        name = {2: "NF", 3: "NHW", 4: "NCHW"}.get(len(shape))
    else:
        name = str(layout.item() if layout.ndim == 0 else layout).upper()
        if name not in NPZ_LAYOUTS or len(name) != len(shape):
            raise DataError(
                f"{path}: layout {name!r} does not fit X of shape {shape}; expected one of "
                f"{', '.join(n for n in NPZ_LAYOUTS if len(n) == len(shape)) or 'none'}"
            )
    sizes = shape[1:]
    return {"NL": (1, *sizes), "NCL": sizes, "NHW": (1, *sizes), "NCHW": sizes}.get(name or "")


# ------------------------------------------------------------------------------------ IDX

# Type codes of the IDX format (the third byte of the magic number); multi-byte
# values are big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: PathLike) -> np.ndarray:
    """Read one IDX file (the format of MNIST and Fashion-MNIST), raw or gzipped.

    The format is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then
    ``ndim`` big-endian uint32 sizes, then the values in C order. Type codes:
    ``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D``
    float32, ``0x0E`` float64. A gzipped file is recognised by its content, not
    its name.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    numpy.ndarray
        Of the shape in the header, in native byte order (a copy, writable).

    Raises
    ------
    DataError
        For a bad magic number, a damaged gzip stream, or a file shorter or
        longer than its header says; the message names the file.
    """
    path = Path(path)
    gzipped = False
    try:
        with open(path, "rb") as f:
            gzipped = f.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rb") as stream:  # type: ignore[operator]
            return _read_idx_stream(stream, path, gzipped)
    except (OSError, EOFError, zlib.error) as e:
        if not gzipped or isinstance(e, FileNotFoundError | IsADirectoryError):
            raise
        raise DataError(f"{path}: the gzip data is damaged or truncated ({e})") from None


def _read_idx_stream(stream: IO[bytes], path: Path, gzipped: bool) -> np.ndarray:
    """The array of an IDX stream; its declared size is checked before the data is read."""
    head = stream.read(4)
    if len(head) < 4:
        raise DataError(
            f"{path} is not an IDX file: it has {len(head)} bytes, fewer than the 4-byte "
            "magic number"
        )
    code, ndim = head[2], head[3]
    if head[:2] != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path} is not an IDX file: bad magic number 0x{head.hex()} (expected two zero "
            "bytes, a type code 08, 09, 0b, 0c, 0d or 0e, and the number of dimensions, "
            "such as 0x00000803 for uint8 images)"
        )
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(
            f"{path} is truncated: its header declares {ndim} dimensions but the file ends "
            f"after {4 + len(sizes)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", sizes)
    dtype = _IDX_DTYPES[code]
    count = math.prod(shape)
    expected = count * dtype.itemsize
    if not gzipped:  # the file's size is known: a header claiming more is refused unread
        found = os.fstat(stream.fileno()).st_size - 4 - 4 * ndim
        if found < expected:
            raise DataError(
                f"{path} is truncated: its header declares shape {shape} of {dtype.name}, "
                f"{expected} bytes of data, but only {found} bytes follow"
            )
    _check_size(path, f"its header's shape {shape} of {dtype.name}", expected + 4 * count)
    raw = stream.read(expected + 1)
    if len(raw) < expected:
        raise DataError(
            f"{path} is truncated: its header declares shape {shape} of {dtype.name}, "
            f"{expected} bytes of data, but only {len(raw)} bytes follow"
        )
    if len(raw) > expected:
        # Counted up to a bound: the rest of a gzip stream may be a bomb.
        extra = len(raw) - expected + len(stream.read(2**20))
        more = f"{extra}" if extra <= 2**20 else f"more than {2**20}"
        raise DataError(
            f"{path} has {more} bytes more than its header (shape {shape} of "
            f"{dtype.name}) declares; it is damaged or not an IDX file"
        )
    data = np.frombuffer(raw, dtype=dtype, count=count).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


# MNIST names them train-images-idx3-ubyte[.gz]; some copies use a dot before "idx".
_IDX_NAME = re.compile(r"^(train|t10k)-(images|labels)[-.]idx\d-ubyte(\.gz)?$", re.IGNORECASE)
IDX_SPLITS = {"train": ("train",), "test": ("t10k",), "all": ("train", "t10k")}


def _find_idx_files(folder: Path) -> dict[tuple[str, str], Path]:
    """``(prefix, kind) -> path`` for the MNIST-named files in ``folder``; raw beats gzipped."""
    found: dict[tuple[str, str], Path] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: (p.name.lower().endswith(".gz"), p.name)):
        match = _IDX_NAME.match(entry.name)
        if match and entry.is_file():
            found.setdefault((match[1].lower(), match[2].lower()), entry)
    return found


def read_idx_folder(path: PathLike, *, split: str = "train") -> DataSpec:
    """Read a folder of MNIST-format IDX files, as MNIST and Fashion-MNIST are distributed.

    The folder holds ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``
    for the training part and ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte`` for the test part, each raw or gzipped (``.gz``).

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    split : {'train', 'test', 'all'}, default='train'
        Which part to read: ``'train'``, ``'test'`` (the ``t10k`` files) or both,
        training samples first.

    Returns
    -------
    DataSpec
        ``X`` float32 of shape (n, rows * cols): each image flattened, uint8
        pixels scaled to [0, 1] (other types are kept as they are); ``y`` int64;
        ``sample_shape`` (1, rows, cols), the image shape a convolutional
        network reads.
    """
    folder = Path(path)
    if split not in IDX_SPLITS:
        raise DataError(f"split must be one of {', '.join(IDX_SPLITS)}, got {split!r}")
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    found = _find_idx_files(folder)
    Xs, ys = [], []
    shapes: set[tuple[int, ...]] = set()
    for prefix in IDX_SPLITS[split]:
        images, labels = found.get((prefix, "images")), found.get((prefix, "labels"))
        if images is None or labels is None:
            present = ", ".join(p.name for p in found.values()) or "none"
            raise DataError(
                f"{folder} lacks the {prefix}-images and {prefix}-labels IDX files for "
                f"split={split!r} (named as MNIST's: {prefix}-images-idx3-ubyte and "
                f"{prefix}-labels-idx1-ubyte, optionally .gz); IDX files found: {present}"
            )
        X, y = read_idx(images), read_idx(labels)
        if X.ndim < 2:
            raise DataError(f"{images}: expected images of shape (n, rows, cols), got {X.shape}")
        if y.ndim != 1:
            raise DataError(f"{labels}: expected labels of shape (n,), got {y.shape}")
        if len(X) != len(y):
            raise DataError(
                f"{images.name} holds {len(X)} images but {labels.name} {len(y)} labels"
            )
        if X.size == 0:
            raise DataError(f"{images}: holds no images (its shape is {X.shape})")
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            i = tuple(int(v) for v in np.argwhere(~np.isfinite(X))[0])
            raise DataError(
                f"{images}: image {i[0]} holds {X[i]} at {i[1:]}; pixel values must be finite "
                "numbers (missing values are not supported)"
            )
        if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
            i = int(np.flatnonzero(~(np.isfinite(y) & (y == np.round(y))))[0])
            raise DataError(
                f"{labels}: label {i} is {y[i]}, not a whole number; class labels must be integers"
            )
        shapes.add(X.shape[1:])
        flat = X.reshape(len(X), -1).astype(np.float32)
        if X.dtype == np.uint8:
            flat /= 255.0
        Xs.append(flat)
        ys.append(y.astype(np.int64))
    widths = {x.shape[1] for x in Xs}
    if len(widths) > 1:
        raise DataError(f"{folder}: the training and test images differ in size")
    X = Xs[0] if len(Xs) == 1 else np.concatenate(Xs)
    y = ys[0] if len(ys) == 1 else np.concatenate(ys)
    return DataSpec(
        X=X,
        y=y,
        task="classification",
        feature_names=[f"pixel{j}" for j in range(X.shape[1])],
        name=folder.name,
        target_name="label",
        description=f"IDX images and labels in {folder} (split={split!r})",
        sample_shape=_idx_sample_shape(shapes.pop()) if len(shapes) == 1 else None,
        named_features=False,
    )


def _idx_sample_shape(sizes: tuple[int, ...]) -> tuple[int, ...] | None:
    """rows x cols images are one channel (1, rows, cols); C x rows x cols keep theirs."""
    return {2: (1, *sizes), 3: sizes}.get(len(sizes))
