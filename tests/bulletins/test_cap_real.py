"""CAP 1.2 with real alerts from public sources (``cap_real/``, origins in its README): import,
export, re-import, and each finding of issue 10 on them.

The files are kept verbatim. Two things are done to them here, because Noodnet requires them
and the alerts are years old: every time (sent, effective, onset, expires, the times in
references) is shifted by one amount so the alert was sent ten minutes ago, and a Dutch info
block is added (a copy of the first block with language 'nl', as a crisis room would add its
translation). Everything else is as the authority sent it.

Runs the CP service in-process (httpx ASGI transport, lifespan and migrations included) on
SQLite or PostgreSQL.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from service.bulletins.cap import CAP_NS, _loc_of, display_language, schema_problems
from tests.bulletins.cap_support import N, _instant, _pairs, _parse, _t, essence
from tests.bulletins.test_cap import _client

XML = {"content-type": "application/cap+xml"}
REAL = Path(__file__).with_name("cap_real")
TIMES = ("sent", "effective", "onset", "expires")

NAAD = "eccc_naad_special_weather_statement.xml"  # en-CA + fr-CA, own parameters per language
IMO = "imo_iceland_wind_warning.xml"  # is-IS + en-US, own geocodes per language
RFS = "nsw_rfs_structure_fire.xml"  # cap: prefix, two en-AU blocks
WRA = "wra_taiwan_reservoir_release.xml"  # zh-tw
WCATWC = "wcatwc_tsunami_warning_update.xml"  # an Update (its original is not published)
WCATWC_END = "wcatwc_tsunami_cancellation_update.xml"  # an Update that ends the warning


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(database_url, "cp-real"):
        yield c


# ------------------------------------------------------------------------------ preparing


def shift_for(raw: bytes, now: datetime) -> timedelta:
    """What moves this alert's <sent> to ten minutes before ``now``."""
    sent = _instant(_t(_parse(raw), "sent"))
    assert sent is not None
    return (now - timedelta(minutes=10)).replace(microsecond=0) - sent


def _shift(value: str, delta: timedelta) -> str:
    moved = datetime.fromisoformat(value.strip()) + delta
    return moved.isoformat()


def prepared(
    raw: bytes,
    delta: timedelta,
    *,
    dutch: str | None = "nl",
    edit: Any = None,
) -> bytes:
    """The real alert with its times shifted by ``delta`` and a Dutch block (tagged ``dutch``)
    added as the first info block; ``edit(root)`` may change more before it is written."""
    root = _parse(raw)
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != CAP_NS:
            continue
        name = etree.QName(el).localname
        if name in TIMES and el.text:
            el.text = _shift(el.text, delta)
        elif name == "references" and el.text and el.text.strip():
            refs = []
            for ref in el.text.split():
                sender, identifier, sent = ref.split(",")
                refs.append(f"{sender},{identifier},{_shift(sent, delta)}")
            el.text = " ".join(refs)
    infos = root.findall(N + "info")
    if dutch is not None and infos:
        nl = copy.deepcopy(infos[0])
        language = nl.find(N + "language")
        if language is None:
            language = etree.Element(N + "language")
            nl.insert(0, language)
        language.text = dutch
        infos[0].addprevious(nl)
    if edit is not None:
        edit(root)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def real(name: str) -> bytes:
    return (REAL / name).read_bytes()


# ------------------------------------------------------------------------------ comparing


def references(xml: bytes) -> set[tuple[str, str, datetime | None]]:
    out = set()
    for ref in (_t(_parse(xml), "references") or "").split():
        sender, identifier, sent = ref.split(",")
        out.add((sender, identifier, _instant(sent)))
    return out


async def _import(client: httpx.AsyncClient, xml: bytes) -> httpx.Response:
    return await client.post("/api/v1/bulletins/cap", content=xml, headers=XML)


