"""Model outputs in the paper's released layout: ``llm_outputs/<model>/value_eval_c*_s*_*.csv``.

Each row is one context (``country`` and the ``scenario`` vignette text, the levels of the
instrument's first and second context axes) with the raw answer to each of the 8 prompt
variants in ``evaluation_0`` .. ``evaluation_7``. Variants 0, 1, 4 and 5 asked for agreement
options, 2, 3, 6 and 7 for portrait options. Some files repeat rows of
earlier files (runs appended); an exact repeat is dropped, a differing repeat counts as another
sample.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from valuecompass import answers as ans
from valuecompass.answers import parse_form
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, RatingScale, UnknownNameError, context_columns

PORTRAIT_VARIANTS = frozenset({2, 3, 6, 7})


def released_levels() -> dict[int, dict[str, str]]:
    """The authors' factor levels of variants 0..7 (their ``generate_prompt``), a full 2^3:

    * ``layout``, bit 0: the value lines before the options (``values_first``: 0, 2, 4, 6) or
      the options first (``options_first``: 1, 3, 5, 7); the authors call it the order;
    * ``style``, bit 1: SVS lines with agreement options (``svs``) or portrait lines with
      likeness options (``pvq``: 2, 3, 6, 7);
    * ``requirement``, bit 2: the plain JSON requirement (``plain``) or one ending in a
      completion cue (``cue``: 4..7).

    Framing (the context sentence) never varied, nor the order of the options and values
    within their lists; the level names match the bundled ``paper`` design's.
    """
    return {
        v: {
            "framing": "context",
            "style": "pvq" if v & 2 else "svs",
            "requirement": "cue" if v & 4 else "plain",
            "order": "forward",
            "layout": "options_first" if v & 1 else "values_first",
        }
        for v in range(8)
    }


FILE_GLOB = "value_eval_*.csv"
_SCENARIO_NAME = re.compile(r"in the (.+?) Scenario", re.IGNORECASE)


class ReleasedDataError(ValueCompassError, ValueError):
    """A model-output file that does not follow the released layout."""


def topic_from_vignette(text: str, instrument: Instrument) -> str | None:
    """Scenario id named in a vignette's opening ("... in the Healthcare Scenario: ...")."""
    match = _SCENARIO_NAME.search(text[:300])
    if match:
        try:
            return instrument.level("scenario", match.group(1)).id
        except UnknownNameError:
            pass
    opening = text[:300].lower()
    for scenario in instrument.axis("scenario").levels:
        if any(
            name.lower() in opening for name in (scenario.name, *scenario.aliases) if len(name) > 3
        ):
            return scenario.id
    return None


def _scales(instrument: Instrument, variant: int) -> tuple[RatingScale, RatingScale]:
    """The scale VARIANT asked for (its style's wording, ``pvq`` or ``svs``), and the other."""
    pvq, svs = instrument.scale_for("pvq"), instrument.scale_for("svs")
    return (pvq, svs) if variant in PORTRAIT_VARIANTS else (svs, pvq)


def read_model_folder(
    folder: Path, instrument: Instrument, model: str | None = None
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """Read one model's folder into the tidy answer table."""
    files = sorted(folder.glob(FILE_GLOB))
    if not files:
        raise ReleasedDataError(f"{folder}: no {FILE_GLOB} files")
    model = model or folder.name
    report = ans.ImportReport(source=str(folder), files=len(files))
    report.variant_levels = released_levels()
    seen: set[tuple[str, ...]] = set()
    samples: dict[tuple[str, str], int] = {}
    rows: list[dict[str, object]] = []
    for path in files:
        for line, record in _records(path):
            report.rows += 1
            key = tuple(str(record[c]) for c in record if c != "")
            if key in seen:
                report.duplicates_dropped += 1
                continue
            seen.add(key)
            context = _context(path, line, record, instrument, report)
            if context is None:
                continue
            sample = samples.get(context, 0)
            samples[context] = sample + 1
            rows.extend(_row_answers(record, context, sample, model, instrument, report))
    table = ans.frame(rows, context_columns(instrument))
    report.answers = len(table)
    report.missing.update(m for m in table["missing"] if m)
    return table, report


def _records(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise ReleasedDataError(f"{path}: the file is empty") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ReleasedDataError(f"{path}: cannot read as CSV ({exc})") from exc
    df.columns = ["" if c.startswith("Unnamed") else c for c in df.columns]
    absent = [c for c in ("country", "scenario") if c not in df.columns]
    if absent or not any(c.startswith("evaluation_") for c in df.columns):
        need = ", ".join(absent) or "evaluation_0 .. evaluation_7"
        raise ReleasedDataError(f"{path}: missing column(s) {need}")
    return [(i + 2, r) for i, r in enumerate(df.to_dict("records"))]


def _context(
    path: Path, line: int, record: dict[str, str], instrument: Instrument, report: ans.ImportReport
) -> tuple[str, str] | None:
    try:
        country = instrument.level("country", record["country"]).id
    except UnknownNameError:
        report.skipped[f"country {record['country']!r}"] += 1
        return None
    topic = topic_from_vignette(record["scenario"], instrument)
    if topic is None:
        raise ReleasedDataError(
            f"{path} line {line}: cannot tell the scenario from its vignette text"
        )
    return country, topic


def _row_answers(
    record: dict[str, str],
    context: tuple[str, str],
    sample: int,
    model: str,
    instrument: Instrument,
    report: ans.ImportReport,
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for column, text in record.items():
        match = re.fullmatch(r"evaluation_(\d+)", column)
        if not match:
            continue
        variant = int(match.group(1))
        asked, other = _scales(instrument, variant)
        form = parse_form(text, instrument, asked, (other,))
        report.unknown_keys.update(form.unknown_keys)
        for value_id, parsed in form.answers.items():
            out.append(
                {
                    "source": model,
                    **dict(zip(context_columns(instrument), context, strict=True)),
                    "value": value_id,
                    "variant": variant,
                    "sample": sample,
                    "raw": parsed.raw,
                    "code": parsed.code or "",
                    "position": parsed.position,
                    "missing": parsed.missing.value if parsed.missing else "",
                }
            )
    return out


def model_folders(root: Path) -> list[Path]:
    """Model folders under a released ``llm_outputs`` folder."""
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob(FILE_GLOB)))
