"""Per-NSP throttling state, shown in the NSP view."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from service.models import utc_column


class NspThrottle(SQLModel, table=True):
    """How often an NSP went over its rate limit. Kept after the flood ends (history)."""

    __tablename__ = "nsp_throttle"

    nsp_id: str = Field(primary_key=True, max_length=63)
    first_throttled_at: datetime = utc_column()
    episode_started_at: datetime = utc_column()
    last_throttled_at: datetime = utc_column(index=True)
    throttled_total: int = Field(default=0, description="Messages over the limit (parked).")
    deferred_total: int = Field(
        default=0, description="Messages refused for now; the gateway sends them again."
    )
    episodes: int = 1
