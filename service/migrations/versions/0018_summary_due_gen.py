"""upstream: a counter of summary debts, so a summary whose content was read before it took
the upstream lock clears only the debts it saw (service.upstream.changes.produce)

Revision ID: 0018_summary_due_gen
Revises: 0017_grouping_pending
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_summary_due_gen"
down_revision: str | Sequence[str] | None = "0017_grouping_pending"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upstream_node") as batch:
        batch.add_column(
            sa.Column("due_gen", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("upstream_node") as batch:
        batch.drop_column("due_gen")
