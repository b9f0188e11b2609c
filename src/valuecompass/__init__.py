"""ValueCompass: measure how well a language model's values agree with people's, in context.

Public names are re-exported here; everything else is private to its module.
"""

from valuecompass._version import __version__
from valuecompass.alignment import (
    binarise,
    cell_distance,
    mean_distance,
    means_distance,
    normalise,
    rank_descending,
    rate_metrics,
)
from valuecompass.answers import ImportReport
from valuecompass.api import AlignResult, align_sources
from valuecompass.coding import (
    Codebook,
    code_answers,
    coder_agreement,
    cohen_kappa,
    import_codes,
    load_codebook,
    theme_counts,
)
from valuecompass.compare import Alignment, NoOverlapError, align
from valuecompass.errors import ValueCompassError
from valuecompass.exclusions import ExclusionError, Exclusions, apply_exclusions, read_exclusions
from valuecompass.instrument import Instrument, InstrumentError, load_instrument
from valuecompass.profile import Profile, value_profile
from valuecompass.prompts import PromptSet, load_prompts
from valuecompass.report import ReportError, ReportResult, build_report
from valuecompass.runner import RunConfig, RunSummary, run_model
from valuecompass.sources import load_source
from valuecompass.stats import (
    Bootstrap,
    Ceiling,
    Rigor,
    benjamini_hochberg,
    bootstrap,
    compare_irrelevant,
    default_variant_factors,
    distribution_distances,
    human_ceiling,
    irrelevant_rates,
    offer_irrelevant,
    permutation_test,
    prompt_sensitivity,
    rigor,
)

__all__ = [
    "AlignResult",
    "Alignment",
    "Bootstrap",
    "Ceiling",
    "Codebook",
    "ExclusionError",
    "Exclusions",
    "ImportReport",
    "Instrument",
    "InstrumentError",
    "NoOverlapError",
    "Profile",
    "PromptSet",
    "ReportError",
    "ReportResult",
    "Rigor",
    "RunConfig",
    "RunSummary",
    "ValueCompassError",
    "__version__",
    "align",
    "align_sources",
    "apply_exclusions",
    "benjamini_hochberg",
    "binarise",
    "bootstrap",
    "build_report",
    "cell_distance",
    "code_answers",
    "coder_agreement",
    "cohen_kappa",
    "compare_irrelevant",
    "default_variant_factors",
    "distribution_distances",
    "human_ceiling",
    "import_codes",
    "irrelevant_rates",
    "load_codebook",
    "load_instrument",
    "load_prompts",
    "load_source",
    "mean_distance",
    "means_distance",
    "normalise",
    "offer_irrelevant",
    "permutation_test",
    "prompt_sensitivity",
    "rank_descending",
    "rate_metrics",
    "read_exclusions",
    "rigor",
    "run_model",
    "theme_counts",
    "value_profile",
]
