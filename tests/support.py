"""Real components for tests: a Mosquitto broker, CP service and gateway processes, and a
private PostgreSQL server a test may stop and start.

Everything is started in a temporary directory and waited on by condition, never by sleeping
a fixed time. CP and gateway processes bind HTTP port 0 and report the port they got
(``NOODNET_HTTP_PORT_FILE``), so no test picks a free port, closes it and hands it to a child
that may lose it to another process (that race failed a CI run with "address already in use").
The fault tests count what gateways accepted against what the CP stored and the gateways
saw acked (``assert_exactly_once``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from noodnet.broker import LocalBroker, kill_process, stop_process
from noodnet.broker import free_port as free_port  # re-exported: in-process tests need a dead port

if TYPE_CHECKING:
    from gateway.runtime import GatewayRuntime

ROOT = Path(__file__).resolve().parents[1]


def wait_until(
    cond: Callable[[], Any], timeout: float = 20, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``cond`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except Exception as exc:  # the thing may not be up yet
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or cond}: {last_exc!r}")


class Mosquitto(LocalBroker):
    """A real broker per test (see noodnet.broker); fails loudly when not installed."""


# The ``mosquitto_factory`` fixture (tests/conftest.py): builds, not starts, brokers.
MosquittoFactory = Callable[..., Mosquitto]


class Proc:
    """A ``noodnet`` subcommand in its own process, so tests can SIGKILL it."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log: Path,
        http_port: int,
        token: str | None = None,
    ) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.http_port = http_port
        self.token = token  # sent by get/post: an admin token (CP) or nsp-staff token (gateway)
        # When set, get/post authenticate through it (e.g. CpAuth: gateway tokens per NSP).
        self.auth: httpx.Auth | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.port_file = log.with_name(log.name + ".port")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, wait_path: str = "/healthz", timeout: float = 30) -> Proc:
        """Start the process and wait until ``wait_path`` answers 200. With ``http_port`` 0
        the child binds any free port and reports it; a restart binds that port again."""
        return self.launch().wait_up(wait_path, timeout)

    def launch(self) -> Proc:
        """Start the process without waiting; ``wait_up`` waits (start several, then wait)."""
        env = {
            **os.environ,
            **self.env,
            "NOODNET_HTTP_PORT": str(self.http_port),
            "NOODNET_HTTP_PORT_FILE": str(self.port_file),
        }
        self.port_file.unlink(missing_ok=True)
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "noodnet", *self.args],
                env=env,
                cwd=ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_up(self, wait_path: str = "/healthz", timeout: float = 30) -> Proc:
        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"process exited: {self.log.read_text()[-3000:]}")
            if self.http_port == 0:
                self.http_port = int(self.port_file.read_text())
            return httpx.get(self.url + wait_path, timeout=2).status_code == 200

        wait_until(up, timeout, interval=0.1, what=f"{self.args[0]} on {self.http_port}")
        return self

    def kill(self) -> None:
        kill_process(self.proc)
        self.proc = None

    def stop(self) -> None:
        stop_process(self.proc, grace=20)
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: the process hangs (swapped out, debugger, overloaded VM) but keeps its
        sockets open."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def get(self, path: str, **kw: Any) -> Any:
        if self.auth is not None:
            r = httpx.get(self.url + path, timeout=10, auth=self.auth, **kw)
        else:
            r = httpx.get(self.url + path, timeout=10, headers=self.headers, **kw)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, json: Any, token: str | None = None) -> httpx.Response:
        if token is None and self.auth is not None:
            return httpx.post(self.url + path, json=json, timeout=10, auth=self.auth)
        headers = {"Authorization": f"Bearer {token}"} if token else self.headers
        return httpx.post(self.url + path, json=json, timeout=10, headers=headers)


