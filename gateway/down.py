"""Validate and dispatch messages the CP sends down; transport-free so it is easy to test.

A message that is not valid for this gateway (bad JSON, wrong schema, another NSP's id, a
body that does not match its topic) is kept as a dead letter with the reason and counted; it
never raises into the MQTT client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum

from pydantic import ValidationError

from gateway.aid import AidStore
from gateway.facilities import FacilityStore
from gateway.goods import GoodsStore
from gateway.inbox import Inbox, StoreOutcome
from gateway.outbox import AckOutcome, Outbox
from gateway.resend import requeue
from schemas import (
    AckBatchMessage,
    AckMessage,
    AssignmentMessage,
    BulletinMessage,
    FacilitiesMessage,
    RationRulesMessage,
    TaskMessage,
    parse_down,
    topics,
)
from schemas.envelope import ResendMessage

log = logging.getLogger(__name__)


class DownOutcome(StrEnum):
    APPLIED = "applied"  # stored or changed something
    IGNORED = "ignored"  # valid, but nothing new (redelivery, old version, cleared retain)
    REJECTED = "rejected"  # invalid: dead-lettered


class DownHandler:
    def __init__(
        self,
        cp_id: str,
        nsp_id: str,
        outbox: Outbox,
        inbox: Inbox,
        facilities: FacilityStore | None = None,
        aid: AidStore | None = None,
        goods: GoodsStore | None = None,
    ) -> None:
        self.cp_id = cp_id
        self.aid = aid or AidStore(outbox)
        self.goods = goods or GoodsStore(outbox)
        self.nsp_id = nsp_id
        self.outbox = outbox
        self.inbox = inbox
        self.facilities = facilities or FacilityStore(outbox)
        self._lock = threading.Lock()
        self.rejected_count = 0
        # Set by the runtime: the publisher's rescan, after a CP resend request re-queued rows.
        self.on_requeue: Callable[[], None] | None = None
        # Set by the runtime: the publisher's flow control, told which rows the CP acked.
        self.on_acked: Callable[[list[str]], None] | None = None

    def _acked(self, message_ids: list[str]) -> None:
        if self.on_acked is not None:
            self.on_acked(message_ids)

    def handle(self, topic: str, payload: bytes) -> DownOutcome:
        """Process one downward message. Database errors propagate (the caller must not ack)."""
        parsed = topics.parse(topic)
        if parsed is None or parsed.cp_id != self.cp_id:
            return self._reject(topic, payload, "not a topic of this gateway's CP")
        if parsed.type == "bulletin" and not payload:
            # An empty retained message is how a CP clears a bulletin topic on the broker.
            return DownOutcome.IGNORED
        if parsed.type not in ("down", "bulletin") or (
            parsed.type == "down" and parsed.nsp_id != self.nsp_id
        ):
            return self._reject(topic, payload, "not a downward topic of this NSP")
        try:
            message = parse_down(payload)
        except ValidationError as exc:
            return self._reject(topic, payload, _describe(exc))
        if message.cp_id != self.cp_id:
            return self._reject(topic, payload, f"cp_id {message.cp_id!r} is not {self.cp_id!r}")
        if parsed.type == "down" and parsed.kind != message.kind:
            return self._reject(topic, payload, f"a {message.kind!r} on a {parsed.kind!r} topic")

        if isinstance(message, BulletinMessage):
            if parsed.type != "bulletin" or parsed.bulletin_id != message.body.bulletin_id:
                return self._reject(topic, payload, "bulletin_id does not match the topic")
            outcome = self.inbox.store_bulletin(message)
            return DownOutcome.APPLIED if outcome == StoreOutcome.NEW else DownOutcome.IGNORED
        if message.nsp_id != self.nsp_id:
            return self._reject(topic, payload, f"nsp_id {message.nsp_id!r} is not this NSP")
        if isinstance(message, AckMessage):
            ack_outcome = self.outbox.apply_ack(message)
            self._acked([message.body.ref_message_id])
            if ack_outcome == AckOutcome.UNKNOWN:
                return self._reject(topic, payload, "ack for a message this gateway never sent")
            changed = ack_outcome in (AckOutcome.STORED, AckOutcome.UPDATED)
            return DownOutcome.APPLIED if changed else DownOutcome.IGNORED
        if isinstance(message, FacilitiesMessage):
            # Retained on this NSP's down topic: every reconnect brings it again.
            stored = self.facilities.store(message)
            return DownOutcome.APPLIED if stored == StoreOutcome.NEW else DownOutcome.IGNORED
        if isinstance(message, AckBatchMessage):
            outcomes = self.outbox.apply_ack_batch(message)
            self._acked([a.ref_message_id for a in message.body.acks])
            unknown = sum(o == AckOutcome.UNKNOWN for o in outcomes)
            if unknown == len(outcomes):
                return self._reject(
                    topic, payload, "ack batch for messages this gateway never sent"
                )
            if unknown:
                log.warning(
                    "ack batch %s: %d acks for unknown messages", message.message_id, unknown
                )
            changed = any(o in (AckOutcome.STORED, AckOutcome.UPDATED) for o in outcomes)
            return DownOutcome.APPLIED if changed else DownOutcome.IGNORED
        if isinstance(message, ResendMessage):
            requeued = requeue(self.outbox, message)
            if requeued and self.on_requeue is not None:
                self.on_requeue()
            return DownOutcome.APPLIED if requeued else DownOutcome.IGNORED
        if isinstance(message, AssignmentMessage):
            stored = self.aid.store_assignment(message)
            return DownOutcome.APPLIED if stored == StoreOutcome.NEW else DownOutcome.IGNORED
        if isinstance(message, RationRulesMessage):
            stored = self.goods.store_rules(message)
            return DownOutcome.APPLIED if stored == StoreOutcome.NEW else DownOutcome.IGNORED
        assert isinstance(message, TaskMessage)
        task_outcome = self.inbox.store_task(message)
        return DownOutcome.APPLIED if task_outcome == StoreOutcome.NEW else DownOutcome.IGNORED

    def _reject(self, topic: str, payload: bytes, reason: str) -> DownOutcome:
        with self._lock:
            self.rejected_count += 1
        log.error("rejected downward message on %s: %s", topic, reason)
        self.inbox.add_dead_letter(topic, payload, reason)
        return DownOutcome.REJECTED


def _describe(exc: ValidationError, limit: int = 5) -> str:
    """A short, specific reason: the failing field paths and messages."""
    parts = []
    for err in exc.errors(include_url=False)[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(message)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "invalid message: " + "; ".join(parts)
