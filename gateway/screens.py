"""Staff screens paired once, then signed in per shift with a short PIN.

Volunteers cannot be expected to type a 46-character token on a touchscreen. So:

* The gateway's administrator pairs a screen once (``noodnet staff-screen pair``): the gateway
  stores a **one-time pairing code** (8 characters without look-alikes, valid 15 minutes,
  shown as text and as a QR code of the pairing URL). The screen opens ``/staff/pair`` and
  enters (or scans) it; the gateway then gives that browser a random **screen secret** in an
  HttpOnly cookie (``noodnet_screen``) and forgets the code.
* For each shift the administrator sets a **PIN** (4–8 digits) with an end time
  (``noodnet staff-screen pin``). On a paired screen the sign-in form asks only for that PIN;
  a correct PIN issues an ordinary ``nsp-staff`` token that expires at the end of the shift
  (or after 12 hours), kept in the usual sign-in cookie, so every route checks it as before.

Invariants and reasons:

* A PIN is accepted only together with the secret of a paired, unrevoked screen: 10,000
  PINs are few, so they must not be guessable from any device on the NSP's Wi-Fi.
* Wrong PINs are counted per screen in the database (they survive a restart): after
  ``MAX_FAILURES`` the screen is locked for ``LOCK_SECONDS``, doubling with each further
  lock. A correct PIN resets the count.
* Revoking a screen revokes the tokens its PIN sign-ins made: the screen is signed out at
  its next request and cannot sign in again until it is paired anew.
* Only hashes are stored: the pairing code and the screen secret as SHA-256 (random, long),
  the PIN with PBKDF2 and a per-screen salt (short, so a stolen database must not give it
  away for free).
* The long token stays for machines and for the coordinator (``noodnet staff-token``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Engine, Text, update
from sqlmodel import Field, Session, col, select

from gateway import auth
from gateway.db import UTCDateTime
from gateway.models import GatewayTable
from noodcore.db import table_of
from noodcore.httpguard import AuthError, Role, hash_token, new_token, token_hint
from schemas import utcnow

SCREEN_COOKIE = "noodnet_screen"
PAIR_PATH = "/staff/pair"
PAIR_CODE_TTL = timedelta(minutes=15)
SESSION_MAX = timedelta(hours=12)
MAX_FAILURES = 5
LOCK_SECONDS = 300
PIN_MIN, PIN_MAX = 4, 8
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on glass
_PBKDF2_ROUNDS = 200_000


class StaffScreen(GatewayTable, table=True):
    __tablename__ = "staff_screen"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    pair_code_hash: str | None = Field(default=None, max_length=64, unique=True)
    pair_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    secret_hash: str | None = Field(default=None, max_length=64, unique=True)
    pin_salt: str | None = Field(default=None, max_length=64)
    pin_hash: str | None = Field(default=None, max_length=128)
    pin_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    failed_pins: int = 0
    locks: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    paired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    note: str | None = Field(default=None, sa_column=Column(Text))


def ensure_table(engine: Engine) -> None:
    table_of(StaffScreen).create(engine, checkfirst=True)


def _code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def normalise_code(raw: str) -> str:
    """What a person types: spaces, dashes and lower case are fine."""
    return "".join(c for c in raw.upper() if c.isalnum())


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _pin_hash(pin: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), _PBKDF2_ROUNDS).hex()


def check_pin_format(pin: str) -> str:
    if not (pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX):
        raise ValueError(f"a PIN is {PIN_MIN} to {PIN_MAX} digits")
    return pin


@dataclass(frozen=True)
class Pairing:
    screen_id: int
    code: str  # shown once
    expires_at: datetime


def create(
    engine: Engine,
    name: str,
    pin: str | None,
    shift: timedelta,
    code_ttl: timedelta = PAIR_CODE_TTL,
) -> Pairing:
    """A new screen waiting to be paired, optionally with its first shift PIN."""
    if not name.strip():
        raise ValueError("a screen needs a name, e.g. 'Balie 1'")
    if pin is not None:
        check_pin_format(pin)
    ensure_table(engine)
    now = utcnow()
    code = _code()
    row = StaffScreen(
        name=name.strip()[:100],
        pair_code_hash=hash_token(code),
        pair_expires_at=now + code_ttl,
        created_at=now,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
        assert row.id is not None
    if pin is not None:
        set_pin(engine, row.id, pin, shift)
    return Pairing(row.id, code, now + code_ttl)


def new_code(engine: Engine, screen_id: int) -> Pairing:
    """Pair again (another browser, or after the cookie was lost): a fresh one-time code."""
    now = utcnow()
    code = _code()
    with Session(engine) as session:
        row = session.get(StaffScreen, screen_id)
        if row is None or row.revoked_at is not None:
            raise ValueError(f"no active screen {screen_id}")
        row.pair_code_hash = hash_token(code)
        row.pair_expires_at = now + PAIR_CODE_TTL
        session.add(row)
        session.commit()
    return Pairing(screen_id, code, now + PAIR_CODE_TTL)


def set_pin(engine: Engine, screen_id: int, pin: str, shift: timedelta) -> datetime:
    """The PIN of the next shift; returns when it stops working."""
    check_pin_format(pin)
    if shift <= timedelta(0):
        raise ValueError("the shift must last longer than zero")
    salt = secrets.token_hex(16)
    until = utcnow() + shift
    with Session(engine) as session:
        row = session.get(StaffScreen, screen_id)
        if row is None or row.revoked_at is not None:
            raise ValueError(f"no active screen {screen_id}")
        row.pin_salt, row.pin_hash, row.pin_expires_at = salt, _pin_hash(pin, salt), until
        row.failed_pins, row.locked_until = 0, None
        session.add(row)
        session.commit()
    return until


def revoke(engine: Engine, screen_id: int) -> bool:
    """Unpair a screen and end every sign-in its PIN made."""
    ensure_table(engine)
    now = utcnow()
    with Session(engine) as session:
        result = session.execute(
            update(StaffScreen)
            .where(col(StaffScreen.id) == screen_id, col(StaffScreen.revoked_at).is_(None))
            .values(revoked_at=now, secret_hash=None, pair_code_hash=None)
        )
        session.execute(
            update(auth.StaffToken)
            .where(
                col(auth.StaffToken.note) == _session_note(screen_id),
                col(auth.StaffToken.revoked_at).is_(None),
            )
            .values(revoked_at=now)
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def list_screens(engine: Engine) -> list[StaffScreen]:
    ensure_table(engine)
    with Session(engine) as session:
        return list(session.exec(select(StaffScreen).order_by(col(StaffScreen.id))).all())


def _session_note(screen_id: int) -> str:
    return f"screen:{screen_id}"


def pair(engine: Engine, raw_code: str) -> tuple[str, str]:
    """A pairing code → (screen secret for the cookie, screen name). The code is spent."""
    code = normalise_code(raw_code)
    if len(code) != 8:
        raise AuthError("pairing code malformed")
    now = utcnow()
    secret = new_token()
    with Session(engine) as session:
        row = session.exec(
            select(StaffScreen).where(StaffScreen.pair_code_hash == hash_token(code))
        ).first()
        if row is None or row.revoked_at is not None:
            raise AuthError("pairing code unknown")
        if row.pair_expires_at is None or row.pair_expires_at <= now:
            raise AuthError("pairing code expired")
        row.pair_code_hash, row.pair_expires_at = None, None
        row.secret_hash, row.paired_at = hash_token(secret), now
        session.add(row)
        session.commit()
        return secret, row.name


def screen_of(engine: Engine, secret: str | None) -> StaffScreen | None:
    """The paired, unrevoked screen this browser's cookie names, if any."""
    if not secret:
        return None
    with Session(engine) as session:
        row = session.exec(
            select(StaffScreen).where(StaffScreen.secret_hash == hash_token(secret))
        ).first()
        return row if row is not None and row.revoked_at is None else None


