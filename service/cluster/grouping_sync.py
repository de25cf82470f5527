"""Grouping decisions serialised across the CP's ingest processes on one PostgreSQL database.

Grouping matches a report against the reports stored nearby and decides: join an incident or
open a new one. Two processes deciding at once about two reports of one incident would each
open an incident (a doubled incident), so:

  * every grouping step takes a PostgreSQL transaction-level advisory lock for the CP's area
    (``pg_advisory_xact_lock``), held until its transaction commits or rolls back: grouping
    decisions of the area are serialised, while validation, the message insert, the NSP
    bookkeeping and the acks of the processes run in parallel. The CP serves one area, so the
    lock is per CP; a finer key (a grid cell) would not be enough on its own, because a
    report without coordinates is matched by street bucket across cells.
  * each process keeps its in-memory window of recent reports (``RecentReports``); under the
    lock it first reads the grouping log (``cluster_grouping_log``): one row per grouping
    transaction of any process, numbered under the lock, naming the reports it placed. It
    indexes the reports of the other processes it has not seen; a row without ids (an
    operator changed items) or a gap (pruned rows) makes it reload the window.
  * what the window relies on is verified under the item locks as before
    (``GroupingHook._verify``), so a concurrent operator change is still caught.

Without this (a single process, SQLite) the hook runs as before: ``GroupingHook.sync`` is
None.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.db import table_of
from schemas import utcnow
from service.cluster.leader import lock_key
from service.cluster.models import GroupingLog

log = logging.getLogger(__name__)

LOG = table_of(GroupingLog)
PRUNE_EVERY = 500
KEEP_ROWS = 20_000


class GroupingSync:
    def __init__(self, cp_id: str, instance_id: str) -> None:
        self.key = lock_key(f"grouping:{cp_id}")
        # Unique per process start: a restarted process must not skip its earlier rows.
        self.writer = f"{instance_id}:{secrets.token_hex(4)}"
        self.seen: int | None = None
        self.caught_up = 0  # reports of other processes added to the window (for tests)
        self.reloads = 0

    def _lock(self, conn: Connection) -> None:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.key})

    def enter(self, conn: Connection, recent: Any) -> None:
        """Take the area's grouping lock and bring ``recent`` (a RecentReports) up to date
        with what the other processes committed."""
        self._lock(conn)
        if self.seen is None:
            self.seen = conn.execute(sa.select(sa.func.max(LOG.c.gen))).scalar() or 0
            self.reloads += 1
            recent.invalidate()
            return
        rows = conn.execute(
            sa.select(LOG.c.gen, LOG.c.writer, LOG.c.message_ids)
            .where(LOG.c.gen > self.seen)
            .order_by(LOG.c.gen)
        ).all()
        if rows and rows[0].gen != self.seen + 1:
            # Rows were pruned before we read them: read the window again.
            self.seen = rows[-1].gen
            self.reloads += 1
            recent.invalidate()
            return
        if not rows:
            return
        self.seen = rows[-1].gen
        ids: list[str] = []
        for row in rows:
            if row.writer == self.writer:
                continue  # our own: indexed once seen committed (RecentReports._confirm)
            if row.message_ids is None:
                self.reloads += 1
                recent.invalidate()
                return
            ids.extend(row.message_ids)
        if ids:
            self.caught_up += recent.add_committed(conn, ids)

    def wrote(self, conn: Connection, message_ids: Sequence[str]) -> None:
        """Record the reports this transaction placed (under the lock taken by ``enter``)."""
        self._append(conn, list(message_ids))

    def operator_changed(self, engine: Engine) -> None:
        """An operator's change was committed: the other processes reload their window."""
        with engine.begin() as conn:
            self._lock(conn)
            self._append(conn, None)

    def _append(self, conn: Connection, message_ids: list[str] | None) -> None:
        top = conn.execute(sa.select(sa.func.max(LOG.c.gen))).scalar()
        gen = (top or 0) + 1
        conn.execute(
            sa.insert(LOG).values(
                gen=gen, writer=self.writer, message_ids=message_ids, written_at=utcnow()
            )
        )
        if gen % PRUNE_EVERY == 0:
            conn.execute(sa.delete(LOG).where(LOG.c.gen <= gen - KEEP_ROWS))
