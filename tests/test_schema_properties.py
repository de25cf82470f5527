"""Property tests (hypothesis) on the message contract: whatever arrives, the parsers either
return a valid message or a specific validation error — never another exception — and valid
messages survive the wire unchanged and match the published JSON Schema."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import UP_KINDS, make_up, parse_up, topics
from schemas.common import ID_PATTERN
from schemas.generate import OUT_DIR
from service.ingest import InvalidMessage, validate_presence, validate_up
from tests.conftest import test_db_kind as db_kind

pytestmark = pytest.mark.skipif(
    db_kind() == "postgres", reason="no database involved; the SQLite pass runs it"
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.from_regex(ID_PATTERN, fullmatch=True)
# What a text field may hold: anything but control characters (tab and line breaks are
# fine) and lone surrogates (see schemas.common.check_text).
letters = st.characters(exclude_categories=("Cc", "Cs")) | st.sampled_from("\t\n\r")
text = st.text(letters, min_size=1, max_size=300).filter(lambda s: s.strip() != "")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
location = st.one_of(
    st.fixed_dictionaries({"address": text}),
    st.fixed_dictionaries(
        {
            "lat": st.floats(-90, 90, allow_nan=False),
            "lon": st.floats(-180, 180, allow_nan=False),
        },
        optional={"address": text, "description": st.text(letters, max_size=300)},
    ),
)
help_body = st.fixed_dictionaries(
    {
        "category": st.sampled_from(["medical", "fire", "crime", "vulnerable_person", "other"]),
        "urgency": st.sampled_from(["P1", "P2", "P3", "P4"]),
        "location": location,
        "description": text,
    },
    optional={
        "people_involved": st.integers(1, 10_000),
        "reporter_name": st.text(letters, max_size=200),
    },
)
status_body = st.fixed_dictionaries(
    {
        "state": st.sampled_from(["open", "limited", "closed"]),
        "power_source": st.sampled_from(["grid", "generator", "battery", "none"]),
    },
    optional={"staff_present": st.integers(0, 1000), "power_hours_left": st.floats(0, 1000)},
)


@FAST
@given(st.binary(max_size=2000))
def test_any_bytes_are_a_message_or_a_specific_rejection(payload: bytes) -> None:
    topic = topics.parse(topics.up("cp-p", "nsp-p", "status"))
    try:
        validate_up(payload, 64 * 1024, topic)
    except InvalidMessage as exc:
        assert exc.reason
    try:
        validate_presence(payload, 64 * 1024, topics.parse(topics.status("cp-p", "nsp-p")))  # type: ignore[arg-type]
    except InvalidMessage as exc:
        assert exc.reason


@FAST
@given(json_values, st.sampled_from(UP_KINDS))
def test_any_json_is_a_message_or_a_validation_error(value: Any, kind: str) -> None:
    doc = value if not isinstance(value, dict) else {**value, "kind": kind}
    try:
        parse_up(json.dumps(doc))
    except ValidationError as exc:
        assert exc.errors()


@FAST
@given(ids, st.integers(1, 2**62), help_body)
def test_valid_help_requests_survive_the_wire_and_match_the_schema(
    nsp: str, seq: int, body: dict[str, Any]
) -> None:
    msg = make_up("help_request", nsp, seq, body)
    wire = msg.model_dump_json()
    again = parse_up(wire)
    assert again == msg and again.model_dump_json() == wire
    schema = json.loads((OUT_DIR / "up.schema.json").read_text())
    jsonschema.validate(json.loads(wire), schema)


@FAST
@given(ids, st.integers(1, 2**62), status_body, st.text(min_size=1, max_size=30))
def test_unknown_fields_are_rejected_never_dropped(
    nsp: str, seq: int, body: dict[str, Any], extra: str
) -> None:
    doc = json.loads(make_up("status", nsp, seq, body).model_dump_json())
    if extra in doc["body"]:
        return
    doc["body"][extra] = "x"
    try:
        parse_up(json.dumps(doc))
    except ValidationError as exc:
        assert any(e["type"] == "extra_forbidden" for e in exc.errors())
    else:
        raise AssertionError(f"unknown field {extra!r} was accepted")


@FAST
@given(ids, ids, st.sampled_from(UP_KINDS))
def test_topics_round_trip_and_reject_wildcards(cp: str, nsp: str, kind: str) -> None:
    parsed = topics.parse(topics.up(cp, nsp, kind))
    assert parsed is not None and (parsed.cp_id, parsed.nsp_id, parsed.kind) == (cp, nsp, kind)
    for bad in ("+", "#", "a/b", "A", ""):
        assert topics.parse(topics.up(cp, nsp + bad, kind)) is None or bad == ""


@FAST
@given(st.text(max_size=80))
def test_only_ids_of_the_pattern_get_through(candidate: str) -> None:
    """Whatever is offered as nsp_id, an accepted message carries a topic-safe id."""
    doc = {
        "message_id": "01JD3Q7Z8X9K2M4N6P8R0S2T4V",
        "sent_at": "2026-11-23T12:00:00Z",
        "nsp_id": candidate,
        "seq": 1,
        "kind": "status",
        "body": {"state": "open", "power_source": "grid"},
    }
    try:
        msg = parse_up(json.dumps(doc))
    except ValidationError:
        return
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", msg.nsp_id), msg.nsp_id
    assert topics.parse(topics.up("cp-p", msg.nsp_id, "status")) is not None


@FAST
@given(
    ids,
    help_body,
    st.sampled_from(["description", "reporter_name"]),
    st.characters(categories=("Cc", "Cs")).filter(lambda c: c not in "\t\n\r"),
)
def test_control_characters_and_lone_surrogates_are_refused_in_text(
    nsp: str, body: dict[str, Any], field: str, bad: str
) -> None:
    doc = json.loads(make_up("help_request", nsp, 1, body).model_dump_json())
    doc["body"][field] = f"a{bad}b"
    with pytest.raises(InvalidMessage) as err:
        validate_up(json.dumps(doc).encode(), 64 * 1024)
    assert f"body.{field}" in err.value.reason or "JSON" in err.value.reason