def labelled_accepted(
    rows: list[dict[str, Any]], seqs: dict[str, int], exercise: str | None = None
) -> list[Any]:
    """Rows of a labelled data set (bench/data: kind, nsp_id, body, received_at) as the
    ingest worker hands them to the store: validated envelopes, gap-free seq per NSP (``seqs``
    is updated), received at the row's time. ``exercise`` marks them as made in it."""
    from datetime import datetime

    from schemas import make_up
    from service.store import Accepted

    out = []
    for row in rows:
        seqs[row["nsp_id"]] += 1
        at = datetime.fromisoformat(row["received_at"])
        m = make_up(row["kind"], row["nsp_id"], seqs[row["nsp_id"]], row["body"], at, exercise)
        out.append(Accepted(m, at, "mqtt"))
    return out


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (e.g. the CP's grouping process), from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def issue_cp_token(database_url: str, role: str, nsp_id: str | None = None) -> str:
    """A token straight in the CP's database (migrated first), as `noodnet token create`."""
    from datetime import timedelta

    from noodcore.httpguard import Role
    from service.auth.tokens import create_token_cli
    from service.db import make_engine, migrate

    engine = make_engine(database_url)
    try:
        migrate(engine)
        return create_token_cli(
            engine,
            name=f"test-{role}" + (f"-{nsp_id}" if nsp_id else ""),
            role=Role(role),
            expires_in=timedelta(days=1),
            nsp_id=nsp_id,
        ).token
    finally:
        engine.dispose()


def bearer(engine: Any, role: str, nsp_id: str | None = None) -> dict[str, str]:
    """Authorization header of a new CP token in the (already migrated) database."""
    from datetime import timedelta

    from noodcore.httpguard import Role
    from service.auth.tokens import create_token_cli

    issued = create_token_cli(
        engine,
        name=f"test-{role}" + (f"-{nsp_id}" if nsp_id else ""),
        role=Role(role),
        expires_in=timedelta(days=1),
        nsp_id=nsp_id,
    )
    return {"Authorization": f"Bearer {issued.token}"}


def staff_headers(db_path: Path, role: str = "nsp-staff") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_staff_token(db_path, role)}"}


def issue_staff_token(db_path: Path, role: str = "nsp-staff") -> str:
    """A token in a gateway's database, as `noodnet staff-token create`."""
    from datetime import timedelta

    from gateway import auth
    from noodcore.httpguard import Role

    engine = auth.open_engine(db_path)
    try:
        return auth.issue(engine, f"test-{role}", Role(role), timedelta(days=1)).token
    finally:
        engine.dispose()


_serial = itertools.count(1)


def cp_process(
    tmp: Path, broker: Mosquitto, database_url: str, cp_id: str = "cp-test", **env: str
) -> Proc:
    return Proc(
        ["cp"],
        {
            "NOODNET_CP_ID": cp_id,
            "NOODNET_DATABASE_URL": database_url,
            "NOODNET_MQTT_PORT": str(broker.port),
            **env,
        },
        tmp / f"cp-{cp_id}-{next(_serial)}.log",
        0,
        token=issue_cp_token(database_url, "admin"),
    )


def gateway_process(
    tmp: Path, broker: Mosquitto, nsp_id: str, cp_id: str = "cp-test", **env: str
) -> Proc:
    db_path = tmp / f"gw-{nsp_id}.db"
    return Proc(
        ["gateway"],
        {
            "NOODNET_NSP_ID": nsp_id,
            "NOODNET_CP_ID": cp_id,
            "NOODNET_DB_PATH": str(db_path),
            "NOODNET_MQTT_PORT": str(broker.port),
            "NOODNET_RESEND_AFTER_SECONDS": "3",
            **env,
        },
        tmp / f"gw-{nsp_id}.log",
        0,
        token=issue_staff_token(db_path),
    )


@contextmanager
def running_system(
    tmp: Path,
    broker: Mosquitto,
    database_url: str,
    nsps: tuple[str, ...] = ("nsp-a", "nsp-b"),
    cp_id: str = "cp-test",
    gateway_env: Mapping[str, str] | None = None,
    cp_env: Mapping[str, str] | None = None,
) -> Iterator[tuple[Proc, dict[str, Proc]]]:
    """A CP and one gateway process per NSP on ``broker``, started side by side; all
    stopped afterwards."""
    cp = cp_process(tmp, broker, database_url, cp_id=cp_id, **(cp_env or {})).launch()
    gws: dict[str, Proc] = {}
    try:
        for nsp in nsps:
            gws[nsp] = gateway_process(tmp, broker, nsp, cp_id=cp_id, **(gateway_env or {}))
            gws[nsp].launch()
        cp.wait_up("/readyz")
        for gw in gws.values():
            gw.wait_up()
        yield cp, gws
    finally:
        for p in [*gws.values(), cp]:
            p.stop()


# -- counting: accepted at the gateways vs stored at the CP vs acked back -----------------


