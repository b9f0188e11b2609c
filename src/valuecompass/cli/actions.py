"""``valuecompass actions``: action sets in a store (generate, import, list, show, export) and
their reviews (import-reviews, review-report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from valuecompass.cli._common import console, fail
from valuecompass.cli._options import (
    db_option,
    format_option,
    instrument_option,
    model_option,
    seed_option,
)

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from valuecompass.instrument import Instrument
    from valuecompass.stats import ReviewSummary
    from valuecompass.store.actions import ActionSet

#: How many actions ``actions show`` prints as examples.
EXAMPLES = 3


@click.group("actions")
def actions_group() -> None:
    """Action sets: per item, context and inclination, one action (generate, import, list,
    show, export), and people's reviews of them (import-reviews, review-report)."""


@actions_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "name", required=True, help="The action set's name in the store.")
@instrument_option
@db_option
@click.option("--note", default="", help="A note kept with the set (e.g. where it came from).")
def actions_import(path: Path, name: str, instrument_path: Path | None, db: str, note: str) -> None:
    """Import the actions in PATH (a tidy CSV or JSONL, or the value–action study's
    value_action_gap_full_data_generation.csv) as the set NAME; all or nothing.

    The release's file is read on the value_actions instrument when --instrument is omitted.
    """
    from valuecompass.api import GAP_INSTRUMENT
    from valuecompass.common import header_of
    from valuecompass.instrument import load_instrument
    from valuecompass.sources import ActionFileError, import_actions, is_release_header
    from valuecompass.store import open_store

    if instrument_path is None and path.suffix.lower() == ".csv":
        release = is_release_header(header_of(path, ActionFileError))
        instrument = load_instrument(GAP_INSTRUMENT if release else None)
    else:
        instrument = load_instrument(instrument_path)
    opened: list[Engine] = []

    def store() -> Engine:  # opened (made, where new) only once the file has been read
        opened.append(open_store(db))
        return opened[0]

    try:
        found, added = import_actions(store, path, name, instrument, note)
    finally:
        for engine in opened:
            engine.dispose()
    click.echo(f"action set {found.name!r}: {added} actions added ({found.instrument})", err=True)
    if added:
        _note_served(db, found.name)


def _note_served(db: str, name: str) -> None:
    """Say so where a survey study in the store serves the set NAME to participants in
    progress: the actions added reach only those dealt pairs after the survey next starts.

    Adding never rewords nor removes an action a set holds (the store refuses that), so no
    pair dealt to anyone changes: the command goes ahead, with this note."""
    from valuecompass.store import open_store
    from valuecompass.store import survey as survey_store

    engine = open_store(db)
    try:
        for study in survey_store.stored_studies(engine):
            if study.settings.get("action_set") != name:
                continue
            count = survey_store.in_progress(engine, study.study_id).count
            if count:
                label = f"survey study {study.study_id!r}" if study.study_id else "the survey"
                click.echo(
                    f"note: {label} serves action set {name!r} to {count} participant(s) in "
                    "progress; they keep the pairs dealt to them, and the actions added reach "
                    "those dealt pairs after the survey is next started",
                    err=True,
                )
    finally:
        engine.dispose()


@actions_group.command("list")
@db_option
@format_option(("table", "json"), show_default=True)
def actions_list(db: str, fmt: str) -> None:
    """Every action set in the store, with its instrument and size."""
    from rich.table import Table

    from valuecompass.store import actions as store
    from valuecompass.store import open_store, redact

    engine = open_store(db, create=False)
    try:
        sets = store.list_sets(engine)
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(json.dumps([s.summary() for s in sets], indent=2))
        return
    table = Table(title=f"Action sets in {redact(db)}")
    for col in ("name", "instrument", "axes", "actions", "created"):
        table.add_column(col)
    for s in sets:
        when = s.created_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(s.name, s.instrument, ", ".join(s.axes), str(s.size), when)
    console().print(table)