async def _bulletins(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = (await client.get("/api/v1/bulletins")).json()
    return listed


# ------------------------------------------------------------------------------ tests


def test_the_real_alerts_are_valid_cap_1_2_as_published() -> None:
    for name in (NAAD, IMO, RFS, WRA, WCATWC, WCATWC_END):
        assert schema_problems(real(name)) == [], name


@pytest.mark.parametrize(
    ("name", "languages", "warning"),
    [
        (NAAD, ["nl", "en-CA", "fr-CA"], None),
        (IMO, ["nl", "is-IS", "en-US"], "resource 'Icon: Wind'"),
        (RFS, ["nl", "en-AU"], "info[3] 'en-AU': a second info block in this language"),
        (WRA, ["nl", "zh-TW"], None),
    ],
    ids=["eccc-naad", "imo-iceland", "nsw-rfs-prefixed", "wra-taiwan"],
)
async def test_a_real_alert_round_trips_and_its_export_comes_back_as_the_same_bulletin(
    client: httpx.AsyncClient, name: str, languages: list[str], warning: str | None
) -> None:
    raw = real(name)
    original = prepared(raw, shift_for(raw, datetime.now(UTC)))
    r = await _import(client, original)
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "created"
    if warning is not None:
        assert any(warning in w for w in r.json()["warnings"]), r.json()["warnings"]
    bulletin = r.json()["bulletin"]
    assert [t["language"] for t in bulletin["current"]["texts"]] == languages

    exported = (await client.get(f"/api/v1/bulletins/{bulletin['bulletin_id']}/cap")).content
    assert schema_problems(exported) == [], exported.decode()
    assert essence(exported) == essence(original)

    # The CP's export imported again is the same bulletin version: nothing new.
    again = await _import(client, exported)
    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "duplicate"
    assert again.json()["bulletin"]["bulletin_id"] == bulletin["bulletin_id"]
    assert again.json()["bulletin"]["current_version"] == 1
    assert len(await _bulletins(client)) == 1


@pytest.mark.parametrize(
    ("name", "language", "own", "dutch_block_has"),
    [
        (
            NAAD,
            "fr-CA",
            ("layer:EC-MSC-SMC:1.0:Alert_Name", "bulletin météorologique spécial"),
            ("layer:EC-MSC-SMC:1.0:Alert_Name", "special weather statement"),
        ),
        (
            IMO,
            "en-US",
            ("Forecast Region", "Reykjavik - Capital Region"),
            ("Spásvæði", "Höfuðborgarsvæðið"),
        ),
    ],
    ids=["eccc-naad-parameter", "imo-iceland-geocode"],
)
async def test_each_language_exports_its_own_parameters_and_geocodes(
    client: httpx.AsyncClient,
    tmp_path: Path,
    name: str,
    language: str,
    own: tuple[str, str],
    dutch_block_has: tuple[str, str],
) -> None:
    raw = real(name)
    original = prepared(raw, shift_for(raw, datetime.now(UTC)))
    r = await _import(client, original)
    assert r.status_code == 201, r.text
    bulletin_id = r.json()["bulletin"]["bulletin_id"]
    exported = (await client.get(f"/api/v1/bulletins/{bulletin_id}/cap")).content

    def said(xml: bytes, lang: str) -> list[tuple[str | None, str | None]]:
        info = next(i for i in _parse(xml).findall(N + "info") if _t(i, "language") == lang)
        values = _pairs(info, "parameter")
        for area in info.findall(N + "area"):
            values += _pairs(area, "geocode")
        return values

    assert own in said(original, language) and own in said(exported, language)
    assert dutch_block_has not in said(exported, language)  # not overwritten by Dutch
    assert dutch_block_has in said(exported, "nl")
    assert said(exported, language) == said(original, language)

    # And through a second CP (its own database): still each language its own.
    async for other in _client(f"sqlite:///{tmp_path / 'other.db'}", "cp-other"):
        imported = await _import(other, exported)
        assert imported.status_code == 201, imported.text
        other_id = imported.json()["bulletin"]["bulletin_id"]
        again = (await other.get(f"/api/v1/bulletins/{other_id}/cap")).content
        assert said(again, language) == said(original, language)
        assert essence(again)["infos"] == essence(original)["infos"]


async def test_an_imported_cancel_exports_with_its_own_sent(client: httpx.AsyncClient) -> None:
    raw = real(NAAD)
    delta = shift_for(raw, datetime.now(UTC))
    alert = prepared(raw, delta)
    root = _parse(alert)
    sender, identifier = _t(root, "sender"), _t(root, "identifier")
    alert_sent = _instant(_t(root, "sent"))
    assert sender and identifier and alert_sent

    def cancel(el: etree._Element) -> None:
        # As ECCC cancels: a new identifier, msgType Cancel, references naming the alert.
        el.find(N + "identifier").text = identifier + ".cancel"
        el.find(N + "msgType").text = "Cancel"
        el.find(N + "sent").text = (alert_sent + timedelta(minutes=7)).isoformat()
        el.find(N + "references").text = f"{sender},{identifier},{alert_sent.isoformat()}"

    created = await _import(client, alert)
    assert created.status_code == 201, created.text
    bulletin_id = created.json()["bulletin"]["bulletin_id"]
    cancelled = await _import(client, prepared(raw, delta, edit=cancel))
    assert cancelled.status_code == 201, cancelled.text
    assert cancelled.json()["outcome"] == "withdrawn"
    assert cancelled.json()["bulletin"]["bulletin_id"] == bulletin_id

    v2 = (await client.get(f"/api/v1/bulletins/{bulletin_id}/versions/2/cap")).content
    assert schema_problems(v2) == []
    e = essence(v2)
    assert (e["msg_type"], e["identifier"]) == ("Cancel", identifier + ".cancel")
    assert e["sent"] == alert_sent + timedelta(minutes=7)  # its own, not the Alert's
    assert references(v2) == {(sender, identifier, alert_sent)}
    v1 = (await client.get(f"/api/v1/bulletins/{bulletin_id}/versions/1/cap")).content
    assert essence(v1)["sent"] == alert_sent

    # Both exports come back as what they are: no new version, no new bulletin.
    for xml in (v1, v2):
        again = await _import(client, xml)
        assert again.status_code == 200, again.text
        assert again.json()["outcome"] == "duplicate"
    assert [b["current_version"] for b in await _bulletins(client)] == [2]


async def test_a_real_update_makes_a_new_version_with_its_own_identity(
    client: httpx.AsyncClient,
) -> None:
    raw = real(WCATWC)
    delta = shift_for(raw, datetime.now(UTC))
    update = prepared(raw, delta)

    # Without the alert it updates, it is refused, and says why.
    r = await _import(client, update)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "alert", "references"]

    # The original (PAAQ-1, not published with the Update) as the references describe it.
    (ref_sender, ref_identifier, ref_sent) = next(iter(references(update)))
    assert ref_sent is not None

    def original(el: etree._Element) -> None:
        el.find(N + "identifier").text = ref_identifier
        el.find(N + "sender").text = ref_sender
        el.find(N + "sent").text = ref_sent.isoformat()
        el.find(N + "msgType").text = "Alert"
        el.remove(el.find(N + "references"))

    created = await _import(client, prepared(raw, delta, edit=original))
    assert created.status_code == 201, created.text
    bulletin_id = created.json()["bulletin"]["bulletin_id"]

    updated = await _import(client, update)
    assert updated.status_code == 201, updated.text
    assert updated.json()["outcome"] == "updated"
    assert updated.json()["bulletin"]["bulletin_id"] == bulletin_id
    assert updated.json()["bulletin"]["current_version"] == 2
    assert any("resource 'Energy Map'" in w for w in updated.json()["warnings"])

    v2 = (await client.get(f"/api/v1/bulletins/{bulletin_id}/versions/2/cap")).content
    assert schema_problems(v2) == []
    assert essence(v2) == essence(update)  # identity, sent, infos: the Update as it came
    assert references(v2) == {(ref_sender, ref_identifier, ref_sent)}
    v1 = (await client.get(f"/api/v1/bulletins/{bulletin_id}/versions/1/cap")).content
    assert (essence(v1)["identifier"], essence(v1)["sent"]) == (ref_identifier, ref_sent)

    for xml in (v1, v2, update):
        again = await _import(client, xml)
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate", again.text
    assert [b["current_version"] for b in await _bulletins(client)] == [2]


