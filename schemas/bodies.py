"""Message bodies, one model per kind (see docs/DESIGN in shared/DESIGN.md, 'Message kinds')."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from schemas.common import (
    ID_PATTERN,
    MAX_INT32,
    ExerciseId,
    Location,
    LongText,
    NspId,
    OmitWhenNoneModel,
    ShortText,
    StrictModel,
    Text,
    Timestamp,
    Urgency,
)
from schemas.nspfunctions import GoodsLine

# --------------------------------------------------------------------------- upward


class HelpCategory(StrEnum):
    MEDICAL = "medical"
    FIRE = "fire"
    CRIME = "crime"
    VULNERABLE_PERSON = "vulnerable_person"
    MISSING_PERSON = "missing_person"
    OTHER = "other"


class HelpRequest(StrictModel):
    """Emergency help request (noodhulpmelding) made at the NSP when 112 cannot be reached."""

    category: HelpCategory
    urgency: Urgency = Field(description="P1 = life-threatening.")
    location: Location
    people_involved: int = Field(default=1, ge=1, le=10_000)
    vulnerable_people: int = Field(
        default=0, ge=0, le=10_000, description="Of people_involved: elderly, ill, children, ..."
    )
    description: LongText
    reporter_name: Text | None = Field(default=None, max_length=200)
    callback: Text | None = Field(
        default=None, max_length=200, description="How to reach the reporter (e.g. stays at NSP)."
    )

    @model_validator(mode="after")
    def _vulnerable_within_involved(self) -> HelpRequest:
        if self.vulnerable_people > self.people_involved:
            raise ValueError("vulnerable_people cannot exceed people_involved")
        return self


class SituationCategory(StrEnum):
    INFRASTRUCTURE = "infrastructure"
    POWER = "power"
    WATER = "water"
    HEALTH = "health"
    SAFETY = "safety"
    FIRE = "fire"
    PUBLIC_MOOD = "public_mood"
    RUMOUR = "rumour"
    INFORMATION_NEED = "information_need"
    OTHER = "other"


class Severity(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CRITICAL = "critical"


class SituationReport(StrictModel):
    """What residents see or need in the neighbourhood (beeldvorming)."""

    category: SituationCategory
    severity: Severity
    location: Location | None = Field(
        default=None, description="Omitted for area-wide signals such as rumours."
    )
    description: LongText
    observed_at: Timestamp | None = None
    people_affected: int | None = Field(default=None, ge=0, le=10_000_000)


class ResourceKind(StrEnum):
    FUEL = "fuel"
    WATER = "water"
    MEDICINE = "medicine"
    FOOD = "food"
    STAFF = "staff"
    EQUIPMENT = "equipment"
    OTHER = "other"


class ResourceRequest(StrictModel):
    """What the NSP itself needs to keep working."""

    resource: ResourceKind
    item: ShortText = Field(description="What exactly, e.g. 'diesel voor aggregaat'.")
    quantity: float = Field(gt=0, le=1_000_000)
    unit: Text = Field(min_length=1, max_length=30, examples=["liter", "dozen", "personen"])
    needed_by: Timestamp | None = None
    urgency: Urgency = Urgency.P3
    note: Text | None = Field(default=None, max_length=2000)


class NspState(StrEnum):
    OPEN = "open"
    LIMITED = "limited"
    CLOSED = "closed"


class PowerSource(StrEnum):
    GRID = "grid"
    GENERATOR = "generator"
    BATTERY = "battery"
    SOLAR = "solar"
    NONE = "none"


class NspFunction(StrEnum):
    INFORMATION = "information"
    HELP_REQUESTS = "help_requests"
    NEIGHBOURHOOD_SIGNALS = "neighbourhood_signals"
    CITIZEN_AID = "citizen_aid"
    GOODS_DISTRIBUTION = "goods_distribution"
    SHELTER_REFERRAL = "shelter_referral"


class LinkQuality(StrEnum):
    GOOD = "good"
    DEGRADED = "degraded"
    POOR = "poor"


class Status(StrictModel):
    """The NSP's own state; sent on change and as a periodic heartbeat."""

    state: NspState
    power_source: PowerSource
    power_hours_left: float | None = Field(
        default=None, ge=0, le=10_000, description="Estimated hours of power (fuel/battery)."
    )
    staff_present: int = Field(default=0, ge=0, le=10_000)
    volunteers_present: int = Field(default=0, ge=0, le=10_000)
    visitors_last_hour: int = Field(default=0, ge=0, le=1_000_000)
    functions: list[NspFunction] = Field(default_factory=list, max_length=20)
    link_quality: LinkQuality | None = None
    heartbeat: bool = Field(default=False, description="True when sent by the timer, not a change.")
    note: Text | None = Field(default=None, max_length=1000)


class Receipt(StrictModel):
    """The gateway confirms which bulletin version it has stored and shows."""

    bulletin_id: str = Field(pattern=ID_PATTERN)
    version: int = Field(ge=1, le=MAX_INT32)
    shown_at: Timestamp
    channel: Literal["radio", "runner", "sms", "usb"] | None = Field(
        default=None,
        description="How the NSP got the bulletin when not over the link (staff recorded "
        "'via portofoon ontvangen'); absent: over the link.",
    )


