"""The report's tables as DataFrames keyed by ids (display names are applied in HTML only)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from valuecompass.instrument import GroupRule, Instrument, context_columns, group_rule
from valuecompass.metrics import METRICS, TIE_RULES, Alignment, GroupBy
from valuecompass.report._inputs import ModelData, ReportData, SourceData


def display_names(instrument: Instrument) -> dict[str, str]:
    """Id → display name for axis levels (countries, scenarios), grouping levels (motivational
    types, ...) and items (values, ...)."""
    names = {level.id: level.name for axis in instrument.axes for level in axis.levels}
    names |= {g.id: g.name for grouping in instrument.groupings for g in grouping.levels}
    return names | {item.id: item.name for item in instrument.items}


def primary(instrument: Instrument) -> GroupRule:
    """The grouping the report shows items by: the instrument's first (the Value Form's
    motivational type)."""
    return group_rule(instrument, instrument.groupings[0].id)


def group_words(instrument: Instrument, grouping: str | None = None) -> tuple[str, str]:
    """GROUPING's (default: the first) name as words in a sentence, singular and plural, its
    parenthesis dropped (the Value Form: "motivational type(s)"; Moral Foundations: "moral
    foundation(s)")."""
    found = instrument.grouping(grouping or instrument.groupings[0].id)
    name = found.name.split(" (", 1)[0].strip()
    word = name[:1].lower() + name[1:]
    return word, word if word.endswith("s") else f"{word}s"


def item_words(instrument: Instrument) -> str:
    """The instrument's items in the plural ("values", "foundations", "traits")."""
    return f"{instrument.item_noun}s"


def axes_words(instrument: Instrument) -> str:
    """The context axes' names joined as a context is made ("country × scenario")."""
    return " × ".join(a.name.lower() for a in instrument.context_axes)


def axis_word(instrument: Instrument, axis: str) -> str:
    """Context axis AXIS's name as a word in a sentence ("persona"); AXIS if not an axis."""
    found = {a.id: a for a in instrument.context_axes}.get(axis)
    return found.name.lower() if found is not None else axis.replace("_", " ")


def missing_words(instrument: Instrument) -> str:
    """The people scale's missing codes as quoted labels ("'Don't know' or 'Prefer not to
    say'"), or a neutral phrase where it has none."""
    labels = [f"'{m.label}'" for m in instrument.people_scale.missing]
    if not labels:
        return "an answer off the scale"
    return ", ".join(labels[:-1]) + (" or " if len(labels) > 1 else "") + labels[-1]


def context_groups(instrument: Instrument) -> list[str]:
    """The answer table's column of each context axis: its id (the Value Form: country,
    scenario)."""
    return context_columns(instrument)


def plural(word: str) -> str:
    """``country`` → ``countries``, ``scenario`` → ``scenarios``: an axis or grouping id (or
    name) as a plural noun for captions."""
    word = word.replace("_", " ")
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


def type_name(type_id: str) -> str:
    """``self_direction`` → ``Self-direction``."""
    return type_id.replace("_", "-").capitalize()


def type_order(instrument: Instrument) -> list[str]:
    """The primary grouping's levels (motivational types) in the order items first list them."""
    return list(primary(instrument).order)


def group_order(instrument: Instrument, group: str) -> list[str]:
    """The instrument's order of GROUP's levels (any grouping, :mod:`valuecompass.instrument`)."""
    return list(group_rule(instrument, group).order)


def overall_table(data: ReportData) -> pd.DataFrame:
    """One row per model: every metric over all shared contexts (with each F1's chance level
    and the chance-corrected F1 when scores are centred)."""
    rows = []
    metrics: tuple[str, ...] = METRICS
    for model, alignment in data.aligned:
        rows.append({"model": model.name, **alignment.overall()})
        metrics = alignment.metrics
    columns = ["model", *metrics, "distance", "ties_share", "n_contexts"]
    return pd.DataFrame(rows, columns=columns)


def ties_table(data: ReportData) -> pd.DataFrame:
    """One row per model: the overall F1 under each tie rule (the paper's ``disagree`` first),
    its change from the paper's, the models' rank under each, and the share of cells on the
    threshold (:data:`valuecompass.metrics.TieRule`)."""
    rows = []
    for model, a in data.aligned:
        row: dict[str, object] = {"model": model.name}
        for rule in TIE_RULES:
            again = Alignment(a.instrument, a.human, a.model, a.group_distance, rule)
            row[f"f1_{rule}"] = again.overall()["f1"]
        row["ties_share"] = a.overall()["ties_share"]
        rows.append(row)
    table = pd.DataFrame(rows)
    for rule in TIE_RULES[1:]:
        at = table.columns.get_loc(f"f1_{rule}") + 1
        table.insert(at, f"change_{rule}", table[f"f1_{rule}"] - table["f1_disagree"])
    for rule in TIE_RULES:
        table[f"rank_{rule}"] = table[f"f1_{rule}"].rank(ascending=False, method="min")
        table[f"rank_{rule}"] = table[f"rank_{rule}"].astype(int)
    return table


def wide_metric(
    data: ReportData, group: GroupBy, metric: str, average: bool = True
) -> pd.DataFrame:
    """Models (rows) × the group's levels (columns) of one metric, with an ``average`` column.

    The average is the plain mean of the row's levels, as in the paper's Table 2.
    """
    rows = []
    for model, alignment in data.aligned:
        by = alignment.by(group)
        key = group_rule(data.instrument, group).column
        rows.append({"model": model.name, **dict(zip(by[key], by[metric], strict=True))})
    order = [g for g in group_order(data.instrument, group) if any(g in r for r in rows)]
    table = pd.DataFrame(rows, columns=["model", *order])
    if average:
        table["average"] = table[order].mean(axis=1)
    return table


def sources_table(data: ReportData) -> pd.DataFrame:
    """What each source held: files, answers, scored answers, respondents, contexts."""
    axes = context_columns(data.instrument)
    people_contexts = data.people.scored_contexts(axes) if data.people else None
    rows = []
    sources: list[tuple[str, SourceData]] = [("people", data.people)] if data.people else []
    sources += [("model", m.source) for m in data.models]
    for role, source in sources:
        report, contexts = source.report, source.scored_contexts(axes)
        missing = int(sum(report.missing.values()))
        rows.append(
            {
                "name": source.name,
                "role": role,
                "scored_by": "option probabilities" if report.scoring == "probs" else "answers",
                "files": report.files,
                "rows_read": report.rows,
                "respondents": _respondents(source) if role == "people" else np.nan,
                "answers": report.answers,
                "scored": report.answers - missing,
                "missing": missing,
                "parse_rate": (report.answers - missing) / report.answers
                if report.answers
                else np.nan,
                "contexts": len(contexts),
                "shared_contexts": len(contexts & people_contexts)
                if people_contexts is not None and role == "model"
                else np.nan,
            }
        )
    table = pd.DataFrame(rows)
    table["respondents"] = table["respondents"].astype("Int64")
    table["shared_contexts"] = table["shared_contexts"].astype("Int64")
    return table


def _reason(reason: str, labels: dict[str, str]) -> str:
    """A missing reason with its missing code's label, where it is one that says more."""
    label = labels.get(reason)
    return f"{reason} ({label})" if label and label.lower() != reason.lower() else reason


def _respondents(source: SourceData) -> int:
    """How many people a source holds: as its importer counted them, else (a tidy file or a
    survey store, which count answers) the distinct respondents among its answers."""
    if source.report.respondents:
        return source.report.respondents
    return int(source.answers.loc[source.answers["respondent"] != "", "respondent"].nunique())


def exclusions_table(data: ReportData) -> pd.DataFrame:
    """Rows skipped, repeats dropped, answers without a score, and unknown keys, per source."""
    rows = []
    sources = ([data.people] if data.people else []) + [m.source for m in data.models]
    labels = {m.code: m.label for s in data.instrument.rating_scales for m in s.missing}
    for source in sources:
        report = source.report
        items: list[tuple[str, str, int]] = [
            ("row skipped", reason, n) for reason, n in report.skipped.items()
        ]
        if report.duplicates_dropped:
            items.append(("repeated row dropped", "exact repeat", report.duplicates_dropped))
        items += [
            ("answer without score", _reason(r, labels), n) for r, n in report.missing.most_common()
        ]
        items += [("unknown key in answer", k, n) for k, n in report.unknown_keys.items()]
        rows += [{"name": source.name, "what": w, "reason": r, "count": n} for w, r, n in items]
    return pd.DataFrame(rows, columns=["name", "what", "reason", "count"])


def respondents_table(people: SourceData, instrument: Instrument) -> pd.DataFrame:
    """People per level of the first context axis (rows; the Value Form's countries) and of
    the second (columns; its scenarios), with totals."""
    answers = people.answers
    row, col = context_groups(instrument)[:2]
    counts = answers.groupby([row, col])["respondent"].nunique().unstack(col)
    rows = [c for c in group_order(instrument, row) if c in counts.index]
    cols = [t for t in group_order(instrument, col) if t in counts.columns]
    table = counts.reindex(index=rows, columns=cols).fillna(0).astype(int)
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return table.rename_axis(row).reset_index()


def parsing_table(data: ReportData) -> pd.DataFrame:
    """Share of answers scored per model (rows) and prompt variant (columns), and overall."""
    rows = []
    for model in data.models:
        answers = model.source.answers
        scored = answers["position"].notna()
        row: dict[str, object] = {"model": model.name}
        variants = answers["variant"]
        for variant in sorted(int(v) for v in variants.dropna().unique()):
            mask = (variants == variant).fillna(False).to_numpy(dtype=bool)
            row[f"variant_{variant}"] = float(scored[mask].mean())
        row["all"] = float(scored.mean()) if len(answers) else np.nan
        row["answers"] = len(answers)
        row["missing"] = int((~scored).sum())
        rows.append(row)
    table = pd.DataFrame(rows)
    ordered = [c for c in table.columns if c.startswith("variant_")]
    ordered.sort(key=lambda c: int(c.split("_")[1]))
    return table[["model", *ordered, "all", "answers", "missing"]]


def missing_table(data: ReportData) -> pd.DataFrame:
    """Missing answers per model (rows) and reason (columns)."""
    counts = {m.name: Counter(r for r in m.source.answers["missing"] if r) for m in data.models}
    reasons = sorted({r for c in counts.values() for r in c})
    rows = [{"model": name, **{r: c.get(r, 0) for r in reasons}} for name, c in counts.items()]
    return pd.DataFrame(rows, columns=["model", *reasons])


def top_misaligned(data: ReportData, k: int = 10) -> pd.DataFrame:
    """Each model's K values with the largest mean distance over all shared contexts."""
    rule = primary(data.instrument)
    types = data.instrument.group_of(rule.id)
    frames = []
    for model, alignment in data.aligned:
        ranking = alignment.ranking().head(k).copy()
        ranking.insert(0, "model", model.name)
        ranking[rule.column] = ranking["value"].map(types)
        frames.append(ranking[["model", "rank", "value", rule.column, "distance"]])
    return pd.concat(frames, ignore_index=True)


def type_scores(model: ModelData, group: str) -> dict[str, pd.DataFrame]:
    """Mean people's score, model's score and distance per motivational type × group level."""
    assert model.alignment is not None
    cells = model.alignment.cells()
    instrument = model.alignment.instrument
    out = {}
    for column in ("human", "model", "distance"):
        by = primary(instrument).column
        table = _grouped(model.alignment, cells, [by, group], column).unstack(group)
        levels = [g for g in group_order(instrument, group) if g in table.columns]
        out[column] = table.reindex(index=type_order(instrument), columns=levels)
    return out


def value_scores(model: ModelData, group: str) -> dict[str, pd.DataFrame]:
    """Mean people's score, model's score and distance per value × group level."""
    assert model.alignment is not None
    cells = model.alignment.cells()
    instrument = model.alignment.instrument
    out = {}
    for column in ("human", "model", "distance"):
        table = _grouped(model.alignment, cells, ["value", group], column).unstack(group)
        levels = [g for g in group_order(instrument, group) if g in table.columns]
        out[column] = table.reindex(index=instrument.item_ids, columns=levels)
    return out


def _grouped(alignment: Alignment, cells: pd.DataFrame, keys: list[str], column: str) -> pd.Series:
    """Mean scores per group; the distance as the alignment's ``group_distance`` says."""
    if column == "distance":
        return alignment.distance_by(keys, cells)
    return cells.groupby(keys)[column].mean()


def profile_types(data: ReportData) -> pd.DataFrame:
    """Motivational types (rows) × models (columns): each model's mean score over its contexts."""
    rule = primary(data.instrument)
    types = data.instrument.group_of(rule.id)
    columns = {}
    for model in data.models:
        per_value = model.profile.cells.mean(axis=0)
        columns[model.name] = per_value.groupby(per_value.index.map(types)).mean()
    table = pd.DataFrame(columns).reindex(type_order(data.instrument))
    return table.rename_axis(rule.column).reset_index()


def profile_extremes(data: ReportData, names: dict[str, str], k: int = 5) -> pd.DataFrame:
    """Each model's K most and least endorsed values over its contexts."""
    rows = []
    for model in data.models:
        most, least = model.profile.extremes(k)
        rows.append(
            {
                "model": model.name,
                "most_endorsed": "; ".join(f"{names[v]} ({s:.2f})" for v, s in most.items()),
                "least_endorsed": "; ".join(f"{names[v]} ({s:.2f})" for v, s in least.items()),
            }
        )
    return pd.DataFrame(rows, columns=["model", "most_endorsed", "least_endorsed"])
