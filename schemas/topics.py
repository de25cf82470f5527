"""The MQTT topic scheme, in one place for gateway, service and broker ACLs.

noodnet/v1/{cp}/nsp/{nsp}/up/{kind}      gateway → CP, QoS 1
noodnet/v1/{cp}/nsp/{nsp}/down/{kind}    CP → one gateway, QoS 1
noodnet/v1/{cp}/nsp/{nsp}/status         retained presence; last will = offline
noodnet/v1/{cp}/bulletin/{bulletin_id}   retained, current version
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ROOT = "noodnet/v1"
_SEGMENT = r"[a-z0-9][a-z0-9_-]{0,62}"
_PATTERN = re.compile(
    rf"^{ROOT}/(?P<cp>{_SEGMENT})/(?:"
    rf"nsp/(?P<nsp>{_SEGMENT})/(?:(?P<dir>up|down)/(?P<kind>[a-z_]+)|(?P<status>status))"
    rf"|bulletin/(?P<bulletin>{_SEGMENT}))$"
)

TopicType = Literal["up", "down", "status", "bulletin"]


@dataclass(frozen=True)
class Topic:
    type: TopicType
    cp_id: str
    nsp_id: str | None = None
    kind: str | None = None
    bulletin_id: str | None = None


def up(cp_id: str, nsp_id: str, kind: str) -> str:
    return f"{ROOT}/{cp_id}/nsp/{nsp_id}/up/{kind}"


def down(cp_id: str, nsp_id: str, kind: str) -> str:
    return f"{ROOT}/{cp_id}/nsp/{nsp_id}/down/{kind}"


def status(cp_id: str, nsp_id: str) -> str:
    return f"{ROOT}/{cp_id}/nsp/{nsp_id}/status"


def bulletin(cp_id: str, bulletin_id: str) -> str:
    return f"{ROOT}/{cp_id}/bulletin/{bulletin_id}"


def cp_up_filters(cp_id: str) -> list[str]:
    """What the CP service subscribes to: every NSP's upward messages and presence."""
    return [f"{ROOT}/{cp_id}/nsp/+/up/+", f"{ROOT}/{cp_id}/nsp/+/status"]


def gateway_filters(cp_id: str, nsp_id: str) -> list[str]:
    """What a gateway subscribes to: its own downward topics and all bulletins of its CP."""
    return [f"{ROOT}/{cp_id}/nsp/{nsp_id}/down/+", f"{ROOT}/{cp_id}/bulletin/+"]


def parse(topic: str) -> Topic | None:
    """Parse a topic; None when it is not one of ours."""
    m = _PATTERN.match(topic)
    if m is None:
        return None
    if m["bulletin"]:
        return Topic("bulletin", m["cp"], bulletin_id=m["bulletin"])
    if m["status"]:
        return Topic("status", m["cp"], nsp_id=m["nsp"])
    direction: TopicType = "up" if m["dir"] == "up" else "down"
    return Topic(direction, m["cp"], nsp_id=m["nsp"], kind=m["kind"])
