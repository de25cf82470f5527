"""The reports grouping compares against: open items' reports within the time window, kept in
memory between batches, indexed by coordinate cell and street/place bucket.

Reading them from the database for every batch costs more than the matching itself during a
burst (a link coming back with an hour of reports). The database stays the truth:

* the index is loaded from it on first use, after an operator's change (``invalidate``), and
  when a batch reaches further back in time than the index covers;
* reports of a batch are added only once their transaction is seen committed (checked by
  primary key at the start of the next batch), so a rolled-back batch leaves no trace;
* the hook re-reads the items it is about to join (locked) and the items of the reports it
  matched, and starts over from the database when they moved (see GroupingHook.place).

One ingest writer per database is the service's design (service.ingest), so no other writer
adds reports the index would miss; where several ingest processes share a PostgreSQL database,
``service.cluster.grouping_sync`` serialises their grouping and feeds each window the reports
the others placed (``add_committed``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from noodcore.db import in_values, table_of
from service.triage.models import TriageItem, TriageReport
from service.triage.workflow import OPEN_STATES

if TYPE_CHECKING:
    from service.triage.grouping import Features

ITEMS = table_of(TriageItem)
REPORTS = table_of(TriageReport)

# index key (cell or street block) -> family -> item id -> members
Index = dict[str, dict[str, dict[int, list["Features"]]]]

MEMBERS_KEPT = 8
# Items kept per index slot (a cell or street block, and a hazard family): the ones reported
# most recently there. A reconnect backlog of tens of thousands of reports about one town
# would otherwise make every report compare with thousands of items (cost per report growing
# with the backlog). An item pushed out is still in the database and the queue; a report
# about it after more than this many other incidents at the same spot gets its own item,
# the safe side (see grouping's rules), never a wrong merge.
ITEMS_KEPT = 48
BLOCK = 7  # house numbers per index block; a block and its neighbours span >= 6 each way

# Columns matching needs (not the full row: descriptions and addresses stay in the database).
_COLUMNS = (
    "message_id",
    "item_id",
    "kind",
    "family",
    "category",
    "cls",
    "life_threatening",
    "nsp_id",
    "received_at",
    "lat",
    "lon",
    "est_lat",
    "est_lon",
    "cell",
    "bucket",
    "street",
    "number",
    "town",
    "text_norm",
    "exercise_id",
)


class RecentReports:
    def __init__(
        self,
        window: timedelta,
        make: Callable[[Any], Features],
        long_window: timedelta | None = None,
        long_families: frozenset[str] = frozenset(),
    ) -> None:
        self.window = window
        # Area-wide signals (a rumour, a question) stay one item for a longer time: they are
        # kept in the index this long (only they: the index stays small).
        self.long_window = max(long_window or window, window)
        self.long_families = long_families
        self._make = make  # builds a Features from the selected columns
        self._lock = threading.Lock()
        self._stale = True
        self.since: datetime | None = None
        self.long_since: datetime | None = None
        self.by_id: dict[str, Features] = {}
        # key -> family -> item id -> the item's first and latest reports under that key.
        # The family level keeps a fire from being compared with every power report in its
        # street: only compatible families are read (see grouping.COMPATIBLE).
        self.by_cell: Index = {}
        self.by_bucket: Index = {}
        # Reports that name a street and house number find each other through the street
        # index; by position they only need the reports that do not (see ``numbered``).
        self.by_cell_loose: Index = {}
        self._pending: list[Features] = []
        self.street_keys: dict[str, set[str]] = {}  # street bucket -> its number blocks
        self.item_numbers: dict[int, dict[str, set[int]]] = {}
        self.reloads = 0

    def invalidate(self) -> None:
        """Something other than ingest changed items (an operator): reload before next use."""
        with self._lock:
            self._stale = True

    def prepare(self, conn: Connection, earliest: datetime) -> None:
        """Make the index cover ``earliest - window`` onwards and hold only committed rows."""
        with self._lock:
            stale, self._stale = self._stale, False
        since = earliest - self.window
        if stale or self.since is None or since < self.since:
            self._reload(conn, since)
            return
        self._confirm(conn)
        if since - self.since > self.window:
            self._prune(since)
        elif self.long_since is not None and since - self.long_since > 2 * self.long_window:
            self._prune(self.since)

    def add_after_commit(self, features: Iterable[Features]) -> None:
        """Reports of the batch being written: indexed once their commit is seen. Each call
        is one transaction's reports (see ``_confirm``)."""
        self._pending.extend(features)

    def add_committed(self, conn: Connection, message_ids: list[str]) -> int:
        """Index reports another process committed (see service.cluster.grouping_sync);
        returns how many were added. Only open items' reports, as in a reload."""
        added = 0
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            rows = conn.execute(
                sa.select(*(REPORTS.c[c] for c in _COLUMNS), ITEMS.c.state)
                .join(ITEMS, ITEMS.c.id == REPORTS.c.item_id)
                .where(in_values(conn, REPORTS.c.message_id, chunk), ITEMS.c.state.in_(OPEN_STATES))
            )
            for row in rows:
                if row.message_id not in self.by_id:
                    self._index(self._make(row))
                    added += 1
        return added

    def near(self, cells: Iterable[str], r: Features, families: Iterable[str]) -> list[Features]:
        """Candidates for ``r`` of the given families (a report may appear twice, from the
        cell and from the street index: GroupingHook._best compares it once)."""
        out: list[Features] = []
        by_cell = self.by_cell_loose if numbered(r) else self.by_cell
        for index, keys in ((by_cell, cells), (self.by_bucket, lookup_keys(r, self.street_keys))):
            for key in keys:
                by_family = index.get(key)
                if by_family is None:
                    continue
                for family in families:
                    items = by_family.get(family)
                    if items is not None:
                        for members in items.values():
                            out.extend(members)
        return out

    def numbers(self, item_id: int, street: str) -> set[int]:
        """House numbers the item's reports name in ``street`` (for the number guard)."""
        return self.item_numbers.get(item_id, {}).get(street, set())

    # ----------------------------------------------------------------------- internals

    def _index(self, f: Features) -> None:
        self.by_id[f.message_id] = f
        if f.cell:
            _keep(self.by_cell.setdefault(f.cell, {}).setdefault(f.family, {}), f)
            if not numbered(f):
                _keep(self.by_cell_loose.setdefault(f.cell, {}).setdefault(f.family, {}), f)
        key = index_key(f)
        if key:
            _keep(self.by_bucket.setdefault(key, {}).setdefault(f.family, {}), f)
            if f.bucket and f.street:
                self.street_keys.setdefault(f.bucket, set()).add(key)
        if f.street and f.number is not None and f.item_id is not None:
            self.item_numbers.setdefault(f.item_id, {}).setdefault(f.street, set()).add(f.number)

    def _reload(self, conn: Connection, since: datetime) -> None:
        self.reloads += 1
        self.by_id, self.by_cell, self.by_bucket, self._pending = {}, {}, {}, []
        self.by_cell_loose = {}
        self.street_keys, self.item_numbers = {}, {}
        self.since = since
        self.long_since = since - (self.long_window - self.window)
        recent = REPORTS.c.received_at >= since
        if self.long_families and self.long_window > self.window:
            recent = sa.or_(
                recent,
                sa.and_(
                    REPORTS.c.received_at >= self.long_since,
                    REPORTS.c.family.in_(sorted(self.long_families)),
                ),
            )
        rows = conn.execute(
            sa.select(*(REPORTS.c[c] for c in _COLUMNS), ITEMS.c.state)
            .join(ITEMS, ITEMS.c.id == REPORTS.c.item_id)
            .where(recent, ITEMS.c.state.in_(OPEN_STATES))
            .order_by(REPORTS.c.received_at, REPORTS.c.message_id)
        )
        for row in rows:
            self._index(self._make(row))

    def _confirm(self, conn: Connection) -> None:
        """Index the previous batch's reports if its transaction committed. A batch commits
        as a whole, so one of its rows tells (an empty batch has nothing to add)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        probe = pending[0].message_id
        committed = conn.execute(
            sa.select(REPORTS.c.message_id).where(REPORTS.c.message_id == probe)
        ).first()
        if committed is None:
            return
        for f in pending:
            if f.message_id not in self.by_id:
                self._index(f)

    def _prune(self, since: datetime) -> None:
        long_since = since - (self.long_window - self.window)
        longs = self.long_families

        def cut(f: Features) -> datetime:
            return long_since if f.family in longs else since

        def keep(index: Index) -> Index:
            out: Index = {}
            for key, by_family in index.items():
                for family, items in by_family.items():
                    limit = long_since if family in longs else since
                    kept = {
                        i: fresh
                        for i, members in items.items()
                        if (fresh := [f for f in members if f.received_at >= limit])
                    }
                    if kept:
                        out.setdefault(key, {})[family] = kept
            return out

        self.by_cell = keep(self.by_cell)
        self.by_cell_loose = keep(self.by_cell_loose)
        self.by_bucket = keep(self.by_bucket)
        self.by_id = {m: f for m, f in self.by_id.items() if f.received_at >= cut(f)}
        self.since = since
        self.long_since = long_since


def numbered(f: Features) -> bool:
    """A street and a house number: two such reports in different streets are different
    places even when their map positions are close, so they need not meet by position."""
    return bool(f.street) and f.number is not None


def index_key(f: Features) -> str | None:
    """Streets are indexed by blocks of house numbers: "Kerkstraat 12" needs to meet
    "Kerkstraat 8" and "Kerkstraat 14", not every report in the street (numbers more than
    six apart never match, see grouping._number_score)."""
    if f.bucket is None:
        return None
    if f.street:
        return f"{f.bucket}#{f.number // BLOCK if f.number is not None else '-'}"
    return f.bucket


def lookup_keys(r: Features, street_keys: dict[str, set[str]]) -> list[str]:
    if r.bucket is None:
        return []
    if not r.street:
        return [r.bucket]
    if r.number is None:
        return sorted(street_keys.get(r.bucket, ()))  # the whole street
    block = r.number // BLOCK
    return [f"{r.bucket}#{b}" for b in (block - 1, block, block + 1)] + [f"{r.bucket}#-"]


def _keep(items: dict[int, list[Features]], f: Features) -> None:
    """Keep an item's first report and its latest ones: a burst of hundreds of reports about
    one rumour costs no more to compare against than a handful (see MEMBERS_KEPT). The slot
    keeps the ``ITEMS_KEPT`` items reported most recently (insertion order = recency)."""
    assert f.item_id is not None
    members = items.pop(f.item_id, None)
    if members is None:
        members = []
    items[f.item_id] = members
    members.append(f)
    if len(members) > MEMBERS_KEPT:
        del members[1]
    if len(items) > ITEMS_KEPT:
        del items[next(iter(items))]
