"""The survey's tables: participants, their answers, open answers, quota slots, secrets,
studies and admin sessions; and the survey's migration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from valuecompass.instrument import Instrument

STEPS = ("demographics", "vignette", "form", "choice", "review", "open", "done", "full")

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
    Column(
        "context",
        String(512),
        nullable=False,
        server_default="",
        doc="levels of the assigned axes past the scenario axis, 'axis=level;...'; '' when "
        "the instrument has none (the Value Form) or before schema 6",
    ),
    Column(
        "address",
        String(64),
        doc="keyed hash (HMAC-SHA256 with the study's secret) of the network address the "
        "participant took their quota place from; NULL before schema 9 or when unknown. It "
        "bounds one address's share of a cell and is never exported",
    ),
    Column(
        "active_at",
        DateTime(timezone=True),
        doc="when the participant last saved a Value Form page (UTC); NULL before schema 9 "
        "or before the first page",
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
    Column("country", String(64), primary_key=True, doc="asked level of the cell, or 'other'"),
    Column(
        "context",
        String(512),
        primary_key=True,
        server_default="",
        doc="the cell's levels of the further assigned axes, 'axis=level;...' ('' for none)",
    ),
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

choices = Table(
    "survey_choices",
    metadata,
    Column(
        "participant_id",
        ForeignKey("survey_participants.id", ondelete="CASCADE"),
        primary_key=True,
        doc="who was shown the pair",
    ),
    Column("item", String(64), primary_key=True, doc="the item whose two actions were shown"),
    Column("seq", Integer, nullable=False, doc="place of the pair in the participant's order"),
    Column("page", Integer, nullable=False, doc="choice page it is on (1-based)"),
    Column(
        "first",
        String(16),
        nullable=False,
        doc="inclination of the action shown first: 'expresses' or 'opposes'",
    ),
    Column("inclination", String(16), doc="inclination of the action chosen; NULL until chosen"),
    Column("place", Integer, doc="place the chosen action was shown in (1 or 2); NULL until"),
    Column("chosen_at", DateTime(timezone=True), doc="when the choice was saved (UTC)"),
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


def default_axes(instrument: Instrument, asked: str = "", scenario: str = "") -> tuple[str, str]:
    """The survey's asked axis and scenario axis: as given, else ``country`` and ``scenario``
    where INSTRUMENT has them, else its first context axes (the asked one first)."""
    axes = [a.id for a in instrument.context_axes]
    asked = asked or ("country" if "country" in axes else (axes[0] if axes else ""))
    rest = [a for a in axes if a != asked]
    scenario = scenario or ("scenario" if "scenario" in rest else (rest[0] if rest else ""))
    return asked, scenario


def survey_axes(instrument: Instrument, asked: str = "", scenario: str = "") -> tuple[str, ...]:
    """The survey's axes in order: the asked one, the scenario axis, then the other context
    axes (the further assigned ones) in the instrument's order; see :func:`default_axes`."""
    asked, scenario = default_axes(instrument, asked, scenario)
    rest = [a.id for a in instrument.context_axes if a.id not in (asked, scenario)]
    return (asked, scenario, *rest)


def context_key(pairs: Sequence[tuple[str, str]]) -> str:
    """The ``context`` column for (axis, level) PAIRS of the assigned axes past the first:
    ``axis=level;...``, ``''`` for none (the Value Form)."""
    return ";".join(f"{axis}={level}" for axis, level in pairs)


def context_pairs(key: str | None) -> list[tuple[str, str]]:
    """The (axis, level) pairs of a ``context`` column (see :func:`context_key`)."""
    pairs = []
    for part in (key or "").split(";"):
        axis, sep, level = part.partition("=")
        if sep:
            pairs.append((axis, level))
    return pairs


