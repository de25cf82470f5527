"""Fixtures for the upward path: several databases in one test (CPs, region, national)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, test_db_kind
from tests.upstream.support import CHROMIUM, CHROMIUM_ARGS


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


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (which must never download a browser)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: apt-get install chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
