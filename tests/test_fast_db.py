"""noodcore.db.fast_insert / fast_update: what they write reads back as SQLAlchemy's own
statements would have written it (UTC datetimes, JSON, NULLs), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa

from noodcore.db import UTCDateTime, fast_insert, fast_update, make_engine

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


def test_fast_insert_then_update_reads_back(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        META.create_all(engine)
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
            fast_update(
                conn,
                ITEMS,
                "id",
                [
                    # An aware datetime in another zone is stored as the same instant.
                    {"id": ids["a"], "seen": t0.astimezone(plus_one), "tags": ["x", "y"]},
                    {"id": ids["c"], "seen": t0 + timedelta(seconds=1), "tags": {"k": 1}},
                ],
            )
            fast_update(conn, ITEMS, "id", [])  # nothing to do is no statement
        with engine.connect() as conn:
            rows = {r.name: r for r in conn.execute(sa.select(ITEMS))}
        assert rows["a"].seen == t0 and rows["a"].seen.tzinfo is UTC
        assert rows["a"].tags == ["x", "y"] and rows["a"].count == 1
        assert rows["b"].seen == t0 and rows["b"].tags == [] and rows["b"].count == 2
        assert rows["c"].seen == t0 + timedelta(seconds=1) and rows["c"].tags == {"k": 1}
        assert rows["c"].count is None
    finally:
        engine.dispose()


KEYED = sa.Table(
    "fast_keyed",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(40), unique=True),
    sa.Column("n", sa.Integer),
)


def test_fast_insert_on_conflict_returns_only_the_rows_it_inserted(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        META.create_all(engine)
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
    finally:
        engine.dispose()


def test_sqlite_datetime_text_is_sqlalchemys_own() -> None:
    """fast_insert's shortcut for UTC datetimes on SQLite writes exactly the text SQLAlchemy
    writes (timestamps are compared as text in SQLite): whole seconds, microseconds, years
    below 1000, other zones, None; a naive datetime is refused as by UTCDateTime."""
    import random

    import pytest

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
