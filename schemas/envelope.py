"""The envelope every message travels in, and the parsing entry point for both sides.

Upward messages (gateway → CP) carry the NSP id and a per-NSP sequence number so the CP can
see gaps. Downward messages (CP → gateway) carry the CP id. The ``kind`` field selects the body
model (a pydantic discriminated union), so a wrong body for a kind fails with a precise path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter
from ulid import ULID

from schemas.bodies import (
    Ack,
    AckBatch,
    Bulletin,
    HelpRequest,
    Receipt,
    ResourceRequest,
    SituationReport,
    Status,
    Task,
    TaskUpdate,
)
from schemas.common import (
    SCHEMA_VERSION,
    CpId,
    ExerciseId,
    MessageId,
    NspId,
    OmitWhenNoneModel,
    StrictModel,
    Timestamp,
)
from schemas.facilities import FacilityDirectory, FacilityReceipt, FacilityReport
from schemas.nspfunctions import (
    Assignment,
    AssignmentUpdate,
    RationRules,
    StockEntry,
    VolunteerRoster,
)
from schemas.resend import ResendRequest

UP_KINDS = (
    "help_request",
    "situation_report",
    "resource_request",
    "status",
    "receipt",
    "task_update",
    "facility_report",
    "facility_receipt",
    "volunteer_roster",
    "assignment_update",
    "stock_entry",
)
DOWN_KINDS = (
    "ack",
    "ack_batch",
    "bulletin",
    "task",
    "resend",
    "facilities",
    "assignment",
    "ration_rules",
)

# What a gateway may announce in its presence message (``Presence.capabilities``).
CAPABILITY_ACK_BATCH = "ack_batch"


def new_message_id() -> str:
    """A new ULID; called exactly once per message, at the gateway (or CP for downward)."""
    return str(ULID())


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Envelope(StrictModel):
    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, description="Envelope version.")
    message_id: MessageId
    sent_at: Timestamp = Field(description="Sender's clock when the message was created.")


class _UpEnvelope(_Envelope, OmitWhenNoneModel):
    OMIT_WHEN_NONE = ("exercise",)

    nsp_id: NspId
    seq: int = Field(ge=1, le=2**62, description="Per-NSP sequence number, gap-free at source.")
    exercise: ExerciseId | None = Field(
        default=None,
        description="Set only on a message made in an exercise (oefening); absent on real "
        "messages, and left out of the JSON then, so older CPs still accept them.",
    )


class HelpRequestMessage(_UpEnvelope):
    kind: Literal["help_request"] = "help_request"
    body: HelpRequest


class SituationReportMessage(_UpEnvelope):
    kind: Literal["situation_report"] = "situation_report"
    body: SituationReport


class ResourceRequestMessage(_UpEnvelope):
    kind: Literal["resource_request"] = "resource_request"
    body: ResourceRequest


class StatusMessage(_UpEnvelope):
    kind: Literal["status"] = "status"
    body: Status


class ReceiptMessage(_UpEnvelope):
    kind: Literal["receipt"] = "receipt"
    body: Receipt


class TaskUpdateMessage(_UpEnvelope):
    kind: Literal["task_update"] = "task_update"
    body: TaskUpdate


class FacilityReportMessage(_UpEnvelope):
    kind: Literal["facility_report"] = "facility_report"
    body: FacilityReport


class FacilityReceiptMessage(_UpEnvelope):
    kind: Literal["facility_receipt"] = "facility_receipt"
    body: FacilityReceipt


class VolunteerRosterMessage(_UpEnvelope):
    kind: Literal["volunteer_roster"] = "volunteer_roster"
    body: VolunteerRoster


class AssignmentUpdateMessage(_UpEnvelope):
    kind: Literal["assignment_update"] = "assignment_update"
    body: AssignmentUpdate


class StockEntryMessage(_UpEnvelope):
    kind: Literal["stock_entry"] = "stock_entry"
    body: StockEntry


UpMessage = Annotated[
    HelpRequestMessage
    | SituationReportMessage
    | ResourceRequestMessage
    | StatusMessage
    | ReceiptMessage
    | TaskUpdateMessage
    | FacilityReportMessage
    | FacilityReceiptMessage
    | VolunteerRosterMessage
    | AssignmentUpdateMessage
    | StockEntryMessage,
    Field(discriminator="kind"),
]


class _DownEnvelope(_Envelope):
    cp_id: CpId


class AckMessage(_DownEnvelope):
    kind: Literal["ack"] = "ack"
    nsp_id: NspId
    body: Ack


class AckBatchMessage(_DownEnvelope):
    """Many stored-acks for one NSP in one message (only to gateways announcing it)."""

    kind: Literal["ack_batch"] = "ack_batch"
    nsp_id: NspId
    body: AckBatch


class BulletinMessage(_DownEnvelope):
    kind: Literal["bulletin"] = "bulletin"
    body: Bulletin


class TaskMessage(_DownEnvelope):
    kind: Literal["task"] = "task"
    nsp_id: NspId
    body: Task


class ResendMessage(_DownEnvelope):
    """The CP asks a gateway to send part of its sequence again (see schemas/resend.py)."""

    kind: Literal["resend"] = "resend"
    nsp_id: NspId
    body: ResendRequest


class FacilitiesMessage(_DownEnvelope):
    """One NSP's facility directory, retained on its own down topic (schemas/facilities.py)."""

    kind: Literal["facilities"] = "facilities"
    nsp_id: NspId
    body: FacilityDirectory


