"""Scenario files and the player behind ``noodnet exercise play``.

The format is the demo's scenario (``noodnet/scenario.py``: at which second which NSP's staff
enter which report) written as JSON, plus link cuts; docs/exercise.md describes it. The
player enters every report through the gateway's own HTTP API (``POST /api/v1/reports``),
exactly as NSP staff or a machine at the NSP would, with the exercise id set, so a scenario
can only ever make exercise data. A link cut is ``POST /api/v1/link/cut`` on that gateway
(its MQTT link drops as in a real outage, reports queue in its outbox) and ``.../restore``.

Invariant: a scenario is validated completely before its first step is played (unknown NSP,
bad kind, a link step without a gateway: refused with the step's number), so a broken file
never leaves an exercise half played.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.common import ID_PATTERN

FORMAT: Final = "noodnet-scenario/1"
REPORT_KINDS = ("help_request", "situation_report", "resource_request", "status")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScenarioNsp(_Strict):
    nsp_id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None


class Step(_Strict):
    """One step: a report entered at an NSP, or its link cut or restored."""

    at: float = Field(ge=0, description="Seconds from the start (at speed 1).")
    nsp: str = Field(pattern=ID_PATTERN, description="The NSP (gateway) it happens at.")
    kind: (
        Literal["help_request", "situation_report", "resource_request", "status", "facility_report"]
        | None
    ) = None
    body: dict[str, Any] | None = None
    link: Literal["cut", "restore"] | None = None
    note: str | None = Field(default=None, description="For the exercise leader; not sent.")

    @model_validator(mode="after")
    def _report_or_link(self) -> Step:
        if (self.link is None) == (self.kind is None):
            raise ValueError("a step is either a report (kind and body) or a link step (link)")
        if self.kind is not None and self.body is None:
            raise ValueError("a report step needs a body")
        if self.link is not None and self.body is not None:
            raise ValueError("a link step has no body")
        return self


class Scenario(_Strict):
    format: Literal["noodnet-scenario/1"] = FORMAT
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    nsps: list[ScenarioNsp] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    def nsp_ids(self) -> list[str]:
        return sorted({s.nsp for s in self.steps})


class ScenarioError(Exception):
    pass


def stamped(body: dict[str, Any] | None) -> dict[str, Any] | None:
    """A body with ``observed_at`` (a facility observation in the scenario) gets the time it
    is played."""
    if body is not None and "observed_at" in body:
        return {**body, "observed_at": datetime.now(UTC).isoformat()}
    return body


def load(path: Path) -> Scenario:
    """Read and validate a scenario file; errors name the step and field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path} is not JSON: {exc}") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        raise ScenarioError(f"{path} is not a valid scenario:\n" + "\n".join(lines)) from None
    _check_bodies(scenario)
    return scenario


def _check_bodies(scenario: Scenario) -> None:
    """Every report body must be valid for its kind before anything is sent."""
    from schemas import UP_MESSAGE_TYPES

    problems = []
    for i, step in enumerate(scenario.steps):
        if step.kind is None:
            continue
        model = UP_MESSAGE_TYPES[step.kind].model_fields["body"].annotation
        try:
            model.model_validate(stamped(step.body))  # type: ignore[union-attr]
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                where = ".".join(str(p) for p in e["loc"])
                problems.append(f"  steps.{i}.body.{where}: {e['msg']}")
    if problems:
        raise ScenarioError("report bodies that the gateway would refuse:\n" + "\n".join(problems))


def demo_scenario(n_nsps: int = 4) -> Scenario:
    """The demo's own scenario (``noodnet/scenario.py``) in the file format, with one link cut
    (the third NSP loses its link for a while) so a drill practises working without it."""
    from noodnet.scenario import NSPS, events

    nsps = NSPS[:n_nsps]
    steps = [
        Step(at=e.at, nsp=nsps[e.nsp_index].nsp_id, kind=e.kind, body=e.body)
        for e in events(n_nsps)
    ]
    if n_nsps >= 3:
        cut = nsps[2].nsp_id
        steps += [
            Step(at=9, nsp=cut, link="cut", note="verbinding valt weg"),
            Step(at=30, nsp=cut, link="restore", note="verbinding terug"),
        ]
    steps.sort(key=lambda s: s.at)
    return Scenario(
        name="Stroomuitval Oss (demo)",
        description="The demo's power-outage scenario around Oss, with a link cut.",
        nsps=[
            ScenarioNsp(nsp_id=n.nsp_id, name=n.name, address=n.address, lat=n.lat, lon=n.lon)
            for n in nsps
        ],
        steps=steps,
    )


@dataclass(frozen=True)
class Gateway:
    url: str
    token: str


def load_gateways(path: Path) -> dict[str, Gateway]:
    """``{"nsp-id": {"url": "http://...", "token": "..."}}``: where each NSP's gateway
    answers and its staff token (kept in a file, not on the command line)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            nsp: Gateway(url=str(v["url"]).rstrip("/"), token=str(v["token"]))
            for nsp, v in raw.items()
        }
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ScenarioError(
            f'{path}: expected {{"nsp-id": {{"url": ..., "token": ...}}}}: {exc}'
        ) from None


@dataclass(frozen=True)
class Played:
    step: int
    at: float
    nsp: str
    what: str
    ok: bool
    detail: str
    message_id: str | None = None


def play(
    scenario: Scenario,
    gateways: dict[str, Gateway],
    exercise_id: str,
    speed: float = 1.0,
    on_step: Callable[[Played], None] | None = None,
    client: httpx.Client | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Played]:
    """Play every step at its time (``at / speed`` seconds after the start). A refused step
    is reported and the rest goes on: an exercise, like a crisis, does not stop for one
    failed report."""
    missing = [n for n in scenario.nsp_ids() if n not in gateways]
    if missing:
        raise ScenarioError(f"no gateway given for NSP(s): {', '.join(missing)}")
    if speed <= 0:
        raise ScenarioError("speed must be above 0")
    own = client is None
    http = client or httpx.Client(timeout=15)
    results: list[Played] = []
    start = clock()
    try:
        for i, step in sorted(enumerate(scenario.steps), key=lambda p: (p[1].at, p[0])):
            wait = start + step.at / speed - clock()
            if wait > 0:
                sleep(wait)  # the scenario's own timeline, not a synchronisation
            gw = gateways[step.nsp]
            headers = {"Authorization": f"Bearer {gw.token}"}
            try:
                if step.link is not None:
                    r = http.post(f"{gw.url}/api/v1/link/{step.link}", headers=headers)
                    what = f"link {step.link}"
                    message_id = None
                else:
                    r = http.post(
                        f"{gw.url}/api/v1/reports",
                        json={
                            "kind": step.kind,
                            "body": stamped(step.body),
                            "exercise": exercise_id,
                        },
                        headers=headers,
                    )
                    what = str(step.kind)
                    message_id = r.json().get("message_id") if r.status_code < 300 else None
                ok = r.status_code < 300
                detail = "ok" if ok else f"HTTP {r.status_code}: {r.text[:300]}"
            except httpx.HTTPError as exc:
                ok, detail, message_id = False, f"gateway unreachable: {exc}", None
                what = f"link {step.link}" if step.link else str(step.kind)
            played = Played(i, step.at, step.nsp, what, ok, detail, message_id)
            results.append(played)
            if on_step is not None:
                on_step(played)
    finally:
        if own:
            http.close()
    return results
