"""The store: one versioned schema for model runs, action sets, their reviews and survey answers
(SQLite or PostgreSQL)."""

from valuecompass.store import actions as actions
from valuecompass.store import batches as batches
from valuecompass.store import reviews as reviews
from valuecompass.store import runs as runs
from valuecompass.store import survey as survey
from valuecompass.store._base import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    StoreError,
    database_url,
    metadata,
    migrate,
    open_store,
    schema_version,
)
from valuecompass.store._leases import HEARTBEAT_EVERY, Owner, beat
from valuecompass.store._open import holds_nothing, redact

__all__ = [
    "HEARTBEAT_EVERY",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "Owner",
    "StoreError",
    "actions",
    "batches",
    "beat",
    "database_url",
    "holds_nothing",
    "metadata",
    "migrate",
    "open_store",
    "redact",
    "reviews",
    "runs",
    "schema_version",
    "survey",
]
