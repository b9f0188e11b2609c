"""Uncertainty and validity: intervals, human ceilings, prompt sensitivity, distributions,
significance, irrelevance, and agreement between reviewers of actions. See each function's
docstring for what it estimates."""

from valuecompass.prompts import FACTORS
from valuecompass.stats._agreement import fleiss_kappa, krippendorff_alpha
from valuecompass.stats._bootstrap import Bootstrap, Plan, StatsError, bootstrap
from valuecompass.stats._ceiling import Ceiling, human_ceiling
from valuecompass.stats._centre import CENTRED_NOTE, centre_answers, midpoints
from valuecompass.stats._distributions import (
    Distributions,
    answer_distributions,
    common_support,
    distribution_distances,
    jensen_shannon,
    scaled_wasserstein,
)
from valuecompass.stats._groups import GROUPINGS, STATISTICS, Layout
from valuecompass.stats._intervals import METHODS, Method
from valuecompass.stats._irrelevant import (
    compare_irrelevant,
    irrelevant_rates,
    load_irrelevant_option,
    offer_irrelevant,
    write_prompts,
)
from valuecompass.stats._plan import (
    Pilot,
    Target,
    accuracy_curve,
    floor_note,
    make_pilot,
    plan_people,
    simulate,
)
from valuecompass.stats._plan_costs import Costs, estimate_io_tokens, estimate_tokens, with_costs
from valuecompass.stats._population import TARGET_WORDS, TARGETS, IntervalTarget
from valuecompass.stats._reliability import (
    ICCS,
    cronbach_alpha,
    icc,
    mcdonald_omega,
    one_factor_loadings,
    reliability,
    value_grouping,
)
from valuecompass.stats._reviews import CriterionSummary, ReviewSummary, review_summary
from valuecompass.stats._sensitivity import (
    Sensitivity,
    answers_factors,
    default_variant_factors,
    factor_table,
    label_flips,
    prompt_sensitivity,
    variance_shares,
    variant_factors,
    variant_scores,
)
from valuecompass.stats._significance import benjamini_hochberg, permutation_test
from valuecompass.stats._steer import steerability
from valuecompass.stats._structure import (
    NULLS,
    Null,
    Structure,
    circle_fit,
    circle_structure,
    classical_mds,
)
from valuecompass.stats._summary import Rigor, rigor
from valuecompass.stats._units import Units, arrange

__all__ = [
    "CENTRED_NOTE",
    "FACTORS",
    "GROUPINGS",
    "ICCS",
    "METHODS",
    "NULLS",
    "STATISTICS",
    "SUPPORT",
    "TARGETS",
    "TARGET_WORDS",
    "Bootstrap",
    "Ceiling",
    "Costs",
    "CriterionSummary",
    "Distributions",
    "IntervalTarget",
    "Layout",
    "Method",
    "Null",
    "Pilot",
    "Plan",
    "ReviewSummary",
    "Rigor",
    "Sensitivity",
    "StatsError",
    "Structure",
    "Target",
    "Units",
    "accuracy_curve",
    "answer_distributions",
    "answers_factors",
    "arrange",
    "benjamini_hochberg",
    "bootstrap",
    "centre_answers",
    "circle_fit",
    "circle_structure",
    "classical_mds",
    "common_support",
    "compare_irrelevant",
    "cronbach_alpha",
    "default_variant_factors",
    "distribution_distances",
    "estimate_io_tokens",
    "estimate_tokens",
    "factor_table",
    "fleiss_kappa",
    "floor_note",
    "human_ceiling",
    "icc",
    "irrelevant_rates",
    "jensen_shannon",
    "krippendorff_alpha",
    "label_flips",
    "load_irrelevant_option",
    "make_pilot",
    "mcdonald_omega",
    "midpoints",
    "offer_irrelevant",
    "one_factor_loadings",
    "permutation_test",
    "plan_people",
    "prompt_sensitivity",
    "reliability",
    "review_summary",
    "rigor",
    "scaled_wasserstein",
    "simulate",
    "steerability",
    "value_grouping",
    "variance_shares",
    "variant_factors",
    "variant_scores",
    "with_costs",
    "write_prompts",
]


def __getattr__(name: str) -> object:
    """``SUPPORT`` (deprecated): see :mod:`valuecompass.stats._distributions`."""
    if name in ("SUPPORT", "MIDPOINT"):
        from valuecompass.stats import _centre, _distributions

        return getattr(_distributions if name == "SUPPORT" else _centre, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
