"""``noodnet demo``: a broker, the CP service and simulated gateways on one machine.

Every component runs as its own process, exactly as in production, and the scenario is
entered through the gateways' own HTTP APIs, as NSP staff would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import httpx

from noodnet.broker import LocalBroker, find_mosquitto, free_port
from noodnet.scenario import NSPS, events

CP_ID = "cp-oss"


class _Stop(Exception):
    pass


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "noodnet", *args],
            env={**os.environ, **env},
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not up after {timeout}s; see {log}")


def run_demo(
    gateways: int,
    http_port: int,
    mqtt_port: int,
    duration: float | None,
    speed: float,
    workdir: Path,
) -> int:
    gateways = min(gateways, len(NSPS))
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    procs: list[subprocess.Popen[bytes]] = []
    broker: LocalBroker | None = None

    def _on_signal(_sig: int, _frame: FrameType | None) -> None:
        raise _Stop

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        if find_mosquitto() is None:
            print(
                "mosquitto is not installed; install it (Debian: apt-get install mosquitto) "
                "and run the demo again.",
                file=sys.stderr,
            )
            return 1
        broker = LocalBroker(workdir / "broker", port=mqtt_port or free_port()).start()
        common = {"NOODNET_CP_ID": CP_ID, "NOODNET_MQTT_PORT": str(broker.port)}
        cp_log = workdir / "cp.log"
        cp = _spawn(
            ["cp"],
            {
                **common,
                "NOODNET_DATABASE_URL": f"sqlite:///{workdir / 'cp.db'}",
                "NOODNET_HTTP_PORT": str(http_port),
            },
            cp_log,
        )
        procs.append(cp)
        cp_url = f"http://127.0.0.1:{http_port}"
        _wait_http(cp_url + "/healthz", cp, cp_log)
        for nsp in NSPS[:gateways]:
            httpx.put(
                f"{cp_url}/api/v1/nsps/{nsp.nsp_id}",
                json={"name": nsp.name, "address": nsp.address, "lat": nsp.lat, "lon": nsp.lon},
                timeout=10,
            ).raise_for_status()

        gw_urls: list[str] = []
        for nsp in NSPS[:gateways]:
            port = free_port()
            log = workdir / f"gw-{nsp.nsp_id}.log"
            proc = _spawn(
                ["gateway"],
                {
                    **common,
                    "NOODNET_NSP_ID": nsp.nsp_id,
                    "NOODNET_DB_PATH": str(workdir / f"gw-{nsp.nsp_id}.db"),
                    "NOODNET_HTTP_PORT": str(port),
                    "NOODNET_HEARTBEAT_SECONDS": "30",
                },
                log,
            )
            procs.append(proc)
            gw_urls.append(f"http://127.0.0.1:{port}")
            _wait_http(gw_urls[-1] + "/healthz", proc, log)

        _banner(cp_url, gw_urls, broker.port, workdir)
        return _play(cp_url, gw_urls, gateways, duration, speed, procs)
    except (KeyboardInterrupt, _Stop):
        print("\nstopping the demo ...")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        if broker is not None:
            broker.stop()


def _play(
    cp_url: str,
    gw_urls: list[str],
    gateways: int,
    duration: float | None,
    speed: float,
    procs: list[subprocess.Popen[bytes]],
) -> int:
    start = time.monotonic()
    pending = events(gateways)
    with httpx.Client(timeout=10) as client:
        while duration is None or time.monotonic() - start < duration:
            for p in procs:
                if p.poll() is not None:
                    print(
                        f"a component exited unexpectedly ({p.args!r}); stopping", file=sys.stderr
                    )
                    return 1
            now = (time.monotonic() - start) * speed
            while pending and pending[0].at <= now:
                ev = pending.pop(0)
                nsp = NSPS[ev.nsp_index]
                r = client.post(
                    gw_urls[ev.nsp_index] + "/api/v1/reports",
                    json={"kind": ev.kind, "body": ev.body},
                )
                state = (
                    "accepted" if r.status_code == 201 else f"REJECTED {r.status_code}: {r.text}"
                )
                print(f"[{now:6.1f}s] {nsp.name:<28} {ev.kind:<17} {state}")
            time.sleep(0.1)
    return 0


def _banner(cp_url: str, gw_urls: list[str], mqtt_port: int, workdir: Path) -> None:
    gws = "\n".join(
        f"    {nsp.name:<28} {url}/docs" for nsp, url in zip(NSPS, gw_urls, strict=False)
    )
    print(
        f"""
Noodnet demo is running — a power outage around Oss (Ctrl-C to stop)

  Crisis-room dashboard {cp_url}/dashboard   (wall screen; ?lang=en for English)
  CP service API docs   {cp_url}/docs
  Messages              {cp_url}/api/v1/messages
  Help requests only    {cp_url}/api/v1/messages?kind=help_request
  NSPs, gaps, liveness  {cp_url}/api/v1/nsps
  Dead letters          {cp_url}/api/v1/dead-letters
  Live stream (SSE)     {cp_url}/api/v1/stream   (curl -N)
  Summaries, outbox     {cp_url}/api/v1/upstream/summaries/latest  {cp_url}/api/v1/upstream/status
  GeoJSON for GIS       {cp_url}/api/v1/geo/nsps.geojson  {cp_url}/api/v1/geo/help-requests.geojson
  Readiness             {cp_url}/readyz
  MQTT broker           127.0.0.1:{mqtt_port}  (mosquitto_sub -p {mqtt_port} -t 'noodnet/#' -v)
  Gateways (staff API):
{gws}
  Logs and databases    {workdir}/
""",
        flush=True,
    )
