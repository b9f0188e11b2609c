"""The report's inputs: model names, sources read and aligned, checked before anything is drawn."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from valuecompass.answers import ImportReport
from valuecompass.api import exclude_people
from valuecompass.common import redact_text
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument
from valuecompass.metrics import (
    Alignment,
    GroupBy,
    GroupDistance,
    NoOverlapError,
    Profile,
    align,
    value_profile,
)
from valuecompass.report._result import ReportError
from valuecompass.sources import Exclusions, Scoring, load_source, read_exclusions

if TYPE_CHECKING:
    from valuecompass.report._gap_inputs import GapData, GapSources

_NOT_IN_NAME = re.compile(r"[/\\:#?]")


def parse_llm_option(text: str) -> tuple[str, str]:
    """``NAME=SRC`` or a bare ``SRC`` → (name, src); see ``valuecompass.report``."""
    name, sep, src = text.partition("=")
    if sep and name.strip() and not _NOT_IN_NAME.search(name):
        if not src.strip():
            raise ReportError(f"--llm {text!r}: no source after '='")
        return name.strip(), src.strip()
    return default_name(text), text


_FILE_SUFFIXES = {".csv", ".db", ".sqlite", ".sqlite3"}


def default_name(src: str) -> str:
    """A model's name from its SRC: the run of ``STORE#RUN``, else the file's stem or the
    folder's name (``llama-3.1-8b/`` stays ``llama-3.1-8b``)."""
    location, _, run = src.partition("#")
    if run:
        return run
    path = Path(location.rstrip("/\\"))
    name = path.stem if path.suffix.lower() in _FILE_SUFFIXES else path.name
    return name or location


