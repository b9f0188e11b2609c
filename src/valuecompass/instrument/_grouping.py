"""What a group is, once: the ways answers are grouped for alignment, read from the instrument.

Every grouping an analysis offers comes from the instrument (``--by`` takes any of them):

* ``context``: each context (one level of every context axis);
* each context axis by its id (the Value Form: ``country``, ``scenario``, with ``topic`` kept as
  a deprecated alias of ``scenario``): a group is the contexts at one level; its column in the
  tidy answer table is the axis id;
* ``value`` (also ``item``): each item (a value, a foundation, ...);
* each of the instrument's groupings by its id (the Value Form: ``type``, ``display_type``,
  ``higher_order``, ``authors_type``): a group is the items at one level.

An instrument whose grouping is itself called ``value`` (a theory whose items are grouped into
values) keeps ``value`` for that grouping; its items are then ``item``.

Kept apart from the metrics (which need pandas) so the command line can offer the choices
without loading them. ``compare.Alignment.by`` (pandas) and ``stats._groups`` (numpy) both read
these rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from valuecompass.errors import ValueCompassError

if TYPE_CHECKING:
    from valuecompass.instrument import Instrument

#: Deprecated: the Value Form's groupings as fixed names (``--by`` now takes any the instrument
#: declares, see :func:`group_rules`).
GroupBy = str
GROUPS: tuple[str, ...] = ("context", "country", "scenario", "value", "type")

Kind = Literal["context", "axis", "item", "items"]
#: Deprecated input aliases of an axis id (``--by topic``; a tidy CSV written before the axes
#: were named has a ``topic`` column). Accepted on input only; nothing is written under them.
AXIS_ALIASES = {"topic": "scenario"}
#: Columns of the cell table that a grouping's column must not take.
RESERVED = ("value", "human", "model", "human_label", "model_label", "distance")


class GroupingError(ValueCompassError, ValueError):
    """A grouping the instrument does not declare."""


@dataclass(frozen=True)
class GroupRule:
    """One way to group: its id, what it groups (contexts or items), and its column.

    ``column`` is where the group's level sits in an answer or cell table; ``order`` is the
    instrument's order of its levels (empty for ``context``): an axis's levels as listed, the
    items as listed, and an item grouping's levels in the order the items first list them (so
    the Value Form's types keep the order its tables always had).
    """

    id: str
    kind: Kind
    column: str
    order: tuple[str, ...] = ()

    @property
    def over_contexts(self) -> bool:
        """Whether a group is a set of contexts (else a set of items)."""
        return self.kind in ("context", "axis")


def context_columns(instrument: Instrument) -> list[str]:
    """The tidy table's columns that key a context: one per context axis, named by the axis
    id, in axis order (the Value Form: ``country``, ``scenario``)."""
    return [a.id for a in instrument.context_axes]


def group_rules(instrument: Instrument) -> dict[str, GroupRule]:
    """Every grouping INSTRUMENT offers, by id (aliases excluded), in a stable order."""
    grouping_ids = {g.id for g in instrument.groupings}
    item_id = "item" if "value" in grouping_ids else "value"
    rules = [GroupRule("context", "context", "context")]
    for axis in instrument.context_axes:
        rules.append(GroupRule(axis.id, "axis", axis.id, tuple(axis.level_ids)))
    rules.append(GroupRule(item_id, "item", "value", tuple(instrument.item_ids)))
    taken = {r.column for r in rules} | set(RESERVED)
    for grouping in instrument.groupings:
        members = instrument.group_of(grouping.id)
        order = tuple(dict.fromkeys(members[i] for i in instrument.item_ids))
        column = grouping.id if grouping.id not in taken else f"{grouping.id}_group"
        rules.append(GroupRule(grouping.id, "items", column, order))
    return {r.id: r for r in rules}


def group_rule(instrument: Instrument, name: str | None) -> GroupRule:
    """The rule NAME stands for (an id or an alias); :class:`GroupingError` naming the valid
    ones otherwise. ``None`` is the default grouping: the instrument's first context axis
    (the Value Form: ``country``), else ``context``."""
    rules = group_rules(instrument)
    if name is None:
        axes = instrument.context_axes
        return rules[axes[0].id] if axes else rules["context"]
    key = name.strip()
    if key not in rules:
        key = AXIS_ALIASES.get(key, key)
        if key not in rules and key in ("item", "value"):
            key = "value" if "value" in rules else "item"
    if key not in rules:
        valid = ", ".join([*rules, *(a for a, t in AXIS_ALIASES.items() if t in rules)])
        raise GroupingError(
            f"unknown grouping {name!r} for instrument {instrument.id!r}; valid: {valid}"
        )
    return rules[key]


def group_names(instrument: Instrument) -> list[str]:
    """The names ``--by`` accepts for INSTRUMENT: every rule id, then the aliases that apply."""
    rules = group_rules(instrument)
    return [*rules, *(a for a, t in AXIS_ALIASES.items() if t in rules)]
