"""The one CSV-as-table reader the people's files and the coding tables share."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuecompass.common import read_frame
from valuecompass.errors import ValueCompassError


class Bad(ValueCompassError, ValueError):
    """The error a caller names."""


def test_every_cell_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffPID,location,wealth\n007,NA,\n".encode())  # a BOM, as Excel writes
    df = read_frame(path, Bad)
    assert list(df.columns) == ["PID", "location", "wealth"]
    # no number, no missing value: "007" keeps its zeros, "NA" and "" are the texts they are
    assert df.to_dict("records") == [{"PID": "007", "location": "NA", "wealth": ""}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "t.csv: the file is empty"),
        (b"a,b,a\n1,2,3\n", "t.csv line 1: column 'a' appears more than once in the header"),
        (b"a,b\n1,2\n1,2,3\n", "t.csv: cannot read as CSV (Error tokenizing data"),
        (b"a,b\n1,\xff\n", "t.csv line 2: not UTF-8 text (byte 0xff)"),
    ],
)
def test_bad_files_name_the_file_in_the_callers_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(Bad) as err:
        read_frame(path, Bad)
    assert str(err.value).startswith(f"{tmp_path}/") and message in str(err.value)
    with pytest.raises(Bad, match="no such file"):
        read_frame(tmp_path / "absent.csv", Bad)
