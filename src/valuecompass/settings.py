"""The one place environment variables are read.

``VALUECOMPASS_DB`` (default store), ``VALUECOMPASS_SURVEY_DB`` (the survey's default store),
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` (the openai backend), ``ANTHROPIC_API_KEY`` (the
anthropic backend), ``VALUECOMPASS_ADMIN_TOKEN``
(the survey's admin page), ``VALUECOMPASS_MODEL_CACHE`` (where the local backend keeps
converted model files; default ``$XDG_CACHE_HOME/valuecompass`` or ``~/.cache/valuecompass``),
``VALUECOMPASS_DB_CONNECT_TIMEOUT`` and ``VALUECOMPASS_DB_STATEMENT_TIMEOUT`` (seconds a
database server may take to connect, default 10, and to run one statement, default 300).
"""

from __future__ import annotations

import os
from pathlib import Path

KNOWN = (
    "VALUECOMPASS_DB",
    "VALUECOMPASS_SURVEY_DB",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "VALUECOMPASS_ADMIN_TOKEN",
    "VALUECOMPASS_MODEL_CACHE",
    "VALUECOMPASS_DB_CONNECT_TIMEOUT",
    "VALUECOMPASS_DB_STATEMENT_TIMEOUT",
    "XDG_CACHE_HOME",
)


def env(name: str, default: str | None = None) -> str | None:
    """The environment variable NAME, or DEFAULT when unset or empty."""
    if name not in KNOWN:
        raise KeyError(f"{name} is not a setting ValueCompass reads; known: {', '.join(KNOWN)}")
    value = os.environ.get(name, "")
    return value or default


def model_cache_dir() -> Path:
    """Where converted model files live: ``VALUECOMPASS_MODEL_CACHE``, else the user's cache
    folder (``XDG_CACHE_HOME``, else ``~/.cache``) / ``valuecompass/models``."""
    chosen = env("VALUECOMPASS_MODEL_CACHE")
    if chosen:
        return Path(chosen).expanduser()
    base = env("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "valuecompass" / "models"
