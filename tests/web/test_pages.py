"""The gateway's pages over HTTP (in-process, no broker: the link is down): no other hosts,
the forms' validation messages, the board's content rules, and the task buttons."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from gateway.api import create_app
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from noodcore.httpguard import TOKEN_COOKIE
from schemas import new_message_id, topics
from tests.support import free_port, issue_staff_token

CP, NSP = "cp-test", "nsp-web"
NOW = datetime.now(UTC)
BASE = "http://testserver"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = GatewaySettings(
        nsp_id=NSP,
        cp_id=CP,
        db_path=tmp_path / "gw.db",
        mqtt_port=free_port(),  # nobody listens: the link stays down
        heartbeat_seconds=3600,
        display_name="Wijkcentrum De Lievekamp",
    )
    with TestClient(create_app(settings), base_url=BASE, follow_redirects=False) as c:
        # Signed in as NSP staff, as the browser is after /staff/login.
        c.cookies.set(TOKEN_COOKIE, issue_staff_token(tmp_path / "gw.db"))
        yield c


def runtime(client: TestClient) -> GatewayRuntime:
    rt: GatewayRuntime = client.app.state.runtime  # type: ignore[attr-defined]
    return rt


def deliver_bulletin(client: TestClient, bulletin_id: str, version: int = 1, **body: Any) -> None:
    texts = body.pop(
        "texts",
        [
            {
                "language": "nl",
                "headline": f"Kookadvies {bulletin_id}",
                "text": "Kook water 3 minuten.\nOok voor flesvoeding.",
                "instruction": "Kook water voordat u het drinkt.",
                "area": "Oss-Noord",
                "sender_name": "Brabant Water",
            },
            {"language": "en", "headline": f"Boil water {bulletin_id}", "text": "Boil water."},
            {"language": "ar", "headline": "اغلي الماء", "text": "اغلي الماء لمدة 3 دقائق."},
        ],
    )
    msg = {
        "message_id": new_message_id(),
        "sent_at": NOW.isoformat(),
        "cp_id": CP,
        "kind": "bulletin",
        "body": {
            "bulletin_id": bulletin_id,
            "version": version,
            "valid_from": (NOW - timedelta(hours=1)).isoformat(),
            "texts": texts,
            **body,
        },
    }
    runtime(client).down_handler.handle(topics.bulletin(CP, bulletin_id), json.dumps(msg).encode())


def deliver_task(client: TestClient, task_id: str, revision: int = 1, **body: Any) -> None:
    msg = {
        "message_id": new_message_id(),
        "sent_at": NOW.isoformat(),
        "cp_id": CP,
        "nsp_id": NSP,
        "kind": "task",
        "body": {"task_id": task_id, "revision": revision, "title": f"Taak {task_id}", **body},
    }
    runtime(client).down_handler.handle(topics.down(CP, NSP, "task"), json.dumps(msg).encode())


def outbox_updates(client: TestClient) -> list[dict[str, Any]]:
    return [e.body for e in runtime(client).outbox.pending() if e.kind == "task_update"]


# ------------------------------------------------------------------------------ no other hosts


class References(HTMLParser):
    """Every URL an HTML page makes a browser load or go to."""

    ATTRS = {"src", "href", "action", "srcset", "poster", "data", "formaction", "manifest", "ping"}

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.links: list[str] = []  # what a person can follow (GET)
        self.inline_css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in self.ATTRS:
                self.refs.extend(v.strip().split(" ")[0] for v in value.split(","))
                if name == "href":
                    self.links.append(value)
            elif name == "style":
                self.inline_css.append(value)
            elif name == "content" and ("url=" in value.lower()):
                self.refs.append(value.lower().split("url=", 1)[1])
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.inline_css.append(data)


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""")


def _same_host(ref: str) -> bool:
    parts = urlsplit(urljoin(BASE + "/", ref))
    return parts.scheme in ("http", "") and parts.netloc == urlsplit(BASE).netloc


