"""ValueCompass: measure how well a language model's values agree with people's, in context.

Public names are re-exported here; everything else is private to its module.

Importing the package loads nothing heavy: each public name is imported when first used
(so ``valuecompass --help`` starts without pandas, SQLAlchemy or a model runtime).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from valuecompass._version import __version__

if TYPE_CHECKING:
    from valuecompass.answers import ImportReport, normalise
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
    from valuecompass.errors import ValueCompassError
    from valuecompass.instrument import Instrument, InstrumentError, load_instrument
    from valuecompass.metrics import (
        Alignment,
        NoOverlapError,
        Profile,
        align,
        binarise,
        cell_distance,
        mean_distance,
        means_distance,
        rank_descending,
        rate_metrics,
        value_profile,
    )
    from valuecompass.prompts import PromptSet, load_prompts
    from valuecompass.report import ReportError, ReportResult, build_report
    from valuecompass.runner import RunConfig, RunSummary, run_model
    from valuecompass.sources import (
        ExclusionError,
        Exclusions,
        apply_exclusions,
        load_source,
        read_exclusions,
    )
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

#: Public name → the module it comes from.
_WHERE: dict[str, str] = {
    "binarise": "valuecompass.metrics",
    "cell_distance": "valuecompass.metrics",
    "mean_distance": "valuecompass.metrics",
    "means_distance": "valuecompass.metrics",
    "normalise": "valuecompass.metrics",
    "rank_descending": "valuecompass.metrics",
    "rate_metrics": "valuecompass.metrics",
    "ImportReport": "valuecompass.answers",
    "AlignResult": "valuecompass.api",
    "align_sources": "valuecompass.api",
    "Codebook": "valuecompass.coding",
    "code_answers": "valuecompass.coding",
    "coder_agreement": "valuecompass.coding",
    "cohen_kappa": "valuecompass.coding",
    "import_codes": "valuecompass.coding",
    "load_codebook": "valuecompass.coding",
    "theme_counts": "valuecompass.coding",
    "Alignment": "valuecompass.metrics",
    "NoOverlapError": "valuecompass.metrics",
    "align": "valuecompass.metrics",
    "ValueCompassError": "valuecompass.errors",
    "ExclusionError": "valuecompass.sources",
    "Exclusions": "valuecompass.sources",
    "apply_exclusions": "valuecompass.sources",
    "read_exclusions": "valuecompass.sources",
    "Instrument": "valuecompass.instrument",
    "InstrumentError": "valuecompass.instrument",
    "load_instrument": "valuecompass.instrument",
    "Profile": "valuecompass.metrics",
    "value_profile": "valuecompass.metrics",
    "PromptSet": "valuecompass.prompts",
    "load_prompts": "valuecompass.prompts",
    "ReportError": "valuecompass.report",
    "ReportResult": "valuecompass.report",
    "build_report": "valuecompass.report",
    "RunConfig": "valuecompass.runner",
    "RunSummary": "valuecompass.runner",
    "run_model": "valuecompass.runner",
    "load_source": "valuecompass.sources",
    "Bootstrap": "valuecompass.stats",
    "Ceiling": "valuecompass.stats",
    "Rigor": "valuecompass.stats",
    "benjamini_hochberg": "valuecompass.stats",
    "bootstrap": "valuecompass.stats",
    "compare_irrelevant": "valuecompass.stats",
    "default_variant_factors": "valuecompass.stats",
    "distribution_distances": "valuecompass.stats",
    "human_ceiling": "valuecompass.stats",
    "irrelevant_rates": "valuecompass.stats",
    "offer_irrelevant": "valuecompass.stats",
    "permutation_test": "valuecompass.stats",
    "prompt_sensitivity": "valuecompass.stats",
    "rigor": "valuecompass.stats",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'valuecompass' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
