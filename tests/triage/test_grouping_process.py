"""Grouping in its own process, after the ack (``NOODNET_TRIAGE_GROUPING_PROCESS``), on the
database under test: the same incidents as grouping at ingest, P1s first out of a backlog, a
report that cannot be grouped still in the queue, leftovers placed by a CP started without
the setting — and, end to end, the CP's grouping process killed while reports wait."""

from __future__ import annotations

import json
import os
import signal
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from noodcore.db import make_engine, table_of
from schemas import make_up, topics
from service.db import migrate
from service.models import Message
from service.store import store_batch
from service.triage.grouper import Grouper, QueueForGrouping, pending_state
from service.triage.grouping import GroupingHook
from service.triage.models import GroupingPending, TriageAudit, TriageItem, TriageReport
from service.triage.runtime import Triage
from service.triage.settings import TriageSettings
from tests.support import (
    Mosquitto,
    MqttPeer,
    child_pids,
    cp_process,
    labelled_accepted,
    wait_grouping_running,
    wait_until,
)

CP_ID = "cp-oss"
DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "dedup_oss.jsonl"
REPORTS = table_of(TriageReport)
ITEMS = table_of(TriageItem)
PENDING = table_of(GroupingPending)


def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


@pytest.fixture
def engines(make_database_url: Callable[[], str]) -> Iterator[Callable[[], sa.Engine]]:
    made: list[sa.Engine] = []

    def make() -> sa.Engine:
        # (No NSP rows: storing the first message of an NSP makes its row.)
        engine = make_engine(make_database_url())
        migrate(engine)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def incidents(engine: sa.Engine, order: list[str]) -> set[frozenset[int]]:
    """The partition of the reports into items (what an operator sees grouped), each report
    named by its place in the input (``order``: the message ids in input order)."""
    index = {mid: i for i, mid in enumerate(order)}
    groups: dict[int, set[int]] = defaultdict(set)
    with engine.connect() as conn:
        for mid, item in conn.execute(sa.select(REPORTS.c.message_id, REPORTS.c.item_id)):
            groups[item].add(index[mid])
    return {frozenset(g) for g in groups.values()}


def test_the_grouping_process_makes_the_incidents_grouping_at_ingest_makes(
    engines: Callable[[], sa.Engine],
) -> None:
    data = rows()
    inline, queued = engines(), engines()
    hook = GroupingHook(CP_ID, TriageSettings())
    grouper = Grouper(queued, GroupingHook(CP_ID, TriageSettings()), CP_ID)
    seqs_a: dict[str, int] = defaultdict(int)
    seqs_b: dict[str, int] = defaultdict(int)
    ids_a: list[str] = []
    ids_b: list[str] = []
    for start in range(0, len(data), 25):
        chunk = data[start : start + 25]
        batch_a, batch_b = labelled_accepted(chunk, seqs_a), labelled_accepted(chunk, seqs_b)
        ids_a += [a.message.message_id for a in batch_a]
        ids_b += [a.message.message_id for a in batch_b]
        store_batch(inline, batch_a, [], [], CP_ID, [hook])
        store_batch(queued, batch_b, [], [], CP_ID, [QueueForGrouping()])
        assert pending_state(queued)["waiting"] == len(chunk)
        assert grouper.drain_all() == len(chunk)
    assert pending_state(queued) == {
        "waiting": 0,
        "waiting_p1": 0,
        "oldest_seconds": None,
        "oldest_p1_seconds": None,
    }
    a, b = incidents(inline, ids_a), incidents(queued, ids_b)
    assert sum(len(g) for g in b) == len(data)  # every report placed once
    assert len(a) < len(data)  # the data has near-duplicates: a real grouping was compared
    assert a == b


def test_p1s_are_placed_first_out_of_a_backlog_and_never_absorbed(
    engines: Callable[[], sa.Engine],
) -> None:
    data = rows()
    engine = engines()
    store_batch(
        engine, labelled_accepted(data, defaultdict(int)), [], [], CP_ID, [QueueForGrouping()]
    )
    p1 = _p1_ids(engine)
    assert len(p1) > 50 and pending_state(engine)["waiting_p1"] == len(p1)
    placed_per_round: list[set[str]] = []

    def round_done(_n: int) -> None:
        with engine.connect() as conn:
            placed = set(conn.execute(sa.select(REPORTS.c.message_id)).scalars())
        placed_per_round.append(placed)

    grouper = Grouper(
        engine, GroupingHook(CP_ID, TriageSettings()), CP_ID, batch=60, on_grouped=round_done
    )
    while grouper.step() is not None:
        pass
    # 60 per round: the first rounds take nothing but P1s, until none waits.
    assert placed_per_round[0] <= p1 and len(placed_per_round[0]) == 60
    assert p1 <= placed_per_round[1]
    assert len(placed_per_round[-1]) == len(data)
    with engine.connect() as conn:
        shared = conn.execute(
            sa.select(REPORTS.c.item_id)
            .where(REPORTS.c.message_id.in_(sorted(p1)))
            .group_by(REPORTS.c.item_id)
            .having(sa.func.count() > 1)
        ).all()
    assert shared == []  # a P1 is never absorbed: each has its own item


