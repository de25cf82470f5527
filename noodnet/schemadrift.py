"""``alembic check`` as a function: does a migrated database match the models?

Autogenerate's comparison of the live schema with the SQLAlchemy metadata; an empty list means
the migrations produce exactly what the code declares. Used by ``noodnet db check`` and by
tests/ops/test_migrations.py on SQLite and PostgreSQL, for the CP and the gateway, so a model
change without its migration fails CI instead of failing at a deployer's upgrade.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def diff(engine: sa.Engine, metadata: sa.MetaData) -> list[Any]:
    """Differences between the database and ``metadata`` (alembic's diff tuples)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": conn.dialect.name == "sqlite",
                "target_metadata": metadata,
            },
        )
        return list(compare_metadata(ctx, metadata))


def describe(differences: list[Any]) -> list[str]:
    out = []
    for d in differences:
        # A modification comes as a list of tuples, the others as one tuple.
        items = d if isinstance(d, list) else [d]
        for item in items:
            op = item[0]
            rest = [getattr(x, "name", None) or repr(x) for x in item[1:] if x is not None]
            out.append(f"{op}: {', '.join(str(r) for r in rest)[:300]}")
    return out
