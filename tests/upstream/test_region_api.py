"""The region role's intake, in-process: idempotency, specific errors, which summary is current."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from schemas import new_message_id, parse_up, utcnow
from schemas.upstream import (
    HelpRequestStats,
    Liveness,
    MessageTotals,
    NspCounts,
    NspRef,
    NspSnapshot,
    Summary,
    SummaryTrigger,
    SummaryUpstream,
    UrgentItem,
    UrgentItemUpstream,
)
from service.app import create_app
from service.settings import Role, ServiceSettings
from service.upstream.settings import UpstreamSettings
from tests.support import CpAuth
from tests.upstream.support import help_request

ITEMS = "/api/v1/region/items"


def summary_item(
    cp_id: str, seq: int, instance_id: str, nsps: tuple[str, ...] = ("nsp-a",), age: float = 0
) -> dict[str, Any]:
    produced = utcnow() - timedelta(seconds=age)
    summary = Summary(
        nsp_counts=NspCounts(total=len(nsps), online=len(nsps)),
        nsps=[
            NspSnapshot(
                nsp_id=n,
                liveness=Liveness.ONLINE,
                message_count=1,
                contiguous_seq=1,
                missing_count=0,
            )
            for n in nsps
        ],
        help_requests=HelpRequestStats(),
        messages=MessageTotals(),
        cp_id=cp_id,
        instance_id=instance_id,
        summary_id=new_message_id(),
        seq=seq,
        produced_at=produced,
        triggers=[SummaryTrigger.SCHEDULE],
    )
    item = SummaryUpstream(
        idempotency_key=f"{cp_id}:summary:{summary.summary_id}",
        origin_cp_id=cp_id,
        created_at=produced,
        body=summary,
    )
    return json.loads(item.model_dump_json())


def p1_item(cp_id: str, nsp: str = "nsp-a") -> dict[str, Any]:
    message = parse_up(json.dumps(help_request(nsp, 1)))
    item = UrgentItemUpstream(
        idempotency_key=f"{cp_id}:p1:{message.message_id}",
        origin_cp_id=cp_id,
        created_at=utcnow(),
        body=UrgentItem(
            cp_id=cp_id, received_at=utcnow(), nsp=NspRef(nsp_id=nsp, name="Bieb"), message=message
        ),
    )
    return json.loads(item.model_dump_json())


async def post(c: httpx.AsyncClient, item: dict[str, Any], **headers: str) -> httpx.Response:
    h = {"Idempotency-Key": item["idempotency_key"], "X-Noodnet-Sender": item["origin_cp_id"]}
    h.update(headers)
    return await c.post(ITEMS, json=item, headers={k: v for k, v in h.items() if v})


async def _client(database_url: str, role: Role) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id="vr-bn", role=role),
        UpstreamSettings(summary_interval_seconds=0),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://region",
            auth=CpAuth(app.state.ctx.engine),
        ) as c,
    ):
        yield c


@pytest.fixture
async def region(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(database_url, Role.REGION):
        yield c


async def test_a_key_is_stored_once(region: httpx.AsyncClient) -> None:
    item = summary_item("cp-a", 1, new_message_id())
    first = await post(region, item)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "status": "stored",
        "kind": "summary",
        "idempotency_key": item["idempotency_key"],
        "current": True,
    }
    again = await post(region, item)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    (stored,) = (await region.get("/api/v1/region/summaries")).json()
    assert stored["receive_count"] == 2 and stored["received_from"] == "cp-a"
    p1 = p1_item("cp-a")
    assert (await post(region, p1)).status_code == 201
    assert (await post(region, p1)).status_code == 200
    (got,) = (await region.get("/api/v1/region/p1-items")).json()
    assert got["idempotency_key"] == p1["idempotency_key"] and got["receive_count"] == 2
    types = [e["type"] for e in (await region.get("/api/v1/events")).json()]
    assert types == ["summary", "p1"], "a duplicate announces nothing"


async def test_specific_errors(region: httpx.AsyncClient) -> None:
    item = summary_item("cp-a", 1, new_message_id())
    r = await region.post(ITEMS, json=item)
    assert r.status_code == 422 and "Idempotency-Key" in r.text
    r = await post(region, item, **{"Idempotency-Key": "cp-a:summary:other"})
    assert r.status_code == 422 and "does not match" in r.text
    r = await post(region, item, **{"Idempotency-Key": "bad key with spaces"})
    assert r.status_code == 422 and "Idempotency-Key" in r.text
    broken = json.loads(json.dumps(item))
    broken["body"]["seq"] = 0
    r = await post(region, broken)
    assert r.status_code == 422 and "seq" in r.text
    unknown = json.loads(json.dumps(item))
    unknown["kind"] = "selfie"
    assert (await post(region, unknown)).status_code == 422
    assert (await post(region, item)).status_code == 201
    changed = json.loads(json.dumps(item))
    changed["body"]["nsp_counts"]["total"] = 99
    r = await post(region, changed)
    assert r.status_code == 422 and "different content" in r.text
    assert (await region.get("/api/v1/region/summaries")).json()[0]["payload"] == item
    r = await region.post("/api/v1/upstream/summaries")
    assert r.status_code == 409 and "region" in r.text


async def test_a_late_older_summary_does_not_replace_a_newer_one(region: httpx.AsyncClient) -> None:
    instance = new_message_id()
    s1 = summary_item("cp-a", 1, instance, nsps=("old",), age=20)
    s2 = summary_item("cp-a", 2, instance, nsps=("new",), age=10)
    assert (await post(region, s2)).json()["current"] is True
    assert (await post(region, s1)).json()["current"] is False
    pic = (await region.get("/api/v1/picture")).json()
    assert pic["role"] == "region"
    assert [(c["cp_id"], c["summary_seq"]) for c in pic["cps"]] == [("cp-a", 2)]
    assert [n["nsp_id"] for n in pic["cps"][0]["content"]["nsps"]] == ["new"]
    # The CP's database was reset: a new instance starts again at 1 and is newer.
    s1_new = summary_item("cp-a", 1, new_message_id(), nsps=("reset",))
    assert (await post(region, s1_new)).json()["current"] is True
    (cp,) = (await region.get("/api/v1/region/cps")).json()
    assert (cp["seq"], cp["summaries_received"]) == (1, 3)
    pic = (await region.get("/api/v1/picture")).json()
    assert [n["nsp_id"] for n in pic["cps"][0]["content"]["nsps"]] == ["reset"]


async def test_p1_items_make_the_regional_picture_and_stream(region: httpx.AsyncClient) -> None:
    item = p1_item("cp-b", nsp="berghem")
    assert (await post(region, item)).status_code == 201
    pic = (await region.get("/api/v1/picture")).json()
    (p1,) = pic["p1_items"]
    assert (p1["cp_id"], p1["nsp_id"], p1["nsp_name"]) == ("cp-b", "berghem", "Bieb")
    assert p1["message_id"] == item["body"]["message"]["message_id"]
    (event,) = (await region.get("/api/v1/events")).json()
    assert event["type"] == "p1" and event["data"]["message_id"] == p1["message_id"]
    geo = (await region.get("/api/v1/geo/help-requests.geojson")).json()
    assert [f["id"] for f in geo["features"]] == [p1["message_id"]]


async def test_a_cp_refuses_items_meant_for_a_region(database_url: str) -> None:
    async for cp in _client(database_url, Role.CP):
        r = await post(cp, summary_item("cp-a", 1, new_message_id()))
        assert r.status_code == 409 and "role region" in r.text
