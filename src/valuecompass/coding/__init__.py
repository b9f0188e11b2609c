"""Open-ended answers: a codebook as data, coding by model or by hand, counts, agreement."""

from valuecompass.coding._analysis import coder_agreement, cohen_kappa, presence, theme_counts
from valuecompass.coding._codebook import Codebook, CodingError, Theme, load_codebook
from valuecompass.coding._coder import Coder, backend_coder, code_answers, parse_codes
from valuecompass.coding._tables import (
    import_codes,
    load_answers,
    merge_codes,
    read_answers,
    read_codes,
    write_codes,
)

__all__ = [
    "Codebook",
    "Coder",
    "CodingError",
    "Theme",
    "backend_coder",
    "code_answers",
    "coder_agreement",
    "cohen_kappa",
    "import_codes",
    "load_answers",
    "load_codebook",
    "merge_codes",
    "parse_codes",
    "presence",
    "read_answers",
    "read_codes",
    "theme_counts",
    "write_codes",
]
