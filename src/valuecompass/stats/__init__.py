"""Uncertainty and validity: intervals, human ceilings, prompt sensitivity, distributions,
significance and irrelevance. See each function's docstring for what it estimates."""

from valuecompass.prompts import FACTORS
from valuecompass.stats._bootstrap import Bootstrap, Plan, StatsError, bootstrap
from valuecompass.stats._ceiling import Ceiling, human_ceiling
from valuecompass.stats._distributions import (
    SUPPORT,
    Distributions,
    answer_distributions,
    distribution_distances,
    jensen_shannon,
    scaled_wasserstein,
)
from valuecompass.stats._groups import GROUPINGS, STATISTICS, Layout
from valuecompass.stats._intervals import METHODS
from valuecompass.stats._irrelevant import (
    compare_irrelevant,
    irrelevant_rates,
    load_irrelevant_option,
    offer_irrelevant,
    write_prompts,
)
from valuecompass.stats._plan import Pilot, Target, make_pilot, plan_people, simulate
from valuecompass.stats._plan_costs import Costs, estimate_tokens, with_costs
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
from valuecompass.stats._summary import Rigor, rigor
from valuecompass.stats._units import Units, arrange

__all__ = [
    "FACTORS",
    "GROUPINGS",
    "METHODS",
    "STATISTICS",
    "SUPPORT",
    "Bootstrap",
    "Ceiling",
    "Costs",
    "Distributions",
    "Layout",
    "Pilot",
    "Plan",
    "Rigor",
    "Sensitivity",
    "StatsError",
    "Target",
    "Units",
    "answer_distributions",
    "answers_factors",
    "arrange",
    "benjamini_hochberg",
    "bootstrap",
    "compare_irrelevant",
    "default_variant_factors",
    "distribution_distances",
    "estimate_tokens",
    "factor_table",
    "human_ceiling",
    "irrelevant_rates",
    "jensen_shannon",
    "label_flips",
    "load_irrelevant_option",
    "make_pilot",
    "offer_irrelevant",
    "permutation_test",
    "plan_people",
    "prompt_sensitivity",
    "rigor",
    "scaled_wasserstein",
    "simulate",
    "variance_shares",
    "variant_factors",
    "variant_scores",
    "with_costs",
    "write_prompts",
]
