"""Bulletin versions: create, publish a new version, withdraw. Every version is a new row.

A version is stored with the exact message bytes the gateways get, so a re-publish after a
broker restart is byte-for-byte the same message (same message id) and a gateway that has it
recognises it. Callers commit, then publish (see ``publish.py``), under ``PUBLISH_LOCK``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlmodel import Session, col, select
from ulid import ULID

from schemas import Bulletin, BulletinMessage, BulletinText, new_message_id, utcnow
from service.bulletins.drafts import BulletinDraft, CapMeta
from service.bulletins.models import BulletinRecord, BulletinVersion


@dataclass
class Problem:
    loc: tuple[str | int, ...]
    msg: str
    line: int | None = None  # in an imported CAP document


class BulletinError(Exception):
    status_code = 400

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


class BulletinNotFound(BulletinError):
    status_code = 404


class BulletinConflict(BulletinError):
    status_code = 409


class BulletinInvalid(BulletinError):
    status_code = 422

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = list(problems)


@dataclass
class CapOrigin:
    """Where a version came from when it was imported from a CAP alert. Its ``sent`` is the
    version's own (``CapMeta.sent``), also when the rest of the CAP fields are carried over
    from the previous version (a Cancel without usable info blocks)."""

    identifier: str
    sender: str
    xml: str
    sent: datetime | None = None


def new_bulletin_id() -> str:
    return f"b-{str(ULID()).lower()}"


def _check(draft: BulletinDraft, now: datetime, loc: tuple[str, ...]) -> datetime:
    """Rules that need the clock or a friendlier message than the schema gives."""
    problems = []
    if not any(t.language.startswith("nl") for t in draft.texts):
        problems.append(
            Problem((*loc, "texts"), "a Dutch ('nl') text is required: every NSP shows Dutch")
        )
    langs = [t.language.split("-")[0] for t in draft.texts]
    doubled = sorted({lang for lang in langs if langs.count(lang) > 1})
    if doubled:
        problems.append(
            Problem((*loc, "texts"), f"one text per language; doubled: {', '.join(doubled)}")
        )
    valid_from = draft.valid_from or now
    if draft.valid_until is not None:
        if draft.valid_until <= now:
            problems.append(
                Problem((*loc, "valid_until"), "lies in the past: it would never be shown")
            )
        elif draft.valid_until <= valid_from:
            problems.append(Problem((*loc, "valid_until"), "must be after valid_from"))
    if problems:
        raise BulletinInvalid(problems)
    return valid_from


def _body(
    bulletin_id: str,
    version: int,
    draft: BulletinDraft,
    valid_from: datetime,
    withdrawn: bool,
    loc: tuple[str, ...],
    exercise: str | None = None,
) -> Bulletin:
    try:
        return Bulletin(
            exercise=exercise,
            bulletin_id=bulletin_id,
            version=version,
            withdrawn=withdrawn,
            urgency=draft.urgency,
            valid_from=valid_from,
            valid_until=draft.valid_until,
            target_nsps=draft.target_nsps,
            texts=draft.texts,
        )
    except ValidationError as exc:
        raise BulletinInvalid(
            [
                Problem((*loc, *e["loc"]), e["msg"].removeprefix("Value error, "))
                for e in exc.errors(include_url=False)
            ]
        ) from None


def _store(
    session: Session,
    cp_id: str,
    body: Bulletin,
    actor: str,
    now: datetime,
    source: str,
    cap: CapMeta | None,
    origin: CapOrigin | None,
    note: str | None,
) -> BulletinVersion:
    if origin is not None and origin.sent is not None:
        cap = (cap or CapMeta()).model_copy(update={"sent": origin.sent})
    message = BulletinMessage(message_id=new_message_id(), sent_at=now, cp_id=cp_id, body=body)
    row = BulletinVersion(
        bulletin_id=body.bulletin_id,
        version=body.version,
        withdrawn=body.withdrawn,
        urgency=body.urgency.value,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        target_nsps=body.target_nsps,
        body=body.model_dump(mode="json"),
        message_id=message.message_id,
        payload=message.model_dump_json(),
        created_at=now,
        created_by=actor,
        source=source,
        cap=cap.model_dump(mode="json") if cap is not None else None,
        cap_identifier=origin.identifier if origin else None,
        cap_sender=origin.sender if origin else None,
        cap_xml=origin.xml if origin else None,
        note=note,
    )
    session.add(row)
    return row


def create(
    session: Session,
    cp_id: str,
    draft: BulletinDraft,
    actor: str,
    *,
    bulletin_id: str | None = None,
    source: str = "api",
    origin: CapOrigin | None = None,
    loc: tuple[str, ...] = ("body",),
) -> BulletinVersion:
    """Version 1 of a new bulletin (added to the session, not committed)."""
    now = utcnow()
    valid_from = _check(draft, now, loc)
    bulletin_id = bulletin_id or new_bulletin_id()
    if session.get(BulletinRecord, bulletin_id) is not None:
        raise BulletinConflict(
            f"bulletin '{bulletin_id}' exists already; publish a new version of it instead"
        )
    exercise = getattr(draft, "exercise", None)
    body = _body(bulletin_id, 1, draft, valid_from, False, loc, exercise)
    session.add(
        BulletinRecord(
            exercise_id=exercise,
            bulletin_id=bulletin_id,
            cp_id=cp_id,
            current_version=1,
            withdrawn=False,
            created_at=now,
            created_by=actor,
            updated_at=now,
        )
    )
    row = _store(session, cp_id, body, actor, now, source, draft.cap, origin, draft.note)
    session.flush()
    return row


def _editable(session: Session, bulletin_id: str, expected_version: int | None) -> BulletinRecord:
    record = get_record(session, bulletin_id)
    if record.withdrawn:
        raise BulletinConflict(
            f"bulletin '{bulletin_id}' was withdrawn (version {record.current_version}); "
            "publish a new bulletin instead"
        )
    if expected_version is not None and expected_version != record.current_version:
        raise BulletinConflict(
            f"bulletin '{bulletin_id}' is at version {record.current_version}, not "
            f"{expected_version}: someone published meanwhile; review it and try again"
        )
    return record


def add_version(
    session: Session,
    cp_id: str,
    bulletin_id: str,
    draft: BulletinDraft,
    actor: str,
    *,
    expected_version: int | None = None,
    source: str = "api",
    origin: CapOrigin | None = None,
    loc: tuple[str, ...] = ("body",),
) -> BulletinVersion:
    """A new version that supersedes the current one."""
    now = utcnow()
    record = _editable(session, bulletin_id, expected_version)
    valid_from = _check(draft, now, loc)
    version = record.current_version + 1
    # Every version of an exercise bulletin stays in that exercise (and a real one real).
    body = _body(bulletin_id, version, draft, valid_from, False, loc, record.exercise_id)
    record.current_version = version
    record.updated_at = now
    session.add(record)
    row = _store(session, cp_id, body, actor, now, source, draft.cap, origin, draft.note)
    session.flush()
    return row


def withdraw(
    session: Session,
    cp_id: str,
    bulletin_id: str,
    actor: str,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    texts: list[BulletinText] | None = None,
    cap: CapMeta | None = None,
    source: str = "api",
    origin: CapOrigin | None = None,
) -> BulletinVersion:
    """Publish a withdrawn version: gateways stop showing the bulletin and confirm it. Its CAP
    fields are ``cap`` (a CAP Cancel's own) or else the current version's."""
    now = utcnow()
    record = _editable(session, bulletin_id, expected_version)
    current = get_version(session, bulletin_id, record.current_version)
    previous = Bulletin.model_validate(current.body)
    body = previous.model_copy(
        update={
            "version": record.current_version + 1,
            "withdrawn": True,
            "texts": texts or previous.texts,
        }
    )
    record.current_version = body.version
    record.withdrawn = True
    record.updated_at = now
    session.add(record)
    if cap is None and current.cap:
        cap = CapMeta.model_validate(current.cap)
    row = _store(session, cp_id, body, actor, now, source, cap, origin, note)
    session.flush()
    return row


# ------------------------------------------------------------------------------ reading


def get_record(session: Session, bulletin_id: str) -> BulletinRecord:
    record = session.get(BulletinRecord, bulletin_id)
    if record is None:
        raise BulletinNotFound(f"no bulletin with id '{bulletin_id}'")
    return record


def get_version(session: Session, bulletin_id: str, version: int) -> BulletinVersion:
    row = session.exec(
        select(BulletinVersion)
        .where(BulletinVersion.bulletin_id == bulletin_id)
        .where(BulletinVersion.version == version)
    ).first()
    if row is None:
        raise BulletinNotFound(f"bulletin '{bulletin_id}' has no version {version}")
    return row


def all_versions(session: Session, bulletin_id: str) -> list[BulletinVersion]:
    return list(
        session.exec(
            select(BulletinVersion)
            .where(BulletinVersion.bulletin_id == bulletin_id)
            .order_by(col(BulletinVersion.version))
        ).all()
    )


def current_versions(
    session: Session, *, include_ended: bool = True, now: datetime | None = None
) -> list[tuple[BulletinRecord, BulletinVersion]]:
    """Every bulletin with its current version, most recently changed first."""
    now = now or utcnow()
    rows = session.exec(
        select(BulletinRecord, BulletinVersion)
        .join(
            BulletinVersion,
            (col(BulletinVersion.bulletin_id) == col(BulletinRecord.bulletin_id))
            & (col(BulletinVersion.version) == col(BulletinRecord.current_version)),
        )
        .order_by(col(BulletinRecord.updated_at).desc())
    ).all()
    out = [(r, v) for r, v in rows]
    if not include_ended:
        out = [(r, v) for r, v in out if state_of(v, now) in ("active", "scheduled")]
    return out


def find_by_cap(session: Session, sender: str, identifier: str) -> BulletinVersion | None:
    return session.exec(
        select(BulletinVersion)
        .where(BulletinVersion.cap_identifier == identifier)
        .where(BulletinVersion.cap_sender == sender)
    ).first()


BulletinState = Literal["active", "scheduled", "expired", "withdrawn"]


def state_of(version: BulletinVersion, now: datetime) -> BulletinState:
    """'withdrawn', 'expired', 'scheduled' (valid_from ahead) or 'active'."""
    if version.withdrawn:
        return "withdrawn"
    if version.valid_until is not None and version.valid_until <= now:
        return "expired"
    if version.valid_from > now:
        return "scheduled"
    return "active"


def body_of(version: BulletinVersion) -> Bulletin:
    return Bulletin.model_validate(version.body)


def cap_of(version: BulletinVersion) -> CapMeta | None:
    data: dict[str, Any] | None = version.cap
    return CapMeta.model_validate(data) if data else None
