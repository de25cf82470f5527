"""The goods section of the CP summary: stock, need and days left per item across the NSPs
(``service/upstream/summary.py`` lists it in ``SECTIONS``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemas.upstream import GoodsItemStock
from service.goods.stock import COVER_DAYS, stock

if TYPE_CHECKING:
    from service.upstream.summary import SummaryInputs


def goods_section(inp: SummaryInputs) -> dict[str, Any]:
    per: dict[tuple[str, str], dict[str, Any]] = {}
    for line in stock(inp.conn, inp.now):
        g = per.setdefault(
            (line.item, line.unit), {"on_hand": 0.0, "rate": 0.0, "nsps": 0, "low": []}
        )
        g["on_hand"] += max(line.on_hand, 0.0)
        g["rate"] += line.rate_per_day
        g["nsps"] += 1
        if line.low:
            g["low"].append(line.nsp_id)
    items = []
    for (item, unit), g in sorted(per.items()):
        rate = g["rate"]
        items.append(
            GoodsItemStock(
                item=item,
                unit=unit,
                on_hand=round(g["on_hand"], 3),
                rate_per_day=round(rate, 3),
                need=round(max(0.0, rate * COVER_DAYS - g["on_hand"]), 3),
                days_left=round(g["on_hand"] / rate, 2) if rate > 0 else None,
                nsps=g["nsps"],
                nsps_low=sorted(g["low"]),
            )
        )
    return {"goods": items}
