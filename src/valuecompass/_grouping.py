"""The ways answers are grouped for alignment: by context, its axes, value or type.

Kept apart from the metrics (which need pandas) so the command line can offer the choices
without loading them.
"""

from __future__ import annotations

from typing import Literal

GroupBy = Literal["context", "country", "topic", "value", "type"]
GROUPS: tuple[GroupBy, ...] = ("context", "country", "topic", "value", "type")
