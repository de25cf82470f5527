"""The gateway's JSON API for citizen aid and scarce goods (staff only).

Volunteer data is answered here, on the NSP's own network, to the NSP's staff; none of it is
sent to the CP (gateway/aid.py). Every refusal names its reason (404 unknown, 409 not
possible now — e.g. not enough stock, ration exceeded — 422 the field)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gateway.aid import AidError, StoredAssignment, VolunteerIn
from gateway.auth import STAFF
from gateway.goods import GoodsError
from gateway.runtime import GatewayRuntime
from noodcore.httpguard import require
from schemas import AssignmentState, EntryType, RationRules, Skill, StockEntry
from schemas.common import TEXT_PATTERN, Timestamp

router = APIRouter(tags=["citizen aid and goods"], dependencies=[require(*STAFF)])


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]
IdPath = Annotated[str, Path(max_length=63)]


def _refused(exc: AidError | GoodsError) -> HTTPException:
    return HTTPException(exc.status_code, detail=exc.message)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AssignmentIn(_In):
    title: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)
    skill: Skill | None = None
    count: int = Field(default=1, ge=1, le=50)
    address: str | None = Field(default=None, min_length=1, max_length=300, pattern=TEXT_PATTERN)
    due_at: Timestamp | None = None
    ref_message_id: str | None = Field(default=None, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")


class PickIn(_In):
    volunteer_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        min_length=1, max_length=50
    )


class StateIn(_In):
    state: AssignmentState
    note: str | None = Field(default=None, max_length=300, pattern=TEXT_PATTERN)


class EntryIn(_In):
    type: EntryType
    item: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    unit: str = Field(min_length=1, max_length=30, pattern=TEXT_PATTERN)
    quantity: float = Field(gt=0, le=1_000_000)
    by: str | None = Field(default=None, max_length=100, pattern=TEXT_PATTERN)
    counterpart: str | None = Field(default=None, max_length=200, pattern=TEXT_PATTERN)
    note: str | None = Field(default=None, max_length=300, pattern=TEXT_PATTERN)


class HandoutIn(_In):
    item: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    unit: str = Field(min_length=1, max_length=30, pattern=TEXT_PATTERN)
    quantity: float = Field(gt=0, le=1_000_000)
    household_size: int = Field(ge=1, le=30)
    households: int = Field(default=1, ge=1, le=10_000)
    household_code: str | None = Field(
        default=None, max_length=40, pattern=TEXT_PATTERN, description="Stays at the NSP."
    )
    by: str | None = Field(default=None, max_length=100, pattern=TEXT_PATTERN)


class ReceiveIn(_In):
    quantities: list[float] | None = Field(default=None, max_length=50)
    by: str | None = Field(default=None, max_length=100, pattern=TEXT_PATTERN)


class AssignmentOut(BaseModel):
    assignment: dict[str, Any]
    origin: str
    state: str
    volunteers: list[dict[str, Any]]
    note: str | None
    received_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: StoredAssignment) -> AssignmentOut:
        return cls(
            assignment=s.assignment.model_dump(mode="json"),
            origin=s.origin,
            state=s.state.value,
            volunteers=[
                {"id": v.id, "ref": v.ref, "first_name": v.first_name} for v in s.volunteers
            ],
            note=s.note,
            received_at=s.received_at,
            updated_at=s.updated_at,
        )


# ------------------------------------------------------------------------------ aid


@router.get("/api/v1/aid/volunteers", summary="The volunteer register (local only)")
async def volunteers(rt: Runtime) -> list[dict[str, Any]]:
    return [asdict(v) for v in await run_in_threadpool(rt.aid.volunteers)]


@router.post("/api/v1/aid/volunteers", status_code=201, summary="Register a volunteer")
async def register(info: VolunteerIn, rt: Runtime) -> dict[str, Any]:
    return asdict(await run_in_threadpool(rt.aid.register, info))


@router.delete(
    "/api/v1/aid/volunteers/{volunteer_id}",
    status_code=204,
    summary="Remove a volunteer with all their data",
    responses={404: {"description": "Unknown volunteer"}},
)
async def remove(volunteer_id: Annotated[int, Path(ge=1, le=2**31 - 1)], rt: Runtime) -> None:
    try:
        await run_in_threadpool(rt.aid.remove, volunteer_id)
    except AidError as exc:
        raise _refused(exc) from None


@router.get("/api/v1/aid/roster", summary="Counts per skill and window (what the CP gets)")
async def roster(rt: Runtime) -> dict[str, Any]:
    return (await run_in_threadpool(rt.aid.roster)).model_dump(mode="json")


@router.get("/api/v1/aid/assignments", summary="Assignments, newest first")
async def assignments(rt: Runtime) -> list[AssignmentOut]:
    return [AssignmentOut.of(s) for s in await run_in_threadpool(rt.aid.assignments)]


@router.post("/api/v1/aid/assignments", status_code=201, summary="Make an assignment here")
async def create_assignment(new: AssignmentIn, rt: Runtime) -> AssignmentOut:
    s = await run_in_threadpool(
        rt.aid.create_local,
        new.title,
        new.skill,
        new.count,
        new.address,
        new.due_at,
        new.ref_message_id,
    )
    return AssignmentOut.of(s)


@router.post(
    "/api/v1/aid/assignments/{assignment_id}/volunteers",
    summary="Pick the volunteers for an assignment",
    responses={404: {"description": "Unknown"}, 409: {"description": "Not possible now"}},
)
async def pick(assignment_id: IdPath, body: PickIn, rt: Runtime) -> AssignmentOut:
    try:
        return AssignmentOut.of(
            await run_in_threadpool(rt.aid.assign, assignment_id, body.volunteer_ids)
        )
    except AidError as exc:
        raise _refused(exc) from None


@router.post(
    "/api/v1/aid/assignments/{assignment_id}/state",
    summary="onderweg, klaar or lukt niet",
    responses={404: {"description": "Unknown"}, 409: {"description": "Not possible now"}},
)
async def set_state(assignment_id: IdPath, body: StateIn, rt: Runtime) -> AssignmentOut:
    try:
        return AssignmentOut.of(
            await run_in_threadpool(rt.aid.set_state, assignment_id, body.state, body.note)
        )
    except AidError as exc:
        raise _refused(exc) from None


# ------------------------------------------------------------------------------ goods


@router.get("/api/v1/goods/stock", summary="Stock per item: the ledger's sums")
async def stock(rt: Runtime) -> list[dict[str, Any]]:
    return [asdict(line) for line in await run_in_threadpool(rt.goods.stock)]


@router.get("/api/v1/goods/entries", summary="Ledger entries, newest first")
async def entries(rt: Runtime) -> list[StockEntry]:
    return await run_in_threadpool(rt.goods.entries, 1000)


@router.post(
    "/api/v1/goods/entries",
    status_code=201,
    summary="Received, transferred or written off",
    responses={409: {"description": "Not enough stock"}},
)
async def add_entry(body: EntryIn, rt: Runtime) -> StockEntry:
    try:
        return await run_in_threadpool(
            rt.goods.record,
            body.type,
            body.item,
            body.unit,
            body.quantity,
            body.by,
            body.counterpart,
            body.note,
        )
    except GoodsError as exc:
        raise _refused(exc) from None


@router.post(
    "/api/v1/goods/handouts",
    status_code=201,
    summary="A hand-out: households and their size, no names",
    responses={409: {"description": "Not enough stock, or over the ration"}},
)
async def hand_out(body: HandoutIn, rt: Runtime) -> StockEntry:
    try:
        return await run_in_threadpool(
            rt.goods.hand_out,
            body.item,
            body.unit,
            body.quantity,
            body.household_size,
            body.households,
            body.household_code,
            body.by,
        )
    except GoodsError as exc:
        raise _refused(exc) from None


@router.get("/api/v1/goods/deliveries", summary="Deliveries from the CP and their receipt")
async def deliveries(rt: Runtime) -> list[dict[str, Any]]:
    return [
        {"task": t.model_dump(mode="json"), "received": done}
        for t, done in await run_in_threadpool(rt.goods.deliveries)
    ]


@router.post(
    "/api/v1/goods/deliveries/{task_id}/receive",
    status_code=201,
    summary="Confirm a delivery into the ledger (once)",
    responses={404: {"description": "Unknown task"}, 409: {"description": "Not possible"}},
)
async def receive(task_id: IdPath, body: ReceiveIn, rt: Runtime) -> list[StockEntry]:
    try:
        return await run_in_threadpool(rt.goods.receive_delivery, task_id, body.quantities, body.by)
    except GoodsError as exc:
        raise _refused(exc) from None


@router.get("/api/v1/goods/rules", summary="The CP's ration rules in force here")
async def rules(rt: Runtime) -> RationRules | None:
    return await run_in_threadpool(rt.goods.rules)
