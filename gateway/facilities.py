"""The facility directory at the NSP: stored from the CP's retained ``facilities`` message,
shown on the board ("Waar kunt u terecht?"), and observations staff report up.

Invariants, and why:
  * The directory arrives retained on this NSP's own down topic, so every (re)connect
    delivers the current one again: storing is idempotent per version and an older version
    never replaces a newer one (a re-publish from before a change, a queued QoS 1 copy).
  * A newly stored version is confirmed with a ``facility_receipt`` in the same transaction,
    so the CP's reach cannot miss it between two writes.
  * Everything the board shows is read from the local database: with the link down, residents
    still see the last known state, and the board says since when it is unchanged.
  * Nearness is measured from this NSP's configured position (``NOODNET_POSITION_LAT`` and
    ``..._LON``), else the position the CP registered for it; without either the list is
    ordered by type and name, never hidden.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from gateway.inbox import StoreOutcome
from gateway.models import FacilityDirectoryRow
from gateway.outbox import Outbox, OutboxEntry
from schemas import (
    FacilitiesMessage,
    Facility,
    FacilityDirectory,
    FacilityReceipt,
    FacilityReport,
    FacilityState,
    utcnow,
)
from schemas.facilities import distance_m

log = logging.getLogger(__name__)

# Full and closed first would hide the open ones; residents need the nearest open one first,
# but must see clearly that a nearer one is full or closed, so order is by distance only.
STATE_ORDER = {FacilityState.OPEN: 0, FacilityState.FULL: 1, FacilityState.CLOSED: 2}


@dataclass(frozen=True)
class StoredDirectory:
    directory: FacilityDirectory
    received_at: datetime


@dataclass(frozen=True)
class NearFacility:
    facility: Facility
    distance_m: float | None

    @property
    def distance_text(self) -> str:
        if self.distance_m is None:
            return ""
        if self.distance_m < 50:
            return "< 50 m"
        if self.distance_m < 1000:
            return f"{round(self.distance_m / 50) * 50:.0f} m"
        return f"{self.distance_m / 1000:.1f} km".replace(".", ",")


class FacilityStore:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def store(self, message: FacilitiesMessage) -> StoreOutcome:
        body = message.body
        now = utcnow()
        with self._outbox.write() as tx:
            row = tx.session.get(FacilityDirectoryRow, 1)
            if row is not None and row.version > body.version:
                return StoreOutcome.OLDER
            if row is not None and row.version == body.version:
                return StoreOutcome.SAME
            row = row or FacilityDirectoryRow(
                id=1,
                version=body.version,
                body="",
                cp_message_id=message.message_id,
                cp_sent_at=message.sent_at,
                received_at=now,
            )
            row.version = body.version
            row.body = body.model_dump_json()
            row.cp_message_id = message.message_id
            row.cp_sent_at = message.sent_at
            row.received_at = now
            tx.session.add(row)
            self._outbox.enqueue_in(
                tx, "facility_receipt", FacilityReceipt(version=body.version, shown_at=now)
            )
        log.info("facility directory version %d stored (%d)", body.version, len(body.facilities))
        return StoreOutcome.NEW

    def current(self) -> StoredDirectory | None:
        with Session(self._outbox.engine) as session:
            row = session.get(FacilityDirectoryRow, 1)
        if row is None:
            return None
        return StoredDirectory(FacilityDirectory.model_validate_json(row.body), row.received_at)

    def nearest(
        self, position: tuple[float, float] | None, limit: int | None = None
    ) -> tuple[StoredDirectory | None, list[NearFacility]]:
        stored = self.current()
        if stored is None:
            return None, []
        d = stored.directory
        here = position
        if here is None and d.nsp_lat is not None and d.nsp_lon is not None:
            here = (d.nsp_lat, d.nsp_lon)
        out = []
        for f in d.facilities:
            loc = f.location
            dist = None
            if here is not None and loc.lat is not None and loc.lon is not None:
                dist = distance_m(here[0], here[1], loc.lat, loc.lon)
            out.append(NearFacility(f, dist))
        out.sort(
            key=lambda n: (
                n.distance_m is None,
                n.distance_m or 0.0,
                n.facility.type.value,
                n.facility.name,
            )
        )
        return stored, out[:limit] if limit is not None else out

    def report(self, report: FacilityReport) -> OutboxEntry:
        """Staff's observation into the durable outbox (it goes up like every report)."""
        return self._outbox.enqueue("facility_report", report)
