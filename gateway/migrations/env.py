"""Alembic environment of the gateway database (the outbox, inbox and staff tokens).

Used through ``gateway.schema.upgrade`` with the engine's connection handed over in
``config.attributes["connection"]``. SQLite cannot ALTER most things in place, so every
migration runs in batch mode (copy, rebuild, swap) inside the one upgrade transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

# Importing the modules registers every gateway table on GatewayTable.metadata.
import gateway.auth
import gateway.nspf_models  # noqa: F401
from gateway.models import GatewayTable

config = context.config
target_metadata = GatewayTable.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