async def test_a_real_update_that_ends_the_warning_withdraws_the_bulletin(
    client: httpx.AsyncClient,
) -> None:
    """The tsunami centre ends a warning with an Update that expires when it is sent (urgency
    Past): refusing it as expired would leave the warning up at every NSP."""
    raw = real(WCATWC_END)
    delta = shift_for(raw, datetime.now(UTC))
    update = prepared(raw, delta)
    first = min(references(update), key=lambda ref: ref[2] or datetime.min.replace(tzinfo=UTC))
    first_sent = first[2]
    assert first_sent is not None

    def original(el: etree._Element) -> None:
        # The first warning of the chain (PAAQ-1, not published with this Update).
        el.find(N + "identifier").text = first[1]
        el.find(N + "sent").text = first_sent.isoformat()
        el.find(N + "msgType").text = "Alert"
        el.remove(el.find(N + "references"))
        for info in el.findall(N + "info"):
            info.find(N + "urgency").text = "Immediate"
            info.find(N + "onset").text = first_sent.isoformat()
            info.find(N + "expires").text = (first_sent + timedelta(hours=6)).isoformat()

    created = await _import(client, prepared(raw, delta, edit=original))
    assert created.status_code == 201, created.text
    bulletin_id = created.json()["bulletin"]["bulletin_id"]

    ended = await _import(client, update)
    assert ended.status_code == 201, ended.text
    assert ended.json()["outcome"] == "withdrawn"
    assert ended.json()["bulletin"]["bulletin_id"] == bulletin_id
    assert ended.json()["bulletin"]["state"] == "withdrawn"
    assert any("it ends the alert" in w for w in ended.json()["warnings"])

    v2 = (await client.get(f"/api/v1/bulletins/{bulletin_id}/versions/2/cap")).content
    assert schema_problems(v2) == []
    e = essence(v2)
    assert (e["msg_type"], e["identifier"]) == ("Cancel", "PAAQ-4-mg5a94")
    assert e["sent"] == essence(update)["sent"]
    assert (first[0], first[1], first_sent) in references(v2)
    for xml in (update, v2):
        again = await _import(client, xml)
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate", again.text
    assert len(await _bulletins(client)) == 1


