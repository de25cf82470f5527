"""Tables of the facilities feature. Facilities are never deleted, only archived (so a state
change and an observation always name a facility that exists); state changes are only added.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class FacilityRecord(SQLModel, table=True):
    """One facility in the CP's directory, with its current state and who set it when."""

    __tablename__ = "facility"

    facility_id: str = Field(primary_key=True, max_length=63)
    type: str = Field(max_length=32)
    name: str = Field(max_length=200)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = None
    lon: float | None = None
    geocoded: bool = Field(default=False, description="Position from the gazetteer.")
    opening_hours: str | None = Field(default=None, max_length=300)
    capacity: int | None = None
    note: str | None = Field(default=None, max_length=1000)
    state: str = Field(max_length=16)
    state_note: str | None = Field(default=None, max_length=300)
    state_since: datetime = utc_column()
    state_by: str = Field(max_length=200)
    # Targeting: every NSP (radius None), or the NSPs within radius_km of the facility.
    radius_km: float | None = None
    archived: bool = False
    created_at: datetime = utc_column()
    created_by: str = Field(max_length=200)
    updated_at: datetime = utc_column()


class FacilityStateChange(SQLModel, table=True):
    """Every state a facility was given: by whom, when, and from which observation."""

    __tablename__ = "facility_state_change"

    id: int | None = Field(default=None, primary_key=True)
    facility_id: str = Field(max_length=63, index=True)
    state: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=300)
    at: datetime = utc_column()
    by: str = Field(max_length=200)
    report_id: int | None = None


class FacilityNspDirectory(SQLModel, table=True):
    """What one NSP was last sent: its directory version and the exact retained bytes."""

    __tablename__ = "facility_nsp_directory"

    nsp_id: str = Field(primary_key=True, max_length=63)
    version: int
    content_hash: str = Field(max_length=64, description="Of the facilities list alone.")
    payload: str = Field(sa_type=sa.Text)
    message_id: str = Field(max_length=26)
    facility_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    published_at: datetime = utc_column()


class FacilityNspReceipt(SQLModel, table=True):
    """The newest directory version an NSP confirmed (from ``facility_receipt``)."""

    __tablename__ = "facility_nsp_receipt"

    nsp_id: str = Field(primary_key=True, max_length=63)
    version: int
    shown_at: datetime = utc_column()  # gateway clock
    received_at: datetime = utc_column()  # CP clock
    message_id: str = Field(max_length=26)


class FacilityObservation(SQLModel, table=True):
    """A ``facility_report`` from an NSP, waiting for (or after) an operator's review."""

    __tablename__ = "facility_observation"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=26, unique=True)
    nsp_id: str = Field(max_length=63, index=True)
    facility_id: str | None = Field(default=None, max_length=63, index=True)
    facility_name: str = Field(max_length=200)
    observed_state: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=1000)
    observed_at: datetime = utc_column()
    by: str | None = Field(default=None, max_length=100)
    received_at: datetime = utc_column(index=True)
    review: str = Field(default="pending", max_length=16, index=True)  # pending|accepted|rejected
    reviewed_at: datetime | None = utc_column(nullable=True)
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_note: str | None = Field(default=None, max_length=300)
