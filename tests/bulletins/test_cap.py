"""CAP 1.2: import real-world-shaped alerts, export them again, validate against the official
OASIS schema, and refuse bad documents with a 422 that names the problem.

Runs the CP service in-process (httpx ASGI transport, lifespan and migrations included) on
SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from lxml import etree

from service.app import create_app
from service.bulletins.cap import CAP_NS, XSD_PATH, schema_problems
from service.settings import ServiceSettings
from tests.bulletins import cap_samples as S
from tests.bulletins.cap_support import N, _instant, _t, essence
from tests.support import CpAuth

XML = {"content-type": "application/cap+xml"}


async def _client(database_url: str, cp_id: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id=cp_id))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://cp",
            auth=CpAuth(app.state.ctx.engine),
        ) as c,
    ):
        yield c


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(database_url, "cp-cap"):
        yield c


async def _import(client: httpx.AsyncClient, xml: bytes) -> httpx.Response:
    return await client.post("/api/v1/bulletins/cap", content=xml, headers=XML)


def test_the_shipped_schema_is_the_oasis_cap_1_2_schema() -> None:
    schema = etree.parse(str(XSD_PATH)).getroot()
    assert schema.get("targetNamespace") == CAP_NS and schema.get("version") == "1.2"
    assert "Copyright OASIS Open 2010" in XSD_PATH.read_text()
    # The schema is strict enough to matter: a sample with a wrong urgency fails it.
    bad = S.render(S.BOIL_WATER).replace(b"<urgency>Expected", b"<urgency>Soon", 1)
    assert any("Soon" in p for p in schema_problems(bad))
    assert schema_problems(S.render(S.BOIL_WATER)) == []


@pytest.mark.parametrize(
    ("template", "urgency", "languages", "warning"),
    [
        (S.BOIL_WATER, "P3", ["nl-NL", "en-GB", "pl"], None),
        (S.FIRE_SMOKE, "P1", ["nl", "en", "de", "ar"], None),
        (S.POWER_OUTAGE, "P4", ["nl-NL", "en-GB", "tr"], "Kaart met noodsteunpunten"),
    ],
    ids=["boil-water", "fire-smoke", "power-outage"],
)
async def test_cap_round_trip(
    client: httpx.AsyncClient,
    template: str,
    urgency: str,
    languages: list[str],
    warning: str | None,
) -> None:
    original = S.render(template)
    r = await _import(client, original)
    assert r.status_code == 201, r.text
    imported = r.json()
    assert imported["outcome"] == "created" and imported["cap_message_type"] == "Alert"
    if warning:
        assert any(warning in w for w in imported["warnings"]), imported["warnings"]
    bulletin = imported["bulletin"]
    current = bulletin["current"]
    assert [t["language"] for t in current["texts"]] == languages  # Dutch first
    assert current["urgency"] == urgency and bulletin["state"] == "active"
    src = essence(original)
    nl_info = next(i for i in src["infos"] if i["language"] == languages[0])
    assert _instant(current["valid_until"]) == nl_info["expires"]  # expiry carried
    nl_text = current["texts"][0]
    assert nl_text["headline"] == nl_info["headline"]
    assert nl_text["area"] == "; ".join(a["desc"] for a in nl_info["areas"])

    exported = await client.get(f"/api/v1/bulletins/{bulletin['bulletin_id']}/cap")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/cap+xml"
    assert schema_problems(exported.content) == [], exported.text  # official XSD
    assert essence(exported.content) == src


async def test_update_and_cancel_supersede_and_withdraw(client: httpx.AsyncClient) -> None:
    created = (await _import(client, S.render(S.BOIL_WATER))).json()
    bulletin_id = created["bulletin"]["bulletin_id"]

    r = await _import(client, S.render(S.BOIL_WATER_UPDATE))
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "updated"
    updated = r.json()["bulletin"]
    assert updated["bulletin_id"] == bulletin_id and updated["current_version"] == 2
    assert updated["current"]["texts"][0]["headline"] == "Kookadvies nu ook voor Oss-Centrum"

    again = await _import(client, S.render(S.BOIL_WATER_UPDATE))  # a retry of the same alert
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert again.json()["bulletin"]["current_version"] == 2

    v2 = await client.get(f"/api/v1/bulletins/{bulletin_id}/versions/2/cap")
    assert schema_problems(v2.content) == []
    assert essence(v2.content)["msg_type"] == "Update"
    assert "NL-BW-2026-0142" in (_t(etree.fromstring(v2.content), "references") or "")

    r = await _import(client, S.render(S.BOIL_WATER_CANCEL))
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "withdrawn"
    assert r.json()["bulletin"]["state"] == "withdrawn"
    cancel = await client.get(f"/api/v1/bulletins/{bulletin_id}/cap")
    assert schema_problems(cancel.content) == []
    root = etree.fromstring(cancel.content)
    assert _t(root, "msgType") == "Cancel" and _t(root, "identifier") == "NL-BW-2026-0150"
    refs = _t(root, "references") or ""
    assert "NL-BW-2026-0142" in refs and "NL-BW-2026-0143" in refs

    detail = (await client.get(f"/api/v1/bulletins/{bulletin_id}")).json()
    assert [(v["version"], v["withdrawn"], v["source"]) for v in detail["versions"]] == [
        (1, False, "cap"),
        (2, False, "cap"),
        (3, True, "cap"),
    ]


async def test_a_native_bulletin_exports_as_valid_cap_another_cp_can_import(
    client: httpx.AsyncClient, tmp_path: Any
) -> None:
    r = await client.post(
        "/api/v1/bulletins",
        json={
            "bulletin_id": "water-tappunt",
            "urgency": "P2",
            "valid_until": "2099-01-01T12:00:00+01:00",
            "texts": [
                {
                    "language": "nl",
                    "headline": "Drinkwater bij de kerk",
                    "text": "Tappunt open van 8 tot 20 uur.",
                    "instruction": "Neem een schone fles mee.",
                    "area": "Oss-Centrum",
                    "sender_name": "Gemeente Oss",
                },
                {"language": "en", "headline": "Drinking water", "text": "Tap open 8 to 20."},
            ],
        },
    )
    assert r.status_code == 201, r.text
    xml = (await client.get("/api/v1/bulletins/water-tappunt/cap")).content
    assert schema_problems(xml) == []
    root = etree.fromstring(xml)
    assert _t(root, "sender") == "urn:noodnet:cp-cap" and _t(root, "msgType") == "Alert"
    assert [_t(i, "urgency") for i in root.findall(N + "info")] == ["Expected", "Expected"]
    assert [_t(i, "severity") for i in root.findall(N + "info")] == ["Severe", "Severe"]

    # Another CP (its own database) imports it: the same texts, validity and urgency.
    async for other in _client(f"sqlite:///{tmp_path / 'other.db'}", "cp-other"):
        imported = await _import(other, xml)
        assert imported.status_code == 201, imported.text
        got = imported.json()["bulletin"]["current"]
        assert got["urgency"] == "P2"
        assert _instant(got["valid_until"]) == datetime(2099, 1, 1, 11, 0, tzinfo=UTC)
        assert [(t["language"], t["headline"], t["area"]) for t in got["texts"]] == [
            ("nl", "Drinkwater bij de kerk", "Oss-Centrum"),
            # An area named only in Dutch is shown to English readers too (place names).
            ("en", "Drinking water", "Oss-Centrum"),
        ]


def _mutate(template: str, old: str, new: str) -> bytes:
    rendered = S.render(template)
    assert old.encode() in rendered, old
    return rendered.replace(old.encode(), new.encode(), 1)


@pytest.mark.parametrize(
    ("document", "status", "loc", "message"),
    [
        (
            _mutate(S.BOIL_WATER, "<urgency>Expected</urgency>", "<urgency>Soon</urgency>"),
            422,
            ["body", "alert", "info[1]", "urgency"],
            "'Soon' is not an element of the set",
        ),
        (
            _mutate(S.BOIL_WATER, "<sender>storingen@brabantwater.example</sender>", ""),
            422,
            ["body", "alert", "sent"],
            "Expected is ( sender )",
        ),
        (
            _mutate(S.BOIL_WATER, "<language>nl-NL</language>", "<language>fr</language>"),
            422,
            ["body", "alert", "info"],
            "no Dutch info block",
        ),
        (
            S.render(S.FIRE_SMOKE.replace("{expires_6h}", "{past}")),
            422,
            ["body", "alert", "info[1]", "expires"],
            "lies in the past",
        ),
        (
            _mutate(S.POWER_OUTAGE, "<status>Actual</status>", "<status>Exercise</status>"),
            422,
            ["body", "alert", "status"],
            "only 'Actual' alerts",
        ),
        (
            _mutate(S.POWER_OUTAGE, "<scope>Public</scope>", "<scope>Private</scope>"),
            422,
            ["body", "alert", "scope"],
            "only 'Public'",
        ),
        (
            _mutate(
                S.FIRE_SMOKE,
                "<headline>Grote brand bij industrieterrein Elzenburg: veel rook</headline>",
                "",
            ),
            422,
            ["body", "alert", "info[1]"],
            "<headline> is required",
        ),
        (
            _mutate(S.FIRE_SMOKE, "<language>de</language>", "<language>nl-BE</language>"),
            422,
            ["body", "alert", "info[3]", "language"],
            "one text per language",
        ),
        (
            _mutate(
                S.BOIL_WATER,
                "urn:oasis:names:tc:emergency:cap:1.2",
                "urn:oasis:names:tc:emergency:cap:1.1",
            ),
            422,
            ["body"],
            "this is CAP 1.1",
        ),
        (b"this is not xml", 422, ["body"], "not well-formed XML"),
        (b"", 422, ["body"], "empty body"),
        (
            b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&x;</alert>',
            422,
            ["body"],
            "DOCTYPE",
        ),
        (
            S.render(S.BOIL_WATER_UPDATE),  # its original was never imported here
            422,
            ["body", "alert", "references"],
            "none of the referenced alerts",
        ),
        (b"<a>" + b"x" * (600 * 1024) + b"</a>", 413, None, "larger than"),
    ],
    ids=[
        "bad-urgency",
        "missing-sender",
        "no-dutch",
        "expired",
        "exercise",
        "private",
        "no-headline",
        "two-dutch",
        "cap-1.1",
        "not-xml",
        "empty",
        "xxe",
        "unknown-reference",
        "too-large",
    ],
)
async def test_invalid_cap_gets_a_specific_error(
    client: httpx.AsyncClient,
    document: bytes,
    status: int,
    loc: list[str] | None,
    message: str,
) -> None:
    r = await _import(client, document)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    if loc is None:
        assert message in detail
        return
    assert any(d["loc"] == loc and message in d["msg"] for d in detail), detail
    # Nothing was stored.
    assert (await client.get("/api/v1/bulletins")).json() == []


async def test_a_cancel_withdraws_even_when_its_texts_do_not_fit(
    client: httpx.AsyncClient,
) -> None:
    created = (await _import(client, S.render(S.BOIL_WATER))).json()
    english_only = S.render(S.BOIL_WATER_CANCEL).replace(
        b"</alert>",
        b"<info><language>en-GB</language><category>Health</category><event>Boil water"
        b"</event><urgency>Past</urgency><severity>Minor</severity><certainty>Observed"
        b"</certainty><headline>Boil water advice lifted</headline></info></alert>",
    )
    r = await _import(client, english_only)
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "withdrawn"
    assert r.json()["bulletin"]["bulletin_id"] == created["bulletin"]["bulletin_id"]
    assert any("no Dutch info block" in w for w in r.json()["warnings"])
    # The withdrawn version carries the last texts (a bulletin body must have Dutch text).
    texts = r.json()["bulletin"]["current"]["texts"]
    assert texts[0]["headline"] == "Kookadvies voor Oss-Noord en Berghem"
