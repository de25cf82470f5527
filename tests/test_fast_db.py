"""noodcore.db.fast_insert / PendingWrites: what they write reads back as SQLAlchemy's own
statements would have written it (UTC datetimes, JSON, NULLs), on SQLite and PostgreSQL;
PendingWrites runs its statements in order at flush, and a failing one fails the flush as
SQLAlchemy's own error (on PostgreSQL the inserts are COPYs and the statements between them go
in one pipeline)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from noodcore.db import (
    EncodedJSON,
    PendingWrites,
    UTCDateTime,
    fast_insert,
    in_values,
    make_engine,
)
from tests.conftest import test_db_kind as db_kind

META = sa.MetaData()
ITEMS = sa.Table(
    "fast_item",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40)),
    sa.Column("seen", UTCDateTime()),
    sa.Column("tags", sa.JSON),
    sa.Column("count", sa.Integer),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test's own database, with this module's tables."""
    engine = make_engine(database_url)
    try:
        META.create_all(engine)
        yield engine
    finally:
        engine.dispose()


def test_fast_insert_then_update_reads_back(engine: Engine) -> None:
    t0 = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    plus_one = timezone(timedelta(hours=1))
    with engine.begin() as conn:
        got = fast_insert(
            conn,
            ITEMS,
            [
                {"name": "a", "seen": t0, "tags": ["x"], "count": 1},
                {"name": "b", "seen": t0, "tags": [], "count": 2},
                {"name": "c", "seen": None, "tags": None, "count": None},
            ],
            returning=("id", "name"),
        )
        ids = {name: i for i, name in got}
        writes = PendingWrites(conn)
        writes.update(
            ITEMS,
            "id",
            [
                # An aware datetime in another zone is stored as the same instant.
                {"id": ids["a"], "seen": t0.astimezone(plus_one), "tags": ["x", "y"]},
                {"id": ids["c"], "seen": t0 + timedelta(seconds=1), "tags": {"k": 1}},
            ],
        )
        writes.update(ITEMS, "id", [])  # nothing to do is no statement
        writes.insert(ITEMS, [])
        writes.flush()
    with engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(sa.select(ITEMS))}
    assert rows["a"].seen == t0 and rows["a"].seen.tzinfo is UTC
    assert rows["a"].tags == ["x", "y"] and rows["a"].count == 1
    assert rows["b"].seen == t0 and rows["b"].tags == [] and rows["b"].count == 2
    assert rows["c"].seen == t0 + timedelta(seconds=1) and rows["c"].tags == {"k": 1}
    assert rows["c"].count is None


KEYED = sa.Table(
    "fast_keyed",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(40), unique=True),
    sa.Column("n", sa.Integer),
)


def test_fast_insert_on_conflict_returns_only_the_rows_it_inserted(engine: Engine) -> None:
    with engine.begin() as conn:
        first = fast_insert(
            conn,
            KEYED,
            [{"key": "a", "n": 1}, {"key": "b", "n": 2}],
            on_conflict_do_nothing="key",
            returning=("key",),
        )
        again = fast_insert(
            conn,
            KEYED,
            [{"key": "b", "n": 20}, {"key": "c", "n": 3}, {"key": "a", "n": 10}],
            on_conflict_do_nothing="key",
            returning=("key",),
        )
    assert sorted(k for (k,) in first) == ["a", "b"]
    assert [k for (k,) in again] == ["c"]  # the existing keys are neither written nor returned
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(KEYED.c.key, KEYED.c.n)).all())
    assert rows == {"a": 1, "b": 2, "c": 3}


def test_sqlite_datetime_text_is_sqlalchemys_own() -> None:
    """fast_insert's shortcut for UTC datetimes on SQLite writes exactly the text SQLAlchemy
    writes (timestamps are compared as text in SQLite): whole seconds, microseconds, years
    below 1000, other zones, None; a naive datetime is refused as by UTCDateTime."""
    import random

    from noodcore.db import _sqlite_utc_text

    dialect = sa.create_engine("sqlite://").dialect
    column_type = UTCDateTime()
    inner = column_type.dialect_impl(dialect).bind_processor(dialect)
    assert inner is not None
    rng = random.Random(7)
    zones = [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=9, minutes=30))]
    values: list[datetime | None] = [
        None,
        datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=zones[1]),
    ]
    for _ in range(2000):
        values.append(
            datetime(
                rng.randint(1, 9999),
                rng.randint(1, 12),
                rng.randint(1, 28),
                rng.randint(0, 23),
                rng.randint(0, 59),
                rng.randint(0, 59),
                rng.choice([0, rng.randint(0, 999_999)]),
                tzinfo=zones[0] if rng.random() < 0.8 else rng.choice(zones[1:]),
            )
        )
    for value in values:
        if value is not None and not (datetime.min.replace(tzinfo=UTC) < value):
            continue
        try:
            expected = inner(value)
        except OverflowError:
            continue  # out of range in UTC (year 1 minus hours): both refuse
        assert _sqlite_utc_text(value) == expected, value
    with pytest.raises(ValueError, match="naive"):
        _sqlite_utc_text(datetime(2026, 12, 3))


