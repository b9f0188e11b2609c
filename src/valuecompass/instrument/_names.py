"""Matching names: the spelling key every lookup compares, the index of an entry list's
spellings, and the error for a name the instrument does not know."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

from valuecompass.errors import ValueCompassError


class UnknownNameError(ValueCompassError, KeyError):
    """A value, scenario or country name the instrument does not know."""

    def __str__(self) -> str:
        return str(self.args[0])


@lru_cache(maxsize=8192)
def norm(text: str) -> str:
    """Key for matching spellings: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


class Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...


def spellings(entries: Sequence[Named]) -> dict[str, int]:
    """Every spelling key (id, name, aliases) → the entry's position; the first entry wins."""
    out: dict[str, int] = {}
    for index, entry in enumerate(entries):
        for name in (entry.id, entry.name, *entry.aliases):
            out.setdefault(norm(name), index)
    return out


def find(index: dict[str, int], entries: Sequence[Named], key: str, what: str) -> int:
    """Position of the entry whose id, name or alias matches KEY (case and punctuation
    ignored); ``UnknownNameError`` naming WHAT and the valid ids otherwise."""
    found = index.get(norm(key))
    if found is not None:
        return found
    valid = ", ".join(e.id for e in entries)
    raise UnknownNameError(f"unknown {what} {key!r}; valid: {valid}")
