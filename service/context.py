"""What the lifespan builds and the routes use: one object on ``app.state``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from noodcore.worker import WorkerReport
from service.ingest import IngestWorker
from service.mqtt import MqttBridge
from service.settings import ServiceSettings


@dataclass
class ServiceContext:
    settings: ServiceSettings
    engine: Engine
    worker: IngestWorker
    bridge: MqttBridge | None
    # The health of every background worker (``service.runtime.CpRuntime.health``).
    workers: Callable[[], WorkerReport] = field(default=lambda: WorkerReport([]))
    # This process's place among the CP's processes (service.cluster): role active/standby.
    cluster: Callable[[], dict[str, object]] = field(default=lambda: _single())


def _single() -> dict[str, object]:
    return {"role": "active"}


def get_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def get_session(ctx: Annotated[ServiceContext, Depends(get_context)]) -> Iterator[Session]:
    with Session(ctx.engine) as session:
        yield session


ContextDep = Annotated[ServiceContext, Depends(get_context)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_actor(request: Request) -> str:
    """Who is acting, for audit trails: the identity the route's access rule authenticated
    (``noodcore.httpguard.require``, which runs before the route's own parameters)."""
    identity = getattr(request.state, "identity", None)
    return identity.name if identity is not None else "anonymous"


ActorDep = Annotated[str, Depends(get_actor)]
