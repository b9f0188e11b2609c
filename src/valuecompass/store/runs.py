"""Model runs in the store: the run manifest, each prompt's outcome, and each answer.

A prompt and all of its answers are written in one transaction, so a crash or Ctrl-C leaves
either the whole prompt or none of it. ``(run_id, cache_key)`` is unique: the same run asked
again skips what it has, and any run may reuse another's answer to the very same request. A
prompt's key is its request's, unless an earlier prompt of its run has the same request (two
contexts the design renders alike): then a key of the request and its own labels
(``runner._plan.follower_key``), so every context is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Table, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from valuecompass import answers as ans
from valuecompass.store._leases import Owner, claim, leases, release
from valuecompass.store._open import StoreError
from valuecompass.store._record import RECORD_VERSION as RECORD_VERSION
from valuecompass.store._record import RecordError as RecordError
from valuecompass.store._record import RunGrid as RunGrid
from valuecompass.store._record import RunManifest as RunManifest
from valuecompass.store._record import RunParams as RunParams
from valuecompass.store._record import RunRecord as RunRecord
from valuecompass.store._record import RunStatus as RunStatus
from valuecompass.store._record import default_name as default_name
from valuecompass.store._record import design_digest as design_digest
from valuecompass.store._record import read_record
from valuecompass.store._record import upgrade as upgrade
from valuecompass.store._run_tables import CONTEXT_DOC as CONTEXT_DOC
from valuecompass.store._run_tables import answers as answers
from valuecompass.store._run_tables import present as present
from valuecompass.store._run_tables import prompts as prompts
from valuecompass.store._run_tables import runs as runs


def now() -> datetime:
    return datetime.now(UTC)


def get_run(engine: Engine, name: str) -> RunRecord | None:
    """The run of that NAME, upgraded to today's record; ``None`` if the store has none."""
    with engine.connect() as conn:
        row = conn.execute(select(*present(conn, runs)).where(runs.c.name == name)).first()
    return read_record(dict(row._mapping), engine) if row else None


def list_runs(engine: Engine) -> list[RunRecord]:
    """Every run in the store, oldest first (a record that does not read is a RecordError)."""
    with engine.connect() as conn:
        rows = conn.execute(select(*present(conn, runs)).order_by(runs.c.id)).all()
    return [read_record(dict(r._mapping), engine) for r in rows]


def start_run(engine: Engine, manifest: RunManifest, owner: Owner | None = None) -> RunRecord:
    """Create the run, or reopen it if one of that name exists with the same settings.

    With an OWNER (the runner passes its process), the run's lease goes to it: a run that
    another live process is writing is refused (``RunBusyError``), one whose writer died is
    taken over.
    """
    existing = get_run(engine, manifest.name)
    if existing is None:
        row = manifest.model_dump(mode="json")
        try:
            with engine.begin() as conn:
                conn.execute(runs.insert().values(**row, status="running", started_at=now()))
        except IntegrityError:  # another process created it a moment ago: reopen theirs
            pass
        existing = get_run(engine, manifest.name)
        assert existing is not None
    _check_same(existing, manifest)
    if owner is not None:
        claim(engine, existing.id, owner, existing.name)
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == existing.id)
            .values(status="running", finished_at=None, note=None, **_specs(existing, manifest))
        )
    reopened = get_run(engine, manifest.name)
    assert reopened is not None
    return reopened


def _specs(existing: RunRecord, manifest: RunManifest) -> dict[str, Any]:
    """The instrument and design a run made before schema 4 gains when it resumes."""
    out = {}
    for key in ("instrument_spec", "prompt_design"):
        if getattr(existing, key) is None and getattr(manifest, key) is not None:
            out[key] = getattr(manifest, key)
    return out


def live_status(engine: Engine, records: Sequence[RunRecord]) -> dict[int, str]:
    """Run id → its status as it stands: ``stale`` for a run marked ``running`` whose process
    is gone (killed, or its machine lost), so a dead run never looks alive."""
    held = leases(engine)
    out: dict[int, str] = {}
    for r in records:
        lease = held.get(r.id)
        out[r.id] = "stale" if r.status == "running" and not (lease and lease.live()) else r.status
    return out


