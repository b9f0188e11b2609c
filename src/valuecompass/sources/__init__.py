"""Sources of answers, above the store: a ``--humans`` or ``--llm`` SRC (the paper's released
layout, people's CSVs, tidy CSVs, run and survey stores) read into the tidy answer table;
exclusions; whether a run and an instrument can be compared, and which instrument a command
reads its sources with (the one given, or the one their stores kept); a stored run's scales; the
value–action gap study's released files (stated values, actions and choices) for ``gap``;
action sets from tidy CSV or JSONL files and from the study's release; reviews of actions
from tidy CSVs and from the study's rated sample."""

from valuecompass.sources._action_texts import load_action_texts
from valuecompass.sources._actions import (
    ActionFile,
    ActionFileError,
    import_actions,
    read_action_file,
    write_action_csv,
)
from valuecompass.sources._actions_release import is_release_header
from valuecompass.sources._comparable import (
    IncomparableError,
    Side,
    check_comparable,
    check_run,
    difference,
    record_instrument,
    run_instrument,
)
from valuecompass.sources._exclusions import (
    ExclusionError,
    Exclusions,
    apply_exclusions,
    read_exclusions,
)
from valuecompass.sources._gap_choices import (
    READINGS,
    Reading,
    read_choice_log,
    read_choice_results,
)
from valuecompass.sources._gap_load import (
    load_choices,
    load_stated,
)
from valuecompass.sources._gap_release import (
    POLARITIES,
    Actions,
    GapFileError,
    read_actions_file,
    read_stated_file,
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
from valuecompass.sources._own import Stored, choose_instrument, stored_instrument
from valuecompass.sources._people import is_people_store, people_choices
from valuecompass.sources._released import (
    model_folders,
    read_model_folder,
    released_levels,
)
from valuecompass.sources._reviews import (
    ReviewFileError,
    ReviewImport,
    import_reviews,
    is_rated_sample,
    read_rated_sample,
    read_review_file,
)

__all__ = [
    "POLARITIES",
    "READINGS",
    "ActionFile",
    "ActionFileError",
    "Actions",
    "ExclusionError",
    "Exclusions",
    "GapFileError",
    "IncomparableError",
    "Reading",
    "ReviewFileError",
    "ReviewImport",
    "Scoring",
    "Side",
    "SourceError",
    "Stored",
    "apply_exclusions",
    "check_comparable",
    "check_run",
    "choose_instrument",
    "difference",
    "import_actions",
    "import_reviews",
    "is_people_store",
    "is_rated_sample",
    "is_release_header",
    "is_store",
    "load_action_texts",
    "load_choices",
    "load_source",
    "load_stated",
    "model_folders",
    "people_choices",
    "read_action_file",
    "read_actions_file",
    "read_choice_log",
    "read_choice_results",
    "read_exclusions",
    "read_human_folder",
    "read_model_folder",
    "read_rated_sample",
    "read_review_file",
    "read_stated_file",
    "record_instrument",
    "released_levels",
    "run_instrument",
    "score_by_probs",
    "stored_instrument",
    "write_action_csv",
]
