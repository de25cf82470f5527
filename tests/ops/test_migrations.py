"""The CP's migrations match its models (``alembic check``), on SQLite and on PostgreSQL.

A model changed without a migration, or a migration that makes a different column type,
index or constraint than the model declares, fails here rather than at a deployer's upgrade.
(The CP's downgrade path is a restore of the backup taken before the upgrade, see
docs/operations.md: 0006_auth refuses to drop the security audit trail.)
"""

from __future__ import annotations

from sqlmodel import SQLModel

import service.auth.models
import service.bulletins.models
import service.exercise.models
import service.limits.models
import service.models
import service.region.models
import service.tasks.models
import service.triage.models
import service.upstream.models  # noqa: F401
from noodnet.schemadrift import describe, diff
from service.db import make_engine, migrate


def test_cp_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        assert describe(diff(engine, SQLModel.metadata)) == []
    finally:
        engine.dispose()
