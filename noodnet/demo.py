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
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import httpx

from noodnet.broker import EmbeddedBroker, LocalBroker, find_mosquitto, free_port
from noodnet.scenario import CP_ACTIONS, FACILITIES, NSPS, Event, events, nsp_functions

CP_ID = "cp-oss"
# The "link is gone" step (docs/fallback.md): after LINK_CUT_AT seconds the broker stops, a P1
# is made at the first NSP, and once the gateway's radio threshold has passed the demo prints
# where its "Doorgeven via portofoon" card is and where the CP operator types it in. The
# broker comes back LINK_CUT_FOR seconds after the cut, and the original reconciles.
LINK_CUT_AT = 40.0
LINK_CUT_FOR = 75.0
RELAY_AFTER_SECONDS = 15.0
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
    link_cut_at: float | None = LINK_CUT_AT,
) -> int:
    gateways = min(gateways, len(NSPS))
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    procs: list[subprocess.Popen[bytes]] = []
    broker: LocalBroker | EmbeddedBroker | None = None

    def _on_signal(_sig: int, _frame: FrameType | None) -> None:
        raise _Stop

    # Ctrl-C and a service manager's stop both end the demo cleanly. SIGINT is set here, not
    # left to Python's default: a process started in the background by a non-interactive
    # shell (``demo &`` in a script, a CI runner) inherits SIGINT as ignored, and Python then
    # installs no handler of its own, so Ctrl-C or ``kill -INT`` would not stop the demo.
    signal.signal(signal.SIGINT, _on_signal)
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
        # The national level, then the region (it forwards to the national level), then the CP
        # (it forwards to the region), then the gateways (they need their radio short code).
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
        short_codes: dict[str, str] = {}
        for nsp in NSPS[:gateways]:
            httpx.put(
                f"{cp_url}/api/v1/nsps/{nsp.nsp_id}",
                json={"name": nsp.name, "address": nsp.address, "lat": nsp.lat, "lon": nsp.lon},
                headers=admin,
                timeout=10,
            ).raise_for_status()
            # The short code for radio and SMS, as `noodnet provision nsp` sets it up.
            r = httpx.put(
                f"{cp_url}/api/v1/fallback/nsps/{nsp.nsp_id}", json={}, headers=admin, timeout=10
            )
            r.raise_for_status()
            short_codes[nsp.nsp_id] = r.json()["short_code"]

        for facility in FACILITIES:  # where residents can go: on every board nearby
            httpx.post(
                f"{cp_url}/api/v1/facilities", json=facility, headers=admin, timeout=10
            ).raise_for_status()

        gw_urls: list[str] = []
        for nsp in NSPS[:gateways]:
            log = workdir / f"gw-{nsp.nsp_id}.log"
            proc, url = _spawn_http(
                ["gateway"],
                {
                    **common,
                    "NOODNET_NSP_ID": nsp.nsp_id,
                    "NOODNET_DB_PATH": str(workdir / f"gw-{nsp.nsp_id}.db"),
                    "NOODNET_HEARTBEAT_SECONDS": "30",
                    "NOODNET_MQTT_PASSWORD": creds.nsp_broker_passwords[nsp.nsp_id],
                    "NOODNET_PUBLIC_BOARD": "true",
                    "NOODNET_SHORT_CODE": short_codes[nsp.nsp_id],
                    "NOODNET_RELAY_AFTER_SECONDS": str(RELAY_AFTER_SECONDS),
                    "NOODNET_DISPLAY_NAME": nsp.name,
                    "NOODNET_ADDRESS": nsp.address,
                    "NOODNET_OPENING_HOURS": OPENING_HOURS,
                },
                log,
                0,
            )
            procs.append(proc)
            gw_urls.append(url)

        _banner(cp_url, gw_urls, broker.port, workdir, creds, node_urls)
        cut = (
            LinkCut(broker, cp_url, gw_urls[0], creds, short_codes[NSPS[0].nsp_id], link_cut_at)
            if link_cut_at is not None
            else None
        )
        return _play(cp_url, gw_urls, gateways, duration, speed, procs, creds, cut)
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
    cut: LinkCut | None = None,
) -> int:
    start = time.monotonic()
    pending = sorted([*events(gateways), *nsp_functions(gateways)], key=lambda e: e.at)
    cp_actions = list(CP_ACTIONS)
    operator = {"Authorization": f"Bearer {creds.cp_tokens['operator']}"}
    with httpx.Client(timeout=10) as client:
        while duration is None or time.monotonic() - start < duration:
            for p in procs:
                if p.poll() is not None:
                    print(
                        f"a component exited unexpectedly ({p.args!r}); stopping", file=sys.stderr
                    )
                    return 1
            now = (time.monotonic() - start) * speed
            while cp_actions and cp_actions[0][0] <= now:
                _, action = cp_actions.pop(0)
                done = _cp_action(client, cp_url, operator, action)
                print(f"[{now:6.1f}s] {'CP operator':<28} {done}")
            while pending and pending[0].at <= now:
                ev = pending.pop(0)
                if ev.nsp_index < 0:
                    who, state = "CP", _cp_step(client, cp_url, creds, ev)
                else:
                    nsp = NSPS[ev.nsp_index]
                    who = nsp.name
                    staff = {"Authorization": f"Bearer {creds.staff_tokens[nsp.nsp_id]}"}
                    state = _gateway_step(client, gw_urls[ev.nsp_index], staff, ev)
                print(f"[{now:6.1f}s] {who:<28} {ev.kind:<17} {state}")
            if cut is not None:
                cut.tick(client, time.monotonic() - start)
            time.sleep(0.1)
    return 0


