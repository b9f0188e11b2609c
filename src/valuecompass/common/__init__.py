"""What every room reads files and writes to the terminal with: user CSVs and YAML content
files with errors naming file, line and column; the one place that builds rich consoles; the
one that takes passwords out of text shown or written; how numbers are shown (counts whole,
p-values never ``0.000``)."""

from valuecompass.common._console import (
    make_console,
)
from valuecompass.common._csv import (
    Rows,
    check_header,
    header_of,
    read_frame,
    read_rows,
    read_text,
)
from valuecompass.common._numbers import (
    is_count,
    is_p_value,
    p_text,
)
from valuecompass.common._redact import (
    redact_text,
)
from valuecompass.common._yaml import (
    MAX_FILE_BYTES,
    describe,
    line_of,
    read_file,
    read_mapping,
    validate,
)

__all__ = [
    "MAX_FILE_BYTES",
    "Rows",
    "check_header",
    "describe",
    "header_of",
    "is_count",
    "is_p_value",
    "line_of",
    "make_console",
    "p_text",
    "read_file",
    "read_frame",
    "read_mapping",
    "read_rows",
    "read_text",
    "redact_text",
    "validate",
]
