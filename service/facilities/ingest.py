"""Store hooks (``service/kinds.py``) for the two upward facility kinds.

They run inside the ingest transaction, so a receipt or an observation row exists exactly when
its message is stored; a re-delivered message (same message id) changes nothing. A receipt
never lowers what an NSP confirmed: one from a reconnect backlog may name an older version.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from noodcore.db import table_of
from schemas import FacilityReceiptMessage, FacilityReportMessage
from service.facilities.models import FacilityNspReceipt, FacilityObservation
from service.store import Accepted, PresenceSeen


def _insert(conn: Connection, table: sa.Table) -> Any:
    return (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(table)


def record_facility_receipts(
    conn: Connection, new: list[Accepted], _presences: list[PresenceSeen]
) -> None:
    table = table_of(FacilityNspReceipt)
    for a in new:
        message = a.message
        if not isinstance(message, FacilityReceiptMessage):
            continue
        values = {
            "nsp_id": message.nsp_id,
            "version": message.body.version,
            "shown_at": message.body.shown_at,
            "received_at": a.received_at,
            "message_id": message.message_id,
        }
        stmt = _insert(conn, table).values(**values)
        excluded = stmt.excluded
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["nsp_id"],
                set_={k: excluded[k] for k in ("version", "shown_at", "received_at", "message_id")},
                where=table.c.version < excluded.version,
            )
        )


def record_facility_reports(
    conn: Connection, new: list[Accepted], _presences: list[PresenceSeen]
) -> None:
    rows = []
    for a in new:
        message = a.message
        if not isinstance(message, FacilityReportMessage):
            continue
        body = message.body
        rows.append(
            {
                "message_id": message.message_id,
                "nsp_id": message.nsp_id,
                "facility_id": body.facility_id,
                "facility_name": body.facility_name,
                "observed_state": body.observed_state.value,
                "note": body.note,
                "observed_at": body.observed_at,
                "by": body.by,
                "received_at": a.received_at,
                "review": "pending",
            }
        )
    if rows:
        table = table_of(FacilityObservation)
        conn.execute(
            _insert(conn, table).on_conflict_do_nothing(index_elements=["message_id"]), rows
        )
