"""Shared fixtures: a real broker per test and a database on SQLite or PostgreSQL.

``NOODNET_TEST_DB=postgres`` runs the suite against PostgreSQL: each test gets a throwaway
database on the server at ``NOODNET_TEST_PG_URL`` (default: the local server, database test).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import Mosquitto, MosquittoFactory

# Debian's Chromium, driven by Playwright, which must never download a browser.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PG_ADMIN_URL = os.environ.get(
    "NOODNET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def test_db_kind() -> str:
    return os.environ.get("NOODNET_TEST_DB", "sqlite")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if test_db_kind() != "postgres":
        yield f"sqlite:///{tmp_path / 'cp.db'}"
        return
    name = f"noodnet_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module; each test opens its own pages or contexts."""
    # No skip when it is missing: .ci/run installs it, and a skipped browser test proves nothing.
    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[MosquittoFactory]:
    """Build (not start) brokers: ``factory(extra_conf="...", port=None)``; stopped after."""
    brokers: list[Mosquitto] = []

    def make(extra_conf: str = "", port: int | None = None) -> Mosquitto:
        b = Mosquitto(tmp_path / f"broker{len(brokers)}", port=port, extra_conf=extra_conf)
        brokers.append(b)
        return b

    yield make
    for b in brokers:
        b.stop()


@pytest.fixture
def broker(mosquitto_factory: MosquittoFactory) -> Mosquitto:
    """The usual test broker, started; stopped after the test."""
    return mosquitto_factory().start()


# Tests whose database is not the one under test (the demo runs its own SQLite), whose
# subject is the browser and the HTTP contract rather than storage, or that touch no storage
# at all (property tests of the message contract and the short form): the SQLite pass covers
# them, and running them twice would double the slowest part of CI.
SQLITE_PASS_ONLY = (
    "tests/test_schema_properties.py",
    "tests/test_shortform.py",
    "tests/test_demo.py",
    "tests/web/test_pages_browser.py",
    "tests/web/test_console_browser.py",
    "tests/web/test_relay_browser.py",
    "tests/upstream/test_dashboard_browser.py",
    "tests/web/test_desk_browser.py",
    "tests/web/test_case_view_browser.py",
    "tests/web/test_crisis_room_browser.py",
)
# Tests of the HTTP contract that run once, on PostgreSQL when there is a PostgreSQL pass
# (dev.py test says so in NOODNET_TEST_PASSES), else on SQLite. PostgreSQL is the production
# database, and stricter: a value SQLite takes can be an error there (an id past INTEGER, a
# NUL in text). And the SQLite pass, with the browser and demo tests, is the longer one, so
# the grouping's property test (pure computation, no storage, about 25 s) runs here too.
POSTGRES_PASS_WHEN_BOTH = (
    "tests/test_schemathesis.py::test_schemathesis_cp_service",
    "tests/triage/test_grouping_pruning.py",
)


def both_passes() -> bool:
    return set(os.environ.get("NOODNET_TEST_PASSES", "").split(",")) >= {"sqlite", "postgres"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if test_db_kind() == "postgres":
        skip = pytest.mark.skip(reason="not storage-specific: covered by the SQLite pass")
        only = SQLITE_PASS_ONLY
    elif both_passes():
        skip = pytest.mark.skip(
            reason="runs once, in the PostgreSQL pass alongside (the production database, "
            "or no storage at all)"
        )
        only = POSTGRES_PASS_WHEN_BOTH
    else:
        return
    for item in items:
        if item.nodeid.startswith(only):
            item.add_marker(skip)


# On a failed test, the end of every log its processes wrote (CP, gateways, broker) is
# printed with the failure: an end-to-end test that fails once in CI can then be understood
# from CI's output alone, without a rerun that may not fail.
LOG_TAIL_LINES = 80
LOG_FILES_MAX = 12


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    if report.failed and call.when == "call" and isinstance(tmp, Path):
        report.sections.extend(_log_tails(tmp))
    return report


def _log_tails(tmp: Path) -> list[tuple[str, str]]:
    """(title, last lines) of the newest ``*.log`` files under ``tmp``; a file that goes
    away meanwhile (a process still running) is left out, never an error of the report."""
    found: list[tuple[float, Path]] = []
    for path in tmp.rglob("*.log"):
        with contextlib.suppress(OSError):
            found.append((path.stat().st_mtime, path))
    sections = []
    for _, path in sorted(found)[-LOG_FILES_MAX:]:
        try:
            lines = path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            continue
        sections.append((f"end of {path.relative_to(tmp)}", "\n".join(lines) or "(empty)"))
    return sections
