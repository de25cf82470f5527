"""The local HTTP API, without a broker (the link is simply down)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.api import create_app
from gateway.settings import GatewaySettings
from tests.support import staff_headers

HELP: dict[str, Any] = {
    "category": "medical",
    "urgency": "P1",
    "location": {"address": "Markt 1, Oss"},
    "people_involved": 2,
    "description": "Vrouw gevallen, bloedt hevig",
}
STATUS: dict[str, Any] = {"state": "open", "power_source": "generator", "staff_present": 3}


@pytest.fixture
def client(settings_factory: Callable[..., GatewaySettings]) -> Iterator[TestClient]:
    settings = settings_factory()
    with TestClient(create_app(settings), headers=staff_headers(settings.db_path)) as c:
        yield c


def errors(response: Any) -> list[tuple[tuple[Any, ...], str]]:
    assert response.status_code == 422, response.text
    return [(tuple(e["loc"]), e["msg"]) for e in response.json()["detail"]]


def test_report_is_accepted_and_listed(client: TestClient) -> None:
    r = client.post("/api/v1/reports", json={"kind": "help_request", "body": HELP})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["seq"] == 1 and created["kind"] == "help_request"
    assert created["state"] == "queued" and len(created["message_id"]) == 26

    detail = client.get(f"/api/v1/reports/{created['message_id']}").json()
    assert detail["state"] == "queued" and detail["cp_stored_at"] is None
    assert detail["history"] == [] and detail["body"]["description"] == HELP["description"]

    client.post("/api/v1/reports", json={"kind": "help_request", "body": HELP})
    listed = client.get("/api/v1/reports", params={"kind": "help_request", "state": "queued"})
    assert [x["seq"] for x in listed.json()] == [2, 1]
    assert listed.headers["x-total-count"] == "2"


def test_unknown_kind_is_a_clear_422(client: TestClient) -> None:
    r = client.post("/api/v1/reports", json={"kind": "gossip", "body": {}})
    [(loc, msg)] = errors(r)
    assert loc == ("body", "kind")
    assert "gossip" in msg and "help_request" in msg


def test_receipts_are_not_accepted_from_clients(client: TestClient) -> None:
    body = {"bulletin_id": "b1", "version": 1, "shown_at": "2026-01-01T12:00:00Z"}
    [(loc, _)] = errors(client.post("/api/v1/reports", json={"kind": "receipt", "body": body}))
    assert loc == ("body", "kind")


def test_body_errors_carry_the_field_path(client: TestClient) -> None:
    bad = {**HELP, "urgency": "P9", "location": {"lat": 51.7}}
    found = errors(client.post("/api/v1/reports", json={"kind": "help_request", "body": bad}))
    locs = [loc for loc, _ in found]
    assert ("body", "body", "urgency") in locs
    assert ("body", "body", "location") in locs  # lat without lon
    assert client.get("/api/v1/link").json()["pending_count"] == 0  # nothing enqueued


def test_missing_and_unexpected_fields(client: TestClient) -> None:
    body = {k: v for k, v in HELP.items() if k != "description"} | {"colour": "red"}
    found = dict(
        errors(client.post("/api/v1/reports", json={"kind": "help_request", "body": body}))
    )
    assert ("body", "body", "description") in found
    assert ("body", "body", "colour") in found


def test_model_level_rule_is_reported(client: TestClient) -> None:
    bad = {**HELP, "people_involved": 1, "vulnerable_people": 3}
    [(loc, msg)] = errors(
        client.post("/api/v1/reports", json={"kind": "help_request", "body": bad})
    )
    assert loc == ("body", "body") and "vulnerable_people" in msg


def test_status_endpoint_and_heartbeat_coalescing(client: TestClient) -> None:
    assert client.post("/api/v1/status", json=STATUS).status_code == 201
    [(loc, _)] = errors(client.post("/api/v1/status", json={**STATUS, "state": "half-open"}))
    assert loc == ("body", "state")
    beat = {"kind": "status", "body": {**STATUS, "heartbeat": True}}
    first = client.post("/api/v1/reports", json=beat)
    again = client.post("/api/v1/reports", json=beat)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["message_id"] == first.json()["message_id"]


def test_unknown_report_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/reports/01JD3Q7Z8X9K2M4N6P8R0S2T4V")
    assert r.status_code == 404


def test_list_filters_are_validated(client: TestClient) -> None:
    [(loc, _)] = errors(client.get("/api/v1/reports", params={"state": "lost"}))
    assert loc == ("query", "state")
    [(loc, _)] = errors(client.get("/api/v1/reports", params={"kind": "gossip"}))
    assert loc == ("query", "kind")


def test_link_health_and_empty_boards(client: TestClient) -> None:
    client.post("/api/v1/status", json=STATUS)
    link = client.get("/api/v1/link").json()
    assert link["connected"] is False and link["pending_count"] == 1
    assert link["counts"] == {"queued": 1, "sent": 0, "stored": 0}
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/api/v1/bulletins").json() == []
    assert client.get("/api/v1/tasks").json() == []
    assert client.get("/api/v1/dead-letters").json() == []
