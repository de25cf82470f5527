"""Exercise control at the CP: open, list, close, export, purge (see docs/exercise.md).

Operators open and close an exercise and export its data; only an admin purges it (after
closing). Every answer shows the mark and the counts, so an operator sees what an exercise
holds before deleting it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import require
from schemas.common import EXERCISE_MARK, ID_PATTERN
from service.auth.roles import ADMINS, OPERATORS, READERS
from service.context import ActorDep, ContextDep
from service.exercise import data
from service.exercise.data import ExerciseError, ExerciseState

router = APIRouter(prefix="/api/v1/exercises", tags=["exercise"])

ExerciseIdPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=63)]


class ExerciseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    exercise_id: str = Field(pattern=ID_PATTERN, examples=["oef-2026-12-stroom"])
    name: str = Field(min_length=1, max_length=200, examples=["Oefening stroomuitval Oss"])


class ExerciseOut(BaseModel):
    exercise_id: str
    name: str
    state: Literal["open", "closed", "purged"]
    mark: str = Field(default=EXERCISE_MARK, description="Shown on everything made in it.")
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None
    purged_at: datetime | None
    purged_by: str | None
    purged_counts: dict[str, Any] | None
    counts: dict[str, int] = Field(description="Rows it holds now, per kind.")

    @classmethod
    def of(cls, s: ExerciseState) -> ExerciseOut:
        return cls(
            exercise_id=s.exercise_id,
            name=s.name,
            state=s.state,
            opened_at=s.opened_at,
            opened_by=s.opened_by,
            closed_at=s.closed_at,
            closed_by=s.closed_by,
            purged_at=s.purged_at,
            purged_by=s.purged_by,
            purged_counts=s.purged_counts,
            counts=s.counts,
        )


class PurgeOut(BaseModel):
    exercise_id: str
    deleted: dict[str, int]


async def _call(fn: Any, *args: Any) -> Any:
    try:
        return await run_in_threadpool(fn, *args)
    except ExerciseError as exc:
        raise HTTPException(exc.status, detail=exc.detail) from exc


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such exercise"},
    409: {"description": "Refused in the exercise's state (e.g. purge while open)"},
}


@router.post(
    "",
    status_code=201,
    summary="Open an exercise (oefening)",
    responses={409: {"description": "The id exists already"}},
    dependencies=[require(*OPERATORS)],
)
async def open_exercise(body: ExerciseIn, ctx: ContextDep, actor: ActorDep) -> ExerciseOut:
    state = await _call(data.open_exercise, ctx.engine, body.exercise_id, body.name, actor)
    return ExerciseOut.of(state)


@router.get("", summary="Every exercise, newest first", dependencies=[require(*READERS)])
async def list_exercises(ctx: ContextDep) -> list[ExerciseOut]:
    return [ExerciseOut.of(s) for s in await _call(data.list_all, ctx.engine)]


@router.get(
    "/{exercise_id}",
    summary="One exercise with its counts",
    responses=ERRORS,
    dependencies=[require(*READERS)],
)
async def get_exercise(exercise_id: ExerciseIdPath, ctx: ContextDep) -> ExerciseOut:
    return ExerciseOut.of(await _call(data.get, ctx.engine, exercise_id))


@router.post(
    "/{exercise_id}/close",
    summary="Close an exercise (what still arrives for it is stored, marked)",
    responses=ERRORS,
    dependencies=[require(*OPERATORS)],
)
async def close_exercise(
    exercise_id: ExerciseIdPath, ctx: ContextDep, actor: ActorDep
) -> ExerciseOut:
    return ExerciseOut.of(await _call(data.close, ctx.engine, exercise_id, actor))


@router.get(
    "/{exercise_id}/export",
    summary="Everything the exercise made: JSON (every table) or CSV (messages and items)",
    responses={**ERRORS, 200: {"content": {"application/json": {}, "text/csv": {}}}},
    response_class=Response,
    dependencies=[require(*OPERATORS)],
)
async def export_exercise(
    exercise_id: ExerciseIdPath,
    ctx: ContextDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    await _call(data.get, ctx.engine, exercise_id)
    exported = await _call(data.export, ctx.engine, exercise_id)
    name = f"oefening-{exercise_id}"
    if format == "csv":
        return Response(
            data.export_csv(exported),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return JSONResponse(
        exported, headers={"Content-Disposition": f'attachment; filename="{name}.json"'}
    )


@router.post(
    "/{exercise_id}/purge",
    summary="Delete everything the (closed) exercise made; real data is never touched. Also "
    "for data carrying an exercise id this instance never opened (a region's copy).",
    responses=ERRORS,
    dependencies=[require(*ADMINS)],
)
async def purge_exercise(exercise_id: ExerciseIdPath, ctx: ContextDep, actor: ActorDep) -> PurgeOut:
    deleted = await _call(data.purge, ctx.engine, exercise_id, actor)
    return PurgeOut(exercise_id=exercise_id, deleted=deleted)