def help_report(i: int, nsp: str) -> dict[str, Any]:
    return {
        "kind": "help_request",
        "body": {
            "category": "medical",
            "urgency": "P2",
            "location": {"address": f"Kerkstraat {i % 90 + 1}, Oss"},
            "people_involved": 1,
            "description": f"Melding {i} via {nsp}: bewoner onwel, geen telefoon",
        },
    }


class Submitter:
    """Posts reports to gateways (as staff would) and remembers every accepted message id."""

    def __init__(self, gateways: dict[str, Proc]) -> None:
        self.gateways = gateways
        self.accepted: dict[str, str] = {}  # message_id -> nsp_id
        self._lock = threading.Lock()

    def submit(self, nsp: str, i: int) -> str:
        r = httpx.post(
            self.gateways[nsp].url + "/api/v1/reports",
            json=help_report(i, nsp),
            timeout=10,
            headers=self.gateways[nsp].headers,
        )
        assert r.status_code == 201, r.text
        mid = r.json()["message_id"]
        with self._lock:
            self.accepted[mid] = nsp
        return str(mid)

    def submit_many(self, n: int, start: int = 0) -> None:
        names = sorted(self.gateways)
        for i in range(start, start + n):
            self.submit(names[i % len(names)], i)

    def in_background(self, n: int, start: int = 0) -> threading.Thread:
        t = threading.Thread(target=self.submit_many, args=(n, start), daemon=True)
        t.start()
        return t

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def acked_ids(self) -> set[str]:
        """Accepted reports each gateway shows as stored at the CP (its ack arrived)."""
        acked: set[str] = set()
        for gw in self.gateways.values():
            offset = 0
            while True:
                page = gw.get(
                    "/api/v1/reports",
                    params={"kind": "help_request", "limit": 1000, "offset": offset},
                )
                acked |= {r["message_id"] for r in page if r["state"] == "stored"}
                if len(page) < 1000:
                    break
                offset += 1000
        with self._lock:
            return acked & set(self.accepted)


class OutboxSubmitter:
    """Enqueues reports straight into in-process gateways' outboxes (``GatewayRuntime``), as
    their web form does, for tests with more gateways than processes would allow here."""

    def __init__(self, runtimes: dict[str, GatewayRuntime]) -> None:
        self.runtimes = runtimes
        self.accepted: dict[str, str] = {}

    def submit_batch(self, nsp: str, n: int, start: int = 0) -> None:
        """``n`` reports in one committed transaction (one fsync: cheap for big backlogs)."""
        outbox = self.runtimes[nsp].outbox
        with outbox.write() as tx:
            entries = [
                outbox.enqueue_in(tx, "help_request", help_report(i, nsp)["body"])
                for i in range(start, start + n)
            ]
        self.accepted.update({e.message_id: nsp for e in entries})

    def acked_ids(self) -> set[str]:
        acked: set[str] = set()
        for nsp, rt in self.runtimes.items():
            mine = [m for m, n in self.accepted.items() if n == nsp]
            acked |= {e.message_id for e in rt.outbox.get_many(mine) if e.state == "stored"}
        return acked


def cp_message_ids(cp: Proc, kind: str = "help_request") -> list[str]:
    ids: list[str] = []
    offset = 0
    while True:
        page = cp.get("/api/v1/messages", params={"kind": kind, "limit": 1000, "offset": offset})
        ids += [m["message_id"] for m in page]
        if len(page) < 1000:
            return ids
        offset += 1000


@dataclass(frozen=True)
class Tally:
    """Reports accepted by gateways, rows stored at the CP, and acks the gateways applied."""

    sent: int
    stored: int  # CP rows of the kind (a doubled report would be two rows)
    lost: int  # accepted, yet not stored at the CP
    extra: int  # stored, yet never accepted by a gateway
    doubled: int  # rows beyond one per message id, plus per-NSP sequence conflicts
    acked: int

    def __str__(self) -> str:
        return (
            f"sent={self.sent} stored={self.stored} acked={self.acked} "
            f"lost={self.lost} doubled={self.doubled} extra={self.extra}"
        )