def test_no_page_or_asset_refers_to_another_host(client: TestClient) -> None:
    deliver_bulletin(client, "water", web="https://elders.example/kookadvies")
    deliver_task(client, "t-1", details="Zie https://elders.example/rooster")  # text, not a link
    client.post(
        "/api/v1/reports",
        json={
            "kind": "help_request",
            "body": {
                "category": "fire",
                "urgency": "P1",
                "location": {"address": "Markt 1, Oss"},
                "description": "Rook uit de kelder",
            },
        },
    )
    start = ["/", "/board", "/board?lang=en", "/board?lang=ar", "/staff?lang=en", "/staff?lang=nl"]
    seen: set[str] = set()
    queue: deque[str] = deque(start)
    assets: set[str] = set()
    pages = 0
    while queue:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert "link" not in r.headers, "no preload/preconnect headers to anywhere"
        if not r.headers["content-type"].startswith("text/html"):
            continue
        pages += 1
        parser = References()
        parser.feed(r.text)
        for css in parser.inline_css:
            for m in CSS_URL.finditer(css):
                assert _same_host(m.group(1) or m.group(2)), (path, css)
        for ref in parser.refs:
            assert not ref.startswith("//"), (path, ref)
            assert _same_host(ref), f"{path} refers to another host: {ref}"
            if urlsplit(ref).path.startswith("/static/"):
                assets.add(urlsplit(ref).path)
        for ref in parser.links:
            target = urlsplit(urljoin(BASE + path, ref))
            local = target.path + (f"?{target.query}" if target.query else "")
            if target.path and not target.path.startswith("/api/") and local not in seen:
                queue.append(local)
    # The crawl really went through the screens and their assets.
    assert pages >= 12 and {"/static/noodnet.css", "/static/noodnet.js"} <= assets
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200, asset
        if asset.endswith(".css"):
            for m in CSS_URL.finditer(r.text):
                assert _same_host(m.group(1) or m.group(2)), (asset, m.group(0))
        assert "://" not in r.text, f"{asset} names a URL"
        assert "@import" not in r.text and "import(" not in r.text
    # An invalid form page (what a volunteer sees after a mistake) too.
    bad = client.post("/staff/new/help", data={"description": "x"})
    assert bad.status_code == 422
    parser = References()
    parser.feed(bad.text)
    assert parser.refs and all(_same_host(ref) for ref in parser.refs)


# ------------------------------------------------------------------------------ forms


def errors_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="error-([a-z_]+)">([^<]+)</p>', html))


def test_help_form_messages_a_volunteer_understands(client: TestClient) -> None:
    r = client.post("/staff/new/help", data={"people_involved": "twee", "vulnerable_people": ""})
    assert r.status_code == 422
    assert errors_of(r.text) == {
        "category": "Kies een van de mogelijkheden.",
        "urgency": "Kies een van de mogelijkheden.",
        "address": "Vul dit veld in.",
        "people_involved": "Vul een getal in, bijvoorbeeld 3.",
        "description": "Vul dit veld in.",
    }
    assert 'aria-invalid="true"' in r.text and 'id="error-summary"' in r.text
    form = {
        "category": "medical",
        "urgency": "P2",
        "address": "Kerkstraat 12, Oss",
        "people_involved": "0",
        "description": "Valpartij",
        "reporter_name": "x" * 201,
    }
    r = client.post("/staff/new/help", data=form)
    assert errors_of(r.text) == {
        "people_involved": "Dit moet minstens 1 zijn.",
        "reporter_name": "Dit is te lang: hoogstens 200 tekens.",
    }
    assert 'value="Kerkstraat 12, Oss"' in r.text  # nothing typed is lost
    r = client.post("/staff/new/help?lang=en", data={**form, "people_involved": "1"})
    assert errors_of(r.text) == {"reporter_name": "This is too long: at most 200 characters."}
    r = client.post(
        "/staff/new/help", data={**form, "people_involved": "2", "reporter_name": "Ans"}
    )
    assert r.status_code == 303
    message_id = r.headers["location"].removeprefix("/staff/sent?new=")
    entry = runtime(client).outbox.get(message_id)
    assert entry is not None and entry.kind == "help_request"
    assert entry.body["location"]["address"] == "Kerkstraat 12, Oss"
    assert entry.body["people_involved"] == 2 and entry.body["reporter_name"] == "Ans"
    # The English page above remembered 'en'; ask for Dutch explicitly.
    sent = client.get(r.headers["location"] + "&lang=nl")
    assert "Wacht op verbinding" in sent.text and "Kerkstraat 12, Oss" in sent.text


