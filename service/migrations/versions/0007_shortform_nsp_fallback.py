"""shortform: per-NSP short code and transfer key (nsp_fallback)

Revision ID: 0009_shortform
Revises: 0005_upstream (the current head; the lead sets the chain at merge: this
migration depends on no other table)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0009_shortform"
down_revision: str | Sequence[str] | None = "0007_ingest_isolation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "nsp_fallback",
        sa.Column("nsp_id", sa.String(length=63), nullable=False),
        sa.Column("short_code", sa.String(length=6), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("key_secret", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("nsp_id"),
        sa.UniqueConstraint("short_code"),
    )


def downgrade() -> None:
    op.drop_table("nsp_fallback")
