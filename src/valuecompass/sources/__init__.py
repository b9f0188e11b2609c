"""Sources of answers, above the store: a ``--humans`` or ``--llm`` SRC (the paper's released
layout, people's CSVs, tidy CSVs, run and survey stores) read into the tidy answer table;
exclusions; whether a run and an instrument can be compared; a stored run's scales."""

from valuecompass.sources._comparable import (
    IncomparableError,
    check_comparable,
    check_run,
    run_instrument,
)
from valuecompass.sources._exclusions import (
    ExclusionError,
    Exclusions,
    apply_exclusions,
    read_exclusions,
)
from valuecompass.sources._humans import (
    read_human_folder,
)
from valuecompass.sources._load import (
    Scoring,
    SourceError,
    is_store,
    load_source,
    score_by_probs,
)
from valuecompass.sources._released import (
    model_folders,
    read_model_folder,
    released_levels,
)

__all__ = [
    "ExclusionError",
    "Exclusions",
    "IncomparableError",
    "Scoring",
    "SourceError",
    "apply_exclusions",
    "check_comparable",
    "check_run",
    "is_store",
    "load_source",
    "model_folders",
    "read_exclusions",
    "read_human_folder",
    "read_model_folder",
    "released_levels",
    "run_instrument",
    "score_by_probs",
]
