"""Who may use the gateway's local API: staff tokens, kept hashed in the gateway's own
database (the NSP has no link to the CP when it matters most, so the gateway decides alone).

Roles here: ``nsp-staff`` (the staff screens: enter reports and status, see the outbox, link,
bulletins, tasks) and ``viewer`` (an info-board screen: bulletins only). A stolen info-board
tablet cannot post reports; a stolen staff laptop cannot reach the CP's operator API, whose
tokens never exist on a gateway. Tokens are made on the Pi with ``noodnet staff-token``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, Engine, Text, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session, col, select

from gateway.db import UTCDateTime, make_engine
from gateway.models import GatewayTable
from noodcore.db import table_of
from noodcore.httpguard import AuthError, Identity, Role, hash_token, new_token, token_hint
from noodcore.tokens import check_token, last_use_due
from schemas import utcnow

log = logging.getLogger(__name__)

GATEWAY_ROLES = (Role.NSP_STAFF, Role.VIEWER)
STAFF = (Role.NSP_STAFF,)
BOARD_READERS = (Role.NSP_STAFF, Role.VIEWER)


class StaffToken(GatewayTable, table=True):
    __tablename__ = "staff_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    hint: str = Field(max_length=16)
    name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    note: str | None = Field(default=None, sa_column=Column(Text))


def ensure_table(engine: Engine) -> None:
    table_of(StaffToken).create(engine, checkfirst=True)


@dataclass(frozen=True)
class IssuedStaffToken:
    token: str
    id: int
    expires_at: datetime


def issue(engine: Engine, name: str, role: Role, expires_in: timedelta) -> IssuedStaffToken:
    if role not in GATEWAY_ROLES:
        raise ValueError(
            f"a gateway token has role {' or '.join(r.value for r in GATEWAY_ROLES)}, "
            f"not {role.value}"
        )
    if expires_in <= timedelta(0):
        raise ValueError("expires_in must be positive")
    ensure_table(engine)
    token = new_token()
    now = utcnow()
    row = StaffToken(
        token_hash=hash_token(token),
        hint=token_hint(token),
        name=name,
        role=role.value,
        created_at=now,
        expires_at=now + expires_in,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
        assert row.id is not None
        return IssuedStaffToken(token, row.id, row.expires_at)


def revoke(engine: Engine, token_id: int) -> bool:
    ensure_table(engine)
    with Session(engine) as session:
        result = session.execute(
            update(StaffToken)
            .where(col(StaffToken.id) == token_id, col(StaffToken.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def list_tokens(engine: Engine) -> list[StaffToken]:
    ensure_table(engine)
    with Session(engine) as session:
        return list(session.exec(select(StaffToken).order_by(col(StaffToken.id))).all())


class StaffTokenVerifier:
    """``TokenVerifier`` over the gateway's ``staff_token`` table."""

    def __init__(self, engine: Engine, nsp_id: str) -> None:
        self.engine = engine
        self.nsp_id = nsp_id
        ensure_table(engine)

    def verify(self, token: str) -> Identity:
        with Session(self.engine) as session:
            row = session.exec(
                select(StaffToken).where(StaffToken.token_hash == hash_token(token))
            ).first()
            if row is None:
                raise AuthError("unknown token")
            now = utcnow()
            role = check_token(row, now)
            if last_use_due(row, now):
                row.last_used_at = now
                session.add(row)
                try:
                    session.commit()
                except OperationalError as exc:
                    # Bookkeeping only: a full disk must not lock staff out of the screens
                    # that tell them the disk is full.
                    session.rollback()
                    log.warning("could not record the use of token %s: %s", row.id, exc.orig)
            return Identity(name=row.name, role=role, token_id=row.id, nsp_id=self.nsp_id)


def open_engine(db_path: Path) -> Engine:
    """For the CLI: the gateway database, with the token table."""
    engine = make_engine(db_path)
    ensure_table(engine)
    return engine
