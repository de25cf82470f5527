"""facilities: the CP's directory of where residents can go, what each NSP was sent and
confirmed, state changes, and observations from NSPs awaiting review

Revision ID: 0016_facilities
Revises: 0008_gazetteer (the lead sets the chain at merge: these tables depend on no other)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0016_facilities"
down_revision: str | Sequence[str] | None = "0015_aid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "facility",
        sa.Column("facility_id", sa.String(length=63), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("geocoded", sa.Boolean(), nullable=False),
        sa.Column("opening_hours", sa.String(length=300), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_note", sa.String(length=300), nullable=True),
        sa.Column("state_since", UTC(), nullable=False),
        sa.Column("state_by", sa.String(length=200), nullable=False),
        sa.Column("radius_km", sa.Float(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("facility_id"),
    )
    op.create_table(
        "facility_state_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.String(length=63), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_facility_state_change_facility_id", "facility_state_change", ["facility_id"]
    )
    op.create_table(
        "facility_nsp_directory",
        sa.Column("nsp_id", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.Column("facility_ids", sa.JSON(), nullable=False),
        sa.Column("published_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("nsp_id"),
    )
    op.create_table(
        "facility_nsp_receipt",
        sa.Column("nsp_id", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shown_at", UTC(), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.PrimaryKeyConstraint("nsp_id"),
    )
    op.create_table(
        "facility_observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.Column("nsp_id", sa.String(length=63), nullable=False),
        sa.Column("facility_id", sa.String(length=63), nullable=True),
        sa.Column("facility_name", sa.String(length=200), nullable=False),
        sa.Column("observed_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("observed_at", UTC(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=True),
        sa.Column("received_at", UTC(), nullable=False),
        sa.Column("review", sa.String(length=16), nullable=False),
        sa.Column("reviewed_at", UTC(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("review_note", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    for column in ("nsp_id", "facility_id", "received_at", "review"):
        op.create_index(f"ix_facility_observation_{column}", "facility_observation", [column])


def downgrade() -> None:
    op.drop_table("facility_observation")
    op.drop_table("facility_nsp_receipt")
    op.drop_table("facility_nsp_directory")
    op.drop_table("facility_state_change")
    op.drop_table("facility")
