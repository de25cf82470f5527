"""Staff mark a CP task done (or take it back): the JSON side of the staff screen's buttons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from gateway.api_models import TaskDoneIn, TaskOut
from gateway.auth import STAFF
from gateway.inbox import TaskNotFoundError, TaskStateError
from gateway.runtime import GatewayRuntime
from noodcore.httpguard import require

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]


async def set_done(rt: GatewayRuntime, task_id: str, done: bool, info: TaskDoneIn) -> TaskOut:
    try:
        stored, _ = await run_in_threadpool(
            rt.inbox.set_task_done, task_id, done, info.by, info.note
        )
    except TaskNotFoundError:
        raise HTTPException(404, f"no task with id {task_id!r}") from None
    except TaskStateError as exc:
        raise HTTPException(409, str(exc)) from None
    return TaskOut.of(stored)


@router.post(
    "/{task_id}/done",
    responses={404: {"description": "Unknown task"}, 409: {"description": "Cancelled by CP"}},
    dependencies=[require(*STAFF)],
)
async def mark_done(
    task_id: str, rt: Runtime, info: Annotated[TaskDoneIn | None, Body()] = None
) -> TaskOut:
    """Mark a task done; the CP learns it through the outbox (idempotent)."""
    return await set_done(rt, task_id, True, info or TaskDoneIn())


@router.post(
    "/{task_id}/reopen",
    responses={404: {"description": "Unknown task"}, 409: {"description": "Cancelled by CP"}},
    dependencies=[require(*STAFF)],
)
async def reopen(
    task_id: str, rt: Runtime, info: Annotated[TaskDoneIn | None, Body()] = None
) -> TaskOut:
    """Take 'done' back (a mistaken click); the CP learns it too."""
    return await set_done(rt, task_id, False, info or TaskDoneIn())
