"""The schema's history written out: each migration's tables as they were when it shipped.

Never edit what is here; a change to the schema is a new step (and a new function) below.
Today's tables (in :mod:`.runs`, :mod:`.survey`, :mod:`._leases`) must equal what these steps
build, which ``tests/test_store_history.py`` checks.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
)


def _v1() -> MetaData:
    """Schema 1, the first released one: runs, prompts, answers and the survey."""
    m = MetaData()
    Table("schema_meta", m, Column("key", String(64), primary_key=True),
          Column("value", String(256), nullable=False))  # fmt: skip
    Table(
        "runs", m,
        Column("id", Integer, primary_key=True),
        Column("name", String(200), nullable=False, unique=True),
        Column("model", String(500), nullable=False),
        Column("spec", String(500), nullable=False),
        Column("mode", String(10), nullable=False),
        Column("params", JSON, nullable=False),
        Column("grid", JSON, nullable=False),
        Column("instrument", String(64), nullable=False),
        Column("prompts_digest", String(64), nullable=False),
        Column("version", String(40), nullable=False),
        Column("status", String(20), nullable=False),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True)),
        Column("note", Text),
    )  # fmt: skip
    prompts = Table(
        "prompts", m,
        Column("id", Integer, primary_key=True),
        Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        Column("cache_key", String(64), nullable=False),
        Column("country", String(64), nullable=False),
        Column("topic", String(64), nullable=False),
        Column("item", String(64)),
        Column("variant", Integer, nullable=False),
        Column("sample", Integer, nullable=False),
        Column("raw", Text, nullable=False),
        Column("error", Text),
        Column("latency", Float),
        Column("attempts", Integer, nullable=False),
        Column("prompt_tokens", Integer),
        Column("completion_tokens", Integer),
        Column("created_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("run_id", "cache_key", name="uq_prompt_once"),
    )  # fmt: skip
    Index("ix_prompts_cache_key", prompts.c.cache_key)
    Table(
        "answers", m,
        Column("id", Integer, primary_key=True),
        Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        Column("cache_key", String(64), nullable=False),
        Column("country", String(64), nullable=False),
        Column("topic", String(64), nullable=False),
        Column("value", String(64), nullable=False),
        Column("variant", Integer, nullable=False),
        Column("sample", Integer, nullable=False),
        Column("raw", Text, nullable=False),
        Column("code", String(32)),
        Column("position", Float),
        Column("missing", String(32)),
        Column("probs", Text),
        Column("option_mass", Float),
        Column("expected", Float),
        UniqueConstraint("run_id", "country", "topic", "value", "variant", "sample",
                         name="uq_answer"),
        ForeignKeyConstraint(["run_id", "cache_key"], ["prompts.run_id", "prompts.cache_key"],
                             ondelete="CASCADE"),
    )  # fmt: skip
    _v1_survey(m)
    return m


def _v1_survey(m: MetaData) -> None:
    participants = Table(
        "survey_participants", m,
        Column("id", Integer, primary_key=True),
        Column("key", String(64), nullable=False, unique=True),
        Column("prolific_pid", String(64)),
        Column("study_id", String(64), nullable=False),
        Column("session_id", String(64)),
        Column("link_scenario", String(64)),
        Column("scenario", String(64)),
        Column("country", String(64)),
        Column("age_band", String(32)),
        Column("gender", String(80)),
        Column("step", String(16), nullable=False),
        Column("form_page", Integer, nullable=False),
        Column("seed", Integer, nullable=False),
        Column("item_order", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("assigned_at", DateTime(timezone=True)),
        Column("form_started_at", DateTime(timezone=True)),
        Column("form_finished_at", DateTime(timezone=True)),
        Column("completed_at", DateTime(timezone=True)),
        Column("form_seconds", Float),
        Column("attention_failed", Integer),
        Column("straightlined", Boolean),
        Column("too_fast", Boolean),
        Column("excluded", Boolean, nullable=False),
        Column("exclusion", String(200)),
        Column("completion_code", String(64)),
        UniqueConstraint("study_id", "prolific_pid", name="uq_survey_prolific_once"),
    )  # fmt: skip
    Index("ix_survey_participants_cell", participants.c.scenario, participants.c.country)
    who = "survey_participants.id"
    Table(
        "survey_answers", m,
        Column("participant_id", ForeignKey(who, ondelete="CASCADE"), primary_key=True),
        Column("item", String(64), primary_key=True),
        Column("code", String(32), nullable=False),
        Column("page", Integer, nullable=False),
    )  # fmt: skip
    Table(
        "survey_texts", m,
        Column("participant_id", ForeignKey(who, ondelete="CASCADE"), primary_key=True),
        Column("question", String(64), primary_key=True),
        Column("text", Text, nullable=False),
    )  # fmt: skip
    Table(
        "survey_slots", m,
        Column("scenario", String(64), primary_key=True),
        Column("country", String(64), primary_key=True),
        Column("slot", Integer, primary_key=True),
        Column("participant_id", ForeignKey(who, ondelete="CASCADE"), nullable=False,
               unique=True),
        Column("assigned_at", DateTime(timezone=True), nullable=False),
    )  # fmt: skip
    Table("survey_secrets", m, Column("name", String(64), primary_key=True),
          Column("value", String(128), nullable=False))  # fmt: skip


def initial(conn: Connection) -> None:
    """Step 1: schema 1's tables, exactly as released."""
    _v1().create_all(conn)


