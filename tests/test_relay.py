"""A report relayed by radio and its original: one report, whatever order and channel.

Through a real CP (its ingest worker, on SQLite and PostgreSQL via ``database_url``) and a
real gateway outbox for the envelopes: the operator enters the short form
(``POST /api/v1/fallback/relay``), the item is in the queue as P1 at once; the original then
arrives over HTTP (and again, a redelivery), and later a runner brings the slip. Counts: one
message, one incident, no sequence conflict, no ``message_id_reused`` event, no dead letter;
the full text replaces the cut one; the first-known time is the relay's; the channel history
is radio → http → runner; a state change after reconciliation names the gateway's own id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gateway.outbox import Outbox
from noodcore.db import table_of
from schemas import AckMessage, utcnow
from schemas import shortform as sf
from schemas.bodies import Receipt
from schemas.transfer import TransferKey, verify
from service.auth.models import SecurityEvent
from service.fallback.models import RelayReport
from service.fallback.usb import export_file
from service.models import DeadLetter, Message, Nsp
from service.triage.models import StateAckOutbox, TriageItem
from tests.web.support import running_cp, token

CP = "cp-relay"
NSP = "nsp-oss-centrum"
LONG = (
    "Man van ongeveer 70 jaar onwel geworden in de hal, ademt slecht en reageert traag. "
    "112 werkt niet, buurvrouw is bij hem. Hij gebruikt bloedverdunners en heeft "
    "suikerziekte; de voordeur aan de achterkant is open, bel aan bij nummer 14."
)


def _count(app: Any, model: type[Any]) -> int:
    with app.state.ctx.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table_of(model))).scalar_one()
        )


async def test_relay_then_original_is_one_report(database_url: str, tmp_path: Path) -> None:
    async with running_cp(database_url, CP) as (app, client):
        admin = {"Authorization": f"Bearer {token(app, 'admin')}"}
        operator = {"Authorization": f"Bearer {token(app, 'operator', name='Operator Jansen')}"}
        gateway = {
            "Authorization": f"Bearer {token(app, 'gateway', NSP)}",
            "Content-Type": "application/json",
        }
        r = await client.put(
            f"/api/v1/fallback/nsps/{NSP}", json={"short_code": "OSC"}, headers=admin
        )
        assert r.status_code == 200, r.text
        key = TransferKey.parse(r.json()["transfer_key"])

        outbox = Outbox(tmp_path / "gw.db", NSP)
        outbox.enqueue("status", {"state": "open", "power_source": "grid"})  # seq 1, sent
        entry = outbox.enqueue(
            "help_request",
            {
                "category": "medical",
                "urgency": "P1",
                "location": {"address": "Kerkstraat 12, Oss"},
                "people_involved": 1,
                "vulnerable_people": 1,
                "description": LONG,
            },
        )
        first = outbox.pending()[0]
        r = await client.post("/api/v1/messages", content=first.envelope, headers=gateway)
        assert r.status_code in (200, 201), r.text

        short = sf.encode(sf.to_short("help_request", entry.body, "OSC", entry.seq))
        assert sf.decode(short).text_truncated

        # a wrong check code is refused with the Dutch reason, nothing stored
        bad = short[:-2] + ("00" if short[-2:] != "00" else "01")
        r = await client.post(
            "/api/v1/fallback/relay", json={"text": bad, "channel": "radio"}, headers=operator
        )
        assert r.status_code == 422
        assert "controlecode" in r.json()["detail"][0]["ctx"]["nl"]
        # so is an unknown short code (a valid short form of an NSP the CP does not know)
        other = sf.encode(sf.to_short("help_request", entry.body, "ZZZ", entry.seq))
        r = await client.post(
            "/api/v1/fallback/relay", json={"text": other, "channel": "radio"}, headers=operator
        )
        assert r.status_code == 422 and r.json()["detail"][0]["ctx"]["code"] == "unknown_code"
        assert _count(app, Message) == 1

        # the radio call: typed in lower case, as an operator might
        r = await client.post(
            "/api/v1/fallback/relay",
            json={"text": short.lower(), "channel": "radio"},
            headers=operator,
        )
        assert r.status_code == 200, r.text
        relayed = r.json()
        assert relayed["new"] and relayed["urgency"] == "P1" and relayed["nsp_id"] == NSP
        relay_id = relayed["message_id"]
        assert relay_id != entry.message_id
        queue = (await client.get("/api/v1/queue", headers=operator)).json()
        (item,) = [q["item"] for q in queue if q["item"]["nsp_ids"] == [NSP]]
        assert item["top_class"] == "P1" and item["representative_message_id"] == relay_id
        assert item["description"].endswith("..")
        # the operator acknowledges while the link is still down
        r = await client.post(
            f"/api/v1/items/{item['id']}/state", json={"state": "acknowledged"}, headers=operator
        )
        assert r.status_code == 200, r.text

        # the original arrives (HTTP here; MQTT in tests/test_relay_e2e.py), then again
        for _ in range(2):
            r = await client.post("/api/v1/messages", content=entry.envelope, headers=gateway)
            assert r.status_code in (200, 201), r.text
            ack = r.json()["ack"]
            assert ack["ref_message_id"] == entry.message_id
        # the runner's slip comes in last
        r = await client.post(
            "/api/v1/fallback/relay", json={"text": short, "channel": "runner"}, headers=operator
        )
        assert r.status_code == 200 and not r.json()["new"]
        assert r.json()["message_id"] == relay_id

        assert _count(app, Message) == 2  # the status and the one help request
        assert _count(app, TriageItem) == 1
        assert _count(app, DeadLetter) == 0
        with app.state.ctx.engine.connect() as conn:
            m = conn.execute(
                sa.select(table_of(Message)).where(table_of(Message).c.message_id == relay_id)
            ).one()
            assert m.body["description"] == LONG and m.transport == "radio"
            nsp = conn.execute(sa.select(table_of(Nsp))).one()
            assert (nsp.max_seq, nsp.gaps, nsp.seq_conflicts) == (2, [], 0)
            events = conn.execute(
                sa.select(table_of(SecurityEvent).c.kind).where(
                    table_of(SecurityEvent).c.kind == "message_id_reused"
                )
            ).all()
            assert events == []
            row = conn.execute(sa.select(table_of(RelayReport))).one()
            assert row.original_message_id == entry.message_id
            assert [e["channel"] for e in row.history] == ["radio", "http", "runner"]
            assert row.history[0]["by"] == "Operator Jansen"
            acks = [
                AckMessage.model_validate_json(p).body
                for (p,) in conn.execute(sa.select(table_of(StateAckOutbox).c.payload))
            ]
        # the state the NSP missed is sent for its own id once the original is there
        assert [(a.ref_message_id, a.state.value) for a in acks][-1] == (
            entry.message_id,
            "acknowledged",
        )
        item_now = (await client.get(f"/api/v1/incidents/{item['id']}", headers=operator)).json()
        assert item_now["description"] == LONG and item_now["address"] == "Kerkstraat 12, Oss"
        assert item_now["reports"][0]["channels"] == ["portofoon", "digitaal (HTTP)", "loper"]
        # the ack the gateway got names the first-known time, the relay's
        assert ack["stored_at"][:19] == relayed["stored_at"][:19]
        listed = (await client.get("/api/v1/fallback/relay", headers=operator)).json()
        assert [e["label"] for e in listed[0]["history"]] == [
            "portofoon",
            "digitaal (HTTP)",
            "loper",
        ]
        # the USB stick back to the NSP acks the gateway's own id, not the CP's
        data, _ = export_file(app.state.ctx.engine, CP, NSP)
        down = verify(data, key, direction="down", nsp_id=NSP, cp_id=CP)
        refs = {
            AckMessage.model_validate_json(m).body.ref_message_id
            for m in down.messages
            if '"kind":"ack"' in m
        }
        assert entry.message_id in refs and relay_id not in refs
        r = await client.get("/api/v1/fallback/readouts", headers=operator)
        assert r.status_code == 200
        (state,) = [x for x in r.json() if x["what"] == "state"][:1]
        assert any("BEVESTIGD" in line for line in state["lines"])
        assert state["lines"][0].startswith("Aan Otto Simon Cornelis")


async def test_original_first_then_relay(database_url: str, tmp_path: Path) -> None:
    async with running_cp(database_url, CP) as (app, client):
        admin = {"Authorization": f"Bearer {token(app, 'admin')}"}
        operator = {"Authorization": f"Bearer {token(app, 'operator')}"}
        gateway = {
            "Authorization": f"Bearer {token(app, 'gateway', NSP)}",
            "Content-Type": "application/json",
        }
        await client.put(f"/api/v1/fallback/nsps/{NSP}", json={"short_code": "OSC"}, headers=admin)
        outbox = Outbox(tmp_path / "gw.db", NSP)
        entry = outbox.enqueue(
            "help_request",
            {
                "category": "fire",
                "urgency": "P1",
                "location": {"address": "Molenstraat 3, Oss"},
                "description": "Rook uit dak",
            },
        )
        r = await client.post("/api/v1/messages", content=entry.envelope, headers=gateway)
        assert r.status_code in (200, 201)
        short = sf.encode(sf.to_short("help_request", entry.body, "OSC", entry.seq))
        r = await client.post(
            "/api/v1/fallback/relay", json={"text": short, "channel": "sms"}, headers=operator
        )
        assert r.status_code == 200 and not r.json()["new"]
        assert r.json()["message_id"] == entry.message_id
        assert _count(app, Message) == 1 and _count(app, TriageItem) == 1
        listed = (await client.get("/api/v1/fallback/relay", headers=operator)).json()
        assert [e["channel"] for e in listed[0]["history"]] == ["http", "sms"]


async def test_bulletin_read_out_and_received_by_radio(database_url: str, tmp_path: Path) -> None:
    """An urgent bulletin has a read-out with its code; NSP staff record "via portofoon
    ontvangen" (a receipt with channel radio) and the reach shows how the NSP got it."""
    async with running_cp(database_url, CP) as (app, client):
        admin = {"Authorization": f"Bearer {token(app, 'admin')}"}
        operator = {"Authorization": f"Bearer {token(app, 'operator')}"}
        gateway = {
            "Authorization": f"Bearer {token(app, 'gateway', NSP)}",
            "Content-Type": "application/json",
        }
        await client.put(f"/api/v1/fallback/nsps/{NSP}", json={"short_code": "OSC"}, headers=admin)
        outbox = Outbox(tmp_path / "gw.db", NSP)
        status = outbox.enqueue("status", {"state": "open", "power_source": "generator"})
        r = await client.post("/api/v1/messages", content=status.envelope, headers=gateway)
        assert r.status_code == 201
        r = await client.post(
            "/api/v1/bulletins",
            json={
                "bulletin_id": "kookadvies-1",
                "urgency": "P1",
                "texts": [
                    {
                        "language": "nl",
                        "headline": "Kookadvies Oss-Noord",
                        "text": "Kook leidingwater 3 minuten voor gebruik.",
                    }
                ],
            },
            headers=operator,
        )
        assert r.status_code == 201, r.text
        readouts = (await client.get("/api/v1/fallback/readouts", headers=operator)).json()
        (bulletin,) = [x for x in readouts if x["what"] == "bulletin"]
        assert "berichtcode KOOKADVIES-1, versie 1" in bulletin["lines"]
        assert "onderwerp: KOOKADVIES OSS-NOORD" in bulletin["lines"]

        receipt = outbox.enqueue(
            "receipt",
            Receipt(bulletin_id="kookadvies-1", version=1, shown_at=utcnow(), channel="radio"),
        )
        r = await client.post("/api/v1/messages", content=receipt.envelope, headers=gateway)
        assert r.status_code == 201, r.text
        reach = (await client.get("/api/v1/bulletins/kookadvies-1/reach", headers=operator)).json()
        (nsp,) = [n for n in reach["nsps"] if n["nsp_id"] == NSP]
        assert (nsp["state"], nsp["channel"]) == ("current", "radio")