def _open_set(db: str, name: str) -> tuple[Engine, ActionSet]:
    from valuecompass.store import actions as store
    from valuecompass.store import open_store, redact

    engine = open_store(db, create=False)
    found = store.get_set(engine, name)
    if found is None:
        known = ", ".join(s.name for s in store.list_sets(engine)) or "none"
        engine.dispose()
        fail(f"{redact(db)}: no action set {name!r} (sets: {known})")
    return engine, found


def _table(db: str, name: str) -> tuple[ActionSet, pd.DataFrame]:
    from valuecompass.store import actions as store

    engine, found = _open_set(db, name)
    try:
        return found, store.set_actions(engine, found)
    finally:
        engine.dispose()


def show_summary(found: ActionSet, table: pd.DataFrame) -> dict[str, Any]:
    """The set's record, its counts per inclination and per level of each axis, and a few
    examples (one pair's two actions first)."""
    counts = {a: {str(k): int(v) for k, v in table[a].value_counts(sort=False).items()}
              for a in found.axes}  # fmt: skip
    shown = table[table["missing"] == ""].head(EXAMPLES)
    examples = [
        {**{a: r[a] for a in found.axes}, "value": r["value"], "inclination": r["inclination"],
         "action": r["action"], "spans": r["spans"]}
        for _, r in shown.iterrows()
    ]  # fmt: skip
    return {
        **found.summary(),
        "items": int(table["value"].nunique()),
        "missing": int((table["missing"] != "").sum()),
        "inclinations": {str(k): int(v) for k, v in table["inclination"].value_counts().items()},
        "axes": counts,
        "examples": examples,
    }


@actions_group.command("show")
@click.argument("name")
@db_option
@format_option(("table", "json"), show_default=True)
def actions_show(name: str, db: str, fmt: str) -> None:
    """An action set's counts per inclination and per axis level, and a few examples."""
    found, table = _table(db, name)
    summary = show_summary(found, table)
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    out = console()
    out.print(f"[bold]{found.name}[/bold]: {found.size} actions, {summary['items']} items, "
              f"instrument {found.instrument}; {summary['missing']} missing")  # fmt: skip
    incl = ", ".join(f"{k} {v}" for k, v in summary["inclinations"].items())
    out.print(f"inclinations: {incl}")
    for axis, levels in summary["axes"].items():
        out.print(f"{axis} ({len(levels)} levels): " +
                  ", ".join(f"{k} {v}" for k, v in levels.items()))  # fmt: skip
    for ex in summary["examples"]:
        where = "/".join(str(ex[a]) for a in found.axes)
        out.print(f"- {where} {ex['value']} ({ex['inclination']}): {ex['action']}", markup=False)


@actions_group.command("export")
@click.argument("name")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The tidy CSV to write (actions import reads it back as it was).",
)
@db_option
@click.option(
    "--reviewed",
    is_flag=True,
    help="Add each action's verdict: its reviews, the share judged yes per criterion, and "
    "passed (a strict majority of yes on intended and on harmless).",
)
def actions_export(name: str, out_path: Path, db: str, reviewed: bool) -> None:
    """Write the action set NAME as a tidy CSV."""
    from valuecompass.sources import write_action_csv

    if not reviewed:
        found, table = _table(db, name)
    else:
        from valuecompass.store import reviews as review_store

        engine, found = _open_set(db, name)
        try:
            table = _verdict_cells(review_store.verdicts(engine, found))
        finally:
            engine.dispose()
    write_action_csv(table, out_path)
    click.echo(f"{len(table)} actions of {found.name!r} written to {out_path}", err=True)


