"""Which instrument an analysis reads: the one given, or the one its stores kept.

A run stores the instrument it was made with (whole from store schema 4 on, else its
digest), and a survey store the instrument each study was served with (whole since issue 22,
else its digest). With no ``--instrument``, a command reads its sources on that stored
instrument, so a run of any instrument is read in its own words; with one, the stored
instruments must be comparable with it (:func:`check_comparable`). Sources that are files or
folders keep nothing and say nothing; with no store to ask, the Value Form is assumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from valuecompass.instrument import Instrument, bundled_ids, load_instrument
from valuecompass.sources._comparable import (
    IncomparableError,
    Side,
    check_comparable,
    difference,
    record_instrument,
    run_instrument,
)
from valuecompass.sources._load import SourceError, find_run, is_store


@dataclass(frozen=True)
class Stored:
    """The instrument a store kept for a source's answers."""

    source: str
    """The source as messages name it: ``STORE#RUN`` for a run, the store for a survey."""

    side: Side
    """Whose answers: ``llm`` (a run) or ``humans`` (a survey's people)."""

    instrument: Instrument


def stored_instrument(src: str | Path, side: Side) -> Stored | None:
    """The instrument the store SRC kept for its answers: a run's (``--llm STORE#RUN``) or
    the survey's studies' (``--humans STORE``); ``None`` for a file or folder, or a store that
    cannot say (a run or study that kept only a digest naming no bundled instrument).

    Two studies of one store served with instruments that cannot be compared are refused:
    their people's answers are read together.
    """
    text = str(src)
    if not is_store(text):
        return None
    from valuecompass.store import open_store, redact

    location, _, run_name = text.partition("#")
    shown = redact(location)
    engine = open_store(location, create=False)
    try:
        if side == "llm":
            try:
                record = find_run(engine, shown, run_name)
            except SourceError:
                return None  # reading the source says why, in its own words
            used = record_instrument(record)
            return None if used is None else Stored(f"{shown}#{record.name}", side, used)
        return _survey_instrument(engine, shown)
    finally:
        engine.dispose()


def _survey_instrument(engine: Engine, shown: str) -> Stored | None:
    from valuecompass.store import survey

    found: list[tuple[str, Instrument]] = []
    for study in survey.stored_studies(engine):
        spec = study.settings.get("instrument_spec")
        inst = (
            Instrument.model_validate(spec)
            if isinstance(spec, dict)
            else run_instrument({"instrument": study.instrument})
        )
        if inst is not None:
            found.append((study.study_id, inst))
    if not found:
        return None
    first_id, first = found[0]
    for study_id, inst in found[1:]:
        check_comparable(
            inst, first, f"{shown}: study {study_id!r} (against study {first_id!r})", "humans"
        )
    return Stored(shown, "humans", first)


def choose_instrument(
    given: Instrument | None,
    sources: Iterable[tuple[str | Path, Side]],
    fallback: str | None = None,
) -> Instrument:
    """The instrument to read SOURCES (each a SRC and whose answers it holds) with.

    GIVEN (``--instrument``), when the instruments the sources' stores kept are comparable with
    it; with none given, the first kept instrument (a run's first, where SOURCES lists the
    model's sources first), when every other kept one is comparable with it (today's bundled
    copy where it is one of the bundled instruments and reads the answers alike); else the
    bundled instrument FALLBACK names (``None``: the Value Form). A real conflict is an
    :class:`IncomparableError` naming the source and both instruments.
    """
    kept = [s for s in (stored_instrument(src, side) for src, side in sources) if s is not None]
    if given is not None:
        for stored in kept:
            check_comparable(stored.instrument, given, stored.source, stored.side)
        return given
    if not kept:
        return load_instrument(fallback)
    first = kept[0]
    for other in kept[1:]:
        found = difference(other.instrument, first.instrument, other.side)
        if found is not None:
            raise IncomparableError(
                f"{other.source} was made with instrument {other.instrument.id!r} and "
                f"{first.source} with {first.instrument.id!r}: {found}, so they cannot be "
                "read together; analyse each with its own instrument"
            )
    return _today(first)


def _today(stored: Stored) -> Instrument:
    """STORED's instrument, or today's bundled one of its id where that reads its answers
    alike (so what was added since, a grouping say, applies to older runs)."""
    inst = stored.instrument
    if inst.id not in bundled_ids():
        return inst
    bundled = load_instrument(inst.id)
    return bundled if difference(inst, bundled, stored.side) is None else inst
