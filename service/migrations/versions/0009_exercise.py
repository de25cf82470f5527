"""exercise: the exercise table and exercise_id on every row an exercise can make

Revision ID: 0009_exercise
Revises: 0008_gazetteer

Downgrade drops the exercise table and the columns: exercise rows then look real, so purge
every exercise (``noodnet exercise purge``) before downgrading.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0009_exercise"
down_revision: str | Sequence[str] | None = "0008_gazetteer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime

# Every table whose rows an exercise can make.
TABLES = (
    "message",
    "deadletter",
    "triage_item",
    "triage_report",
    "bulletin",
    "nsp_task",
    "upstream_outbox",
    "region_urgent",
)


def upgrade() -> None:
    op.create_table(
        "exercise",
        sa.Column("exercise_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("opened_at", UTC(), nullable=False),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("closed_at", UTC(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("purged_at", UTC(), nullable=True),
        sa.Column("purged_by", sa.String(length=200), nullable=True),
        sa.Column("purged_counts", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("exercise_id"),
    )
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("exercise_id", sa.String(length=63), nullable=True))
            batch.create_index(f"ix_{table}_exercise_id", ["exercise_id"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_exercise_id")
            batch.drop_column("exercise_id")
    op.drop_table("exercise")
