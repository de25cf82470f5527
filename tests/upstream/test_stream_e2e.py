"""Must show 3: a live-stream client that disconnects and reconnects with Last-Event-ID misses
no event, while reports keep arriving the whole time (CP under uvicorn in its own process)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support import wait_until
from tests.upstream.support import help_request, service_process, status


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Parse Server-Sent Events frames: yields {"id": int, **json data}."""
    frame: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in frame:
                event = json.loads(frame["data"])
                assert int(frame["id"]) == event["id"], "SSE id is the event log id"
                yield event
            frame = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            frame[field] = value.removeprefix(" ")


def test_reconnect_with_last_event_id_misses_nothing(
    tmp_path: Path, make_database_url: Any
) -> None:
    cp = service_process(
        tmp_path, "cp", "cp-sse", make_database_url("cp"), NOODNET_SUMMARY_INTERVAL_SECONDS="0"
    )
    cp.start()
    writer_done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with httpx.Client(base_url=cp.url, timeout=10, auth=cp.auth) as c:
                for seq in range(1, 61):
                    m = help_request("nsp-a", seq) if seq % 3 else status("nsp-a", seq, hours=10)
                    assert c.post("/api/v1/messages", json=m).status_code == 201
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)
        finally:
            writer_done.set()

    timeout = httpx.Timeout(10, read=30)
    try:
        with httpx.Client(base_url=cp.url, timeout=timeout, auth=cp.auth) as client:
            got: list[dict[str, Any]] = []
            # First connection: from the start of the log, drop it after 15 events.
            with client.stream("GET", "/api/v1/stream", params={"after": 0}) as r:
                assert r.status_code == 200
                assert r.headers["content-type"].startswith("text/event-stream")
                threading.Thread(target=writer, daemon=True).start()
                for event in sse_events(r):
                    got.append(event)
                    if len(got) == 15:
                        break
            first_session = len(got)
            # While disconnected, more reports arrive (the writer never paused).
            wait_until(
                lambda: client.get("/api/v1/events", params={"after": got[-1]["id"]}).json(),
                20,
                what="events while the client is away",
            )
            last_id = str(got[-1]["id"])
            # The stream never ends by itself; once the writer is done and quiet for a few
            # seconds it has nothing more to say (keepalives come every 15 s only).
            quiet = httpx.Timeout(10, read=3)
            with (
                httpx.Client(base_url=cp.url, timeout=quiet, auth=cp.auth) as again,
                again.stream("GET", "/api/v1/stream", headers={"Last-Event-ID": last_id}) as r,
            ):
                assert r.status_code == 200
                try:
                    for event in sse_events(r):
                        got.append(event)
                except httpx.ReadTimeout:
                    assert writer_done.is_set(), "the stream stalled while reports came in"
            assert not errors, errors
            log = _all_events(client)
            assert [e["id"] for e in got] == [e["id"] for e in log], "no gap, no repeat"
            assert got == log, "same content as the persisted log"
            assert len(got) > first_session + 20
            types = {e["type"] for e in got}
            assert {"p1", "summary", "nsp_online"} <= types
            p1_ids = [e["data"]["message_id"] for e in got if e["type"] == "p1"]
            assert len(p1_ids) == len(set(p1_ids)) == 40

            bad = client.get("/api/v1/stream", headers={"Last-Event-ID": "yesterday"})
            assert bad.status_code == 422 and "Last-Event-ID" in bad.text
    finally:
        cp.stop()


def _all_events(client: httpx.Client) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = client.get(
            "/api/v1/events", params={"after": out[-1]["id"] if out else 0, "limit": 500}
        )
        if not page.json():
            return out
        out.extend(page.json())


def test_a_stopping_cp_ends_its_open_streams_at_once(
    tmp_path: Path, make_database_url: Any
) -> None:
    # A crisis-room dashboard keeps a stream open all day. Stopping the CP (an upgrade, a
    # handover to the standby) must end it cleanly, not wait out uvicorn's graceful timeout
    # and then cut it: the dashboard reconnects with Last-Event-ID either way, but the stop
    # (and the standby's takeover) would wait 10 s for every such stop.
    cp = service_process(tmp_path, "cp", "cp-sse-stop", make_database_url("cp"))
    cp.start()
    try:
        with (
            httpx.Client(base_url=cp.url, timeout=httpx.Timeout(10, read=30), auth=cp.auth) as c,
            c.stream("GET", "/api/v1/stream", params={"after": 0}) as r,
        ):
            assert r.status_code == 200
            lines = r.iter_lines()
            assert next(lines).startswith("retry:")  # the server is in the stream loop
            cp.stop()
            # The rest of the response arrives and ends with its terminating chunk: a cut
            # connection would raise here (httpx.RemoteProtocolError).
            list(lines)
    finally:
        cp.stop()
    log = cp.log.read_text()
    assert "timeout graceful shutdown exceeded" not in log, log[-2000:]
