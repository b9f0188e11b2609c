"""``valuecompass report``: the paper's figures and tables in one self-contained HTML file."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from valuecompass.cli._options import (
    centre_option,
    exclude_option,
    group_distance_option,
    instrument_option,
    reading_option,
    score_option,
)
from valuecompass.cli._sources import command_instrument
from valuecompass.common import redact_text

if TYPE_CHECKING:
    from valuecompass.metrics import GroupDistance
    from valuecompass.sources import Reading, Scoring


def command_line(
    humans: str | None,
    llms: tuple[str, ...],
    out: Path,
    instrument_path: Path | None,
    score: str = "answer",
    exclude_path: Path | None = None,
    group_distance: str = "cells",
    centre: bool = False,
    gap: tuple[str | None, str | None, Path | None, str] = (None, None, None, "action"),
) -> str:
    """The command as it could be typed again (recorded in the report's provenance); GAP is
    (--acted, --stated, --actions, --reading)."""
    words = ["valuecompass", "report"]
    if humans is not None:
        words += ["--humans", redact_text(humans)]
    for llm in llms:
        words += ["--llm", redact_text(llm)]
    words += ["--out", str(out)]
    if instrument_path is not None:
        words += ["--instrument", str(instrument_path)]
    if score != "answer":
        words += ["--score", score]
    if exclude_path is not None:
        words += ["--exclude", str(exclude_path)]
    if group_distance != "cells":
        words += ["--group-distance", group_distance]
    if centre:
        words += ["--centre"]
    acted, stated, actions, reading = gap
    for flag, value in (("--acted", acted), ("--stated", stated), ("--actions", actions)):
        if value is not None:
            words += [flag, redact_text(str(value))]
    if reading != "action":
        words += ["--reading", reading]
    return shlex.join(words)


@click.command("report")
@click.option(
    "--humans",
    default=None,
    help="People's answers: released folder, CSV or survey store. Leave out for the models' "
    "value profiles alone.",
)
@click.option(
    "--llm",
    "llms",
    multiple=True,
    metavar="[NAME=]SRC",
    help="A model's answers (released model folder, tidy CSV or STORE#RUN), optionally named; "
    "repeat for more models. Unnamed, a model is called after its folder, file or run. "
    "May be left out with --acted and --stated.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="The HTML file to write; its figures and tables go to <name>_files/ beside it.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes drawing the figures (default: the CPUs available, at most 4).",
)
@click.option(
    "--acted",
    default=None,
    help="A model's choices between actions (as gap --acted reads them: the value–action "
    "study's task-2 log with --actions, or a task2_results_<model>.csv): adds the section "
    "'Stated and enacted values'. Without --instrument the study's grid (value_actions) is used.",
)
@click.option(
    "--stated",
    default=None,
    metavar="[NAME=]SRC|NAME",
    help="With --acted: the same model's stated values (as gap --stated reads them, e.g. its "
    "<model>_t1.csv), or the name of one of the --llm models.  [default: the only --llm model]",
)
@click.option(
    "--actions",
    default=None,
    metavar="FILE|STORE#SET",
    help="With --acted: the actions file or stored action set; a task-2 log's index file, and "
    "the actions' texts shown beside the most misaligned cells.",
)
@reading_option("With --acted: how a task2_results reply is read (as gap --reading).")
@instrument_option
@score_option
@exclude_option
@group_distance_option
@centre_option
def report(
    humans: str | None,
    llms: tuple[str, ...],
    out: Path,
    jobs: int | None,
    instrument_path: Path | None,
    score: Scoring,
    exclude_path: Path | None,
    group_distance: GroupDistance,
    centre: bool = False,
    acted: str | None = None,
    stated: str | None = None,
    actions: str | None = None,
    reading: Reading = "action",
) -> None:
    """Write the report: overview, alignment rates, heatmaps, rankings, types, provenance;
    with --acted, stated against enacted values."""
    from valuecompass.report import build_report, parse_llm_option

    sources = [parse_llm_option(text) for text in llms]
    keep = instrument_path is not None or acted is None  # --acted alone: the study's grid
    result = build_report(
        humans,
        sources,
        out,
        instrument=(
            command_instrument(instrument_path, [src for _, src in sources], humans)
            if keep
            else None
        ),
        command=command_line(
            humans,
            llms,
            out,
            instrument_path,
            score,
            exclude_path,
            group_distance,
            centre,
            (acted, stated, Path(actions) if actions else None, reading),
        ),
        jobs=jobs,
        score=score,
        exclude=exclude_path,
        group_distance=group_distance,
        centre=centre,
        acted=acted,
        stated=stated,
        actions=actions,
        reading=reading,
    )
    click.echo(
        f"wrote {result.html} and {result.files_dir}/ ({len(result.figures) // 2} figures, "
        f"{len(result.tables)} tables) in {result.seconds:.1f} s"
    )
