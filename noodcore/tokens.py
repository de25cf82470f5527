"""The check every stored API token passes, whichever table holds it (the CP's ``api_token``,
the gateway's ``staff_token``).

Invariant: a revoked, expired or unknown-role token is refused with a reason the caller can
act on, and a token's last use is written at most once per ``LAST_USED_RESOLUTION`` (an audit
hint, not a write per request).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from noodcore.httpguard import AuthError, Role

LAST_USED_RESOLUTION = timedelta(minutes=1)


class StoredToken(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def last_used_at(self) -> datetime | None: ...


def check_token(row: StoredToken, now: datetime) -> Role:
    """The token's role, or ``AuthError`` saying why the token is refused."""
    if row.revoked_at is not None:
        raise AuthError(f"token revoked at {row.revoked_at.isoformat(timespec='seconds')}")
    if row.expires_at <= now:
        raise AuthError(f"token expired at {row.expires_at.isoformat(timespec='seconds')}")
    try:
        return Role(row.role)
    except ValueError:
        raise AuthError(f"token has an unknown role '{row.role}'") from None


def last_use_due(row: StoredToken, now: datetime) -> bool:
    """Whether this use should be written as the token's last use."""
    return row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION
