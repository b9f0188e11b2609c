"""Reading a user's CSV file: UTF-8 text, a header without repeats, rows with their lines.

Every importer reads its file through here, so every one says the same about the same mistake:
which file, which line, which column.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from valuecompass.errors import ValueCompassError

if TYPE_CHECKING:
    import pandas as pd


def read_text(path: Path, error: type[ValueCompassError]) -> str:
    """PATH's text; ERROR naming the file (and the line, for text that is not UTF-8)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise error(f"{path}: no such file") from exc
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start : exc.start + 1].hex()
        raise error(
            f"{path} line {line}: not UTF-8 text (byte 0x{byte}); save the file as UTF-8"
        ) from exc


def check_header(path: Path, header: list[str], error: type[ValueCompassError]) -> None:
    """ERROR if a column name appears more than once (pandas would rename the second)."""
    repeated = [name for name, n in Counter(c.strip() for c in header).items() if n > 1]
    if repeated:
        names = ", ".join(repr(n) for n in repeated)
        raise error(f"{path} line 1: column {names} appears more than once in the header")


def header_of(path: Path, error: type[ValueCompassError]) -> list[str]:
    """The header of the CSV at PATH, checked (empty for an empty file)."""
    text = read_text(path, error)
    header = next(csv.reader(io.StringIO(text)), [])
    check_header(path, header, error)
    return header


def read_frame(path: Path, error: type[ValueCompassError]) -> pd.DataFrame:
    """The CSV at PATH as a table of texts (none read as missing), its header checked; ERROR
    naming the file for an empty file or one that is not CSV."""
    import pandas as pd  # here: importing the CLI for --help loads no dataframe library

    text = read_text(path, error)
    try:
        check_header(path, next(csv.reader(io.StringIO(text)), []), error)
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise error(f"{path}: the file is empty") from exc
    except (csv.Error, pd.errors.ParserError) as exc:
        raise error(f"{path}: cannot read as CSV ({exc})") from exc


@dataclass(frozen=True)
class Rows:
    """A CSV's header and data rows, each with the line it starts on."""

    path: Path
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        return iter(self.rows)


def read_rows(path: Path, error: type[ValueCompassError]) -> Rows:
    """Every data row of the CSV at PATH as ``(line, {column: text})``; blank lines skipped."""
    text = read_text(path, error)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        check_header(path, header, error)
        rows: list[tuple[int, dict[str, str]]] = []
        start = reader.line_num + 1
        for fields in reader:
            if fields:
                if len(fields) != len(header):
                    raise error(
                        f"{path} line {start}: {len(fields)} fields, but the header has "
                        f"{len(header)}"
                    )
                rows.append((start, dict(zip(header, fields, strict=True))))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise error(f"{path} line {reader.line_num}: not valid CSV ({exc})") from exc
    return Rows(path, header, rows)