class AssignmentMessage(_DownEnvelope):
    kind: Literal["assignment"] = "assignment"
    nsp_id: NspId
    body: Assignment


class RationRulesMessage(_DownEnvelope):
    """Sent retained on the NSP's own down topic: a reconnecting gateway gets the current set."""

    kind: Literal["ration_rules"] = "ration_rules"
    nsp_id: NspId
    body: RationRules


DownMessage = Annotated[
    AckMessage
    | AckBatchMessage
    | BulletinMessage
    | TaskMessage
    | ResendMessage
    | FacilitiesMessage
    | AssignmentMessage
    | RationRulesMessage,
    Field(discriminator="kind"),
]


class Presence(StrictModel):
    """Retained on the NSP's status topic; the broker publishes ``online=False`` as last will."""

    schema_version: Literal[1] = SCHEMA_VERSION
    nsp_id: NspId
    online: bool
    since: Timestamp | None = Field(
        default=None, description="Gateway clock at connect (absent in the last will)."
    )
    capabilities: list[Literal["ack_batch"]] | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # so a last will reads as before to an older CP
        max_length=16,
        description="Protocol features this gateway understands beyond the first release "
        "('ack_batch': one AckBatch message per NSP and CP batch instead of one ack per "
        "message). Absent from older gateways, which get what they always got.",
    )


UP_ADAPTER: TypeAdapter[UpMessage] = TypeAdapter(UpMessage)
DOWN_ADAPTER: TypeAdapter[DownMessage] = TypeAdapter(DownMessage)

UP_MESSAGE_TYPES: dict[str, type[_UpEnvelope]] = {
    "help_request": HelpRequestMessage,
    "situation_report": SituationReportMessage,
    "resource_request": ResourceRequestMessage,
    "status": StatusMessage,
    "receipt": ReceiptMessage,
    "task_update": TaskUpdateMessage,
    "facility_report": FacilityReportMessage,
    "facility_receipt": FacilityReceiptMessage,
    "volunteer_roster": VolunteerRosterMessage,
    "assignment_update": AssignmentUpdateMessage,
    "stock_entry": StockEntryMessage,
}


def parse_up(data: bytes | str) -> UpMessage:
    """Parse and validate an upward message from JSON; raises pydantic.ValidationError."""
    return UP_ADAPTER.validate_json(data)


def parse_down(data: bytes | str) -> DownMessage:
    return DOWN_ADAPTER.validate_json(data)


def make_up(
    kind: str,
    nsp_id: str,
    seq: int,
    body: Any,
    sent_at: datetime | None = None,
    exercise: str | None = None,
) -> Any:
    """Build an upward envelope for ``kind``; ``body`` may be a model or a dict; ``exercise``
    marks it as made in that exercise (None: real)."""
    model = UP_MESSAGE_TYPES[kind]
    return model.model_validate(
        {
            "message_id": new_message_id(),
            "nsp_id": nsp_id,
            "seq": seq,
            "sent_at": sent_at or utcnow(),
            "kind": kind,
            "body": body,
            "exercise": exercise,
        }
    )