class TaskState(StrEnum):
    """What the NSP reports about a task."""

    RECEIVED = "received"  # stored at the gateway and shown to staff
    DONE = "done"  # staff marked it done
    REOPENED = "reopened"  # staff took 'done' back


class TaskUpdate(StrictModel):
    """The gateway tells the CP it has a task (revision), or that staff finished it."""

    task_id: str = Field(pattern=ID_PATTERN)
    revision: int = Field(ge=1, le=MAX_INT32, description="The task revision the gateway has.")
    state: TaskState
    at: Timestamp = Field(description="Gateway clock when it happened.")
    by: Text | None = Field(
        default=None, max_length=100, description="Who at the NSP (name or initials)."
    )
    note: Text | None = Field(default=None, max_length=1000)


# --------------------------------------------------------------------------- downward


class HandlingState(StrEnum):
    """Where a message stands at the CP, as told back to the NSP.

    ``closed_duplicate`` and ``closed_not_needed`` were added for CP triage (values are only
    ever added, never renamed): the volunteer can tell the resident *why* a request closed.
    ``received_not_processed`` is sent only for a message the CP keeps as a dead letter: it
    arrived (the gateway stops resending) but was not processed, and the CP looks into it.
    """

    STORED = "stored"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CLOSED_DUPLICATE = "closed_duplicate"
    CLOSED_NOT_NEEDED = "closed_not_needed"
    RECEIVED_NOT_PROCESSED = "received_not_processed"


class Ack(StrictModel):
    """The CP has stored a message, or the state of a request has changed."""

    ref_message_id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    ref_seq: int | None = Field(default=None, ge=1, le=2**62)
    state: HandlingState = HandlingState.STORED
    stored_at: Timestamp = Field(description="CP time at which the message was committed.")
    duplicate: bool = Field(default=False, description="True when the CP already had it.")
    note: Text | None = Field(default=None, max_length=1000)


class StoredAck(StrictModel):
    """One stored message in an ``AckBatch``: what a plain ``Ack`` with state ``stored`` says."""

    ref_message_id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    ref_seq: int = Field(ge=1, le=2**62)
    stored_at: Timestamp = Field(description="CP time at which the message was received.")
    duplicate: bool = Field(default=False, description="True when the CP already had it.")


class AckBatch(StrictModel):
    """The CP has stored these messages of one NSP, all committed in one transaction.

    Sent only to gateways that announce the capability ``ack_batch`` in their presence
    message; every other gateway (and every dead-letter or handling-state ack) gets one
    ``Ack`` per message, as before."""

    acks: list[StoredAck] = Field(min_length=1, max_length=10_000)


class BulletinText(StrictModel):
    """One language version of a bulletin (a CAP ``info`` block)."""

    language: str = Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$", examples=["nl", "en"])
    headline: ShortText
    text: LongText
    instruction: Text | None = Field(default=None, max_length=4000)
    area: Text | None = Field(
        default=None,
        max_length=1000,
        description="Where it applies, in words, e.g. 'Oss-Noord en Berghem'.",
    )
    sender_name: Text | None = Field(
        default=None,
        max_length=200,
        description="The authority residents should see as the source.",
        examples=["Veiligheidsregio Brabant-Noord"],
    )


class Bulletin(OmitWhenNoneModel):
    """Official public information to show and read out at NSPs. A new version supersedes.
    One made in an exercise carries its id (``exercise``) and is shown marked OEFENING."""

    OMIT_WHEN_NONE = ("exercise",)

    bulletin_id: str = Field(pattern=ID_PATTERN)
    version: int = Field(ge=1, le=MAX_INT32)
    withdrawn: bool = False
    urgency: Urgency = Urgency.P3
    valid_from: Timestamp
    valid_until: Timestamp | None = None
    target_nsps: list[NspId] | None = Field(default=None, description="None = every NSP of the CP.")
    texts: list[BulletinText] = Field(min_length=1, max_length=20)
    exercise: ExerciseId | None = Field(
        default=None, description="Made in this exercise (oefening); absent = real."
    )

    @model_validator(mode="after")
    def _dutch_required(self) -> Bulletin:
        if not any(t.language.startswith("nl") for t in self.texts):
            raise ValueError("a bulletin needs a Dutch ('nl') text")
        languages = [t.language.split("-")[0] for t in self.texts]
        doubled = sorted({lang for lang in languages if languages.count(lang) > 1})
        if doubled:
            raise ValueError(f"one text per language; more than one for: {', '.join(doubled)}")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class Task(OmitWhenNoneModel):
    """An instruction for NSP staff. A changed task (e.g. cancelled) gets a higher revision.
    One made in an exercise carries its id (``exercise``) and is shown marked OEFENING."""

    OMIT_WHEN_NONE = ("exercise",)

    task_id: str = Field(pattern=ID_PATTERN)
    revision: int = Field(
        default=1, ge=1, le=MAX_INT32, description="Raised by the CP on every change."
    )
    title: ShortText
    details: Text | None = Field(default=None, max_length=4000)
    due_at: Timestamp | None = None
    cancelled: bool = Field(default=False, description="The CP called the task off.")
    exercise: ExerciseId | None = Field(
        default=None, description="Made in this exercise (oefening); absent = real."
    )
    goods: list[GoodsLine] | None = Field(
        default=None,
        max_length=50,
        description="A delivery: the goods the NSP confirms into its stock ledger on receipt.",
    )