def run_leases(conn: Connection) -> None:
    """Step 2: which process writes a run, and its heartbeat."""
    m = MetaData()
    Table("runs", m, Column("id", Integer, primary_key=True))  # for the foreign key only
    leases = Table(
        "run_leases", m,
        Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        Column("host", String(255), nullable=False),
        Column("pid", Integer, nullable=False),
        Column("token", String(32), nullable=False),
        Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    )  # fmt: skip
    leases.create(conn, checkfirst=True)  # stores made by a pre-release step 1 may have it


def survey_studies(conn: Connection) -> None:
    """Step 3: each study's settings, admin sessions, and each participant's items per page.

    Tolerant of what it adds being there already (a store made by a pre-release step 1, which
    built the tables of its day, has them); what it builds is fixed here as of this step.
    """
    m = MetaData()
    studies = Table(
        "survey_studies", m,
        Column("study_id", String(64), primary_key=True),
        Column("instrument", String(64), nullable=False),
        Column("items_per_page", Integer, nullable=False),
        Column("settings", Text, nullable=False),
        Column("first_served_at", DateTime(timezone=True), nullable=False),
        Column("last_served_at", DateTime(timezone=True), nullable=False),
    )  # fmt: skip
    sessions = Table(
        "survey_admin_sessions", m,
        Column("digest", String(64), primary_key=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
    )  # fmt: skip
    for table in (studies, sessions):
        table.create(conn, checkfirst=True)
    columns = {c["name"] for c in inspect(conn).get_columns("survey_participants")}
    if "items_per_page" not in columns:
        conn.exec_driver_sql("ALTER TABLE survey_participants ADD COLUMN items_per_page INTEGER")


_ANSWER_COLUMNS = (
    "id, run_id, cache_key, country, topic, value, variant, sample, raw, code, position, "
    "missing, probs, option_mass, expected"
)

_SQLITE_ANSWERS_4 = """
CREATE TABLE answers_4 (
    id INTEGER NOT NULL PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    cache_key VARCHAR(64) NOT NULL,
    country VARCHAR(64) NOT NULL,
    topic VARCHAR(64) NOT NULL,
    value VARCHAR(64) NOT NULL,
    variant INTEGER NOT NULL,
    sample INTEGER NOT NULL,
    raw TEXT NOT NULL,
    code VARCHAR(32),
    position FLOAT,
    missing VARCHAR(32),
    probs TEXT,
    option_mass FLOAT,
    expected FLOAT,
    context VARCHAR(512) DEFAULT '' NOT NULL,
    CONSTRAINT uq_answer UNIQUE (run_id, country, topic, value, variant, sample, context),
    FOREIGN KEY (run_id, cache_key) REFERENCES prompts (run_id, cache_key) ON DELETE CASCADE
)
"""


def contexts(conn: Connection) -> None:
    """Step 4: any instrument's contexts, and the run's whole instrument and prompt design.

    ``runs`` gains ``instrument_spec`` and ``prompt_design`` (JSON; NULL for older runs);
    ``prompts`` and ``answers`` gain ``context``: the levels of the axes past the first two
    (``language=de``), ``''`` for a context of two axes; an answer is unique per context.
    """
    for column in ("instrument_spec", "prompt_design"):
        conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {column} JSON")
    conn.exec_driver_sql("ALTER TABLE prompts ADD COLUMN context VARCHAR(512) DEFAULT '' NOT NULL")
    if conn.dialect.name == "sqlite":  # a unique constraint changes by rebuilding the table
        conn.exec_driver_sql(_SQLITE_ANSWERS_4)
        conn.exec_driver_sql(
            f"INSERT INTO answers_4 ({_ANSWER_COLUMNS}, context) "
            f"SELECT {_ANSWER_COLUMNS}, '' FROM answers"
        )
        conn.exec_driver_sql("DROP TABLE answers")
        conn.exec_driver_sql("ALTER TABLE answers_4 RENAME TO answers")
        return
    conn.exec_driver_sql("ALTER TABLE answers ADD COLUMN context VARCHAR(512) DEFAULT '' NOT NULL")
    conn.exec_driver_sql("ALTER TABLE answers DROP CONSTRAINT uq_answer")
    conn.exec_driver_sql(
        "ALTER TABLE answers ADD CONSTRAINT uq_answer "
        "UNIQUE (run_id, country, topic, value, variant, sample, context)"
    )


def run_record(conn: Connection) -> None:
    """Step 7: each run keeps its record's version (``runs.record_version``); every run made
    before this step was written as record version 1, which :mod:`._record` upgrades."""
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN record_version INTEGER DEFAULT 1 NOT NULL")


def scenario_columns(conn: Connection) -> None:
    """Step 8: the column of a context's second axis is ``scenario`` in ``prompts`` and
    ``answers`` (it was ``topic``); the answers' unique constraint follows the column."""
    for table in ("prompts", "answers"):
        conn.exec_driver_sql(f"ALTER TABLE {table} RENAME COLUMN topic TO scenario")


def tables_of(conn: Connection) -> dict[str, list[str]]:
    """Table → its column names, as the database has them (for checks and tests)."""
    found = inspect(conn)
    return {t: sorted(c["name"] for c in found.get_columns(t)) for t in found.get_table_names()}


def _v10() -> MetaData:
    """Schema 10's new tables: action sets and their actions."""
    m = MetaData()
    Table(
        "action_sets", m,
        Column("id", Integer, primary_key=True),
        Column("name", String(200), nullable=False, unique=True),
        Column("instrument", String(64), nullable=False),
        Column("instrument_digest", String(64), nullable=False),
        Column("axes", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("note", Text),
    )  # fmt: skip
    Table(
        "actions", m,
        Column("id", Integer, primary_key=True),
        Column("set_id", ForeignKey("action_sets.id", ondelete="CASCADE"), nullable=False),
        Column("country", String(64), nullable=False),
        Column("scenario", String(64), nullable=False),
        Column("context", String(512), nullable=False, server_default=""),
        Column("item", String(64), nullable=False),
        Column("inclination", String(16), nullable=False),
        Column("text", Text, nullable=False),
        Column("spans", JSON, nullable=False),
        Column("explanation", Text, nullable=False),
        Column("source", String(16), nullable=False),
        Column("source_detail", JSON, nullable=False),
        Column("missing", String(32)),
        UniqueConstraint("set_id", "country", "scenario", "context", "item", "inclination",
                         name="uq_action"),
    )  # fmt: skip
    return m


def action_sets(conn: Connection) -> None:
    """Step 10: action sets (``action_sets``) and their actions (``actions``): per item ×
    context × inclination one first-person action, its spans, explanation and source."""
    _v10().create_all(conn)


def choice_task(conn: Connection) -> None:
    """Step 11: a run asks ratings or choices (``runs.task``: ``rating`` for every run made
    before this step, or ``choice``) and a choice run names its action set
    (``runs.action_set``); a choice answer keeps the place its chosen action was shown in
    (``answers.place``: 1 or 2; NULL for ratings)."""
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN task VARCHAR(10) DEFAULT 'rating' NOT NULL")
    conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN action_set VARCHAR(200)")
    conn.exec_driver_sql("ALTER TABLE answers ADD COLUMN place INTEGER")


def _v12() -> MetaData:
    """Schema 12's new table: reviews of actions, one per action and reviewer."""
    m = MetaData()
    Table(
        "actions", m,  # for the foreign key only
        Column("id", Integer, primary_key=True),
        Column("set_id", Integer), Column("country", String(64)), Column("scenario", String(64)),
        Column("context", String(512)), Column("item", String(64)),
        Column("inclination", String(16)),
    )  # fmt: skip
    place = ("set_id", "country", "scenario", "context", "item", "inclination")
    Table(
        "action_reviews", m,
        Column("id", Integer, primary_key=True),
        Column("set_id", Integer, nullable=False),
        Column("country", String(64), nullable=False),
        Column("scenario", String(64), nullable=False),
        Column("context", String(512), nullable=False, server_default=""),
        Column("item", String(64), nullable=False),
        Column("inclination", String(16), nullable=False),
        Column("reviewer", String(64), nullable=False),
        Column("intended", Boolean),
        Column("harmless", Boolean),
        Column("sufficient", Boolean),
        Column("plausible", Boolean),
        Column("comment", Text),
        Column("source", String(16), nullable=False),
        Column("source_detail", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint(*place, "reviewer", name="uq_review"),
        ForeignKeyConstraint(list(place), [f"actions.{c}" for c in place], ondelete="CASCADE"),
    )  # fmt: skip
    return m


def _v14() -> MetaData:
    """Schema 14's new tables: a run's provider batches and the requests in each."""
    m = MetaData()
    Table("runs", m, Column("id", Integer, primary_key=True))  # for the foreign key only
    Table(
        "run_batches", m,
        Column("id", Integer, primary_key=True),
        Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        Column("number", Integer, nullable=False),
        Column("provider", String(20), nullable=False),
        Column("tag", String(64), nullable=False),
        Column("provider_id", String(200)),
        Column("state", String(20), nullable=False),
        Column("status", String(40)),
        Column("requests", Integer, nullable=False),
        Column("counts", JSON),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("submitted_at", DateTime(timezone=True)),
        Column("ended_at", DateTime(timezone=True)),
        Column("note", Text),
        UniqueConstraint("run_id", "number", name="uq_run_batch"),
    )  # fmt: skip
    Table(
        "run_batch_requests", m,
        Column("batch_id", ForeignKey("run_batches.id", ondelete="CASCADE"), primary_key=True),
        Column("cache_key", String(64), primary_key=True),
    )  # fmt: skip
    return m


def action_reviews(conn: Connection) -> None:
    """Step 12: reviews of actions (``action_reviews``): per action of a set and reviewer, the
    four criteria (intended, harmless, sufficient, plausible: yes, no or NULL where not
    judged), a comment, where the review came from and when."""
    _v12().tables["action_reviews"].create(conn)


def run_batches(conn: Connection) -> None:
    """Step 14: a run's provider batches (``run_batches``: its number in the run, provider,
    tag, provider id, state, request count and result counts) and the cache keys of the
    requests in each (``run_batch_requests``), recorded before a batch is sent."""
    m = _v14()
    for name in ("run_batches", "run_batch_requests"):
        m.tables[name].create(conn)
