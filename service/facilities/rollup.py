"""The facilities part of the CP's summary for the region (``service/upstream/summary.py``
lists it in ``SECTIONS``): every facility with its state, counts by type and state, the
observations awaiting review and the directory's reach. Read through the summary's own
connection, so a summary made inside a transaction sees that transaction's changes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from noodcore.db import table_of
from schemas import FacilityState, FacilityType
from schemas.upstream import FacilityItem, FacilityRollup
from service.facilities.models import (
    FacilityNspDirectory,
    FacilityNspReceipt,
    FacilityObservation,
    FacilityRecord,
)

_fac = table_of(FacilityRecord)
_obs = table_of(FacilityObservation)
_dir = table_of(FacilityNspDirectory)
_rcp = table_of(FacilityNspReceipt)
MAX_ITEMS = 500


def rollup(conn: Connection) -> FacilityRollup:
    rows = conn.execute(
        sa.select(_fac).where(_fac.c.archived == sa.false()).order_by(_fac.c.type, _fac.c.name)
    ).all()
    by_state: dict[FacilityState, int] = {}
    by_type: dict[FacilityType, dict[FacilityState, int]] = {}
    items = []
    for r in rows:
        state, kind = FacilityState(r.state), FacilityType(r.type)
        by_state[state] = by_state.get(state, 0) + 1
        per = by_type.setdefault(kind, {})
        per[state] = per.get(state, 0) + 1
        items.append(
            FacilityItem(
                facility_id=r.facility_id,
                type=kind,
                name=r.name,
                address=r.address,
                lat=r.lat,
                lon=r.lon,
                capacity=r.capacity,
                state=state,
                state_note=r.state_note,
                state_since=r.state_since,
            )
        )
    # Full and closed ones first: if the list is cut, what the region must see stays.
    items.sort(key=lambda i: (i.state == FacilityState.OPEN, i.type.value, i.name))
    pending = conn.execute(
        sa.select(sa.func.count()).select_from(_obs).where(_obs.c.review == "pending")
    ).scalar_one()
    targeted = conn.execute(sa.select(sa.func.count()).select_from(_dir)).scalar_one()
    current = conn.execute(
        sa.select(sa.func.count())
        .select_from(_dir.join(_rcp, _rcp.c.nsp_id == _dir.c.nsp_id))
        .where(_rcp.c.version >= _dir.c.version)
    ).scalar_one()
    return FacilityRollup(
        total=len(rows),
        by_state=by_state,
        by_type=by_type,
        items=items[:MAX_ITEMS],
        pending_observations=int(pending),
        nsps_current=int(current),
        nsps_targeted=int(targeted),
    )


def facility_section(inp: Any) -> dict[str, Any]:
    """A ``service.upstream.summary.Section``."""
    return {"facilities": rollup(inp.conn)}
