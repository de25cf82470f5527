"""The CP's upward API in-process (lifespan included): outbox, dead letters and their retry,
summaries, the picture and the GeoJSON exports. The upstream here is a closed port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from service.app import create_app
from service.settings import ServiceSettings
from service.upstream.outbox import backoff_seconds
from service.upstream.settings import UpstreamSettings
from tests.support import CpAuth, free_port
from tests.upstream.support import help_request, resource_request, situation, status

CP = "cp-api"


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def make_app(database_url: str, **upstream: object) -> FastAPI:
    settings = ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id=CP)
    up = UpstreamSettings(
        **{
            "upstream_urls": closed_port_url(),
            "summary_interval_seconds": 0,
            "upstream_retry_base_seconds": 0.05,
            "upstream_retry_max_seconds": 0.2,
            "upstream_poll_seconds": 0.05,
            **upstream,
        }
    )
    return create_app(settings, up)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (workers running) and a client signed in as the CP."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://cp",
            auth=CpAuth(app.state.ctx.engine),
        ) as c,
    ):
        yield c


async def make_client(database_url: str, **upstream: object) -> AsyncIterator[httpx.AsyncClient]:
    async with running(make_app(database_url, **upstream)) as c:
        yield c


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in make_client(database_url):
        yield c


@pytest.fixture
async def dying_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Every item gives up at its first failed attempt."""
    async for c in make_client(database_url, upstream_give_up_seconds=0.001):
        yield c


