"""Reports relayed by radio, runner, SMS or stick, and their reconciliation with the original.

An operator types a short form (``schemas.shortform``) into the console; the CP turns it into
an ordinary upward message and puts it through the normal ingest (grouping, priority,
upstream, P1 forwarding at once), with the channel as its transport and the operator named.

Invariants:

* (NSP, seq) identifies a report. The relayed copy has no message id of the gateway (the
  short form cannot carry 26 characters over a radio), so the CP gives it its own, and the
  ``relay_report`` row remembers (NSP, seq) → that id, in the same transaction as the
  message row.
* When the original later arrives (MQTT, HTTP or a file) ``reconcile`` runs inside the
  store's transaction, *before* anything is inserted: the original is not stored as a second
  message, so it is never a sequence conflict, never a ``message_id_reused`` event and never
  a second incident. The stored message takes the original's full body (the relayed text may
  have been cut) and its send time, keeps the first-known receive time (the relay's), and
  the relay row records the original's id and channel. The gateway gets its normal ack for
  its own message id (``stored_at`` = the first-known time); every later copy of that id is a
  plain duplicate. State acks the CP sends later name the original id (``original_id``), and
  the item's current state is sent at once, so the NSP learns what happened while the link
  was down.
* A relay of a report the CP already has (the original came first, or the same report came
  by radio and then by runner) stores nothing new: the channel is added to the history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from noodcore.db import table_of
from schemas import UP_MESSAGE_TYPES, new_message_id, utcnow
from schemas import shortform as sf
from service.fallback.models import RelayReport
from service.fallback.registry import nsp_for_code
from service.models import Message

if TYPE_CHECKING:
    from service.ingest import IngestWorker
    from service.store import Accepted, StoreResult

log = logging.getLogger(__name__)

RELAYS = table_of(RelayReport)
MESSAGES = table_of(Message)

# Channel code (the message's transport, at most 8 characters) → Dutch and English label.
CHANNELS: dict[str, tuple[str, str]] = {
    "radio": ("portofoon", "radio"),
    "runner": ("loper", "runner"),
    "sms": ("sms", "SMS"),
    "usb": ("usb-stick", "USB stick"),
}
DIGITAL: dict[str, tuple[str, str]] = {
    "mqtt": ("digitaal (MQTT)", "digital (MQTT)"),
    "http": ("digitaal (HTTP)", "digital (HTTP)"),
    "file": ("usb-bestand", "USB file"),
}
RELAY_TIMEOUT_SECONDS = 60


def channel_label(channel: str, lang: str = "nl") -> str:
    labels = CHANNELS.get(channel) or DIGITAL.get(channel) or (channel, channel)
    return labels[1] if lang.startswith("en") else labels[0]


@dataclass(frozen=True)
class RelayInfo:
    """How a relayed report reached the CP (carried on ``Accepted`` through the store)."""

    channel: str
    operator: str
    short_form: str


@dataclass(frozen=True)
class Reconciled:
    """An accepted message the store must not insert: what it is instead."""

    stored_message_id: str  # the message row it belongs to
    stored_at: datetime  # first-known receive time
    outcome: str  # "reconciled" (original replaced a relay) | "duplicate" | "known"


class RelayError(ValueError):
    """A relay the CP refuses; ``nl``/``en`` say why."""

    def __init__(self, code: str, nl: str, en: str) -> None:
        super().__init__(en)
        self.code = code
        self.nl = nl
        self.en = en


# --------------------------------------------------------------------------- entry


def build_message(session: Session, text: str, channel: str) -> tuple[Any, sf.ShortReport]:
    """The upward message a short form stands for; raises ShortFormError or RelayError."""
    if channel not in CHANNELS:
        raise RelayError(
            "channel",
            f"kanaal '{channel}' bestaat niet; kies uit {', '.join(CHANNELS)}",
            f"channel '{channel}' is unknown; one of {', '.join(CHANNELS)}",
        )
    report = sf.decode(text)
    nsp_id = nsp_for_code(session, report.short_code)
    if nsp_id is None:
        raise RelayError(
            "unknown_code",
            f"korte code '{report.short_code}' hoort bij geen NSP (noodnet provision)",
            f"short code '{report.short_code}' belongs to no NSP (noodnet provision)",
        )
    model = UP_MESSAGE_TYPES[report.kind]
    message = model.model_validate(
        {
            "message_id": new_message_id(),
            "nsp_id": nsp_id,
            "seq": report.seq,
            "sent_at": utcnow(),
            "kind": report.kind,
            "body": sf.to_body(report),
        }
    )
    return message, report


@dataclass(frozen=True)
class RelayOutcome:
    message_id: str
    nsp_id: str
    seq: int
    kind: str
    urgency: str | None
    new: bool  # False: the CP already had this report (its channel was added)
    stored_at: datetime


def submit(
    engine: Engine, worker: IngestWorker, text: str, channel: str, operator: str
) -> RelayOutcome:
    """Decode, then store through the ingest worker (the normal path) and wait."""
    from service.ingest import Incoming

    with Session(engine) as session:
        message, report = build_message(session, text, channel)
    canonical = sf.encode(report)
    fut: Future[StoreResult] = Future()
    worker.submit(
        Incoming(
            payload=message.model_dump_json().encode(),
            received_at=utcnow(),
            transport=channel,
            future=fut,
            relay=RelayInfo(channel=channel, operator=operator[:100], short_form=canonical),
        )
    )
    result = fut.result(timeout=RELAY_TIMEOUT_SECONDS)
    if result.dead_letter is not None:
        raise RelayError("not_stored", f"niet opgeslagen: {result.dead_letter}", result.dead_letter)
    return RelayOutcome(
        message_id=result.message_id,
        nsp_id=result.nsp_id,
        seq=result.seq,
        kind=result.kind,
        urgency=report.urgency.value if report.urgency is not None else None,
        new=result.new,
        stored_at=result.stored_at,
    )


# --------------------------------------------------------------------------- in the store


def _event(channel: str, at: datetime, by: str | None, message_id: str) -> dict[str, Any]:
    return {"channel": channel, "at": at.isoformat(), "by": by, "message_id": message_id}


def involved(conn: Connection, batch: Iterable[Accepted]) -> bool:
    """Whether ``reconcile`` can find anything for this batch: it holds a relay, or some
    report was ever relayed (a one-row probe). The store asks first, because only then must
    it look up which of the batch's ids are stored before its insert."""
    if any(getattr(a, "relay", None) is not None for a in batch):
        return True
    return conn.execute(sa.select(RELAYS.c.message_id).limit(1)).first() is not None