@pytest.mark.parametrize(
    ("tag", "shown"),
    [
        ("nl", "nl"),
        ("NL-nl", "nl-NL"),
        ("zh-tw", "zh-TW"),
        ("nl-Latn-NL", "nl"),
        ("es-419", "es"),
        ("zh-Hant-TW", "zh"),
        ("en-GB-oxendict", "en"),
        ("sr-Latn-RS-u-nu-latn", "sr"),
        (None, "en-US"),
        ("fil", None),
        ("haw-US", None),
        ("x-klingon", None),
        ("en-", None),
    ],
)
def test_language_tags_map_to_what_nsps_show(tag: str | None, shown: str | None) -> None:
    assert display_language(tag) == shown


async def test_valid_language_tags_the_project_does_not_use_keep_their_blocks(
    client: httpx.AsyncClient,
) -> None:
    raw = real(IMO)

    def retag(root: etree._Element) -> None:
        infos = root.findall(N + "info")  # nl (added), is-IS, en-US
        infos[2].find(N + "language").text = "en-Latn-US"
        for tag, headline in (("es-419", "Vendavales del sureste"), ("fil", "Malakas na hangin")):
            block = copy.deepcopy(infos[2])
            block.find(N + "language").text = tag
            block.find(N + "headline").text = headline
            root.append(block)

    original = prepared(raw, shift_for(raw, datetime.now(UTC)), dutch="nl-Latn-NL", edit=retag)
    r = await _import(client, original)
    assert r.status_code == 201, r.text
    texts = r.json()["bulletin"]["current"]["texts"]
    assert [(t["language"], t["headline"]) for t in texts] == [
        ("nl", "Hvöss suðaustanátt"),
        ("is-IS", "Hvöss suðaustanátt"),
        ("en", "Southeast gales"),
        ("es", "Vendavales del sureste"),
    ]
    assert any("info[5] 'fil': no two-letter language code" in w for w in r.json()["warnings"])

    bulletin_id = r.json()["bulletin"]["bulletin_id"]
    exported = (await client.get(f"/api/v1/bulletins/{bulletin_id}/cap")).content
    assert schema_problems(exported) == []
    tags = [_t(i, "language") for i in _parse(exported).findall(N + "info")]
    assert tags == ["nl-Latn-NL", "is-IS", "en-Latn-US", "es-419", "fil"]  # as they came
    assert essence(exported) == essence(original)
    again = await _import(client, exported)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"


