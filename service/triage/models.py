"""Triage tables. Nothing is deleted: merges and splits move reports and are recorded in the
audit trail; a merged incident stays, closed as duplicate, pointing at where it went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class TriageItem(SQLModel, table=True):
    """One place in the operator's queue: an incident (grouped help requests and situation
    reports) or a resource request. Aggregates are kept up to date as reports join."""

    __tablename__ = "triage_item"

    id: int | None = Field(default=None, primary_key=True)
    item_type: str = Field(max_length=20, index=True)  # "incident" | "resource_request"
    family: str = Field(max_length=20)
    category: str = Field(max_length=40)
    state: str = Field(max_length=20, index=True)
    state_changed_at: datetime = utc_column()
    first_seen: datetime = utc_column()
    last_seen: datetime = utc_column()
    report_count: int = 0
    nsp_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    top_class: str = Field(max_length=2)
    life_threatening: bool = False
    people_involved: int = 0
    vulnerable_people: int = 0
    representative_message_id: str = Field(max_length=26)
    description: str = Field(sa_type=sa.Text)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = None
    lon: float | None = None
    merged_into: int | None = Field(default=None, index=True)
    split_from: int | None = None
    possible_duplicate_of: int | None = None
    duplicate_status: str | None = Field(
        default=None, max_length=10, description="pending | separate | merged"
    )
    exercise_id: str | None = Field(
        default=None, max_length=63, index=True, description="Made in this exercise; None = real."
    )


class TriageReport(SQLModel, table=True):
    """Matching features of one stored report and the item it belongs to now."""

    __tablename__ = "triage_report"

    message_id: str = Field(primary_key=True, max_length=26)
    item_id: int = Field(index=True)
    kind: str = Field(max_length=32)
    family: str = Field(max_length=20)
    category: str = Field(max_length=40)
    cls: str = Field(max_length=2)
    life_threatening: bool = False
    nsp_id: str = Field(max_length=63)
    received_at: datetime = utc_column()
    lat: float | None = None
    lon: float | None = None
    cell: str | None = Field(default=None, max_length=24)
    est_lat: float | None = None
    est_lon: float | None = None
    bucket: str | None = Field(default=None, max_length=64)
    street: str | None = Field(default=None, max_length=200)
    number: int | None = None
    town: str | None = Field(default=None, max_length=60)
    address: str | None = Field(default=None, max_length=300)
    text_norm: str = Field(sa_type=sa.Text)
    description: str = Field(sa_type=sa.Text)
    people: int = 0
    vulnerable: int = 0
    joined_by: str = Field(max_length=10)  # new | match | own (P1) | merge | split
    match_score: float | None = None
    exercise_id: str | None = Field(
        default=None, max_length=63, index=True, description="Made in this exercise; None = real."
    )

    __table_args__ = (
        sa.Index("ix_triage_report_cell_time", "cell", "received_at"),
        sa.Index("ix_triage_report_bucket_time", "bucket", "received_at"),
    )


class TriageAudit(SQLModel, table=True):
    """Every operator action (and every item the grouping created), per item."""

    __tablename__ = "triage_audit"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(index=True)
    at: datetime = utc_column()
    actor: str = Field(max_length=200)
    action: str = Field(max_length=30)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, sa_type=sa.Text)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class StateAckOutbox(SQLModel, table=True):
    """A state ack for one gateway, committed with the change that caused it and published
    by ``service.triage.acks.StateAckSender`` until the broker confirmed it (survives broker
    outage and restart). The table keeps its first name, ``triage_downlink``."""

    __tablename__ = "triage_downlink"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = utc_column()
    item_id: int | None = None
    nsp_id: str = Field(max_length=63)
    topic: str = Field(max_length=300)
    payload: str = Field(sa_type=sa.Text)
    ack_message_id: str = Field(max_length=26, unique=True)
    published_at: datetime | None = utc_column(nullable=True, index=True)
    attempts: int = 0


class TriageStreet(SQLModel, table=True):
    """Where a street lies, learned from reports that gave both an address and coordinates
    (for CPs without a gazetteer, and streets it lacks): running sums of their positions."""

    __tablename__ = "triage_street"

    key: str = Field(primary_key=True, max_length=270)  # "street|town"
    lat_sum: float
    lon_sum: float
    n: int


class GroupingPending(SQLModel, table=True):
    """A stored report waiting to be grouped by the grouping process
    (``NOODNET_TRIAGE_GROUPING_PROCESS``, service/triage/grouper.py). The row is inserted in
    the ingest transaction and deleted in the transaction that places the report, so a crash
    of either process leaves the report queued, never lost. Life-threatening reports
    (``urgent``) are taken first; the rest in the order they were stored."""

    __tablename__ = "triage_grouping_pending"
    __table_args__ = (sa.Index("ix_triage_grouping_pending_order", "urgent", "id"),)

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            # SQLite numbers rows only for an INTEGER PRIMARY KEY (its rowid).
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    message_id: str = Field(max_length=26, unique=True)
    urgent: bool = False
    queued_at: datetime = utc_column()
