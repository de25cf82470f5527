"""relay_mark: reports staff passed on by radio, runner or SMS while the link was down

Revision ID: g0004_relay
Revises: g0002_health_probe (the lead re-chains at merge)
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.db import UTCDateTime

revision: str = "g0004_relay"
down_revision: str | Sequence[str] | None = "g0003_exercise"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("relay_mark"):
        return
    op.create_table(
        "relay_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("confirmed_by", sa.String(length=100), nullable=True),
        sa.Column("confirmed_at", sa.String(length=5), nullable=True),
        sa.Column("marked_by", sa.String(length=100), nullable=True),
        sa.Column("marked_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_relay_mark_message_id", "relay_mark", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_relay_mark_message_id", table_name="relay_mark")
    op.drop_table("relay_mark")
