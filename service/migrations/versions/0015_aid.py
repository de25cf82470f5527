"""citizen aid and scarce goods: volunteer counts, assignments, stock ledger entries, ration
rules, and the goods of a delivery task

Revision ID: 0015_aid
Revises: 0008_gazetteer (the lead re-chains at merge; depends on nsp_task only)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0015_aid"
down_revision: str | Sequence[str] | None = "0012_standby"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "aid_roster",
        sa.Column("nsp_id", sa.String(length=63), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("by_skill", sa.JSON(), nullable=False),
        sa.Column("by_window", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("nsp_id"),
    )
    op.create_table(
        "aid_assignment",
        sa.Column("assignment_id", sa.String(length=63), nullable=False),
        sa.Column("nsp_id", sa.String(length=63), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("skill", sa.String(length=32), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("location", sa.JSON(), nullable=True),
        sa.Column("due_at", UTC(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("ref_message_id", sa.String(length=26), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("volunteer_refs", sa.JSON(), nullable=False),
        sa.Column("state_at", UTC(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=26), nullable=True),
        sa.Column("delivered_revision", sa.Integer(), nullable=False),
        sa.Column("last_sent_at", UTC(), nullable=True),
        sa.Column("send_count", sa.Integer(), nullable=False),
        sa.Column("last_update_seq", sa.BigInteger(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("assignment_id"),
    )
    op.create_index("ix_aid_assignment_nsp_id", "aid_assignment", ["nsp_id"])
    op.create_index("ix_aid_assignment_created_at", "aid_assignment", ["created_at"])
    op.create_table(
        "goods_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nsp_id", sa.String(length=63), nullable=False),
        sa.Column("entry_no", sa.BigInteger(), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column("household_size", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.String(length=63), nullable=True),
        sa.Column("counterpart", sa.String(length=200), nullable=True),
        sa.Column("on_hand_after", sa.Float(), nullable=False),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nsp_id", "entry_no", name="uq_goods_entry_no"),
    )
    op.create_index("ix_goods_entry_nsp_id", "goods_entry", ["nsp_id"])
    op.create_index("ix_goods_entry_item", "goods_entry", ["item"])
    op.create_table(
        "goods_rule_set",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    with op.batch_alter_table("nsp_task") as batch:
        batch.add_column(sa.Column("goods", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nsp_task") as batch:
        batch.drop_column("goods")
    op.drop_table("goods_rule_set")
    op.drop_index("ix_goods_entry_item", table_name="goods_entry")
    op.drop_index("ix_goods_entry_nsp_id", table_name="goods_entry")
    op.drop_table("goods_entry")
    op.drop_index("ix_aid_assignment_created_at", table_name="aid_assignment")
    op.drop_index("ix_aid_assignment_nsp_id", table_name="aid_assignment")
    op.drop_table("aid_assignment")
    op.drop_table("aid_roster")
