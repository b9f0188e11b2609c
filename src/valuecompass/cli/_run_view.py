"""``valuecompass runs show``: a run's manifest, what it used and how its answers parsed.

A run made from schema 4 on stores its whole instrument and prompt design; the text view
summarises them (instrument: id, title, digest, items, scales, axes; design: name, factors,
variants) and ``--format json`` gives them whole. An older run says it has neither stored.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from valuecompass.cli._common import fail

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from valuecompass.store.runs import RunRecord

#: What the text view says of a run that stored no instrument or design.
NOT_STORED = "not stored with this run (made before schema 4); digest {digest}"


def run_details(engine: Engine, record: RunRecord) -> dict[str, Any]:
    """The manifest, status, prompt and answer counts, the tokens the prompts used
    (``tokens``: ``input``, ``output``, ``counted``), and the stored instrument and design
    (``instrument_spec``, ``prompt_design``: ``None`` for a run made before schema 4)."""
    from valuecompass.store import batches
    from valuecompass.store import runs as store

    if record.task == "choice":
        answers = store.run_choices(engine, record).rename(columns={"inclination": "position"})
        answers["position"] = answers["position"].where(answers["position"] != "")
    else:
        answers = store.run_answers(engine, record)
    out = {**record.summary(), **store.prompt_counts(engine, record.id)}
    out["status"] = store.live_status(engine, [record])[record.id]
    out["tokens"] = store.token_totals(engine, record.id)
    out["answers"] = len(answers)
    out["scored"] = int(answers["position"].notna().sum())
    out["missing"] = {
        k: int(v)
        for k, v in answers.loc[answers["missing"] != "", "missing"].value_counts().items()
    }
    out["batches"] = [_batch(b) for b in batches.list_batches(engine, record.id)]
    out["instrument_spec"] = record.instrument_spec
    out["prompt_design"] = record.prompt_design
    return out


def _batch(b: Any) -> dict[str, Any]:
    """A batch of the run (``run --batch``) as ``runs show`` gives it."""
    return {
        "number": b.number,
        "provider": b.provider,
        "id": b.provider_id,
        "state": b.state,
        "status": b.status,
        "requests": b.requests,
        "counts": b.counts,
        "created_at": b.created_at,
        "ended_at": b.ended_at,
        "note": b.note,
    }


def _batch_lines(details: dict[str, Any]) -> list[str]:
    found = details.get("batches") or []
    if not found:
        return []
    lines = [f"batches: {len(found)}"]
    for b in found:
        counts = b["counts"] or {}
        said = ", ".join(f"{counts[k]} {k}" for k in ("succeeded", "errored", "retried")
                         if k in counts)  # fmt: skip
        status = f" ({b['status']})" if b["status"] else ""
        note = f"; {b['note']}" if b["note"] else ""
        lines.append(
            f"  batch {b['number']}: {b['provider']} {b['id'] or '(no id recorded)'}, "
            f"{b['state']}{status}, {b['requests']} requests" + (f": {said}" if said else "") + note
        )
    return lines


def show_run(details: dict[str, Any], fmt: str) -> None:
    """DETAILS (see :func:`run_details`) as JSON, whole, or as text (lines never wrapped)."""
    if fmt == "json":
        click.echo(json.dumps(details, indent=2, default=str, ensure_ascii=False))
        return
    missing = ", ".join(f"{k} {v}" for k, v in details["missing"].items()) or "none"
    finished = details["finished_at"] or "-"
    lines = [
        f"run {details['name']}: {details['model']} ({details['spec']}), "
        + (
            f"choices between the actions of set {details['action_set']}"
            if details.get("task") == "choice"
            else f"mode {details['mode']}"
        )
        + f", {details['status']}",
        f"  started {details['started_at']}, finished {finished}, version {details['version']}",
        f"  prompts {details['prompts']} ({details['failed']} failed); answers "
        f"{details['answers']}, scored {details['scored']}, missing: {missing}",
        _token_line(details),
        *_batch_lines(details),
        *_instrument_lines(details),
        *_design_lines(details),
    ]
    click.echo("\n".join(lines))


def _token_line(details: dict[str, Any]) -> str:
    tokens = details["tokens"]
    return (
        f"  tokens: {tokens['input']} in, {tokens['output']} out "
        f"({tokens['counted']} of {details['prompts']} prompts counted)"
    )


def _instrument_lines(details: dict[str, Any]) -> list[str]:
    spec = details["instrument_spec"]
    if spec is None:
        return ["instrument: " + NOT_STORED.format(digest=details["instrument"])]
    from valuecompass.instrument import Instrument

    inst = Instrument.model_validate(spec)
    scales = ", ".join(f"{s.id} ({len(s.points)} points)" for s in inst.rating_scales)
    axes = ", ".join(f"{a.id} ({len(a.levels)} levels)" for a in inst.axes)
    return [
        f"instrument: {inst.id} ({inst.title}), version {inst.version}",
        f"  digest {details['instrument']}",
        f"  items: {len(inst.items)} {inst.item_noun}s: {', '.join(inst.item_ids)}",
        f"  scales: {scales}",
        f"  axes: {axes}",
    ]


def _design_lines(details: dict[str, Any]) -> list[str]:
    design = details["prompt_design"]
    if design is None:
        return ["prompt design: " + NOT_STORED.format(digest=details["prompts_digest"])]
    from valuecompass.prompts import FACTORS, ChoiceDesign, PromptSet

    if details.get("task") == "choice":
        choice = ChoiceDesign.model_validate(design)
        asked = details["grid"].get("variants") or [v.index for v in choice.variants]
        shown = "; ".join(f"{v.index}: {v.wording}, {v.order}, {v.format}"
                          for v in choice.variants)  # fmt: skip
        return [
            f"choice design: {choice.name}, version {choice.version}",
            f"  digest {details['prompts_digest']}",
            f"  variants (wording, order, format): {shown}",
            f"  this run asked {', '.join(str(v) for v in asked)}",
        ]
    prompts = PromptSet.model_validate(design)
    levels = prompts.levels()
    factors = [f"{f} ({', '.join(dict.fromkeys(v[f] for v in levels.values()))})" for f in FACTORS]
    asked = details["grid"].get("variants") or sorted(levels)
    return [
        f"prompt design: {prompts.name}, version {prompts.version}",
        f"  digest {details['prompts_digest']}",
        f"  factors: {'; '.join(factors)}",
        f"  variants: {len(levels)}; this run asked {', '.join(str(v) for v in asked)}",
    ]


def find_run(db: str, name: str) -> tuple[Engine, RunRecord]:
    """The store DB and its run NAME; a run not there is the user's error naming those that
    are."""
    from valuecompass.store import open_store, redact
    from valuecompass.store import runs as store

    engine = open_store(db, create=False)
    record = store.get_run(engine, name)
    if record is None:
        known = ", ".join(r.name for r in store.list_runs(engine)) or "none"
        fail(f"no run {name!r} in {redact(db)}; runs there: {known}")
    return engine, record
