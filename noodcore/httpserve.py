"""How the CP service and the gateway serve HTTP: uvicorn with bounded connections and time.

Invariant: a slow or greedy client cannot take the server away from everyone else, and the
staff of an NSP or the CP's operators never wait behind it.

* ``limit_concurrency``: beyond this many open connections or running requests uvicorn answers
  503 at once, instead of accepting until memory or file descriptors run out.
* Request head: a connection must deliver its request line and headers within
  ``http_header_timeout_seconds`` of opening (or of the previous response); uvicorn has no
  such timeout, so ``_HeadTimeoutH11`` closes connections that trickle their headers
  (slowloris). Their size is bounded by h11 (``http_max_header_bytes``).
* Request body: ``BodyReadTimeout`` (ASGI middleware) answers 408 when the body has not
  fully arrived within ``http_body_timeout_seconds``; uvicorn has no read timeout, so a
  client sending one byte a minute would hold a worker thread for ever.
* Idle keep-alive connections are closed after ``http_keep_alive_seconds``.

``http_port = 0`` binds any free port; the port is written to ``http_port_file`` once bound,
so a supervisor (or a test) starting several services never races for a port.

On stop, ``on_shutdown`` runs first (``_Server``): an app ends its never-ending responses
(the CP's event stream) there, so the stop does not wait out the graceful timeout for them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import Field
from pydantic_settings import BaseSettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from noodcore.httpguard import send_refusal


class HttpServerSettings(BaseSettings):
    """The HTTP server limits shared by ``ServiceSettings`` and ``GatewaySettings`` (env
    ``NOODNET_HTTP_*``; the subclass's ``model_config`` applies)."""

    http_port_file: Path | None = Field(
        default=None,
        description="Write the bound HTTP port to this file once listening (useful with "
        "http_port 0: any free port).",
    )
    http_limit_concurrency: int = Field(
        default=200,
        ge=1,
        description="Open connections plus running requests at most; beyond it the server "
        "answers 503 at once. Every open dashboard stream holds one.",
    )
    http_keep_alive_seconds: int = Field(
        default=5, ge=1, le=300, description="Idle keep-alive connections are closed after this."
    )
    http_header_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=300,
        description="A connection that has not sent its request line and headers within "
        "this many seconds is closed.",
    )
    http_body_timeout_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="A request body that has not fully arrived after this many seconds gets 408.",
    )
    http_max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Request line plus headers at most (larger: 400).",
    )


# --------------------------------------------------------------------------- request body


class BodyReadTimeout:
    """Pure ASGI middleware: 408 when the request body has not arrived within ``seconds``.

    The clock starts with the app's first ``receive``; once the body is complete, later
    ``receive`` calls (a streaming response waiting for the client to leave) pass through
    unbounded. On timeout the app is told the client disconnected and whatever it answers is
    dropped (the 408 has been sent).
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        complete = False
        timed_out = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal deadline, complete, timed_out
            if complete:
                return await receive()
            if timed_out:
                return {"type": "http.disconnect"}
            if deadline is None:
                deadline = loop.time() + self.seconds
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0))
            except TimeoutError:
                timed_out = True
                if not started:
                    await self._reject(send)
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if timed_out:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except Exception:
            if not timed_out:
                raise

    async def _reject(self, send: Send) -> None:
        await send_refusal(
            send,
            408,
            f"request body not received within {self.seconds:g} seconds; "
            "send it at once (connection closed)",
        )


# --------------------------------------------------------------------------- request head


class _HeadTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol plus a deadline for the request head (see module doc). Uses
    uvicorn's ``loop``, ``cycle`` and ``transport`` attributes (checked with 0.55)."""

    head_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def _arm_head_deadline(self) -> None:
        waiting_for = self.cycle
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow, waiting_for)

    def _head_too_slow(self, waiting_for: Any) -> None:
        idle = waiting_for is None or waiting_for.response_complete
        if self.cycle is waiting_for and idle and not self.transport.is_closing():
            self.transport.close()  # no request arrived: nothing to answer

    def on_response_complete(self) -> None:
        self._head_timer.cancel()
        super().on_response_complete()
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_timer.cancel()
        super().connection_lost(exc)


# --------------------------------------------------------------------------- the server


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app when it starts to stop: uvicorn lets every running
    response finish (up to ``timeout_graceful_shutdown``) before the app's lifespan hears of
    the stop, and a live stream never finishes by itself."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_shutdown is not None:
            self._on_shutdown()
        await super().shutdown(sockets=sockets)


def make_server(
    app: ASGIApp,
    settings: Any,
    on_shutdown: Callable[[], None] | None = None,
    **config: Any,
) -> tuple[uvicorn.Server, socket.socket]:
    """A uvicorn server with the limits of ``settings`` (an ``HttpServerSettings`` with
    ``http_host``/``http_port``) and its bound socket; run it with
    ``server.run(sockets=[sock])``. Writes ``http_port_file`` once bound. ``on_shutdown``
    runs on the event loop when the server starts to stop."""
    protocol = type(
        "HeadTimeoutH11", (_HeadTimeoutH11,), {"head_timeout": settings.http_header_timeout_seconds}
    )
    cfg = uvicorn.Config(
        BodyReadTimeout(app, settings.http_body_timeout_seconds),
        host=settings.http_host,
        port=settings.http_port,
        http=protocol,
        limit_concurrency=settings.http_limit_concurrency,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
        **config,
    )
    sock = cfg.bind_socket()
    if settings.http_port_file is not None:
        write_port_file(Path(settings.http_port_file), int(sock.getsockname()[1]))
    return _Server(cfg, on_shutdown), sock


def write_port_file(path: Path, port: int) -> None:
    """Atomically (temp file + rename), so a reader never sees a partial number."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".port-")
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{port}\n")
    os.replace(tmp, path)