class _Memo(Alignment):
    """An :class:`Alignment` that computes each table once: the report asks for the cells,
    groupings and rankings of a model many times over (tables, figures, captions)."""

    def _once(self, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        memo: dict[str, pd.DataFrame] = self.__dict__.setdefault("_memo", {})
        if key not in memo:
            memo[key] = compute()
        return memo[key].copy()

    def cells(self) -> pd.DataFrame:
        return self._once("cells", super().cells)

    def by(self, group: GroupBy) -> pd.DataFrame:
        return self._once(f"by:{group}", lambda: super(_Memo, self).by(group))

    def ranking(self, group: GroupBy | None = None) -> pd.DataFrame:
        return self._once(f"ranking:{group}", lambda: super(_Memo, self).ranking(group))


@dataclass(frozen=True)
class SourceData:
    """One source as read: its tidy answers and what the importer reported."""

    name: str
    src: str
    answers: pd.DataFrame
    report: ImportReport
    uncentred: pd.DataFrame | None = None  # the raw answers, when ``answers`` are centred

    @property
    def raw_answers(self) -> pd.DataFrame:
        """The answers before any scale-use correction."""
        return self.answers if self.uncentred is None else self.uncentred

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The run manifest the source offers (a run store does), if any."""
        manifest = getattr(self.report, "manifest", None)
        return manifest if isinstance(manifest, dict) else None

    def scored_contexts(self, columns: list[str]) -> set[tuple[str, ...]]:
        """The contexts (keyed by COLUMNS, the instrument's context columns) with a score."""
        scored = self.answers[self.answers["position"].notna()]
        keys = [c for c in columns if c in scored.columns]
        return set(zip(*(scored[c] for c in keys), strict=True))


@dataclass(frozen=True)
class ModelData:
    """A model's source with its profile and, when people's answers are given, its alignment."""

    source: SourceData
    slug: str
    profile: Profile
    alignment: Alignment | None

    @property
    def name(self) -> str:
        return self.source.name


@dataclass(frozen=True)
class InputOptions:
    """How the inputs are read: scoring, excluded respondents, how group distances are taken."""

    score: Scoring = "answer"
    exclude: str | Path | None = None
    group_distance: GroupDistance = "cells"
    centre: bool = False  # every source's scores person-centred (report --centre)
    gap: GapSources | None = None  # stated against enacted values (report --acted)


@dataclass(frozen=True)
class ReportData:
    """Everything the sections draw from."""

    instrument: Instrument
    people: SourceData | None
    models: tuple[ModelData, ...]
    command: str | None
    options: InputOptions = field(default_factory=InputOptions)
    #: everyone's answers before the exclusions (``people`` is after them), and the exclusions
    everyone: pd.DataFrame | None = None
    exclusions: Exclusions | None = None
    #: the gap between a model's stated values and its choices (``report --acted``)
    gap: GapData | None = None
    generated_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    @property
    def centred(self) -> bool:
        """Whether every source's scores are person-centred (``report --centre``)."""
        return self.options.centre

    @property
    def aligned(self) -> tuple[tuple[ModelData, Alignment], ...]:
        """The models with an alignment (all of them when people's answers are given)."""
        return tuple((m, m.alignment) for m in self.models if m.alignment is not None)


def check_names(llms: Sequence[tuple[str, str | Path]], stated: bool = False) -> None:
    """At least one model (or, with STATED, a stated side that stands for it), each name
    given once."""
    if not llms and not stated:
        raise ReportError("a report needs at least one --llm source (or --acted with --stated)")
    counts = Counter(name for name, _ in llms)
    twice = [name for name, n in counts.items() if n > 1]
    if twice:
        raise ReportError(
            f"model name(s) used more than once: {', '.join(map(repr, twice))}; "
            "name each source with --llm NAME=SRC"
        )
    empty = [str(src) for name, src in llms if not name.strip()]
    if empty:
        raise ReportError(f"a model has an empty name: {', '.join(empty)}")


def slugs(names: Sequence[str]) -> list[str]:
    """File-name-safe, distinct slugs for display names."""
    out: list[str] = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"
        slug, n = base, 2
        while slug in out:
            slug, n = f"{base}-{n}", n + 1
        out.append(slug)
    return out


def load_inputs(
    humans: str | Path | None,
    llms: Sequence[tuple[str, str | Path]],
    instrument: Instrument,
    command: str | None,
    options: InputOptions | None = None,
) -> ReportData:
    """Read every source, then align each model with the people (when given); with
    ``options.centre``, on person-centred scores (see :func:`valuecompass.stats.centre_answers`)."""
    opts = options or InputOptions()
    check_names(llms, stated=opts.gap is not None and opts.gap.stated is not None)
    gap = _gap(opts, llms, instrument)
    people = _read("people", humans, instrument, "humans") if humans is not None else None
    everyone, exclusions = None, None
    if people is not None:
        everyone = people.answers
        if opts.exclude is not None:
            people, exclusions = _excluded(people, opts.exclude, instrument)
    people = _centred(people, instrument) if opts.centre else people
    models = []
    sources = [_read(name, src, instrument, "llm", opts.score) for name, src in llms]
    if gap is not None and not llms:  # the stated side is the report's model
        stated = gap.result
        sources.append(SourceData(gap.name, gap.stated_src, stated.stated_answers, stated.stated))
    for source, slug in zip(sources, slugs([s.name for s in sources]), strict=True):
        if opts.centre:  # over the values the people rated, as they are centred
            over = people.raw_answers if people is not None else None
            centred = _centre(source.answers, instrument, over)
            source = replace(source, answers=centred, uncentred=source.answers)
        models.append(_model(source, slug, people, instrument, opts.group_distance, opts.centre))
    return ReportData(
        instrument=instrument,
        people=people,
        models=tuple(models),
        command=command,
        options=opts,
        everyone=everyone,
        exclusions=exclusions,
        gap=gap,
    )


def _gap(
    opts: InputOptions, llms: Sequence[tuple[str, str | Path]], instrument: Instrument
) -> GapData | None:
    """The stated and enacted sides, read first: a bad one fails before any model is read."""
    if opts.gap is None:
        return None
    from valuecompass.report._gap_inputs import load_gap

    return load_gap(opts.gap, llms, instrument)


def _excluded(
    people: SourceData, exclude: str | Path, instrument: Instrument
) -> tuple[SourceData, Exclusions]:
    try:
        exclusions = read_exclusions(exclude, instrument)
        kept = exclude_people(people.answers, people.report, exclusions, instrument)
    except ValueCompassError as exc:
        raise ReportError(f"--exclude: {exc}") from exc
    return SourceData(people.name, people.src, kept, people.report), exclusions


def _centred(source: SourceData | None, instrument: Instrument) -> SourceData | None:
    if source is None:
        return None
    centred = _centre(source.answers, instrument)
    return replace(source, answers=centred, uncentred=source.answers)


def _centre(
    answers: pd.DataFrame, instrument: Instrument, over: pd.DataFrame | None = None
) -> pd.DataFrame:
    from valuecompass.stats import centre_answers

    return centre_answers(answers, instrument, over)


def _read(
    name: str, src: str | Path, instrument: Instrument, side: str, score: Scoring = "answer"
) -> SourceData:
    role = "people's answers" if side == "humans" else f"model {name!r}"
    try:
        answers, report = load_source(
            src, instrument, "humans" if side == "humans" else "llm", score
        )
    except ReportError:
        raise
    except (ValueCompassError, ValueError, OSError) as exc:
        raise ReportError(f"{role}: {exc}") from exc
    return SourceData(name=name, src=redact_text(str(src)), answers=answers, report=report)


def _model(
    source: SourceData,
    slug: str,
    people: SourceData | None,
    instrument: Instrument,
    group_distance: GroupDistance = "cells",
    chance: bool = False,
) -> ModelData:
    profile = value_profile(source.answers, instrument)
    if profile.cells.empty:
        raise ReportError(f"model {source.name!r} ({source.src}): no scored answer in any context")
    alignment = None
    if people is not None:
        try:
            computed = align(people.answers, source.answers, instrument, group_distance)
            alignment = _Memo(
                computed.instrument, computed.human, computed.model, group_distance, chance=chance
            )
        except NoOverlapError as exc:
            raise ReportError(f"model {source.name!r} ({source.src}): {exc}") from exc
    return ModelData(source=source, slug=slug, profile=profile, alignment=alignment)
