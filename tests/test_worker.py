"""The worker base (noodcore.worker): one failing item does not hold up the others, a worker
that keeps failing turns unhealthy and shows in the CP's /readyz (503, named), and recovers.

The unit tests drive real threads; the /readyz test breaks a real forwarder's table in a real
database (SQLite and PostgreSQL) and gives it back.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from noodcore.worker import ItemGuard, Worker
from service.app import create_app
from service.settings import ServiceSettings
from service.upstream.settings import UpstreamSettings
from tests.support import wait_until


class Items(Worker):
    """Processes items 1..5 every round; the items in ``bad`` raise."""

    def __init__(self, bad: set[int]) -> None:
        super().__init__("items", interval=0.02, backoff_base=0.02, item_backoff_cap=0.2)
        self.bad = bad
        self.done: dict[int, int] = {}
        self.lock = threading.Lock()

    def process(self, item: int) -> None:
        if item in self.bad:
            raise ValueError(f"item {item} is malformed")
        with self.lock:
            self.done[item] = self.done.get(item, 0) + 1

    def step(self) -> None:
        for item in range(1, 6):
            self.items.attempt(item, partial(self.process, item))


class Flaky(Worker):
    """A round fails while ``broken`` is set."""

    def __init__(self) -> None:
        super().__init__("flaky", interval=0.02, failure_threshold=3, backoff_base=0.01)
        self.broken = threading.Event()
        self.rounds = 0

    def step(self) -> None:
        if self.broken.is_set():
            raise OSError("database unreachable")
        self.rounds += 1


def test_a_failing_item_is_recorded_and_the_others_go_on() -> None:
    worker = Items(bad={3})
    worker.start()
    try:
        wait_until(lambda: all(worker.done.get(i, 0) >= 5 for i in (1, 2, 4, 5)), 10)
        health = worker.health()
        assert health.healthy, health  # the worker works; one item does not
        assert 3 not in worker.done
        assert health.failing_item_count == 1
        (failure,) = health.failing_items
        assert failure.key == "3" and "malformed" in failure.error and failure.failures >= 1
        # Parked with backoff: far fewer attempts on item 3 than rounds for the others.
        assert failure.failures < min(worker.done[i] for i in (1, 2, 4, 5))
        worker.bad.clear()  # the item is fixed: it goes through and leaves the record
        wait_until(lambda: worker.done.get(3, 0) >= 1, 10, what="item 3 retried")
        assert worker.health().failing_item_count == 0
    finally:
        worker.stop(5)
    assert not worker.running


def test_health_turns_unhealthy_after_repeated_failure_and_recovers() -> None:
    worker = Flaky()
    worker.start()
    try:
        wait_until(lambda: worker.rounds >= 1, 5)
        assert worker.health().healthy
        worker.broken.set()
        wait_until(lambda: not worker.health().healthy, 10, what="unhealthy")
        health = worker.health()
        assert health.consecutive_failures >= 3 and health.running
        assert health.reason is not None and "database unreachable" in health.reason
        worker.broken.clear()
        worker.wake()
        wait_until(lambda: worker.health().healthy, 10, what="healthy again")
        assert worker.health().last_error is None
    finally:
        worker.stop(5)


def test_stale_worker_is_unhealthy() -> None:
    class Idle(Worker):
        def step(self) -> None:
            raise RuntimeError("never succeeds")

    worker = Idle("idle", interval=0.05, failure_threshold=1000, stale_after=0.2)
    worker.start()
    try:
        wait_until(lambda: not worker.health().healthy, 5)
        assert "no successful round" in (worker.health().reason or "")
    finally:
        worker.stop(5)


def test_item_guard_skips_a_parked_item_until_its_retry_time() -> None:
    guard: ItemGuard[str] = ItemGuard("guard", base=60, cap=60)

    def boom() -> None:
        raise KeyError("x")

    assert guard.attempt("a", boom) is False
    calls: list[str] = []
    assert guard.attempt("a", lambda: calls.append("a")) is False  # parked: not even tried
    assert guard.attempt("b", lambda: calls.append("b")) is True
    assert calls == ["b"]
    count, (shown,) = guard.failing()
    assert count == 1 and shown.key == "a" and shown.retry_in_seconds > 50


@pytest.fixture
async def cp(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    # A forwarder towards a port nobody listens on: its rounds succeed (the failure is the
    # target's, recorded on the item) until its table goes away.
    app = create_app(
        ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id="cp-w"),
        UpstreamSettings(
            upstream_urls=["http://127.0.0.1:9/ingest"],
            upstream_poll_seconds=0.1,
            upstream_retry_base_seconds=0.1,
        ),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cp") as client,
    ):
        yield client, app


async def test_readyz_names_a_worker_that_keeps_failing_and_recovers(
    cp: tuple[httpx.AsyncClient, Any],
) -> None:
    client, app = cp
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    names = {w["name"] for w in ready.json()["workers"]}
    forwarder = "forwarder http://127.0.0.1:9/ingest"
    assert forwarder in names and "summary scheduler" in names
    engine = app.state.ctx.engine
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE upstream_outbox RENAME TO upstream_outbox_gone"))
    try:
        worker = app.state.upstream.forwarder.targets["http://127.0.0.1:9/ingest"]
        worker.wake()
        wait_until(lambda: not worker.health().healthy, 20, what="forwarder unhealthy")
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["checks"][f"worker {forwarder}"].startswith("error: ")
        (shown,) = [w for w in body["workers"] if w["name"] == forwarder]
        assert shown["healthy"] is False and shown["consecutive_failures"] >= 3
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE upstream_outbox_gone RENAME TO upstream_outbox"))
    worker.wake()
    wait_until(lambda: worker.health().healthy, 40, what="forwarder healthy again")
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
