"""Failure isolation in ingest (issue 10, part A), in-process on SQLite and PostgreSQL.

* Must show 1 (HTTP entry point): every hostile class, interleaved with good reports of
  other NSPs, is refused at the edge or kept as a dead letter; every good report is stored;
  the CP stays ready. (The MQTT entry point: tests/test_ingest_isolation_e2e.py.)
* Must show 2: a failure injected into one hook for one chosen message is isolated: a P1 is
  stored and queued as P1 without that hook, a non-P1 becomes a dead letter naming the step,
  everything else in the same batch is stored, and re-processing after the "fix" stores it,
  idempotently.
* Must show 5 (part): the kind registry covers every upward kind and names only handlers the
  CP installs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.outbox import AckOutcome, Outbox
from noodcore.db import table_of
from schemas import UP_KINDS, UP_MESSAGE_TYPES, AckMessage, HandlingState, make_up, new_message_id
from service import kinds
from service.app import create_app
from service.db import make_engine, migrate
from service.ingest import IngestWorker, InvalidMessage, make_ack, validate_up
from service.settings import ServiceSettings
from service.store import Accepted, PresenceSeen, Rejected, StoreResult, dead_letter_row
from service.triage.models import TriageItem
from tests.conftest import test_db_kind as db_kind
from tests.support import bearer

CP = "cp-i"

# Tests that touch no CP database: the SQLite pass runs them.
no_database = pytest.mark.skipif(
    db_kind() == "postgres", reason="no CP database involved; the SQLite pass runs it"
)


def help_body(text: str = "Man gevallen, bloedt aan hoofd", urgency: str = "P2") -> dict[str, Any]:
    return {
        "category": "medical",
        "urgency": urgency,
        "location": {"address": "Kerkstraat 12, Oss", "lat": 51.765, "lon": 5.518},
        "description": text,
    }


def msg(kind: str, nsp: str, seq: int, body: dict[str, Any]) -> dict[str, Any]:
    return json.loads(make_up(kind, nsp, seq, body).model_dump_json())


def receipt(nsp: str, seq: int, version: int = 1) -> dict[str, Any]:
    m = msg(
        "receipt", nsp, seq, {"bulletin_id": "b1", "version": 1, "shown_at": "2026-01-01T00:00:00Z"}
    )
    m["body"]["version"] = version
    return m


def task_update(nsp: str, seq: int, revision: int = 1) -> dict[str, Any]:
    m = msg(
        "task_update",
        nsp,
        seq,
        {"task_id": "t1", "revision": 1, "state": "received", "at": "2026-01-01T00:00:00Z"},
    )
    m["body"]["revision"] = revision
    return m


# ------------------------------------------------------------------------ hostile inputs


def hostile_payloads(nsp: str) -> list[tuple[str, bytes]]:
    """(what, raw JSON bytes) for every class of the issue, and a few more, for ``nsp``."""
    seq = iter(range(1000, 2000))

    def good(text: str | None = None) -> dict[str, Any]:
        m = msg("help_request", nsp, next(seq), help_body())
        if text is not None:
            m["body"]["description"] = text  # past the model: as an attacker would send it
        return m

    out: list[tuple[str, bytes]] = []
    deep = good()
    out.append(
        (
            "deep nesting",
            json.dumps(deep)[:-1].encode() + b', "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
        )
    )
    out.append(("huge integer", json.dumps(good())[:-1].encode() + b', "x": ' + b"9" * 5000 + b"}"))
    huge_seq = good()
    out.append(
        (
            "huge seq",
            json.dumps(huge_seq)
            .replace(f'"seq": {huge_seq["seq"]}', '"seq": ' + "9" * 5000)
            .encode(),
        )
    )
    lone = good()
    out.append(
        ("lone surrogate nsp_id", json.dumps(lone).replace(f'"{nsp}"', '"nsp\\ud800x"').encode())
    )
    nul_key = good()
    nul_key["body"]["desc\u0000ription"] = "x"
    out.append(("NUL in a key", json.dumps(nul_key).encode()))
    nul_kind = good()
    nul_kind["kind"] = "help\u0000request"
    out.append(("NUL in kind", json.dumps(nul_kind).encode()))
    out.append(("NUL in text", json.dumps(good(text="brand\u0000 in de schuur")).encode()))
    out.append(
        ("lone surrogate in text", json.dumps(good(text="brand \ud83d in de schuur")).encode())
    )
    out.append(("control char in text", json.dumps(good(text="brand\u001b[2J")).encode()))
    out.append(("receipt version > int32", json.dumps(receipt(nsp, next(seq), 2**40)).encode()))
    out.append(("task revision > int32", json.dumps(task_update(nsp, next(seq), 2**40)).encode()))
    early = good()
    early["sent_at"] = "0001-01-01T00:00:00+14:00"
    out.append(("timestamp before year 1 in UTC", json.dumps(early).encode()))
    late = good()
    late["sent_at"] = "9999-12-31T23:59:59-14:00"
    out.append(("timestamp after year 9999 in UTC", json.dumps(late).encode()))
    obs = msg(
        "situation_report",
        nsp,
        next(seq),
        {"category": "rumour", "severity": "low", "description": "x"},
    )
    obs["body"]["observed_at"] = "0001-01-01T00:00:00+14:00"
    out.append(("body timestamp out of range", json.dumps(obs).encode()))
    nan = good()
    out.append(("NaN latitude", json.dumps(nan).replace('"lat": 51.765', '"lat": NaN').encode()))
    return out


@no_database
def test_validation_refuses_every_hostile_class_with_a_reason() -> None:
    for what, payload in hostile_payloads("nsp-x"):
        with pytest.raises(InvalidMessage) as err:
            validate_up(payload, 1_000_000)
        assert err.value.reason, what


@no_database
def test_dead_letter_row_is_clean_whatever_the_input() -> None:
    from datetime import UTC, datetime

    row = dead_letter_row(
        Rejected(
            reason="kind: 'help\x00request' \ud800 " + "x" * 10_000,
            received_at=datetime.now(UTC),
            transport="mqtt",
            payload=b"\x00\xff",
            topic="t\x00\ud800",
            nsp_id="nsp\ud800" * 100,
            message_id="\ud800" * 40,
            step="hook:\x00",
        )
    )
    for key in ("reason", "topic", "nsp_id", "message_id", "step"):
        value = row[key]
        assert "\x00" not in value
        value.encode("utf-8")  # no lone surrogate left
    assert len(row["reason"]) <= 4000 and len(row["nsp_id"]) <= 200
    assert row["payload"] == b"\x00\xff"


# ------------------------------------------------------------------------ HTTP, must show 1


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id=CP))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cp") as c,
    ):
        c.headers.update(bearer(app.state.ctx.engine, "admin"))
        c.app = app  # type: ignore[attr-defined]
        yield c


async def test_http_hostile_messages_never_stop_good_ones(
    client: httpx.AsyncClient, database_url: str
) -> None:
    engine = client.app.state.ctx.engine  # type: ignore[attr-defined]
    gw = {n: bearer(engine, "gateway", n) for n in ("nsp-bad", "nsp-g1", "nsp-g2")}
    good_ids: list[str] = []
    seqs = {"nsp-g1": 0, "nsp-g2": 0}
    outcomes: dict[str, int] = {}

    async def post_good() -> None:
        for nsp in seqs:
            seqs[nsp] += 1
            m = msg("help_request", nsp, seqs[nsp], help_body(f"goed {seqs[nsp]}"))
            r = await client.post("/api/v1/messages", json=m, headers=gw[nsp])
            assert r.status_code == 201, r.text
            good_ids.append(m["message_id"])

    for what, payload in hostile_payloads("nsp-bad"):
        await post_good()
        r = await client.post(
            "/api/v1/messages",
            content=payload,
            headers={**gw["nsp-bad"], "Content-Type": "application/json"},
        )
        outcomes[what] = r.status_code
        assert r.status_code in (400, 422), (what, r.status_code, r.text[:300])
    # Reused message ids: same NSP with another body, and another NSP with the first's id.
    await post_good()
    original = msg("help_request", "nsp-g1", 500, help_body("origineel"))
    assert (
        await client.post("/api/v1/messages", json=original, headers=gw["nsp-g1"])
    ).status_code == 201
    good_ids.append(original["message_id"])
    changed = {**original, "body": help_body("veranderd")}
    r = await client.post("/api/v1/messages", json=changed, headers=gw["nsp-g1"])
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "received_not_processed"
    assert r.json()["ack"]["state"] == "received_not_processed"
    stolen = {
        **msg("help_request", "nsp-bad", 501, help_body("gestolen id")),
        "message_id": original["message_id"],
    }
    r = await client.post("/api/v1/messages", json=stolen, headers=gw["nsp-bad"])
    assert r.status_code == 202, r.text
    same = await client.post("/api/v1/messages", json=original, headers=gw["nsp-g1"])
    assert same.status_code == 200 and same.json()["status"] == "duplicate"
    await post_good()

    stored = await client.get("/api/v1/messages", params={"limit": 1000})
    stored_ids = {m["message_id"] for m in stored.json()}
    assert set(good_ids) <= stored_ids
    assert not any(m["nsp_id"] == "nsp-bad" for m in stored.json())
    kept = next(m for m in stored.json() if m["message_id"] == original["message_id"])
    assert kept["body"]["description"] == "origineel", "a reused id never replaces content"
    letters = (await client.get("/api/v1/dead-letters", params={"limit": 1000})).json()
    reuse = [d for d in letters if d["step"] == "dedupe"]
    assert len(reuse) == 2 and all("reused with different content" in d["reason"] for d in reuse)
    events = (await client.get("/api/v1/security-events")).json()
    events = events if isinstance(events, list) else events.get("events", [])
    assert sum(e["kind"] == "message_id_reused" for e in events) == 2
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text

    # A second CP on the same database (a restart): ready, the same messages, nothing hostile.
    again = create_app(ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id=CP))
    async with (
        again.router.lifespan_context(again),
        httpx.AsyncClient(transport=httpx.ASGITransport(again), base_url="http://cp") as c2,
    ):
        c2.headers.update(bearer(again.state.ctx.engine, "admin"))
        assert (await c2.get("/readyz")).status_code == 200
        listed = (await c2.get("/api/v1/messages", params={"limit": 1000})).json()
        assert {m["message_id"] for m in listed} == stored_ids
        assert len((await c2.get("/api/v1/dead-letters")).json()) == len(letters)


# ------------------------------------------------------------------------ must show 2


class FailFor:
    """Wraps a real hook and raises for the chosen message ids (the injected failure)."""

    def __init__(self, hook: Any, name: str, message_ids: set[str]) -> None:
        self.hook = hook
        self.hook_name = name
        self.message_ids = message_ids
        self.calls = 0

    def __call__(
        self, conn: Connection, new: list[Accepted], presences: list[PresenceSeen]
    ) -> None:
        self.calls += 1
        bad = [a.message.message_id for a in new if a.message.message_id in self.message_ids]
        if bad:
            raise RuntimeError(f"injected failure for {bad}")
        self.hook(conn, new, presences)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    e = make_engine(database_url)
    migrate(e)
    yield e
    e.dispose()


def test_a_failing_hook_is_isolated_to_its_message_and_reprocessing_works(
    engine: sa.Engine, database_url: str
) -> None:
    from service.app import create_app  # noqa: F401  (the app wires the same hooks)
    from service.triage.runtime import Triage

    settings = ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id=CP)
    triage = Triage(engine, CP)
    p1 = msg("help_request", "nsp-a", 1, help_body("Bewusteloze man, ademt niet", "P1"))
    p2 = msg("help_request", "nsp-a", 2, help_body("Enkel verstuikt", "P3"))
    others = [msg("help_request", f"nsp-o{i}", 1, help_body(f"melding {i}")) for i in range(8)]
    injected = FailFor(triage.hook, "grouping", {p1["message_id"], p2["message_id"]})
    worker = IngestWorker(engine, settings, hooks=[injected])
    futures: dict[str, Future[StoreResult]] = {}
    order = [*others[:4], p1, *others[4:6], p2, *others[6:]]
    for m in order:  # queued before the worker starts: one batch
        futures[m["message_id"]] = worker.submit_http(json.dumps(m).encode())
    worker.start()
    try:
        results = {mid: f.result(timeout=20) for mid, f in futures.items()}
    finally:
        worker.stop()
    assert worker.isolated_total >= 1 and injected.calls > 2, "the batch was narrowed down"
    assert results[p1["message_id"]].dead_letter is None and results[p1["message_id"]].new
    assert results[p2["message_id"]].dead_letter is not None
    assert all(results[m["message_id"]].new for m in others)
    items = table_of(TriageItem)
    with engine.connect() as conn:
        stored = set(conn.execute(sa.text("SELECT message_id FROM message")).scalars())
        assert stored == {m["message_id"] for m in [*others, p1]}
        p1_item = conn.execute(
            sa.select(items).where(items.c.representative_message_id == p1["message_id"])
        ).one()
        assert p1_item.top_class == "P1" and p1_item.life_threatening and p1_item.state == "new"
        grouped = conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one()
        assert grouped >= 2, "the other reports were grouped normally"
        letters = conn.execute(sa.text("SELECT id, step, reason, message_id FROM deadletter")).all()
    assert [(d.step, d.message_id) for d in letters] == [("hook:grouping", p2["message_id"])]
    assert "injected failure" in letters[0].reason

    # The fix: the real hook again. Re-processing stores it once, however often it is asked.
    worker = IngestWorker(engine, settings, hooks=[triage.hook])
    worker.start()
    try:
        first = worker.reprocess(letters[0].id, json.dumps(p2).encode(), None, "http", "nsp-a")
        assert first.result(timeout=20).new
        again = worker.reprocess(letters[0].id, json.dumps(p2).encode(), None, "http", "nsp-a")
        assert again.result(timeout=20).new is False
    finally:
        worker.stop()
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT resolved_at, resolution FROM deadletter")).one()
        count = conn.execute(
            sa.text("SELECT count(*) FROM message WHERE message_id = :m"), {"m": p2["message_id"]}
        ).scalar_one()
    assert row.resolved_at is not None and "stored as message" in row.resolution
    assert count == 1


async def test_reprocess_endpoint_is_idempotent(client: httpx.AsyncClient) -> None:
    app = client.app  # type: ignore[attr-defined]
    worker = app.state.ctx.worker
    grouping = next(h for h in worker.hooks if kinds.hook_name(h) == "grouping")
    m = msg(
        "situation_report",
        "nsp-r",
        1,
        {"category": "water", "severity": "high", "description": "Geen water"},
    )
    injected = FailFor(grouping, "grouping", {m["message_id"]})
    worker.hooks = [injected if h is grouping else h for h in worker.hooks]
    gw = bearer(app.state.ctx.engine, "gateway", "nsp-r")
    r = await client.post("/api/v1/messages", json=m, headers=gw)
    assert r.status_code == 202 and r.json()["ack"]["state"] == "received_not_processed"
    (letter,) = (await client.get("/api/v1/dead-letters")).json()
    assert letter["step"] == "hook:grouping" and letter["message_id"] == m["message_id"]
    r = await client.post(f"/api/v1/dead-letters/{letter['id']}/reprocess")
    assert r.status_code == 200 and r.json()["outcome"] == "failed", r.text
    worker.hooks = [grouping if h is injected else h for h in worker.hooks]  # the fix
    r = await client.post(f"/api/v1/dead-letters/{letter['id']}/reprocess")
    assert r.json()["outcome"] == "stored", r.text
    r = await client.post(f"/api/v1/dead-letters/{letter['id']}/reprocess")
    assert r.json()["outcome"] == "already_resolved", r.text
    assert (await client.get(f"/api/v1/messages/{m['message_id']}")).status_code == 200
    assert (await client.post("/api/v1/dead-letters/999999/reprocess")).status_code == 404
    # A P1 whose grouping fails: stored at once and first in the operator's queue, as a P1.
    p1 = msg("help_request", "nsp-r", 2, help_body("Bewusteloos, ademt niet", "P1"))
    injected.message_ids = {p1["message_id"]}
    worker.hooks = [injected if h is grouping else h for h in worker.hooks]
    r = await client.post("/api/v1/messages", json=p1, headers=gw)
    assert r.status_code == 201 and r.json()["ack"]["state"] == "stored", r.text
    queue = (await client.get("/api/v1/queue")).json()
    first = queue[0]["item"]
    assert first["representative_message_id"] == p1["message_id"], queue
    assert first["top_class"] == "P1" and first["life_threatening"] is True
    assert len((await client.get("/api/v1/dead-letters")).json()) == 1, "a P1 is no dead letter"
    assert (await client.get("/readyz")).status_code == 200


# ------------------------------------------------------------------------ must show 5 (part)


async def test_every_kind_has_an_entry_and_every_handler_exists(client: httpx.AsyncClient) -> None:
    assert set(kinds.KINDS) == set(UP_KINDS), "a kind without a registry entry"
    installed = {kinds.hook_name(h) for h in client.app.state.ctx.worker.hooks}  # type: ignore[attr-defined]
    assert installed <= set(kinds.HOOK_NAMES.values()), f"unregistered hooks: {installed}"
    for kind, entry in kinds.KINDS.items():
        assert entry.message_model is UP_MESSAGE_TYPES[kind]
        assert entry.handlers and entry.handlers[0] == "store", kind
        assert set(entry.handlers[1:]) <= installed, f"{kind} names a hook the CP lacks"
        assert entry.downward, kind
    handled = {h for e in kinds.KINDS.values() for h in e.handlers}
    assert installed - kinds.BATCH_HOOKS <= handled, "a hook no kind is given to"


# ------------------------------------------------------------------------ gateway side


@no_database
def test_gateway_stops_resending_a_dead_lettered_report_and_shows_it(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    outbox = Outbox(tmp_path / "gw.db", "nsp-g")
    try:
        entry = outbox.enqueue("help_request", help_body())
        assert [e.message_id for e in outbox.pending()] == [entry.message_id]
        dead = StoreResult(
            entry.message_id, "nsp-g", entry.seq, "help_request", datetime.now(UTC), False, "boom"
        )
        ack = make_ack(CP, dead)
        assert ack.body.state == HandlingState.RECEIVED_NOT_PROCESSED
        assert (
            outbox.apply_ack(AckMessage.model_validate_json(ack.model_dump_json()))
            == AckOutcome.STORED
        )
        assert outbox.pending() == [], "no resending"
        got = outbox.get(entry.message_id)
        assert got is not None and got.cp_state == HandlingState.RECEIVED_NOT_PROCESSED
        # Re-processed at the CP: the 'stored' ack is news now.
        ok = StoreResult(
            entry.message_id, "nsp-g", entry.seq, "help_request", datetime.now(UTC), True
        )
        assert outbox.apply_ack(make_ack(CP, ok)) == AckOutcome.UPDATED
        got = outbox.get(entry.message_id)
        assert got is not None and got.cp_state == HandlingState.STORED
        # A normal ack carries no new field: older gateways parse it as before.
        assert "received_not_processed" not in make_ack(CP, ok).model_dump_json()
        assert new_message_id()
    finally:
        outbox.close()


@no_database
def test_staff_screen_texts_exist_in_dutch_and_english() -> None:
    from gateway.web.i18n import TEXTS

    assert (
        TEXTS["nl"]["cp_received_not_processed"] == "Ontvangen, niet verwerkt — de CP kijkt ernaar"
    )
    assert TEXTS["en"]["cp_received_not_processed"].startswith("Received, not processed")


class LockedTwice:
    """A hook whose first two calls meet a database that is busy (SQLite's own error)."""

    hook_name = "grouping"

    def __init__(self, hook: Any) -> None:
        self.hook = hook
        self.failures = 2

    def __call__(
        self, conn: Connection, new: list[Accepted], presences: list[PresenceSeen]
    ) -> None:
        import sqlite3

        if self.failures > 0:
            self.failures -= 1
            raise sa.exc.OperationalError(
                "INSERT ...", {}, sqlite3.OperationalError("database is locked")
            )
        self.hook(conn, new, presences)


def test_a_busy_database_is_retried_not_dead_lettered(engine: sa.Engine, database_url: str) -> None:
    from service.triage.runtime import Triage

    settings = ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id=CP)
    worker = IngestWorker(engine, settings, hooks=[LockedTwice(Triage(engine, CP).hook)])
    batch = [msg("help_request", f"nsp-l{i}", 1, help_body(f"melding {i}")) for i in range(5)]
    futures = [worker.submit_http(json.dumps(m).encode()) for m in batch]
    worker.start()
    try:
        results = [f.result(timeout=20) for f in futures]
    finally:
        worker.stop()
    assert all(r.new and r.dead_letter is None for r in results)
    assert worker.isolated_total == 0 and worker.dead_lettered_total == 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM deadletter")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM message")).scalar_one() == 5


