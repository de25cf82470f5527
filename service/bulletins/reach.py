"""Reach: which targeted NSPs show the current version of a bulletin, since when, and who is
behind, stale or silent — "has everybody got the new water advice?".

Receipts are recorded by ``record_receipts``, a store BatchHook: it runs inside the ingest
transaction, so a receipt row exists exactly when its ``receipt`` message is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, func, select

from noodcore.db import table_of
from schemas import ReceiptMessage
from service.api.nsps import nsp_out
from service.bulletins.models import BulletinReceipt, BulletinVersion
from service.models import Nsp
from service.store import Accepted, PresenceSeen

ReachState = Literal["current", "behind", "missing"]


def record_receipts(conn: Connection, new: list[Accepted], _presences: list[PresenceSeen]) -> None:
    rows = [
        {
            "bulletin_id": a.message.body.bulletin_id,
            "version": a.message.body.version,
            "nsp_id": a.message.nsp_id,
            "shown_at": a.message.body.shown_at,
            "received_at": a.received_at,
            "message_id": a.message.message_id,
            "channel": a.message.body.channel,
        }
        for a in new
        if isinstance(a.message, ReceiptMessage)
    ]
    if not rows:
        return
    table = table_of(BulletinReceipt)
    insert: Any = (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(table)
    # A gateway that lost its disk may confirm a version again with a new message: keep the
    # first confirmation (the earliest time it showed it).
    conn.execute(
        insert.on_conflict_do_nothing(index_elements=["bulletin_id", "version", "nsp_id"]), rows
    )


class NspReach(BaseModel):
    nsp_id: str
    name: str | None
    liveness: str = Field(description="online | offline | silent | unknown (as in /api/v1/nsps)")
    state: ReachState = Field(
        description="current: shows the current version; behind: shows an older one; "
        "missing: has confirmed no version of this bulletin"
    )
    version: int | None = Field(description="Newest version the NSP confirmed.")
    confirmed_at: datetime | None = Field(description="CP time its receipt for it arrived.")
    shown_at: datetime | None = Field(description="Gateway time it started showing it.")
    channel: str | None = Field(
        default=None,
        description="How the NSP got it when not over the link: radio, runner, sms, usb.",
    )
    behind_since: datetime | None = Field(
        description="When the current version was published, if the NSP does not have it."
    )
    behind_seconds: float | None
    stale: bool = Field(description="Behind for longer than the configured stale time.")


class VersionReach(BaseModel):
    version: int
    withdrawn: bool
    published_at: datetime
    receipts: int


class ReachSummary(BaseModel):
    targeted: int
    current: int
    behind: int
    missing: int
    stale: int
    silent_or_offline: int = Field(description="Targeted NSPs the CP has not heard from lately.")
    all_current: bool


class Reach(BaseModel):
    bulletin_id: str
    current_version: int
    withdrawn: bool
    published_at: datetime
    stale_after_seconds: int
    summary: ReachSummary
    nsps: list[NspReach]
    versions: list[VersionReach]


def _targets(session: Session, version: BulletinVersion) -> list[str]:
    if version.target_nsps is not None:
        return sorted(version.target_nsps)
    return sorted(session.exec(select(Nsp.nsp_id)).all())


def reach(
    session: Session,
    version: BulletinVersion,
    now: datetime,
    stale_after: timedelta,
    silent_after: timedelta,
    *,
    with_versions: bool = True,
) -> Reach:
    """The reach of a bulletin's current version (``version``) over its targeted NSPs."""
    targets = _targets(session, version)
    newest: dict[str, BulletinReceipt] = {}
    for r in session.exec(
        select(BulletinReceipt)
        .where(BulletinReceipt.bulletin_id == version.bulletin_id)
        .order_by(col(BulletinReceipt.version))
    ).all():
        newest[r.nsp_id] = r  # ordered by version: the last one wins
    nsps = {
        n.nsp_id: n
        for n in session.exec(select(Nsp).where(col(Nsp.nsp_id).in_(targets or [""]))).all()
    }
    out: list[NspReach] = []
    for nsp_id in targets:
        receipt = newest.get(nsp_id)
        nsp = nsps.get(nsp_id)
        liveness = nsp_out(nsp, silent_after).liveness if nsp is not None else "unknown"
        state: ReachState
        if receipt is not None and receipt.version >= version.version:
            state = "current"
        elif receipt is not None:
            state = "behind"
        else:
            state = "missing"
        behind = state != "current"
        behind_for = (now - version.created_at).total_seconds() if behind else None
        out.append(
            NspReach(
                nsp_id=nsp_id,
                name=nsp.name if nsp else None,
                liveness=liveness,
                state=state,
                version=receipt.version if receipt else None,
                confirmed_at=receipt.received_at if receipt else None,
                shown_at=receipt.shown_at if receipt else None,
                channel=receipt.channel if receipt else None,
                behind_since=version.created_at if behind else None,
                behind_seconds=behind_for,
                stale=behind_for is not None and behind_for > stale_after.total_seconds(),
            )
        )
    # Most urgent first: stale, then behind/missing, then the rest by id.
    out.sort(key=lambda n: (not n.stale, n.state == "current", n.nsp_id))
    versions: list[VersionReach] = []
    if with_versions:
        counts = dict(
            session.exec(
                select(BulletinReceipt.version, func.count())
                .where(BulletinReceipt.bulletin_id == version.bulletin_id)
                .group_by(col(BulletinReceipt.version))
            ).all()
        )
        for v in session.exec(
            select(BulletinVersion)
            .where(BulletinVersion.bulletin_id == version.bulletin_id)
            .order_by(col(BulletinVersion.version))
        ).all():
            versions.append(
                VersionReach(
                    version=v.version,
                    withdrawn=v.withdrawn,
                    published_at=v.created_at,
                    receipts=int(counts.get(v.version, 0)),
                )
            )
    summary = ReachSummary(
        targeted=len(out),
        current=sum(n.state == "current" for n in out),
        behind=sum(n.state == "behind" for n in out),
        missing=sum(n.state == "missing" for n in out),
        stale=sum(n.stale for n in out),
        silent_or_offline=sum(n.liveness in ("silent", "offline") for n in out),
        all_current=all(n.state == "current" for n in out),
    )
    return Reach(
        bulletin_id=version.bulletin_id,
        current_version=version.version,
        withdrawn=version.withdrawn,
        published_at=version.created_at,
        stale_after_seconds=int(stale_after.total_seconds()),
        summary=summary,
        nsps=out,
        versions=versions,
    )