@pytest.mark.parametrize(
    ("old", "new", "loc", "message"),
    [
        (
            # The schema refuses it: the path names the block, not '/cap:alert/cap:info[3]/…'.
            "<cap:urgency>Expected</cap:urgency>\n    <cap:severity>Minor</cap:severity>\n"
            "    <cap:certainty>Observed</cap:certainty>\n    <cap:eventCode>",
            "<cap:urgency>Soon</cap:urgency>\n    <cap:severity>Minor</cap:severity>\n"
            "    <cap:certainty>Observed</cap:certainty>\n    <cap:eventCode>",
            ["body", "alert", "info[1]", "urgency"],
            "'Soon' is not an element of the set",
        ),
        (
            "<cap:circle>",
            "<cap:polygon>-35.30,147.00 -35.40,147.10 -35.50,147.00</cap:polygon><cap:circle>",
            ["body", "alert", "info[2]", "area", "polygon"],
            "must end where it starts",
        ),
    ],
    ids=["schema-error", "open-polygon"],
)
async def test_errors_in_a_prefixed_real_alert_name_readable_elements(
    client: httpx.AsyncClient, old: str, new: str, loc: list[str], message: str
) -> None:
    raw = real(RFS)
    document = prepared(raw, shift_for(raw, datetime.now(UTC)))
    # The edit goes into the first en-AU block: the second after the Dutch one.
    text = document.decode()
    first_en = text.index("<cap:language>en-AU</cap:language>")
    at = text.index(old, first_en) if old == "<cap:circle>" else text.index(old)
    document = (text[:at] + new + text[at + len(old) :]).encode()
    r = await _import(client, document)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(d["loc"] == loc and message in d["msg"] for d in detail), detail
    assert all("{urn:" not in str(d) and "cap:" not in "".join(d["loc"]) for d in detail)
    assert all(isinstance(d.get("line"), int) for d in detail)
    assert await _bulletins(client) == []


def test_an_unresolvable_error_path_is_still_given_by_local_names() -> None:
    tree = etree.ElementTree(_parse(real(RFS)))
    # A prefix the document does not declare: the path cannot be evaluated, only read.
    loc = _loc_of(tree, "/c:alert/c:info[2]/c:area/{urn:x}polygon[3]", {})
    assert loc == ("alert", "info[2]", "area", "polygon[3]")
    assert _loc_of(tree, "/cap:alert/cap:info[2]/cap:area", {"cap": CAP_NS}) == (
        "alert",
        "info[2]",
        "area",
    )