def tally(cp: Proc, sub: Submitter | OutboxSubmitter) -> Tally:
    expected = set(sub.accepted)
    ids = cp_message_ids(cp)
    nsps = {n["nsp_id"]: n for n in cp.get("/api/v1/nsps")}
    conflicts = sum(nsps[n]["seq_conflicts"] for n in set(sub.accepted.values()) if n in nsps)
    return Tally(
        sent=len(expected),
        stored=len(ids),
        lost=len(expected - set(ids)),
        extra=len(set(ids) - expected),
        doubled=len(ids) - len(set(ids)) + conflicts,
        acked=len(sub.acked_ids()),
    )


def assert_exactly_once(
    cp: Proc, sub: Submitter | OutboxSubmitter, timeout: float = 60, label: str = ""
) -> Tally:
    """Wait until every accepted report is stored at the CP and acked at its gateway; then
    require 0 lost, 0 doubled, nothing unexpected. Prints the counts."""
    expected = set(sub.accepted)
    interval = max(0.3, len(expected) / 5000)

    def all_stored() -> bool:
        return set(cp_message_ids(cp)) >= expected

    wait_until(all_stored, timeout, interval, what=f"{len(expected)} reports stored at CP")
    wait_until(
        lambda: sub.acked_ids() >= expected, timeout, interval, what="every gateway sees its acks"
    )
    counts = tally(cp, sub)
    print(f"{label or 'exactly once'}: {counts}")
    assert counts.lost == 0, f"lost reports: {counts}"
    assert counts.doubled == 0, f"a report was stored twice: {counts}"
    assert counts.extra == 0, f"unexpected extra messages: {counts}"
    assert counts.acked == counts.sent == counts.stored, counts
    return counts


# -- a private PostgreSQL server ----------------------------------------------------------


def find_postgres_bin() -> Path | None:
    """Directory of Debian's PostgreSQL server binaries (newest major), if installed."""
    found = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "postgres").exists()]
    if not found:
        return None
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster listening only on a Unix socket in its own directory,
    so a test can stop and restart the server (the shared one on 127.0.0.1:5432 serves other
    work) and no TCP port is raced for.

    The directory comes from ``tempfile`` rather than pytest's ``tmp_path``, whose parents are
    private to root, and keeps the socket path short. The server refuses to run as root, so
    as root it runs as the ``postgres`` OS user.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="noodnet-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            self._as = {"user": "postgres", "group": "postgres", "extra_groups": []}
            shutil.chown(self.dir, "postgres", "postgres")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.dir}"

    def init(self) -> PrivatePostgres:
        subprocess.run(
            [
                *(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres"),
                *("-A", "trust", "-E", "UTF8", "--no-sync"),
            ],
            check=True,
            capture_output=True,
            **self._as,
        )
        return self

    def start(self, timeout: float = 30) -> PrivatePostgres:
        # fsync off: the tests stop the server cleanly or kill clients, never the machine.
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [
                    *(str(self.bindir / "postgres"), "-D", str(self.data), "-k", str(self.dir)),
                    *("-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=50"),
                ],
                stdout=fh,
                stderr=subprocess.STDOUT,
                **self._as,
            )
        wait_until(self._accepting, timeout, 0.1, what="private PostgreSQL up")
        return self

    def _accepting(self) -> bool:
        import psycopg

        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"postgres exited: {self.log.read_text()[-2000:]}")
        with psycopg.connect(host=str(self.dir), user="postgres", dbname="postgres"):
            return True

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host=str(self.dir), user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, mode: signal.Signals = signal.SIGINT) -> None:
        """Shut down: SIGINT is PostgreSQL's fast shutdown (clients cut off, no crash)."""
        if self.proc is not None:
            self.proc.send_signal(mode)
            self.proc.wait(30)
            self.proc = None

    def remove(self) -> None:
        if self.proc is not None:
            self.stop(signal.SIGQUIT)
        shutil.rmtree(self.dir, ignore_errors=True)


