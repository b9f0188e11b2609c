"""``valuecompass survey serve`` and ``valuecompass survey export``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from valuecompass.cli._common import Commands
from valuecompass.cli._options import instrument_option, survey_db_option
from valuecompass.errors import ValueCompassError
from valuecompass.settings import env

LOOPBACK = ("127.0.0.1", "::1", "localhost")

F = TypeVar("F", bound=Callable[..., Any])


def _common(func: F) -> F:
    func = instrument_option(func)
    func = click.option(
        "--asked-axis",
        default="",
        metavar="AXIS",
        help="The context axis participants are asked their level of (the country question); "
        "'country' if the instrument has it, else its first context axis. Every other "
        "context axis (not the language one) is assigned by quota.",
    )(func)
    return survey_db_option(func)


@click.group("survey", cls=Commands)
def survey_group() -> None:
    """The web survey: serve an instrument to people, export what they answered."""


@survey_group.command("serve")
@_common
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--content",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Survey words (consent, checks, questions) as YAML; bundled if omitted.",
)
@click.option(
    "--quota",
    type=click.IntRange(1),
    default=4,
    show_default=True,
    help="Participants per full context cell: per country per scenario for the Value Form, "
    "per asked level and combination of assigned levels in general.",
)
@click.option(
    "--study-id",
    default="",
    help="The study (Prolific's STUDY_ID): a Prolific id takes part once in it, and links "
    "naming another study are refused.",
)
@click.option(
    "--holds-per-address",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="Quota places one network address may take per hour.",
)
@click.option(
    "--holds-per-minute",
    type=click.IntRange(1),
    default=60,
    show_default=True,
    help="Quota places the whole study gives out per minute.",
)
@click.option(
    "--first-hold-minutes",
    type=click.FloatRange(0, min_open=True),
    default=15,
    show_default=True,
    help="How long a place is held before its participant saves a Value Form page "
    "(afterwards 120 minutes).",
)
@click.option(
    "--idle-minutes",
    type=click.FloatRange(0, min_open=True),
    default=30,
    show_default=True,
    help="After a Value Form page, a place stays held only while its participant saves "
    "another at least this often.",
)
@click.option(
    "--address-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.25,
    show_default=True,
    help="The share of a cell's quota one network address may hold at once (at least one place).",
)
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="Scenario ids to assign (repeatable); all if omitted.",
)
@click.option(
    "--level",
    "level_pairs",
    multiple=True,
    metavar="AXIS=LEVEL",
    help="A level of an assigned axis to assign (repeatable); an axis not named assigns "
    "every level.",
)
@click.option(
    "--wording",
    default=None,
    help="Which of the items' wordings the statements show (e.g. svs, pvq); the first the "
    "instrument lists if omitted.",
)
@click.option("--items-per-page", type=click.IntRange(1), default=15, show_default=True)
@click.option(
    "--actions",
    "action_set",
    default=None,
    metavar="SET",
    help="A choice study: after the statements, participants choose between the two actions "
    "of each item of their context, from this action set in the same store.",
)
@click.option(
    "--choice-items",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Pairs of actions per participant (the first of the items they rated); 0 for all.",
)
@click.option("--choices-per-page", type=click.IntRange(1), default=8, show_default=True)
@click.option(
    "--study",
    type=click.Choice(["stated", "choice", "review"]),
    default=None,
    help="What follows the statements: nothing (stated), choosing between two actions "
    "(choice) or judging actions on four criteria (review); with --actions alone, choice.",
)
@click.option(
    "--reviews-per-action",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="A review study: independent judgements each action gets.",
)
@click.option(
    "--actions-per-annotator",
    type=click.IntRange(1),
    default=12,
    show_default=True,
    help="A review study: actions each annotator judges.",
)
@click.option("--reviews-per-page", type=click.IntRange(1), default=4, show_default=True)
@click.option(
    "--completion-url",
    default=None,
    help="Prolific's completion URL; '{code}' in it is replaced by the code.",
)
@click.option("--completion-code", default=None, help="One completion code for everyone.")
@click.option("--redirect", is_flag=True, help="Send finished participants to the URL at once.")
@click.option("--require-prolific", is_flag=True, help="Refuse links without a Prolific id.")
@click.option(
    "--admin-token",
    default=None,
    help="Opens /admin (VALUECOMPASS_ADMIN_TOKEN); no admin page without one.",
)
@click.option("--min-form-seconds", type=click.FloatRange(0), default=90, show_default=True)
@click.option(
    "--max-body",
    type=click.IntRange(1024),
    default=64 * 1024,
    show_default=True,
    help="Largest request body in bytes.",
)
@click.option("--secure-cookies", is_flag=True, help="Mark cookies Secure (serve over HTTPS).")
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Proxies whose X-Forwarded-For gives the participant's address (for the limits per "
    "address); comma-separated, '*' for any.",
)
def serve(
    db: str,
    instrument_path: Path | None,
    host: str,
    port: int,
    content: Path | None,
    access_log: bool,
    forwarded_allow_ips: str,
    **options: Any,
) -> None:
    """Serve the survey (loopback only unless --host says otherwise).

    An instrument with a language axis is offered in each of its languages.
    """
    import uvicorn

    from valuecompass.instrument import load_instrument
    from valuecompass.store import open_store
    from valuecompass.survey import create_app, load_content, make_settings

    options["admin_token"] = options["admin_token"] or env("VALUECOMPASS_ADMIN_TOKEN")
    options["redirect_on_complete"] = options.pop("redirect")
    options["max_body_bytes"] = options.pop("max_body")
    options["levels"] = _levels(options.pop("level_pairs"))
    options["study"] = options["study"] or ""
    settings = make_settings(
        instrument=load_instrument(instrument_path), content=load_content(content), **options
    )
    engine = open_store(db)
    _log_like_uvicorn()
    app = create_app(settings, engine)  # refuses settings that would strand participants
    if host not in LOOPBACK:
        click.echo(f"warning: listening on {host}, reachable from other machines", err=True)
    if settings.admin_token is None:
        click.echo("note: no admin token given, so /admin is off", err=True)
    where = engine.url.render_as_string(hide_password=True)
    click.echo(f"survey on http://{host}:{port}/  store: {where}", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=access_log,
        server_header=False,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@survey_group.command("export")
@_common
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Tidy answer file to write (CSV, or Parquet with --format parquet).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="What --out, --participants and --open-answers are written as.",
)
@click.option(
    "--include-excluded",
    is_flag=True,
    help="Keep participants who failed an attention check (or other exclusions).",
)
@click.option(
    "--participants",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the participants (Prolific ids, flags, open answers) here.",
)
@click.option(
    "--choices",
    "choices_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a choice study's choices here as a tidy choice CSV: one row per "
    "participant and pair, every axis column, the inclination chosen, the place it was shown "
    "in (option) and the inclination shown first (shown_first); gap --acted reads it.",
)
@click.option(
    "--reviews",
    "reviews_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a review study's reviews here as a tidy CSV: one row per annotator and "
    "action, every axis column, the item (value), inclination, action id and text, the "
    "annotator (respondent) and each criterion (yes, no).",
)
@click.option(
    "--open-answers",
    "open_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the open answers here, one per row (respondent, scenario, question, text), "
    "as 'valuecompass code' reads them.",
)
def export(
    db: str,
    instrument_path: Path | None,
    out: Path,
    include_excluded: bool,
    participants: Path | None,
    open_path: Path | None,
    choices_path: Path | None,
    reviews_path: Path | None,
    asked_axis: str,
    fmt: str,
) -> None:
    """Finished participants' answers as tidy CSV or Parquet: one row per participant and
    item, with their level of every context axis."""
    from valuecompass.answers import write_csv
    from valuecompass.cli._sources import command_instrument
    from valuecompass.instrument import context_columns
    from valuecompass.store import open_store
    from valuecompass.store import survey as store
    from valuecompass.store.survey import survey_axes

    instrument = command_instrument(instrument_path, humans=db)  # with none, the study's own
    axes = survey_axes(instrument, asked_axis)
    engine = open_store(db, create=False)
    try:
        table = store.human_answers(engine, instrument, include_excluded, axes=(axes[0], axes[1]))
        people = (
            store.participants_frame(engine, spreadsheet_safe=True, axes=axes)
            if participants
            else None
        )
        texts = (
            store.open_answers(engine, include_excluded, spreadsheet_safe=True)
            if open_path
            else None
        )
        chosen = (
            store.human_choices(
                engine, instrument, include_excluded, axes=(axes[0], axes[1]), shown_first=True
            )
            if choices_path
            else None
        )
        judged = (
            store.survey_reviews(engine, [a.id for a in instrument.context_axes], include_excluded)
            if reviews_path
            else None
        )
    finally:
        engine.dispose()
    if fmt == "parquet":  # the same tables, each as Parquet
        from valuecompass.export import write_parquet

        tables = ((table, out), (people, participants), (texts, open_path), (chosen, choices_path),
                  (judged, reviews_path))  # fmt: skip
        for frame, path in tables:
            if frame is not None and path is not None:
                write_parquet(frame, path)
    else:
        _write(out, lambda: write_csv(table, out, context_columns(instrument)))
        if people is not None and participants is not None:
            _write(participants, lambda: people.to_csv(participants, index=False))
        if texts is not None and open_path is not None:
            _write(open_path, lambda: texts.to_csv(open_path, index=False))
        if chosen is not None and choices_path is not None:
            _write(choices_path, lambda: chosen.to_csv(choices_path, index=False))
        if judged is not None and reviews_path is not None:
            _write(reviews_path, lambda: judged.to_csv(reviews_path, index=False))
    click.echo(
        f"{len(table)} answers from {table['respondent'].nunique()} participants written to {out}"
    )
    if texts is not None:
        click.echo(f"{len(texts)} open answers written to {open_path}")
    if chosen is not None:
        click.echo(f"{len(chosen)} choices written to {choices_path}")
    if judged is not None:
        click.echo(f"{len(judged)} reviews written to {reviews_path}")


def _levels(pairs: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """``--level AXIS=LEVEL`` options by axis; a malformed one is the user's error."""
    found: dict[str, list[str]] = {}
    for pair in pairs:
        axis, sep, level = pair.partition("=")
        if not sep or not axis.strip() or not level.strip():
            raise ValueCompassError(f"--level {pair!r}: write it as AXIS=LEVEL, e.g. tone=formal")
        found.setdefault(axis.strip(), []).append(level.strip())
    return {axis: tuple(levels) for axis, levels in found.items()}


class _ToStderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a line is logged."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _log_like_uvicorn() -> None:
    """The survey's own log lines (a busy store, a crash, a client gone) on stderr, as the
    server's are."""
    log = logging.getLogger("valuecompass.survey")
    if any(h.get_name() == "valuecompass-survey" for h in log.handlers):
        return
    handler = _ToStderr()
    handler.set_name("valuecompass-survey")
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _write(path: Path, write: Callable[[], None]) -> None:
    """Run WRITE; a failure is the user's error naming PATH and why."""
    if not path.parent.is_dir():
        raise ValueCompassError(f"{path}: cannot write: folder {path.parent} does not exist")
    try:
        write()
    except OSError as exc:
        raise ValueCompassError(f"{path}: cannot write ({exc.strerror or exc})") from exc
