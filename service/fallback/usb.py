"""USB-stick files at the CP: import a gateway's outbox, export what the gateway should get.

Invariants:

* Import checks the whole file first (``schemas.transfer.verify``: the NSP's key, the
  signature, direction, CP, every message valid and the NSP's own); a refused file stores
  nothing. A good file's messages go through the normal ingest path (the ingest worker,
  transport "file"), so the store dedups them by message id: the same stick imported twice,
  or messages that also came over MQTT, are counted once, and grouping, upstream forwarding
  and the NSP's sequence view see them like any other message.
* Export writes, signed for one NSP: an ack for each of its stored messages, its tasks (the
  exact task messages the CP keeps per NSP) and the bulletins in force for it (the exact
  published bytes). The gateway applies them like MQTT copies, so re-importing changes
  nothing.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas import Ack, AckMessage, new_message_id, utcnow
from schemas.transfer import TransferError, TransferFile, build, peek, verify
from service.bulletins.versions import current_versions, state_of
from service.fallback.models import RelayReport
from service.fallback.registry import key_for
from service.ingest import Incoming, IngestWorker
from service.models import Message
from service.store import StoreResult
from service.tasks.models import NspTaskTarget

IMPORT_TIMEOUT_SECONDS = 120
MAX_ACKS = 5000  # newest messages first; older ones the gateway has long had acked


@dataclass(frozen=True)
class ImportResult:
    nsp_id: str
    file_id: str
    messages: int
    stored: int  # new at the CP
    duplicates: int  # the CP had them already (MQTT, HTTP or an earlier import)


def _no_key(nsp_id: str) -> TransferError:
    return TransferError(
        "no_key",
        f"voor NSP '{nsp_id}' is geen overdrachtssleutel ingesteld (noodnet provision)",
        f"NSP '{nsp_id}' has no transfer key (noodnet provision)",
    )


def verify_upload(engine: Engine, cp_id: str, data: bytes, expect_nsp: str | None) -> TransferFile:
    """Check a gateway's file against the NSP's key; raises TransferError."""
    nsp_id = peek(data)["nsp_id"]
    if expect_nsp is not None and nsp_id != expect_nsp:
        raise TransferError(
            "other_nsp",
            f"dit bestand is van NSP '{nsp_id}', niet van '{expect_nsp}'",
            f"this file is from NSP '{nsp_id}', not '{expect_nsp}'",
        )
    with Session(engine) as session:
        key = key_for(session, nsp_id)
    if key is None:
        raise _no_key(nsp_id)
    return verify(data, key, direction="up", nsp_id=nsp_id, cp_id=cp_id)


def import_file(
    engine: Engine,
    worker: IngestWorker,
    cp_id: str,
    data: bytes,
    expect_nsp: str | None = None,
) -> ImportResult:
    """Verify, then submit every message to the ingest worker and wait until stored."""
    file = verify_upload(engine, cp_id, data, expect_nsp)
    futures: list[Future[StoreResult]] = []
    received_at = utcnow()
    for text in file.messages:
        fut: Future[StoreResult] = Future()
        worker.submit(
            Incoming(payload=text.encode(), received_at=received_at, transport="file", future=fut)
        )
        futures.append(fut)
    results = [f.result(timeout=IMPORT_TIMEOUT_SECONDS) for f in futures]
    stored = sum(r.new for r in results)
    return ImportResult(
        nsp_id=file.nsp_id,
        file_id=file.file_id,
        messages=len(results),
        stored=stored,
        duplicates=len(results) - stored,
    )


def export_file(engine: Engine, cp_id: str, nsp_id: str) -> tuple[bytes, dict[str, int]]:
    """The signed file for one NSP, and how many acks, tasks and bulletins it holds."""
    now = utcnow()
    with Session(engine) as session:
        key = key_for(session, nsp_id)
        if key is None:
            raise _no_key(nsp_id)
        rows = session.exec(
            select(Message)
            .where(Message.nsp_id == nsp_id)
            .order_by(col(Message.received_at).desc())
            .limit(MAX_ACKS)
        ).all()
        # A report relayed by radio is stored under the CP's id; the gateway knows its own.
        originals = {
            r.message_id: r.original_message_id
            for r in session.exec(select(RelayReport).where(RelayReport.nsp_id == nsp_id)).all()
        }
        acks = [
            AckMessage(
                message_id=new_message_id(),
                sent_at=now,
                cp_id=cp_id,
                nsp_id=nsp_id,
                body=Ack(
                    ref_message_id=originals.get(m.message_id) or m.message_id,
                    ref_seq=m.seq,
                    stored_at=m.received_at,
                ),
            ).model_dump_json()
            for m in reversed(rows)
            if originals.get(m.message_id, m.message_id) is not None
        ]
        tasks = [
            t.payload
            for t in session.exec(
                select(NspTaskTarget)
                .where(NspTaskTarget.nsp_id == nsp_id)
                .order_by(col(NspTaskTarget.id))
            ).all()
        ]
        bulletins = [
            v.payload
            for _, v in current_versions(session, now=now)
            if (v.target_nsps is None or nsp_id in v.target_nsps)
            and state_of(v, now) in ("active", "scheduled", "withdrawn")
        ]
    data = build("down", nsp_id, cp_id, [*bulletins, *tasks, *acks], key, created_at=now)
    return data, {"acks": len(acks), "tasks": len(tasks), "bulletins": len(bulletins)}
