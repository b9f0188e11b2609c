"""The report's stated and enacted sides (``report --acted``): which sources, read as ``gap``
reads them (:func:`valuecompass.api.gap_sources`), checked before anything is drawn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from valuecompass.api import GapResult, gap_sources
from valuecompass.common import redact_text
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument
from valuecompass.report._inputs import parse_llm_option
from valuecompass.report._result import ReportError
from valuecompass.sources import Reading, load_action_texts


@dataclass(frozen=True)
class GapSources:
    """What ``report --acted`` was given: ``acted`` a choice source (anything ``gap --acted``
    reads); ``stated`` a ratings source or the name of one of the report's models (``None``:
    the report's only model); ``actions`` the actions file or ``STORE#SET`` (a task-2 log's
    index file, and the texts of the actions); ``reading`` as ``gap --reading``."""

    acted: str
    stated: str | None = None
    actions: str | None = None
    reading: Reading = "action"


@dataclass(frozen=True)
class GapData:
    """The gap as ``gap`` computes it, who stated, and the actions' texts (``None`` without
    ``--actions``)."""

    name: str
    stated_src: str
    acted_src: str
    result: GapResult
    texts: pd.DataFrame | None
    #: whether the stated side is one of the report's ``--llm`` models
    in_report: bool = False


def stated_source(
    sources: GapSources, llms: Sequence[tuple[str, str | Path]]
) -> tuple[str, str, bool]:
    """(name, src, whether it is one of LLMS) of the stated side.

    ``--stated`` that names a model of the report is that model; any other text is a source
    (``NAME=SRC`` names it). Without ``--stated``, the report's model, if it has exactly one.
    """
    if sources.stated is None:
        if len(llms) != 1:
            said = "no --llm" if not llms else f"{len(llms)} --llm models"
            raise ReportError(
                f"--acted: say whose stated values it is set against with --stated (a source, "
                f"or one of the models' names); the report has {said}"
            )
        name, src = llms[0]
        return name, str(src), True
    for name, src in llms:
        if sources.stated == name:
            return name, str(src), True
    name, src = parse_llm_option(sources.stated)
    return name.removesuffix("_t1"), src, False


def own_set(acted: str, manifest: dict[str, object] | None) -> str | None:
    """A choice run's own action set as ``STORE#SET`` (``None`` for other choice sources)."""
    if not manifest or manifest.get("task") != "choice" or not manifest.get("action_set"):
        return None
    return f"{acted.partition('#')[0]}#{manifest['action_set']}"


def load_gap(
    sources: GapSources, llms: Sequence[tuple[str, str | Path]], instrument: Instrument
) -> GapData:
    """Read both sides and take the gap.

    Any error reading either side, or a pair with no context in common, is a
    :class:`ReportError` saying which side (``--stated`` or ``--acted``) and why.
    """
    name, src, known = stated_source(sources, llms)
    try:
        result = gap_sources(src, sources.acted, instrument, sources.actions, sources.reading)
    except ReportError:
        raise
    except (ValueCompassError, ValueError, OSError) as exc:
        raise ReportError(f"stated and enacted values (--stated/--acted): {exc}") from exc
    texts = None
    actions = sources.actions or own_set(sources.acted, result.acted.manifest)
    if actions is not None:
        try:
            texts = load_action_texts(actions, instrument)
        except (ValueCompassError, ValueError, OSError) as exc:
            raise ReportError(f"--actions: {exc}") from exc
    data = GapData(
        name=name,
        stated_src=redact_text(src),
        acted_src=redact_text(sources.acted),
        result=result,
        texts=texts,
        in_report=known,
    )
    return data
