"""The CP's fallback registry: per NSP its short code and its transfer key.

Rows are created when the NSP is provisioned (``noodnet provision``) and changed only by an
admin (a new short code, or a new key after a lost stick). The key's secret is stored in
the clear because the CP must compute the same HMAC; whoever can read this table can read
every report anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class NspFallback(SQLModel, table=True):
    __tablename__ = "nsp_fallback"

    nsp_id: str = Field(primary_key=True, max_length=63)
    short_code: str = Field(max_length=6, unique=True)
    key_id: str = Field(max_length=16)
    key_secret: str = Field(max_length=100, description="base64url, see schemas.transfer")
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class RelayReport(SQLModel, table=True):
    """A report that reached the CP by another channel than the link (radio, runner, SMS,
    USB short form), and what became of it when the original arrived.

    ``message_id`` is the id of the stored message at the CP (the one triage, the queue and
    upstream know); ``original_message_id`` is the gateway's own id, set when the original
    arrived (or when the original was already there), so every later copy of it is
    recognised as a duplicate (``service.fallback.relay``). ``history`` lists every channel
    the report came by, in order: ``{"channel", "at", "by", "message_id"}``.
    """

    __tablename__ = "relay_report"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=26, unique=True)
    nsp_id: str = Field(max_length=63)
    seq: int = Field(sa_type=sa.BigInteger)
    kind: str = Field(max_length=32)
    short_form: str = Field(max_length=200)
    channel: str = Field(max_length=8)
    operator: str = Field(max_length=100)
    relayed_at: datetime = utc_column()
    original_message_id: str | None = Field(default=None, max_length=26, unique=True)
    original_transport: str | None = Field(default=None, max_length=8)
    original_received_at: datetime | None = utc_column(nullable=True)
    history: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)

    __table_args__ = (sa.Index("ix_relay_report_nsp_seq", "nsp_id", "seq"),)