def _p1_ids(engine: sa.Engine) -> set[str]:
    m = table_of(Message)
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(m.c.message_id).where(m.c.kind == "help_request", m.c.urgency == "P1")
            ).scalars()
        )


def test_a_report_that_cannot_be_grouped_is_still_put_in_the_queue(
    engines: Callable[[], sa.Engine],
) -> None:
    engine = engines()
    good = labelled_accepted(rows()[:30], defaultdict(int))
    store_batch(engine, good, [], [], CP_ID, [QueueForGrouping()])
    # A stored body grouping cannot read (as a schema change could leave one): its location
    # is not an object.
    bad = good[10].message.message_id
    m = table_of(Message)
    with engine.begin() as conn:
        body = conn.execute(sa.select(m.c.body).where(m.c.message_id == bad)).scalar_one()
        conn.execute(sa.update(m).where(m.c.message_id == bad).values(body={**body, "location": 7}))
    grouper = Grouper(engine, GroupingHook(CP_ID, TriageSettings()), CP_ID)
    assert grouper.drain_all() == 30
    assert grouper.fallbacks == 1
    with engine.connect() as conn:
        placed = dict(conn.execute(sa.select(REPORTS.c.message_id, REPORTS.c.item_id)).all())
        audit = table_of(TriageAudit)
        note = conn.execute(
            sa.select(audit.c.note).where(audit.c.item_id == placed[bad])
        ).scalar_one()
    assert set(placed) == {a.message.message_id for a in good}
    assert "grouping failed" in note
    assert pending_state(engine)["waiting"] == 0


def test_a_cp_started_without_the_grouping_process_places_what_an_earlier_run_queued(
    engines: Callable[[], sa.Engine],
) -> None:
    engine = engines()
    batch = labelled_accepted(rows()[:40], defaultdict(int))
    store_batch(engine, batch, [], [], CP_ID, [QueueForGrouping()])
    triage = Triage(engine, CP_ID, TriageSettings(grouping_process=False))
    assert triage.place_leftovers() == 40
    assert pending_state(engine)["waiting"] == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(REPORTS)).scalar_one() == 40
    assert triage.place_leftovers() == 0


def test_a_queued_report_is_placed_once_even_when_two_graders_take_it(
    engines: Callable[[], sa.Engine],
) -> None:
    # A deposed active's grouping process and the new one (or a leftover run) may both read
    # the same pending rows; only the one whose delete took a row places it.
    engine = engines()
    batch = labelled_accepted(rows()[:20], defaultdict(int))
    store_batch(engine, batch, [], [], CP_ID, [QueueForGrouping()])
    first = Grouper(engine, GroupingHook(CP_ID, TriageSettings()), CP_ID)
    second = Grouper(engine, GroupingHook(CP_ID, TriageSettings()), CP_ID)
    ids = first._next_ids()
    assert second._next_ids() == ids
    assert first._place(ids) == 20
    assert second._place(ids) == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(REPORTS)).scalar_one() == 20


def test_a_queued_report_that_already_has_its_place_is_not_placed_again(
    engines: Callable[[], sa.Engine],
) -> None:
    # A pending row can outlive its placing (a report placed by another path, or a row put
    # back by hand): taking it places nothing and leaves the one report row as it was.
    engine = engines()
    batch = labelled_accepted(rows()[:10], defaultdict(int))
    store_batch(engine, batch, [], [], CP_ID, [QueueForGrouping()])
    grouper = Grouper(engine, GroupingHook(CP_ID, TriageSettings()), CP_ID)
    assert grouper._place(grouper._next_ids()) == 10
    with engine.begin() as conn:
        before = {r.message_id: r.item_id for r in conn.execute(sa.select(REPORTS))}
        again = sorted(before)[:3]
        conn.execute(
            sa.insert(PENDING),
            [{"message_id": m, "urgent": False, "queued_at": datetime.now(UTC)} for m in again],
        )
    ids = grouper._next_ids()
    assert len(ids) == 3
    assert grouper._place(ids) == 0
    assert pending_state(engine)["waiting"] == 0
    with engine.connect() as conn:
        after = {r.message_id: r.item_id for r in conn.execute(sa.select(REPORTS))}
    assert after == before