@no_database
def test_every_text_field_of_the_nsp_wire_refuses_control_characters() -> None:
    """Walks the published JSON Schema of everything an NSP sends or receives: a string that
    is not an enum, a constant or a date must carry a pattern that refuses NUL and ESC."""
    import re

    from schemas.generate import OUT_DIR

    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and not {"enum", "const", "format"} & set(node):
                pattern = node.get("pattern")
                ok = pattern is not None and all(
                    re.search(pattern, f"a{c}b") is None for c in "\x00\x1b\x85"
                )
                if not ok:
                    found.append(path)
            for k, v in node.items():
                walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}/{i}")

    for name in ("up", "down", "presence"):
        walk(json.loads((OUT_DIR / f"{name}.schema.json").read_text()), name)
    assert not found, f"text fields without the control-character rule: {found}"


@no_database
def test_staff_form_names_a_control_character_and_sent_list_shows_not_processed(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from gateway.api import create_app as create_gateway
    from gateway.settings import GatewaySettings
    from noodcore.httpguard import TOKEN_COOKIE
    from tests.support import free_port, issue_staff_token

    settings = GatewaySettings(
        nsp_id="nsp-web", cp_id=CP, db_path=tmp_path / "gw.db", mqtt_port=free_port()
    )
    with TestClient(create_gateway(settings), base_url="http://testserver") as c:
        c.cookies.set(TOKEN_COOKIE, issue_staff_token(tmp_path / "gw.db"))
        form = {
            "category": "medical",
            "urgency": "P2",
            "address": "Kerkstraat 12, Oss",
            "people_involved": "1",
            "description": "Valpartij\x1b",
        }
        r = c.post("/staff/new/help", data=form, follow_redirects=False)
        assert r.status_code == 422 and "stuurteken" in r.text
        r = c.post(
            "/staff/new/help",
            data={**form, "description": "Valpartij\r\nbij de bakker"},
            follow_redirects=False,
        )
        assert r.status_code == 303, "line breaks from a text area are fine"
        message_id = r.headers["location"].removeprefix("/staff/sent?new=")
        outbox = c.app.state.runtime.outbox  # type: ignore[attr-defined]
        entry = outbox.get(message_id)
        dead = StoreResult(
            message_id, "nsp-web", entry.seq, "help_request", datetime.now(UTC), False, "x"
        )
        outbox.apply_ack(make_ack(CP, dead))
        page = c.get("/staff/sent?lang=nl").text
        assert "Ontvangen, niet verwerkt — de CP kijkt ernaar" in page
        assert "state-not-processed" in page
        assert "Received, not processed" in c.get("/staff/sent?lang=en").text


class BrokenCounter:
    """A batch hook (counters, like the throttle recorder) that fails every time."""

    hook_name = "throttle"

    def __call__(
        self, conn: Connection, new: list[Accepted], presences: list[PresenceSeen]
    ) -> None:
        raise RuntimeError("counter broken")


def test_a_broken_batch_hook_dead_letters_nothing(engine: sa.Engine, database_url: str) -> None:
    settings = ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id=CP)
    worker = IngestWorker(engine, settings, hooks=[BrokenCounter()])
    batch = [msg("help_request", f"nsp-c{i}", 1, help_body(f"melding {i}")) for i in range(3)]
    futures = [worker.submit_http(json.dumps(m).encode()) for m in batch]
    worker.start()
    try:
        results = [f.result(timeout=20) for f in futures]
    finally:
        worker.stop()
    assert all(r.new and r.dead_letter is None for r in results)
    assert worker.dead_lettered_total == 0


