"""``valuecompass profile``: a source's value profile by country and topic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from valuecompass.cli._common import centre_option, console, instrument_option, score_option
from valuecompass.instrument import load_instrument

if TYPE_CHECKING:
    import pandas as pd

    from valuecompass.profile import Profile
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


def print_profile(profile: Profile, console: Console, label: str) -> None:
    """The profile as terminal tables: types by country and by topic, and the extremes."""
    form = profile.instrument
    names = {c.id: c.name for c in form.countries} | {s.id: s.name for s in form.scenarios}
    names |= {v.id: v.name for v in form.values}
    missing = ", ".join(f"{k} {v}" for k, v in profile.missing.items()) or "none"
    console.print(
        f"[bold]{label}[/bold]: {profile.scored}/{profile.answers} answers scored "
        f"({profile.parse_rate:.0%}); missing: {missing}"
    )
    console.print("Scores: 0 = strongly agree (endorsed) … 1 = strongly disagree.")
    for group in ("country", "topic"):
        console.print(_table(f"By motivational type and {group}", profile.by_type(group), names))
    most, least = profile.extremes()
    console.print("Most endorsed: " + ", ".join(f"{names[v]} {s:.2f}" for v, s in most.items()))
    console.print("Least endorsed: " + ", ".join(f"{names[v]} {s:.2f}" for v, s in least.items()))


@click.command("profile")
@click.option("--llm", "src", required=True, help="A model's answers: run store, folder or CSV.")
@click.option("--values", "per_value", is_flag=True, help="Also print every value's scores.")
@instrument_option
@score_option
@centre_option
def profile_command(
    src: str, per_value: bool, instrument_path: Path | None, score: Scoring, centre: bool = False
) -> None:
    """A model's value profile by country and topic (0 agree … 1 disagree)."""
    from valuecompass.profile import value_profile
    from valuecompass.sources import load_source

    form = load_instrument(instrument_path)
    answers, _ = load_source(src, form, "llm", score)
    if centre:
        from valuecompass.stats._centre import centre_answers

        answers = centre_answers(answers, form)
    profile = value_profile(answers, form)
    out = console()
    label = f"{src} (scored by option probabilities)" if score == "probs" else src
    print_profile(profile, out, label)
    if centre:
        from valuecompass.stats._centre import CENTRED_NOTE

        out.print(CENTRED_NOTE)
    if per_value:
        names = {v.id: v.name for v in form.values} | {s.id: s.name for s in form.scenarios}
        out.print(_table("By value and topic", profile.by("topic"), names))
