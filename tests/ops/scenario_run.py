"""The demo scenario (noodnet/scenario.py) played into a CP, and an operator working it, for the
after-action tests: the same events the demo's NSP staff enter, as envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from noodnet import scenario
from schemas import make_up

N_NSPS = 4


def envelopes(n_nsps: int = N_NSPS) -> list[dict[str, Any]]:
    seqs: dict[str, int] = {}
    out = []
    for ev in sorted(scenario.events(n_nsps), key=lambda e: e.at):
        nsp = scenario.NSPS[ev.nsp_index].nsp_id
        seqs[nsp] = seqs.get(nsp, 0) + 1
        body = ev.body
        if body.get("observed_at") == "NOW":  # a facility observation: stamped when played
            body = {**body, "observed_at": datetime.now(UTC).isoformat()}
        out.append(json.loads(make_up(ev.kind, nsp, seqs[nsp], body).model_dump_json()))
    return out


async def work_the_queue(client: httpx.AsyncClient) -> dict[str, Any]:
    """An operator: merges the second P1 about the same address into the first, acknowledges
    and dispatches it, resolves it; acknowledges the first P2. Returns the item ids."""

    async def queue() -> list[dict[str, Any]]:
        r = await client.get("/api/v1/queue")
        assert r.status_code == 200, r.text
        return [e["item"] for e in r.json()]

    async def post(path: str, body: Any) -> None:
        r = await client.post(path, json=body)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"

    p1 = sorted((i for i in await queue() if i["top_class"] == "P1"), key=lambda i: i["first_seen"])
    assert len(p1) >= 2, p1
    first, second = p1[0]["id"], p1[1]["id"]
    await post(f"/api/v1/incidents/{second}/merge", {"into": first, "note": "zelfde adres"})
    for state, note in (
        ("acknowledged", "Ambulance gevraagd via portofoon"),
        ("dispatched", "Ambulance 17-104 onderweg"),
        ("resolved", "Patiënt overgebracht naar ziekenhuis"),
    ):
        await post(f"/api/v1/items/{first}/state", {"state": state, "note": note})
    p2 = [i["id"] for i in await queue() if i["top_class"] == "P2"]
    if p2:
        await post(
            f"/api/v1/items/{p2[0]}/state", {"state": "acknowledged", "note": "Diesel besteld"}
        )
    return {"p1": first, "merged": second, "p2": p2[0] if p2 else None, "p1_items": len(p1)}
