"""Schema migrations when several CP processes may start at once on one PostgreSQL database:
one migrates at a time (a session advisory lock), the others then find nothing to do."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.cluster.leader import lock_key
from service.db import migrate


def migrate_once(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        migrate(engine)
        return
    key = lock_key("migrate")
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            migrate(engine)
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
