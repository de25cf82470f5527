"""Schema migrations (Alembic) of the CP database, for SQLite and PostgreSQL alike; the engine
itself (durability settings) is ``noodcore.db.make_engine``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlmodel import Session

from noodcore.db import make_engine

__all__ = ["alembic_config", "make_engine", "migrate", "session_scope"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        # The option goes through configparser interpolation: a '%' from URL quoting (a
        # Unix-socket host=/run/postgresql, a password with '%') must be doubled.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest revision (all heads)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
