"""Facilities at the CP, in-process (real app and database, no broker): the directory API and
its errors, what each NSP is sent (targeting by radius, versions that grow only on a change),
observations stored by ingest and reviewed into a state change, and the roll-up that goes to
the region and onto its picture."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from schemas import FacilitiesMessage, make_up, new_message_id, parse_down, utcnow
from schemas.upstream import Summary, SummaryTrigger, SummaryUpstream
from service.app import create_app
from service.facilities import directory
from service.facilities.models import FacilityNspDirectory
from service.settings import Role, ServiceSettings
from service.upstream.settings import UpstreamSettings
from service.upstream.summary import SummaryConfig, build_content
from tests.web.support import running_cp, token

CP = "cp-test"
FAC = "/api/v1/facilities"
OBS = "/api/v1/facility-observations"
HERE = (51.765, 5.518)
FAR = (52.100, 5.100)


@pytest.fixture
async def cp(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_cp(database_url, CP) as (app, client):
        client.headers["Authorization"] = f"Bearer {token(app, 'admin')}"
        yield app, client


def shelter(**extra: Any) -> dict[str, Any]:
    return {
        "facility_id": "opvang-sporthal",
        "type": "shelter",
        "name": "Sporthal De Rusheuvel",
        "address": "Kastanjelaan 1",
        "lat": 51.768,
        "lon": 5.522,
        "capacity": 150,
        **extra,
    }


def sent(app: FastAPI) -> dict[str, FacilitiesMessage]:
    with Session(app.state.ctx.engine) as session:
        rows = session.exec(select(FacilityNspDirectory)).all()
    out = {}
    for r in rows:
        message = parse_down(r.payload)
        assert isinstance(message, FacilitiesMessage)
        out[r.nsp_id] = message
    return out


async def test_bad_input_is_refused_with_the_field(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _app, c = cp
    cases: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in shelter().items() if k not in ("address", "lat", "lon")}, "address"),
        (shelter(facility_id="Met Spatie"), "facility_id"),
        (shelter(type="kasteel"), "type"),
        (shelter(name="bel\x07"), "name"),
        (shelter(lat=51.7, lon=None), "lat and lon"),
        (shelter(radius_km=0), "radius_km"),
        (shelter(capacity=-1), "capacity"),
        (shelter(extra="x"), "extra"),
    ]
    for body, field in cases:
        r = await c.post(FAC, json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text, (field, r.text)
    assert (await c.post(FAC, json=shelter())).status_code == 201
    assert (await c.post(FAC, json=shelter())).status_code == 409
    assert (await c.get(f"{FAC}/nope")).status_code == 404
    r = await c.post(f"{FAC}/opvang-sporthal/state", json={"state": "half"})
    assert r.status_code == 422 and "state" in r.text
    r = await c.patch(f"{FAC}/opvang-sporthal", json={"name": None})
    assert r.status_code == 422 and "name" in r.text
    r = await c.patch(f"{FAC}/opvang-sporthal", json={"address": None, "lat": None, "lon": None})
    assert r.status_code == 422 and "address" in r.text
    assert (await c.post(f"{OBS}/999/review", json={"decision": "accept"})).status_code == 404
    r = await c.post(f"{OBS}/1/review", json={"decision": "maybe"})
    assert r.status_code == 422 and "decision" in r.text


async def test_each_nsp_gets_what_targets_it_and_versions_grow_only_on_change(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    for nsp, pos in (("nsp-a", HERE), ("nsp-far", FAR), ("nsp-nowhere", None)):
        body: dict[str, Any] = {"name": nsp}
        if pos:
            body |= {"lat": pos[0], "lon": pos[1]}
        assert (await c.put(f"/api/v1/nsps/{nsp}", json=body)).status_code == 200
    assert (await c.post(FAC, json=shelter(radius_km=10))).status_code == 201
    water = {"facility_id": "tappunt", "type": "water_point", "name": "Tappunt", "address": "Plein"}
    assert (await c.post(FAC, json=water)).status_code == 201
    first = sent(app)
    assert [f.facility_id for f in first["nsp-a"].body.facilities] == ["opvang-sporthal", "tappunt"]
    assert [f.facility_id for f in first["nsp-far"].body.facilities] == ["tappunt"]
    # Without a registered position nothing is hidden from an NSP.
    assert len(first["nsp-nowhere"].body.facilities) == 2
    assert (first["nsp-a"].body.nsp_lat, first["nsp-a"].body.nsp_lon) == HERE

    # A sync with nothing changed sends nothing new.
    assert directory.sync_and_publish(app.state.ctx.engine, CP, None) == 0
    assert {n: m.body.version for n, m in sent(app).items()} == {
        n: m.body.version for n, m in first.items()
    }
    # The shelter closes: only the NSPs it targets get a new version.
    r = await c.post(f"{FAC}/opvang-sporthal/state", json={"state": "closed", "note": "lek dak"})
    assert r.status_code == 200
    assert r.json()["history"][0] | {"at": None} == {
        "state": "closed",
        "note": "lek dak",
        "at": None,
        "by": "t-admin",
        "observation_id": None,
    }
    second = sent(app)
    assert second["nsp-a"].body.version == first["nsp-a"].body.version + 1
    assert second["nsp-far"].body.version == first["nsp-far"].body.version
    [closed] = [f for f in second["nsp-a"].body.facilities if f.facility_id == "opvang-sporthal"]
    assert (closed.state, closed.state_note) == ("closed", "lek dak")
    # Archived: it leaves every board.
    assert (await c.delete(f"{FAC}/opvang-sporthal")).status_code == 200
    assert [f.facility_id for f in sent(app)["nsp-a"].body.facilities] == ["tappunt"]
    assert (await c.post(f"{FAC}/opvang-sporthal/state", json={"state": "open"})).status_code == 409
    reach = (await c.get(f"{FAC}/reach")).json()
    assert reach["targeted"] == 3 and reach["current"] == 0


async def observe(app: FastAPI, c: httpx.AsyncClient, seq: int, **body: Any) -> None:
    gw = token(app, "gateway", nsp_id="nsp-a", name=f"gw-{seq}")
    message = make_up(
        "facility_report",
        "nsp-a",
        seq,
        {"facility_name": "Tappunt Walplein", "observed_at": utcnow(), **body},
    )
    r = await c.post(
        "/api/v1/messages",
        content=message.model_dump_json(),
        headers={"Authorization": f"Bearer {gw}", "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text


async def test_observations_are_reviewed_into_state_changes(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    water = {"facility_id": "tappunt", "type": "water_point", "name": "Tappunt", "address": "Plein"}
    assert (await c.post(FAC, json=water)).status_code == 201
    # One about a listed facility, one about a facility the NSP did not find in its list.
    await observe(app, c, 1, facility_id="tappunt", observed_state="closed", note="droog")
    await observe(app, c, 2, observed_state="full", note="lange rij")
    pending = (await c.get(OBS)).json()
    assert [(o["facility_id"], o["observed_state"]) for o in pending] == [
        (None, "full"),
        ("tappunt", "closed"),
    ]
    unlisted, listed = pending
    assert (await c.get(f"{FAC}/tappunt")).json()["pending_observations"] == 1
    r = await c.post(f"{OBS}/{unlisted['id']}/review", json={"decision": "accept"})
    assert r.status_code == 422 and "facility_id" in r.text
    r = await c.post(f"{OBS}/{unlisted['id']}/review", json={"decision": "reject", "note": "?"})
    assert r.status_code == 200 and r.json()["facility"] is None
    r = await c.post(f"{OBS}/{listed['id']}/review", json={"decision": "accept"})
    assert r.status_code == 200, r.text
    fac = r.json()["facility"]
    assert (fac["state"], fac["state_note"], fac["history"][0]["observation_id"]) == (
        "closed",
        "droog",
        listed["id"],
    )
    again = await c.post(f"{OBS}/{listed['id']}/review", json={"decision": "reject"})
    assert again.status_code == 409
    assert (await c.get(OBS)).json() == []
    assert [o["review"] for o in (await c.get(OBS, params={"review": "all"})).json()] == [
        "rejected",
        "accepted",
    ]


async def test_the_roll_up_reaches_the_cp_picture_and_the_region(
    cp: tuple[FastAPI, httpx.AsyncClient], database_url: str, tmp_path: Any
) -> None:
    app, c = cp
    assert (await c.post(FAC, json=shelter())).status_code == 201
    water = {"facility_id": "tappunt", "type": "water_point", "name": "Tappunt", "address": "Plein"}
    assert (await c.post(FAC, json=water)).status_code == 201
    await c.post(f"{FAC}/opvang-sporthal/state", json={"state": "full", "note": "150 mensen"})
    picture = (await c.get("/api/v1/picture")).json()
    [mine] = picture["cps"]
    rollup = mine["content"]["facilities"]
    assert rollup["by_state"] == {"open": 1, "full": 1}
    assert rollup["by_type"]["shelter"] == {"full": 1}
    assert rollup["items"][0]["facility_id"] == "opvang-sporthal"  # not open: listed first

    # The same content in a summary, taken in by a region instance.
    config = SummaryConfig(CP, timedelta(minutes=10), 4.0, 50, timedelta(hours=6))
    with app.state.ctx.engine.connect() as conn:
        content = build_content(conn, config, utcnow())
    summary = Summary(
        **content.model_dump(),
        cp_id=CP,
        instance_id=new_message_id(),
        summary_id=new_message_id(),
        seq=1,
        produced_at=utcnow(),
        triggers=[SummaryTrigger.SCHEDULE],
    )
    item = SummaryUpstream(
        idempotency_key=f"{CP}:summary:{summary.summary_id}",
        origin_cp_id=CP,
        created_at=utcnow(),
        body=summary,
    )
    region_url = f"sqlite:///{tmp_path / 'region.db'}"
    region = create_app(
        ServiceSettings(database_url=region_url, mqtt_enabled=False, cp_id="vr", role=Role.REGION),
        UpstreamSettings(summary_interval_seconds=0),
    )
    async with (
        region.router.lifespan_context(region),
        httpx.AsyncClient(transport=httpx.ASGITransport(region), base_url="http://region") as rc,
    ):
        cp_token = token(region, "cp", name="cp-test")
        r = await rc.post(
            "/api/v1/region/items",
            content=json.dumps(json.loads(item.model_dump_json())),
            headers={
                "Authorization": f"Bearer {cp_token}",
                "Content-Type": "application/json",
                "Idempotency-Key": item.idempotency_key,
                "X-Noodnet-Sender": CP,
            },
        )
        assert r.status_code in (200, 201, 202), r.text
        admin = token(region, "admin")
        pic = (await rc.get("/api/v1/picture", headers={"Authorization": f"Bearer {admin}"})).json()
    [theirs] = pic["cps"]
    assert theirs["cp_id"] == CP
    assert theirs["content"]["facilities"]["by_state"] == {"open": 1, "full": 1}
    assert theirs["content"]["facilities"]["items"][0]["state_note"] == "150 mensen"
