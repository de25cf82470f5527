"""``noodnet demo``: a broker, the CP service and simulated gateways on one machine.

Every component runs as its own process, exactly as in production, and the scenario is
entered through the gateways' own HTTP APIs, as NSP staff would.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from noodnet.broker import EmbeddedBroker, LocalBroker, find_mosquitto, free_port
from noodnet.scenario import NSPS, events

CP_ID = "cp-oss"
REGION_ID = "vr-brabant-noord"
NATIONAL_ID = "nl-landelijk"
OPENING_HOURS = "elke dag 08:00–22:00"
CP_BROKER_USER = "noodnet-cp"
# A read-only broker account for watching the traffic: connecting as noodnet-cp would replace
# the CP service's own connection (the broker uses the username as client id).
WATCH_USER = "noodnet-watch"
WATCH_ACL = f"""
# Demo only: a read-only account to watch the traffic with mosquitto_sub.
user {WATCH_USER}
topic read noodnet/v1/+/nsp/+/up/#
topic read noodnet/v1/+/nsp/+/status
"""


@dataclass
class DemoCredentials:
    """Everything the demo hands out, printed in the banner."""

    cp_broker_password: str
    watch_password: str
    nsp_broker_passwords: dict[str, str]
    cp_tokens: dict[str, str]  # role -> token
    staff_tokens: dict[str, str]  # nsp_id -> nsp-staff token (machines, the coordinator)
    screens: dict[str, tuple[str, str]]  # nsp_id -> (pairing code, shift PIN) of 'Balie 1'
    upstream_tokens: dict[str, str]  # node id -> 'cp' token issued by that node (region, national)


def _make_credentials(workdir: Path, broker_passwd: Path, nsp_ids: list[str]) -> DemoCredentials:
    """As an admin would: broker identities per NSP, API tokens at the CP, staff tokens on
    each gateway (noodnet provision / noodnet token / noodnet staff-token do the same)."""
    from datetime import timedelta

    from gateway import auth as gateway_auth
    from gateway import screens
    from noodcore.httpguard import Role
    from noodnet.provision import PasswdFile, new_password
    from service.auth.tokens import create_token_cli
    from service.db import make_engine, migrate

    passwd = PasswdFile(broker_passwd)
    cp_pw = new_password()
    passwd.set(CP_BROKER_USER, cp_pw)
    watch_pw = new_password()
    passwd.set(WATCH_USER, watch_pw)
    nsp_pw = {n: new_password() for n in nsp_ids}
    for nsp_id, pw in nsp_pw.items():
        passwd.set(nsp_id, pw)
    engine = make_engine(f"sqlite:///{workdir / 'cp.db'}")
    migrate(engine)
    cp_tokens = {
        role.value: create_token_cli(
            engine,
            name=f"demo-{role.value}",
            role=role,
            expires_in=timedelta(days=1),
            created_by="demo",
        ).token
        for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER)
    }
    engine.dispose()
    staff = {}
    paired: dict[str, tuple[str, str]] = {}
    for nsp_id in nsp_ids:
        gw_engine = gateway_auth.open_engine(workdir / f"gw-{nsp_id}.db")
        staff[nsp_id] = gateway_auth.issue(
            gw_engine, f"demo-staff-{nsp_id}", Role.NSP_STAFF, timedelta(days=1)
        ).token
        # As 'noodnet staff-screen pair --name "Balie 1" --pin ...' would; a day to pair.
        screens.ensure_table(gw_engine)
        pin = f"{secrets.randbelow(10_000):04d}"
        pairing = screens.create(
            gw_engine, "Balie 1", pin, timedelta(hours=12), code_ttl=timedelta(days=1)
        )
        paired[nsp_id] = (pairing.code, pin)
        gw_engine.dispose()
    return DemoCredentials(cp_pw, watch_pw, nsp_pw, cp_tokens, staff, paired, {})


def _upstream_token(workdir: Path, node: str) -> str:
    """As 'noodnet token create --role cp' on that level would."""
    from datetime import timedelta

    from noodcore.httpguard import Role
    from service.auth.tokens import create_token_cli
    from service.db import make_engine

    engine = make_engine(f"sqlite:///{workdir / f'{node}.db'}")
    try:
        return create_token_cli(
            engine,
            name=f"demo-forwarder-to-{node}",
            role=Role.CP,
            expires_in=timedelta(days=1),
            created_by="demo",
        ).token
    finally:
        engine.dispose()


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


def _spawn_http(
    args: list[str], env: dict[str, str], log: Path, port: int
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a CP or gateway serving HTTP on ``port`` (0: any free port; the child binds it
    and reports it in a port file, so no port is picked here and lost to another process);
    returns the process and its URL once it answers /healthz."""
    started = _start_http(args, env, log, port)
    return started[0], _await_http(*started)


