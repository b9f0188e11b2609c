"""Answers, below the store: the tidy answer table (one row per answer), parsing a raw
answer into a position or a missing answer with its reason, positions onto [0, 1] on their own
scale, and the checked reader of tidy CSVs; the tidy choice table (one row per forced choice
between an item's two actions); reading a generated action."""

from valuecompass.answers._actions import (
    FIRST_PERSON_EN,
    ParsedAction,
    first_person,
    parse_action,
)
from valuecompass.answers._choices import (
    INCLINATIONS,
    Inclination,
    choice_columns,
    choice_frame,
    is_choice_table,
    parse_choice,
)
from valuecompass.answers._parse import (
    AllParse,
    FormParse,
    Missing,
    Parsed,
    extract_json_object,
    parse_all,
    parse_form,
    parse_item,
    parse_option,
    python_literal,
)
from valuecompass.answers._scales import (
    HUMANS,
    ScaleError,
    Side,
    model_scale,
    normalise,
    on_reference_scale,
    reference_scale,
    row_scales,
    same_mapping,
    scale_ends,
    scores,
)
from valuecompass.answers._table import (
    ImportReport,
    columns,
    empty,
    frame,
    missing_as_irrelevant,
    missing_codes,
    read_csv,
    write_csv,
)
from valuecompass.answers._tidy import (
    read_tidy,
)

__all__ = [
    "FIRST_PERSON_EN",
    "HUMANS",
    "INCLINATIONS",
    "AllParse",
    "FormParse",
    "ImportReport",
    "Inclination",
    "Missing",
    "Parsed",
    "ParsedAction",
    "ScaleError",
    "Side",
    "choice_columns",
    "choice_frame",
    "columns",
    "empty",
    "extract_json_object",
    "first_person",
    "frame",
    "is_choice_table",
    "missing_as_irrelevant",
    "missing_codes",
    "model_scale",
    "normalise",
    "on_reference_scale",
    "parse_action",
    "parse_all",
    "parse_choice",
    "parse_form",
    "parse_item",
    "parse_option",
    "python_literal",
    "read_csv",
    "read_tidy",
    "reference_scale",
    "row_scales",
    "same_mapping",
    "scale_ends",
    "scores",
    "write_csv",
]
