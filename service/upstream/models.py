"""Tables of the upward path. Rows are never deleted: delivered, superseded and dead outbox
items stay as the record of what went up and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class UpstreamNode(SQLModel, table=True):
    """One row (id 1): this database's identity, the summary counter and the writer lock.

    Every writer of summaries, outbox rows or stream events first updates this row
    (``service.upstream.node.take_lock``), which serialises them on PostgreSQL and SQLite alike
    and keeps event ids in commit order.
    """

    __tablename__ = "upstream_node"

    id: int = Field(default=1, primary_key=True)
    instance_id: str = Field(max_length=26)
    summary_seq: int = Field(default=0, sa_type=sa.BigInteger)
    summary_due: list[str] = Field(
        default_factory=list,
        sa_type=sa.JSON,
        description="Triggers of a summary owed but not yet made; cleared by the next summary.",
    )
    lock_count: int = Field(default=0, sa_type=sa.BigInteger)
    due_gen: int = Field(
        default=0,
        sa_type=sa.BigInteger,
        sa_column_kwargs={"server_default": sa.text("0")},
        description="Counts every mark of a summary debt: a summary clears the debts only "
        "when none was marked while it read its content (service.upstream.changes.produce).",
    )


class UpstreamSummary(SQLModel, table=True):
    """Every summary this CP produced, in order."""

    __tablename__ = "upstream_summary"

    id: int | None = Field(default=None, primary_key=True)
    summary_id: str = Field(max_length=26, unique=True)
    cp_id: str = Field(max_length=63)
    seq: int = Field(sa_type=sa.BigInteger)
    produced_at: datetime = utc_column(index=True)
    triggers: list[str] = Field(sa_type=sa.JSON)
    body: dict[str, Any] = Field(sa_type=sa.JSON)

    __table_args__ = (sa.UniqueConstraint("cp_id", "seq", name="uq_upstream_summary_cp_seq"),)


class UpstreamOutbox(SQLModel, table=True):
    """One item for one upstream target, from queued to delivered, superseded or dead."""

    __tablename__ = "upstream_outbox"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200)
    target: str = Field(max_length=500)
    kind: str = Field(max_length=16)  # "p1_item" | "summary"
    priority: int = Field(description="Lower goes first: P1 items 0, summaries 1.")
    ref: str = Field(max_length=63, description="Message id of a P1 item, seq of a summary.")
    payload: str = Field(sa_type=sa.Text, description="The exact JSON sent on every attempt.")
    created_at: datetime = utc_column()
    state: str = Field(max_length=16, index=True)  # pending | delivered | superseded | dead
    attempts: int = 0
    next_attempt_at: datetime = utc_column()
    give_up_at: datetime = utc_column()
    last_attempt_at: datetime | None = utc_column(nullable=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    delivered_at: datetime | None = utc_column(nullable=True)
    dead_at: datetime | None = utc_column(nullable=True)
    superseded_by: str | None = Field(default=None, max_length=200)
    retried_by: str | None = Field(default=None, max_length=200)
    retried_at: datetime | None = utc_column(nullable=True)
    exercise_id: str | None = Field(
        default=None, max_length=63, index=True, description="Made in this exercise; None = real."
    )

    __table_args__ = (
        sa.UniqueConstraint("idempotency_key", "target", name="uq_upstream_outbox_key_target"),
        sa.Index("ix_upstream_outbox_due", "target", "state", "priority", "id"),
    )


class StreamEvent(SQLModel, table=True):
    """The persisted event log behind ``GET /api/v1/stream``; the id is the SSE event id."""

    __tablename__ = "stream_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_column()
    type: str = Field(max_length=40, index=True)
    data: dict[str, Any] = Field(sa_type=sa.JSON)


class NspWatch(SQLModel, table=True):
    """What was last reported about an NSP, to see transitions (online → silent, low power)."""

    __tablename__ = "upstream_nsp_watch"

    nsp_id: str = Field(primary_key=True, max_length=63)
    liveness: str = Field(max_length=16)
    state: str | None = Field(default=None, max_length=16)
    low_power: bool = False
    changed_at: datetime = utc_column()
