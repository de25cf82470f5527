"""Store a batch of validated messages in one transaction, idempotently.

Exact deduplication lives here: a message id already stored is not stored again, and the
caller learns its original CP receive time so the re-sent ack is identical. A message id that
comes back with *different* content (another NSP, another body) is no duplicate: it becomes a
dead letter and a security event, and the stored message stays as it was.

Failures are raised as they are, labelled with the step ("store", "hook:grouping", ...;
see ``failed_step``);
``is_transient`` tells a database that is down or busy (retry the whole batch later) from a
problem with the input (isolate the message that causes it, see ``service.ingest``).

Dead-letter rows are sanitised (``dead_letter_row``): whatever the input, writing one cannot
fail on its content.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from noodcore.db import EncodedJSON, fast_insert, in_values, table_of
from schemas import Presence, UpMessage, utcnow
from service import kinds
from service.auth.tokens import record_event
from service.fallback import relay
from service.models import DeadLetter, Message, Nsp

MAX_GAP_RANGES = 1000


@dataclass
class Accepted:
    """A valid upward message waiting to be stored."""

    message: UpMessage
    received_at: datetime
    transport: str
    payload: bytes | None = None  # the raw bytes, for a dead letter
    dead_letter_id: int | None = None  # re-processing this dead letter
    relay: relay.RelayInfo | None = None  # typed in from a radio call, slip, SMS


@dataclass
class PresenceSeen:
    presence: Presence
    received_at: datetime


@dataclass
class Rejected:
    """A message that failed validation; becomes a dead letter."""

    reason: str
    received_at: datetime
    transport: str
    payload: bytes
    topic: str | None = None
    nsp_id: str | None = None
    max_stored_bytes: int = 64 * 1024
    step: str = "validate"
    message_id: str | None = None  # when known: the ack to the gateway refers to it
    dead_letter_id: int | None = None  # re-processing failed again: update that row
    dedupe: bool = False  # an identical unresolved dead letter exists? then write none


BatchHook = Callable[[Connection, list[Accepted], list[PresenceSeen]], None]


@dataclass
class StoreResult:
    message_id: str
    nsp_id: str
    seq: int
    kind: str
    stored_at: datetime
    new: bool
    dead_letter: str | None = None  # not stored: the reason (e.g. message id reused)


def failed_step(exc: BaseException) -> str:
    """The step ``store_batch`` was in when ``exc`` was raised ("store", "hook:grouping")."""
    step = getattr(exc, "ingest_step", None)
    return step if isinstance(step, str) else "store"


# PostgreSQL SQLSTATE classes and codes that say "not now", never "not this message":
# connection (08), transaction rollback (40: serialisation, deadlock), insufficient resources
# (53: disk full, out of memory, too many connections), lock not available (55P03), operator
# intervention (57: query cancelled, shutdown), system error (58: I/O).
_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
_TRANSIENT_CODES = frozenset({"55P03", "55006"})
_SQLITE_TRANSIENT = (
    "database is locked",
    "database table is locked",
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
    "database is busy",
    "readonly database",  # a file system remounted read-only (a failing SD card)
    "database disk image is malformed",
    "file is not a database",
)


def is_transient(exc: BaseException) -> bool:
    """True when the database (not the message) is the problem: retry later, ack nothing."""
    if isinstance(exc, sa.exc.DisconnectionError | sa.exc.TimeoutError):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if isinstance(code, str) and code:
            return code[:2] in _TRANSIENT_CLASSES or code in _TRANSIENT_CODES
        text = str(orig).lower()
        if any(t in text for t in _SQLITE_TRANSIENT):
            return True
        # A driver error without a SQLSTATE on a connection: the server is gone.
        return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) and (
            type(orig).__module__.startswith("psycopg")
        )
    return isinstance(exc, ConnectionError | TimeoutError)


@dataclass
class _SeqState:
    max_seq: int
    gaps: list[list[int]] = field(default_factory=list)
    conflicts: int = 0

    def see(self, seq: int) -> None:
        """Record one sequence number, keeping missing ones as inclusive ranges."""
        if seq > self.max_seq:
            if seq > self.max_seq + 1:
                self.gaps.append([self.max_seq + 1, seq - 1])
            self.max_seq = seq
            return
        for i, (lo, hi) in enumerate(self.gaps):
            if lo <= seq <= hi:
                pieces = [[lo, seq - 1]] if seq > lo else []
                if seq < hi:
                    pieces.append([seq + 1, hi])
                self.gaps[i : i + 1] = pieces
                return
        self.conflicts += 1

    def trimmed_gaps(self) -> list[list[int]]:
        # A gateway that lost its disk could create unbounded gaps; keep the newest ones.
        return self.gaps[-MAX_GAP_RANGES:]


def store_batch(
    engine: Engine,
    accepted: list[Accepted],
    rejected: list[Rejected],
    presences: list[PresenceSeen],
    cp_id: str,
    hooks: Sequence[BatchHook] = (),
    skip: dict[str, set[str]] | None = None,
    fallbacks: dict[str, set[str]] | None = None,
) -> list[StoreResult]:
    """Commit a batch. Returns one result per accepted message (new, already stored, or
    dead-lettered because its id was reused with other content).

    ``hooks`` run inside the same transaction with the newly stored messages, so whatever
    they derive (incidents, outbox rows for upstream) commits or fails together with them;
    each sees the kinds ``service.kinds`` gives it. An exception leaves unchanged, labelled
    with the step it came from (``failed_step``). ``skip`` (message id → hook names) and
    ``fallbacks`` (message id → the failed hooks' names) serve a critical message whose hook
    failed: stored without that hook, then placed by the hook's fallback.
    """
    step = "store"

    def at(name: str) -> None:
        nonlocal step
        step = name

    try:
        return _store_batch(
            engine, accepted, rejected, presences, cp_id, hooks, skip, fallbacks, at
        )
    except Exception as exc:
        # The caller sees the original exception, labelled with the step (``failed_step``).
        if not hasattr(exc, "ingest_step"):
            with contextlib.suppress(AttributeError):
                setattr(exc, "ingest_step", step)  # noqa: B010
        raise


def _fingerprint(m: UpMessage) -> tuple[Any, ...]:
    return (m.nsp_id, m.kind, m.seq, m.sent_at, m.exercise, m.body.model_dump(mode="json"))


def _store_batch(
    engine: Engine,
    accepted: list[Accepted],
    rejected: list[Rejected],
    presences: list[PresenceSeen],
    cp_id: str,
    hooks: Sequence[BatchHook],
    skip: dict[str, set[str]] | None,
    fallbacks: dict[str, set[str]] | None,
    at: Any,
) -> list[StoreResult]:
    # Collapse in-batch duplicates (a QoS 1 redelivery can land in the same batch).
    unique: dict[str, Accepted] = {}
    conflicts: dict[int, str] = {}  # id(Accepted) -> reason
    for item in accepted:
        first = unique.setdefault(item.message.message_id, item)
        if first is not item and _fingerprint(first.message) != _fingerprint(item.message):
            conflicts[id(item)] = _reuse_reason(item.message, first.message.nsp_id, "this batch")
    ids = list(unique)
    rejected = list(rejected)

    def check_reuse(rows: dict[str, Any]) -> None:
        # Someone sent a message id the CP already has. The same content is a retry; other
        # content is an attack or a broken gateway.
        for mid, row in rows.items():
            a = unique[mid]
            if not _same_content(row, a.message):
                conflicts[id(a)] = _reuse_reason(a.message, row.nsp_id, "a stored message")

    with engine.begin() as conn:
        at("store:relay")
        # A relayed report and its original are one report (service.fallback.relay). They
        # are reconciled before the insert, among messages not stored yet, so only then are
        # the batch's stored ids looked up first. Otherwise the insert tells which are
        # stored: what it does not return (a retry, a concurrent writer's row, an id reused
        # with other content), and only those rows are read. The lookup of every id of
        # every batch was 6 % of the statement time on PostgreSQL in bench/ingest.py.
        relaying = relay.involved(conn, unique.values())
        at("store")
        existing: dict[str, datetime] = {}
        if relaying:
            existing = _stored_at(conn, ids)
            if existing:
                check_reuse(_stored_rows(conn, list(existing)))
        fresh = [a for mid, a in unique.items() if mid not in existing and id(a) not in conflicts]
        reconciled: dict[int, relay.Reconciled] = {}
        if relaying:
            at("store:relay")
            reconciled = relay.reconcile(conn, fresh, cp_id)
            if reconciled:
                fresh = [a for a in fresh if id(a) not in reconciled]
            at("store")
        if fresh:
            rows = [
                {
                    "message_id": a.message.message_id,
                    "kind": a.message.kind,
                    "nsp_id": a.message.nsp_id,
                    "seq": a.message.seq,
                    "sent_at": a.message.sent_at,
                    "received_at": a.received_at,
                    "skew_seconds": (a.received_at - a.message.sent_at).total_seconds(),
                    "transport": a.transport,
                    "urgency": getattr(a.message.body, "urgency", None),
                    "body": EncodedJSON(a.message.body.model_dump_json()),
                    "exercise_id": a.message.exercise,
                }
                for a in fresh
            ]
            # ON CONFLICT DO NOTHING covers a concurrent writer (HTTP and MQTT at once, or
            # another ingest process: service.cluster); RETURNING tells which rows this
            # transaction inserted, so only those run the hooks (no doubled incident).
            # Sorted: concurrent writers take the unique index entries in one order.
            rows.sort(key=lambda r: str(r["message_id"]))
            inserted = fast_insert(
                conn,
                table_of(Message),
                rows,
                on_conflict_do_nothing="message_id",
                returning=("message_id",),
            )
            new_ids = {mid for (mid,) in inserted}
        else:
            new_ids = set()
        # When stored: known for rows already there and rows just inserted (their receive
        # time); read only what the insert found stored, and check its content.
        stored = dict(existing)
        stored.update((m, unique[m].received_at) for m in new_ids)
        found = [a.message.message_id for a in fresh if a.message.message_id not in new_ids]
        if found:
            found_rows = _stored_rows(conn, found)
            stored.update((mid, row.received_at) for mid, row in found_rows.items())
            check_reuse(found_rows)
        new_items = [unique[m] for m in ids if m in new_ids]
        at("store:nsp")
        _update_nsps(conn, new_items, presences, cp_id)
        kinds.run_hooks(conn, hooks, new_items, presences, skip, at)
        if fallbacks:
            for a in new_items:
                for name in sorted(fallbacks.get(a.message.message_id, ())):
                    fallback = kinds.FALLBACKS.get(name)
                    if fallback is not None:
                        at(f"fallback:{name}")
                        fallback(conn, a, cp_id, name)
        at("dead_letter")
        for a in accepted:
            reason = conflicts.get(id(a))
            if reason is None:
                continue
            rejected.append(
                Rejected(
                    reason=reason,
                    received_at=a.received_at,
                    transport=a.transport,
                    payload=a.payload or a.message.model_dump_json().encode(),
                    nsp_id=a.message.nsp_id,
                    step="dedupe",
                    message_id=a.message.message_id,
                    dead_letter_id=a.dead_letter_id,
                )
            )
            record_event(
                conn,
                "message_id_reused",
                f"nsp:{a.message.nsp_id}",
                reason,
                nsp_id=a.message.nsp_id,
                data={"message_id": a.message.message_id, "transport": a.transport},
            )
        write_dead_letters(conn, rejected)
        done = [a for a in accepted if a.dead_letter_id is not None and id(a) not in conflicts]
        for a in done:
            mid = a.message.message_id
            conn.execute(
                sa.update(table_of(DeadLetter))
                .where(table_of(DeadLetter).c.id == a.dead_letter_id)
                .where(table_of(DeadLetter).c.resolved_at.is_(None))
                .values(
                    resolved_at=utcnow(),
                    resolution=f"re-processed: stored as message {mid}"
                    if mid in new_ids
                    else f"re-processed: message {mid} was already stored",
                )
            )

    results = []
    for item in accepted:
        m = item.message
        reason = conflicts.get(id(item))
        rec = reconciled.get(id(unique[m.message_id]))
        if rec is not None and reason is None:
            results.append(
                StoreResult(
                    # A relay learns the report it joined; an original keeps its own id (the
                    # gateway's ack refers to it).
                    message_id=rec.stored_message_id if item.relay is not None else m.message_id,
                    nsp_id=m.nsp_id,
                    seq=m.seq,
                    kind=m.kind,
                    stored_at=rec.stored_at,
                    new=False,
                )
            )
            continue
        results.append(
            StoreResult(
                message_id=m.message_id,
                nsp_id=m.nsp_id,
                seq=m.seq,
                kind=m.kind,
                stored_at=stored.get(m.message_id, item.received_at),
                new=reason is None and m.message_id in new_ids and item is unique[m.message_id],
                dead_letter=reason,
            )
        )
    return results


def _same_content(row: Any, m: UpMessage) -> bool:
    """Whether a stored row holds ``m`` (a retry), judged through the current schema, so a
    body stored before a new optional field was added still counts as the same."""
    if (row.nsp_id, row.kind, row.seq, row.sent_at) != (m.nsp_id, m.kind, m.seq, m.sent_at):
        return False
    if row.exercise_id != m.exercise:
        return False  # the same report cannot be both real and an exercise
    new = m.body.model_dump(mode="json")
    if row.body == new:
        return True
    try:
        old = type(m.body).model_validate(row.body).model_dump(mode="json")
    except Exception:
        return False
    return bool(old == new)


def _reuse_reason(m: UpMessage, stored_nsp: str, where: str) -> str:
    who = "another NSP" if stored_nsp != m.nsp_id else "the same NSP"
    return (
        f"message_id {m.message_id} reused with different content: {where} has it from "
        f"{who} ('{stored_nsp}'); the new content is not stored"
    )


def _stored_rows(conn: Connection, ids: list[str]) -> dict[str, Any]:
    table = table_of(Message)
    out: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        cols = (
            table.c.message_id,
            table.c.nsp_id,
            table.c.kind,
            table.c.seq,
            table.c.sent_at,
            table.c.received_at,
        )
        for row in conn.execute(
            sa.select(*cols, table.c.exercise_id, table.c.body).where(
                in_values(conn, table.c.message_id, chunk)
            )
        ):
            out[row.message_id] = row
    return out


def _stored_at(conn: Connection, ids: list[str]) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    table = table_of(Message)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            sa.select(table.c.message_id, table.c.received_at).where(
                in_values(conn, table.c.message_id, chunk)
            )
        )
        out.update({mid: at for mid, at in rows})
    return out


def _update_nsps(
    conn: Connection, new: list[Accepted], presences: list[PresenceSeen], cp_id: str
) -> None:
    by_nsp: dict[str, list[Accepted]] = {}
    for a in new:
        by_nsp.setdefault(a.message.nsp_id, []).append(a)
    nsp_ids = set(by_nsp) | {p.presence.nsp_id for p in presences}
    if not nsp_ids:
        return
    table = table_of(Nsp)
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    # FOR UPDATE (PostgreSQL; SQLite has one writer): another ingest process updating the
    # same NSP waits, so sequence gaps and counts are never overwritten by a stale read. On
    # PostgreSQL a missing row is inserted first, ON CONFLICT DO NOTHING (another process
    # may insert it at the same time), then read locked like the others.
    query = sa.select(table).where(table.c.nsp_id.in_(sorted(nsp_ids))).order_by(table.c.nsp_id)
    known = {row.nsp_id: row for row in conn.execute(query.with_for_update())}
    missing = sorted(nsp_ids - set(known))
    if missing and conn.dialect.name == "postgresql":
        conn.execute(
            postgresql.insert(table).on_conflict_do_nothing(index_elements=["nsp_id"]),
            [_new_nsp_row(n, cp_id) for n in missing],
        )
        known = {row.nsp_id: row for row in conn.execute(query.with_for_update())}
    for nsp_id in sorted(nsp_ids):
        row = known.get(nsp_id)
        values: dict[str, Any] = {}
        if row is None:
            conn.execute(sa.insert(table).values(**_new_nsp_row(nsp_id, cp_id)))
        items = sorted(by_nsp.get(nsp_id, []), key=lambda a: a.received_at)
        if items:
            state = _SeqState(
                max_seq=row.max_seq if row else 0,
                gaps=[list(g) for g in (row.gaps if row else [])],
                conflicts=row.seq_conflicts if row else 0,
            )
            for a in sorted(items, key=lambda a: a.message.seq):
                state.see(a.message.seq)
            last = items[-1]
            values.update(
                max_seq=state.max_seq,
                gaps=state.trimmed_gaps(),
                seq_conflicts=state.conflicts,
                message_count=(row.message_count if row else 0) + len(items),
                last_seen=last.received_at,
                skew_seconds=(last.received_at - last.message.sent_at).total_seconds(),
            )
            if row is None or row.first_seen is None:
                values["first_seen"] = items[0].received_at
            # An exercise's status (the scenario's "on generator, 12 h left") is stored and
            # marked, but never becomes the NSP's real state.
            statuses = [
                a for a in items if a.message.kind == "status" and a.message.exercise is None
            ]
            if statuses:
                newest = max(statuses, key=lambda a: a.message.seq)
                # A status that arrives late (reconnect backlog) must not replace a newer one.
                if row is None or newest.message.seq > row.last_status_seq:
                    values["last_status"] = newest.message.body.model_dump(mode="json")
                    values["last_status_at"] = newest.received_at
                    values["last_status_seq"] = newest.message.seq
        for p in sorted(
            (p for p in presences if p.presence.nsp_id == nsp_id), key=lambda p: p.received_at
        ):
            values["online"] = p.presence.online
            values["presence_changed_at"] = p.received_at
            values.setdefault("last_seen", p.received_at)
        if values:
            updates.setdefault(tuple(sorted(values)), []).append({"_nsp": nsp_id, **values})
    # One executemany per set of changed columns (usually one), not one UPDATE per NSP: a
    # reconnect backlog brings every NSP into every batch.
    for columns, rows in sorted(updates.items()):
        conn.execute(
            sa.update(table)
            .where(table.c.nsp_id == sa.bindparam("_nsp"))
            .values({c: sa.bindparam(c) for c in columns}),
            rows,
        )


def _new_nsp_row(nsp_id: str, cp_id: str) -> dict[str, Any]:
    return {
        "nsp_id": nsp_id,
        "cp_id": cp_id,
        "message_count": 0,
        "max_seq": 0,
        "gaps": [],
        "seq_conflicts": 0,
        "last_status_seq": 0,
        "registered": False,
    }


MAX_REASON = 4000


def clean_text(value: object, limit: int) -> str:
    """Any value as text every database stores: lone surrogates and NUL replaced, capped."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
    text = text.replace("\x00", "\\x00")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dead_letter_row(r: Rejected) -> dict[str, Any]:
    """The row for a dead letter; every text is sanitised, so writing it cannot fail on input."""
    payload = bytes(r.payload) if r.payload is not None else b""
    truncated = len(payload) > r.max_stored_bytes
    return {
        "received_at": r.received_at,
        "transport": clean_text(r.transport, 8),
        "topic": clean_text(r.topic, 1024) if r.topic is not None else None,
        "nsp_id": clean_text(r.nsp_id, 200) if r.nsp_id is not None else None,
        "reason": clean_text(r.reason, MAX_REASON),
        "payload": payload[: r.max_stored_bytes],
        "payload_size": len(payload),
        "truncated": truncated,
        "message_id": clean_text(r.message_id, 26) if r.message_id else None,
        "step": clean_text(r.step, 60),
        "exercise_id": exercise_in_payload(payload),
    }


_EXERCISE_FIELD = re.compile(rb'"exercise"\s*:\s*"([a-z0-9][a-z0-9_-]{0,62})"')


def exercise_in_payload(payload: bytes) -> str | None:
    """The exercise id a rejected payload names (so a broken exercise message is marked and
    purged with its exercise); None when it names none. A regex, not a parser: it cannot
    fail on whatever the payload is."""
    found = _EXERCISE_FIELD.search(payload[: 64 * 1024])
    return found.group(1).decode() if found else None


def write_dead_letters(conn: Connection, rejected: list[Rejected]) -> None:
    """Insert dead letters; a re-processed one updates its row, and one identical to an
    unresolved dead letter (a retained message seen again, a gateway's resend) is not
    written twice."""
    if not rejected:
        return
    table = table_of(DeadLetter)
    rows = []
    for r in rejected:
        row = dead_letter_row(r)
        if r.dead_letter_id is not None:
            # The original reason stays; what the new attempt found is its resolution note.
            conn.execute(
                sa.update(table)
                .where(table.c.id == r.dead_letter_id)
                .where(table.c.resolved_at.is_(None))
                .values(resolution=clean_text(f"re-process failed: {r.reason}", MAX_REASON))
            )
            continue
        if (r.dedupe or r.message_id) and _known_dead_letter(conn, row):
            continue
        rows.append(row)
    if rows:
        conn.execute(sa.insert(table), rows)


def _known_dead_letter(conn: Connection, row: dict[str, Any]) -> bool:
    table = table_of(DeadLetter)
    query = sa.select(table.c.payload).where(
        table.c.payload_size == row["payload_size"], table.c.resolved_at.is_(None)
    )
    for column in ("nsp_id", "topic", "message_id"):
        value = row[column]
        query = query.where(
            table.c[column].is_(None) if value is None else table.c[column] == value
        )
    return any(bytes(p) == row["payload"] for (p,) in conn.execute(query.limit(20)))
