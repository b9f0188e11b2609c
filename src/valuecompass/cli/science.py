"""``valuecompass rigor reliability``, ``rigor structure`` and ``rigor steer``: is the
measurement reliable, does it show the theory's structure, and does naming the country help?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from valuecompass.cli._common import emit
from valuecompass.cli._options import centre_meta_option, ci_option, resamples_option, seed_option
from valuecompass.cli._sources import answer_tables, load_sources, source_options
from valuecompass.instrument import context_columns

if TYPE_CHECKING:
    from valuecompass.stats import Null

GROUPING = click.option(
    "--by",
    "grouping",
    default=None,
    help="Any grouping of the items the instrument declares (the Value Form: type, "
    "higher_order, ...); default its motivational types, else its first grouping.",
)
PERMUTATIONS = click.option(
    "--permutations", type=click.IntRange(1), default=2000, show_default=True
)


@click.command("reliability")
@source_options
@centre_meta_option
@GROUPING
def reliability_command(
    humans: str, llm: str, instrument_path: Path | None, fmt: str, grouping: str | None
) -> None:
    """Cronbach's alpha and McDonald's omega per group, for people and for the model; the
    model's agreement across its prompt variants (ICC(2,1), ICC(3,k))."""
    import pandas as pd

    from valuecompass.stats import reliability, value_grouping

    result = load_sources(humans, llm, instrument_path)
    h, m = answer_tables(result)
    inst = result.alignment.instrument
    groups, order = value_grouping(inst, grouping)
    parts = []
    for source, answers in (("people", h), ("model", m)):
        table = reliability(answers, groups, order, contexts=context_columns(inst))
        table.insert(0, "source", source)
        parts.append(table)
    emit(pd.concat(parts, ignore_index=True), fmt, f"Reliability by {grouping or 'group'}")


@click.command("structure")
@source_options
@centre_meta_option
@GROUPING
@PERMUTATIONS
@seed_option()
@click.option(
    "--view",
    type=click.Choice(["summary", "items"]),
    default="summary",
    show_default=True,
    help="The circle test per source, or every item's place on the MDS plane.",
)
@click.option(
    "--null",
    type=click.Choice(["types", "items"]),
    default="types",
    show_default=True,
    help="What the p-value permutes: types (the groups' places on the circle, items kept in "
    "their groups: is the groups' order the theory's?) or items (the group labels shuffled "
    "over the items: weaker, as any clustering within groups passes it).",
)
def structure_command(
    humans: str,
    llm: str,
    instrument_path: Path | None,
    fmt: str,
    grouping: str | None,
    permutations: int,
    seed: int,
    view: str,
    null: Null = "types",
) -> None:
    """Classical MDS of the item correlations, and how well the groups follow the theory's
    circle (fit R in [0, 1], permutation p-value under --null, adjacent pairs kept)."""
    import pandas as pd

    from valuecompass.stats import circle_structure, value_grouping

    result = load_sources(humans, llm, instrument_path)
    h, m = answer_tables(result)
    inst = result.alignment.instrument
    groups, order = value_grouping(inst, grouping)
    rows, items = [], []
    for source, answers in (("people", h), ("model", m)):
        found = circle_structure(
            answers, groups, order, contexts=context_columns(inst), permutations=permutations,
            seed=seed, null=null,
        )  # fmt: skip
        rows.append({"source": source, **found.summary()})
        items.append(found.coords.assign(source=source))
    if view == "items":
        table = pd.concat(items, ignore_index=True)
        emit(table[["source", "value", "group", "x", "y", "angle"]], fmt, "Items on the MDS plane")
    else:
        what = "groups' places permuted" if null == "types" else "labels shuffled over items"
        title = f"Circular structure of the {grouping or 'group'}s (null: {null}, {what})"
        emit(pd.DataFrame(rows), fmt, title)


@click.command("steer")
@source_options
@centre_meta_option
@click.option(
    "--by",
    "axis",
    default=None,
    help="The context axis the prompt names, any the instrument declares (the others are "
    "held fixed); default its first (the Value Form: country).",
)
@PERMUTATIONS
@resamples_option(1000)
@ci_option()
@seed_option()
@click.option(
    "--splits",
    type=click.IntRange(1),
    default=200,
    show_default=True,
    help="Random halvings of each context's people for the people-against-people ceiling.",
)
def steer_command(
    humans: str,
    llm: str,
    instrument_path: Path | None,
    fmt: str,
    axis: str | None,
    permutations: int,
    resamples: int,
    ci: float,
    seed: int,
    splits: int = 200,
) -> None:
    """Steerability: how much closer the model asked as a country is to that country's people
    than to the others' (swap contrast; 0 for a model that ignores the country), beside the
    people-against-people ceiling; bootstrap interval and p-value (Benjamini-Hochberg p_adj
    across levels), and the permutation p."""
    from valuecompass.stats import steerability

    result = load_sources(humans, llm, instrument_path)
    h, m = answer_tables(result)
    axis = axis or context_columns(result.alignment.instrument)[0]
    table = steerability(
        result.alignment, h, m, axis=axis, permutations=permutations, resamples=resamples,
        level=ci, seed=seed, splits=splits,
    )  # fmt: skip
    emit(table, fmt, f"Steerability by {axis}")


COMMANDS = (reliability_command, structure_command, steer_command)
