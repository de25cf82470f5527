"""triage: queue items (incidents, resource requests), report features, audit, ack outbox

Revision ID: 0003_triage
Revises: 0001_backbone
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.models

revision: str = "0003_triage"
down_revision: str | Sequence[str] | None = "0001_backbone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime
S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "triage_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_type", S(length=20), nullable=False),
        sa.Column("family", S(length=20), nullable=False),
        sa.Column("category", S(length=40), nullable=False),
        sa.Column("state", S(length=20), nullable=False),
        sa.Column("state_changed_at", UTC(), nullable=False),
        sa.Column("first_seen", UTC(), nullable=False),
        sa.Column("last_seen", UTC(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("nsp_ids", sa.JSON(), nullable=False),
        sa.Column("top_class", S(length=2), nullable=False),
        sa.Column("life_threatening", sa.Boolean(), nullable=False),
        sa.Column("people_involved", sa.Integer(), nullable=False),
        sa.Column("vulnerable_people", sa.Integer(), nullable=False),
        sa.Column("representative_message_id", S(length=26), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", S(length=300), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("split_from", sa.Integer(), nullable=True),
        sa.Column("possible_duplicate_of", sa.Integer(), nullable=True),
        sa.Column("duplicate_status", S(length=10), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_triage_item_item_type", "triage_item", ["item_type"])
    op.create_index("ix_triage_item_state", "triage_item", ["state"])
    op.create_index("ix_triage_item_merged_into", "triage_item", ["merged_into"])

    op.create_table(
        "triage_report",
        sa.Column("message_id", S(length=26), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", S(length=32), nullable=False),
        sa.Column("family", S(length=20), nullable=False),
        sa.Column("category", S(length=40), nullable=False),
        sa.Column("cls", S(length=2), nullable=False),
        sa.Column("life_threatening", sa.Boolean(), nullable=False),
        sa.Column("nsp_id", S(length=63), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("cell", S(length=24), nullable=True),
        sa.Column("est_lat", sa.Float(), nullable=True),
        sa.Column("est_lon", sa.Float(), nullable=True),
        sa.Column("bucket", S(length=64), nullable=True),
        sa.Column("street", S(length=200), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("town", S(length=60), nullable=True),
        sa.Column("address", S(length=300), nullable=True),
        sa.Column("text_norm", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("vulnerable", sa.Integer(), nullable=False),
        sa.Column("joined_by", S(length=10), nullable=False),
        sa.Column("match_score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_triage_report_item_id", "triage_report", ["item_id"])
    op.create_index("ix_triage_report_cell_time", "triage_report", ["cell", "received_at"])
    op.create_index("ix_triage_report_bucket_time", "triage_report", ["bucket", "received_at"])

    op.create_table(
        "triage_street",
        sa.Column("key", S(length=270), nullable=False),
        sa.Column("lat_sum", sa.Float(), nullable=False),
        sa.Column("lon_sum", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )

    op.create_table(
        "triage_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("actor", S(length=200), nullable=False),
        sa.Column("action", S(length=30), nullable=False),
        sa.Column("from_state", S(length=20), nullable=True),
        sa.Column("to_state", S(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_triage_audit_item_id", "triage_audit", ["item_id"])

    op.create_table(
        "triage_downlink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("nsp_id", S(length=63), nullable=False),
        sa.Column("topic", S(length=300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("ack_message_id", S(length=26), nullable=False),
        sa.Column("published_at", UTC(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ack_message_id"),
    )
    op.create_index("ix_triage_downlink_published_at", "triage_downlink", ["published_at"])


def downgrade() -> None:
    for table in (
        "triage_downlink",
        "triage_audit",
        "triage_street",
        "triage_report",
        "triage_item",
    ):
        op.drop_table(table)