def sign_in_with_pin(engine: Engine, secret: str | None, pin: str) -> str:
    """A paired screen's PIN → an nsp-staff token until the end of the shift, or AuthError."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        row = None
        if secret:
            row = session.exec(
                select(StaffScreen).where(StaffScreen.secret_hash == hash_token(secret))
            ).first()
        if row is None or row.revoked_at is not None:
            raise AuthError("screen not paired")
        if row.locked_until is not None and row.locked_until > now:
            raise AuthError(f"pin locked until {row.locked_until.isoformat(timespec='seconds')}")
        if row.pin_hash is None or row.pin_salt is None or row.pin_expires_at is None:
            raise AuthError("no pin set")
        if row.pin_expires_at <= now:
            raise AuthError(f"pin expired at {row.pin_expires_at.isoformat(timespec='seconds')}")
        if not hmac.compare_digest(_pin_hash(pin.strip(), row.pin_salt), row.pin_hash):
            row.failed_pins += 1
            if row.failed_pins >= MAX_FAILURES:
                row.locked_until = now + timedelta(seconds=LOCK_SECONDS * 2**row.locks)
                row.locks += 1
                row.failed_pins = 0
                session.add(row)
                session.commit()
                raise AuthError(
                    f"pin locked until {row.locked_until.isoformat(timespec='seconds')}"
                )
            left = MAX_FAILURES - row.failed_pins
            session.add(row)
            session.commit()
            raise AuthError(f"wrong pin; {left} tries left")
        row.failed_pins, row.locks, row.locked_until = 0, 0, None
        token = new_token()
        session.add(row)
        session.add(
            auth.StaffToken(
                token_hash=hash_token(token),
                hint=token_hint(token),
                name=row.name,
                role=Role.NSP_STAFF.value,
                created_at=now,
                expires_at=min(now + SESSION_MAX, row.pin_expires_at),
                note=_session_note(row.id or 0),
            )
        )
        session.commit()
        return token