def test_sigterm_lets_the_grouping_process_finish_and_exit_cleanly(
    engines: Callable[[], sa.Engine],
) -> None:
    """A service manager stops the whole process group (systemd's KillMode): the grouping
    process, signalled with the CP, ends as at EOF on its stdin (exit 0), not killed."""
    import subprocess
    import sys

    from service.triage.grouper import CONFIG_ENV, READY, grouper_config

    engine = engines()
    store_batch(
        engine,
        labelled_accepted(rows()[:10], defaultdict(int)),
        [],
        [],
        CP_ID,
        [QueueForGrouping()],
    )
    url = engine.url.render_as_string(hide_password=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.triage.grouper"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, CONFIG_ENV: grouper_config(url, CP_ID, TriageSettings(), None)},
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"\n")
        proc.stdin.flush()
        # READY first (its signal handler is set before), then a "grouped" line: it runs.
        assert proc.stdout.readline() == READY
        assert proc.stdout.readline() == b"grouped\n"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"grouping process stopped" in err
    assert pending_state(engine)["waiting"] == 0


# -- end to end: the CP's own grouping process ----------------------------------------------


def publish_reports(peer: MqttPeer, n: int, start: int = 0) -> list[str]:
    """Reports over MQTT, as gateways send them."""
    ids = []
    for i, row in enumerate(rows()[start : start + n]):
        at = datetime.now(UTC) - timedelta(seconds=n - i)
        m = make_up(row["kind"], row["nsp_id"], start + i + 1, row["body"], sent_at=at)
        peer.publish(topics.up(CP_ID, row["nsp_id"], row["kind"]), m.model_dump_json())
        ids.append(m.message_id)
    return ids


def test_the_cp_restarts_a_killed_grouping_process_and_nothing_is_lost_or_doubled(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    cp = cp_process(
        tmp_path, broker, database_url, cp_id=CP_ID, NOODNET_TRIAGE_GROUPING_PROCESS="true"
    ).start("/readyz")
    try:
        assert cp.proc is not None
        cp_pid = cp.proc.pid
        # /readyz says when the child has started (imported its code), not only spawned.
        first = wait_grouping_running(cp)
        ready = cp.get("/readyz")
        assert ready["cluster"]["grouping_queue"]["waiting"] == 0
        peer = MqttPeer(broker.port, "test-grouping-gateways")
        engine = make_engine(database_url)
        try:
            ids = publish_reports(peer, 60)

            def placed() -> int:
                with engine.connect() as conn:
                    return int(
                        conn.execute(sa.select(sa.func.count()).select_from(REPORTS)).scalar_one()
                    )

            wait_until(lambda: placed() == 60, 60, what="60 reports placed")
            os.kill(first, signal.SIGKILL)
            ids += publish_reports(peer, 60, start=60)  # queued while nobody groups
            second = wait_until(
                lambda: [p for p in child_pids(cp_pid) if p != first], 60, what="a new process"
            )[0]
            assert second != first
            wait_until(lambda: placed() == 120, 60, what="every report placed after the restart")
            # /readyz shows the new process running again.
            wait_grouping_running(cp)
            with engine.connect() as conn:
                mids = list(conn.execute(sa.select(REPORTS.c.message_id)).scalars())
            assert sorted(mids) == sorted(ids)  # each report once
            assert cp.get("/readyz")["cluster"]["grouping_queue"]["waiting"] == 0
        finally:
            peer.close()
            engine.dispose()
    finally:
        cp.stop()
    assert not child_pids(cp_pid)  # the grouping process ends with the CP


def test_an_exercise_purged_while_its_reports_wait_leaves_nothing_to_place(
    engines: Callable[[], sa.Engine],
) -> None:
    from service.exercise.data import purge

    engine = engines()
    data = rows()[:30]
    seqs: dict[str, int] = defaultdict(int)
    real = labelled_accepted(data[:10], seqs)
    drill = labelled_accepted(data[10:], seqs, exercise="ex-1")
    store_batch(engine, real + drill, [], [], CP_ID, [QueueForGrouping()])
    assert pending_state(engine)["waiting"] == 30
    assert purge(engine, "ex-1", "test")["messages"] == 20
    assert pending_state(engine)["waiting"] == 10  # the real ones still wait
    grouper = Grouper(engine, GroupingHook(CP_ID, TriageSettings()), CP_ID)
    assert grouper.drain_all() == 10
    with engine.connect() as conn:
        placed = set(conn.execute(sa.select(REPORTS.c.message_id)).scalars())
        exercise_items = conn.execute(
            sa.select(sa.func.count()).select_from(ITEMS).where(ITEMS.c.exercise_id.is_not(None))
        ).scalar_one()
    assert placed == {a.message.message_id for a in real}
    assert exercise_items == 0
