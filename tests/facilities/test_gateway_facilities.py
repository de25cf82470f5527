"""The facility directory at the gateway, without a broker: newer versions only, a receipt in
the same transaction, someone else's or a broken directory kept as a dead letter with the
reason, nearest first from the configured position (else the CP's), and the staff form's
checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.down import DownHandler, DownOutcome
from gateway.facilities import FacilityStore
from gateway.inbox import Inbox
from gateway.outbox import Outbox
from gateway.web.facility_pages import FacilitiesView, parse_observation
from gateway.web.i18n import Translator
from schemas import new_message_id, topics

CP, NSP = "cp-test", "nsp-test"
NOW = datetime.now(UTC)


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[Outbox, FacilityStore, DownHandler]]:
    outbox = Outbox(tmp_path / "gw.db", NSP)
    store = FacilityStore(outbox)
    yield outbox, store, DownHandler(CP, NSP, outbox, Inbox(outbox), store)
    outbox.close()


def facility(fid: str, lat: float, lon: float, state: str = "open") -> dict[str, Any]:
    return {
        "facility_id": fid,
        "type": "water_point",
        "name": fid.title(),
        "location": {"address": f"{fid} 1", "lat": lat, "lon": lon},
        "state": state,
        "state_since": NOW.isoformat(),
    }


def directory(
    version: int, facilities: list[dict[str, Any]], nsp: str = NSP, **body: Any
) -> tuple[str, bytes]:
    msg = {
        "message_id": new_message_id(),
        "sent_at": NOW.isoformat(),
        "cp_id": CP,
        "nsp_id": nsp,
        "kind": "facilities",
        "body": {
            "version": version,
            "published_at": NOW.isoformat(),
            "facilities": facilities,
            **body,
        },
    }
    return topics.down(CP, nsp, "facilities"), json.dumps(msg).encode()


def receipts(outbox: Outbox) -> list[int]:
    return [e.body["version"] for e in outbox.pending() if e.kind == "facility_receipt"]


def test_newer_versions_only_each_confirmed_once(
    parts: tuple[Outbox, FacilityStore, DownHandler],
) -> None:
    outbox, store, handler = parts
    near, far = facility("near", 51.7651, 5.5181), facility("far", 51.80, 5.60, "closed")
    assert handler.handle(*directory(2, [far, near], nsp_lat=51.765, nsp_lon=5.518)) == (
        DownOutcome.APPLIED
    )
    assert handler.handle(*directory(2, [far, near])) == DownOutcome.IGNORED  # retained again
    assert handler.handle(*directory(1, [])) == DownOutcome.IGNORED  # an older one
    assert receipts(outbox) == [2]
    stored, items = store.nearest(None)  # the CP's position for this NSP
    assert stored is not None and stored.directory.version == 2
    assert [n.facility.facility_id for n in items] == ["near", "far"]
    assert items[0].distance_text == "< 50 m" and items[1].distance_text.endswith("km")
    # The gateway's own position wins over the CP's.
    _, items = store.nearest((51.80, 5.60))
    assert [n.facility.facility_id for n in items] == ["far", "near"]
    assert handler.handle(*directory(3, [near])) == DownOutcome.APPLIED
    assert receipts(outbox) == [2, 3]
    assert [n.facility.facility_id for n in store.nearest(None)[1]] == ["near"]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (directory(1, [], nsp="nsp-other"), "not a downward topic of this NSP"),
        (
            (topics.down(CP, NSP, "facilities"), directory(1, [], nsp="nsp-other")[1]),
            "nsp_id 'nsp-other' is not this NSP",
        ),
        (directory(0, []), "body.version"),
        (directory(1, [facility("a", 1, 1), facility("a", 2, 2)]), "listed more than once"),
        (directory(1, [], nsp_lat=51.0), "nsp_lat and nsp_lon"),
        ((topics.down(CP, NSP, "ack"), directory(1, [])[1]), "a 'facilities' on a 'ack' topic"),
    ],
)
def test_a_directory_that_is_not_for_us_or_broken_is_a_dead_letter(
    parts: tuple[Outbox, FacilityStore, DownHandler],
    message: tuple[str, bytes],
    reason: str,
) -> None:
    outbox, store, handler = parts
    assert handler.handle(*message) == DownOutcome.REJECTED
    [dead] = handler.inbox.dead_letters()
    assert reason in dead.reason, dead.reason
    assert store.current() is None and receipts(outbox) == []


def test_the_staff_form_says_what_is_missing(
    parts: tuple[Outbox, FacilityStore, DownHandler],
) -> None:
    _, store, handler = parts
    handler.handle(*directory(1, [facility("tappunt", 51.76, 5.51)]))
    stored, items = store.nearest(None)
    view = FacilitiesView(stored, items, len(items))
    t = Translator("nl")
    report, errors = parse_observation({}, view, t)
    assert report is None and set(errors) == {"facility_id", "observed_state"}
    report, errors = parse_observation(
        {"facility_id": ["other"], "facility_name": ["x" * 201], "observed_state": ["full"]},
        view,
        t,
    )
    assert report is None and "hoogstens 200" in errors["facility_name"]
    report, errors = parse_observation(
        {"facility_id": ["tappunt"], "observed_state": ["closed"], "note": ["droog\x07"]},
        view,
        Translator("en"),
    )
    assert report is None and "cannot be sent" in errors["note"]
    report, errors = parse_observation(
        {"facility_id": ["tappunt"], "observed_state": ["closed"], "note": ["droog"]}, view, t
    )
    assert errors == {} and report is not None
    assert (report.facility_id, report.facility_name, report.note) == (
        "tappunt",
        "Tappunt",
        "droog",
    )
    # One not in the directory: named by staff, no id.
    report, _ = parse_observation(
        {
            "facility_id": ["other"],
            "facility_name": ["Tappunt Kerkplein"],
            "observed_state": ["open"],
        },
        view,
        t,
    )
    assert report is not None and report.facility_id is None
