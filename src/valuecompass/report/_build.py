"""Build a report: read and check the inputs, run the sections, draw, write, then move into place.

Everything is written into a temporary folder beside the output and renamed into place at the
very end, so a failure at any step leaves nothing at the output paths (and an earlier report
there untouched).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from valuecompass.instrument import Instrument
from valuecompass.report._draw import draw
from valuecompass.report._html import RenderedSection, environment, render_page, render_section
from valuecompass.report._inputs import InputOptions, load_inputs
from valuecompass.report._result import ReportError, ReportResult
from valuecompass.report._sec_profile import provenance
from valuecompass.report._section import Assets, Section, TableAsset
from valuecompass.report._sections import DEFAULT_SECTIONS
from valuecompass.sources import Side, choose_instrument


@dataclass(frozen=True)
class Target:
    """Where the report goes: the HTML file and the folder of files beside it."""

    html: Path
    files_dir: Path


def build(
    humans: str | Path | None,
    llms: Sequence[tuple[str, str | Path]],
    out: Path,
    instrument: Instrument | None,
    command: str | None,
    sections: Sequence[Section] | None,
    jobs: int | None = None,
    options: InputOptions | None = None,
) -> ReportResult:
    """See :func:`valuecompass.report.build_report`."""
    started = time.perf_counter()
    target = check_target(out)
    sides: list[tuple[str | Path, Side]] = [(src, "llm") for _, src in llms]
    if humans is not None:
        sides.append((humans, "humans"))
    data = load_inputs(humans, llms, choose_instrument(instrument, sides), command, options)
    assets = Assets()
    built = [(s, s.build(data, assets)) for s in (sections or DEFAULT_SECTIONS) if s.applies(data)]
    with staging(target) as stage:
        files = stage / target.files_dir.name
        files.mkdir()
        figures = draw(assets.figures, files, jobs)
        tables = write_tables(assets.tables, files)
        record = provenance(data)
        (files / PROVENANCE).write_text(json.dumps(record, indent=2, default=str) + "\n")
        env = environment()
        rendered = [
            RenderedSection(
                s.id,
                str(ctx.get("title") or s.title),
                render_section(env, s.template, ctx, files.name),
            )
            for s, ctx in built
        ]
        page = render_page(env, data, rendered, files.name)
        (stage / target.html.name).write_text(page, encoding="utf-8")
        install(stage, target)
    return ReportResult(
        html=target.html,
        files_dir=target.files_dir,
        figures=tuple(target.files_dir / p.name for p in figures),
        tables=tuple(target.files_dir / p.name for p in tables),
        seconds=time.perf_counter() - started,
    )


def check_target(out: Path) -> Target:
    """The output paths, or a :class:`ReportError` saying why they cannot be written."""
    html = out.expanduser().absolute()
    if html.is_dir():
        raise ReportError(f"cannot write the report to {out}: it is a folder; name a file in it")
    parent = html.parent
    while not parent.exists():  # folders still to make: the nearest existing one must take them
        parent = parent.parent
    if not parent.is_dir():
        raise ReportError(f"cannot write the report to {out}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"cannot write the report to {out}: {parent} is not writable")
    files_dir = html.with_name(f"{html.stem}_files")
    if files_dir.exists() and not files_dir.is_dir():
        raise ReportError(f"cannot write the report's files to {files_dir}: a file is there")
    # a report replaces an earlier report, never a file or folder of the user's
    if html.exists() and not _is_report(html):
        raise ReportError(
            f"cannot write the report to {out}: a file that is not a ValueCompass report is "
            "there; move it or name another file"
        )
    if files_dir.is_dir() and not (files_dir / PROVENANCE).is_file():
        raise ReportError(
            f"cannot write the report's files to {files_dir}: a folder that is not a "
            "report's is there; move it or name another file"
        )
    return Target(html=html, files_dir=files_dir)


#: The file every report's folder holds, and the mark in every report page's head.
PROVENANCE = "provenance.json"
_MARK = b'<meta name="generator" content="valuecompass '


def _is_report(path: Path) -> bool:
    """Whether PATH is a page this program wrote (its head carries the generator mark)."""
    try:
        with path.open("rb") as fh:
            return _MARK in fh.read(4096)
    except OSError:
        return False


@contextmanager
def staging(target: Target) -> Iterator[Path]:
    """A temporary folder beside the output (its folders made first where missing), removed
    whatever happens; folders made for a report that then failed are removed too."""
    made = [p for p in (target.html.parent, *target.html.parent.parents) if not p.exists()]
    try:
        target.html.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.html.name}.", dir=target.html.parent))
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target.html}: {exc.strerror}") from exc
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in made:  # innermost first; only what is empty (nothing of the user's)
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def install(stage: Path, target: Target) -> None:
    """Rename the staged files folder and HTML into place, restoring the old ones on failure."""
    previous = stage / ".previous"
    had_previous = target.files_dir.exists()
    try:
        if had_previous:
            target.files_dir.rename(previous)
        (stage / target.files_dir.name).rename(target.files_dir)
        os.replace(stage / target.html.name, target.html)
    except OSError as exc:
        if target.files_dir.exists() and previous.exists():
            shutil.rmtree(target.files_dir, ignore_errors=True)
        if previous.exists():
            previous.rename(target.files_dir)
        raise ReportError(f"cannot write the report to {target.html}: {exc}") from exc


def write_tables(tables: Sequence[TableAsset], folder: Path) -> list[Path]:
    written = []
    for table in tables:
        path = folder / table.csv_name
        table.frame.to_csv(path, index=False)
        written.append(path)
    return written
