"""grouping pending: reports stored and acked, waiting for the grouping process

Revision ID: 0017_grouping_pending
Revises: 0016_facilities
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0017_grouping_pending"
down_revision: str | Sequence[str] | None = "0016_facilities"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "triage_grouping_pending",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("queued_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_triage_grouping_pending_order", "triage_grouping_pending", ["urgent", "id"])


def downgrade() -> None:
    op.drop_index("ix_triage_grouping_pending_order", table_name="triage_grouping_pending")
    op.drop_table("triage_grouping_pending")
