"""Reading CAP 1.2 alerts in tests: what an alert says, independent of formatting, the
writer's element order and time-zone notation (the fields a round trip must keep). Shared by
the synthetic samples (test_cap.py) and the real published alerts (test_cap_real.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from service.bulletins.cap import CAP_NS

N = f"{{{CAP_NS}}}"


def _parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.strip()).astimezone(UTC) if value else None


def _t(el: etree._Element, name: str) -> str | None:
    child = el.find(N + name)
    return None if child is None or child.text is None else child.text.strip() or None


def _pairs(parent: etree._Element, name: str) -> list[tuple[str | None, str | None]]:
    return [(_t(p, "valueName"), _t(p, "value")) for p in parent.findall(N + name)]


def info_essence(info: etree._Element, sent: datetime | None) -> dict[str, Any]:
    """What one info block says, independent of formatting and time-zone notation."""
    return {
        "language": _t(info, "language") or "en-US",  # CAP's default
        "categories": sorted(c.text or "" for c in info.findall(N + "category")),
        "event": _t(info, "event"),
        "response_types": sorted(r.text or "" for r in info.findall(N + "responseType")),
        "urgency": _t(info, "urgency"),
        "severity": _t(info, "severity"),
        "certainty": _t(info, "certainty"),
        "audience": _t(info, "audience"),
        "event_codes": _pairs(info, "eventCode"),
        "effective": _instant(_t(info, "effective")) or sent,
        "onset": _instant(_t(info, "onset")),
        "expires": _instant(_t(info, "expires")),
        "sender_name": _t(info, "senderName"),
        "headline": _t(info, "headline"),
        "description": _t(info, "description"),
        "instruction": _t(info, "instruction"),
        "web": _t(info, "web"),
        "contact": _t(info, "contact"),
        "parameters": _pairs(info, "parameter"),
        "areas": [
            {
                "desc": _t(a, "areaDesc"),
                "polygons": [(p.text or "").strip() for p in a.findall(N + "polygon")],
                "circles": [(c.text or "").strip() for c in a.findall(N + "circle")],
                "geocodes": _pairs(a, "geocode"),
                "altitude": _t(a, "altitude"),
                "ceiling": _t(a, "ceiling"),
            }
            for a in info.findall(N + "area")
        ],
    }


def essence(xml: bytes) -> dict[str, Any]:
    root = _parse(xml)
    sent = _instant(_t(root, "sent"))
    infos = [info_essence(i, sent) for i in root.findall(N + "info")]
    return {
        "identifier": _t(root, "identifier"),
        "sender": _t(root, "sender"),
        "sent": sent,
        "status": _t(root, "status"),
        "msg_type": _t(root, "msgType"),
        "scope": _t(root, "scope"),
        "source": _t(root, "source"),
        "codes": [c.text for c in root.findall(N + "code")],
        "note": _t(root, "note"),
        "incidents": _t(root, "incidents"),
        # Order-independent: blocks NSPs do not show are exported after the others.
        "infos": sorted(infos, key=lambda i: json.dumps(i, default=str, sort_keys=True)),
    }
