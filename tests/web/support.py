"""The CP app in-process (no broker) for the page tests over HTTP, and tokens straight in its
store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI

from noodcore.httpguard import Role
from service.app import create_app
from service.auth.tokens import IssuedToken, create_token_cli
from service.settings import ServiceSettings
from tests.support import WaitsForGrouping


@asynccontextmanager
async def running_cp(
    database_url: str, cp_id: str, **settings: object
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real app with its lifespan, and a client talking to it over ASGI."""
    app = create_app(
        ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id=cp_id, **settings)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://cp.test",
            auth=WaitsForGrouping(app.state.ctx.engine),
        ) as c,
    ):
        yield app, c


def issue(app: FastAPI, role: str, nsp_id: str | None = None, name: str = "") -> IssuedToken:
    return create_token_cli(
        app.state.ctx.engine,
        name=name or f"t-{role}",
        role=Role(role),
        expires_in=timedelta(days=1),
        nsp_id=nsp_id,
    )


def token(app: FastAPI, role: str, nsp_id: str | None = None, name: str = "") -> str:
    return issue(app, role, nsp_id, name).token