@no_database
@pytest.mark.parametrize(
    ("sqlstate", "transient"),
    [
        ("40001", True),  # serialization failure
        ("40P01", True),  # deadlock
        ("55P03", True),  # lock not available
        ("57014", True),  # query cancelled (statement timeout)
        ("53100", True),  # disk full
        ("08006", True),  # connection failure
        ("22021", False),  # NUL / bad encoding in text: the message's fault
        ("22003", False),  # numeric value out of range
        ("23505", False),  # unique violation
        ("54000", False),  # program limit exceeded (e.g. index row too large)
    ],
)
def test_postgres_errors_are_classified_by_sqlstate(sqlstate: str, transient: bool) -> None:
    import psycopg.errors

    from service.store import is_transient

    orig = psycopg.errors.lookup(sqlstate)()
    wrapper = (
        sa.exc.OperationalError if isinstance(orig, psycopg.OperationalError) else sa.exc.DBAPIError
    )
    assert is_transient(wrapper("INSERT ...", {}, orig)) is transient


@no_database
def test_sqlite_and_python_errors_are_classified() -> None:
    import sqlite3

    from service.store import is_transient

    def op(text: str) -> Exception:
        return sa.exc.OperationalError("INSERT ...", {}, sqlite3.OperationalError(text))

    assert is_transient(op("database is locked"))
    assert is_transient(op("database or disk is full"))
    assert is_transient(op("attempt to write a readonly database"))
    assert not is_transient(sa.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("x")))
    for exc in (OverflowError("int too big"), RecursionError(), ValueError("x"), KeyError("k")):
        assert not is_transient(exc)


