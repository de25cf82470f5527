"""A gateway credential speaks for one NSP only. A message for another NSP is refused (403)
and recorded: as a dead letter with the raw message (what was attempted) and as a security
event (who attempted it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from noodcore.httpguard import Identity
from schemas import utcnow
from service.auth.tokens import record_event
from service.models import DeadLetter


def foreign_nsp_reason(identity: Identity, message_nsp_id: str) -> str:
    return (
        f"nsp_id '{message_nsp_id}' does not match the authenticated identity "
        f"'{identity.name}' (gateway of NSP '{identity.nsp_id}')"
    )


def record_foreign_message(
    engine: Engine, identity: Identity, message_nsp_id: str, payload: bytes, max_bytes: int
) -> str:
    reason = foreign_nsp_reason(identity, message_nsp_id)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(DeadLetter),
            [
                {
                    "received_at": utcnow(),
                    "transport": "http",
                    "topic": None,
                    "nsp_id": identity.nsp_id,
                    "reason": reason,
                    "payload": payload[:max_bytes],
                    "payload_size": len(payload),
                    "truncated": len(payload) > max_bytes,
                }
            ],
        )
        record_event(
            conn,
            "nsp_mismatch",
            identity.name,
            reason,
            nsp_id=identity.nsp_id,
            data={"claimed_nsp_id": message_nsp_id, "token_id": identity.token_id},
        )
    return reason
