"""Issue, verify and revoke API tokens of the CP service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from noodcore.db import table_of
from noodcore.httpguard import AuthError, Identity, Role, hash_token, new_token, token_hint
from noodcore.tokens import check_token, last_use_due
from schemas import utcnow
from service.auth.models import ApiToken, SecurityEvent

# Roles that speak for one NSP and must name it.
NSP_BOUND_ROLES = frozenset({Role.GATEWAY, Role.NSP_STAFF})


class TokenError(ValueError):
    """A token cannot be issued or revoked as asked (-> 422 / 409)."""


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the secret; shown once
    row: ApiToken


def record_event(
    conn: Connection | Session,
    kind: str,
    actor: str,
    detail: str,
    nsp_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append to the security audit trail, inside the caller's transaction."""
    values: dict[str, Any] = {
        "at": utcnow(),
        "kind": kind,
        "actor": actor[:100],
        "nsp_id": nsp_id,
        "detail": detail,
        "data": data,
    }
    if isinstance(conn, Session):
        conn.add(SecurityEvent(**values))
    else:
        conn.execute(sa.insert(SecurityEvent), [values])


def issue_token(
    session: Session,
    *,
    name: str,
    role: Role,
    created_by: str,
    expires_in: timedelta,
    nsp_id: str | None = None,
) -> IssuedToken:
    """Create a token in the caller's session (committed by the caller)."""
    if role in NSP_BOUND_ROLES and not nsp_id:
        raise TokenError(f"a {role.value} token must name its nsp_id")
    if role not in NSP_BOUND_ROLES and nsp_id:
        raise TokenError(f"a {role.value} token is not bound to an NSP; leave nsp_id out")
    if expires_in <= timedelta(0):
        raise TokenError("expires_in must be positive")
    token = new_token()
    now = utcnow()
    row = ApiToken(
        token_hash=hash_token(token),
        hint=token_hint(token),
        name=name,
        role=role.value,
        nsp_id=nsp_id,
        created_at=now,
        created_by=created_by,
        expires_at=now + expires_in,
    )
    session.add(row)
    record_event(
        session,
        "token_issued",
        created_by,
        f"{role.value} token '{row.hint}…' issued to {name}, valid until "
        f"{row.expires_at.isoformat(timespec='seconds')}",
        nsp_id=nsp_id,
        data={"name": name, "role": role.value},
    )
    session.flush()
    return IssuedToken(token, row)


def revoke_token(session: Session, token_id: int, revoked_by: str) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise LookupError(f"no token with id {token_id}")
    if row.revoked_at is not None:
        raise TokenError(
            f"token {token_id} was already revoked at {row.revoked_at.isoformat()} "
            f"by {row.revoked_by}"
        )
    row.revoked_at = utcnow()
    row.revoked_by = revoked_by
    session.add(row)
    record_event(
        session,
        "token_revoked",
        revoked_by,
        f"{row.role} token {token_id} ('{row.hint}…') of {row.name} revoked",
        nsp_id=row.nsp_id,
        data={"token_id": token_id},
    )
    return row


def revoke_nsp_tokens(session: Session, nsp_id: str, revoked_by: str) -> list[int]:
    rows = session.exec(
        select(ApiToken).where(ApiToken.nsp_id == nsp_id, col(ApiToken.revoked_at).is_(None))
    ).all()
    for row in rows:
        assert row.id is not None
        revoke_token(session, row.id, revoked_by)
    return [r.id for r in rows if r.id is not None]


class DatabaseTokenVerifier:
    """``TokenVerifier`` over the ``api_token`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def verify(self, token: str) -> Identity:
        table = table_of(ApiToken)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table).where(table.c.token_hash == hash_token(token))
            ).first()
            if row is None:
                raise AuthError("unknown token")
            now = utcnow()
            role = check_token(row, now)
            if last_use_due(row, now):
                conn.execute(sa.update(table).where(table.c.id == row.id).values(last_used_at=now))
                conn.commit()
            return Identity(name=row.name, role=role, token_id=row.id, nsp_id=row.nsp_id)


def create_token_cli(
    engine: Engine,
    *,
    name: str,
    role: Role,
    expires_in: timedelta,
    nsp_id: str | None = None,
    created_by: str = "cli",
) -> IssuedToken:
    """Issue a token straight into the database: how the first admin gets one."""
    with Session(engine, expire_on_commit=False) as session:
        issued = issue_token(
            session,
            name=name,
            role=role,
            created_by=created_by,
            expires_in=expires_in,
            nsp_id=nsp_id,
        )
        session.commit()
        session.refresh(issued.row)
        return issued
