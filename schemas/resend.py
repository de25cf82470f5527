"""``resend``: the CP asks one gateway to send a range of its sequence numbers again.

Why: a gateway forgets nothing, but it stops sending a report once the CP acknowledged it. If
the CP then loses what it had stored (a database restored from a backup older than the last
acks), the per-NSP sequence shows the hole as a gap, and this request lets the gateway fill it:
it re-queues its rows in the range and sends the same envelopes (same message ids) again, which
the CP stores once. A gateway that no longer has a row simply cannot send it; nothing else
changes, so a repeated or stale request is harmless.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from schemas.common import ShortText, StrictModel

MAX_RANGE = 100_000


class ResendRequest(StrictModel):
    from_seq: int = Field(ge=1, le=2**62, description="First missing sequence number.")
    to_seq: int = Field(ge=1, le=2**62, description="Last missing sequence number (inclusive).")
    reason: ShortText = Field(default="gap", examples=["gap after restore"])

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.to_seq < self.from_seq:
            raise ValueError("to_seq must not be below from_seq")
        if self.to_seq - self.from_seq >= MAX_RANGE:
            raise ValueError(f"at most {MAX_RANGE} sequence numbers per request")
        return self
