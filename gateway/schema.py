"""Versioned schema of the gateway database: Alembic migrations (``gateway/migrations``), run
at start-up before anything reads or writes the file.

Invariant: the outbox is never recreated or emptied by an upgrade. A file made by release
0.1.0 (tables from ``metadata.create_all``, no ``alembic_version``) is recognised as such and
upgraded in place from the baseline, which only creates tables that are missing; the
unacknowledged rows it holds are then sent by the publisher as after any restart. Every
migration runs in Alembic's batch mode (SQLite rebuilds a table instead of ALTERing it) and
the whole upgrade is one transaction: a power cut halfway leaves the old schema, not a mix.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BASELINE = "g0001_baseline"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"the gateway migrations must have one head, not {heads}"
    return heads[0]


def current(engine: sa.Engine) -> str | None:
    """The revision the file is at; None for a new file or one made by release 0.1.0."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the gateway database to ``revision`` (default: the newest)."""
    before = current(engine)
    if before is None and sa.inspect(engine).has_table("outbox"):
        log.info("gateway database without a schema version (release 0.1.0): upgrading in place")
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    after = current(engine)
    if after != before:
        log.info("gateway database schema %s -> %s", before or "unversioned", after)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (``base`` = unversioned, as release 0.1.0 reads)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
