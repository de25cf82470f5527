"""Stock per NSP and item at the CP, from the ledger entries the NSPs sent.

on hand = received − handed out − transferred − written off, the same sum as at the NSP.
Rate: what was handed out in the last 24 hours (gateway clock), per day; over a shorter span
when the item's first entry is younger (at least one hour, so a first hand-out does not read
as an infinite rate). Days left = on hand / rate; below ``warn_days`` (default 2) it is a
low-stock warning. Need = what ``COVER_DAYS`` (3) days at the current rate take, less what is
on hand. ``missing_entries``: entry numbers of the NSP not (yet) at the CP.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from noodcore.db import table_of
from service.goods.models import GoodsEntry

WINDOW = timedelta(hours=24)
MIN_SPAN = timedelta(hours=1)
COVER_DAYS = 3.0
WARN_DAYS = 2.0

_entry = table_of(GoodsEntry)


class StockLineOut(BaseModel):
    nsp_id: str
    item: str
    unit: str
    received: float
    handed_out: float
    transferred: float
    written_off: float
    on_hand: float = Field(description="received − handed_out − transferred − written_off")
    entries: int
    handed_out_24h: float
    persons_24h: int = Field(description="People served in the last 24 h (household sizes).")
    rate_per_day: float = Field(description="Handed out per day at the current rate.")
    days_left: float | None = Field(description="On hand / rate; None without hand-outs.")
    need: float = Field(description=f"What {COVER_DAYS:g} days at this rate need beyond stock.")
    low: bool = Field(description="days_left below the warning threshold, or nothing left.")
    last_entry_at: datetime


class LedgerState(BaseModel):
    nsp_id: str
    entries: int
    last_entry_no: int
    missing_entries: int = Field(description="Entry numbers below the last one not at the CP.")


def stock(
    conn: Connection, now: datetime, nsp_id: str | None = None, warn_days: float = WARN_DAYS
) -> list[StockLineOut]:
    query = sa.select(_entry).order_by(_entry.c.nsp_id, _entry.c.entry_no)
    if nsp_id is not None:
        query = query.where(_entry.c.nsp_id == nsp_id)
    groups: dict[tuple[str, str, str], list[sa.Row]] = {}
    for row in conn.execute(query):
        groups.setdefault((row.nsp_id, row.item, row.unit), []).append(row)
    out = []
    for (nsp, item, unit), rows in sorted(groups.items()):
        sums = {"received": 0.0, "handed_out": 0.0, "transferred": 0.0, "written_off": 0.0}
        for r in rows:
            sums[r.type] += r.quantity
        on_hand = round(
            sums["received"] - sums["handed_out"] - sums["transferred"] - sums["written_off"], 6
        )
        first = min(r.at for r in rows)
        start = max(now - WINDOW, first)
        span = max(now - start, MIN_SPAN)
        recent = [r for r in rows if r.type == "handed_out" and r.at >= now - WINDOW]
        h24 = sum(r.quantity for r in recent)
        rate = h24 / (span / timedelta(days=1)) if h24 else 0.0
        days_left = on_hand / rate if rate > 0 else None
        low = (days_left is not None and days_left < warn_days) or (on_hand <= 0 and rate > 0)
        out.append(
            StockLineOut(
                nsp_id=nsp,
                item=item,
                unit=unit,
                **sums,
                on_hand=on_hand,
                entries=len(rows),
                handed_out_24h=h24,
                persons_24h=sum((r.households or 1) * (r.household_size or 1) for r in recent),
                rate_per_day=round(rate, 3),
                days_left=None if days_left is None else round(days_left, 2),
                need=round(max(0.0, rate * COVER_DAYS - on_hand), 3),
                low=low,
                last_entry_at=max(r.at for r in rows),
            )
        )
    return out


def ledgers(conn: Connection, nsp_id: str | None = None) -> list[LedgerState]:
    query = sa.select(_entry.c.nsp_id, sa.func.count(), sa.func.max(_entry.c.entry_no)).group_by(
        _entry.c.nsp_id
    )
    if nsp_id is not None:
        query = query.where(_entry.c.nsp_id == nsp_id)
    return [
        LedgerState(nsp_id=n, entries=c, last_entry_no=m, missing_entries=m - c)
        for n, c, m in conn.execute(query.order_by(_entry.c.nsp_id))
    ]