def reconcile(conn: Connection, fresh: list[Accepted], cp_id: str) -> dict[int, Reconciled]:
    """Inside the store's transaction, before insert: which of ``fresh`` (by ``id()``) are
    not new messages but copies of a relayed report, or relays of a known one.

    Costs one indexed query per batch when no relay is involved (original id, or NSP and
    seq of a relay still waiting for its original; only relayed reports have rows), and
    while no report was ever relayed only a one-row probe (``involved``, which the store asks
    before calling this): the query with a batch's ids was 2 % of the CP during a reconnect
    backlog (py-spy, bench/backlog.py).
    """
    if not fresh:
        return {}
    out: dict[int, Reconciled] = {}
    relays = [a for a in fresh if getattr(a, "relay", None) is not None]
    nsps = sorted({a.message.nsp_id for a in fresh})
    ids = [a.message.message_id for a in fresh]
    seqs = sorted({a.message.seq for a in fresh})
    rows = conn.execute(
        sa.select(RELAYS).where(
            sa.or_(
                RELAYS.c.original_message_id.in_(ids),
                sa.and_(
                    RELAYS.c.original_message_id.is_(None),
                    RELAYS.c.nsp_id.in_(nsps),
                    RELAYS.c.seq.in_(seqs),
                ),
            )
        )
    ).all()
    if not rows and not relays:
        return out
    by_original = {r.original_message_id: r for r in rows if r.original_message_id}
    pending = {(r.nsp_id, r.seq, r.kind): r for r in rows if r.original_message_id is None}
    for a in fresh:
        if getattr(a, "relay", None) is not None:
            continue
        m = a.message
        row = by_original.get(m.message_id)
        if row is not None:  # a later copy of an original already reconciled
            out[id(a)] = Reconciled(row.message_id, _received_at(conn, row.message_id), "duplicate")
            continue
        row = pending.pop((m.nsp_id, m.seq, m.kind), None)
        if row is not None:
            out[id(a)] = _take_original(conn, row, a, cp_id)
    seen: dict[tuple[str, int, str], str] = {}
    for a in relays:
        m = a.message
        info = a.relay
        assert info is not None
        key = (m.nsp_id, m.seq, m.kind)
        known = conn.execute(
            sa.select(MESSAGES.c.message_id, MESSAGES.c.received_at, MESSAGES.c.transport)
            .where(MESSAGES.c.nsp_id == m.nsp_id, MESSAGES.c.seq == m.seq)
            .where(MESSAGES.c.kind == m.kind)
            .order_by(MESSAGES.c.id)
            .limit(1)
        ).first()
        if known is None and key in seen:  # the same relay twice in one batch
            known_id = seen[key]
            _add_channel(conn, known_id, info, a.received_at, m.message_id)
            out[id(a)] = Reconciled(known_id, a.received_at, "known")
            continue
        if known is not None:
            existing = conn.execute(
                sa.select(RELAYS).where(RELAYS.c.message_id == known.message_id)
            ).first()
            if existing is None:  # the original came first: record the relay beside it
                conn.execute(
                    sa.insert(RELAYS).values(
                        message_id=known.message_id,
                        nsp_id=m.nsp_id,
                        seq=m.seq,
                        kind=m.kind,
                        short_form=info.short_form,
                        channel=info.channel,
                        operator=info.operator,
                        relayed_at=a.received_at,
                        original_message_id=known.message_id,
                        original_transport=known.transport,
                        original_received_at=known.received_at,
                        history=[
                            _event(known.transport, known.received_at, None, known.message_id),
                            _event(info.channel, a.received_at, info.operator, m.message_id),
                        ],
                    )
                )
            else:
                _add_channel(conn, known.message_id, info, a.received_at, m.message_id)
            out[id(a)] = Reconciled(known.message_id, known.received_at, "known")
            continue
        conn.execute(
            sa.insert(RELAYS).values(
                message_id=m.message_id,
                nsp_id=m.nsp_id,
                seq=m.seq,
                kind=m.kind,
                short_form=info.short_form,
                channel=info.channel,
                operator=info.operator,
                relayed_at=a.received_at,
                history=[_event(info.channel, a.received_at, info.operator, m.message_id)],
            )
        )
        seen[key] = m.message_id
    return out


