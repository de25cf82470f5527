"""Must show 3: the USB-stick round trip, both directions, through a real CP (its ingest
worker, on SQLite and PostgreSQL via ``database_url``) and real gateway outboxes.

Gateway → CP: the outbox exported by the gateway (CLI) is imported at the CP (upload
endpoint); a tampered file, a file of another NSP and a file signed with another NSP's key
are refused with the reason and store nothing; the same file twice, and a message that also
came over HTTP, are each counted once. CP → gateway: the CP's export (acks, a task, a
bulletin) is imported at the gateway (CLI); a tampered file and another NSP's file are
refused and change nothing; importing it twice changes nothing. The same through the
gateway's staff API, with a stick over the API's body limit, and with ``noodnet usb``
against the CP as its own process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from typer.testing import CliRunner

from gateway.inbox import Inbox
from gateway.outbox import Outbox
from gateway.usb import export_outbox
from gateway.usb import import_file as gateway_import
from noodcore.db import table_of
from noodnet.cli import app as cli_app
from schemas.transfer import TransferError, TransferKey, build
from service.models import Message
from tests.web.support import running_cp, token

CP = "cp-usb"
A, B = "nsp-a", "nsp-b"


def _help(description: str) -> dict[str, Any]:
    return {
        "category": "medical",
        "urgency": "P1",
        "location": {"address": "Kerkstraat 12, Oss"},
        "description": description,
    }


def _stored(app: Any) -> list[tuple[str, str, str]]:
    with app.state.ctx.engine.connect() as conn:
        t = table_of(Message)
        rows = conn.execute(sa.select(t.c.message_id, t.c.nsp_id, t.c.transport)).all()
    return sorted((r[0], r[1], r[2]) for r in rows)


def _refusal(r: Any) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    detail: dict[str, Any] = r.json()["detail"][0]
    return detail


def _tamper(data: bytes, old: str, new: str) -> bytes:
    outer = json.loads(data)
    assert old in outer["content"]
    outer["content"] = outer["content"].replace(old, new, 1)
    return json.dumps(outer).encode()


async def test_usb_round_trip_both_ways(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    async with running_cp(database_url, CP) as (app, client):
        admin = {"Authorization": f"Bearer {token(app, 'admin')}"}
        operator = {"Authorization": f"Bearer {token(app, 'operator')}"}
        keys: dict[str, str] = {}
        for nsp, code in ((A, "NA"), (B, None)):
            r = await client.put(
                f"/api/v1/fallback/nsps/{nsp}",
                json={"short_code": code} if code else {},
                headers=admin,
            )
            assert r.status_code == 200, r.text
            keys[nsp] = r.json()["transfer_key"]
        assert r.json()["short_code"] == "NB"  # proposed from the id, free
        r = await client.put(f"/api/v1/fallback/nsps/{B}", json={"short_code": "NA"}, headers=admin)
        assert r.status_code == 409
        r = await client.get("/api/v1/fallback/nsps", headers=operator)
        assert [(x["nsp_id"], x["short_code"], x["transfer_key"]) for x in r.json()] == [
            (A, "NA", None),
            (B, "NB", None),
        ]

        # ---------------------------------------------------------------- gateway → CP
        gw_a = Outbox(tmp_path / "a.db", A)
        gw_b = Outbox(tmp_path / "b.db", B)
        entries = [
            gw_a.enqueue("help_request", _help("Oudere man gevallen")),
            gw_a.enqueue("help_request", _help("Kind met hoge koorts")),
            gw_a.enqueue(
                "situation_report",
                {"category": "power", "severity": "high", "description": "Geen stroom"},
            ),
        ]
        gw_b.enqueue("help_request", _help("Rook uit woning"))
        env = {"NOODNET_TRANSFER_KEY": keys[A]}
        stick = tmp_path / "stick"
        stick.mkdir()
        res = runner.invoke(
            cli_app,
            ["usb", "gateway-export", str(stick), "--db-path", str(tmp_path / "a.db"),
             "--nsp-id", A, "--cp-id", CP],
            env=env,
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        assert "3 unacknowledged messages" in res.output
        (file_a,) = stick.glob("noodnet-naar-cp-nsp-a-*.json")
        data_a = file_a.read_bytes()
        data_b, _ = export_outbox(gw_b, CP, TransferKey.parse(keys[B]))

        upload = "/api/v1/fallback/usb/import"
        # tampered: one character of a description changed
        r = await client.post(
            upload, content=_tamper(data_a, "gevallen", "gevellen"), headers=operator
        )
        d = _refusal(r)
        assert d["ctx"]["code"] == "bad_signature" and "veranderd" in d["ctx"]["nl"]
        # B's good file, but the operator says it came from A
        r = await client.post(upload, content=data_b, params={"nsp_id": A}, headers=operator)
        assert _refusal(r)["ctx"]["code"] == "other_nsp"
        # A's messages, signed with B's key: another NSP cannot speak for A
        forged = build("up", A, CP, [e.envelope for e in entries], TransferKey.parse(keys[B]))
        r = await client.post(upload, content=forged, headers=operator)
        d = _refusal(r)
        assert d["ctx"]["code"] == "other_key" and "andere NSP" in d["ctx"]["nl"]
        # B signing a file that carries one of A's messages
        smuggled = build("up", B, CP, [entries[0].envelope], TransferKey.parse(keys[B]))
        r = await client.post(upload, content=smuggled, headers=operator)
        assert _refusal(r)["ctx"]["code"] == "other_nsp"
        r = await client.post(upload, content=b"not json", headers=operator)
        assert _refusal(r)["ctx"]["code"] == "not_json"
        assert _stored(app) == []  # nothing from any refused file

        # one message already came over HTTP (the link flickered)
        gw_token = token(app, "gateway", nsp_id=A)
        r = await client.post(
            "/api/v1/messages",
            content=entries[0].envelope,
            headers={"Authorization": f"Bearer {gw_token}", "Content-Type": "application/json"},
        )
        assert r.status_code == 201, r.text
        r = await client.post(upload, content=data_a, params={"nsp_id": A}, headers=operator)
        assert r.status_code == 200, r.text
        assert r.json() | {"file_id": None} == {
            "nsp_id": A, "file_id": None, "messages": 3, "stored": 2, "duplicates": 1,
        }  # fmt: skip
        r = await client.post(upload, content=data_a, headers=operator)  # the same stick again
        assert (r.json()["stored"], r.json()["duplicates"]) == (0, 3)
        r = await client.post(upload, content=data_b, headers=operator)
        assert (r.json()["stored"], r.json()["duplicates"]) == (1, 0)
        stored = _stored(app)
        assert len(stored) == 4
        by_id = {m: (n, t) for m, n, t in stored}
        assert by_id[entries[0].message_id] == (A, "http")
        assert by_id[entries[1].message_id] == (A, "file")
        assert by_id[entries[2].message_id] == (A, "file")
        r = await client.get(f"/api/v1/nsps/{A}", headers=operator)
        assert (r.json()["message_count"], r.json()["max_seq"], r.json()["gaps"]) == (3, 3, [])

        # ---------------------------------------------------------------- CP → gateway
        r = await client.post(
            "/api/v1/tasks",
            json={"title": "Watertruck om 15:00 bij de kerk", "nsp_ids": [A]},
            headers=operator,
        )
        assert r.status_code in (200, 201), r.text
        r = await client.post(
            "/api/v1/bulletins",
            json={"texts": [{"language": "nl", "headline": "Stroom", "text": "Stroom uit."}]},
            headers=operator,
        )
        assert r.status_code == 201, r.text
        r = await client.get(f"/api/v1/fallback/usb/export/{A}", headers=operator)
        assert r.status_code == 200, r.text
        assert r.headers["x-noodnet-counts"] == "acks=3,tasks=1,bulletins=1"
        down_a = tmp_path / "down-a.json"
        down_a.write_bytes(r.content)
        r = await client.get(f"/api/v1/fallback/usb/export/{B}", headers=operator)
        down_b = r.content
        r = await client.get("/api/v1/fallback/usb/export/nsp-unknown", headers=operator)
        assert r.status_code == 404

        inbox_a = Inbox(gw_a)
        key_a = TransferKey.parse(keys[A])
        assert gw_a.pending_count() == 3
        down_bytes = down_a.read_bytes()
        for bad, code in (
            (_tamper(down_bytes, "Watertruck", "Waterwagen"), "bad_signature"),
            (down_b, "other_nsp"),
            (data_a, "direction"),  # the gateway's own export is not for it
        ):
            try:
                gateway_import(gw_a, inbox_a, CP, key_a, bad)
            except TransferError as exc:
                assert exc.code == code, (exc.code, exc.nl)
            else:
                raise AssertionError(f"accepted a file that should be refused ({code})")
        assert gw_a.pending_count() == 3 and inbox_a.tasks() == []
        assert inbox_a.current_bulletins() == []

        args = ["usb", "gateway-import", str(down_a), "--db-path", str(tmp_path / "a.db"),
                "--nsp-id", A, "--cp-id", CP]  # fmt: skip
        # the CLI refuses B's file with the reason and stores nothing
        (tmp_path / "down-b.json").write_bytes(down_b)
        res = runner.invoke(cli_app, [*args[:2], str(tmp_path / "down-b.json"), *args[3:]], env=env)
        assert res.exit_code == 1 and "bestand geweigerd" in res.output
        res = runner.invoke(cli_app, args, env=env)
        assert res.exit_code == 0, res.output
        assert "5 messages: 5 applied" in res.output
        assert {e.state for e in gw_a.get_many([e.message_id for e in entries])} == {"stored"}
        assert [t.task.title for t in inbox_a.tasks()] == ["Watertruck om 15:00 bij de kerk"]
        assert [b.bulletin.texts[0].headline for b in inbox_a.current_bulletins()] == ["Stroom"]
        pending = gw_a.pending_count()  # the task's and bulletin's confirmations, queued
        assert pending == 2
        res = runner.invoke(cli_app, args, env=env)  # the same stick twice
        assert res.exit_code == 0 and "5 messages: 0 applied, 5 already known" in res.output
        assert gw_a.pending_count() == pending and len(inbox_a.tasks()) == 1
        assert down_bytes == down_a.read_bytes()
        gw_a.close()
        gw_b.close()


async def test_short_form_decode_maps_the_code_to_its_nsp(database_url: str) -> None:
    from schemas import shortform as sf

    async with running_cp(database_url, CP) as (app, client):
        admin = {"Authorization": f"Bearer {token(app, 'admin')}"}
        viewer = {"Authorization": f"Bearer {token(app, 'viewer')}"}
        r = await client.put(
            f"/api/v1/fallback/nsps/{A}", json={"short_code": "osc"}, headers=admin
        )
        assert r.json()["short_code"] == "OSC"
        r = await client.put(f"/api/v1/fallback/nsps/{B}", json={"short_code": "1X"}, headers=admin)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "short_code"]
        text = sf.encode_report("help_request", _help("Oudere man gevallen"), "OSC", 17)
        r = await client.post(
            "/api/v1/fallback/shortform/decode", json={"text": text}, headers=viewer
        )
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["nsp_id"], out["seq"], out["kind"]) == (A, 17, "help_request")
        assert out["body"]["description"] == "OUDERE MAN GEVALLEN"
        swapped = text.replace("GEVALLEN", "GEVALLNE")
        r = await client.post(
            "/api/v1/fallback/shortform/decode", json={"text": swapped}, headers=viewer
        )
        d = _refusal(r)
        assert d["ctx"]["code"] == "check_failed" and "verwisseld" in d["ctx"]["nl"]
        other = sf.encode_report("help_request", _help("x"), "ZZZ", 1)
        r = await client.post(
            "/api/v1/fallback/shortform/decode", json={"text": other}, headers=viewer
        )
        assert r.json()["nsp_id"] is None  # an unknown code is never guessed


async def test_a_stick_larger_than_the_api_body_limit_is_imported(
    database_url: str, tmp_path: Path
) -> None:
    """A whole outbox (here 1.3 MB) passes the 1 MiB request limit of the API on this path."""
    async with running_cp(database_url, CP) as (app, client):
        admin = {"Authorization": f"Bearer {token(app, 'admin')}"}
        operator = {"Authorization": f"Bearer {token(app, 'operator')}"}
        r = await client.put(f"/api/v1/fallback/nsps/{A}", json={}, headers=admin)
        key = TransferKey.parse(r.json()["transfer_key"])
        gw = Outbox(tmp_path / "big.db", A)
        with gw.write() as tx:  # one transaction: fast, and the same rows as 320 enqueues
            for i in range(320):
                gw.enqueue_in(tx, "help_request", _help(f"melding {i} " + "tekst " * 660))
        data, n = export_outbox(gw, CP, key)
        assert n == 320 and len(data) > 1024 * 1024
        r = await client.post("/api/v1/fallback/usb/import", content=data, headers=operator)
        assert r.status_code == 200, r.text[:300]
        assert (r.json()["stored"], r.json()["duplicates"]) == (320, 0)
        r = await client.post("/api/v1/messages", content=data, headers=operator)
        assert r.status_code == 413  # elsewhere the limit stands
        gw.close()


async def test_staff_screen_api_of_the_gateway_round_trip(
    database_url: str, tmp_path: Path
) -> None:
    """The same round trip through the gateway's staff API (download, upload) and the CP."""
    from gateway.api import create_app as create_gateway_app
    from gateway.settings import GatewaySettings
    from tests.support import free_port, staff_headers

    async with running_cp(database_url, CP) as (app, client):
        admin = {"Authorization": f"Bearer {token(app, 'admin')}"}
        operator = {"Authorization": f"Bearer {token(app, 'operator')}"}
        r = await client.put(f"/api/v1/fallback/nsps/{A}", json={}, headers=admin)
        values: dict[str, Any] = {
            "nsp_id": A, "cp_id": CP, "db_path": tmp_path / "gw.db",
            "mqtt_port": free_port(), "heartbeat_seconds": 3600,
        }  # fmt: skip
        keyless = create_gateway_app(GatewaySettings(**values))
        gw_app = create_gateway_app(
            GatewaySettings(**values, transfer_key=r.json()["transfer_key"])
        )
        for a in (keyless, gw_app):
            async with (
                a.router.lifespan_context(a),
                httpx.AsyncClient(transport=httpx.ASGITransport(a), base_url="http://gw") as gw,
            ):
                staff = staff_headers(tmp_path / "gw.db")
                if a is keyless:
                    r = await gw.get("/api/v1/usb/export", headers=staff)
                    assert r.status_code == 409 and "NOODNET_TRANSFER_KEY" in r.text
                    continue
                r = await gw.post(
                    "/api/v1/reports",
                    json={"kind": "help_request", "body": _help("Val van trap")},
                    headers=staff,
                )
                assert r.status_code == 201, r.text
                r = await gw.get("/api/v1/usb/export", headers=staff)
                assert r.status_code == 200 and r.headers["x-noodnet-messages"] == "1"
                r = await client.post("/api/v1/fallback/usb/import", content=r.content,
                                      headers=operator)  # fmt: skip
                assert (r.json()["stored"], r.json()["duplicates"]) == (1, 0)
                down = await client.get(f"/api/v1/fallback/usb/export/{A}", headers=operator)
                r = await gw.post("/api/v1/usb/import", content=_tamper(
                    down.content, '\\"ref_seq\\":1', '\\"ref_seq\\":2'), headers=staff)  # fmt: skip
                d = _refusal(r)
                assert d["ctx"]["code"] == "bad_signature"
                r = await gw.post("/api/v1/usb/import", content=down.content, headers=staff)
                assert r.status_code == 200, r.text
                assert (r.json()["applied"], r.json()["unchanged"]) == (1, 0)
                r = await gw.get("/api/v1/usb/export", headers=staff)
                assert r.headers["x-noodnet-messages"] == "0"  # the CP has it: nothing to carry


