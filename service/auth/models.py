"""Tables of the CP's credentials and security audit trail.

Rows are never deleted: a revoked token keeps its row (who issued it, who revoked it, when
it was last used), so the audit trail stays complete.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class ApiToken(SQLModel, table=True):
    """One API credential. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    hint: str = Field(max_length=16, description="First characters, to recognise it in lists.")
    name: str = Field(max_length=100, index=True, description="Identity named in audit trails.")
    role: str = Field(max_length=16)
    nsp_id: str | None = Field(default=None, max_length=63, index=True)
    created_at: datetime = utc_column()
    created_by: str = Field(max_length=100)
    expires_at: datetime = utc_column()
    revoked_at: datetime | None = utc_column(nullable=True)
    revoked_by: str | None = Field(default=None, max_length=100)
    last_used_at: datetime | None = utc_column(nullable=True)


class SecurityEvent(SQLModel, table=True):
    """Something a security officer should be able to find later: credentials issued or
    revoked, NSPs provisioned, messages for the wrong NSP, floods."""

    __tablename__ = "security_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_column(index=True)
    kind: str = Field(max_length=40, index=True)
    actor: str = Field(max_length=100, description="Identity that acted or was acting.")
    nsp_id: str | None = Field(default=None, max_length=63, index=True)
    detail: str = Field(sa_type=sa.Text)
    data: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
