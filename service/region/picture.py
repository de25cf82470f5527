"""The regional picture: each CP's current summary and every P1 item the CPs sent."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from noodcore.db import table_of
from schemas import utcnow
from schemas.upstream import Summary, SummaryContent, UrgentItemUpstream
from service.region.models import RegionCp, RegionSummary, RegionUrgent
from service.upstream.picture import MAX_P1_ITEMS, CpPicture, Picture, assemble, p1_from_message

_summaries = table_of(RegionSummary)
_cps = table_of(RegionCp)
_urgent = table_of(RegionUrgent)

CONTENT_FIELDS = set(SummaryContent.model_fields)


def region_picture(engine: Engine, node_id: str) -> Picture:
    now = utcnow()
    with engine.connect() as conn:
        current = conn.execute(
            sa.select(_cps.c.cp_id, _cps.c.received_at, _summaries.c.payload)
            .join(_summaries, _summaries.c.id == _cps.c.summary_row_id)
            .order_by(_cps.c.cp_id)
        ).all()
        urgent = conn.execute(
            sa.select(_urgent.c.payload).order_by(_urgent.c.id.desc()).limit(MAX_P1_ITEMS)
        ).all()
    cps = []
    for cp_id, received_at, payload in current:
        summary = Summary.model_validate(payload["body"])
        cps.append(
            CpPicture(
                cp_id=cp_id,
                source="summary",
                summary_seq=summary.seq,
                produced_at=summary.produced_at,
                received_at=received_at,
                age_seconds=max(0.0, (now - summary.produced_at).total_seconds()),
                content=SummaryContent(**summary.model_dump(include=CONTENT_FIELDS)),
            )
        )
    p1 = []
    for (payload,) in urgent:
        item = UrgentItemUpstream.model_validate(payload).body
        p1.append(
            p1_from_message(
                item.cp_id,
                item.message.model_dump(mode="json"),
                item.nsp.name,
                item.received_at,
                now,
            )
        )
    p1.sort(key=lambda p: p.exercise is not None)  # real P1s on top, exercise ones after
    return assemble("region", node_id, cps, p1, now)
