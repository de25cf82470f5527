"""auth: API tokens, security events, per-NSP throttle state

Revision ID: 0006_auth
Revises: 0001_backbone
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0006_auth"
down_revision: str | Sequence[str] | None = "0004_bulletins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("nsp_id", sa.String(length=63), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.Column("last_used_at", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_token_name", "api_token", ["name"])
    op.create_index("ix_api_token_nsp_id", "api_token", ["nsp_id"])

    op.create_table(
        "security_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("nsp_id", sa.String(length=63), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_security_event_at", "security_event", ["at"])
    op.create_index("ix_security_event_kind", "security_event", ["kind"])
    op.create_index("ix_security_event_nsp_id", "security_event", ["nsp_id"])

    op.create_table(
        "nsp_throttle",
        sa.Column("nsp_id", sa.String(length=63), nullable=False),
        sa.Column("first_throttled_at", UTC(), nullable=False),
        sa.Column("episode_started_at", UTC(), nullable=False),
        sa.Column("last_throttled_at", UTC(), nullable=False),
        sa.Column("throttled_total", sa.Integer(), nullable=False),
        sa.Column("deferred_total", sa.Integer(), nullable=False),
        sa.Column("episodes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("nsp_id"),
    )
    op.create_index("ix_nsp_throttle_last_throttled_at", "nsp_throttle", ["last_throttled_at"])


def downgrade() -> None:
    # Credentials and the audit trail are never dropped by a downgrade.
    raise NotImplementedError("0006_auth holds the security audit trail; no downgrade")