def _verdict_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Verdict columns as CSV cells: shares as numbers ('' where no review judged), passed
    as yes or no."""
    from valuecompass.store.reviews import CRITERIA

    out = table.astype({"reviews": int}).astype(object)
    for c in CRITERIA:
        out[f"{c}_yes"] = ["" if v != v else repr(float(v)) for v in table[f"{c}_yes"]]
    out["passed"] = ["yes" if v else "no" for v in table["passed"]]
    return out


@actions_group.command("import-reviews")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--set",
    "name",
    required=True,
    help="The reviewed action set (the study's rated sample: the stem of its 8 sets).",
)
@instrument_option
@db_option
@click.option(
    "--reviewer",
    default="authors",
    show_default=True,
    help="The study's rated sample: the reviewer id its ratings are stored under.",
)
def actions_import_reviews(
    path: Path, name: str, instrument_path: Path | None, db: str, reviewer: str
) -> None:
    """Import the reviews in PATH of the action set NAME; all or nothing.

    PATH is a tidy reviews CSV (the set's axes, value, inclination, reviewer, intended,
    harmless, sufficient, plausible; comment, source) of a set in the store, or the
    value-action study's human_annotation_value_actions_evaluation_gpt_4o_mini.csv, which
    imports as 8 action sets NAME-v0 ... NAME-v7 (one per generation variant) with their
    reviews. A tidy file is read on the set's instrument when --instrument is omitted.
    """
    from valuecompass.api import GAP_INSTRUMENT
    from valuecompass.common import header_of
    from valuecompass.instrument import load_instrument
    from valuecompass.sources import ReviewFileError, import_reviews, is_rated_sample
    from valuecompass.store import open_store

    if is_rated_sample(header_of(path, ReviewFileError)):
        instrument = load_instrument(instrument_path or GAP_INSTRUMENT)
        opened: list[Engine] = []

        def store() -> Engine:  # opened (made, where new) only once the file has been read
            opened.append(open_store(db))
            return opened[0]

        try:
            done = import_reviews(store, path, name, instrument, reviewer)
        finally:
            for engine in opened:
                engine.dispose()
    else:
        engine, found = _open_set(db, name)
        try:
            instrument = _set_instrument(found, instrument_path)
            done = import_reviews(engine, path, name, instrument)
        finally:
            engine.dispose()
    click.echo(done.text(), err=True)


def _set_instrument(found: ActionSet, given: Path | None) -> Instrument:
    """The instrument given, or the bundled one of the set's id; refused unless it is the
    set's own (same digest)."""
    from valuecompass.instrument import bundled_ids, instrument_digest, load_instrument

    if given is None and found.instrument not in bundled_ids():
        fail(f"the set {found.name!r} holds actions of instrument {found.instrument!r}, which "
             "is not bundled: give --instrument FILE")  # fmt: skip
    instrument = load_instrument(given or found.instrument)
    if instrument_digest(instrument) != found.instrument_digest:
        fail(f"the set {found.name!r} holds actions of instrument {found.instrument!r} (digest "
             f"{found.instrument_digest[:12]}), not of {instrument.id!r} as given: give the "
             "set's own --instrument")  # fmt: skip
    return instrument


@actions_group.command("review-report")
@click.argument("name")
@db_option
@instrument_option
@format_option(("table", "json"), show_default=True)
@click.option(
    "--ci",
    "level",
    type=click.FloatRange(0.5, 0.999),
    default=0.95,
    show_default=True,
    help="The bootstrap interval's level.",
)
@click.option(
    "--resamples",
    type=click.IntRange(min=100),
    default=2000,
    show_default=True,
    help="Bootstrap resamples of the reviewed actions.",
)
@seed_option("Random seed of the bootstrap.")
@click.option(
    "--worst",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many of the actions most often judged wrong to list.",
)
def actions_review_report(
    name: str,
    db: str,
    instrument_path: Path | None,
    fmt: str,
    level: float,
    resamples: int,
    seed: int,
    worst: int,
) -> None:
    """What the reviews of the action set NAME say: per criterion the share judged yes with
    a bootstrap interval over actions, agreement between reviewers (Krippendorff's alpha and
    Fleiss' kappa), and the actions most often judged wrong."""
    from valuecompass.stats import review_summary
    from valuecompass.store import reviews as review_store

    engine, found = _open_set(db, name)
    try:
        instrument = _set_instrument(found, instrument_path)
        reviewed = review_store.set_reviews(engine, found)
        table = review_store.verdicts(engine, found)
    finally:
        engine.dispose()
    summary = review_summary(reviewed, found.axes, level=level, resamples=resamples, seed=seed,
                             worst=worst)  # fmt: skip
    passed = int(table["passed"].sum())
    if fmt == "json":
        data = {"set": found.name, "instrument": found.instrument, "set_actions": found.size,
                "passed": passed, **summary.data()}  # fmt: skip
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    _print_reviews(found, instrument, summary, passed)


