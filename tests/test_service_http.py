"""The CP service's HTTP API, in-process through httpx's ASGI transport (lifespan included)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from schemas import make_up
from service.app import create_app
from service.settings import ServiceSettings
from tests.support import bearer


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client; ``post_msg`` posts as the gateway of the message's NSP."""
    app = create_app(ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id="cp-h"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cp") as c,
    ):
        c.headers.update(bearer(app.state.ctx.engine, "admin"))
        _ENGINES[id(c)] = app.state.ctx.engine
        yield c
        _ENGINES.pop(id(c))


_ENGINES: dict[int, Any] = {}


async def post_msg(client: httpx.AsyncClient, msg: dict[str, Any]) -> httpx.Response:
    nsp = msg.get("nsp_id")
    headers = bearer(_ENGINES[id(client)], "gateway", nsp if isinstance(nsp, str) else "nsp-h")
    return await client.post("/api/v1/messages", json=msg, headers=headers)


def report(seq: int, nsp: str = "nsp-h", **body: object) -> dict[str, object]:
    b: dict[str, object] = {
        "category": "water",
        "severity": "high",
        "location": {"address": "Molenstraat 3, Oss"},
        "description": "Geen drinkwater meer in de flat",
    }
    b.update(body)
    return json.loads(make_up("situation_report", nsp, seq, b).model_dump_json())


async def test_post_stores_once_then_200(client: httpx.AsyncClient) -> None:
    msg = report(1)
    r1 = await post_msg(client, msg)
    assert r1.status_code == 201, r1.text
    assert r1.json()["status"] == "stored" and r1.json()["ack"]["duplicate"] is False
    r2 = await post_msg(client, msg)
    assert r2.status_code == 200
    assert r2.json()["ack"]["stored_at"] == r1.json()["ack"]["stored_at"]
    listed = (await client.get("/api/v1/messages")).json()
    assert [m["message_id"] for m in listed] == [msg["message_id"]]
    one = await client.get(f"/api/v1/messages/{msg['message_id']}")
    assert one.status_code == 200 and one.json()["body"]["category"] == "water"
    assert (await client.get("/api/v1/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV")).status_code == 404


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m["body"].update(severity="apocalyptic"), "severity"),
        (lambda m: m["body"]["location"].update(lat=52.0), "location"),
        (lambda m: m.update(seq=0), "seq"),
        (lambda m: m.update(sent_at="2026-11-23T12:00:00"), "sent_at"),
        (lambda m: m.update(message_id="not-a-ulid"), "message_id"),
        (lambda m: m.update(kind="selfie"), "kind"),
        (lambda m: m.update(extra_field=1), "extra_field"),
        (lambda m: m["body"].update(description=""), "description"),
    ],
)
async def test_invalid_message_gets_422_naming_the_field(
    client: httpx.AsyncClient, mutate: object, field: str
) -> None:
    msg = report(1)
    mutate(msg)  # type: ignore[operator]
    r = await post_msg(client, msg)
    assert r.status_code == 422, r.text
    assert field in json.dumps(r.json()["detail"]), r.json()
    assert (await client.get("/api/v1/messages")).json() == []


async def test_filters_and_nsp_view(client: httpx.AsyncClient) -> None:
    for seq in (1, 2, 4):
        assert (await post_msg(client, report(seq))).status_code == 201
    other = json.loads(
        make_up(
            "status", "nsp-z", 1, {"state": "open", "power_source": "battery"}
        ).model_dump_json()
    )
    assert (await post_msg(client, other)).status_code == 201
    by_kind = (await client.get("/api/v1/messages", params={"kind": "status"})).json()
    assert [m["nsp_id"] for m in by_kind] == ["nsp-z"]
    by_nsp = (await client.get("/api/v1/messages", params={"nsp_id": "nsp-h"})).json()
    assert [m["seq"] for m in by_nsp] == [4, 2, 1]
    assert (await client.get("/api/v1/messages", params={"kind": "nope"})).status_code == 422
    future = (await client.get("/api/v1/messages", params={"since": "2999-01-01T00:00:00Z"})).json()
    assert future == []
    nsp = (await client.get("/api/v1/nsps/nsp-h")).json()
    assert nsp["gaps"] == [[3, 3]] and nsp["contiguous_seq"] == 2
    assert (await client.get("/api/v1/nsps/nope")).status_code == 404
    nsps = (await client.get("/api/v1/nsps")).json()
    assert {n["nsp_id"] for n in nsps} == {"nsp-h", "nsp-z"}


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}


async def test_register_nsp_with_position(client: httpx.AsyncClient) -> None:
    reg = {"name": "Bibliotheek Oss", "address": "Raadhuislaan 10, Oss", "lat": 51.77, "lon": 5.52}
    r = await client.put("/api/v1/nsps/oss-centrum", json=reg)
    assert r.status_code == 200, r.text
    assert r.json()["registered"] is True and r.json()["liveness"] == "unknown"
    assert (await post_msg(client, report(1, nsp="oss-centrum"))).status_code == 201
    nsp = (await client.get("/api/v1/nsps/oss-centrum")).json()
    assert nsp["name"] == "Bibliotheek Oss" and nsp["lat"] == 51.77 and nsp["message_count"] == 1
    bad = await client.put("/api/v1/nsps/oss-centrum", json={"name": "x", "lat": 51.0})
    assert bad.status_code == 422 and "lat and lon" in bad.text
    assert (await client.put("/api/v1/nsps/Bad Id", json={"name": "x"})).status_code == 422