def test_batches_are_bounded_in_time_at_the_measured_rate(
    engine: sa.Engine, database_url: str
) -> None:
    """A P1 that arrives while a batch is stored waits for it: the batch limit is what the
    worker stores in ingest_batch_target_ms at the rate it measured, never below
    MIN_TIMED_BATCH, never above ingest_batch_size; a batch of a real drain moves it."""
    from service.ingest import MIN_TIMED_BATCH

    settings = ServiceSettings(
        database_url=database_url,
        mqtt_enabled=False,
        cp_id=CP,
        ingest_batch_size=1000,
        ingest_batch_target_ms=300,
    )
    worker = IngestWorker(engine, settings)
    assert worker.batch_limit() == 1000  # nothing measured yet
    worker._measure(500, 1.0)  # 2 ms per message
    assert worker.batch_limit() == 150
    worker._measure(10, 5.0)  # a small batch is mostly fixed cost: not measured
    assert worker.batch_limit() == 150
    for _ in range(20):
        worker._measure(1000, 100.0)  # a very slow database
    assert worker.batch_limit() == MIN_TIMED_BATCH
    for _ in range(20):
        worker._measure(500, 0.05)  # 0.1 ms per message
    assert worker.batch_limit() == 1000
    untimed = IngestWorker(engine, settings.model_copy(update={"ingest_batch_target_ms": 0}))
    untimed._measure(500, 1.0)
    assert untimed.batch_limit() == 1000

    # Measured from real batches: 300 queued messages are stored, and the worker knows its rate.
    live = IngestWorker(engine, settings)
    futures = []
    for i in range(300):  # queued before the worker starts: one batch
        m = msg("help_request", f"nsp-t{i % 7}", i // 7 + 1, help_body(f"melding {i}"))
        futures.append(live.submit_http(json.dumps(m).encode()))
    live.start()
    try:
        assert all(f.result(timeout=60).new for f in futures)
    finally:
        live.stop()
    assert live._per_message > 0
    assert MIN_TIMED_BATCH <= live.batch_limit() <= 1000
