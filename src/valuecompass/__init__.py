"""ValueCompass: measure how well a language model's values agree with people's, in context.

Public names are re-exported here; everything else is private to its module.
"""

from valuecompass._version import __version__
from valuecompass.alignment import (
    binarise,
    cell_distance,
    mean_distance,
    normalise,
    rank_descending,
    rate_metrics,
)
from valuecompass.answers import ImportReport
from valuecompass.api import AlignResult, align_sources
from valuecompass.compare import Alignment, NoOverlapError, align
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, InstrumentError, load_instrument
from valuecompass.profile import Profile, value_profile
from valuecompass.prompts import PromptSet, load_prompts
from valuecompass.runner import RunConfig, RunSummary, run_model
from valuecompass.sources import load_source

__all__ = [
    "AlignResult",
    "Alignment",
    "ImportReport",
    "Instrument",
    "InstrumentError",
    "NoOverlapError",
    "Profile",
    "PromptSet",
    "RunConfig",
    "RunSummary",
    "ValueCompassError",
    "__version__",
    "align",
    "align_sources",
    "binarise",
    "cell_distance",
    "load_instrument",
    "load_prompts",
    "load_source",
    "mean_distance",
    "normalise",
    "rank_descending",
    "rate_metrics",
    "run_model",
    "value_profile",
]
