"""The gateway's SQLite engine: ``noodcore.db`` (a committed row survives a power cut) on the
gateway's database file, with a shorter busy timeout (a staff screen should not hang)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from noodcore.db import UTCDateTime
from noodcore.db import make_engine as _make_engine

__all__ = ["BUSY_TIMEOUT_MS", "UTCDateTime", "make_engine"]

BUSY_TIMEOUT_MS = 10_000


def make_engine(db_path: Path) -> Engine:
    """Engine for the gateway database file; creates the parent directory when missing."""
    return _make_engine(f"sqlite:///{db_path}", busy_timeout_ms=BUSY_TIMEOUT_MS)
