"""USB-stick files at the gateway: export the unacknowledged outbox, import what the CP sent.

Invariants:

* Export writes every outbox row the CP has not acknowledged, as the exact envelope text
  the MQTT link publishes (same message id), signed with this NSP's transfer key. It changes
  nothing in the outbox: a row stays pending until the CP's ack arrives, by MQTT or by a
  stick coming back, so a lost stick loses nothing.
* Import checks the whole file first (``schemas.transfer.verify``: this NSP's key, the
  signature, direction, CP, every message valid and for this NSP); a refused file changes
  nothing. A good file's acks, tasks and bulletins are applied exactly as their MQTT copies
  would be (``Outbox.apply_ack``, ``Inbox.store_task``/``store_bulletin``), which are
  idempotent: importing the same file twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.inbox import Inbox, StoreOutcome
from gateway.outbox import AckOutcome, Outbox
from schemas import AckMessage, BulletinMessage, TaskMessage
from schemas.transfer import TransferKey, build, parse_message, verify

PAGE = 500


def export_outbox(outbox: Outbox, cp_id: str, key: TransferKey) -> tuple[bytes, int]:
    """The signed file of all pending rows, and how many rows it holds."""
    envelopes: list[str] = []
    after = 0
    while True:
        page = outbox.pending(limit=PAGE, after_seq=after)
        if not page:
            break
        envelopes += [e.envelope for e in page]
        after = page[-1].seq
    return build("up", outbox.nsp_id, cp_id, envelopes, key), len(envelopes)


@dataclass
class ImportResult:
    file_id: str
    messages: int = 0
    applied: int = 0  # changed something here (a new ack state, task or bulletin version)
    unchanged: int = 0  # already known (an earlier import or the MQTT copy)
    unknown_acks: int = 0  # acks for messages this gateway does not have (e.g. reinstalled)


def import_file(
    outbox: Outbox, inbox: Inbox, cp_id: str, key: TransferKey, data: bytes
) -> ImportResult:
    """Verify, then apply every message; raises schemas.transfer.TransferError."""
    file = verify(data, key, direction="down", nsp_id=outbox.nsp_id, cp_id=cp_id)
    result = ImportResult(file_id=file.file_id, messages=len(file.messages))
    for i, text in enumerate(file.messages):
        message = parse_message(file, i, text)
        if isinstance(message, AckMessage):
            outcome = outbox.apply_ack(message)
            if outcome == AckOutcome.UNKNOWN:
                result.unknown_acks += 1
            elif outcome in (AckOutcome.STORED, AckOutcome.UPDATED):
                result.applied += 1
            else:
                result.unchanged += 1
            continue
        if isinstance(message, TaskMessage):
            new = inbox.store_task(message) == StoreOutcome.NEW
        else:
            assert isinstance(message, BulletinMessage)
            new = inbox.store_bulletin(message) == StoreOutcome.NEW
        if new:
            result.applied += 1
        else:
            result.unchanged += 1
    return result
