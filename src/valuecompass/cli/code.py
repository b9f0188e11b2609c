"""``valuecompass code``: code open-ended answers by hand or by model, count themes, agreement.

Codes live in a CSV file (``--codes``, default ``codes.csv``): one row per answer and coder.
Each command reads it, and ``import`` and ``run`` replace their coder's rows in it. The answers
come from a CSV or straight from the survey's store (``run --answers survey.db``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from valuecompass.cli._common import Commands, emit
from valuecompass.cli._options import format_option, instrument_option, model_option

if TYPE_CHECKING:
    import pandas as pd

    from valuecompass.coding import Codebook

# The coding package (pandas) and the instrument are imported by each command, when it runs.

codes_option = click.option(
    "--codes",
    "codes_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("codes.csv"),
    show_default=True,
    help="The codes file (CSV) to read and update.",
)
codebook_option = click.option(
    "--codebook",
    "codebook_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A codebook YAML file; the bundled one (the paper's themes) if omitted.",
)


@click.group("code", cls=Commands)
def code_group() -> None:
    """Code open-ended answers into the codebook's themes, count them, check agreement."""


@code_group.command("codebook")
@codebook_option
@format_option(show_default=True)
def codebook_command(codebook_path: Path | None, fmt: str) -> None:
    """Show the codebook's themes."""
    import pandas

    from valuecompass import coding

    book = coding.load_codebook(codebook_path)
    rows = [
        {"theme": t.id, "name": t.name, "description": t.description, "examples": len(t.examples)}
        for t in book.themes
    ]
    emit(pandas.DataFrame(rows), fmt, f"{book.name} (version {book.version})")


@code_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--coder", required=True, help="Who coded the file (e.g. their initials).")
@codes_option
@codebook_option
@instrument_option
def import_command(
    file: Path,
    coder: str,
    codes_path: Path,
    codebook_path: Path | None,
    instrument_path: Path | None,
) -> None:
    """Add hand codes from FILE (respondent, scenario, question, themes) as CODER's."""
    from valuecompass import coding
    from valuecompass.instrument import load_instrument

    book = coding.load_codebook(codebook_path)
    new = coding.import_codes(file, coder, book, load_instrument(instrument_path))
    _save(codes_path, new, book)
    click.echo(f"{coder}: {len(new)} coded answer(s) from {file} into {codes_path}")


@code_group.command("run")
@click.option(
    "--answers",
    "answers_src",
    required=True,
    help="Open-ended answers: a CSV with respondent, scenario, question, text, or the survey's "
    "store (a SQLite file or database URL).",
)
@model_option("model_spec", default="mock", help="Backend spec.")
@click.option("--coder", default=None, help="Name for these codes (default: the model spec).")
@click.option("--max-tokens", type=click.IntRange(1), default=200, show_default=True)
@codes_option
@codebook_option
@instrument_option
def run_command(
    answers_src: str,
    model_spec: str,
    coder: str | None,
    max_tokens: int,
    codes_path: Path,
    codebook_path: Path | None,
    instrument_path: Path | None,
) -> None:
    """Code every answer with a model; unreadable replies are kept as missing, with why."""
    from valuecompass import coding
    from valuecompass.instrument import load_instrument
    from valuecompass.models import get_backend

    book = coding.load_codebook(codebook_path)
    answers = coding.load_answers(answers_src, load_instrument(instrument_path))
    backend = get_backend(model_spec)
    try:
        coder_fn = coding.backend_coder(backend, max_tokens)
        new = coding.code_answers(answers, book, coder_fn, coder or model_spec)
    finally:
        backend.close()
    _save(codes_path, new, book)
    missing = int((new["missing"] != "").sum())
    click.echo(f"{coder or model_spec}: {len(new)} answer(s) coded, {missing} missing")


def _save(codes_path: Path, new: pd.DataFrame, book: Codebook) -> None:
    """Merge NEW into the codes file, replacing rows of the same answer and coder."""
    from valuecompass import coding

    del book  # the codes were checked against it when made
    coding.write_codes(coding.merge_codes(coding.read_codes(codes_path), new), codes_path)


@code_group.command("counts")
@click.option("--coder", default=None, help="Whose codes to count (needed if several).")
@codes_option
@codebook_option
@format_option(show_default=True)
def counts_command(
    coder: str | None, codes_path: Path, codebook_path: Path | None, fmt: str
) -> None:
    """Respondents expressing each theme, per scenario and in all."""
    from valuecompass import coding

    book = coding.load_codebook(codebook_path)
    emit(coding.theme_counts(_existing(codes_path), book, coder), fmt, "Theme counts (respondents)")


@code_group.command("agreement")
@click.option("--coders", nargs=2, required=True, help="The two coders to compare.")
@codes_option
@codebook_option
@format_option(show_default=True)
def agreement_command(
    coders: tuple[str, str], codes_path: Path, codebook_path: Path | None, fmt: str
) -> None:
    """Cohen's kappa between two coders, per theme and pooled."""
    from valuecompass import coding

    book = coding.load_codebook(codebook_path)
    table = coding.coder_agreement(_existing(codes_path), book, coders[0], coders[1])
    emit(table, fmt, f"Agreement: {coders[0]} and {coders[1]}")


def _existing(codes_path: Path) -> pd.DataFrame:
    from valuecompass import coding

    if not codes_path.exists():
        raise coding.CodingError(f"{codes_path}: no codes file yet (make one with `code import`)")
    return coding.read_codes(codes_path)
