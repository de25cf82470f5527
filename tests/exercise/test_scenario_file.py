"""The scenario file (docs/exercise.md) and ``noodnet exercise`` answer bad input with a
specific message before anything is sent; the demo's scenario round-trips through the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from noodnet.cli import app
from noodnet.exercise_play import Gateway, ScenarioError, demo_scenario, load, play
from noodnet.scenario import events


def write(tmp_path: Path, data: Any) -> Path:
    p = tmp_path / "s.json"
    p.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return p


def test_the_demo_scenario_round_trips_through_the_file(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    r = CliRunner().invoke(app, ["exercise", "demo-scenario", "--out", str(out)])
    assert r.exit_code == 0, r.output
    scenario = load(out)
    reports = [s for s in scenario.steps if s.kind]
    assert len(reports) == len(events(4))
    assert [s.link for s in scenario.steps if s.link] == ["cut", "restore"]
    assert scenario == demo_scenario(4)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("{not json", "is not JSON"),
        ({"name": "x", "steps": []}, "steps: List should have at least 1 item"),
        ({"name": "x", "steps": [{"at": 0, "nsp": "a", "link": "cut", "body": {}}]}, "no body"),
        ({"name": "x", "steps": [{"at": 0, "nsp": "a"}]}, "either a report"),
        ({"name": "x", "steps": [{"at": -1, "nsp": "a", "link": "cut"}]}, "steps.0.at"),
        ({"name": "x", "steps": [{"at": 0, "nsp": "A B", "link": "cut"}]}, "steps.0.nsp"),
        (
            {"name": "x", "steps": [{"at": 0, "nsp": "a", "kind": "alarm", "body": {}}]},
            "steps.0.kind",
        ),
        (
            {
                "name": "x",
                "steps": [
                    {"at": 0, "nsp": "a", "link": "cut"},
                    {"at": 1, "nsp": "a", "kind": "help_request", "body": {"urgency": "P9"}},
                ],
            },
            "steps.1.body.urgency",
        ),
    ],
)
def test_a_broken_file_is_refused_naming_the_step(tmp_path: Path, data: Any, expected: str) -> None:
    with pytest.raises(ScenarioError, match=expected.replace(".", r"\.")):
        load(write(tmp_path, data))


def test_play_refuses_before_sending_when_a_gateway_is_missing(tmp_path: Path) -> None:
    scenario = load(write(tmp_path, {"name": "x", "steps": [{"at": 0, "nsp": "a", "link": "cut"}]}))
    with pytest.raises(ScenarioError, match=r"no gateway given for NSP.*: a"):
        play(scenario, {"b": Gateway("http://127.0.0.1:9", "t")}, "oef-1")


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = write(tmp_path, {"name": "x", "steps": [{"at": 0, "nsp": "a"}]})
    gws = tmp_path / "gw.json"
    gws.write_text('{"a": {"url": "http://127.0.0.1:9"}}')
    r = CliRunner().invoke(
        app, ["exercise", "play", str(bad), "--exercise", "oef-1", "--gateways", str(gws)]
    )
    assert r.exit_code == 2 and "error:" in r.output and "steps.0" in r.output
    good = write(tmp_path, {"name": "x", "steps": [{"at": 0, "nsp": "a", "link": "cut"}]})
    r = CliRunner().invoke(
        app, ["exercise", "play", str(good), "--exercise", "oef-1", "--gateways", str(gws)]
    )
    assert r.exit_code == 2 and "token" in r.output
    r = CliRunner().invoke(
        app, ["exercise", "list", "--cp-url", "http://127.0.0.1:9"], env={"NOODNET_TOKEN": ""}
    )
    assert r.exit_code == 2 and "NOODNET_TOKEN" in r.output
