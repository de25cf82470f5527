"""standby: the grouping log shared by the CP's processes on one database

Revision ID: 0012_standby
Revises: 0008_gazetteer (the lead re-chains at merge; this migration depends on no other table)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0012_standby"
down_revision: str | Sequence[str] | None = "0010_relay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "cluster_grouping_log",
        sa.Column("gen", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("writer", sa.String(length=80), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=True),
        sa.Column("written_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("gen"),
    )


def downgrade() -> None:
    op.drop_table("cluster_grouping_log")
