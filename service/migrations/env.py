"""Alembic environment: uses the connection handed over by service.db.migrate when present."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

# Importing the model modules registers their tables on SQLModel.metadata.
import service.aid.models
import service.auth.models
import service.bulletins.models
import service.cluster.models
import service.exercise.models
import service.facilities.models
import service.fallback.models
import service.gazetteer.models
import service.goods.models
import service.limits.models
import service.models
import service.region.models
import service.tasks.models
import service.triage.models
import service.upstream.models  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables safely.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
