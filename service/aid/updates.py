"""``volunteer_roster`` and ``assignment_update`` messages → the CP's aid tables (a store
BatchHook, inside the ingest transaction).

Invariants: the roster row is the newest by the NSP's sequence number (a late message from a
reconnect backlog never replaces newer counts); an assignment's state follows its updates in
the NSP's sequence order, and a late update still counts as the delivery confirmation of its
revision. An update for an assignment the CP never sent, from an NSP that made it itself
(``origin`` nsp), creates the assignment; any other unknown one is stored as a message only.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from noodcore.db import table_of
from schemas import AssignmentUpdateMessage, VolunteerRosterMessage
from service.aid.models import AidAssignment, AidRoster
from service.store import Accepted, PresenceSeen

log = logging.getLogger(__name__)

MAX_HISTORY = 50
_roster = table_of(AidRoster)
_assignment = table_of(AidAssignment)


def record_aid(conn: Connection, new: list[Accepted], _presences: list[PresenceSeen]) -> None:
    for a in sorted(new, key=lambda a: (a.message.nsp_id, a.message.seq)):
        if isinstance(a.message, VolunteerRosterMessage):
            _roster_update(conn, a, a.message)
        elif isinstance(a.message, AssignmentUpdateMessage):
            _assignment_update(conn, a, a.message)


def _roster_update(conn: Connection, a: Accepted, message: VolunteerRosterMessage) -> None:
    body = message.body
    values: dict[str, Any] = {
        "total": body.total,
        "by_skill": {k.value: v for k, v in body.by_skill.items()},
        "by_window": {k.value: v for k, v in body.by_window.items()},
        "cells": [c.model_dump(mode="json") for c in body.cells],
        "at": body.at,
        "received_at": a.received_at,
        "seq": message.seq,
    }
    row = conn.execute(sa.select(_roster).where(_roster.c.nsp_id == message.nsp_id)).first()
    if row is None:
        conn.execute(sa.insert(_roster).values(nsp_id=message.nsp_id, **values))
    elif message.seq > row.seq:
        conn.execute(sa.update(_roster).where(_roster.c.nsp_id == message.nsp_id).values(**values))


def _assignment_update(conn: Connection, a: Accepted, message: AssignmentUpdateMessage) -> None:
    body = message.body
    row = conn.execute(
        sa.select(_assignment).where(_assignment.c.assignment_id == body.assignment_id)
    ).first()
    entry = {
        "state": body.state.value,
        "revision": body.revision,
        "volunteers": len(body.volunteer_refs),
        "at": body.at.isoformat(),
        "note": body.note,
        "seq": message.seq,
        "received_at": a.received_at.isoformat(),
    }
    if row is None:
        if body.origin != "nsp":
            log.warning(
                "assignment_update from %s for assignment %s it was never given",
                message.nsp_id,
                body.assignment_id,
            )
            return
        conn.execute(
            sa.insert(_assignment).values(
                assignment_id=body.assignment_id,
                nsp_id=message.nsp_id,
                origin="nsp",
                revision=0,
                title=body.title or body.assignment_id,
                skill=body.skill.value if body.skill else None,
                count=body.count or max(1, len(body.volunteer_refs)),
                location=body.location.model_dump(mode="json") if body.location else None,
                due_at=body.due_at,
                ref_message_id=body.ref_message_id,
                cancelled=False,
                state=body.state.value,
                volunteer_refs=list(body.volunteer_refs),
                state_at=body.at,
                note=body.note,
                created_at=a.received_at,
                created_by=f"nsp:{message.nsp_id}",
                updated_at=a.received_at,
                delivered_revision=0,
                send_count=0,
                last_update_seq=message.seq,
                history=[entry],
            )
        )
        return
    if row.nsp_id != message.nsp_id:
        log.warning(
            "assignment_update from %s for %s's assignment %s: ignored",
            message.nsp_id,
            row.nsp_id,
            body.assignment_id,
        )
        return
    values: dict[str, Any] = {"history": [*(row.history or []), entry][-MAX_HISTORY:]}
    if body.revision > row.delivered_revision:
        values["delivered_revision"] = body.revision
    if message.seq > row.last_update_seq:
        values.update(
            last_update_seq=message.seq,
            state=body.state.value,
            volunteer_refs=list(body.volunteer_refs),
            state_at=body.at,
            note=body.note,
            updated_at=a.received_at,
        )
    conn.execute(
        sa.update(_assignment)
        .where(_assignment.c.assignment_id == body.assignment_id)
        .values(**values)
    )