class MqttPeer:
    """A plain paho MQTT 5 client for tests: plays a gateway or a CP without our code."""

    def __init__(self, port: int, client_id: str, subscribe: list[str] | None = None) -> None:
        import threading

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.received: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribe = subscribe or []
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
        )
        self.connected = False

        def on_connect(c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            self.connected = not rc.is_failure
            for t in self._subscribe:
                c.subscribe(t, qos=1)

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            with self._lock:
                self.received.append((msg.topic, msg.payload))

        self.client.on_connect = on_connect
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_until(lambda: self.connected, 10, what=f"{client_id} connected")

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(10)

    def messages(self, topic_suffix: str = "") -> list[tuple[str, bytes]]:
        with self._lock:
            return [m for m in self.received if m[0].endswith(topic_suffix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class WaitsForGrouping(httpx.Auth):
    """For test clients of a CP (in-process or a child process): after a write, wait until
    no report waits for the grouping process. With the grouping process (the default) a
    stored report is placed after the ack; a test that posts a report and then reads the
    queue reads it as placed, in either grouping mode (with grouping at ingest the wait is
    one empty count). A test that stops the grouping process must post without it."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def _authorize(self, request: httpx.Request) -> None:
        """Headers to add (none here; ``CpAuth`` adds tokens)."""

    def auth_flow(self, request: httpx.Request) -> Any:
        self._authorize(request)
        response = yield request
        if self._may_have_stored(request, response):
            self._wait_placed()

    async def async_auth_flow(self, request: httpx.Request) -> Any:
        self._authorize(request)
        response = yield request
        if self._may_have_stored(request, response):
            await asyncio.to_thread(self._wait_placed)

    @staticmethod
    def _may_have_stored(request: httpx.Request, response: httpx.Response) -> bool:
        # A gateway's post, a relayed radio call or SMS, an exercise inject: any write.
        return request.method != "GET" and response.is_success

    def _wait_placed(self) -> None:
        wait_grouped(self.engine)


def wait_grouped(engine: Any, timeout: float = 30) -> None:
    """Wait until no stored report waits for the grouping process (read from the database;
    ``wait_placed`` asks a CP child process instead)."""
    from service.triage.grouper import pending_state

    wait_until(
        lambda: pending_state(engine)["waiting"] == 0,
        timeout,
        what="the grouping process to place the report",
    )


def wait_placed(cp: Proc, timeout: float = 30) -> None:
    """Wait until a CP child process has placed every stored report in the queue (its
    /readyz ``grouping_queue``; absent with grouping at ingest, where storing is placing).
    For tests whose reports reach the CP another way than through a ``WaitsForGrouping``
    client (gateways over MQTT, SMS, files)."""

    def placed() -> bool:
        ready = httpx.get(cp.url + "/readyz", timeout=5).json()
        queue = (ready.get("cluster") or {}).get("grouping_queue")
        return queue is None or queue.get("waiting") == 0

    wait_until(placed, timeout, interval=0.1, what="every stored report placed in the queue")


def wait_grouping_running(cp: Proc, timeout: float = 60) -> int:
    """Wait until a CP child process's grouping process has started (its /readyz
    ``grouping_queue.process`` is ``running``: the child has imported its code, not only been
    spawned); returns the grouping process's pid."""
    assert cp.proc is not None
    cp_pid = cp.proc.pid

    def running() -> bool:
        queue = (cp.get("/readyz").get("cluster") or {}).get("grouping_queue") or {}
        return queue.get("process") == "running"

    wait_until(running, timeout, interval=0.1, what="the grouping process running")
    return child_pids(cp_pid)[0]


class CpAuth(WaitsForGrouping):
    """Authenticates in-process test clients of the CP as a real deployment would: an admin
    token for operator work, and for ``POST /api/v1/messages`` a gateway token of the NSP
    named in the envelope (a gateway may post only for its own NSP). Waits for grouping
    after writes, as ``WaitsForGrouping``."""

    def __init__(self, engine: Any, role: str = "admin") -> None:
        super().__init__(engine)
        self.default = bearer(engine, role)
        self._gateways: dict[str, dict[str, str]] = {}

    def _authorize(self, request: httpx.Request) -> None:
        headers = self.default
        if request.method == "POST" and request.url.path == "/api/v1/messages":
            import json

            try:
                nsp = json.loads(request.content or b"{}").get("nsp_id")
            except (ValueError, AttributeError):
                nsp = None
            if isinstance(nsp, str):
                if nsp not in self._gateways:
                    self._gateways[nsp] = bearer(self.engine, "gateway", nsp)
                headers = self._gateways[nsp]
        elif request.method == "POST" and request.url.path.startswith("/api/v1/region/"):
            # What a CP forwarding to this region presents (NOODNET_UPSTREAM_TOKEN).
            if "cp" not in self._gateways:
                self._gateways["cp"] = bearer(self.engine, "cp")
            headers = self._gateways["cp"]
        if "authorization" not in request.headers:
            request.headers.update(headers)
