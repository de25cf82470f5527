"""A gateway whose disk is full says so: /healthz answers 503 with the reason (little free
space, the last write refused), staff get a clear Dutch message with what they typed still in
the form (not a 500), API clients a 503 that says nothing was saved, and all of it recovers by
itself once space is freed.

The disk is real: a 4 MiB tmpfs mounted for the test and filled with a file until ENOSPC, so
SQLite hits the same "database or disk is full" it would on a full SD card. Where the sandbox
may not mount (unprivileged CI containers), the test falls back to ``PRAGMA max_page_count``
on every connection of the gateway's engine: SQLite's own SQLITE_FULL path, which exercises
the same handling of a refused write but not the free-space check (that part is skipped).
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from gateway.api import create_app
from gateway.settings import GatewaySettings
from tests.conftest import test_db_kind as db_kind
from tests.support import issue_staff_token

pytestmark = pytest.mark.skipif(
    db_kind() == "postgres", reason="the gateway has no CP database: the SQLite pass runs it"
)

HELP = {
    "kind": "help_request",
    "body": {
        "category": "medical",
        "urgency": "P2",
        "location": {"address": "Kerkstraat 3"},
        "description": "Mevrouw gevallen, pols pijnlijk " + "x" * 400,
    },
}


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[tuple[Path, bool]]:
    """(directory, is_small_filesystem)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    try:
        yield mount, done.returncode == 0
    finally:
        if done.returncode == 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


async def test_a_full_disk_is_reported_and_staff_get_a_clear_message(
    disk: tuple[Path, bool],
    settings_factory: Callable[..., GatewaySettings],
) -> None:
    directory, real_fs = disk
    settings = settings_factory(
        db_path=directory / "gw.db",
        health_min_free_bytes=512 * 1024 if real_fs else 0,
        health_write_probe_seconds=0.001,
    )
    token = issue_staff_token(settings.db_path)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://gw",
            headers={"Authorization": f"Bearer {token}"},
        ) as c,
    ):
        assert (await c.get("/healthz")).status_code == 200
        engine = app.state.runtime.outbox.engine
        filler: Path | None = None
        if real_fs:
            filler = _fill(directory)
        else:

            def limit(dbapi_conn: Any, _record: Any) -> None:
                pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
                dbapi_conn.execute(f"PRAGMA max_page_count={pages + 2}")

            event.listen(engine, "connect", limit)
            engine.dispose()

        # Reports are refused once nothing fits any more: a 503 that says so, never a 500.
        answers = [await c.post("/api/v1/reports", json=HELP) for _ in range(200)]
        refused = [r for r in answers if r.status_code != 201]
        assert refused, "the disk never filled up"
        assert {r.status_code for r in refused} == {503}, refused[0].text
        assert "not saved" in refused[0].json()["detail"]
        assert "full" in refused[0].json()["detail"]

        health = await c.get("/healthz")
        assert health.status_code == 503
        detail = health.json()["detail"]
        assert "the last database write failed" in detail and "full" in detail
        if real_fs:
            assert "disk almost full" in detail

        # The staff form: a Dutch message, and what was typed is still there.
        form = {
            "category": "medical",
            "urgency": "P2",
            "address": "Kerkstraat 3",
            "people_involved": "1",
            "vulnerable_people": "0",
            "description": HELP["body"]["description"],  # type: ignore[index]
        }
        page = await c.post("/staff/new/help", data=form, headers={"Origin": "http://gw"})
        assert page.status_code == 503, page.text[:500]
        assert "De melding is NIET opgeslagen" in page.text
        assert "Mevrouw gevallen, pols pijnlijk" in page.text

        # Space comes back: health recovers by itself (the write probe succeeds again).
        if filler is not None:
            filler.unlink()
        else:
            event.remove(engine, "connect", limit)
            engine.dispose()
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.post("/api/v1/reports", json=HELP)).status_code == 201
