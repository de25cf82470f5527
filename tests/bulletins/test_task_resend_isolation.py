"""A task target whose publish fails (here: an NSP id that is an MQTT wildcard, as a row
written before ids were checked could hold) does not stop the TaskResender: the other NSP
still gets its task through a real Mosquitto, the bad target is parked and shown in the
worker's health, and the worker itself stays healthy.

Process-level, one database pass suffices: runs on the SQLite pass only.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from noodcore.db import table_of
from service.db import make_engine, migrate
from service.mqtt import MqttBridge
from service.settings import ServiceSettings
from service.tasks.models import NspTaskTarget
from service.tasks.sending import NewTask, TaskResender, create_task
from tests.support import Mosquitto, MqttPeer, wait_until

CP = "cp-r"

pytestmark = pytest.mark.skipif(
    os.environ.get("NOODNET_TEST_DB") == "postgres",
    reason="about per-item isolation in a worker, not storage: the SQLite pass covers it",
)


def test_one_failing_target_does_not_stop_the_others(broker: Mosquitto, database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with Session(engine) as session:
        task = create_task(
            session, CP, NewTask(title="Water halen", nsp_ids=["nsp-a", "nsp-b"]), "t"
        )
        session.commit()
        task_id = task.task_id
    targets = table_of(NspTaskTarget)
    with engine.begin() as conn:
        conn.execute(sa.update(targets).where(targets.c.nsp_id == "nsp-a").values(nsp_id="nsp-#"))
        bad_id = conn.execute(
            sa.select(targets.c.id).where(targets.c.nsp_id == "nsp-#")
        ).scalar_one()
    peer = MqttPeer(broker.port, "watcher", subscribe=[f"noodnet/v1/{CP}/nsp/+/down/task"])
    settings = ServiceSettings(
        database_url=database_url, cp_id=CP, mqtt_host="127.0.0.1", mqtt_port=broker.port
    )
    bridge = MqttBridge(settings, lambda *_args: None)
    resender = TaskResender(engine, CP, bridge, resend_seconds=60)
    resender.start()
    bridge.start()
    try:
        got = wait_until(lambda: peer.messages("nsp-b/down/task"), 20, what="nsp-b's task")
        assert task_id.encode() in got[0][1]
        health = wait_until(
            lambda: (h := resender.health()).failing_item_count == 1 and h, 10, what="parked"
        )
        assert health.healthy, health
        (failure,) = health.failing_items
        assert failure.key == str(bad_id) and "ValueError" in failure.error
        with engine.connect() as conn:
            counts = dict(conn.execute(sa.select(targets.c.nsp_id, targets.c.send_count)).all())
        assert counts["nsp-b"] >= 1 and counts["nsp-#"] == 0
    finally:
        resender.stop(5)
        bridge.stop()
        peer.close()
        engine.dispose()
