"""health_probe: the table the health check's write probe writes and deletes again

Revision ID: g0002_health_probe
Revises: g0001_baseline
Create Date: 2026-12-02

``/healthz`` commits a tiny row here at most every ``health_write_probe_seconds`` to find out
whether the database still accepts writes (full disk, read-only file system), so the health
check reports what staff would otherwise only find out when a report cannot be saved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0002_health_probe"
down_revision: str | Sequence[str] | None = "g0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("health_probe"):
        op.create_table(
            "health_probe",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("payload", sa.LargeBinary(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    op.drop_table("health_probe")
