"""NSPs as the CP sees them: liveness, last status, sequence gaps, clock skew."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import select

from noodcore.httpguard import require
from schemas import utcnow
from schemas.common import TEXT_PATTERN, NspId
from service.auth.roles import ADMINS, READERS
from service.auth.tokens import record_event
from service.context import ActorDep, ContextDep, SessionDep
from service.limits.flags import throttled_now
from service.limits.models import NspThrottle
from service.models import Nsp

router = APIRouter(prefix="/api/v1/nsps", tags=["nsps"])


class NspRegistration(BaseModel):
    """What an operator registers about an NSP: where it is and what it is called."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # No control characters (schemas.common): PostgreSQL refuses a NUL in text (a 500).
    name: str = Field(
        min_length=1, max_length=200, pattern=TEXT_PATTERN, examples=["Bibliotheek Oss"]
    )
    address: str | None = Field(default=None, max_length=300, pattern=TEXT_PATTERN)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> NspRegistration:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class ThrottleOut(BaseModel):
    """Set once the NSP went over its rate limit (service.limits.ratelimit)."""

    throttled_now: bool
    first_throttled_at: datetime
    episode_started_at: datetime
    last_throttled_at: datetime
    throttled_total: int
    deferred_total: int
    episodes: int

    @classmethod
    def of(cls, t: NspThrottle) -> ThrottleOut:
        return cls(throttled_now=throttled_now(t.last_throttled_at), **t.model_dump())


class NspOut(BaseModel):
    nsp_id: str
    cp_id: str
    name: str | None
    address: str | None
    lat: float | None
    lon: float | None
    registered: bool
    liveness: str  # "online" | "offline" | "silent" | "unknown"
    online: bool | None
    first_seen: datetime | None
    last_seen: datetime | None
    silent_for_seconds: float | None
    last_status: dict[str, Any] | None
    last_status_at: datetime | None
    message_count: int
    max_seq: int
    contiguous_seq: int
    gaps: list[list[int]]
    missing_count: int
    seq_conflicts: int
    skew_seconds: float | None
    throttle: ThrottleOut | None = None


def nsp_out(nsp: Nsp, silent_after: timedelta, throttle: NspThrottle | None = None) -> NspOut:
    now = utcnow()
    silent_for = (now - nsp.last_seen).total_seconds() if nsp.last_seen else None
    if nsp.online is False:
        liveness = "offline"
    elif nsp.last_seen is None:
        liveness = "unknown"
    elif now - nsp.last_seen > silent_after:
        liveness = "silent"
    else:
        liveness = "online"
    return NspOut(
        **nsp.model_dump(exclude={"gaps", "last_status_seq"}),
        gaps=nsp.gaps,
        liveness=liveness,
        silent_for_seconds=silent_for,
        contiguous_seq=(nsp.gaps[0][0] - 1) if nsp.gaps else nsp.max_seq,
        missing_count=sum(hi - lo + 1 for lo, hi in nsp.gaps),
        throttle=ThrottleOut.of(throttle) if throttle is not None else None,
    )


@router.get(
    "",
    summary="All NSPs of this CP",
    response_model=list[NspOut],
    dependencies=[require(*READERS)],
)
def list_nsps(session: SessionDep, ctx: ContextDep) -> list[NspOut]:
    silent_after = timedelta(seconds=ctx.settings.silent_after_seconds)
    rows = session.exec(select(Nsp).order_by(Nsp.nsp_id)).all()
    throttles = {t.nsp_id: t for t in session.exec(select(NspThrottle)).all()}
    return [nsp_out(n, silent_after, throttles.get(n.nsp_id)) for n in rows]


@router.get(
    "/{nsp_id}",
    summary="One NSP",
    response_model=NspOut,
    responses={404: {"description": "Never heard of this NSP"}},
    dependencies=[require(*READERS)],
)
def get_nsp(nsp_id: str, session: SessionDep, ctx: ContextDep) -> NspOut:
    nsp = session.get(Nsp, nsp_id)
    if nsp is None:
        raise HTTPException(404, detail=f"no NSP with id {nsp_id}")
    return nsp_out(
        nsp,
        timedelta(seconds=ctx.settings.silent_after_seconds),
        session.get(NspThrottle, nsp_id),
    )


@router.put(
    "/{nsp_id}",
    summary="Register an NSP or update its registration (name, address, position)",
    response_model=NspOut,
    dependencies=[require(*ADMINS)],
)
def register_nsp(
    nsp_id: Annotated[NspId, Path()],
    reg: NspRegistration,
    session: SessionDep,
    ctx: ContextDep,
    actor: ActorDep,
) -> NspOut:
    nsp = session.get(Nsp, nsp_id) or Nsp(nsp_id=nsp_id, cp_id=ctx.settings.cp_id)
    nsp.name, nsp.address, nsp.lat, nsp.lon = reg.name, reg.address, reg.lat, reg.lon
    nsp.registered = True
    session.add(nsp)
    record_event(
        session,
        "nsp_registered",
        actor,
        f"NSP {nsp_id} registered as '{reg.name}'",
        nsp_id=nsp_id,
        data=reg.model_dump(),
    )
    session.commit()
    session.refresh(nsp)
    return nsp_out(nsp, timedelta(seconds=ctx.settings.silent_after_seconds))