def _start_http(
    args: list[str], env: dict[str, str], log: Path, port: int
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """Start without waiting (several processes come up side by side: the demo machine may be
    a laptop with two cores); ``_await_http`` then waits for each."""
    port_file = log.with_suffix(".port")
    port_file.unlink(missing_ok=True)
    proc = _spawn(
        args,
        {**env, "NOODNET_HTTP_PORT": str(port), "NOODNET_HTTP_PORT_FILE": str(port_file)},
        log,
    )
    return proc, port_file, log


def _await_http(proc: subprocess.Popen[bytes], port_file: Path, log: Path) -> str:
    deadline = time.monotonic() + 60
    while not port_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}); see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args!r} reported no port after 60s; see {log}")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{int(port_file.read_text())}"
    _wait_http(url + "/healthz", proc, log)
    return url


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
    broker_kind: str = "auto",
) -> int:
    gateways = min(gateways, len(NSPS))
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    procs: list[subprocess.Popen[bytes]] = []
    broker: LocalBroker | EmbeddedBroker | None = None

    def _on_signal(_sig: int, _frame: FrameType | None) -> None:
        raise _Stop

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        nsp_ids = [n.nsp_id for n in NSPS[:gateways]]
        if broker_kind == "mosquitto" or (broker_kind == "auto" and find_mosquitto()):
            # The production broker config: no anonymous access, a password per NSP, the ACL.
            # No port given: the broker picks one and moves if it was taken meanwhile.
            from noodnet.secure_broker import ACL, ProductionBroker

            secure = ProductionBroker(
                workdir / "broker", port=mqtt_port or None, acl_text=ACL.read_text() + WATCH_ACL
            )
            creds = _make_credentials(workdir, secure.passwd_file, nsp_ids)
            broker = secure.start()
            protocol = "5"
        else:
            print(
                "Mosquitto is not installed: using the embedded amqtt broker (MQTT 3.1.1, no "
                "ACLs). Production uses Mosquitto (Debian: apt-get install mosquitto).",
                flush=True,
            )
            embedded = EmbeddedBroker(workdir / "broker", port=mqtt_port or free_port())
            creds = _make_credentials(workdir, workdir / "broker" / "unused.passwd", nsp_ids)
            broker = embedded.start()
            protocol = "3.1.1"
        common = {
            "NOODNET_CP_ID": CP_ID,
            "NOODNET_MQTT_PORT": str(broker.port),
            "NOODNET_MQTT_PROTOCOL": protocol,
        }
        # Side by side where nothing waits for another: the gateways (they only need the
        # broker) and the national level; then the region, which forwards to the national
        # level; then the CP, which forwards to the region.
        gw_started = []
        for nsp in NSPS[:gateways]:
            gw_started.append(
                _start_http(
                    ["gateway"],
                    {
                        **common,
                        "NOODNET_NSP_ID": nsp.nsp_id,
                        "NOODNET_DB_PATH": str(workdir / f"gw-{nsp.nsp_id}.db"),
                        "NOODNET_HEARTBEAT_SECONDS": "30",
                        "NOODNET_MQTT_PASSWORD": creds.nsp_broker_passwords[nsp.nsp_id],
                        "NOODNET_PUBLIC_BOARD": "true",
                        "NOODNET_DISPLAY_NAME": nsp.name,
                        "NOODNET_ADDRESS": nsp.address,
                        "NOODNET_OPENING_HOURS": OPENING_HOURS,
                    },
                    workdir / f"gw-{nsp.nsp_id}.log",
                    0,
                )
            )
            procs.append(gw_started[-1][0])
        node_urls: dict[str, str] = {}
        for node, upstream_node in ((NATIONAL_ID, None), (REGION_ID, NATIONAL_ID)):
            node_env = {
                "NOODNET_CP_ID": node,
                "NOODNET_DATABASE_URL": f"sqlite:///{workdir / f'{node}.db'}",
                "NOODNET_MQTT_ENABLED": "false",
                "NOODNET_AUTH_ANONYMOUS_READ": "true",  # demo: the dashboard opens directly
            }
            if upstream_node is not None:
                node_env["NOODNET_UPSTREAM_URLS"] = node_urls[upstream_node]
                node_env["NOODNET_UPSTREAM_TOKEN"] = creds.upstream_tokens[upstream_node]
            started = _start_http(["region"], node_env, workdir / f"{node}.log", 0)
            procs.append(started[0])
            node_urls[node] = _await_http(*started)
            # The level issues the 'cp' token the level below forwards with (its database is
            # migrated by now: the process made it).
            creds.upstream_tokens[node] = _upstream_token(workdir, node)
        cp_log = workdir / "cp.log"
        cp, cp_url = _spawn_http(
            ["cp"],
            {
                **common,
                "NOODNET_DATABASE_URL": f"sqlite:///{workdir / 'cp.db'}",
                "NOODNET_MQTT_USERNAME": CP_BROKER_USER,
                "NOODNET_MQTT_PASSWORD": creds.cp_broker_password,
                # Demo only: the links in the banner open in a browser without a token.
                "NOODNET_AUTH_ANONYMOUS_READ": "true",
                # Upward: summaries and P1 items to the region (and on to the national level).
                "NOODNET_UPSTREAM_URLS": node_urls[REGION_ID],
                "NOODNET_UPSTREAM_TOKEN": creds.upstream_tokens[REGION_ID],
                "NOODNET_SUMMARY_INTERVAL_SECONDS": "30",
                # The demo region's gazetteer, as a region loads its own with
                # `noodnet gazetteer import`.
                "NOODNET_TRIAGE_GAZETTEER_DIR": str(
                    Path(__file__).resolve().parents[1] / "service" / "gazetteer" / "demo"
                ),
            },
            cp_log,
            http_port,
        )
        procs.append(cp)
        admin = {"Authorization": f"Bearer {creds.cp_tokens['admin']}"}
        for nsp in NSPS[:gateways]:
            httpx.put(
                f"{cp_url}/api/v1/nsps/{nsp.nsp_id}",
                json={"name": nsp.name, "address": nsp.address, "lat": nsp.lat, "lon": nsp.lon},
                headers=admin,
                timeout=10,
            ).raise_for_status()
        gw_urls = [_await_http(*started) for started in gw_started]

        _banner(cp_url, gw_urls, broker.port, workdir, creds, node_urls)
        return _play(cp_url, gw_urls, gateways, duration, speed, procs, creds)
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
    creds: DemoCredentials,
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
                    headers={"Authorization": f"Bearer {creds.staff_tokens[nsp.nsp_id]}"},
                )
                state = (
                    "accepted" if r.status_code == 201 else f"REJECTED {r.status_code}: {r.text}"
                )
                print(f"[{now:6.1f}s] {nsp.name:<28} {ev.kind:<17} {state}")
            time.sleep(0.1)
    return 0


