"""Short codes and transfer keys of the NSPs: configured at provisioning, looked up here.

A short code is chosen by the admin or, when none is given, proposed from the NSP id and
checked against the codes already in use; once stored it never changes by itself, so a
code on a printed radio card keeps meaning the same NSP (``nsp_for_code``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from schemas import utcnow
from schemas.shortform import SHORT_CODE_PATTERN
from schemas.transfer import TransferKey
from service.fallback.models import NspFallback


class FallbackError(ValueError):
    def __init__(self, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Assigned:
    row: NspFallback
    key: TransferKey | None  # set when a new key was made: shown once, for the env file


def candidates(nsp_id: str) -> list[str]:
    """Short codes to propose for an NSP id, most readable first."""
    parts = [p for p in re.split(r"[-_]+", nsp_id.upper()) if p]
    letters = re.sub(r"[^A-Z0-9]", "", nsp_id.upper())
    out = []
    if len(parts) > 1:
        out.append("".join(p[0] for p in parts)[:6])
        out.append((parts[0][:2] + "".join(p[0] for p in parts[1:]))[:6])
        out.append((parts[0][:3] + parts[-1][:2])[:6])
    out += [letters[:3], letters[:4], letters[:5], letters[:6]]
    ok = [c for c in out if re.match(SHORT_CODE_PATTERN, c)]
    return list(dict.fromkeys(ok))


def _free_code(session: Session, nsp_id: str) -> str:
    used = set(session.exec(select(NspFallback.short_code)).all())
    for code in candidates(nsp_id):
        if code not in used:
            return code
    base = (re.sub(r"[^A-Z]", "", nsp_id.upper()) or "N")[:3]
    for n in range(1, 1000):
        code = f"{base}{n}"[:6]
        if code not in used and re.match(SHORT_CODE_PATTERN, code):
            return code
    raise FallbackError("no free short code; give one with --short-code", 409)


def assign(
    session: Session, nsp_id: str, short_code: str | None = None, new_key: bool = False
) -> Assigned:
    """Create the NSP's entry (code and key), or change its code and/or key. Not committed."""
    row = session.get(NspFallback, nsp_id)
    if short_code is not None:
        short_code = short_code.strip().upper()
        if not re.match(SHORT_CODE_PATTERN, short_code):
            raise FallbackError(
                f"short code {short_code!r}: 2-6 capital letters or digits, starting with a letter"
            )
        other = session.exec(
            select(NspFallback)
            .where(NspFallback.short_code == short_code)
            .where(col(NspFallback.nsp_id) != nsp_id)
        ).first()
        if other is not None:
            raise FallbackError(f"short code {short_code} is already NSP {other.nsp_id}'s", 409)
    now = utcnow()
    key = None
    if row is None:
        key = TransferKey.generate()
        row = NspFallback(
            nsp_id=nsp_id,
            short_code=short_code or _free_code(session, nsp_id),
            key_id=key.key_id,
            key_secret=str(key).partition(":")[2],
            created_at=now,
            updated_at=now,
        )
    else:
        if short_code is not None:
            row.short_code = short_code
        if new_key:
            key = TransferKey.generate()
            row.key_id, row.key_secret = key.key_id, str(key).partition(":")[2]
        row.updated_at = now
    session.add(row)
    session.flush()
    return Assigned(row, key)


def key_of(row: NspFallback) -> TransferKey:
    return TransferKey.parse(f"{row.key_id}:{row.key_secret}")


def key_for(session: Session, nsp_id: str) -> TransferKey | None:
    row = session.get(NspFallback, nsp_id)
    return key_of(row) if row is not None else None


def nsp_for_code(session: Session, short_code: str) -> str | None:
    """The NSP id a short code stands for, from the registry (None: unknown code)."""
    row = session.exec(
        select(NspFallback).where(NspFallback.short_code == short_code.upper())
    ).first()
    return row.nsp_id if row is not None else None


def code_for(session: Session, nsp_id: str) -> str | None:
    row = session.get(NspFallback, nsp_id)
    return row.short_code if row is not None else None
