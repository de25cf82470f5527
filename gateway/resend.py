"""A CP's ``resend`` request (schemas/resend.py): rows of this gateway's sequence sent again.

Invariant: only rows the outbox still has are re-queued, with their stored envelope (same
message id, same bytes), so the CP stores each at most once more and recognises any it already
has. The ack history of a row is kept: a re-queued row shows it had been acknowledged before;
the next CP ack marks it stored again.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import col, select

from gateway.models import OutboxRow
from gateway.outbox import Outbox, OutboxEntry
from noodcore.db import table_of
from schemas.envelope import ResendMessage

log = logging.getLogger(__name__)

OUTBOX = table_of(OutboxRow)


def requeue(outbox: Outbox, message: ResendMessage) -> int:
    """Re-queue the acknowledged rows in the requested range; returns how many."""
    lo, hi = message.body.from_seq, message.body.to_seq
    with outbox.write() as tx:
        rows = tx.session.execute(
            sa.select(OUTBOX.c.message_id, OUTBOX.c.seq).where(
                OUTBOX.c.seq.between(lo, hi) & (OUTBOX.c.state == "stored")
            )
        ).all()
        if rows:
            tx.session.execute(
                sa.update(OUTBOX)
                .where(OUTBOX.c.message_id.in_([r.message_id for r in rows]))
                .values(state="queued")
            )
            # Listeners (the publisher) hear of these like of new rows.
            ids = [r.message_id for r in rows]
            requeued = tx.session.exec(select(OutboxRow).where(col(OutboxRow.message_id).in_(ids)))
            tx.created.extend(OutboxEntry.from_row(r) for r in requeued.all())
    have = len(rows)
    log.info(
        "CP %s asked for seq %d-%d again (%s): %d re-queued",
        message.cp_id,
        lo,
        hi,
        message.body.reason,
        have,
        extra={"nsp_id": message.nsp_id},
    )
    return have
