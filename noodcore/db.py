"""The database engine and the UTC column type, shared by the CP service and the gateway.

Invariant: a committed row survives a power cut (SQLite: WAL with ``synchronous=FULL``, set on
every connection because SQLite forgets it on reconnect), and every timestamp that goes in or
comes out is an aware UTC datetime (a naive one is a programming error, not a silent shift).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike.

    SQLite has no time zone type; storing naive UTC everywhere keeps one code path and keeps
    every timestamp comparable.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        tz = value.tzinfo
        if tz is UTC:  # the common case (utcnow, values read back): no conversion
            return value.replace(tzinfo=None)
        if tz is None:
            raise ValueError("naive datetime given to a UTC column; use UTC-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class EncodedJSON(str):
    """JSON text already encoded (say by pydantic's ``model_dump_json``, in Rust): a JSON
    column stores it as it is instead of encoding a dict again with the stdlib encoder.
    Only for text that is valid JSON by construction."""

    __slots__ = ()


def json_serializer(value: Any) -> str:
    """The engines' JSON encoder: ``EncodedJSON`` passes through, anything else is encoded."""
    if isinstance(value, EncodedJSON):
        return str(value)
    return json.dumps(value)


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def set_pragmas(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers run while a worker writes; synchronous=FULL in WAL mode fsyncs the
        # WAL on every commit, so what was acknowledged is on disk (NORMAL would lose the last
        # commits on power loss).
        assert isinstance(dbapi_conn, sqlite3.Connection)
        cur = dbapi_conn.cursor()
        try:
            mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() not in ("wal", "memory"):
                log.warning("SQLite refused WAL mode (got %r); durability relies on %s", mode, mode)
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.execute("PRAGMA foreign_keys=ON")
        finally:
            cur.close()

    return set_pragmas


def make_engine(url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    """An engine with the durability settings above; creates a SQLite file's directory."""
    if url.startswith("sqlite"):
        db_path = sa.engine.make_url(url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            # API threads, the MQTT thread and the workers share the engine.
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            pool_pre_ping=True,
            json_serializer=json_serializer,
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))
        return engine
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        json_serializer=json_serializer,
    )


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a SQLModel table class, typed (``Model.__table__`` is untyped).

    The one way code here uses a table in SQLAlchemy Core statements (bulk inserts, updates
    with expressions, joins over many rows); ORM-style code uses ``sqlmodel.col`` instead.
    """
    table = getattr(model, "__table__", None)
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not a table model (table=True)")
    return table


# SQLite allows 32,766 bound variables per statement (3.32+), PostgreSQL 65,535.
_MAX_PARAMS = 30_000


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """What ``UTCDateTime`` then SQLite's ``DATETIME`` bind processor make of ``value`` (naive
    UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'), by ``isoformat`` in C instead of two Python layers
    and a %-format: the two took a tenth of a P1 burst's grouping (py-spy). Byte-identical to
    SQLAlchemy's text, which the ordering of timestamps in SQLite depends on (tested)."""
    if value is None:
        return None
    tz = value.tzinfo
    if tz is not UTC:
        if tz is None:
            raise ValueError("naive datetime given to a UTC column; use UTC-aware times")
        value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(" ")
    return text if value.microsecond else text + ".000000"


def _processor(dialect: sa.Dialect, column: sa.Column[Any]) -> Any:
    if dialect.name == "sqlite" and isinstance(column.type, UTCDateTime):
        return _sqlite_utc_text
    generic = column.type.dialect_impl(dialect).bind_processor(dialect)
    if dialect.name == "sqlite" and type(column.type) is sa.Boolean and generic is not None:
        return _sqlite_bool(generic)
    return generic


def _sqlite_bool(generic: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLAlchemy's ``Boolean`` bind processor on SQLite (``generic``) with True and False
    answered in one call instead of its two (it checks, then converts); anything else (None,
    0 and 1, a wrong value and its error) still goes to ``generic``."""

    def process(value: Any) -> Any:
        if value is True:
            return 1
        if value is False:
            return 0
        return generic(value)

    return process


def _bound(
    dialect: sa.Dialect, table: sa.Table, cols: list[str], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Each row's values for ``cols`` in that order, through the column types' own bind
    processors (what ``conn.execute`` would send, without its per-value machinery)."""
    procs = [(i, p) for i, p in enumerate(_processor(dialect, table.c[c]) for c in cols) if p]
    out: list[tuple[Any, ...]] = []
    for r in rows:
        values = [r[c] for c in cols]
        for i, p in procs:
            values[i] = p(values[i])
        out.append(tuple(values))
    return out


def in_values(
    conn: sa.Connection, column: sa.ColumnElement[Any], values: Sequence[Any]
) -> sa.ColumnElement[bool]:
    """``column IN values`` for a hot path's long id lists: on PostgreSQL one array parameter
    (``column = ANY(%s)``), elsewhere SQLAlchemy's expanding ``IN``.

    Why: an expanding ``IN`` of 500 ids renders 500 placeholders on every call. SQLAlchemy
    builds them value by value, psycopg parses the long statement again in Python (it caches
    only short ones), and PostgreSQL sees a different text for every list length, so it never
    prepares it. That was about a tenth of the grouping process's samples on PostgreSQL
    (py-spy); with one array parameter the text is the same every time. Same result (no
    duplicates are added; NULLs never match either way)."""
    if conn.dialect.name == "postgresql":
        item: Any = column.type
        if isinstance(item, sa.String):
            # Not VARCHAR(n)[]: an explicit cast cuts a longer value to n characters, and
            # the cut value could match another row. Plain VARCHAR compares the value whole.
            item = sa.String()
        param = sa.bindparam(None, list(values), type_=postgresql.ARRAY(item))
        return column == sa.any_(param)
    return column.in_(list(values))


def fast_insert(
    conn: sa.Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    *,
    on_conflict_do_nothing: str | None = None,
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """Insert many rows with a fraction of SQLAlchemy's per-row cost, for ingest's hot path.

    Every row must have the same keys. Each value goes through its column type's bind
    processor exactly as in ``conn.execute(sa.insert(table), rows)``; what is skipped is the
    generic per-row parameter machinery (about 4 µs per value). Without ``returning`` it is
    one ``executemany``; with it, multi-row ``INSERT ... VALUES (...), (...) RETURNING``
    statements (SQLite >= 3.35), on PostgreSQL a pipelined ``executemany``. On PostgreSQL a
    plain insert is one COPY (``_copy_rows``), and so is one with ON CONFLICT whose rows are
    all new and whose ``returning`` columns are among the given ones (``_copy_unless_stored``).
    Returned values come back raw from the driver, or as bound (no result processing), and
    in no particular order: return plain columns (ids, text) and match rows by a unique one.
    ``on_conflict_do_nothing`` names the unique column.
    """
    if not rows:
        return []
    dialect = conn.dialect
    cols, values, (head, one, tail) = _insert_parts(dialect, table, rows, on_conflict_do_nothing)
    if not returning:
        if dialect.name == "postgresql" and on_conflict_do_nothing is None:
            _copy(conn, table, cols, values)
            return []
        conn.exec_driver_sql(head + one + tail, values)
        return []
    if dialect.name == "postgresql" and on_conflict_do_nothing and set(returning) <= set(cols):
        copied = _copy_unless_stored(conn, table, cols, values, returning)
        if copied is not None:
            return copied
    prep = dialect.identifier_preparer
    tail += " RETURNING " + ", ".join(prep.quote(c) for c in returning)
    out: list[tuple[Any, ...]] = []
    if dialect.name == "postgresql":
        # psycopg's executemany with returning: one short statement (its parsed form is
        # cached; a multi-row VALUES statement is parsed again in Python on every call,
        # which was an eighth of the ingest thread on PostgreSQL), sent in pipeline mode.
        sql = head + one + tail
        with _driver_errors(conn, sql):
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(sql, values, returning=True)
                while True:
                    out.extend(tuple(r) for r in cursor.fetchall())
                    if not cursor.nextset():
                        break
            finally:
                cursor.close()
        return out
    per = max(1, _MAX_PARAMS // len(cols))
    for start in range(0, len(values), per):
        chunk = values[start : start + per]
        sql = head + ", ".join([one] * len(chunk)) + tail
        flat = tuple(v for row in chunk for v in row)
        out.extend(tuple(r) for r in conn.exec_driver_sql(sql, flat))
    return out


def _insert_parts(
    dialect: sa.Dialect,
    table: sa.Table,
    rows: list[dict[str, Any]],
    on_conflict_do_nothing: str | None,
) -> tuple[list[str], list[tuple[Any, ...]], tuple[str, str, str]]:
    """The rows' columns, their bound values, and the statement in three parts: ``INSERT
    INTO t (cols) VALUES``, one row's placeholders, the ON CONFLICT tail."""
    cols = list(rows[0])
    if any(len(r) != len(cols) for r in rows):
        raise ValueError("insert: every row needs the same columns")
    values = _bound(dialect, table, cols, rows)
    prep = dialect.identifier_preparer
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    head = (
        f"INSERT INTO {prep.format_table(table)} ({', '.join(prep.quote(c) for c in cols)}) VALUES "
    )
    one = "(" + ", ".join([mark] * len(cols)) + ")"
    tail = ""
    if on_conflict_do_nothing is not None:
        tail += f" ON CONFLICT ({prep.quote(on_conflict_do_nothing)}) DO NOTHING"
    return cols, values, (head, one, tail)


def _copy_statement(dialect: sa.Dialect, table: sa.Table, cols: list[str]) -> str:
    prep = dialect.identifier_preparer
    return f"COPY {prep.format_table(table)} ({', '.join(prep.quote(c) for c in cols)}) FROM STDIN"


def _copy_rows(cursor: Any, sql: str, values: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows in one ``COPY ... FROM STDIN`` (psycopg escapes each value).

    Why not ``executemany``: COPY has no per-row statement (bind, execute, result) on either
    side. 20,000 four-column rows in batches of 500, measured alone (PostgreSQL 15, psycopg
    3.3 binary): client 1.8 against 12 µs per row, server 4.5 – 6.5 against 11. Not in
    pipeline mode, and with no ON CONFLICT or RETURNING: only for plain inserts."""
    with cursor.copy(sql) as copy:
        for row in values:
            copy.write_row(row)


def _copy(
    conn: sa.Connection, table: sa.Table, cols: list[str], values: list[tuple[Any, ...]]
) -> None:
    """``_copy_rows`` on the connection's own psycopg connection, errors as SQLAlchemy's."""
    sql = _copy_statement(conn.dialect, table, cols)
    with _driver_errors(conn, sql):
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            _copy_rows(cursor, sql, values)
        finally:
            cursor.close()


def _copy_unless_stored(
    conn: sa.Connection,
    table: sa.Table,
    cols: list[str],
    values: list[tuple[Any, ...]],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]] | None:
    """PostgreSQL, ``fast_insert`` with ON CONFLICT DO NOTHING: first try the rows as one
    COPY in a savepoint. Usually none is stored yet (ingest's messages), and then every row
    is inserted and what RETURNING would give is in the rows themselves. A unique violation
    (a retry, a concurrent writer's row, a key twice in the call) rolls back to the
    savepoint and returns None: the caller inserts row by row with ON CONFLICT. COPY waits
    for a concurrent writer's uncommitted key as an INSERT does, and takes the keys in the
    order given, so concurrent writers that sort their rows cannot deadlock."""
    try:
        with conn.begin_nested():
            _copy(conn, table, cols, values)
    except sa.exc.IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != "23505":  # unique_violation
            raise
        return None
    at = [cols.index(c) for c in returning]
    return [tuple(row[i] for i in at) for row in values]


def _update_statement(
    dialect: sa.Dialect,
    table: sa.Table,
    key: str,
    rows: list[dict[str, Any]],
    where: str = "",
) -> tuple[str, list[tuple[Any, ...]]]:
    cols = [c for c in rows[0] if c != key]
    if any(len(r) != len(cols) + 1 for r in rows):
        raise ValueError("PendingWrites.update: every row needs the same columns")
    values = _bound(dialect, table, [*cols, key], rows)
    prep = dialect.identifier_preparer
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join(f"{prep.quote(c)} = {mark}" for c in cols)
    sql = f"UPDATE {prep.format_table(table)} SET {sets} WHERE {prep.quote(key)} = {mark}"
    return sql + (f" AND {where}" if where else ""), values


class PendingWrites:
    """Result-less INSERTs and UPDATEs of one transaction, sent together by ``flush``.

    Invariant: the statements run in the order they were added, in the caller's transaction,
    at ``flush`` (nothing before it), with the same bind processing as ``fast_insert`` (no
    Python-side column defaults: give every column). Only for writes whose results nobody
    reads before ``flush`` and that no statement before ``flush`` depends on.

    Why: the ingest worker is one thread. Each ``executemany`` was a round trip it waited
    for while PostgreSQL worked, and grouping's write phase made about eight per batch (a
    third of the worker's waits on PostgreSQL, py-spy). Here the updates go in a psycopg
    pipeline with one sync (the server runs them back to back while Python is still sending)
    and each insert is one COPY, which ends a pipeline (``flush``). SQLite runs in-process, so
    there they simply run one after the other.
    """

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        # (SQL, rows, whether the SQL is a COPY)
        self._statements: list[tuple[str, list[tuple[Any, ...]], bool]] = []

    def insert(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """``fast_insert(conn, table, rows)`` at ``flush`` (every row with the same keys)."""
        if not rows:
            return
        dialect = self.conn.dialect
        cols, values, (head, one, tail) = _insert_parts(dialect, table, rows, None)
        if dialect.name == "postgresql":
            self._statements.append((_copy_statement(dialect, table, cols), values, True))
        else:
            self._statements.append((head + one + tail, values, False))

    def update(
        self, table: sa.Table, key: str, rows: list[dict[str, Any]], where: str = ""
    ) -> None:
        """``UPDATE table SET c = ... WHERE key = ...`` per row at ``flush`` (every row
        with the same keys, ``key`` among them; its value picks the row); ``where`` (SQL
        text, no parameters) narrows which rows each update may change."""
        if rows:
            sql, values = _update_statement(self.conn.dialect, table, key, rows, where)
            self._statements.append((sql, values, False))

    def flush(self) -> None:
        """Run what was added, in order; the list is empty afterwards, also after an error.

        On PostgreSQL the inserts are COPYs (``_copy_rows``), which cannot run in a pipeline:
        the statements between two COPYs go in one pipeline each."""
        statements, self._statements = self._statements, []
        if self.conn.dialect.name != "postgresql":
            for sql, values, _ in statements:
                self.conn.exec_driver_sql(sql, values)
            return
        raw = self.conn.connection.driver_connection
        # An error surfaces at the sync, so it names every statement of the flush.
        with (
            _driver_errors(self.conn, "; ".join(sql for sql, _, _ in statements)),
            raw.cursor() as cursor,  # type: ignore[union-attr]
        ):
            run: list[tuple[str, list[tuple[Any, ...]]]] = []
            for sql, values, copy in [*statements, ("", [], True)]:
                if not copy:
                    run.append((sql, values))
                    continue
                if len(run) == 1:
                    cursor.executemany(*run[0])
                elif run:
                    with raw.pipeline():  # type: ignore[union-attr]
                        for each in run:
                            cursor.executemany(*each)
                run = []
                if sql:
                    _copy_rows(cursor, sql, values)


@contextlib.contextmanager
def _driver_errors(conn: sa.Connection, sql: str) -> Iterator[None]:
    """Driver errors from code that talks to psycopg directly, raised as SQLAlchemy raises
    them from ``conn.execute``: callers (ingest's ``is_transient``) tell "the database is
    busy or gone, retry" from "this row is bad" by SQLAlchemy's classes and the SQLSTATE, and
    a connection the server dropped is invalidated so the pool replaces it."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raw = conn.connection.driver_connection
        lost = bool(getattr(raw, "closed", False) or getattr(raw, "broken", False))
        if lost:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            sql,
            None,
            exc,
            dbapi_error,
            connection_invalidated=lost,
            dialect=conn.dialect,
        ) from exc