def _received_at(conn: Connection, message_id: str) -> datetime:
    at = conn.execute(
        sa.select(MESSAGES.c.received_at).where(MESSAGES.c.message_id == message_id)
    ).scalar_one()
    return at


def _add_channel(
    conn: Connection, stored_id: str, info: RelayInfo, at: datetime, message_id: str
) -> None:
    row = conn.execute(sa.select(RELAYS).where(RELAYS.c.message_id == stored_id)).first()
    if row is None:
        return
    history = [*row.history, _event(info.channel, at, info.operator, message_id)]
    conn.execute(sa.update(RELAYS).where(RELAYS.c.id == row.id).values(history=history))


def _take_original(conn: Connection, row: Any, a: Accepted, cp_id: str) -> Reconciled:
    """The original of a relayed report arrived: one report, the original's full content,
    the relay's receive time."""
    from service.triage.models import TriageItem, TriageReport

    m = a.message
    stored = conn.execute(
        sa.select(MESSAGES.c.received_at).where(MESSAGES.c.message_id == row.message_id)
    ).first()
    if stored is None:  # cannot happen: the relay row is written with its message
        log.error("relay row %s without its message %s", row.id, row.message_id)
        return Reconciled(row.message_id, a.received_at, "duplicate")
    body = m.body.model_dump(mode="json")
    conn.execute(
        sa.update(MESSAGES)
        .where(MESSAGES.c.message_id == row.message_id)
        .values(
            body=body,
            sent_at=m.sent_at,
            skew_seconds=(a.received_at - m.sent_at).total_seconds(),
            urgency=getattr(m.body, "urgency", None),
        )
    )
    history = [*row.history, _event(a.transport, a.received_at, None, m.message_id)]
    conn.execute(
        sa.update(RELAYS)
        .where(RELAYS.c.id == row.id)
        .values(
            original_message_id=m.message_id,
            original_transport=a.transport[:8],
            original_received_at=a.received_at,
            history=history,
        )
    )
    # The queue shows the full text now (and the address as written), not the ones cut and
    # capitalised to fit the radio.
    full: dict[str, Any] = {}
    if isinstance(body.get("description"), str):
        full["description"] = body["description"]
    address = (body.get("location") or {}).get("address")
    if isinstance(address, str) and address:
        full["address"] = address[:300]
    reports = table_of(TriageReport)
    items = table_of(TriageItem)
    placed = conn.execute(
        sa.select(reports.c.item_id).where(reports.c.message_id == row.message_id)
    ).first()
    if full and placed is not None:
        conn.execute(
            sa.update(reports).where(reports.c.message_id == row.message_id).values(**full)
        )
        conn.execute(
            sa.update(items)
            .where(items.c.id == placed.item_id)
            .where(items.c.representative_message_id == row.message_id)
            .values(**full)
        )
    if placed is not None:
        _tell_state(conn, cp_id, placed.item_id, m.nsp_id, m.message_id, stored.received_at)
    return Reconciled(row.message_id, stored.received_at, "reconciled")


