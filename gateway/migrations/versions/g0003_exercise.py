"""exercise_mode: the gateway's exercise (oefening) mode, kept across restarts

Revision ID: g0003_exercise
Revises: g0002_health_probe
Create Date: 2026-12-02

The exercise id of each report travels in its envelope (already in ``outbox.envelope``), so
the outbox itself does not change; only the staff screen's mode needs a table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.db import UTCDateTime

revision: str = "g0003_exercise"
down_revision: str | Sequence[str] | None = "g0002_health_probe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("exercise_mode"):
        op.create_table(
            "exercise_mode",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("exercise_id", sa.String(length=63), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=True),
            sa.Column("since", UTCDateTime(), nullable=False),
            sa.Column("set_by", sa.String(length=100), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    op.drop_table("exercise_mode")
