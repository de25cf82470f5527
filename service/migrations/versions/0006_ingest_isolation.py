"""ingest isolation: dead letters learn their message id, failing step and resolution

Revision ID: 0007_ingest_isolation
Revises: 0005_upstream
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0007_ingest_isolation"
down_revision: str | Sequence[str] | None = "0005_upstream"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deadletter") as batch:
        batch.add_column(sa.Column("message_id", sa.String(length=26), nullable=True))
        batch.add_column(sa.Column("step", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("resolved_at", service.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch.create_index("ix_deadletter_message_id", ["message_id"])


def downgrade() -> None:
    with op.batch_alter_table("deadletter") as batch:
        batch.drop_index("ix_deadletter_message_id")
        batch.drop_column("resolution")
        batch.drop_column("resolved_at")
        batch.drop_column("step")
        batch.drop_column("message_id")
