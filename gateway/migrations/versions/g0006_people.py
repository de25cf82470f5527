"""staff_screen: staff screens paired once, signed in per shift with a PIN (gateway/screens.py)

Revision ID: g0006_people
Revises: g0002_health_probe
Create Date: 2026-12-02

Volunteers sign in on a paired screen with a short PIN instead of the 46-character token; the
pairing code, the screen secret and the PIN are stored only as hashes, and wrong PINs are
counted here so the lock survives a restart.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.db

revision: str = "g0006_people"
down_revision: str | Sequence[str] | None = "g0004_relay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = gateway.db.UTCDateTime


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("staff_screen"):
        return  # made by 'noodnet staff-screen' before the gateway first upgraded
    op.create_table(
        "staff_screen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("pair_code_hash", sa.String(length=64), nullable=True),
        sa.Column("pair_expires_at", UTC(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("pin_salt", sa.String(length=64), nullable=True),
        sa.Column("pin_hash", sa.String(length=128), nullable=True),
        sa.Column("pin_expires_at", UTC(), nullable=True),
        sa.Column("failed_pins", sa.Integer(), nullable=False),
        sa.Column("locks", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("paired_at", UTC(), nullable=True),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pair_code_hash"),
        sa.UniqueConstraint("secret_hash"),
    )


def downgrade() -> None:
    op.drop_table("staff_screen")
