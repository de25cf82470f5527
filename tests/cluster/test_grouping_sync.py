"""The grouping log, in process: two grouping hooks (two "processes", each with its own
in-memory window) on one PostgreSQL database. A report stored through the second joins the
incident the first opened (its window caught up from the log, not from a reload), and an
operator change seen by one makes the other reload its window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from schemas import utcnow
from service.cluster.grouping_sync import GroupingSync
from service.db import make_engine, migrate
from service.store import Accepted, store_batch
from service.triage.runtime import Triage
from tests.cluster.support import help_request
from tests.conftest import test_db_kind as db_kind

pytestmark = pytest.mark.skipif(
    db_kind() != "postgres",
    reason="the grouping lock is a PostgreSQL advisory lock; run with NOODNET_TEST_DB=postgres",
)

CP = "cp-sync"


def test_second_process_joins_the_first_ones_incident_and_reloads_after_an_operator_change(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    try:
        one, two = Triage(engine, CP), Triage(engine, CP)
        one.hook.sync = GroupingSync(CP, "one")
        two.hook.sync = GroupingSync(CP, "two")
        at = utcnow() - timedelta(minutes=1)

        def store(triage: Triage, msg: Any) -> None:
            store_batch(engine, [Accepted(msg, at, "mqtt")], [], [], CP, [triage.hook])

        store(one, help_request("nsp-a", 1, place=3))
        store(two, help_request("nsp-b", 1, place=3))  # two has never seen place 3
        store(one, help_request("nsp-c", 1, place=3))  # and one must see two's report
        with engine.connect() as conn:
            items = conn.execute(sa.text("SELECT DISTINCT item_id FROM triage_report")).all()
        assert len(items) == 1, "the three reports are one incident"
        assert two.hook.sync is not None and one.hook.sync is not None
        assert one.hook.sync.caught_up == 1  # two's report, read from the log

        reloads = two.hook.recent.reloads
        one.changed()  # an operator's change through process one
        store(two, help_request("nsp-d", 1, place=3))
        assert two.hook.recent.reloads == reloads + 1, "two reloaded its window"
    finally:
        engine.dispose()
