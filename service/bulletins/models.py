"""Tables of the bulletin feature. Rows are only ever added or updated, never deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class BulletinRecord(SQLModel, table=True):
    """One bulletin across its versions: which version is current and whether it is withdrawn."""

    __tablename__ = "bulletin"

    bulletin_id: str = Field(primary_key=True, max_length=63)
    cp_id: str = Field(max_length=63)
    current_version: int
    withdrawn: bool = False
    created_at: datetime = utc_column()
    created_by: str = Field(max_length=200)
    updated_at: datetime = utc_column(index=True)
    exercise_id: str | None = Field(
        default=None, max_length=63, index=True, description="Made in this exercise; None = real."
    )


class BulletinVersion(SQLModel, table=True):
    """One published version, with the exact message bytes that went (and go) to the broker."""

    __tablename__ = "bulletin_version"

    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: str = Field(max_length=63, index=True)
    version: int
    withdrawn: bool = False
    urgency: str = Field(max_length=2)
    valid_from: datetime = utc_column()
    valid_until: datetime | None = utc_column(nullable=True)
    target_nsps: list[str] | None = Field(default=None, sa_type=sa.JSON)
    body: dict[str, Any] = Field(sa_type=sa.JSON, description="The schemas.Bulletin body.")
    message_id: str = Field(max_length=26, unique=True)
    # Re-publishing sends these bytes again, so a gateway recognises the same message.
    payload: str = Field(sa_type=sa.Text)
    created_at: datetime = utc_column()
    created_by: str = Field(max_length=200)
    source: str = Field(max_length=16, description="'api' or 'cap'.")
    cap: dict[str, Any] | None = Field(
        default=None, sa_type=sa.JSON, description="CAP fields Noodnet does not send to NSPs."
    )
    cap_identifier: str | None = Field(default=None, max_length=500, index=True)
    cap_sender: str | None = Field(default=None, max_length=500)
    cap_xml: str | None = Field(default=None, sa_type=sa.Text, description="As imported.")
    note: str | None = Field(default=None, max_length=1000)

    __table_args__ = (sa.UniqueConstraint("bulletin_id", "version", name="uq_bulletin_version"),)


class BulletinReceipt(SQLModel, table=True):
    """An NSP's gateway confirmed it stores and shows this version (from a ``receipt``)."""

    __tablename__ = "bulletin_receipt"

    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: str = Field(max_length=63)
    version: int
    nsp_id: str = Field(max_length=63, index=True)
    shown_at: datetime = utc_column()  # gateway clock
    received_at: datetime = utc_column()  # CP clock
    message_id: str = Field(max_length=26)
    channel: str | None = Field(
        default=None, max_length=8, description="radio/runner/sms/usb; None: over the link."
    )

    __table_args__ = (
        sa.UniqueConstraint("bulletin_id", "version", "nsp_id", name="uq_bulletin_receipt"),
        sa.Index("ix_bulletin_receipt_bulletin", "bulletin_id", "version"),
    )
