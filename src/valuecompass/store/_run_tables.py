"""The run store's tables: the run manifest, each prompt's outcome, and each answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    literal_column,
    text,
)

from valuecompass.store._base import metadata

#: The ``context`` column: the levels of the axes past the first two (whose levels are in
#: ``country`` and ``scenario``), as ``axis=level`` joined by ``;``; ``''`` for two axes.
CONTEXT_DOC = "levels of the axes past the first two: 'language=de;...'; '' if none"
#: The ``scenario`` column (named ``topic`` before schema 8).
SECOND_DOC = "level of the context's second axis (the Value Form's scenario)"

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, doc="run number"),
    Column("name", String(200), nullable=False, unique=True, doc="the run's name, unique"),
    Column("model", String(500), nullable=False, doc="the backend's exact model identity"),
    Column("spec", String(500), nullable=False, doc="the --model spec the user gave"),
    Column("mode", String(10), nullable=False, doc="'all' or 'item' (older records: _record.py)"),
    Column("params", JSON, nullable=False, doc="temperature, max_tokens, seed, samples"),
    Column("grid", JSON, nullable=False, doc="axes (axis id: levels), items and variants asked"),
    Column("instrument", String(64), nullable=False, doc="SHA-256 of the instrument"),
    Column("prompts_digest", String(64), nullable=False, doc="SHA-256 of the prompt design"),
    Column("version", String(40), nullable=False, doc="ValueCompass version that ran it"),
    Column("status", String(20), nullable=False, doc="running, finished, interrupted, failed"),
    Column("started_at", DateTime(timezone=True), nullable=False, doc="first start (UTC)"),
    Column("finished_at", DateTime(timezone=True), doc="last finish (UTC), if finished"),
    Column("note", Text, doc="why it stopped, when it did not finish"),
    Column("instrument_spec", JSON, doc="the whole instrument (format 2); NULL before schema 4"),
    Column("prompt_design", JSON, doc="the whole prompt design; NULL before schema 4"),
    Column(
        "record_version",
        Integer,
        nullable=False,
        server_default=text("1"),
        doc="the run record's version (store/_record.py); 1 for runs made before schema 7",
    ),
    Column(
        "task",
        String(10),
        nullable=False,
        server_default=text("'rating'"),
        doc="'rating' (items rated on a scale) or 'choice' (one of two actions chosen)",
    ),
    Column("action_set", String(200), doc="a choice run's action set; NULL for ratings"),
)

prompts = Table(
    "prompts",
    metadata,
    Column("id", Integer, primary_key=True, doc="prompt row number"),
    Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, doc="its run"),
    Column("cache_key", String(64), nullable=False, doc="SHA-256 of model, params, prompt, sample"),
    Column("country", String(64), nullable=False, doc="level of the context's first axis"),
    Column("scenario", String(64), nullable=False, doc=SECOND_DOC),
    Column("item", String(64), doc="the value asked in item mode; NULL for a form"),
    Column("variant", Integer, nullable=False, doc="prompt variant index"),
    Column("sample", Integer, nullable=False, doc="sample index of the repeated prompt"),
    Column("raw", Text, nullable=False, doc="the model's text, or the error message"),
    Column("error", Text, doc="why the call failed after its retries; NULL on success"),
    Column("latency", Float, doc="seconds for the call, retries included"),
    Column("attempts", Integer, nullable=False, doc="calls made, retries included"),
    Column("prompt_tokens", Integer, doc="tokens in the prompt, as the backend counted"),
    Column("completion_tokens", Integer, doc="tokens generated"),
    Column("created_at", DateTime(timezone=True), nullable=False, doc="when it was stored"),
    Column("context", String(512), nullable=False, server_default="", doc=CONTEXT_DOC),
    UniqueConstraint("run_id", "cache_key", name="uq_prompt_once"),
)
Index("ix_prompts_cache_key", prompts.c.cache_key)

answers = Table(
    "answers",
    metadata,
    Column("id", Integer, primary_key=True, doc="answer row number"),
    Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, doc="its run"),
    Column("cache_key", String(64), nullable=False, doc="its prompt's cache key"),
    Column("country", String(64), nullable=False, doc="level of the context's first axis"),
    Column("scenario", String(64), nullable=False, doc=SECOND_DOC),
    Column("value", String(64), nullable=False, doc="value id"),
    Column("variant", Integer, nullable=False, doc="prompt variant index"),
    Column("sample", Integer, nullable=False, doc="sample index"),
    Column("raw", Text, nullable=False, doc="the part of the text read for this value"),
    Column("code", String(32), doc="the option code it was read as"),
    Column("position", Float, doc="raw position on the scale asked; NULL if missing"),
    Column("missing", String(32), doc="why there is no position; NULL if there is one"),
    Column("probs", Text, doc="JSON: option code → probability, renormalised over the options"),
    Column("option_mass", Float, doc="probability the model put on the option tokens at all"),
    Column("expected", Float, doc="expected position under probs"),
    Column("context", String(512), nullable=False, server_default="", doc=CONTEXT_DOC),
    Column("place", Integer, doc="a choice's chosen option as shown (1 = first); NULL: ratings"),
    UniqueConstraint(
        "run_id", "country", "scenario", "value", "variant", "sample", "context", name="uq_answer"
    ),
    ForeignKeyConstraint(
        ["run_id", "cache_key"], ["prompts.run_id", "prompts.cache_key"], ondelete="CASCADE"
    ),
)


#: Columns a migration renamed: (table, today's name) → the name before (schema 8 on: scenario).
RENAMED = {("prompts", "scenario"): "topic", ("answers", "scenario"): "topic"}


def present(conn: Connection, table: Table) -> list[ColumnElement[Any]]:
    """TABLE's columns that the store has: a store that is only read is never migrated, so an
    older one lacks the columns later schemas added (their fields read as their defaults),
    and has a renamed column under its old name (read under today's, :data:`RENAMED`)."""
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    out: list[ColumnElement[Any]] = []
    for c in table.columns:
        old = RENAMED.get((table.name, c.name))
        if c.name in have:
            out.append(c)
        elif old in have:
            out.append(literal_column(old, c.type).label(c.name))
    return out
