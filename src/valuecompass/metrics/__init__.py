"""Pure metrics over tidy answer tables: alignment (rate, distance, ranking) at any grouping the
instrument declares, and value profiles. ``align`` returns an :class:`Alignment`; the array
functions (``rate_metrics``, ``mean_distance``, ...) work on any leading axes. The value–action
gap: ``gap`` (stated ratings against acted choices) returns a :class:`Gap`; variant agreement
and position bias describe the choices themselves."""

from valuecompass.metrics._alignment import (
    GROUPS,
    Alignment,
    GroupBy,
    GroupDistance,
    NoOverlapError,
    align,
)
from valuecompass.metrics._choices import (
    UNPARSED,
    PositionBias,
    Unparsed,
    choice_summary,
    pair_agreement,
    position_bias,
    variant_agreement,
)
from valuecompass.metrics._gap import (
    GAP_COLUMNS,
    Gap,
    GapError,
    acted_scores,
    choice_answers,
    gap,
    misaligned_shares,
    with_model_scales,
)
from valuecompass.metrics._profile import (
    Profile,
    value_profile,
)
from valuecompass.metrics._rates import (
    METRICS,
    THRESHOLD,
    Confusion,
    binarise,
    cell_distance,
    confusion,
    confusion_metrics,
    mean_distance,
    means_distance,
    normalise,
    rank_descending,
    rate_metrics,
    scale_ends,
)

__all__ = [
    "GAP_COLUMNS",
    "GROUPS",
    "METRICS",
    "THRESHOLD",
    "UNPARSED",
    "Alignment",
    "Confusion",
    "Gap",
    "GapError",
    "GroupBy",
    "GroupDistance",
    "NoOverlapError",
    "PositionBias",
    "Profile",
    "Unparsed",
    "acted_scores",
    "align",
    "binarise",
    "cell_distance",
    "choice_answers",
    "choice_summary",
    "confusion",
    "confusion_metrics",
    "gap",
    "mean_distance",
    "means_distance",
    "misaligned_shares",
    "normalise",
    "pair_agreement",
    "position_bias",
    "rank_descending",
    "rate_metrics",
    "scale_ends",
    "value_profile",
    "variant_agreement",
    "with_model_scales",
]