def _cp_action(
    client: httpx.Client, cp_url: str, headers: dict[str, str], action: tuple[str, ...]
) -> str:
    """One scripted operator action on facilities (noodnet/scenario.py CP_ACTIONS)."""
    if action[0] == "review":
        pending = client.get(f"{cp_url}/api/v1/facility-observations", headers=headers).json()
        done = []
        for obs in pending:
            r = client.post(
                f"{cp_url}/api/v1/facility-observations/{obs['id']}/review",
                json={"decision": "accept"},
                headers=headers,
            )
            done.append(f"{obs['facility_name']} -> {obs['observed_state']} ({r.status_code})")
        return "facility observations accepted: " + ("; ".join(done) or "none waiting")
    _, facility_id, state, note = action
    r = client.post(
        f"{cp_url}/api/v1/facilities/{facility_id}/state",
        json={"state": state, "note": note},
        headers=headers,
    )
    return f"facility {facility_id} -> {state} ({r.status_code})"


def _said(r: httpx.Response) -> str:
    return "accepted" if r.status_code in (200, 201) else f"REJECTED {r.status_code}: {r.text}"


def _cp_step(client: httpx.Client, cp_url: str, creds: DemoCredentials, ev: Event) -> str:
    """What the CP operator does in the scenario (``cp:`` POST, ``cp-put:`` PUT)."""
    method, _, path = ev.kind.partition(":")
    operator = {"Authorization": f"Bearer {creds.cp_tokens['operator']}"}
    verb = "PUT" if method == "cp-put" else "POST"
    return _said(client.request(verb, cp_url + path, json=ev.body, headers=operator))


def _gateway_step(client: httpx.Client, url: str, staff: dict[str, str], ev: Event) -> str:
    """What NSP staff do: a report, an aid or goods form, or a follow-up on a help job or a
    delivery that arrived from the CP."""
    if ev.kind.startswith("/"):
        return _said(client.post(url + ev.kind, json=ev.body, headers=staff))
    if ev.kind == "report" or ("/" not in ev.kind and ":" not in ev.kind):
        body = ev.body
        if "observed_at" in body:
            body = {**body, "observed_at": datetime.now(UTC).isoformat()}
        r = client.post(
            url + "/api/v1/reports", json={"kind": ev.kind, "body": body}, headers=staff
        )
        return _said(r)
    if ev.kind in ("aid:progress", "aid:done"):
        jobs = client.get(url + "/api/v1/aid/assignments", headers=staff).json()
        people = client.get(url + "/api/v1/aid/volunteers", headers=staff).json()
        for job in jobs:
            a, jid = job["assignment"], job["assignment"]["assignment_id"]
            base = f"{url}/api/v1/aid/assignments/{jid}"
            if ev.kind == "aid:progress" and job["state"] == "requested":
                fit = [v["id"] for v in people if a["skill"] is None or a["skill"] in v["skills"]]
                client.post(
                    base + "/volunteers", json={"volunteer_ids": fit[: a["count"]]}, headers=staff
                )
                return _said(
                    client.post(base + "/state", json={"state": "en_route"}, headers=staff)
                )
            if ev.kind == "aid:done" and job["state"] == "en_route":
                return _said(client.post(base + "/state", json={"state": "done"}, headers=staff))
        return "nothing to do yet"
    if ev.kind == "goods:receive":
        for d in client.get(url + "/api/v1/goods/deliveries", headers=staff).json():
            if not d["received"]:
                tid = d["task"]["task_id"]
                return _said(
                    client.post(
                        f"{url}/api/v1/goods/deliveries/{tid}/receive",
                        json={"by": "MJ"},
                        headers=staff,
                    )
                )
        return "no delivery yet"
    return f"unknown step {ev.kind}"


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
  Facilities            {cp_url}/console/facilities   (where residents can go; review)
                        (the queue: acknowledge, dispatch, merge, split; viewer token: read only)
  Citizen aid, goods    {cp_url}/console/aid  {cp_url}/console/goods
                        (volunteer counts, help jobs; stock, low-stock warnings, deliveries)
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
  Gateways (staff API; the bulletins are open for the info board, /board shows
  "Waar kunt u terecht?", /staff/facilities is the observation form):
{gws}
  Logs and databases    {workdir}/
