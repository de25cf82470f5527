"""Who is the active CP process: the one holding the CP's PostgreSQL advisory lock.

Invariants, and why:
  * The lock is session-level and lives on a dedicated connection (never one of the engine's
    pooled connections, which are reset and shared): it is held exactly as long as that
    session lives. When the active process dies (SIGKILL, power loss), PostgreSQL ends its
    session and frees the lock; a standby polling ``pg_try_advisory_lock`` every
    ``ha_check_seconds`` then takes it. TCP keepalives on the connection bound how long a
    vanished host keeps it (a killed process on a live host closes its socket at once).
  * The active process checks its lock connection every ``ha_check_seconds``. When the check
    fails it can no longer know whether it still holds the lock (the session may be gone and
    a standby active), so it stops at once (``on_lost``: the runtime exits the process, and
    the service manager restarts it as a standby). Two active processes must never both run
    the forwarder or the MQTT subscription.
  * A standby polls instead of blocking in ``pg_advisory_lock``: it stays stoppable and its
    own connection failures are seen and retried, never hung on.
  * On SQLite there is one process per database by design (``service.ingest``): the lock is a
    no-op that is always held.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from noodcore.worker import Worker, utcnow

log = logging.getLogger(__name__)

# libpq keepalives on the lock connection: a host that vanished is noticed within ~6 s.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 1,
    "keepalives_count": 3,
    "connect_timeout": 5,
}


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for ``name``."""
    digest = hashlib.sha256(f"noodnet:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLock(Worker):
    """Waits for, holds and watches the CP's leader lock (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        cp_id: str,
        check_seconds: float,
        on_acquired: Callable[[], None],
        on_lost: Callable[[str], None],
    ) -> None:
        super().__init__(
            "leader-lock",
            interval=check_seconds,
            backoff_base=check_seconds,
            backoff_cap=check_seconds,
            failure_threshold=1_000_000,  # a standby retrying is healthy; see health below
        )
        self.postgres = engine.dialect.name == "postgresql"
        self.key = lock_key(f"leader:{cp_id}")
        self.check_seconds = check_seconds
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._url = engine.url
        self._lock_engine: Engine | None = None
        self._conn: Connection | None = None
        self._active = threading.Event()
        self.acquired_at: datetime | None = None
        self.waiting_since = time.monotonic()
        self.takeover_seconds: float | None = None

    @property
    def active(self) -> bool:
        return self._active.is_set()

    def wait_active(self, timeout: float | None = None) -> bool:
        return self._active.wait(timeout)

    def start(self) -> None:
        if not self.postgres:
            # SQLite: one process per database, always the active one.
            self._become_active()
            return
        super().start()

    # -- the loop -----------------------------------------------------------------------

    def step(self) -> float | None:
        if not self.active:
            if self._try_acquire():
                self._become_active()
            return self.check_seconds
        error = self._check()
        if error is not None:
            self._drop_connection()
            self._active.clear()
            log.critical("lost the leader lock connection (%s): stopping the active role", error)
            self._on_lost(error)
        return self.check_seconds

    def close(self) -> None:
        self._drop_connection()

    # -- internals ----------------------------------------------------------------------

    def _connection(self) -> Connection:
        if self._conn is None:
            if self._lock_engine is None:
                self._lock_engine = sa.create_engine(
                    self._url, poolclass=NullPool, connect_args=dict(KEEPALIVES)
                )
            conn = self._lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # Let the check below never hang on a stalled server.
            conn.exec_driver_sql("SET statement_timeout = '5s'")
            conn.exec_driver_sql("SET application_name = 'noodnet-cp leader lock'")
            self._conn = conn
        return self._conn

    def _try_acquire(self) -> bool:
        try:
            got = (
                self._connection()
                .execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
                .scalar()
            )
        except Exception:
            self._drop_connection()
            raise  # counted by the worker loop; retried after check_seconds
        return bool(got)

    def _check(self) -> str | None:
        """None while this session provably holds the lock; else why not."""
        try:
            held = (
                self._connection()
                .execute(
                    sa.text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND pid = pg_backend_pid() AND granted "
                        "AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1"
                    ),
                    {"hi": (self.key >> 32) & 0xFFFFFFFF, "lo": self.key & 0xFFFFFFFF},
                )
                .scalar()
            )
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if held else "the advisory lock is no longer held by this session"

    def _become_active(self) -> None:
        self.takeover_seconds = time.monotonic() - self.waiting_since
        self.acquired_at = utcnow()
        self._active.set()
        log.warning("leader lock acquired: this process is the active CP")
        self._on_acquired()

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # already broken
                pass
        if self._lock_engine is not None:
            self._lock_engine.dispose()
            self._lock_engine = None

    def describe(self) -> dict[str, Any]:
        return {
            "role": "active" if self.active else "standby",
            "since": self.acquired_at.isoformat() if self.acquired_at else None,
            "lock": "postgresql advisory" if self.postgres else "none (sqlite: single process)",
        }