def _tell_state(
    conn: Connection, cp_id: str, item_id: int, nsp_id: str, original: str, stored_at: datetime
) -> None:
    """What the CP did with the item while the link was down, for the gateway's own id."""
    from schemas import HandlingState
    from service.triage.acks import enqueue_ack
    from service.triage.models import TriageItem

    state = conn.execute(
        sa.select(table_of(TriageItem).c.state).where(table_of(TriageItem).c.id == item_id)
    ).scalar()
    if state is None or state not in {h.value for h in HandlingState} or state == "stored":
        return
    enqueue_ack(
        conn,
        cp_id=cp_id,
        nsp_id=nsp_id,
        ref_message_id=original,
        stored_at=stored_at,
        state=HandlingState(state),
        note=None,
        item_id=item_id,
        at=utcnow(),
    )


def original_id(conn: Connection, message_id: str) -> str:
    """The gateway's own id for a stored message (differs only for a reconciled relay)."""
    found = conn.execute(
        sa.select(RELAYS.c.original_message_id).where(RELAYS.c.message_id == message_id)
    ).scalar()
    return found if isinstance(found, str) else message_id


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ChannelEvent:
    channel: str
    at: datetime
    by: str | None
    message_id: str


def history(conn: Connection, message_ids: list[str]) -> dict[str, list[ChannelEvent]]:
    """Channel history per stored message id (only relayed reports have one)."""
    out: dict[str, list[ChannelEvent]] = {}
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start : start + 500]
        for row in conn.execute(sa.select(RELAYS).where(RELAYS.c.message_id.in_(chunk))):
            out[row.message_id] = [
                ChannelEvent(
                    e["channel"], datetime.fromisoformat(e["at"]), e.get("by"), e["message_id"]
                )
                for e in row.history
            ]
    return out
