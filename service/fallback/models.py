"""The CP's fallback registry: per NSP its short code and its transfer key.

Rows are created when the NSP is provisioned (``noodnet provision``) and changed only by an
admin (a new short code, or a new key after a lost stick). The key's secret is stored in
the clear because the CP must compute the same HMAC; whoever can read this table can read
every report anyway.
"""

from __future__ import annotations

from datetime import datetime

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