def test_sqlite_boolean_values_are_sqlalchemys_own() -> None:
    """fast_insert's shortcut for booleans on SQLite gives what SQLAlchemy's ``Boolean``
    gives for every value: 1, 0, None, the integers 1 and 0, and the same error for
    anything else."""
    from noodcore.db import _processor

    dialect = sa.create_engine("sqlite://").dialect
    column = sa.Column("flag", sa.Boolean())
    ours = _processor(dialect, column)
    theirs = sa.Boolean().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None and ours is not theirs
    for value in (True, False, None, 1, 0, 2, -1, "yes", "", 1.0, [], object()):
        outcome = []
        for process in (ours, theirs):
            try:
                outcome.append(("value", process(value), type(process(value))))
            except Exception as exc:
                outcome.append(("error", type(exc), str(exc)))
        assert outcome[0] == outcome[1], (value, outcome)


def test_pending_writes_run_in_order_at_flush_and_fail_as_sqlalchemy_errors(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        writes = PendingWrites(conn)
        writes.insert(KEYED, [{"key": f"k{i}", "n": i} for i in range(5)])
        # Runs after the insert (order kept), and only where the extra condition holds.
        writes.update(
            KEYED,
            "key",
            [{"key": "k1", "n": 10}, {"key": "k2", "n": 20}, {"key": "k3", "n": 30}],
            where="n < 3",
        )
        writes.insert(KEYED, [{"key": "k9", "n": 9}])
        assert conn.execute(sa.select(sa.func.count()).select_from(KEYED)).scalar() == 0
        writes.flush()
        writes.flush()  # already sent: nothing runs twice
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(KEYED.c.key, KEYED.c.n)).all())
    assert rows == {"k0": 0, "k1": 10, "k2": 20, "k3": 3, "k4": 4, "k9": 9}

    # A statement that fails (a duplicate key, not the first statement) fails the flush
    # as SQLAlchemy's IntegrityError and the transaction writes nothing.
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        writes = PendingWrites(conn)
        writes.insert(KEYED, [{"key": "new", "n": 1}])
        writes.update(KEYED, "key", [{"key": "k0", "n": 100}])
        writes.insert(KEYED, [{"key": "k4", "n": 44}])
        writes.flush()
    with engine.connect() as conn:
        after = dict(conn.execute(sa.select(KEYED.c.key, KEYED.c.n)).all())
        assert after == rows  # rolled back, and the connection works afterwards
    with pytest.raises(ValueError, match="same columns"), engine.begin() as conn:
        PendingWrites(conn).insert(KEYED, [{"key": "x", "n": 1}, {"key": "y"}])


@pytest.mark.skipif(
    db_kind() != "postgres",
    reason="PostgreSQL pass only: on SQLite both paths go through SQLAlchemy's own "
    "exec_driver_sql, which already raises its errors (no psycopg call to wrap)",
)
def test_driver_paths_raise_sqlalchemy_errors_that_ingest_can_classify(engine: Engine) -> None:
    """fast_insert's RETURNING path and PendingWrites talk to psycopg directly on PostgreSQL.
    What the server refuses must still come out as SQLAlchemy's error: ingest tells "the
    database is busy, retry and ack nothing" (here a lock timeout, SQLSTATE 55P03) from "this
    message is bad" by it, and a raw driver error would count as a bad message."""
    from service.store import is_transient

    with engine.connect() as holder:
        holder.begin()
        # An uncommitted row with the same unique key: an insert of "t" waits for it.
        holder.execute(sa.insert(KEYED), [{"key": "t", "n": 0}])
        for use in ("fast_insert", "pending"):
            with pytest.raises(sa.exc.DBAPIError) as caught, engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL lock_timeout = '50ms'"))
                if use == "fast_insert":
                    fast_insert(conn, KEYED, [{"key": "t", "n": 1}], returning=("key",))
                else:
                    writes = PendingWrites(conn)
                    writes.insert(KEYED, [{"key": "s", "n": 1}])
                    writes.insert(KEYED, [{"key": "t", "n": 1}])
                    writes.flush()
            assert getattr(caught.value.orig, "sqlstate", None) == "55P03", caught.value
            assert is_transient(caught.value), (use, caught.value)
        holder.rollback()
    with engine.begin() as conn:  # the pool's connections work afterwards
        fast_insert(conn, KEYED, [{"key": "t", "n": 1}], returning=("key",))
    with engine.connect() as conn:
        assert dict(conn.execute(sa.select(KEYED.c.key, KEYED.c.n)).all()) == {"t": 1}