#: The manifest fields a resumed run must keep (both sides upgraded to today's record).
SAME = ("model", "mode", "params", "grid", "instrument", "prompts_digest", "task", "action_set")


def _check_same(existing: RunRecord, manifest: RunManifest) -> None:
    for key in SAME:
        was, now_ = getattr(existing, key), getattr(manifest, key)
        if was != now_:
            raise StoreError(
                f"run {existing.name!r} exists with a different {key} "
                f"({_shown(was)!r}, now {_shown(now_)!r}); "
                "choose another --run name to start a new run"
            )


def _shown(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def finish_run(
    engine: Engine,
    run_id: int,
    status: str,
    note: str | None = None,
    owner: Owner | None = None,
) -> None:
    """Record how the run stopped, and give OWNER's lease on it back."""
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(status=status, finished_at=now(), note=note)
        )
        if owner is not None:
            release(conn, run_id, owner)


def done_keys(engine: Engine, run_id: int) -> set[str]:
    """Cache keys of the run's prompts that succeeded (failed ones are asked again)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(prompts.c.cache_key).where(prompts.c.run_id == run_id, prompts.c.error.is_(None))
        )
        return {r[0] for r in rows}


#: The columns that say which prompt of its run a row is: its context, item, variant, sample.
LABELS = ("country", "scenario", "context", "item", "variant", "sample")


def done_labels(engine: Engine, run_id: int) -> dict[str, tuple[Any, ...]]:
    """Cache key → the :data:`LABELS` of the run's prompt stored under it, for those that
    succeeded (failed ones are asked again)."""
    columns = [prompts.c[name] for name in LABELS]
    with engine.connect() as conn:
        rows = conn.execute(
            select(prompts.c.cache_key, *columns).where(
                prompts.c.run_id == run_id, prompts.c.error.is_(None)
            )
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def drop_prompts(engine: Engine, run_id: int, keys: Sequence[str]) -> int:
    """Drop the run's prompts under KEYS, with their answers (to be asked again)."""
    dropped = 0
    with engine.begin() as conn:
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            conn.execute(
                delete(answers).where(answers.c.run_id == run_id, answers.c.cache_key.in_(chunk))
            )
            result = conn.execute(
                delete(prompts).where(prompts.c.run_id == run_id, prompts.c.cache_key.in_(chunk))
            )
            dropped += int(result.rowcount or 0)
    return dropped


def clear_failures(engine: Engine, run_id: int) -> int:
    """Drop the run's failed prompts (and their missing answers) so they are asked again."""
    with engine.begin() as conn:
        failed = select(prompts.c.cache_key).where(
            prompts.c.run_id == run_id, prompts.c.error.isnot(None)
        )
        conn.execute(
            delete(answers).where(answers.c.run_id == run_id, answers.c.cache_key.in_(failed))
        )
        result = conn.execute(
            delete(prompts).where(prompts.c.run_id == run_id, prompts.c.error.isnot(None))
        )
        return int(result.rowcount or 0)


def cached(engine: Engine, keys: Sequence[str], exclude_run: int | None) -> dict[str, int]:
    """Cache key → a successful prompt row with that key, of another run than EXCLUDE_RUN
    (of any run, itself included, when ``None``)."""
    found: dict[str, int] = {}
    with engine.connect() as conn:
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            rows = conn.execute(
                select(prompts.c.cache_key, func.min(prompts.c.id))
                .where(
                    prompts.c.cache_key.in_(chunk),
                    prompts.c.error.is_(None),
                    prompts.c.run_id != (-1 if exclude_run is None else exclude_run),
                )
                .group_by(prompts.c.cache_key)
            )
            found.update({k: int(i) for k, i in rows})
    return found


def save_prompt(
    engine: Engine, prompt_row: dict[str, Any], answer_rows: Iterable[dict[str, Any]]
) -> bool:
    """Store one prompt and its answers atomically; ``False`` if the run already had it."""
    return save_prompts(engine, [(prompt_row, list(answer_rows))])[0]


