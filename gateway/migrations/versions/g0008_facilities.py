"""facility_directory: the newest facility directory the CP sent this NSP

Revision ID: g0008_facilities
Revises: g0002_health_probe
Create Date: 2026-12-02

One row, replaced by a newer version only (gateway/facilities.py); the board's "Waar kunt u
terecht?" reads it, so it works with the link down.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.db import UTCDateTime

revision: str = "g0008_facilities"
down_revision: str | Sequence[str] | None = "g0007_aid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("facility_directory"):
        op.create_table(
            "facility_directory",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("cp_message_id", sa.String(length=26), nullable=False),
            sa.Column("cp_sent_at", UTCDateTime(), nullable=False),
            sa.Column("received_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    op.drop_table("facility_directory")
