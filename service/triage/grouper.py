"""Grouping in a process of its own, after the ack (``NOODNET_TRIAGE_GROUPING_PROCESS=true``).

By default grouping runs inside the ingest transaction (``GroupingHook`` as a batch hook): a
report is acked when it is in its incident. One Python process is then bound to one CPU core,
and grouping is about half of its work, so a reconnect backlog drains at half the rate the
rest of ingest could reach, and a P1 waits for the grouping of everything received before it.
With this setting the CP splits the work over two processes:

  * ingest stores the message, forwards P1s upward (their live event included), queues the
    report in ``triage_grouping_pending`` (``QueueForGrouping``, the ``grouping`` hook) and
    acks — all in one transaction, as before;
  * the grouping process (``python -m service.triage.grouper``, started and restarted by
    ``GrouperProcess`` in the CP) takes queued reports, life-threatening ones first, and
    places them with the same ``GroupingHook``; the pending rows are deleted in the
    transaction that places them.

Invariants, and why:
  * A queued report is never lost: its pending row commits with the message and goes only
    with its placement. A crash of either process leaves it queued; the next grouping process
    (or a CP restarted without this setting, before it ingests anything) places it.
  * Nothing is placed twice: the grouping transaction starts by deleting the pending rows it
    takes (a write, so on SQLite it holds the database's write lock from its first read on),
    and places only reports whose delete it made and that have no report row yet.
  * One report that cannot be grouped does not hold up the rest: a failing batch is split
    into single reports; one failing alone is put in the queue on its own
    (``own_item_fallback``, as at ingest), so it is never hidden.
  * One grouping process per database: it runs only on the active CP; under a leader lock on
    PostgreSQL it takes the grouping advisory lock (``GroupingSync``), so a deposed active's
    last batch cannot interleave with the new active's.
  * It is seen: ``/readyz`` shows the queue (count, oldest), and the supervisor's health turns
    bad when reports wait longer than ``STALE_SECONDS`` or the process keeps dying.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.db import fast_insert, in_values, table_of
from noodcore.worker import Health, Worker
from schemas import utcnow
from service import kinds
from service.models import Message
from service.store import Accepted, PresenceSeen, is_transient
from service.triage.grouping import PLACED_KINDS, GroupingHook, own_item_fallback
from service.triage.models import GroupingPending, TriageReport
from service.triage.settings import TriageSettings

log = logging.getLogger(__name__)

PENDING = table_of(GroupingPending)
MESSAGES = table_of(Message)
REPORTS = table_of(TriageReport)

# The supervisor's health turns bad when the oldest queued report waits this long.
STALE_SECONDS = 120.0
CONFIG_ENV = "NOODNET_GROUPER_CONFIG"
CHANGED = b"changed\n"  # on the grouping process's stdin: reload the window
# On its stdout: READY once it has imported its code and built its worker (start-up, about
# 1 s of CPU, mostly imports); any other line says it placed reports.
READY = b"ready\n"


class QueueForGrouping:
    """The ``grouping`` batch hook when grouping runs in its own process: one pending row per
    new report, in the ingest transaction. Named like ``GroupingHook`` so the kinds registry
    and the fallback for a failing hook (the report's own item) apply unchanged."""

    hook_name = "grouping"

    def __call__(
        self, conn: Connection, accepted: list[Accepted], presences: list[PresenceSeen]
    ) -> None:
        rows = [
            {
                "message_id": a.message.message_id,
                "urgent": kinds.is_critical(a),
                "queued_at": a.received_at,
            }
            for a in accepted
            if a.message.kind in PLACED_KINDS
        ]
        fast_insert(conn, PENDING, rows)  # ingest's hot path: no per-row SQLAlchemy work


# -- stored messages in the shape GroupingHook reads ---------------------------------------------


class _StoredBody:
    """A stored body: validated at ingest, read back as JSON (no second validation)."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return dict(self.data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class _StoredMessage:
    message_id: str
    kind: str
    nsp_id: str
    exercise: str | None
    body: _StoredBody


@dataclass
class Queued:
    """A stored report taken from the queue (what ``GroupingHook`` reads of an Accepted)."""

    message: _StoredMessage
    received_at: datetime


def _delete_pending(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """Delete the pending rows ``ids``; returns those this transaction deleted (id → message
    id). The transaction's first statement: on SQLite it takes the write lock."""
    return {
        row.id: row.message_id
        for row in conn.execute(
            sa.delete(PENDING)
            .where(in_values(conn, PENDING.c.id, ids))
            .returning(PENDING.c.id, PENDING.c.message_id)
        )
    }


def _read_queued(conn: Connection, order: Sequence[str]) -> list[Queued]:
    """The stored messages ``order`` names that are not yet placed, in that order."""
    if not order:
        return []
    # One statement: the messages without a report row (an anti-join on its primary key).
    rows = {
        row.message_id: row
        for row in conn.execute(
            sa.select(
                MESSAGES.c.message_id,
                MESSAGES.c.kind,
                MESSAGES.c.nsp_id,
                MESSAGES.c.received_at,
                MESSAGES.c.exercise_id,
                MESSAGES.c.body,
            )
            .where(in_values(conn, MESSAGES.c.message_id, order))
            .where(~sa.exists().where(REPORTS.c.message_id == MESSAGES.c.message_id))
        )
    }
    out = []
    for mid in order:
        row = rows.get(mid)
        if row is None:
            continue  # purged (an exercise) or placed already: nothing to do
        out.append(
            Queued(
                _StoredMessage(mid, row.kind, row.nsp_id, row.exercise_id, _StoredBody(row.body)),
                row.received_at,
            )
        )
    return out


def _take(conn: Connection, ids: Sequence[int]) -> list[Queued]:
    """Delete the pending rows ``ids`` and return their stored messages not yet placed, in
    queue order."""
    taken = _delete_pending(conn, ids)
    return _read_queued(conn, [taken[i] for i in ids if i in taken])


def pending_state(db: Engine | Connection) -> dict[str, Any]:
    """The queue as /readyz and /metrics show it: how many reports wait, how many are P1,
    how long the oldest (and the oldest P1) has waited since the CP received it."""
    urgent = PENDING.c.urgent.is_(True)
    query = sa.select(
        sa.func.count(),
        sa.func.count().filter(urgent),
        sa.func.min(PENDING.c.queued_at),
        sa.func.min(PENDING.c.queued_at).filter(urgent),
    )
    if isinstance(db, Engine):
        with db.connect() as conn:
            row = conn.execute(query).one()
    else:
        row = db.execute(query).one()
    now = utcnow()

    def age(at: datetime | None) -> float | None:
        return round((now - at).total_seconds(), 2) if at is not None else None

    return {
        "waiting": int(row[0]),
        "waiting_p1": int(row[1]),
        "oldest_seconds": age(row[2]),
        "oldest_p1_seconds": age(row[3]),
    }


class Grouper(Worker):
    """Takes queued reports (P1 first) and places them with ``hook``; see the module doc."""

    def __init__(
        self,
        engine: Engine,
        hook: GroupingHook,
        cp_id: str,
        *,
        batch: int = 500,
        poll_seconds: float = 0.5,
        on_grouped: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__("grouping", interval=poll_seconds, backoff_cap=10.0)
        self.engine = engine
        self.hook = hook
        self.cp_id = cp_id
        self.batch = batch
        self.on_grouped = on_grouped
        self.grouped_total = 0
        self.fallbacks = 0
        self._parked: dict[int, float] = {}  # pending id -> monotonic time to retry
        # The message ids of the pending rows _next_ids last read (a row's never changes).
        self._seen: dict[int, str] = {}

    def _next_ids(self) -> list[int]:
        """The next batch: every queued P1 first (up to the batch size), then the oldest of
        the rest; in queue order, so that a batch is placed in the order it was received (as
        at ingest) — a P1 only overtakes reports left for a later batch."""
        now = time.monotonic()
        self._parked = {i: t for i, t in self._parked.items() if t > now}
        skip = sorted(self._parked)
        found: dict[int, str] = {}
        with self.engine.connect() as conn:
            for urgent in (True, False):
                want = self.batch - len(found)
                if want <= 0:
                    break
                q = (
                    sa.select(PENDING.c.id, PENDING.c.message_id)
                    .where(PENDING.c.urgent.is_(urgent))
                    .order_by(PENDING.c.id)
                    .limit(want)
                )
                if skip:
                    q = q.where(PENDING.c.id.not_in(skip))
                found.update((row[0], row[1]) for row in conn.execute(q))
        self._seen = found
        return sorted(found)

    def step(self) -> float | None:
        ids = self._next_ids()
        if not ids:
            return None
        done = self._place(ids)
        if done and self.on_grouped is not None:
            self.on_grouped(done)
        return 0.0  # more may be waiting

    def drain_all(self) -> int:
        """Place everything queued, on the caller's thread (a CP started without the grouping
        process finds reports an earlier run left queued). Returns how many were placed."""
        total = 0
        while ids := self._next_ids():
            total += self._place(ids)
        return total

    def _group(self, ids: Sequence[int]) -> int:
        if self.engine.dialect.name == "sqlite":
            done = self._group_read_first(ids)
            if done is not None:
                return done
        with self.engine.begin() as conn:
            queued = _take(conn, ids)
            if queued:
                self.hook(conn, queued, [])  # type: ignore[arg-type]  # reads what Accepted has
        return len(queued)

    def _group_read_first(self, ids: Sequence[int]) -> int | None:
        """SQLite has one write lock for the whole database, and ingest needs it for every
        commit: read and plan first, outside any write transaction (each read sees the
        latest commit), then take the rows and write in a short one. What the plan relied on
        is checked there under the lock (``GroupingHook.write_batch``). Returns None when
        another grouping took some of the rows meanwhile: the caller does it in one go."""
        with self.engine.connect() as conn:
            seen = self._seen
            if all(i in seen for i in ids):
                # Read a moment ago; rows taken since then are caught by the delete below.
                rows = {i: seen[i] for i in ids}
            else:
                rows = {
                    row[0]: row[1]
                    for row in conn.execute(
                        sa.select(PENDING.c.id, PENDING.c.message_id).where(
                            PENDING.c.id.in_(list(ids))
                        )
                    )
                }
            queued = _read_queued(conn, [rows[i] for i in ids if i in rows])
            batch = self.hook.read_batch(conn, queued)  # type: ignore[arg-type]
            conn.rollback()
        with self.engine.begin() as conn:
            if _delete_pending(conn, list(rows)) != rows:
                conn.rollback()
                self.hook.recent.invalidate()  # the plan's batch is not written
                return None
            if batch is not None:
                self.hook.write_batch(conn, batch)
        return len(queued)

    def _place(self, ids: Sequence[int]) -> int:
        try:
            done = self._group(ids)
        except Exception as exc:
            # (The window indexes a batch only once it sees its commit: nothing to undo.)
            if is_transient(exc):
                raise  # the database, not a report: the worker backs off and retries
            if len(ids) > 1:
                log.warning(
                    "grouping a batch of %d failed (%s: %s); placing them one by one",
                    len(ids),
                    type(exc).__name__,
                    exc,
                )
                return sum(self._place([i]) for i in ids)
            return self._fallback(ids[0], exc)
        self.grouped_total += done
        return done

    def _fallback(self, pending_id: int, exc: Exception) -> int:
        """A report that cannot be grouped gets its own item (never hidden)."""
        error = f"{type(exc).__name__}: {exc}"
        try:
            with self.engine.begin() as conn:
                queued = _take(conn, [pending_id])
                for q in queued:
                    log.error(
                        "grouping failed for message %s from %s (%s): placed on its own",
                        q.message.message_id,
                        q.message.nsp_id,
                        error,
                    )
                    own_item_fallback(conn, q, error)  # type: ignore[arg-type]
        except Exception as exc2:
            if is_transient(exc2):
                raise
            # Not even that: keep it queued (shown in readyz) and try again later.
            self._parked[pending_id] = time.monotonic() + 60
            log.exception("could not place queued report %d even on its own", pending_id)
            return 0
        self.fallbacks += len(queued)
        self.grouped_total += len(queued)
        return len(queued)


# -- the process and its supervisor ------------------------------------------------------------


def grouper_config(
    database_url: str, cp_id: str, triage: TriageSettings, sync_instance: str | None
) -> str:
    """What the CP hands its grouping process (an environment variable, not argv: the
    database URL may hold a password)."""
    return json.dumps(
        {
            "database_url": database_url,
            "cp_id": cp_id,
            "triage": triage.model_dump(mode="json"),
            "sync_instance": sync_instance,
        }
    )


class GrouperProcess(Worker):
    """Runs the grouping process for the CP (active only) and restarts it when it dies.

    Talks to it over its standard streams: a line to its stdin wakes it (new reports were
    committed), a line from its stdout says it placed some (``on_grouped``: the CP wakes its
    state-ack sender and upstream). EOF on its stdin (this process ended, even by SIGKILL)
    makes it finish its batch and exit; ``changed`` on its stdin makes it reload its window."""

    def __init__(
        self,
        engine: Engine,
        config: str,
        on_grouped: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("grouping-process", interval=1.0, backoff_cap=30.0)
        self.engine = engine
        self.config = config
        self.on_grouped = on_grouped
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._write_lock = threading.Lock()
        self._started_at = 0.0
        self._ready_pid: int | None = None  # the process that said READY

    def step(self) -> float | None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            return None
        if proc is not None:
            self.restarts += 1
            lived = time.monotonic() - self._started_at
            self.proc = None
            log.error("grouping process exited with %s after %.0fs", proc.returncode, lived)
            if lived < 10:
                raise RuntimeError(f"grouping process exited with {proc.returncode} at start")
        self._spawn()
        return None

    def _spawn(self) -> None:
        env = dict(os.environ)
        env[CONFIG_ENV] = self.config
        self._started_at = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.triage.grouper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.proc = proc
        threading.Thread(
            target=self._read, args=(proc,), name="grouping-process-out", daemon=True
        ).start()
        log.info("grouping process started (pid %d)", proc.pid)

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line == READY:
                self._ready_pid = proc.pid
                log.info("grouping process %d ready", proc.pid)
                continue
            if self.on_grouped is not None:
                try:
                    self.on_grouped()
                except Exception:
                    log.exception("after grouping: waking the CP's workers failed")

    def state(self) -> str:
        """For /readyz: ``running`` (it said READY and lives), ``starting`` (spawned, still
        importing its code) or ``not running`` (dead or not yet spawned: the supervisor
        restarts it)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return "not running"
        return "running" if self._ready_pid == proc.pid else "starting"

    def wake_grouping(self, line: bytes = b"\n") -> None:
        """New reports were queued: wake the grouping process now (else it polls)."""
        proc = self.proc
        if proc is None or proc.stdin is None:
            return
        with self._write_lock:
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.wake()  # it died: the supervisor restarts it

    def operator_changed(self) -> None:
        """An operator merged, split or closed items: the grouping process reloads its window
        (``GroupingHook._verify`` catches what it relied on meanwhile)."""
        self.wake_grouping(CHANGED)

    def drain(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with self._write_lock:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            log.warning("grouping process did not stop within 15 s; killing it")
            proc.kill()
            proc.wait(5)

    def health(self) -> Health:
        h = super().health()
        if not h.healthy:
            return h
        try:
            state = pending_state(self.engine)
        except Exception:
            return h  # the database is the problem: other workers say so
        oldest = state["oldest_seconds"]
        if oldest is not None and oldest > STALE_SECONDS:
            return dataclasses.replace(
                h,
                healthy=False,
                reason=f"{state['waiting']} reports wait for grouping ({state['waiting_p1']} "
                f"P1), the oldest for {oldest:.0f}s",
            )
        return h


def main() -> None:
    """The grouping process (started by ``GrouperProcess``; not meant to be run by hand)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s grouping[%(process)d] %(levelname)s %(message)s"
    )
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        sys.exit(f"{CONFIG_ENV} is not set: the CP service starts this process itself")
    config = json.loads(raw)
    from noodcore.db import make_engine
    from service.cluster.grouping_sync import GroupingSync

    engine = make_engine(config["database_url"])
    settings = TriageSettings.model_validate(config["triage"])
    hook = GroupingHook(config["cp_id"], settings)
    if config.get("sync_instance") and engine.dialect.name == "postgresql":
        hook.sync = GroupingSync(config["cp_id"], config["sync_instance"])
    out_lock = threading.Lock()

    def grouped(_n: int) -> None:
        with out_lock:
            sys.stdout.write("grouped\n")
            sys.stdout.flush()

    grouper = Grouper(
        engine,
        hook,
        config["cp_id"],
        batch=settings.grouping_batch,
        poll_seconds=settings.grouping_poll_seconds,
        on_grouped=grouped,
    )
    # A service manager stops the whole process group at once (systemd's default KillMode):
    # SIGTERM ends it like EOF on stdin, so the batch in hand is committed, not rolled back
    # (either is safe: the pending rows go only with their placement). stdin is read in a
    # thread: a signal may be delivered to any thread, and a main thread blocked in read()
    # would not see it until the next line.
    done = threading.Event()

    def read_stdin() -> None:
        # The descriptor, not sys.stdin.buffer: this daemon thread is blocked in a read when
        # SIGTERM ends the process, and a thread blocked in the buffered reader holds its
        # lock, so interpreter shutdown could abort ("could not acquire lock for <stdin>",
        # exit -6, seen once in CI) instead of exiting 0.
        pending = b""
        while chunk := os.read(0, 4096):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if line + b"\n" == CHANGED:
                    hook.recent.invalidate()
                grouper.wake()
        if pending:
            grouper.wake()
        done.set()

    signal.signal(signal.SIGTERM, lambda _signum, _frame: done.set())
    sys.stdout.write(READY.decode())  # before any "grouped" line
    sys.stdout.flush()
    grouper.start()
    threading.Thread(target=read_stdin, name="grouping-stdin", daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        while not done.wait(1.0):
            pass
    grouper.stop(30)
    engine.dispose()
    log.info("grouping process stopped")


if __name__ == "__main__":
    main()
