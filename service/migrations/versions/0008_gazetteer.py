"""gazetteer: addresses, named places and imports of the CP area

Revision ID: 0008_gazetteer
Revises: 0005_upstream (the current head; the lead sets the chain at merge: this
migration depends on no other table)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.models

revision: str = "0008_gazetteer"
down_revision: str | Sequence[str] | None = "0009_shortform"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = service.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "gazetteer_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=63), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("street_key", sa.String(length=200), nullable=False),
        sa.Column("town", sa.String(length=100), nullable=False),
        sa.Column("town_key", sa.String(length=100), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("letter", sa.String(length=8), nullable=True),
        sa.Column("addition", sa.String(length=16), nullable=True),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gazetteer_address_region", "gazetteer_address", ["region"])
    op.create_table(
        "gazetteer_place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("town", sa.String(length=100), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gazetteer_place_region", "gazetteer_place", ["region"])
    op.create_table(
        "gazetteer_import",
        sa.Column("region", sa.String(length=63), nullable=False),
        sa.Column("imported_at", UTC(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("addresses", sa.Integer(), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("region"),
    )


def downgrade() -> None:
    op.drop_table("gazetteer_import")
    op.drop_index("ix_gazetteer_place_region", table_name="gazetteer_place")
    op.drop_table("gazetteer_place")
    op.drop_index("ix_gazetteer_address_region", table_name="gazetteer_address")
    op.drop_table("gazetteer_address")