def test_plain_inserts_store_any_text_as_sqlalchemy_does(engine: Engine) -> None:
    """fast_insert without RETURNING and PendingWrites.insert are COPYs on PostgreSQL (text
    format, where tab, newline, backslash and ``\\N`` mean something): every value reads
    back as the same row inserted by SQLAlchemy's own statement reads back."""
    t0 = datetime(2026, 12, 5, 9, 30, 1, 123456, tzinfo=UTC)
    awkward = ["tab\there", "line\nbreak\r\n", "back\\slash", "\\N", "", "'\"", "ëü — ✓"]
    rows = [
        {
            "name": text[:40],
            "seen": t0 + timedelta(seconds=i) if i % 3 else None,
            "tags": [text, {"k": text}] if i % 2 else EncodedJSON(json.dumps({"t": text})),
            "count": i if i % 4 else None,
        }
        for i, text in enumerate(awkward)
    ]
    rows.append({"name": None, "seen": None, "tags": None, "count": None})
    read: list[list[tuple[object, ...]]] = []
    for how in ("sqlalchemy", "fast_insert", "pending"):
        with engine.begin() as conn:
            if how == "sqlalchemy":
                conn.execute(sa.insert(ITEMS), rows)
            elif how == "fast_insert":
                fast_insert(conn, ITEMS, rows)
            else:
                writes = PendingWrites(conn)
                writes.insert(ITEMS, rows[:3])
                writes.update(ITEMS, "name", [{"name": rows[0]["name"], "count": 99}])
                writes.insert(ITEMS, rows[3:])
                writes.flush()
            got = conn.execute(
                sa.select(ITEMS.c.name, ITEMS.c.seen, ITEMS.c.tags, ITEMS.c.count).order_by(
                    ITEMS.c.id
                )
            ).all()
            conn.execute(sa.delete(ITEMS))
        read.append([tuple(r) for r in got])
    assert read[1] == read[0], (read[0], read[1])
    expected = [(r[0], r[1], r[2], 99 if i == 0 else r[3]) for i, r in enumerate(read[0])]
    assert read[2] == expected
    assert read[0][0][0] == "tab\there" and read[0][3][0] == "\\N" and read[0][-1][0] is None


def test_fast_insert_refuses_what_a_plain_insert_refuses(engine: Engine) -> None:
    """A value too long for its column is refused as a plain INSERT refuses it (on
    PostgreSQL), never cut to fit; and a key given twice in one call with ON CONFLICT DO
    NOTHING keeps the first row, as row-by-row inserts do. (A guard for any faster path:
    sending columns as arrays cast to ``varchar(n)[]`` would cut silently.)"""
    too_long = {"key": "k" * 41, "n": 1}  # KEYED.key is String(40)
    outcomes = []
    for insert in (
        lambda conn: conn.execute(sa.insert(KEYED), [too_long]),
        lambda conn: fast_insert(conn, KEYED, [too_long]),
        lambda conn: fast_insert(conn, KEYED, [too_long], returning=("key",)),
    ):
        try:
            with engine.begin() as conn:
                insert(conn)
                stored = conn.execute(sa.select(KEYED.c.key)).scalars().all()
                conn.execute(sa.delete(KEYED))
            outcomes.append(("stored", stored))
        except sa.exc.DBAPIError as exc:
            outcomes.append(("refused", type(exc).__name__))
    assert outcomes[1] == outcomes[0] and outcomes[2] == outcomes[0], outcomes
    if engine.dialect.name == "postgresql":
        assert outcomes[0] == ("refused", "DataError")
    with engine.begin() as conn:
        got = fast_insert(
            conn,
            KEYED,
            [{"key": "d", "n": 1}, {"key": "e", "n": 2}, {"key": "d", "n": 3}],
            on_conflict_do_nothing="key",
            returning=("key", "n"),
        )
    assert sorted(got) == [("d", 1), ("e", 2)]
    with engine.connect() as conn:
        assert dict(conn.execute(sa.select(KEYED.c.key, KEYED.c.n)).all()) == {"d": 1, "e": 2}


def test_in_values_selects_what_in_selects_with_one_parameter_on_postgresql(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        fast_insert(conn, ITEMS, [{"name": f"n{i}", "count": i} for i in range(600)])
        fast_insert(conn, ITEMS, [{"name": "L" * 40, "count": None}])
        cases = [
            (ITEMS.c.count, list(range(0, 1200, 2))),  # longer than the table, gaps
            (ITEMS.c.count, [5, 5, 7, None]),  # duplicates, a NULL
            (ITEMS.c.name, ["n1", "n599", "x"]),
            (ITEMS.c.name, ["L" * 40 + "x"]),  # longer than String(40): never cut to fit
            (ITEMS.c.name, []),
        ]
        for column, values in cases:
            want = conn.execute(sa.select(ITEMS.c.id).where(column.in_(values))).scalars()
            got = conn.execute(
                sa.select(ITEMS.c.id).where(in_values(conn, column, values))
            ).scalars()
            assert sorted(got) == sorted(want), (column, values[:5])
        deleted = conn.execute(
            sa.delete(ITEMS).where(in_values(conn, ITEMS.c.count, [1, 2])).returning(ITEMS.c.count)
        ).scalars()
        assert sorted(deleted) == [1, 2]
        sql = str(
            sa.select(ITEMS.c.id)
            .where(in_values(conn, ITEMS.c.count, list(range(500))))
            .compile(conn)
        )
        # On PostgreSQL one array parameter, whatever the list's length (a text that
        # psycopg caches and the server prepares); elsewhere the expanding IN.
        assert ("ANY" in sql) == (db_kind() == "postgres"), sql
