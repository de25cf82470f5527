"""Credentials and the security audit trail over HTTP: admins issue and revoke tokens; every
authenticated caller can ask who it is."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from noodcore.httpguard import MAX_ID, Identity, Role, require, unprocessable
from schemas.common import ID_PATTERN, NspId
from service.auth.models import ApiToken, SecurityEvent
from service.auth.roles import ADMINS, ANY_ROLE, OPERATORS
from service.auth.tokens import (
    TokenError,
    issue_token,
    record_event,
    revoke_nsp_tokens,
    revoke_token,
)
from service.context import ActorDep, ContextDep, SessionDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
events_router = APIRouter(
    prefix="/api/v1/security-events", tags=["auth"], dependencies=[require(*OPERATORS)]
)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(
        min_length=1,
        max_length=100,
        description="Who holds it (a person or a machine); named in audit trails.",
        examples=["a.jansen"],
    )
    role: Role
    nsp_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="Required for gateway and nsp-staff tokens: the NSP they speak for.",
    )
    expires_in_days: float | None = Field(
        default=None, gt=0, le=3660, description="Lifetime; default from the service settings."
    )


class TokenOut(BaseModel):
    id: int
    hint: str
    name: str
    role: str
    nsp_id: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> TokenOut:
        assert row.id is not None
        return cls(**row.model_dump(exclude={"token_hash"}))


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown only now; only its hash is stored.")


class WhoAmI(BaseModel):
    name: str
    role: Role
    nsp_id: str | None
    token_id: int | None


class SecurityEventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str
    nsp_id: str | None
    detail: str


@router.post(
    "/tokens",
    status_code=201,
    summary="Issue an API token (the secret is in the response, once)",
    dependencies=[require(*ADMINS)],
)
def create_token(
    body: TokenIn, session: SessionDep, ctx: ContextDep, actor: ActorDep
) -> TokenCreated:
    days = body.expires_in_days or ctx.settings.auth_token_days
    try:
        issued = issue_token(
            session,
            name=body.name,
            role=body.role,
            created_by=actor,
            expires_in=timedelta(days=days),
            nsp_id=body.nsp_id,
        )
    except TokenError as exc:
        raise unprocessable(("body",), str(exc)) from None
    session.commit()
    session.refresh(issued.row)
    return TokenCreated(**TokenOut.of(issued.row).model_dump(), token=issued.token)


@router.get("/tokens", summary="All tokens (without secrets)", dependencies=[require(*ADMINS)])
def list_tokens(
    session: SessionDep,
    nsp_id: Annotated[str | None, Query(max_length=63)] = None,
    include_revoked: bool = True,
) -> list[TokenOut]:
    stmt = select(ApiToken)
    if nsp_id:
        stmt = stmt.where(ApiToken.nsp_id == nsp_id)
    if not include_revoked:
        stmt = stmt.where(col(ApiToken.revoked_at).is_(None))
    return [TokenOut.of(r) for r in session.exec(stmt.order_by(col(ApiToken.id))).all()]


@router.post(
    "/tokens/{token_id}/revoke",
    summary="Revoke a token at once (the row stays, for the audit trail)",
    dependencies=[require(*ADMINS)],
    responses={404: {"description": "No such token"}, 409: {"description": "Already revoked"}},
)
def revoke(
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, actor: ActorDep
) -> TokenOut:
    try:
        row = revoke_token(session, token_id, actor)
    except LookupError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except TokenError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    session.commit()
    session.refresh(row)
    return TokenOut.of(row)


class NspRevoked(BaseModel):
    nsp_id: str
    revoked_token_ids: list[int]


@router.post(
    "/nsps/{nsp_id}/revoke",
    summary="Revoke every API token of an NSP (its broker identity is removed by "
    "'noodnet provision revoke')",
    dependencies=[require(*ADMINS)],
)
def revoke_nsp(
    nsp_id: Annotated[NspId, Path()], session: SessionDep, actor: ActorDep
) -> NspRevoked:
    ids = revoke_nsp_tokens(session, nsp_id, actor)
    record_event(
        session,
        "nsp_revoked",
        actor,
        f"NSP {nsp_id} revoked: {len(ids)} API token(s) revoked, broker identity removed",
        nsp_id=nsp_id,
        data={"token_ids": ids},
    )
    session.commit()
    return NspRevoked(nsp_id=nsp_id, revoked_token_ids=ids)


@router.get("/whoami", summary="The identity and role of the calling token")
def whoami(identity: Annotated[Identity, require(*ANY_ROLE)]) -> WhoAmI:
    return WhoAmI(
        name=identity.name, role=identity.role, nsp_id=identity.nsp_id, token_id=identity.token_id
    )


@events_router.get("", summary="Security events, newest first")
def list_security_events(
    session: SessionDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    nsp_id: Annotated[str | None, Query(max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[SecurityEventOut]:
    stmt = select(SecurityEvent)
    if kind:
        stmt = stmt.where(SecurityEvent.kind == kind)
    if nsp_id:
        stmt = stmt.where(SecurityEvent.nsp_id == nsp_id)
    rows = session.exec(stmt.order_by(col(SecurityEvent.id).desc()).offset(offset).limit(limit))
    return [SecurityEventOut(**r.model_dump(exclude={"data"})) for r in rows.all()]
