"""Tables as Parquet: each column one plain type (text, whole number, number, true/false), so
any Parquet reader, pandas and Hugging Face's ``datasets`` read back the same rows and types."""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pandas.api import types

from valuecompass.errors import ValueCompassError

if TYPE_CHECKING:
    import pyarrow as pa


class ExportError(ValueCompassError):
    """An export that cannot be written: a missing extra, a folder not ours, a disk refusing."""


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ExportError("Parquet needs pyarrow: pip install 'valuecompass[export]'") from exc
    return pyarrow


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _kind(column: pd.Series) -> str:
    """The plain type a column is written as: ``bool``, ``int64``, ``float64`` or ``string``."""
    if types.is_bool_dtype(column.dtype):
        return "bool"
    if types.is_integer_dtype(column.dtype):
        return "int64"
    if types.is_float_dtype(column.dtype):
        return "float64"
    present = [v for v in column if not _missing(v)]
    if present and all(isinstance(v, bool) for v in present):
        return "bool"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int64"
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "float64"
    return "string"


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """FRAME as an Arrow table of plain types (a missing value stays missing, never 0 or "")."""
    pa = _pyarrow()
    arrays, fields = [], []
    for name in frame.columns:
        column = frame[name]
        kind = _kind(column)
        values = [None if _missing(v) else v for v in column.tolist()]
        if kind == "string":
            values = [None if v is None else str(v) for v in values]
        elif kind == "float64":
            values = [None if v is None else float(v) for v in values]
        elif kind == "int64":
            values = [None if v is None else int(v) for v in values]
        type_ = {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64(),
                 "string": pa.string()}[kind]  # fmt: skip
        arrays.append(pa.array(values, type=type_))
        fields.append(pa.field(str(name), type_))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def staging_name(path: Path) -> Path:
    """Where PATH is written before it replaces what is there (beside it, hidden)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_parquet(frame: pd.DataFrame, path: Path) -> pa.Table:
    """Write FRAME to PATH as Parquet (whole or not at all: a partial file never replaces one
    that was there); returns the table written."""
    pa = _pyarrow()
    table = arrow_table(frame)
    if not path.parent.is_dir():
        raise ExportError(f"{path}: cannot write: folder {path.parent} does not exist")
    tmp = staging_name(path)
    try:
        pa.parquet.write_table(table, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return table