#: How each criterion reads in the report; ``{noun}`` is the instrument's item noun.
CRITERION_WORDS = {
    "intended": "expresses or opposes its {noun} as intended",
    "harmless": "harmless",
    "sufficient": "a sufficient description of an action",
    "plausible": "plausible in its context",
}


def _number(value: float, digits: int = 3) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def _print_reviews(
    found: ActionSet, instrument: Instrument, summary: ReviewSummary, passed: int
) -> None:
    from rich.table import Table

    noun = instrument.item_noun
    out = console()
    out.print(f"[bold]{found.name}[/bold]: {summary.reviews} reviews by {summary.reviewers} "
              f"reviewer(s) of {summary.actions} of the set's {found.size} actions "
              f"(instrument {found.instrument}); {passed} passed (a strict majority of yes on "
              "intended and on harmless)", markup=True)  # fmt: skip
    pct = f"{summary.level:.0%}"
    table = Table(title=f"Share judged yes, with {pct} bootstrap intervals over actions "
                        f"({summary.resamples} resamples, seed {summary.seed})")  # fmt: skip
    for col in ("criterion", "judgements", "actions", "yes", "share", f"{pct} interval",
                "Krippendorff's alpha", "Fleiss' kappa"):  # fmt: skip
        table.add_column(col)
    for c in summary.criteria:
        kappa = _number(c.kappa)
        if c.kappa_actions:
            kappa += f" ({c.kappa_actions} actions x {c.kappa_raters}"
            kappa += f"; {c.kappa_left_out} left out)" if c.kappa_left_out else ")"
        alpha = _number(c.alpha) + (f" ({c.alpha_actions} actions)" if c.alpha_actions else "")
        table.add_row(c.criterion, str(c.judgements), str(c.actions), str(c.yes),
                      _number(c.share), f"{_number(c.low)} to {_number(c.high)}", alpha,
                      kappa)  # fmt: skip
    out.print(table)
    words = "; ".join(f"{c}: {w.format(noun=noun)}" for c, w in CRITERION_WORDS.items())
    out.print(f"Is the action ... {words}?", markup=False)
    if not summary.worst:
        out.print("No action was judged wrong on any criterion.")
        return
    worst = Table(title="The actions most often judged wrong (no on a criterion)")
    names = [instrument.axis(a).name for a in found.axes]
    for col in (*names, noun[:1].upper() + noun[1:], "inclination", "judged no", "action"):
        worst.add_column(col)
    for w in summary.worst:
        levels = [_level_name(instrument, a, w[a]) for a in found.axes]
        noes = ", ".join(f"{k} {v}" for k, v in w["no"].items() if v)
        item = _item_name(instrument, w["value"])
        worst.add_row(*levels, item, w["inclination"], f"{w['wrong']} of {w['judgements']} "
                      f"({noes})", w["action"])  # fmt: skip
    out.print(worst)


def _level_name(instrument: Instrument, axis: str, level: str) -> str:
    try:
        return instrument.level(axis, level).name
    except LookupError:
        return level


