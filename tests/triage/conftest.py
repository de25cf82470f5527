"""Fixtures for triage tests: the CP app in-process (lifespan included) on SQLite or
PostgreSQL, and a way to make more than one database for "same input, two runs"."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, test_db_kind


@pytest.fixture
def make_database_url(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Each call gives a new empty database of the kind under test."""
    made: list[str] = []
    admin = (
        sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        if test_db_kind() == "postgres"
        else None
    )

    def make() -> str:
        if admin is None:
            made.append(f"cp-{len(made)}-{os.getpid()}.db")  # a new file per call
            return f"sqlite:///{tmp_path / made[-1]}"
        name = f"noodnet_t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return (
            sa.engine.make_url(PG_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