async def test_the_cps_own_export_comes_back_as_the_same_version(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/api/v1/bulletins",
        json={
            "bulletin_id": "eigen-export",
            "urgency": "P2",
            "valid_until": "2099-01-01T12:00:00+01:00",
            "texts": [{"language": "nl", "headline": "Tappunt open", "text": "Van 8 tot 20 uur."}],
        },
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/bulletins/eigen-export/versions",
        json={
            "valid_until": "2099-01-01T12:00:00+01:00",
            "texts": [{"language": "nl", "headline": "Tappunt dicht", "text": "Morgen weer."}],
        },
    )
    assert r.status_code == 201, r.text
    v1 = (await client.get("/api/v1/bulletins/eigen-export/versions/1/cap")).content
    v2 = (await client.get("/api/v1/bulletins/eigen-export/versions/2/cap")).content
    for xml in (v1, v2, v1):
        again = await _import(client, xml)
        assert again.status_code == 200, again.text
        assert again.json()["outcome"] == "duplicate"
        assert again.json()["bulletin"]["bulletin_id"] == "eigen-export"
    assert [(b["bulletin_id"], b["current_version"]) for b in await _bulletins(client)] == [
        ("eigen-export", 2)
    ]

    # Someone else's Update of the exported alert is a new version of the same bulletin.
    root = _parse(v2)
    own = (_t(root, "sender"), _t(root, "identifier"), _t(root, "sent"))
    root.find(N + "identifier").text = "extern-update-1"
    root.find(N + "sender").text = "meldkamer@example.org"
    root.find(N + "sent").text = datetime.now(UTC).replace(microsecond=0).isoformat()
    root.find(N + "references").text = ",".join(str(x) for x in own)
    root.find(N + "info").find(N + "headline").text = "Tappunt weer open"
    r = await _import(client, etree.tostring(root))
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "updated"
    assert r.json()["bulletin"]["bulletin_id"] == "eigen-export"
    assert r.json()["bulletin"]["current_version"] == 3

    # An identity of this CP that names no version here is refused, not made a bulletin.
    forged = v1.replace(b":bulletin:eigen-export:v1<", b":bulletin:eigen-export:v9<")
    assert forged != v1
    r = await _import(client, forged)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "alert", "identifier"]
    assert len(await _bulletins(client)) == 1


async def test_kept_info_blocks_given_through_the_api_must_be_cap(
    client: httpx.AsyncClient,
) -> None:
    fil = (
        f'<info xmlns="{CAP_NS}"><language>fil</language><category>Met</category>'
        "<event>Bagyo</event><urgency>Expected</urgency><severity>Minor</severity>"
        "<certainty>Possible</certainty><headline>Babala sa bagyo</headline></info>"
    )
    body: dict[str, Any] = {
        "bulletin_id": "met-bewaard-blok",
        "valid_until": "2099-01-01T12:00:00+01:00",
        "texts": [{"language": "nl", "headline": "Storm", "text": "Blijf binnen."}],
        "cap": {"unshown_infos": [fil.replace("<urgency>Expected", "<urgency>Soon")]},
    }
    r = await client.post("/api/v1/bulletins", json=body)
    assert r.status_code == 422, r.text
    assert "not a CAP 1.2 info block" in r.text and "Soon" in r.text
    body["cap"] = {"unshown_infos": ["<info>not CAP</info>"]}
    assert (await client.post("/api/v1/bulletins", json=body)).status_code == 422
    body["cap"] = {
        "unshown_infos": [fil],
        "info": {"nl": {"language_tag": "nl-Latn-NL"}},
    }
    r = await client.post("/api/v1/bulletins", json=body)
    assert r.status_code == 201, r.text
    exported = (await client.get("/api/v1/bulletins/met-bewaard-blok/cap")).content
    assert schema_problems(exported) == []
    assert [_t(i, "language") for i in _parse(exported).findall(N + "info")] == [
        "nl-Latn-NL",
        "fil",
    ]
