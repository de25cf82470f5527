"""``task_update`` messages from the gateways → task target rows (a store BatchHook).

Runs inside the ingest transaction, so a target's state changes exactly when the message
that says so is stored. Updates of one NSP are applied in its sequence order; a late one
(from a reconnect backlog) still counts as a delivery confirmation, but does not undo a
newer 'done' or 'reopened'.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from noodcore.db import table_of
from schemas import TaskState, TaskUpdateMessage
from service.store import Accepted, PresenceSeen
from service.tasks.models import NspTaskTarget

log = logging.getLogger(__name__)

MAX_HISTORY = 50


def record_task_updates(
    conn: Connection, new: list[Accepted], _presences: list[PresenceSeen]
) -> None:
    updates = sorted(
        (a for a in new if isinstance(a.message, TaskUpdateMessage)),
        key=lambda a: (a.message.nsp_id, a.message.seq),
    )
    if not updates:
        return
    table = table_of(NspTaskTarget)
    for a in updates:
        message = a.message
        assert isinstance(message, TaskUpdateMessage)
        body = message.body
        row = conn.execute(
            sa.select(table)
            .where(table.c.task_id == body.task_id)
            .where(table.c.nsp_id == message.nsp_id)
        ).first()
        if row is None:
            # Stored as a message all the same; nothing to update.
            log.warning(
                "task_update from %s for task %s it was never given",
                message.nsp_id,
                body.task_id,
            )
            continue
        values: dict[str, Any] = {}
        if body.revision > row.delivered_revision:
            values["delivered_revision"] = body.revision
        if row.delivered_at is None:
            values["delivered_at"] = a.received_at
        entry = {
            "state": body.state.value,
            "revision": body.revision,
            "at": body.at.isoformat(),
            "by": body.by,
            "note": body.note,
            "seq": message.seq,
            "received_at": a.received_at.isoformat(),
        }
        values["history"] = [*row.history, entry][-MAX_HISTORY:]
        if message.seq > row.last_update_seq:
            values["last_update_seq"] = message.seq
            if body.state == TaskState.DONE:
                values.update(
                    done=True,
                    done_at=body.at,
                    done_by=body.by,
                    done_note=body.note,
                    done_received_at=a.received_at,
                )
            elif body.state == TaskState.REOPENED:
                values.update(
                    done=False,
                    done_at=None,
                    done_by=None,
                    done_note=body.note,
                    done_received_at=a.received_at,
                )
        conn.execute(sa.update(table).where(table.c.id == row.id).values(**values))