def test_resource_and_status_forms(client: TestClient) -> None:
    base = {"resource": "fuel", "item": "diesel voor aggregaat", "unit": "liter", "urgency": "P2"}
    r = client.post("/staff/new/resource", data={**base, "quantity": "0"})
    assert errors_of(r.text) == {"quantity": "Dit moet meer dan 0 zijn."}
    r = client.post(
        "/staff/new/resource",
        data={**base, "quantity": "12,5", "needed_by": "2026-11-24T15:00"},
    )
    assert r.status_code == 303, r.text
    entry = runtime(client).outbox.get(r.headers["location"].split("=")[1])
    assert entry is not None
    assert entry.body["quantity"] == 12.5  # a Dutch decimal comma
    # Local time at the NSP (Amsterdam, winter: UTC+1).
    needed_by = datetime.fromisoformat(entry.body["needed_by"])
    assert needed_by == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)

    status = {
        "state": "limited",
        "power_source": "generator",
        "power_hours_left": "6,5",
        "staff_present": "2",
        "functions": ["information", "help_requests"],
    }
    assert client.post("/staff/new/status", data=status).status_code == 303
    again = client.get("/staff/new/status").text  # filled in with what was entered last time
    assert re.search(r'value="limited"\s+checked', again)
    assert re.search(r'value="help_requests"\s+checked', again)
    assert 'value="6.5"' in again


def test_forms_refuse_other_sites_and_non_forms(client: TestClient) -> None:
    data = {"category": "fire", "urgency": "P1", "address": "Markt 1", "description": "x"}
    r = client.post("/staff/new/help", data=data, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    assert client.post("/staff/new/help", json=data).status_code == 415
    assert client.get("/staff/new/selfie").status_code == 404
    assert runtime(client).outbox.pending() == []


# ------------------------------------------------------------------------------ board


def test_board_shows_current_bulletins_in_the_chosen_language(client: TestClient) -> None:
    r = client.get("/board")
    assert "Er zijn op dit moment geen berichten" in r.text
    assert "Sinds het opstarten om" in r.text  # never connected: the warning says since when
    deliver_bulletin(client, "water", urgency="P1")
    deliver_bulletin(client, "old", valid_until=(NOW - timedelta(minutes=1)).isoformat())
    deliver_bulletin(client, "elsewhere", target_nsps=["nsp-other"])
    deliver_bulletin(
        client,
        "nl-only",
        urgency="P4",
        texts=[{"language": "nl", "headline": "Open tot 22 uur", "text": "Welkom."}],
    )
    nl = client.get("/board").text
    assert nl.index("Kookadvies water") < nl.index("Open tot 22 uur")  # P1 first
    assert "Kookadvies old" not in nl and "Kookadvies elsewhere" not in nl
    assert "Wat moet u doen?" in nl and "Brabant Water" in nl and "Oss-Noord" in nl
    assert "Laatste bericht van het coördinatiepunt" in nl
    assert "Geen verbinding met het coördinatiepunt" in nl
    for code, name in (("nl", "Nederlands"), ("en", "English"), ("ar", "العربية")):
        assert f'hreflang="{code}"' in nl and name in nl

    ar = client.get("/board?lang=ar").text
    assert 'lang="ar" dir="rtl"' in ar and "اغلي الماء" in ar
    assert "only available in Dutch" in ar  # the nl-only bulletin, in the English UI

    # Withdrawn: gone at the next refresh.
    deliver_bulletin(client, "water", version=2, withdrawn=True)
    assert "Kookadvies water" not in client.get("/board/content").text


# ------------------------------------------------------------------------------ tasks


def test_task_done_and_reopen_reach_the_outbox(client: TestClient) -> None:
    deliver_task(client, "t-1", due_at=(NOW + timedelta(hours=1)).isoformat())
    assert [(u["task_id"], u["state"], u["revision"]) for u in outbox_updates(client)] == [
        ("t-1", "received", 1)
    ]
    page = client.get("/staff/tasks").text
    assert "Taak t-1" in page and 'action="/staff/tasks/t-1/done"' in page

    r = client.post("/api/v1/tasks/t-1/done", json={"by": "JdV"})
    assert r.status_code == 200 and r.json()["done"] and r.json()["done_by"] == "JdV"
    assert client.post("/api/v1/tasks/t-1/done", json={"by": "JdV"}).status_code == 200
    r = client.post("/staff/tasks/t-1/reopen", data={})
    assert r.status_code == 303
    assert [u["state"] for u in outbox_updates(client)] == ["received", "done", "reopened"]
    assert client.get("/api/v1/tasks").json()[0]["done"] is False

    deliver_task(client, "t-1", revision=2, cancelled=True)
    assert client.post("/api/v1/tasks/t-1/done").status_code == 409
    assert client.post("/staff/tasks/t-1/done", data={}).status_code == 409
    assert "Ingetrokken door het CP" in client.get("/staff/tasks").text
    assert client.post("/api/v1/tasks/t-nope/done").status_code == 404
    assert [u["revision"] for u in outbox_updates(client)] == [1, 1, 1, 2]