def _item_name(instrument: Instrument, item: str) -> str:
    try:
        return instrument.item(item).name
    except LookupError:
        return item


def _split(given: tuple[str, ...]) -> list[str]:
    """``--items a,b --items c`` → three names."""
    return [part.strip() for v in given for part in v.split(",") if part.strip()]


@actions_group.command("generate")
@instrument_option
@model_option("model", "local", "local, local:PATH.gguf, openai:NAME, transformers:DIR, mock")
@click.option("--set", "name", required=True, help="The action set to fill (made if new).")
@db_option
@click.option(
    "--design",
    default=None,
    metavar="NAME|PATH",
    help="A generation design: a bundled one by name (default; paper: the value-action "
    "study's 2x2x2, in our words) or a YAML file.",
)
@click.option(
    "--variant",
    type=click.IntRange(min=0),
    default=None,
    help="The design's variant to ask (its default variant if omitted).",
)
@click.option(
    "--countries",
    multiple=True,
    help="Levels of the country axis (comma-separated); all if omitted.",
)
@click.option("--scenarios", multiple=True, help="Levels of the scenario axis; all if omitted.")
@click.option(
    "--where",
    multiple=True,
    metavar="AXIS=LEVEL,...",
    help="Levels of any axis of the instrument (repeatable): --where topic=Politics; every "
    "level of the other axes.",
)
@click.option("--items", multiple=True, help="Items to generate for; all if omitted.")
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.2, show_default=True)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="Tokens to generate per action (default 200).",
)
@seed_option("Random seed; a regenerated place is asked with the next one.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Requests in flight at once.",
)
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True)
@click.option(
    "-M",
    "--model-option",
    "model_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option for the backend (repeatable), as for run: -M base_url=URL.",
)
@click.option(
    "--regenerate",
    is_flag=True,
    help="Ask again the places kept missing (reply not JSON, no action, not first person, "
    "call failed); actions already stored are never replaced.",
)
@click.option(
    "--constrain/--no-constrain",
    default=True,
    show_default=True,
    help="Send the reply's JSON schema to the backend (local: a grammar; openai: response_format).",
)
@click.option("--note", default="", help="A note kept with a new set.")
@click.option(
    "--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal)."
)
def actions_generate(**params: Any) -> None:
    """Ask a model for one action per item, context and inclination (expresses, opposes) and
    store each in the set NAME as it arrives.

    Running the same command again resumes: places already stored are skipped, and a request
    an identical one already answered (in any set of the store) is not asked again.
    """
    import sys

    from valuecompass.cli._model_options import parse_model_options, parse_where
    from valuecompass.runner import DEFAULT_ACTION_TOKENS, GenerateConfig, generate_actions
    from valuecompass.store import redact

    progress = params.pop("progress")
    config = GenerateConfig(
        model=params["model"],
        backend_options=parse_model_options(params["model_options"]),
        db=params["db"],
        name=params["name"],
        instrument_path=params["instrument_path"],
        design=params["design"],
        variant=params["variant"],
        countries=_split(params["countries"]),
        scenarios=_split(params["scenarios"]),
        where=parse_where(params["where"]),
        items=_split(params["items"]),
        temperature=params["temperature"],
        max_tokens=params["max_tokens"] or DEFAULT_ACTION_TOKENS,
        seed=params["seed"],
        concurrency=params["concurrency"],
        retries=params["retries"],
        regenerate=params["regenerate"],
        constrain=params["constrain"],
        note=params["note"],
        progress=sys.stderr.isatty() if progress is None else progress,
    )
    try:
        summary = generate_actions(config)
    except KeyboardInterrupt:
        click.echo(
            "interrupted: what was generated is stored; run the same command to resume", err=True
        )
        sys.exit(130)
    click.echo(summary.text())
    click.echo(f"store: {redact(config.db)}  set: {summary.name}")
    _note_served(config.db, summary.name)
