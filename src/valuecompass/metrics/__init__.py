"""Pure metrics over tidy answer tables: alignment (rate, distance, ranking) at any grouping the
instrument declares, and value profiles. ``align`` returns an :class:`Alignment`; the array
functions (``rate_metrics``, ``mean_distance``, ...) work on any leading axes."""

from valuecompass.metrics._alignment import (
    GROUPS,
    Alignment,
    GroupBy,
    GroupDistance,
    NoOverlapError,
    align,
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
    "GROUPS",
    "METRICS",
    "THRESHOLD",
    "Alignment",
    "Confusion",
    "GroupBy",
    "GroupDistance",
    "NoOverlapError",
    "Profile",
    "align",
    "binarise",
    "cell_distance",
    "confusion",
    "confusion_metrics",
    "mean_distance",
    "means_distance",
    "normalise",
    "rank_descending",
    "rate_metrics",
    "scale_ends",
    "value_profile",
]
