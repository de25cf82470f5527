"""The link to the CP as the pages show it: up, or down since when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.runtime import GatewayRuntime
from schemas import utcnow

# When this process started: "no connection since start-up" needs a time too.
STARTED_AT = utcnow()


@dataclass(frozen=True)
class LinkView:
    connected: bool
    since: datetime  # up since, or down since
    never_connected: bool  # down since start-up, not since a lost connection
    last_error: str | None
    pending: int


def link_view(rt: GatewayRuntime) -> LinkView:
    info = rt.publisher.info()
    if info.connected:
        since = info.last_connected_at or STARTED_AT
        never = False
    else:
        since = info.last_disconnected_at or STARTED_AT
        never = info.last_disconnected_at is None
    return LinkView(
        connected=info.connected,
        since=since,
        never_connected=never,
        last_error=info.last_error,
        pending=rt.outbox.pending_count(),
    )
