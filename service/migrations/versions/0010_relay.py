"""relay: reports that came by radio, runner, SMS or stick (relay_report); receipt channel

Revision ID: 0010_relay
Revises: 0008_gazetteer (the lead re-chains at merge: this migration depends on no other
table)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0010_relay"
down_revision: str | Sequence[str] | None = "0009_exercise"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "relay_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.Column("nsp_id", sa.String(length=63), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("short_form", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("relayed_at", UTC(), nullable=False),
        sa.Column("original_message_id", sa.String(length=26), nullable=True),
        sa.Column("original_transport", sa.String(length=8), nullable=True),
        sa.Column("original_received_at", UTC(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
        sa.UniqueConstraint("original_message_id"),
    )
    op.create_index("ix_relay_report_nsp_seq", "relay_report", ["nsp_id", "seq"])
    # A bulletin the NSP got by radio: its receipt says so, and so does the reach.
    with op.batch_alter_table("bulletin_receipt") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bulletin_receipt") as batch:
        batch.drop_column("channel")
    op.drop_index("ix_relay_report_nsp_seq", table_name="relay_report")
    op.drop_table("relay_report")
