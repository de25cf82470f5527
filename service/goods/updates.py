"""``stock_entry`` messages → the CP's copy of each NSP's stock ledger (a store BatchHook).

Invariant: one row per (NSP, entry number), inserted in the ingest transaction of the message
that carries it; the CP's balance of an item is the sum of its entries, exactly as at the
NSP. An entry number seen twice (the same entry under a new message id, e.g. after a restore
from backup) is kept once.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from noodcore.db import table_of
from schemas import StockEntryMessage
from service.goods.models import GoodsEntry
from service.store import Accepted, PresenceSeen

_entry = table_of(GoodsEntry)


def record_goods(conn: Connection, new: list[Accepted], _presences: list[PresenceSeen]) -> None:
    for a in new:
        message = a.message
        if not isinstance(message, StockEntryMessage):
            continue
        b = message.body
        known = conn.execute(
            sa.select(_entry.c.id).where(
                _entry.c.nsp_id == message.nsp_id, _entry.c.entry_no == b.entry_no
            )
        ).first()
        if known is not None:
            continue
        conn.execute(
            sa.insert(_entry).values(
                nsp_id=message.nsp_id,
                entry_no=b.entry_no,
                item=b.item,
                unit=b.unit,
                type=b.type.value,
                quantity=b.quantity,
                at=b.at,
                received_at=a.received_at,
                by=b.by,
                households=b.households,
                household_size=b.household_size,
                task_id=b.task_id,
                counterpart=b.counterpart,
                on_hand_after=b.on_hand_after,
                message_id=message.message_id,
            )
        )