""",
        flush=True,
    )


class LinkCut:
    """The demo step "the link is gone" (see LINK_CUT_AT): stop the broker, make a P1 at one
    NSP, print its radio card and the CP's form, restore the broker, show the reconciliation.
    """

    def __init__(
        self,
        broker: LocalBroker | EmbeddedBroker,
        cp_url: str,
        gw_url: str,
        creds: DemoCredentials,
        short_code: str,
        at: float,
    ) -> None:
        self.broker = broker
        self.cp_url = cp_url
        self.gw_url = gw_url
        self.creds = creds
        self.short_code = short_code
        self.at = at
        self.step = "waiting"
        self.message_id: str | None = None
        self.short_form: str | None = None
        self.made_at = 0.0  # elapsed seconds when the P1 was accepted

    def _say(self, text: str) -> None:
        print(f"[link cut] {text}", flush=True)

    def tick(self, client: httpx.Client, elapsed: float) -> None:
        nsp = NSPS[0]
        if self.step == "waiting" and elapsed >= self.at:
            self._say("the NSP-CP link is gone: the broker is stopped")
            self.broker.stop()
            body = {
                "category": "medical",
                "urgency": "P1",
                "location": {"address": "Kruisstraat 28, Oss"},
                "people_involved": 1,
                "vulnerable_people": 1,
                "description": "Vrouw (82) valt steeds weg, ademt zwaar. 112 werkt niet, "
                "zoon is bij haar.",
            }
            r = client.post(
                self.gw_url + "/api/v1/reports",
                json={"kind": "help_request", "body": body},
                headers={"Authorization": f"Bearer {self.creds.staff_tokens[nsp.nsp_id]}"},
            )
            if r.status_code != 201:
                self._say(f"could not make the P1: {r.status_code} {r.text}")
                self.step = "done"
                return
            from schemas import shortform

            made = r.json()
            self.made_at = elapsed
            self.message_id = made["message_id"]
            self.short_form = shortform.encode(
                shortform.to_short("help_request", body, self.short_code, made["seq"])
            )
            self._say(
                f"a P1 at {nsp.name} waits in its outbox; the radio card shows after "
                f"{RELAY_AFTER_SECONDS:.0f} s"
            )
            self.step = "cut"
        elif self.step == "cut" and elapsed >= self.made_at + RELAY_AFTER_SECONDS + 1:
            # (+1 s: the card's clock is the gateway's, and the POST took a moment)
            self._say(
                f"""radio card (staff screen, sign in with the long token):
    {self.gw_url}/staff/sent#relay-{self.message_id}
  short form to read out:  {self.short_form}
  the CP operator types it in:  {self.cp_url}/console/relay  (operator token)
  the link comes back in {LINK_CUT_FOR - RELAY_AFTER_SECONDS:.0f} s"""
            )
            self.step = "shown"
        elif self.step == "shown" and elapsed >= self.at + LINK_CUT_FOR:
            try:
                self.broker.start()
            except Exception as exc:  # the embedded broker may not restart on its port
                self._say(f"could not restart the broker: {exc}")
                self.step = "done"
                return
            self._say(
                "the link is back; the original reconciles with the radio copy: "
                f"{self.cp_url}/api/v1/fallback/relay"
            )
            self.step = "done"
