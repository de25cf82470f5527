"""This database's identity row: instance id, summary counter, and the upstream writer lock."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.db import table_of
from schemas import new_message_id
from service.upstream.models import UpstreamNode

_node = table_of(UpstreamNode)
_LOCK_KEY = "noodnet.upstream_lock"


def ensure_node(engine: Engine) -> str:
    """Create the identity row on first start; returns the instance id."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(_node.c.instance_id).where(_node.c.id == 1)).first()
        if row is not None:
            return str(row.instance_id)
        conn.execute(
            sa.insert(_node).values(
                id=1,
                instance_id=new_message_id(),
                summary_seq=0,
                summary_due=[],
                lock_count=0,
                due_gen=0,
            )
        )
        return str(conn.execute(sa.select(_node.c.instance_id).where(_node.c.id == 1)).scalar_one())


def take_lock(conn: Connection) -> None:
    """Serialise upstream writers until the caller's transaction ends.

    A row update is the one lock that works the same on both databases: PostgreSQL holds the
    row lock to commit, and on SQLite the first write takes the database write lock (with
    pysqlite a transaction only begins at the first write, so doing it first also avoids a
    stale-snapshot upgrade failure). Taken once per transaction; asking again is free.
    """
    tx = conn.get_transaction()
    if tx is not None and conn.info.get(_LOCK_KEY) is tx:
        return
    conn.execute(sa.update(_node).where(_node.c.id == 1).values(lock_count=_node.c.lock_count + 1))
    # The transaction object is kept referenced here, so a later transaction on this pooled
    # connection can never have the same identity.
    conn.info[_LOCK_KEY] = tx


def next_summary_seq(conn: Connection) -> tuple[str, int]:
    """(instance id, next summary seq); the caller holds the lock."""
    take_lock(conn)
    row = conn.execute(
        sa.update(_node)
        .where(_node.c.id == 1)
        .values(summary_seq=_node.c.summary_seq + 1)
        .returning(_node.c.instance_id, _node.c.summary_seq)
    ).one()
    return str(row.instance_id), int(row.summary_seq)


def mark_summary_due(conn: Connection, triggers: list[str]) -> None:
    """Record, in the caller's transaction, that a summary is owed for these triggers (and
    count the mark in ``due_gen``, also when the triggers were owed already)."""
    take_lock(conn)
    due = conn.execute(sa.select(_node.c.summary_due).where(_node.c.id == 1)).scalar_one()
    merged = list(dict.fromkeys([*due, *triggers]))
    conn.execute(
        sa.update(_node)
        .where(_node.c.id == 1)
        .values(summary_due=merged, due_gen=_node.c.due_gen + 1)
    )


def peek_summary_due(conn: Connection) -> tuple[list[str], int]:
    """The owed triggers and the count of marks so far, without the lock."""
    row = conn.execute(sa.select(_node.c.summary_due, _node.c.due_gen).where(_node.c.id == 1)).one()
    return list(row.summary_due or []), int(row.due_gen)


def owe_summary(conn: Connection, triggers: list[str]) -> None:
    """``mark_summary_due`` for writers outside the upstream part (the operator workflow): a
    database without the identity row (no upstream part was ever started on it) owes none."""
    if conn.execute(sa.select(_node.c.id).where(_node.c.id == 1)).first() is not None:
        mark_summary_due(conn, triggers)


def take_summary_due(conn: Connection, seen_gen: int | None = None) -> list[str]:
    """The owed triggers; the caller holds the lock and makes the summary. They are cleared
    unless ``seen_gen`` is given and a mark came after it (``peek_summary_due``): a summary
    whose content was read before then may lack that change, so the debt stays for the next."""
    due, gen = peek_summary_due(conn)
    if due and (seen_gen is None or gen == seen_gen):
        conn.execute(sa.update(_node).where(_node.c.id == 1).values(summary_due=[]))
    return due


def summary_due(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return peek_summary_due(conn)[0]
