"""The survey's tables: participants, their answers, open answers, quota slots, secrets,
studies and admin sessions; and the survey's migration."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
)

from valuecompass.store._base import metadata

STEPS = ("demographics", "vignette", "form", "open", "done", "full")

participants = Table(
    "survey_participants",
    metadata,
    Column("id", Integer, primary_key=True, doc="participant number; respondent 'survey-<id>'"),
    Column("key", String(64), nullable=False, unique=True, doc="secret session key (cookie)"),
    Column("prolific_pid", String(64), doc="PROLIFIC_PID from the link; NULL without one"),
    Column(
        "study_id",
        String(64),
        nullable=False,
        doc="the study as the server was configured ('' for an unnamed one); before schema 2, "
        "STUDY_ID as the link gave it",
    ),
    Column("session_id", String(64), doc="SESSION_ID from the link"),
    Column("link_scenario", String(64), doc="scenario id the link asked for, if any"),
    Column("scenario", String(64), doc="scenario id assigned; NULL until assignment"),
    Column("country", String(64), doc="country id of residence, or 'other'"),
    Column("age_band", String(32), doc="age band chosen"),
    Column("gender", String(80), doc="gender as given; NULL when left out"),
    Column("step", String(16), nullable=False, doc="where the participant is: " + ", ".join(STEPS)),
    Column("form_page", Integer, nullable=False, doc="Value Form pages saved so far"),
    Column("seed", Integer, nullable=False, doc="seed that drew the statement order"),
    Column("item_order", Text, nullable=False, doc="item ids, space-separated, in the order shown"),
    Column(
        "items_per_page",
        Integer,
        doc="statements per Value Form page, fixed at consent; NULL (before schema 2): the "
        "server's setting",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, doc="consent given (UTC)"),
    Column("assigned_at", DateTime(timezone=True), doc="scenario assigned (UTC)"),
    Column("form_started_at", DateTime(timezone=True), doc="Value Form first shown (UTC)"),
    Column("form_finished_at", DateTime(timezone=True), doc="last Value Form page saved (UTC)"),
    Column("completed_at", DateTime(timezone=True), doc="open questions sent (UTC)"),
    Column("form_seconds", Float, doc="seconds from the form's first page to its last save"),
    Column("attention_failed", Integer, doc="attention checks answered wrongly (0, 1, 2)"),
    Column("straightlined", Boolean, doc="one option chosen for nearly every statement"),
    Column("too_fast", Boolean, doc="form_seconds under the configured minimum"),
    Column("excluded", Boolean, nullable=False, doc="left out of analysis by default"),
    Column("exclusion", String(200), doc="why excluded, comma-separated; NULL if kept"),
    Column("completion_code", String(64), doc="code shown at the end"),
    Column(
        "language",
        String(16),
        doc="language code the participant took the survey in; NULL (before schema 4): the "
        "instrument's own language",
    ),
    UniqueConstraint("study_id", "prolific_pid", name="uq_survey_prolific_once"),
)
Index("ix_survey_participants_cell", participants.c.scenario, participants.c.country)

answers = Table(
    "survey_answers",
    metadata,
    Column(
        "participant_id",
        ForeignKey("survey_participants.id", ondelete="CASCADE"),
        primary_key=True,
        doc="who answered",
    ),
    Column("item", String(64), primary_key=True, doc="value id, or an attention check's id"),
    Column("code", String(32), nullable=False, doc="option code chosen: -2 .. 2 or irrelevant"),
    Column("page", Integer, nullable=False, doc="Value Form page it was on (1-based)"),
)

texts = Table(
    "survey_texts",
    metadata,
    Column(
        "participant_id",
        ForeignKey("survey_participants.id", ondelete="CASCADE"),
        primary_key=True,
        doc="who wrote it",
    ),
    Column("question", String(64), primary_key=True, doc="open question id"),
    Column("text", Text, nullable=False, doc="the answer as typed"),
)

slots = Table(
    "survey_slots",
    metadata,
    Column("scenario", String(64), primary_key=True, doc="scenario id of the cell"),
    Column("country", String(64), primary_key=True, doc="country id of the cell, or 'other'"),
    Column("slot", Integer, primary_key=True, doc="place number in the cell, 0 .. quota - 1"),
    Column(
        "participant_id",
        ForeignKey("survey_participants.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
        doc="who holds the place",
    ),
    Column("assigned_at", DateTime(timezone=True), nullable=False, doc="when (UTC)"),
)

secrets_table = Table(
    "survey_secrets",
    metadata,
    Column("name", String(64), primary_key=True, doc="what the secret is for, e.g. 'csrf'"),
    Column("value", String(128), nullable=False, doc="random hex, made on first use"),
)


studies = Table(
    "survey_studies",
    metadata,
    Column("study_id", String(64), primary_key=True, doc="the study ('' for an unnamed one)"),
    Column("instrument", String(64), nullable=False, doc="digest of the instrument last served"),
    Column("items_per_page", Integer, nullable=False, doc="statements per page for newcomers"),
    Column("settings", Text, nullable=False, doc="the other settings last served, as JSON"),
    Column("first_served_at", DateTime(timezone=True), nullable=False, doc="first start (UTC)"),
    Column("last_served_at", DateTime(timezone=True), nullable=False, doc="latest start (UTC)"),
)

admin_sessions = Table(
    "survey_admin_sessions",
    metadata,
    Column("digest", String(64), primary_key=True, doc="SHA-256 of the session id (the cookie)"),
    Column("created_at", DateTime(timezone=True), nullable=False, doc="logged in (UTC)"),
    Column("expires_at", DateTime(timezone=True), nullable=False, doc="no longer valid (UTC)"),
)


def add_language(conn: Connection) -> None:
    """Schema 5: the language each participant takes the survey in.

    Idempotent, as a store made from schema 1's step with today's tables already has it.
    """
    columns = {c["name"] for c in inspect(conn).get_columns("survey_participants")}
    if "language" not in columns:
        conn.exec_driver_sql("ALTER TABLE survey_participants ADD COLUMN language VARCHAR(16)")


def now() -> datetime:
    return datetime.now(UTC)


def aware(stamp: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; every stamp here is UTC."""
    if stamp is not None and stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp
