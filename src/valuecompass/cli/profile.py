"""``valuecompass profile``: a source's value profile by any axis or grouping."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from valuecompass.cli._common import console
from valuecompass.cli._old_names import AcceptsOldNames
from valuecompass.cli._options import centre_option, format_option, instrument_option, score_option
from valuecompass.cli._sources import command_instrument
from valuecompass.common import redact_text
from valuecompass.instrument import Instrument, group_rule

if TYPE_CHECKING:
    import pandas as pd

    from valuecompass.metrics import Profile
    from valuecompass.sources import Scoring


def _table(title: str, frame: pd.DataFrame, names: dict[str, str]) -> Table:
    import pandas

    table = Table(title=title, title_justify="left")
    table.add_column("")
    for col in frame.columns:
        table.add_column(names.get(str(col), str(col)), justify="right")
    for key, row in frame.iterrows():
        cells = ["" if pandas.isna(v) else f"{v:.2f}" for v in row]
        table.add_row(names.get(str(key), str(key)), *cells)
    return table


def display_names(instrument: Instrument) -> dict[str, str]:
    """Id → display name of every axis level, item and grouping level of INSTRUMENT."""
    names = {level.id: level.name for axis in instrument.axes for level in axis.levels}
    names |= {g_level.id: g_level.name for g in instrument.groupings for g_level in g.levels}
    return names | {item.id: item.name for item in instrument.items}


def print_profile(profile: Profile, console: Console, label: str) -> None:
    """The profile as terminal tables: the instrument's first item grouping by each context
    axis, and the extremes."""
    instrument = profile.instrument
    names = display_names(instrument)
    missing = ", ".join(f"{k} {v}" for k, v in profile.missing.items()) or "none"
    console.print(
        f"[bold]{label}[/bold]: {profile.scored}/{profile.answers} answers scored "
        f"({profile.parse_rate:.0%}); missing: {missing}"
    )
    console.print("Scores: 0 = strongly agree (endorsed) … 1 = strongly disagree.")
    grouping = instrument.groupings[0] if instrument.groupings else None
    for axis in instrument.context_axes:
        if grouping is None:
            break
        title = f"By {grouping.name.lower()} and {axis.name.lower()}"
        console.print(_table(title, profile.by_type(axis.id, grouping.id), names))
    most, least = profile.extremes()
    console.print("Most endorsed: " + ", ".join(f"{names[v]} {s:.2f}" for v, s in most.items()))
    console.print("Least endorsed: " + ", ".join(f"{names[v]} {s:.2f}" for v, s in least.items()))


@click.command("profile", cls=AcceptsOldNames)
@click.option("--llm", "src", required=True, help="A model's answers: run store, folder or CSV.")
@click.option("--items", "per_item", is_flag=True, help="Also print every item's scores.")
@format_option(show_default=True, help="json: {rows, overall} as 'align' writes it; csv: the rows.")
@click.option(
    "--by",
    "group",
    default="context",
    show_default=True,
    help="The rows of --format json/csv: context, any axis, value or any of the instrument's "
    "groupings.",
)
@instrument_option
@score_option
@centre_option
def profile_command(
    src: str,
    per_item: bool,
    fmt: str,
    group: str,
    instrument_path: Path | None,
    score: Scoring,
    centre: bool = False,
) -> None:
    """A model's value profile by country and scenario (0 agree … 1 disagree)."""
    from valuecompass.metrics import value_profile
    from valuecompass.sources import load_source

    instrument = command_instrument(instrument_path, [src])
    group = group_rule(instrument, group).id  # an unknown grouping fails before any work
    answers, _ = load_source(src, instrument, "llm", score)
    if centre:
        from valuecompass.stats import centre_answers

        answers = centre_answers(answers, instrument)
    profile = value_profile(answers, instrument)
    if fmt != "table":
        _emit(profile, group, fmt, centre)
        return
    out = console()
    shown = redact_text(src)
    label = f"{shown} (scored by option probabilities)" if score == "probs" else shown
    print_profile(profile, out, label)
    if centre:
        from valuecompass.stats import CENTRED_NOTE

        out.print(CENTRED_NOTE)
    if per_item:
        for axis in instrument.context_axes[-1:]:
            title = f"By {instrument.item_noun} and {axis.name.lower()}"
            out.print(_table(title, profile.by(axis.id), display_names(instrument)))


def _emit(profile: Profile, group: str, fmt: str, centre: bool) -> None:
    from valuecompass.cli import _render

    rows = profile.table(group)
    if fmt == "csv":
        click.echo(rows.to_csv(index=False), nl=False)
        return
    overall: dict[str, object] = dict(profile.overall())
    overall["missing"] = sum(profile.missing.values())
    if centre:
        overall["scores"] = "person-centred"
    click.echo(_render.to_json(rows, overall))
