"""Tables of the region role: what the CPs sent up, each item stored once by its key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class RegionSummary(SQLModel, table=True):
    """Every CP summary received (also older ones that arrived late)."""

    __tablename__ = "region_summary"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    cp_id: str = Field(max_length=63, index=True)
    instance_id: str = Field(max_length=26)
    seq: int = Field(sa_type=sa.BigInteger)
    produced_at: datetime = utc_column()
    received_at: datetime = utc_column()
    received_from: str | None = Field(default=None, max_length=200)
    receive_count: int = Field(default=1, description="Deliveries of this key (1 = no repeat).")
    payload: dict[str, Any] = Field(sa_type=sa.JSON)


class RegionCp(SQLModel, table=True):
    """Each CP's current summary: the highest seq of its newest database instance."""

    __tablename__ = "region_cp"

    cp_id: str = Field(primary_key=True, max_length=63)
    summary_row_id: int
    instance_id: str = Field(max_length=26)
    seq: int = Field(sa_type=sa.BigInteger)
    produced_at: datetime = utc_column()
    received_at: datetime = utc_column()


class RegionUrgent(SQLModel, table=True):
    """Every P1 item received from a CP."""

    __tablename__ = "region_urgent"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    cp_id: str = Field(max_length=63, index=True)
    message_id: str = Field(max_length=26, index=True)
    nsp_id: str = Field(max_length=63)
    kind: str = Field(max_length=32)
    category: str = Field(max_length=40)
    cp_received_at: datetime = utc_column()
    received_at: datetime = utc_column(index=True)
    received_from: str | None = Field(default=None, max_length=200)
    receive_count: int = 1
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    exercise_id: str | None = Field(
        default=None, max_length=63, index=True, description="Made in this exercise; None = real."
    )