def _gateway_lines(nsp_name: str, nsp_id: str, url: str, creds: DemoCredentials) -> str:
    code, pin = creds.screens[nsp_id]
    return (
        f"    {nsp_name}\n"
        f"      info board     {url}/board   (open to residents; print it for the door)\n"
        f"      staff screen   {url}/staff/pair?code={code}   pairing code {code[:4]}-{code[4:]}"
        f"  then PIN {pin}\n"
        f"      long token     {creds.staff_tokens[nsp_id]}   (machines, coordinator)\n"
        f"      API docs       {url}/docs"
    )


def _banner(
    cp_url: str,
    gw_urls: list[str],
    mqtt_port: int,
    workdir: Path,
    creds: DemoCredentials,
    node_urls: dict[str, str],
) -> None:
    gws = "\n".join(
        _gateway_lines(nsp.name, nsp.nsp_id, url, creds)
        for nsp, url in zip(NSPS, gw_urls, strict=False)
    )
    tokens = "\n".join(f"    {role:<9} {token}" for role, token in creds.cp_tokens.items())
    operator = creds.cp_tokens["operator"]
    print(
        f"""
Noodnet demo is running — a power outage around Oss (Ctrl-C to stop)

  Crisis-room dashboard {cp_url}/dashboard   (wall screen; ?lang=en for English)
  Operator console      {cp_url}/console   sign in with the operator token: {operator}
                        (the queue: acknowledge, dispatch, merge, split; viewer token: read only)
  CP service API docs   {cp_url}/docs
  Messages              {cp_url}/api/v1/messages
  Help requests only    {cp_url}/api/v1/messages?kind=help_request
  NSPs, gaps, liveness  {cp_url}/api/v1/nsps
  Dead letters          {cp_url}/api/v1/dead-letters  (operator token)
  Live stream (SSE)     {cp_url}/api/v1/stream   (curl -N)
  Summaries, outbox     {cp_url}/api/v1/upstream/summaries/latest  {cp_url}/api/v1/upstream/status
  GeoJSON for GIS       {cp_url}/api/v1/geo/nsps.geojson  {cp_url}/api/v1/geo/help-requests.geojson
  Readiness             {cp_url}/readyz
  MQTT broker           127.0.0.1:{mqtt_port}  (production config: passwords + ACL)
    mosquitto_sub -p {mqtt_port} -u {WATCH_USER} -P '{creds.watch_password}' \\
      -t 'noodnet/v1/{CP_ID}/nsp/+/up/#' -v

  Reading works without a token here (NOODNET_AUTH_ANONYMOUS_READ, demo only); anything
  else needs one: in a browser sign in at {cp_url}/login, with curl
  -H "Authorization: Bearer <token>" ...
  CP API tokens (valid one day):
{tokens}
    e.g. curl -H "Authorization: Bearer {creds.cp_tokens["admin"]}" {cp_url}/api/v1/security-events
  Upward (the CP forwards summaries and P1 reports; each level has its own database):
    Region {REGION_ID:<20} {node_urls[REGION_ID]}/dashboard   regional picture
    National {NATIONAL_ID:<18} {node_urls[NATIONAL_ID]}/dashboard   fed by the region
    Forwarding state      {cp_url}/api/v1/upstream/status   {node_urls[REGION_ID]}/api/v1/region/cps
  Gateways (on a staff tablet: open the pairing link once, then sign in with the PIN):
{gws}
  Logs and databases    {workdir}/
""",
        flush=True,
    )
