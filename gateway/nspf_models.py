"""Gateway tables of citizen aid and scarce goods (migration g0007_aid).

Personal data of volunteers lives only in ``volunteer`` (and, by local id, in an assignment's
``volunteer_ids``): nothing here is sent upward as it is (see gateway/aid.py, docs/avg.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field

from gateway.db import UTCDateTime
from gateway.models import GatewayTable


class LocalSecretRow(GatewayTable, table=True):
    """Secrets that never leave the gateway (the HMAC key of pseudonymous volunteer refs)."""

    __tablename__ = "local_secret"

    name: str = Field(primary_key=True, max_length=32)
    value: str = Field(max_length=128)


class VolunteerRow(GatewayTable, table=True):
    """A resident who offers help. Personal data: stays here; removed on request or by purge."""

    __tablename__ = "volunteer"

    id: int | None = Field(default=None, primary_key=True)
    first_name: str = Field(max_length=100)
    skills: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of Skill values
    languages: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    windows: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of Window values
    contact: str | None = Field(default=None, max_length=200)
    consent: bool = Field(default=False)
    consent_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    note: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AssignmentRow(GatewayTable, table=True):
    """An assignment (from the CP, or made here) and who of the volunteers is on it."""

    __tablename__ = "assignment"

    assignment_id: str = Field(primary_key=True, max_length=63)
    origin: str = Field(max_length=8)
    body: str = Field(sa_column=Column(Text, nullable=False))  # schemas.Assignment JSON
    state: str = Field(max_length=16)
    volunteer_ids: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of local ids
    note: str | None = Field(default=None, max_length=300)
    cp_message_id: str | None = Field(default=None, max_length=26)
    cp_sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class StockEntryRow(GatewayTable, table=True):
    """One entry of the stock ledger; the balance of an item is the sum of its entries."""

    __tablename__ = "stock_entry"

    entry_no: int = Field(primary_key=True)
    item: str = Field(max_length=40, index=True)
    unit: str = Field(max_length=30)
    type: str = Field(max_length=16)
    quantity: float
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    by: str | None = Field(default=None, max_length=100)
    households: int | None = None
    household_size: int | None = None
    task_id: str | None = Field(default=None, max_length=63, index=True)
    counterpart: str | None = Field(default=None, max_length=200)
    on_hand_after: float
    note: str | None = Field(default=None, max_length=300)


class HouseholdDrawRow(GatewayTable, table=True):
    """What one household code collected of an item on one local day (ration rules only).
    The code is whatever the NSP hands out (a card number); it never goes upward."""

    __tablename__ = "household_draw"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, index=True)
    item: str = Field(max_length=40)
    day: str = Field(max_length=10)  # local date, YYYY-MM-DD
    quantity: float
    entry_no: int
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class RationRulesRow(GatewayTable, table=True):
    """The CP's current ration rules for this NSP (the newest version received)."""

    __tablename__ = "ration_rules"

    id: int = Field(default=1, primary_key=True)
    version: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    cp_message_id: str = Field(max_length=26)
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
