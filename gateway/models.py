"""Tables of the gateway database.

They live in their own SQLAlchemy registry so that a process which also imports the CP
service's SQLModel tables (the CLI, the test suite) never mixes the two schemas.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from gateway.db import UTCDateTime

SCHEMA_VERSION = 1


class GatewayTable(SQLModel, registry=registry()):
    pass


class OutboxRow(GatewayTable, table=True):
    """One upward message, from acceptance until (and after) the CP has stored it."""

    __tablename__ = "outbox"

    message_id: str = Field(primary_key=True, max_length=26)
    seq: int = Field(unique=True)
    kind: str = Field(index=True, max_length=32)
    # The exact JSON that is published, so every retry sends identical bytes.
    envelope: str = Field(sa_column=Column(Text, nullable=False))
    heartbeat: bool = Field(default=False)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    state: str = Field(default="queued", index=True, max_length=16)
    publish_count: int = Field(default=0)
    last_published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = Field(default=None)
    cp_stored_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cp_state: str | None = Field(default=None, max_length=32)
    cp_note: str | None = Field(default=None)
    cp_updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class AckEventRow(GatewayTable, table=True):
    """Every distinct ack the CP sent for a message: the timeline on the staff screen."""

    __tablename__ = "ack_event"

    id: int | None = Field(default=None, primary_key=True)
    ack_message_id: str = Field(unique=True, max_length=26)
    message_id: str = Field(index=True, max_length=26)
    state: str = Field(max_length=32)
    note: str | None = Field(default=None)
    duplicate: bool = Field(default=False)
    stored_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    cp_sent_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class MetaRow(GatewayTable, table=True):
    """Counters and markers, e.g. the per-NSP sequence number."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True, max_length=64)
    value: int


class HealthProbeRow(GatewayTable, table=True):
    """Written and deleted again by the health check's write probe (``Outbox.probe_write``);
    always empty between probes."""

    __tablename__ = "health_probe"

    id: int | None = Field(default=None, primary_key=True)
    payload: bytes


class BulletinRow(GatewayTable, table=True):
    """Latest known version of each bulletin of the CP."""

    __tablename__ = "bulletin"

    bulletin_id: str = Field(primary_key=True, max_length=63)
    version: int
    withdrawn: bool
    # A new version may be retargeted away from this NSP; it must still supersede the old one.
    for_us: bool
    urgency: str = Field(max_length=2)
    valid_from: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    valid_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    body: str = Field(sa_column=Column(Text, nullable=False))
    cp_message_id: str = Field(max_length=26)
    cp_sent_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class TaskRow(GatewayTable, table=True):
    """Latest version of each task the CP gave this NSP."""

    __tablename__ = "task"

    task_id: str = Field(primary_key=True, max_length=63)
    body: str = Field(sa_column=Column(Text, nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cp_message_id: str = Field(max_length=26)
    cp_sent_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class TaskProgressRow(GatewayTable, table=True):
    """What the NSP staff did with a task (kept apart from the CP's copy in ``task``)."""

    __tablename__ = "task_progress"

    task_id: str = Field(primary_key=True, max_length=63)
    done: bool = Field(default=False)
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    done_by: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DeadLetterRow(GatewayTable, table=True):
    """A downward MQTT message that could not be accepted, kept with the reason."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    topic: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))


class ExerciseModeRow(GatewayTable, table=True):
    """The gateway's exercise mode (at most one row, id 1): while set, the staff screen shows
    OEFENING and asks for every report whether it is exercise or a real emergency."""

    __tablename__ = "exercise_mode"

    id: int = Field(default=1, primary_key=True)
    exercise_id: str = Field(max_length=63)
    name: str | None = Field(default=None, max_length=200)
    since: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    set_by: str | None = Field(default=None, max_length=100)


class RelayMarkRow(GatewayTable, table=True):
    """Staff passed an unacknowledged report on by another channel (radio, runner, SMS).

    The outbox row is not touched: it stays unacknowledged, and is resent, until the CP's
    real ack arrives (``gateway.relay``). One row per hand-over: the channel history."""

    __tablename__ = "relay_mark"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(index=True, max_length=26)
    channel: str = Field(max_length=8)
    confirmed_by: str | None = Field(default=None, max_length=100)
    confirmed_at: str | None = Field(default=None, max_length=5, description="HH:MM, local")
    marked_by: str | None = Field(default=None, max_length=100)
    marked_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class FacilityDirectoryRow(GatewayTable, table=True):
    """The newest facility directory the CP sent this NSP (one row; gateway/facilities.py)."""

    __tablename__ = "facility_directory"

    id: int = Field(default=1, primary_key=True)
    version: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    cp_message_id: str = Field(max_length=26)
    cp_sent_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
