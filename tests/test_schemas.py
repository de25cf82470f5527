"""The message contract: validation rules, topic scheme, and generated JSON Schema drift."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import (
    Bulletin,
    HelpRequest,
    Location,
    make_up,
    parse_up,
    topics,
)
from schemas.generate import OUT_DIR, render


def test_committed_json_schemas_match_the_models() -> None:
    rendered = render()
    on_disk = {p.name for p in OUT_DIR.glob("*.schema.json")}
    assert on_disk == set(rendered), "run: python -m schemas.generate"
    for name, text in rendered.items():
        assert (OUT_DIR / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run python -m schemas.generate"
        )


def test_every_kind_has_a_schema_file() -> None:
    kinds = {p.name.split(".")[0] for p in OUT_DIR.glob("*.schema.json")}
    assert {"help_request", "situation_report", "resource_request", "status", "receipt"} <= kinds
    assert {"ack", "bulletin", "task", "presence", "up", "down"} <= kinds


@pytest.mark.parametrize(
    ("loc", "error"),
    [
        ({}, "a location needs an address"),
        ({"lat": 51.7}, "lat and lon must be given together"),
        ({"lat": 91, "lon": 5}, "less than or equal to 90"),
        ({"lat": 51, "lon": -181}, "greater than or equal to -180"),
        ({"address": ""}, "at least 1 character"),
    ],
)
def test_location_rules(loc: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        Location.model_validate(loc)


def test_location_with_address_or_coordinates_or_both() -> None:
    assert Location(address="Kerkstraat 12, Oss").lat is None
    assert Location(lat=51.76, lon=5.52).address is None
    assert Location(address="Kerkstraat 12", lat=51.76, lon=5.52).lon == 5.52


def test_help_request_rules() -> None:
    base: dict[str, Any] = {
        "category": "medical",
        "urgency": "P1",
        "location": {"address": "Kerkstraat 12"},
        "description": "x",
    }
    HelpRequest.model_validate(base)
    with pytest.raises(ValidationError, match="vulnerable_people cannot exceed"):
        HelpRequest.model_validate({**base, "people_involved": 1, "vulnerable_people": 2})
    with pytest.raises(ValidationError, match="people_involved"):
        HelpRequest.model_validate({**base, "people_involved": 0})
    with pytest.raises(ValidationError, match="urgency"):
        HelpRequest.model_validate({**base, "urgency": "P0"})
    with pytest.raises(ValidationError, match="Extra inputs"):
        HelpRequest.model_validate({**base, "priority": "high"})


def test_envelope_requires_aware_timestamps_and_valid_ids() -> None:
    msg = json.loads(
        make_up("status", "nsp-a", 1, {"state": "open", "power_source": "grid"}).model_dump_json()
    )
    assert parse_up(json.dumps(msg)).kind == "status"
    for field, value, error in [
        ("sent_at", "2026-11-23T10:00:00", "timezone"),
        ("message_id", "abc", "message_id"),
        ("nsp_id", "NSP A/1", "nsp_id"),
        ("seq", 0, "seq"),
        ("schema_version", 2, "schema_version"),
    ]:
        with pytest.raises(ValidationError, match=error):
            parse_up(json.dumps({**msg, field: value}))


def test_message_id_is_fixed_at_creation() -> None:
    a = make_up("status", "nsp-a", 1, {"state": "open", "power_source": "grid"})
    again = parse_up(a.model_dump_json())
    assert again.message_id == a.message_id and again == a


def test_bulletin_needs_dutch_and_sane_validity() -> None:
    base: dict[str, Any] = {
        "bulletin_id": "water-advies",
        "version": 1,
        "valid_from": "2026-11-23T10:00:00+01:00",
        "texts": [{"language": "en", "headline": "Boil water", "text": "Boil tap water."}],
    }
    with pytest.raises(ValidationError, match="Dutch"):
        Bulletin.model_validate(base)
    base["texts"].append({"language": "nl", "headline": "Kook water", "text": "Kook kraanwater."})
    Bulletin.model_validate(base)
    with pytest.raises(ValidationError, match="valid_until must be after"):
        Bulletin.model_validate({**base, "valid_until": "2026-11-23T09:00:00+01:00"})


def test_topics_round_trip() -> None:
    t = topics.parse(topics.up("cp-oss", "nsp-a", "help_request"))
    assert t == topics.Topic("up", "cp-oss", nsp_id="nsp-a", kind="help_request")
    assert topics.parse(topics.status("cp-oss", "nsp-a")) == topics.Topic(
        "status", "cp-oss", nsp_id="nsp-a"
    )
    assert topics.parse(topics.bulletin("cp-oss", "water")) == topics.Topic(
        "bulletin", "cp-oss", bulletin_id="water"
    )
    for bad in ["noodnet/v1/cp/nsp/+/up/x", "other/v1/cp/nsp/a/up/x", "noodnet/v1/cp/nsp/a"]:
        assert topics.parse(bad) is None