def test_cli_against_a_running_cp(database_url: str, tmp_path: Path) -> None:
    """``noodnet usb cp-import`` / ``cp-export`` talk to the CP service as its own process.

    Only on the SQLite pass: the CLI is an HTTP client; the storage path under it is the one
    the tests above run on both databases."""
    import subprocess
    import sys

    import pytest

    from tests.conftest import test_db_kind
    from tests.support import ROOT, Proc, free_port, issue_cp_token

    if test_db_kind() != "sqlite":
        pytest.skip("HTTP client only; storage is covered on both databases above")
    admin = issue_cp_token(database_url, "admin")
    operator = issue_cp_token(database_url, "operator")
    port = free_port()
    cp = Proc(
        ["cp"],
        {
            "NOODNET_CP_ID": CP,
            "NOODNET_DATABASE_URL": database_url,
            "NOODNET_HTTP_PORT": str(port),
            "NOODNET_MQTT_ENABLED": "false",
        },
        tmp_path / "cp.log",
        port,
        token=admin,
    ).start()
    try:
        r = httpx.put(f"{cp.url}/api/v1/fallback/nsps/{A}", json={}, headers=cp.headers)
        key = TransferKey.parse(r.json()["transfer_key"])
        gw = Outbox(tmp_path / "gw.db", A)
        gw.enqueue("help_request", _help("Gevallen"))
        gw.enqueue("help_request", _help("Koorts"))
        data, _ = export_outbox(gw, CP, key)
        up = tmp_path / "up.json"
        up.write_bytes(data)
        bad = tmp_path / "bad.json"
        bad.write_bytes(_tamper(data, "Koorts", "Hoorts"))
        env = {"NOODNET_TOKEN": operator, "PATH": "/usr/bin:/bin"}

        def usb(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "noodnet", "usb", *args, "--cp-url", cp.url],
                env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip

        res = usb("cp-import", str(bad))
        assert res.returncode == 1 and "bestand geweigerd" in res.stderr, res.stderr
        res = usb("cp-import", str(up), "--nsp-id", A)
        assert res.returncode == 0 and "2 new, 0 already stored" in res.stdout, res.stderr
        res = usb("cp-import", str(up))
        assert res.returncode == 0 and "0 new, 2 already stored" in res.stdout, res.stderr
        stick = tmp_path / "stick"
        stick.mkdir()
        res = usb("cp-export", A, str(stick))
        assert res.returncode == 0 and "acks=2" in res.stdout, res.stderr
        (down,) = stick.glob("noodnet-naar-nsp-nsp-a-*.json")
        result = gateway_import(gw, Inbox(gw), CP, key, down.read_bytes())
        assert (result.applied, gw.pending_count()) == (2, 0)
        gw.close()
    finally:
        cp.stop()