def save_prompts(
    engine: Engine, batch: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> list[bool]:
    """Store several prompts with their answers in one transaction (a group commit).

    Each prompt is whole or absent; one already stored in its run is skipped (``False``).
    Three statements per batch, whatever its size: find the stored, insert prompts, answers.
    """
    if not batch:
        return []
    run_ids = {p["run_id"] for p, _ in batch}
    keys = [p["cache_key"] for p, _ in batch]
    with engine.begin() as conn:
        stored = {
            (r, k)
            for r, k in conn.execute(
                select(prompts.c.run_id, prompts.c.cache_key).where(
                    prompts.c.run_id.in_(run_ids), prompts.c.cache_key.in_(keys)
                )
            )
        }
        fresh: list[bool] = []
        picked: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for p, rows in batch:
            key = (p["run_id"], p["cache_key"])
            new = key not in stored
            fresh.append(new)
            if new:
                stored.add(key)
                picked.append((p, rows))
        if picked:
            convert = prompts.c.created_at.type.bind_processor(conn.dialect)
            stamp = convert(now()) if convert is not None else now()  # as SQLAlchemy writes it
            _insert_prompts(conn, picked, stamp)
    return fresh


def _insert_prompts(
    conn: Connection, picked: list[tuple[dict[str, Any], list[dict[str, Any]]]], stamp: Any
) -> None:
    """Insert PICKED's prompt rows (stored at STAMP) and their answer rows (under the prompt's
    run and key), as tuples made straight from the given rows: no row copied into a new dict."""
    first = picked[0][0]
    p_cols = [c for c in _columns(prompts, first) if c != "created_at"]
    get_p = itemgetter(*p_cols)
    p_rows = [(*get_p(p), stamp) if len(p_cols) > 1 else (get_p(p), stamp) for p, _ in picked]
    _executemany(conn, prompts, [*p_cols, "created_at"], p_rows)
    sample = next((rows[0] for _, rows in picked if rows), None)
    if sample is None:
        return
    a_cols = [c for c in _columns(answers, sample) if c not in ("run_id", "cache_key")]
    get_a = itemgetter(*a_cols)
    one = len(a_cols) == 1
    a_rows = [
        (p["run_id"], p["cache_key"], *((get_a(a),) if one else get_a(a)))
        for p, rows in picked
        for a in rows
    ]
    _executemany(conn, answers, ["run_id", "cache_key", *a_cols], a_rows)


def _columns(table: Table, row: dict[str, Any]) -> list[str]:
    """TABLE's columns that ROW gives, in the table's order; a key of ROW that is none of
    them is refused."""
    columns = [c.name for c in table.columns if c.name in row]
    if len(columns) < len(row):
        raise ValueError(f"{table.name}: no columns {sorted(set(row) - set(columns))}")
    return columns


def _executemany(conn: Connection, table: Table, columns: list[str], rows: list[Any]) -> None:
    """Insert ROWS (tuples in COLUMNS' order) into TABLE through the driver's executemany."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, rows)


def copy_prompt(engine: Engine, source_id: int, run_id: int) -> bool:
    """Copy another run's stored prompt and answers into RUN_ID (a cache hit)."""
    return copy_prompts(engine, [source_id], run_id) == 1


#: Prompts copied from the cache per transaction.
COPY_CHUNK = 500


def copy_prompts(engine: Engine, source_ids: Sequence[int], run_id: int) -> int:
    """Copy other runs' stored prompts (by row id) and their answers into RUN_ID, in bulk:
    a few statements per :data:`COPY_CHUNK` prompts. Returns how many were new to RUN_ID (a
    prompt RUN_ID already has is skipped, as :func:`save_prompts` does)."""
    copied = 0
    for start in range(0, len(source_ids), COPY_CHUNK):
        chunk = list(source_ids[start : start + COPY_CHUNK])
        copied += sum(save_prompts(engine, _copies(engine, chunk, run_id)))
    return copied


def copy_as(engine: Engine, targets: Sequence[tuple[int, dict[str, Any]]], run_id: int) -> int:
    """Copy stored prompts (by row id) and their answers into RUN_ID, each under the key and
    :data:`LABELS` given beside it (a cache hit for a prompt of RUN_ID's own context, which may
    differ from the source's where two contexts read alike). Returns how many were new to
    RUN_ID. In item mode an answer's item is the target's; in mode all the form's items stay."""
    copied = 0
    for start in range(0, len(targets), COPY_CHUNK):
        chunk = list(targets[start : start + COPY_CHUNK])
        sources = {
            p["id"]: (p, rows)
            for p, rows in _copies(engine, sorted({i for i, _ in chunk}), run_id, keep_id=True)
        }
        batch = []
        for source_id, labels in chunk:
            prompt_row, rows = sources[source_id]
            row = {k: v for k, v in prompt_row.items() if k != "id"}
            batch.append(({**row, **labels}, [_relabel(a, labels) for a in rows]))
        copied += sum(save_prompts(engine, batch))
    return copied


def _relabel(answer: dict[str, Any], labels: dict[str, Any]) -> dict[str, Any]:
    """An answer row under a prompt's LABELS: its context, variant, sample, and its item when
    the prompt asked one."""
    out: dict[str, Any] = {**answer}
    out.update({k: labels[k] for k in ("country", "scenario", "context") if k in labels})
    out.update({k: labels[k] for k in ("variant", "sample") if k in labels})
    if labels.get("item") is not None:
        out["value"] = labels["item"]
    return out


def _copies(
    engine: Engine, source_ids: list[int], run_id: int, keep_id: bool = False
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The prompts SOURCE_IDS with their answers, as rows of RUN_ID (with their row ``id``
    if KEEP_ID)."""
    with engine.connect() as conn:
        found = [
            r._mapping for r in conn.execute(select(prompts).where(prompts.c.id.in_(source_ids)))
        ]
        pairs = {(p["run_id"], p["cache_key"]) for p in found}
        rows: dict[tuple[int, str], list[dict[str, Any]]] = {pair: [] for pair in pairs}
        for run in {r for r, _ in pairs}:
            keys = sorted(k for r, k in pairs if r == run)
            picked = select(answers).where(answers.c.run_id == run, answers.c.cache_key.in_(keys))
            for a in conn.execute(picked.order_by(answers.c.id)):
                m = a._mapping
                rows[(m["run_id"], m["cache_key"])].append(
                    {k: m[k] for k in m if k not in ("id", "cache_key", "run_id")}
                )
    out = []
    for p in found:
        dropped = ("run_id", "created_at") if keep_id else ("id", "run_id", "created_at")
        prompt_row = {k: p[k] for k in p if k not in dropped}
        out.append(({**prompt_row, "run_id": run_id}, rows[(p["run_id"], p["cache_key"])]))
    return out


def run_axes(run: RunRecord) -> list[str]:
    """The context axis ids of RUN's grid, in order."""
    return list(run.grid.axes)


def run_answers(engine: Engine, run: RunRecord, source: str | None = None) -> pd.DataFrame:
    """The run's answers as the tidy answer table, a column per context axis of its grid.

    The store keeps a context in physical columns whatever its axes (:func:`context_row`):
    the first axis's level in ``country``, the second's in ``scenario``, the rest in
    ``context`` (``axis=level;...``). This is the one place they become axis ids.
    """
    with engine.connect() as conn:
        rows = conn.execute(
            select(*present(conn, answers)).where(answers.c.run_id == run.id).order_by(answers.c.id)
        ).all()
    name = source or run.name
    axes = run_axes(run)
    table = ans.frame(
        (
            {
                "source": name,
                **_context_of(r, axes),
                "value": r.value,
                "variant": r.variant,
                "sample": r.sample,
                "raw": r.raw,
                "code": r.code or "",
                "position": r.position,
                "missing": r.missing or "",
            }
            for r in rows
        ),
        axes,
    )
    table["expected"] = [r.expected for r in rows]
    table["probs"] = [r.probs for r in rows]  # JSON: option code -> probability
    return table


def run_choices(engine: Engine, run: RunRecord, source: str | None = None) -> pd.DataFrame:
    """A choice run's answers as the tidy choice table (see :mod:`valuecompass.answers`): the
    chosen inclination is stored as the answer's ``code``, the place it was shown in as its
    ``place``. Beside the table's columns: ``p_opposes``, the probability the backend gave the
    opposing action (NaN where it gave none)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(*present(conn, answers)).where(answers.c.run_id == run.id).order_by(answers.c.id)
        ).all()
    name = source or run.name
    axes = run_axes(run)
    table = ans.choice_frame(
        (
            {
                "source": name,
                **_context_of(r, axes),
                "value": r.value,
                "variant": r.variant,
                "sample": r.sample,
                "inclination": r.code or "",
                "option": getattr(r, "place", None),
                "raw": r.raw,
                "missing": r.missing or "",
            }
            for r in rows
        ),
        axes,
    )
    table["p_opposes"] = [float("nan") if r.expected is None else r.expected for r in rows]
    return table


def _context_of(row: Any, axes: Sequence[str]) -> dict[str, str]:
    """Axis id → level of a stored answer ROW (see :func:`run_answers`)."""
    rest = dict(_levels(getattr(row, "context", "") or ""))
    physical = (row.country, row.scenario)
    return {a: physical[i] if i < 2 else rest.get(a, "") for i, a in enumerate(axes)}


def context_row(context: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The physical columns of a context's (axis, level) pairs in a prompt or answer row."""
    levels = [level for _, level in context]
    return {
        "country": levels[0] if levels else "",
        "scenario": levels[1] if len(levels) > 1 else "",
        "context": context_key(context),
    }


def context_key(context: Sequence[tuple[str, str]]) -> str:
    """The ``context`` column of a context's (axis, level) pairs: those past the first two."""
    return ";".join(f"{axis}={level}" for axis, level in context[2:])


def _levels(key: str) -> list[tuple[str, str]]:
    return [tuple(part.split("=", 1)) for part in key.split(";") if "=" in part]  # type: ignore[misc]


def prompt_counts(engine: Engine, run_id: int) -> dict[str, int]:
    """How many prompts the run stored, and how many failed."""
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(prompts).where(prompts.c.run_id == run_id)
        ).scalar_one()
        failed = conn.execute(
            select(func.count())
            .select_from(prompts)
            .where(prompts.c.run_id == run_id, prompts.c.error.isnot(None))
        ).scalar_one()
    return {"prompts": int(total), "failed": int(failed)}


def token_totals(engine: Engine, run_id: int) -> dict[str, int]:
    """The tokens of the run's stored prompts as their backends counted them: ``input`` and
    ``output`` summed (a prompt without a count adds nothing), and ``counted``, how many
    prompts have a count of either. A prompt copied from another run keeps its count."""
    counted = prompts.c.prompt_tokens.isnot(None) | prompts.c.completion_tokens.isnot(None)
    with engine.connect() as conn:
        given, made = conn.execute(
            select(func.sum(prompts.c.prompt_tokens), func.sum(prompts.c.completion_tokens)).where(
                prompts.c.run_id == run_id
            )
        ).one()
        n = conn.execute(
            select(func.count()).select_from(prompts).where(prompts.c.run_id == run_id, counted)
        ).scalar_one()
    return {"input": int(given or 0), "output": int(made or 0), "counted": int(n)}


def run_prompts(engine: Engine, run: RunRecord) -> pd.DataFrame:
    """The run's prompts, one row each in the order stored: the context (a column per axis of
    its grid), the item asked (empty for a prompt of all items), variant, sample, the model's
    text, why it failed (empty if it did not), seconds, attempts and the tokens in and out as
    the backend counted them (missing where it gave none)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(*present(conn, prompts)).where(prompts.c.run_id == run.id).order_by(prompts.c.id)
        ).all()
    axes = run_axes(run)
    table = pd.DataFrame(
        [
            {
                **_context_of(r, axes),
                "item": r.item or "",
                "variant": r.variant,
                "sample": r.sample,
                "raw": r.raw,
                "error": r.error or "",
                "latency": r.latency,
                "attempts": r.attempts,
                "prompt_tokens": getattr(r, "prompt_tokens", None),
                "completion_tokens": getattr(r, "completion_tokens", None),
            }
            for r in rows
        ],
        columns=[
            *axes,
            "item",
            "variant",
            "sample",
            "raw",
            "error",
            "latency",
            "attempts",
            "prompt_tokens",
            "completion_tokens",
        ],
    )
    for column in ("prompt_tokens", "completion_tokens"):
        table[column] = table[column].astype("Int64")
    table["latency"] = table["latency"].astype(float)
    return table
