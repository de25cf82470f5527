"""baseline: the gateway schema of release 0.1.0 (commit 306c97c)

Revision ID: g0001_baseline
Revises:
Create Date: 2026-12-02

Release 0.1.0 made its tables with ``metadata.create_all`` and no ``alembic_version``. This
baseline therefore creates only the tables that are missing: on a new file it makes them all;
on a 0.1.0 file (whose tables equal these, see tests/ops/test_gateway_upgrade.py) it adds
nothing, and the database is from then on versioned. A table the 0.1.0 CLI alone made (e.g.
``staff_token`` from ``noodnet staff-token`` before the gateway first started) is no problem.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.db

revision: str = "g0001_baseline"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = gateway.db.UTCDateTime


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("outbox"):
        op.create_table(
            "outbox",
            sa.Column("message_id", sa.String(length=26), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("envelope", sa.Text(), nullable=False),
            sa.Column("heartbeat", sa.Boolean(), nullable=False),
            sa.Column("created_at", UTC(), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("publish_count", sa.Integer(), nullable=False),
            sa.Column("last_published_at", UTC(), nullable=True),
            sa.Column("last_error", sa.String(), nullable=True),
            sa.Column("cp_stored_at", UTC(), nullable=True),
            sa.Column("cp_state", sa.String(length=32), nullable=True),
            sa.Column("cp_note", sa.String(), nullable=True),
            sa.Column("cp_updated_at", UTC(), nullable=True),
            sa.PrimaryKeyConstraint("message_id"),
            sa.UniqueConstraint("seq"),
        )
        with op.batch_alter_table("outbox") as batch:
            batch.create_index("ix_outbox_kind", ["kind"], unique=False)
            batch.create_index("ix_outbox_state", ["state"], unique=False)
    if _missing("ack_event"):
        op.create_table(
            "ack_event",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("ack_message_id", sa.String(length=26), nullable=False),
            sa.Column("message_id", sa.String(length=26), nullable=False),
            sa.Column("state", sa.String(length=32), nullable=False),
            sa.Column("note", sa.String(), nullable=True),
            sa.Column("duplicate", sa.Boolean(), nullable=False),
            sa.Column("stored_at", UTC(), nullable=False),
            sa.Column("cp_sent_at", UTC(), nullable=False),
            sa.Column("received_at", UTC(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("ack_message_id"),
        )
        with op.batch_alter_table("ack_event") as batch:
            batch.create_index("ix_ack_event_message_id", ["message_id"], unique=False)
    if _missing("meta"):
        op.create_table(
            "meta",
            sa.Column("key", sa.String(length=64), nullable=False),
            sa.Column("value", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    if _missing("bulletin"):
        op.create_table(
            "bulletin",
            sa.Column("bulletin_id", sa.String(length=63), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("withdrawn", sa.Boolean(), nullable=False),
            sa.Column("for_us", sa.Boolean(), nullable=False),
            sa.Column("urgency", sa.String(length=2), nullable=False),
            sa.Column("valid_from", UTC(), nullable=False),
            sa.Column("valid_until", UTC(), nullable=True),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("cp_message_id", sa.String(length=26), nullable=False),
            sa.Column("cp_sent_at", UTC(), nullable=False),
            sa.Column("received_at", UTC(), nullable=False),
            sa.PrimaryKeyConstraint("bulletin_id"),
        )
    if _missing("task"):
        op.create_table(
            "task",
            sa.Column("task_id", sa.String(length=63), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("due_at", UTC(), nullable=True),
            sa.Column("cp_message_id", sa.String(length=26), nullable=False),
            sa.Column("cp_sent_at", UTC(), nullable=False),
            sa.Column("received_at", UTC(), nullable=False),
            sa.PrimaryKeyConstraint("task_id"),
        )
    if _missing("task_progress"):
        op.create_table(
            "task_progress",
            sa.Column("task_id", sa.String(length=63), nullable=False),
            sa.Column("done", sa.Boolean(), nullable=False),
            sa.Column("done_at", UTC(), nullable=True),
            sa.Column("done_by", sa.String(length=100), nullable=True),
            sa.Column("note", sa.String(), nullable=True),
            sa.Column("updated_at", UTC(), nullable=False),
            sa.PrimaryKeyConstraint("task_id"),
        )
    if _missing("dead_letter"):
        op.create_table(
            "dead_letter",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("received_at", UTC(), nullable=False),
            sa.Column("topic", sa.String(), nullable=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if _missing("staff_token"):
        op.create_table(
            "staff_token",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("hint", sa.String(length=16), nullable=False),
            sa.Column("name", sa.String(length=100), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("created_at", UTC(), nullable=False),
            sa.Column("expires_at", UTC(), nullable=False),
            sa.Column("revoked_at", UTC(), nullable=True),
            sa.Column("last_used_at", UTC(), nullable=True),
            sa.Column("note", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("token_hash"),
        )


def downgrade() -> None:
    # Back to an unversioned 0.1.0 file is "keep the tables, drop alembic_version": 0.1.0
    # ignores that table. Dropping the outbox here would lose unsent reports.
    pass
