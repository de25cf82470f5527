"""Tables of citizen aid at the CP. No column holds a volunteer's name or contact details:
only counts and pseudonymous refs (see docs/avg.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class AidRoster(SQLModel, table=True):
    """The latest volunteer counts of one NSP (from its newest ``volunteer_roster``)."""

    __tablename__ = "aid_roster"

    nsp_id: str = Field(primary_key=True, max_length=63)
    total: int = 0
    by_skill: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)
    by_window: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)
    cells: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    at: datetime = utc_column()  # gateway clock
    received_at: datetime = utc_column()
    seq: int = Field(default=0, sa_type=sa.BigInteger)


class AidAssignment(SQLModel, table=True):
    """One assignment at one NSP: what the CP (or the NSP) asked, and where it stands."""

    __tablename__ = "aid_assignment"

    assignment_id: str = Field(primary_key=True, max_length=63)
    nsp_id: str = Field(max_length=63, index=True)
    origin: str = Field(default="cp", max_length=8)
    revision: int = 1
    title: str = Field(max_length=200)
    skill: str | None = Field(default=None, max_length=32)
    count: int = 1
    location: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    due_at: datetime | None = utc_column(nullable=True)
    details: str | None = Field(default=None, sa_type=sa.Text)
    ref_message_id: str | None = Field(default=None, max_length=26)
    cancelled: bool = False
    state: str = Field(default="sent", max_length=16)  # sent until the NSP confirms
    volunteer_refs: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    state_at: datetime | None = utc_column(nullable=True)  # gateway clock
    note: str | None = Field(default=None, max_length=300)
    created_at: datetime = utc_column(index=True)
    created_by: str = Field(max_length=200)
    updated_at: datetime = utc_column()
    # Sending (CP-made assignments): the exact message for the current revision.
    payload: str | None = Field(default=None, sa_type=sa.Text)
    message_id: str | None = Field(default=None, max_length=26)
    delivered_revision: int = 0
    last_sent_at: datetime | None = utc_column(nullable=True)
    send_count: int = 0
    last_update_seq: int = Field(default=0, sa_type=sa.BigInteger)
    history: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
