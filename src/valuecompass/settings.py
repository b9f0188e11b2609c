"""The one place environment variables are read.

``VALUECOMPASS_DB`` (default store), ``VALUECOMPASS_SURVEY_DB`` (the survey's default store),
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` (the openai
backend), ``VALUECOMPASS_ADMIN_TOKEN`` (the survey's admin page).
"""

from __future__ import annotations

import os

KNOWN = (
    "VALUECOMPASS_DB",
    "VALUECOMPASS_SURVEY_DB",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "VALUECOMPASS_ADMIN_TOKEN",
)


def env(name: str, default: str | None = None) -> str | None:
    """The environment variable NAME, or DEFAULT when unset or empty."""
    if name not in KNOWN:
        raise KeyError(f"{name} is not a setting ValueCompass reads; known: {', '.join(KNOWN)}")
    value = os.environ.get(name, "")
    return value or default
