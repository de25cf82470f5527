"""What each NSP is sent of the facility directory, and putting it on the broker.

Invariants, and why:
  * One retained message per NSP on its own down topic, holding the whole directory targeted
    at it: a gateway that was offline during any number of changes gets the latest state the
    moment it (re)subscribes, and the broker's ACL already lets only that NSP read it.
  * An NSP's version grows exactly when what it is sent changes (a hash of the content, not
    of the time): a re-publish after a broker restart sends the stored bytes again, which a
    gateway recognises as the version it has; an NSP registered later, or moved, gets a new
    version on the next sync.
  * Commit, then publish, under ``LOCK``: a re-publish that read version 4 cannot reach the
    broker after version 5 and leave 4 retained.
  * Targeting never hides a facility for lack of data: an NSP without a registered position,
    or a facility without coordinates, gets every facility (the board sorts them by name).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from noodcore.worker import ItemGuard, Worker
from schemas import (
    FacilitiesMessage,
    Facility,
    FacilityDirectory,
    FacilityState,
    FacilityType,
    Location,
    new_message_id,
    topics,
    utcnow,
)
from schemas.facilities import distance_m
from service.api.nsps import nsp_out
from service.facilities.models import (
    FacilityNspDirectory,
    FacilityNspReceipt,
    FacilityRecord,
)
from service.models import Nsp

log = logging.getLogger(__name__)

LOCK = threading.RLock()
KIND = "facilities"


class Broker(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None: ...


class ConnectingBroker(Broker, Protocol):
    def add_connect_listener(self, callback: Callable[[], None]) -> None: ...


def wire(rec: FacilityRecord) -> Facility:
    """The facility as NSPs see it."""
    return Facility(
        facility_id=rec.facility_id,
        type=FacilityType(rec.type),
        name=rec.name,
        location=Location(address=rec.address, lat=rec.lat, lon=rec.lon),
        opening_hours=rec.opening_hours,
        capacity=rec.capacity,
        state=FacilityState(rec.state),
        state_note=rec.state_note,
        state_since=rec.state_since,
        note=rec.note,
    )


def targets(rec: FacilityRecord, nsp: Nsp) -> bool:
    """Whether ``nsp`` gets facility ``rec`` (see the module docstring)."""
    if rec.archived:
        return False
    if rec.radius_km is None:
        return True
    if nsp.lat is None or nsp.lon is None or rec.lat is None or rec.lon is None:
        return True
    return distance_m(rec.lat, rec.lon, nsp.lat, nsp.lon) <= rec.radius_km * 1000


def _content(nsp: Nsp, facilities: list[Facility]) -> tuple[str, str]:
    """(hash, canonical JSON) of what this NSP is shown, without version and time."""
    doc = {
        "nsp": [nsp.lat, nsp.lon],
        "facilities": [f.model_dump(mode="json") for f in facilities],
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), text


def sync(session: Session, cp_id: str, now: datetime | None = None) -> list[FacilityNspDirectory]:
    """Bring every known NSP's directory row up to date (not committed); returns the rows
    whose content changed (each with a new version and message)."""
    now = now or utcnow()
    records = session.exec(
        select(FacilityRecord)
        .where(FacilityRecord.archived == False)  # noqa: E712
        .order_by(col(FacilityRecord.facility_id))
    ).all()
    stored = {d.nsp_id: d for d in session.exec(select(FacilityNspDirectory)).all()}
    changed: list[FacilityNspDirectory] = []
    for nsp in session.exec(select(Nsp).order_by(col(Nsp.nsp_id))).all():
        facilities = [wire(r) for r in records if targets(r, nsp)]
        digest, _ = _content(nsp, facilities)
        row = stored.get(nsp.nsp_id)
        if row is not None and row.content_hash == digest:
            continue
        version = (row.version + 1) if row is not None else 1
        message = FacilitiesMessage(
            message_id=new_message_id(),
            sent_at=now,
            cp_id=cp_id,
            nsp_id=nsp.nsp_id,
            body=FacilityDirectory(
                version=version,
                published_at=now,
                nsp_lat=nsp.lat if nsp.lon is not None else None,
                nsp_lon=nsp.lon if nsp.lat is not None else None,
                facilities=facilities,
            ),
        )
        row = row or FacilityNspDirectory(
            nsp_id=nsp.nsp_id,
            version=0,
            content_hash="",
            payload="",
            message_id="",
            published_at=now,
        )
        row.version = version
        row.content_hash = digest
        row.payload = message.model_dump_json()
        row.message_id = message.message_id
        row.facility_ids = [f.facility_id for f in facilities]
        row.published_at = now
        session.add(row)
        changed.append(row)
    return changed


def publish_row(broker: Broker | None, cp_id: str, row: FacilityNspDirectory) -> None:
    if broker is None:
        return
    broker.publish(topics.down(cp_id, row.nsp_id, KIND), row.payload.encode(), qos=1, retain=True)


def sync_and_publish(
    engine: Engine, cp_id: str, broker: Broker | None, guard: ItemGuard[Hashable] | None = None
) -> int:
    """Sync every NSP's directory, commit, publish the changed ones; returns how many changed.
    One NSP whose publish fails is parked by ``guard``; the others still go."""
    guard = guard or ItemGuard("facility publish")
    with LOCK, Session(engine) as session:
        changed = sync(session, cp_id)
        session.commit()
        for row in changed:
            session.refresh(row)
            guard.attempt(row.nsp_id, partial(publish_row, broker, cp_id, row))
    if changed:
        log.info("facility directory: new version for %d NSP(s)", len(changed))
    return len(changed)


def republish_all(engine: Engine, cp_id: str, broker: Broker, guard: ItemGuard[Hashable]) -> int:
    """Publish every NSP's stored directory again (the broker may have lost its retained
    store); gateways that have that version ignore it."""
    count = 0
    with LOCK, Session(engine) as session:
        for row in session.exec(select(FacilityNspDirectory)).all():
            if guard.attempt(row.nsp_id, partial(publish_row, broker, cp_id, row)):
                count += 1
    return count


class FacilityPublisher(Worker):
    """Re-publishes every NSP's directory after each broker (re)connect, and syncs on an
    interval so an NSP first heard of (or registered, or moved) gets its directory."""

    def __init__(
        self, engine: Engine, cp_id: str, broker: ConnectingBroker, interval: float = 10.0
    ) -> None:
        super().__init__("facility publisher", interval=interval, backoff_cap=30.0)
        self.engine = engine
        self.cp_id = cp_id
        self.broker = broker
        self._owed = False

    def start(self) -> None:
        self.broker.add_connect_listener(self._on_connect)
        super().start()

    def _on_connect(self) -> None:
        self._owed = True
        self.wake()

    def step(self) -> float | None:
        sync_and_publish(self.engine, self.cp_id, self.broker, self.items)
        if self._owed:
            self._owed = False
            try:
                republish_all(self.engine, self.cp_id, self.broker, self.items)
            except Exception:
                self._owed = True
                raise
        return None


# ----------------------------------------------------------------------------- reach


class NspFacilityReach(BaseModel):
    nsp_id: str
    name: str | None
    liveness: str = Field(description="online | offline | silent | unknown")
    version: int = Field(description="The directory version this NSP was last sent.")
    confirmed_version: int | None = Field(description="Newest version it confirmed showing.")
    current: bool
    behind_since: datetime | None = Field(description="When the unconfirmed version was sent.")
    facilities: int = Field(description="How many facilities it is sent.")


class FacilityReach(BaseModel):
    targeted: int
    current: int
    behind: int
    all_current: bool
    nsps: list[NspFacilityReach]


def reach(session: Session, silent_after: timedelta) -> FacilityReach:
    rows = session.exec(select(FacilityNspDirectory).order_by(col(FacilityNspDirectory.nsp_id)))
    receipts = {r.nsp_id: r for r in session.exec(select(FacilityNspReceipt)).all()}
    nsps = {n.nsp_id: n for n in session.exec(select(Nsp)).all()}
    out = []
    for row in rows.all():
        receipt = receipts.get(row.nsp_id)
        nsp = nsps.get(row.nsp_id)
        current = receipt is not None and receipt.version >= row.version
        out.append(
            NspFacilityReach(
                nsp_id=row.nsp_id,
                name=nsp.name if nsp else None,
                liveness=nsp_out(nsp, silent_after).liveness if nsp else "unknown",
                version=row.version,
                confirmed_version=receipt.version if receipt else None,
                current=current,
                behind_since=None if current else row.published_at,
                facilities=len(row.facility_ids),
            )
        )
    out.sort(key=lambda n: (n.current, n.nsp_id))
    current_count = sum(n.current for n in out)
    return FacilityReach(
        targeted=len(out),
        current=current_count,
        behind=len(out) - current_count,
        all_current=current_count == len(out),
        nsps=out,
    )
