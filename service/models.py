"""Database tables of the CP service (SQLModel). Timestamps are stored as UTC.

Nothing here is ever deleted by the service: messages, dead letters and NSP state only grow
or are updated in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from noodcore.db import UTCDateTime

__all__ = ["UTCDateTime", "utc_column"]  # UTCDateTime: the migrations name it here


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


class Message(SQLModel, table=True):
    """An upward message, stored exactly once (unique message_id)."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=26, unique=True)
    kind: str = Field(max_length=32, index=True)
    nsp_id: str = Field(max_length=63, index=True)
    seq: int = Field(sa_type=sa.BigInteger)
    sent_at: datetime = utc_column()
    received_at: datetime = utc_column(index=True)
    skew_seconds: float = Field(description="received_at - sent_at, as observed by the CP.")
    transport: str = Field(max_length=8)
    urgency: str | None = Field(default=None, max_length=2, index=True)
    body: dict[str, Any] = Field(sa_type=sa.JSON)
    exercise_id: str | None = Field(
        default=None, max_length=63, index=True, description="Made in this exercise; None = real."
    )

    __table_args__ = (sa.Index("ix_message_nsp_seq", "nsp_id", "seq"),)


class Nsp(SQLModel, table=True):
    """What the CP knows of one NSP: liveness, last status, sequence gaps, clock skew."""

    nsp_id: str = Field(primary_key=True, max_length=63)
    cp_id: str = Field(max_length=63)
    name: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = None
    lon: float | None = None
    registered: bool = Field(
        default=False, description="Registered by an operator (vs. only heard of on MQTT)."
    )
    first_seen: datetime | None = utc_column(nullable=True)
    last_seen: datetime | None = utc_column(nullable=True)
    online: bool | None = Field(default=None, description="From the retained presence topic.")
    presence_changed_at: datetime | None = utc_column(nullable=True)
    last_status: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    last_status_at: datetime | None = utc_column(nullable=True)
    last_status_seq: int = Field(default=0, sa_type=sa.BigInteger)
    message_count: int = 0
    max_seq: int = Field(default=0, sa_type=sa.BigInteger)
    gaps: list[list[int]] = Field(
        default_factory=list,
        sa_type=sa.JSON,
        description="Missing sequence numbers as inclusive [first, last] ranges.",
    )
    seq_conflicts: int = Field(
        default=0, description="Messages reusing an already seen seq (gateway reset?)."
    )
    skew_seconds: float | None = None


class DeadLetter(SQLModel, table=True):
    """A message the CP could not process, kept with its raw payload, the exact reason and
    the step that failed ("validate", "store", "hook:grouping", ...). Every text column is
    sanitised before it is written (see ``service.store.dead_letter_row``). An operator can
    re-process it after a fix; ``resolved_at``/``resolution`` then say what became of it."""

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = utc_column(index=True)
    transport: str = Field(max_length=8)
    topic: str | None = Field(default=None, max_length=1024)
    nsp_id: str | None = Field(default=None, max_length=200, index=True)
    reason: str = Field(sa_type=sa.Text)
    payload: bytes = Field(sa_type=sa.LargeBinary)
    payload_size: int
    truncated: bool = False
    message_id: str | None = Field(default=None, max_length=26, index=True)
    step: str | None = Field(default=None, max_length=60)
    resolved_at: datetime | None = utc_column(nullable=True)
    resolution: str | None = Field(default=None, sa_type=sa.Text)
    exercise_id: str | None = Field(
        default=None, max_length=63, index=True, description="Made in this exercise; None = real."
    )