#: Schema 6's quota places, written out (frozen), with ``context`` in the key.
_SLOTS_6 = """
CREATE TABLE survey_slots_6 (
    scenario VARCHAR(64) NOT NULL,
    country VARCHAR(64) NOT NULL,
    context VARCHAR(512) DEFAULT '' NOT NULL,
    slot INTEGER NOT NULL,
    participant_id INTEGER NOT NULL,
    assigned_at {stamp} NOT NULL,
    PRIMARY KEY (scenario, country, context, slot),
    UNIQUE (participant_id),
    FOREIGN KEY (participant_id) REFERENCES survey_participants (id) ON DELETE CASCADE
)
"""
_SLOT_COLUMNS = "scenario, country, slot, participant_id, assigned_at"


def add_holds(conn: Connection) -> None:
    """Schema 9: ``survey_participants`` gains ``address`` (who took the place, as a keyed
    hash) and ``active_at`` (the last saved Value Form page), both NULL for rows written
    before. Idempotent, as a store made from schema 1's step with today's tables has both."""
    columns = {c["name"] for c in inspect(conn).get_columns("survey_participants")}
    stamp = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    if "address" not in columns:
        conn.exec_driver_sql("ALTER TABLE survey_participants ADD COLUMN address VARCHAR(64)")
    if "active_at" not in columns:
        conn.exec_driver_sql(f"ALTER TABLE survey_participants ADD COLUMN active_at {stamp}")


def add_contexts(conn: Connection) -> None:
    """Schema 6: quota cells over any number of assigned axes.

    ``survey_participants`` and ``survey_slots`` gain ``context``: the levels of the assigned
    axes past the scenario axis (``tone=formal``), ``''`` for every row written before; a
    place is unique per (scenario, country, context, slot). The slots table is rebuilt to
    change its key, its places kept. Idempotent, as a store made from schema 1's step with
    today's tables already has both.
    """
    found = inspect(conn)
    if "context" not in {c["name"] for c in found.get_columns("survey_participants")}:
        conn.exec_driver_sql(
            "ALTER TABLE survey_participants ADD COLUMN context VARCHAR(512) DEFAULT '' NOT NULL"
        )
    if "context" in {c["name"] for c in found.get_columns("survey_slots")}:
        return
    stamp = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    conn.exec_driver_sql(_SLOTS_6.format(stamp=stamp))
    conn.exec_driver_sql(
        f"INSERT INTO survey_slots_6 ({_SLOT_COLUMNS}, context) "
        f"SELECT {_SLOT_COLUMNS}, '' FROM survey_slots"
    )
    conn.exec_driver_sql("DROP TABLE survey_slots")
    conn.exec_driver_sql("ALTER TABLE survey_slots_6 RENAME TO survey_slots")
    if conn.dialect.name == "postgresql":  # its constraints keep the built table's name
        for suffix in ("pkey", "participant_id_key"):
            conn.exec_driver_sql(
                f"ALTER TABLE survey_slots RENAME CONSTRAINT survey_slots_6_{suffix} "
                f"TO survey_slots_{suffix}"
            )


#: Schema 13's pairs of actions shown to participants, written out (frozen).
_CHOICES_13 = """
CREATE TABLE IF NOT EXISTS survey_choices (
    participant_id INTEGER NOT NULL,
    item VARCHAR(64) NOT NULL,
    seq INTEGER NOT NULL,
    page INTEGER NOT NULL,
    first VARCHAR(16) NOT NULL,
    inclination VARCHAR(16),
    place INTEGER,
    chosen_at {stamp},
    PRIMARY KEY (participant_id, item),
    FOREIGN KEY (participant_id) REFERENCES survey_participants (id) ON DELETE CASCADE
)
"""


def add_choices(conn: Connection) -> None:
    """Schema 13: the pairs of actions each participant of a choice study is shown
    (``survey_choices``): the order shown, and the inclination and place chosen."""
    stamp = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    conn.exec_driver_sql(_CHOICES_13.format(stamp=stamp))


def now() -> datetime:
    return datetime.now(UTC)


def aware(stamp: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; every stamp here is UTC."""
    if stamp is not None and stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp
