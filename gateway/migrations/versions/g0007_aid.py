"""aid: volunteers (personal data, local only), assignments, stock ledger, household draws,
ration rules, and the local secret of pseudonymous volunteer refs

Revision ID: g0007_aid
Revises: g0002_health_probe (the lead re-chains at merge)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.db import UTCDateTime

revision: str = "g0007_aid"
down_revision: str | Sequence[str] | None = "g0006_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "local_secret",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "volunteer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("skills", sa.Text(), nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("windows", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("consent_at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "assignment",
        sa.Column("assignment_id", sa.String(length=63), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("volunteer_ids", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("cp_message_id", sa.String(length=26), nullable=True),
        sa.Column("cp_sent_at", UTCDateTime(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("assignment_id"),
    )
    op.create_table(
        "stock_entry",
        sa.Column("entry_no", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column("household_size", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.String(length=63), nullable=True),
        sa.Column("counterpart", sa.String(length=200), nullable=True),
        sa.Column("on_hand_after", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("entry_no"),
    )
    op.create_index("ix_stock_entry_item", "stock_entry", ["item"])
    op.create_index("ix_stock_entry_task_id", "stock_entry", ["task_id"])
    op.create_table(
        "household_draw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("entry_no", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_household_draw_code", "household_draw", ["code"])
    op.create_table(
        "ration_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("cp_message_id", sa.String(length=26), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("ration_rules")
    op.drop_index("ix_household_draw_code", table_name="household_draw")
    op.drop_table("household_draw")
    op.drop_index("ix_stock_entry_task_id", table_name="stock_entry")
    op.drop_index("ix_stock_entry_item", table_name="stock_entry")
    op.drop_table("stock_entry")
    op.drop_table("assignment")
    op.drop_table("volunteer")
    op.drop_table("local_secret")