async def wait_for(predicate: Callable[[], Awaitable[object]], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {predicate}")


async def test_items_wait_in_the_outbox_while_upstream_is_down(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/messages", json=help_request("nsp-a", 1))
    assert r.status_code == 201

    async def attempted() -> bool:
        rows = (await client.get("/api/v1/upstream/outbox", params={"kind": "p1_item"})).json()
        return bool(rows) and rows[0]["attempts"] >= 2

    await wait_for(attempted)
    status = (await client.get("/api/v1/upstream/status")).json()
    (target,) = status["targets"]
    assert target["counts"]["pending"] >= 2  # the P1 item and the newest summary (or two,
    # for the moment between a new summary and the forwarder superseding the older one)
    assert target["counts"]["dead"] == target["counts"]["delivered"] == 0
    assert "ConnectError" in target["last_error"]
    p1 = (await client.get("/api/v1/upstream/outbox", params={"kind": "p1_item"})).json()[0]
    assert p1["state"] == "pending" and "ConnectError" in p1["last_error"]
    one = (await client.get(f"/api/v1/upstream/outbox/{p1['id']}")).json()
    assert one["payload"]["kind"] == "p1_item"
    assert one["payload"]["idempotency_key"] == p1["idempotency_key"]
    assert one["payload"]["body"]["message"]["body"]["urgency"] == "P1"
    retry = await client.post(f"/api/v1/upstream/outbox/{p1['id']}/retry")
    assert retry.status_code == 409 and "pending" in retry.json()["detail"]
    assert (await client.post("/api/v1/upstream/outbox/99999/retry")).status_code == 404
    assert (await client.get("/api/v1/upstream/outbox/99999")).status_code == 404
    bad = await client.get("/api/v1/upstream/outbox", params={"state": "lost"})
    assert bad.status_code == 422 and "state" in bad.text


async def test_dead_letters_are_visible_and_retryable(dying_client: httpx.AsyncClient) -> None:
    c = dying_client
    assert (await c.post("/api/v1/messages", json=help_request("nsp-a", 1))).status_code == 201

    async def dead() -> list[dict[str, object]]:
        params = {"state": "dead", "kind": "p1_item"}
        return (await c.get("/api/v1/upstream/outbox", params=params)).json()

    await wait_for(dead)
    (item,) = await dead()
    assert item["dead_at"] and "ConnectError" in item["last_error"]
    events = (await c.get("/api/v1/events")).json()
    assert any(
        e["type"] == "upstream" and e["data"]["action"] == "dead_letter"
        and e["data"]["idempotency_key"] == item["idempotency_key"]
        for e in events
    )  # fmt: skip
    r = await c.post(f"/api/v1/upstream/outbox/{item['id']}/retry")
    assert r.status_code == 200, r.text
    assert (
        r.json()["retried_by"] == "test-admin"
    )  # the authenticated identity and r.json()["retried_at"]
    assert r.json()["state"] in ("pending", "dead")  # it may already have failed again
    await wait_for(lambda: _attempts_above(c, item["id"], item["attempts"]))
    bulk = await c.post("/api/v1/upstream/outbox/retry-dead")
    assert bulk.status_code == 200
    events = (await c.get("/api/v1/events")).json()
    audit = [e for e in events if e["data"].get("action") == "retry"]
    assert audit and audit[0]["data"]["outbox_ids"] == [item["id"]]


async def _attempts_above(c: httpx.AsyncClient, item_id: object, attempts: object) -> bool:
    row = (await c.get(f"/api/v1/upstream/outbox/{item_id}")).json()
    return bool(row["attempts"] > attempts)  # type: ignore[operator]


async def test_summaries_on_request_and_by_number(client: httpx.AsyncClient) -> None:
    startup = (await client.get("/api/v1/upstream/summaries/latest")).json()
    assert startup["triggers"] == ["startup"] and startup["seq"] == 1
    r = await client.post("/api/v1/upstream/summaries")
    assert r.status_code == 201 and r.json()["seq"] == 2 and r.json()["triggers"] == ["manual"]
    listed = (await client.get("/api/v1/upstream/summaries")).json()
    assert [s["seq"] for s in listed] == [2, 1]
    assert (await client.get("/api/v1/upstream/summaries/1")).json()["summary_id"] == startup[
        "summary_id"
    ]
    assert (await client.get("/api/v1/upstream/summaries/99")).status_code == 404
    assert (await client.get("/api/v1/upstream/summaries/abc")).status_code == 422


async def test_picture_and_geojson(client: httpx.AsyncClient) -> None:
    reg = {"name": "Bibliotheek Oss", "address": "Raadhuislaan 10, Oss", "lat": 51.77, "lon": 5.52}
    assert (await client.put("/api/v1/nsps/oss-centrum", json=reg)).status_code == 200
    lith = await client.put("/api/v1/nsps/lith", json={"name": "Dorpshuis Lith"})
    assert lith.status_code == 200
    for m in (
        status("oss-centrum", 1, hours=3),
        help_request("oss-centrum", 2),
        help_request("oss-centrum", 3, urgency="P3", location={"address": "Molenstraat 1"}),
        resource_request("oss-centrum", 4),
        situation("lith", 1, "information_need", "Waar is drinkwater?"),
    ):
        assert (await client.post("/api/v1/messages", json=m)).status_code == 201
    pic = (await client.get("/api/v1/picture")).json()
    assert pic["role"] == "cp" and pic["node_id"] == CP and pic["last_event_id"] > 0
    (cp,) = pic["cps"]
    assert cp["source"] == "live"
    assert {n["nsp_id"] for n in cp["content"]["nsps"]} == {"oss-centrum", "lith"}
    assert pic["nsp_counts"]["low_power"] == 1
    assert pic["help_by_urgency"] == {"P1": 1, "P3": 1}
    assert [p["category"] for p in pic["p1_items"]] == ["medical"]
    assert pic["p1_items"][0]["nsp_name"] == "Bibliotheek Oss"

    r = await client.get("/api/v1/geo/nsps.geojson")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    geo = r.json()
    assert geo["type"] == "FeatureCollection"
    by_id = {f["properties"]["nsp_id"]: f for f in geo["features"]}
    assert by_id["oss-centrum"]["geometry"] == {"type": "Point", "coordinates": [5.52, 51.77]}
    assert by_id["oss-centrum"]["properties"]["low_power"] is True
    assert by_id["lith"]["geometry"] is None, "unlocated NSPs are listed without geometry"

    help_geo = (await client.get("/api/v1/geo/help-requests.geojson")).json()
    props = {f["properties"]["urgency"]: f for f in help_geo["features"]}
    assert set(props) == {"P1", "P2", "P3"}  # P2 is the fuel request
    assert props["P1"]["geometry"]["type"] == "Point"
    assert props["P3"]["geometry"] is None and props["P3"]["properties"]["address"]


def test_upstream_settings_reject_bad_urls() -> None:
    with pytest.raises(ValidationError, match="not an http"):
        UpstreamSettings(upstream_urls="ftp://region")
    with pytest.raises(ValidationError, match="twice"):
        UpstreamSettings(upstream_urls="http://r:1,http://r:1/api/v1/region/items")
    s = UpstreamSettings(upstream_urls="http://r:1, https://n.example:8443/in")
    assert s.upstream_urls == ["http://r:1/api/v1/region/items", "https://n.example:8443/in"]


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    for attempts, full in [(1, 1), (2, 2), (3, 4), (6, 32), (12, 300), (40, 300)]:
        delays = [backoff_seconds(attempts, 1, 300) for _ in range(200)]
        assert all(full * 0.5 <= d <= full for d in delays), (attempts, min(delays), max(delays))
        assert max(delays) - min(delays) > full * 0.2, "jitter spreads the retries"


@pytest.fixture
async def burst_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in make_client(database_url, summary_min_interval_seconds=1.0):
        yield c


async def test_a_burst_of_p1s_makes_few_summaries_carrying_every_trigger(
    burst_client: httpx.AsyncClient,
) -> None:
    c = burst_client
    for seq in range(1, 11):
        r = await c.post("/api/v1/messages", json=help_request("nsp-a", seq))
        assert r.status_code == 201

    async def all_counted() -> bool:
        latest = (await c.get("/api/v1/upstream/summaries/latest")).json()
        return bool(latest["help_requests"]["by_urgency"].get("P1") == 10)

    await wait_for(all_counted)
    made = (await c.get("/api/v1/upstream/summaries")).json()
    after_startup = [s for s in made if s["triggers"] != ["startup"]]
    assert 1 <= len(after_startup) < 10, "coalesced during the burst"
    assert all("new_p1" in s["triggers"] for s in after_startup)
    p1_rows = (await c.get("/api/v1/upstream/outbox", params={"kind": "p1_item"})).json()
    assert len(p1_rows) == 10, "but every P1 item is queued at once"


def test_owed_summaries_keep_to_their_cpu_budget() -> None:
    """A cheap summary waits the configured minimum; an expensive one (a large store during
    a reconnect backlog) spaces the next owed one so summaries take at most
    SUMMARY_CPU_SHARE of a core."""
    from service.upstream.scheduler import SUMMARY_CPU_SHARE, owed_gap

    assert owed_gap(2.0, 0.01) == 2.0
    assert owed_gap(0.0, 0.0) == 0.0
    assert owed_gap(2.0, 0.3) == pytest.approx(0.3 / SUMMARY_CPU_SHARE)
    assert 0.3 / owed_gap(2.0, 0.3) <= SUMMARY_CPU_SHARE + 1e-9


async def test_an_owed_summary_waits_while_p1s_queue_for_ingest(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the ingest worker has P1s queued, an owed summary (0.1 – 0.3 s of CPU on a large
    store) waits for them, so a region's P1s are acked first; the P1 item itself goes
    upward at once. When the queue is empty the summary is made."""
    import threading

    from service.upstream import scheduler as sched

    monkeypatch.setattr(sched, "MAX_P1_DEFER_SECONDS", 300.0)
    app = make_app(database_url, summary_min_interval_seconds=0)
    asked = threading.Event()
    queued = {"p1s": 1}

    def p1_waiting() -> int:
        asked.set()
        return queued["p1s"]

    async with running(app) as c:
        app.state.upstream.scheduler.p1_waiting = p1_waiting
        r = await c.post("/api/v1/messages", json=help_request("nsp-a", 1))
        assert r.status_code == 201

        async def consulted() -> bool:
            return asked.is_set()

        await wait_for(consulted)  # a summary was owed, and the scheduler asked
        latest = (await c.get("/api/v1/upstream/summaries/latest")).json()
        assert latest["triggers"] == ["startup"]
        p1_rows = (await c.get("/api/v1/upstream/outbox", params={"kind": "p1_item"})).json()
        assert len(p1_rows) == 1, "the P1 item does not wait"

        queued["p1s"] = 0

        async def made() -> bool:
            latest = (await c.get("/api/v1/upstream/summaries/latest")).json()
            return bool(latest["help_requests"]["by_urgency"].get("P1") == 1)

        await wait_for(made)
