"""A standby CP serves the HTTP API read-only.

Decision, and why: every page and every GET works on a standby (operators keep their picture
when they reach the standby site), but anything that changes state answers 503 with the
reason, until the standby takes over. Changes made on the standby would reach the database
yet not the gateways: bulletins and tasks are published through the active process's broker
connection, messages posted over HTTP need the ingest worker, and a triage change's acks
need the active's ack sender; none of those run on a standby. Sign-in and sign-out stay open
so an operator can read. In shared-subscription mode every process runs ingest and its
broker connection, so every process serves the full API.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALWAYS_OPEN = frozenset({"/login", "/logout"})

STANDBY_BODY = json.dumps(
    {
        "detail": "this CP process is a standby: it serves reads only until it takes over; "
        "send changes to the active CP (see /readyz, 'role')",
        "role": "standby",
    }
).encode()


class StandbyReadOnly:
    """ASGI middleware (pure ASGI, so streamed responses pass untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            runtime: Any = getattr(scope["app"].state, "runtime", None)
            if (
                runtime is not None
                and not runtime.active
                and not runtime.shared
                and scope["path"] not in ALWAYS_OPEN
            ):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"retry-after", b"10"),
                            (b"content-length", str(len(STANDBY_BODY)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": STANDBY_BODY})
                return
        await self.app(scope, receive, send)
