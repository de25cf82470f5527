"""Fixtures for the upward path: several databases in one test (CPs, region, national)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, test_db_kind


@pytest.fixture
def make_database_url(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``make("cp-a")`` → a fresh database URL (SQLite file or throwaway PostgreSQL DB)."""
    created: list[str] = []
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def make(name: str) -> str:
        if test_db_kind() != "postgres":
            return f"sqlite:///{tmp_path / f'{name}.db'}"
        db = f"noodnet_t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
        created.append(db)
        return sa.engine.make_url(PG_ADMIN_URL).set(database=db).render_as_string(False)

    try:
        yield make
    finally:
        if created:
            with admin.connect() as conn:
                for db in created:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
