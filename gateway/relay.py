"""When the link is gone: which urgent reports staff should pass on by radio, and what they did.

Invariants:

* A report gets the "Doorgeven via portofoon" card when its urgency is one of
  ``settings.relay_urgencies`` (P1, optionally P2), the CP has not acknowledged it
  (outbox state is not ``stored``), and either it was made at least
  ``settings.relay_after_seconds`` ago or the link has been down that long. The card stays
  until the CP's real ack arrives, also after staff marked it passed on: a mark is what staff
  did, never proof that the CP stored it.
* Marking never touches the outbox row: it stays unacknowledged and is resent when the link
  returns; the CP recognises the copy by (NSP, seq) and counts it once
  (``service.fallback.relay`` at the CP). Each mark is a row of ``relay_mark``: the channel
  history of the report.
* The short form, read-out and QR code come from ``schemas.shortform`` (the same module the CP
  decodes with), so what staff read out is exactly what the CP operator can type and check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import segno
from sqlmodel import Session, col, select

from gateway.models import OutboxRow, RelayMarkRow
from gateway.outbox import OutboxEntry
from schemas import shortform as sf
from schemas import utcnow

CHANNELS = ("radio", "runner", "sms")
RELAY_KINDS = ("help_request", "resource_request")
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


class MarkError(ValueError):
    """A mark staff cannot save; ``key`` is the i18n key of the reason."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class RelayCard:
    entry: OutboxEntry
    short_form: str | None  # None: no short code configured, or the fixed fields do not fit
    readout: list[str]
    check: str
    problem: str | None  # i18n key why there is no short form


@dataclass(frozen=True)
class Mark:
    channel: str
    confirmed_by: str | None
    confirmed_at: str | None
    marked_by: str | None
    marked_at: datetime


def urgencies(settings: Any) -> set[str]:
    return set(str(settings.relay_urgencies).split(","))


def needs_radio(
    entry: OutboxEntry,
    settings: Any,
    now: datetime,
    link_down_since: datetime | None,
) -> bool:
    """Whether the report should be passed on by another channel now (see the module)."""
    if entry.kind not in RELAY_KINDS or entry.state == "stored" or entry.heartbeat:
        return False
    if entry.body.get("urgency") not in urgencies(settings):
        return False
    after = timedelta(seconds=settings.relay_after_seconds)
    if now - entry.created_at >= after:
        return True
    return link_down_since is not None and now - link_down_since >= after


def card_for(entry: OutboxEntry, short_code: str | None) -> RelayCard:
    if short_code is None:
        return RelayCard(entry, None, [], "", "relay_no_code")
    try:
        report = sf.to_short(entry.kind, entry.body, short_code, entry.seq)
    except sf.ShortFormTooLong:
        return RelayCard(entry, None, [], "", "relay_too_long")
    text = sf.encode(report)
    return RelayCard(entry, text, sf.readout(report), text[-2:], None)


def cards(
    entries: list[OutboxEntry],
    settings: Any,
    now: datetime,
    link_down_since: datetime | None,
) -> list[RelayCard]:
    return [
        card_for(e, settings.short_code)
        for e in entries
        if needs_radio(e, settings, now, link_down_since)
    ]


def qr_svg(text: str) -> str:
    """The short form as an inline SVG QR code (error correction M; no network, no file)."""
    qr = segno.make(text, error="m", micro=False)
    svg: str = qr.svg_inline(scale=4, border=2, dark="#000", light="#fff")
    return svg


def parse_hhmm(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    m = _HHMM.match(value)
    if m is None:
        raise MarkError("relay_bad_time")
    return f"{int(m[1]):02d}:{m[2]}"


def mark(
    engine: Any,
    message_id: str,
    channel: str,
    confirmed_by: str | None,
    confirmed_at: str | None,
    marked_by: str | None,
) -> Mark:
    """Record that staff passed the report on; the outbox row stays as it is."""
    if channel not in CHANNELS:
        raise MarkError("relay_bad_channel")
    at = parse_hhmm(confirmed_at or "")
    with Session(engine) as session:
        if session.get(OutboxRow, message_id) is None:
            raise MarkError("relay_unknown")
        row = RelayMarkRow(
            message_id=message_id,
            channel=channel,
            confirmed_by=(confirmed_by or "").strip()[:100] or None,
            confirmed_at=at,
            marked_by=(marked_by or "").strip()[:100] or None,
            marked_at=utcnow(),
        )
        session.add(row)
        session.commit()
        return Mark(row.channel, row.confirmed_by, row.confirmed_at, row.marked_by, row.marked_at)


def marks(engine: Any, message_ids: list[str]) -> dict[str, list[Mark]]:
    """Channel history per report (only reports staff passed on have one)."""
    if not message_ids:
        return {}
    out: dict[str, list[Mark]] = {}
    with Session(engine) as session:
        rows = session.exec(
            select(RelayMarkRow)
            .where(col(RelayMarkRow.message_id).in_(message_ids))
            .order_by(col(RelayMarkRow.id))
        ).all()
        for r in rows:
            out.setdefault(r.message_id, []).append(
                Mark(r.channel, r.confirmed_by, r.confirmed_at, r.marked_by, r.marked_at)
            )
    return out


def channel_counts(engine: Any) -> dict[str, int]:
    """How many reports went by each channel (for the board)."""
    with Session(engine) as session:
        rows = session.exec(select(RelayMarkRow.message_id, RelayMarkRow.channel)).all()
    seen: dict[str, set[str]] = {}
    for message_id, channel in rows:
        seen.setdefault(channel, set()).add(message_id)
    return {c: len(ids) for c, ids in seen.items()}
