"""Cross-reference checks of a format 2 instrument, each problem with the path of its field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from valuecompass.instrument._parts import Axis, Grouping, Item, RatingScale, Roles

Problem = tuple[tuple[str | int, ...], str]

#: The longest ``axis=level;...`` key of a context's further axes the stores keep (a column of
#: 512 characters, on PostgreSQL as on SQLite).
CONTEXT_MAX = 512


class Shape(Protocol):
    """What the checks read of an instrument (the format 2 ``Instrument`` has it all)."""

    @property
    def language(self) -> str: ...
    @property
    def items(self) -> tuple[Item, ...]: ...
    @property
    def groupings(self) -> tuple[Grouping, ...]: ...
    @property
    def rating_scales(self) -> tuple[RatingScale, ...]: ...
    @property
    def roles(self) -> Roles: ...
    @property
    def axes(self) -> tuple[Axis, ...]: ...


def problems(inst: Shape) -> list[Problem]:
    """Every broken reference or repeated id, as (path in the file, message)."""
    out: list[Problem] = []
    for section, entries in (
        ("items", inst.items),
        ("groupings", inst.groupings),
        ("scales", inst.rating_scales),
        ("axes", inst.axes),
    ):
        out += _repeats(entries, (section,))
    for g, grouping in enumerate(inst.groupings):
        out += _repeats(grouping.levels, ("groupings", g, "levels"))
        out += _circle(grouping.circle or (), grouping.level_ids, ("groupings", g, "circle"))
    for a, axis in enumerate(inst.axes):
        out += _repeats(axis.levels, ("axes", a, "levels"))
    out += _items(inst)
    out += _roles(inst)
    out += _language(inst)
    out += _context_length(inst)
    return out


def _context_length(inst: Shape) -> list[Problem]:
    """A problem if a context's key of every axis but one (what a run or a survey stores past
    its first axes) could pass :data:`CONTEXT_MAX` characters."""
    if len(inst.axes) < 2:
        return []
    parts = [len(a.id) + 1 + max(len(level.id) for level in a.levels) for a in inst.axes]
    longest = sum(parts) - min(parts) + len(parts) - 2
    if longest <= CONTEXT_MAX:
        return []
    return [
        (
            ("axes",),
            f"a context's levels as stored ('axis=level;...' of all axes but one) reach "
            f"{longest} characters; at most {CONTEXT_MAX}: shorten the axis and level ids",
        )
    ]


def _repeats(entries: Sequence[Any], loc: tuple[str | int, ...]) -> list[Problem]:
    seen: set[str] = set()
    out: list[Problem] = []
    for index, entry in enumerate(entries):
        if entry.id in seen:
            out.append(((*loc, index, "id"), f"id {entry.id!r} appears twice"))
        seen.add(entry.id)
    return out


def _circle(circle: Sequence[str], levels: list[str], loc: tuple[str | int, ...]) -> list[Problem]:
    out: list[Problem] = []
    for index, level in enumerate(circle):
        if level not in levels:
            out.append(((*loc, index), f"unknown level {level!r}; valid: {', '.join(levels)}"))
    if len(set(circle)) != len(circle):
        out.append((loc, "a level appears twice in the circle"))
    return out


def _items(inst: Shape) -> list[Problem]:
    levels = {g.id: g.level_ids for g in inst.groupings}
    wordings = set(inst.roles.wordings)
    given = {w for item in inst.items for w in item.wordings}
    unused = wordings - given  # said once, at roles.wordings, not once per item
    out: list[Problem] = [
        (
            ("roles", "wordings", wording),
            f"wording {wording!r} has a scale here but no item has it; "
            f"the items' wordings: {', '.join(sorted(given)) or 'none'}",
        )
        for wording in inst.roles.wordings
        if wording in unused
    ]
    for i, item in enumerate(inst.items):
        loc: tuple[str | int, ...] = ("items", i)
        for gid, level in item.groups.items():
            if gid not in levels:
                valid = ", ".join(levels) or "(none declared)"
                out.append(((*loc, "groups", gid), f"unknown grouping {gid!r}; valid: {valid}"))
            elif level not in levels[gid]:
                valid = ", ".join(levels[gid])
                out.append(((*loc, "groups", gid), f"unknown {gid} {level!r}; valid: {valid}"))
        for gid in levels:
            if gid not in item.groups:
                out.append(((*loc, "groups"), f"item {item.id!r} has no level in {gid!r}"))
        for wording in sorted(wordings - set(item.wordings) - unused):
            out.append(((*loc, "wordings"), f"item {item.id!r} lacks wording {wording!r}"))
        for wording in sorted(set(item.wordings) - wordings):
            out.append(
                ((*loc, "wordings", wording), f"wording {wording!r} has no scale in roles.wordings")
            )
    return out


def _roles(inst: Shape) -> list[Problem]:
    scales = [s.id for s in inst.rating_scales]
    valid = ", ".join(scales)
    out: list[Problem] = []
    if inst.roles.people not in scales:
        out.append((("roles", "people"), f"unknown scale {inst.roles.people!r}; valid: {valid}"))
    for wording, scale in inst.roles.wordings.items():
        if scale not in scales:
            out.append((("roles", "wordings", wording), f"unknown scale {scale!r}; valid: {valid}"))
    return out


def _language(inst: Shape) -> list[Problem]:
    language = [a for a, axis in enumerate(inst.axes) if axis.role == "language"]
    if len(language) > 1:
        return [(("axes", language[1], "role"), "only one axis may have role 'language'")]
    if language and inst.language not in inst.axes[language[0]].level_ids:
        return [
            (
                ("axes", language[0], "levels"),
                f"the language axis must list the instrument's language {inst.language!r}",
            )
        ]
    return []
