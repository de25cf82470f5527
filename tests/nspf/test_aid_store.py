"""The gateway side of citizen aid and goods without a broker: pseudonymous refs, counts,
removal, the retention purge and its command, the ledger's and the ration's refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.aid import AidError, AidStore, VolunteerIn, retention_cutoff
from gateway.goods import GoodsError, GoodsStore
from gateway.nspf_models import VolunteerRow
from gateway.outbox import Outbox
from noodnet.cli import app
from schemas import (
    AssignmentState,
    EntryType,
    RationRules,
    RationRulesMessage,
    new_message_id,
    utcnow,
)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    o = Outbox(tmp_path / "gw.db", "nsp-a")
    yield o
    o.close()


def _volunteer(name: str = "Fatima", phone: str = "06-12345678") -> VolunteerIn:
    return VolunteerIn(
        first_name=name,
        skills=["carrying", "cooking"],
        windows=["morning"],
        contact=phone,
        consent=True,
    )


def _upward(outbox: Outbox) -> str:
    entries, _ = outbox.list_entries(limit=1000)
    return json.dumps([e.body for e in entries])


def test_refs_are_pseudonymous_and_nothing_personal_goes_up(outbox: Outbox) -> None:
    aid = AidStore(outbox)
    v = aid.register(_volunteer())
    assert v.ref.startswith("v-") and len(v.ref) == 18
    assert AidStore(outbox).ref(v.id) == v.ref  # same secret after a restart
    a = aid.create_local("Hulp bij koken", None, 1, "Kerkstraat 1", None)
    aid.assign(a.assignment.assignment_id, [v.id])
    aid.set_state(a.assignment.assignment_id, AssignmentState.EN_ROUTE)
    up = _upward(outbox)
    assert v.ref in up
    assert "Fatima" not in up and "12345678" not in up
    roster = aid.roster()
    assert roster.total == 1 and roster.by_skill == {"carrying": 1, "cooking": 1}


def test_consent_is_required_and_steps_are_checked(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="consent"):
        VolunteerIn(first_name="X", skills=["care"], windows=["night"], consent=False)
    aid = AidStore(outbox)
    a = aid.create_local("Job", None, 1, None, None)
    with pytest.raises(AidError, match="pick the volunteers first"):
        aid.set_state(a.assignment.assignment_id, AssignmentState.EN_ROUTE)
    with pytest.raises(AidError, match="cannot become done"):
        aid.set_state(a.assignment.assignment_id, AssignmentState.DONE)


def test_remove_and_purge(outbox: Outbox, tmp_path: Path) -> None:
    aid = AidStore(outbox)
    old = aid.register(_volunteer("Oud", "0611111111"))
    new = aid.register(_volunteer("Nieuw", "0622222222"))
    job = aid.create_local("Job", None, 2, None, None)
    aid.assign(job.assignment.assignment_id, [old.id, new.id])
    with outbox.write() as tx:
        row = tx.session.get(VolunteerRow, old.id)
        assert row is not None
        row.updated_at = utcnow() - timedelta(days=40)
        tx.session.add(row)
    runner = CliRunner()
    result = runner.invoke(
        app, ["aid", "purge", "--db-path", str(tmp_path / "gw.db"), "--nsp-id", "nsp-a"]
    )
    assert result.exit_code == 0, result.output
    assert "purged 1 volunteer(s)" in result.output
    assert [v.first_name for v in aid.volunteers()] == ["Nieuw"]
    assert aid.get(job.assignment.assignment_id).volunteer_ids == [new.id]
    result = runner.invoke(
        app,
        [
            "aid",
            "remove",
            "--db-path",
            str(tmp_path / "gw.db"),
            "--nsp-id",
            "nsp-a",
            "--volunteer-id",
            str(new.id),
        ],
    )
    assert result.exit_code == 0, result.output
    assert aid.volunteers() == [] and aid.roster().total == 0
    result = runner.invoke(
        app,
        [
            "aid",
            "purge",
            "--db-path",
            str(tmp_path / "gw.db"),
            "--nsp-id",
            "nsp-a",
            "--crisis-ended",
            "not-a-date",
        ],
    )
    assert result.exit_code == 2 and "not a date" in result.output


def test_retention_cutoff() -> None:
    now = datetime(2026, 12, 31, tzinfo=UTC)
    assert retention_cutoff(now, 30, None) == now - timedelta(days=30)
    assert retention_cutoff(now, 30, datetime(2026, 12, 10, tzinfo=UTC)) is None
    assert retention_cutoff(now, 30, datetime(2026, 11, 1, tzinfo=UTC)) == now


def test_ledger_refuses_negative_stock_and_enforces_the_ration(outbox: Outbox) -> None:
    goods = GoodsStore(outbox)
    goods.record(EntryType.RECEIVED, "drinkwater", "liter", 20)
    with pytest.raises(GoodsError, match="only 20 liter"):
        goods.record(EntryType.WRITTEN_OFF, "drinkwater", "liter", 21)
    goods.store_rules(
        RationRulesMessage(
            message_id=new_message_id(),
            sent_at=utcnow(),
            cp_id="cp-x",
            nsp_id="nsp-a",
            body=RationRules(
                version=1,
                rules=[{"item": "drinkwater", "unit": "liter", "max_per_person_per_day": 6}],
            ),
        )
    )
    goods.hand_out("drinkwater", "liter", 6, household_size=1, household_code="ab-1")
    with pytest.raises(GoodsError, match="already collected"):
        goods.hand_out("drinkwater", "liter", 1, household_size=1, household_code="AB-1")
    with pytest.raises(GoodsError, match="at most 12"):
        goods.hand_out("drinkwater", "liter", 13, household_size=2)
    (line,) = goods.stock()
    assert (line.received, line.handed_out, line.on_hand) == (20, 6, 14)
    assert "ab-1" not in _upward(outbox).lower()
