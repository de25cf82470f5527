"""What a CP sends up to the regional crisis organisation (and a region to a national level).

Two kinds travel upward over HTTP, each in an envelope with an idempotency key that stays the
same on every retry and every relay:

- ``summary``: the CP's current picture (NSPs, power, open requests, needs, questions, gaps),
  versioned with a per-CP sequence number;
- ``p1_item``: one life-threatening (P1) report, forwarded at once with the original upward
  message verbatim.

The summary is split into ``SummaryContent`` (the sections) and ``Summary`` (content plus
identity), so a live picture built on request has the same shape as a stored summary.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from schemas.bodies import (
    HelpCategory,
    LinkQuality,
    NspState,
    PowerSource,
    ResourceKind,
    Severity,
)
from schemas.common import (
    EXERCISE_MARK,
    SCHEMA_VERSION,
    CpId,
    ExerciseId,
    Location,
    MessageId,
    NspId,
    OmitWhenNoneModel,
    ShortText,
    StrictModel,
    Urgency,
)
from schemas.envelope import HelpRequestMessage, ResourceRequestMessage
from schemas.facilities import FacilityState, FacilityType

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9:._/-]{0,199}$"

IdempotencyKey = Annotated[
    str,
    Field(
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Identical on every retry and relay; the receiver stores a key once.",
        examples=["cp-oss:p1:01JD3Q7Z8X9K2M4N6P8R0S2T4V"],
    ),
]


class Liveness(StrEnum):
    """How the CP last heard of an NSP."""

    ONLINE = "online"
    OFFLINE = "offline"  # the gateway's last will (or a clean stop) said so
    SILENT = "silent"  # nothing heard for longer than the CP's silence threshold
    UNKNOWN = "unknown"  # registered, never heard from


class SummaryTrigger(StrEnum):
    """Why a summary was produced."""

    STARTUP = "startup"
    SCHEDULE = "schedule"
    MANUAL = "manual"
    NEW_P1 = "new_p1"  # also: an operator reopened a P1 item
    P1_CLOSED = "p1_closed"  # an operator resolved or closed a P1 item: it left the open work
    NSP_SILENT = "nsp_silent"
    NSP_OFFLINE = "nsp_offline"
    NSP_ONLINE = "nsp_online"
    NSP_STATE = "nsp_state"
    LOW_POWER = "low_power"


class NspSnapshot(StrictModel):
    """One NSP as the CP sees it at summary time."""

    nsp_id: NspId
    name: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    liveness: Liveness
    last_seen: AwareDatetime | None = None
    silent_for_seconds: float | None = Field(
        default=None, description="Seconds since the CP last heard anything from the NSP."
    )
    state: NspState | None = Field(default=None, description="From the last status; None = none.")
    power_source: PowerSource | None = None
    power_hours_left: float | None = None
    low_power: bool = Field(
        default=False, description="Not on grid and fewer hours left than the CP's threshold."
    )
    link_quality: LinkQuality | None = None
    staff_present: int | None = None
    volunteers_present: int | None = None
    visitors_last_hour: int | None = None
    last_status_at: AwareDatetime | None = None
    message_count: int = Field(ge=0)
    contiguous_seq: int = Field(ge=0, description="Every message up to this seq has arrived.")
    missing_count: int = Field(ge=0, description="Messages known to be missing (seq gaps).")
    gaps: list[tuple[int, int]] = Field(
        default_factory=list, description="Newest missing ranges (inclusive), at most 20."
    )


class NspCounts(StrictModel):
    total: int = 0
    open: int = 0
    limited: int = 0
    closed: int = 0
    no_status: int = Field(default=0, description="Never sent a status.")
    online: int = 0
    offline: int = 0
    silent: int = 0
    unknown: int = 0
    low_power: int = 0


class UrgencyCategoryCount(StrictModel):
    urgency: Urgency
    category: str = Field(max_length=40)
    count: int = Field(ge=0)


class HelpRequestStats(StrictModel):
    """Open help requests. Until operators can close requests, every one counts as open."""

    open_total: int = 0
    by_urgency: dict[Urgency, int] = Field(default_factory=dict)
    by_category: dict[HelpCategory, int] = Field(default_factory=dict)
    by_urgency_and_category: list[UrgencyCategoryCount] = Field(default_factory=list)


class OpenItem(OmitWhenNoneModel):
    """One open help or resource request, with why it stands where it stands. One made in an
    exercise carries ``exercise`` and its text starts with OEFENING OEFENING OEFENING."""

    OMIT_WHEN_NONE = ("exercise",)

    message_id: MessageId
    nsp_id: NspId
    kind: Literal["help_request", "resource_request"]
    urgency: Urgency
    category: str = Field(max_length=40, description="Help category or resource kind.")
    text: str = Field(max_length=300, description="Start of the description or item.")
    location: Location | None = None
    people_involved: int | None = None
    vulnerable_people: int | None = None
    received_at: AwareDatetime
    waiting_seconds: float
    reason: str = Field(
        max_length=300, description="Why it is where it is, e.g. 'P1 medical; 2 vulnerable'."
    )
    exercise: ExerciseId | None = Field(default=None, description="Absent = real.")


class ResourceNeed(StrictModel):
    message_id: MessageId
    nsp_id: NspId
    resource: ResourceKind
    item: str = Field(max_length=200)
    quantity: float
    unit: str = Field(max_length=30)
    urgency: Urgency
    needed_by: AwareDatetime | None = None
    received_at: AwareDatetime
    note: str | None = Field(default=None, max_length=300)


class TopicCount(StrictModel):
    """A question or rumour, grouped by its normalised text, with how often it came in."""

    text: str = Field(max_length=300)
    count: int = Field(ge=1)
    nsp_ids: list[NspId]
    max_severity: Severity
    last_at: AwareDatetime


class BulletinReachItem(StrictModel):
    bulletin_id: str = Field(max_length=63)
    version: int = Field(ge=1)
    targeted: int = Field(ge=0, description="NSPs the version is addressed to.")
    confirmed: int = Field(ge=0, description="NSPs that sent a receipt for this version.")
    missing_nsp_ids: list[NspId] = Field(default_factory=list)


class BulletinReach(StrictModel):
    bulletins: list[BulletinReachItem] = Field(default_factory=list)


class FacilityItem(StrictModel):
    """One facility of the CP's directory and its current state (schemas/facilities.py)."""

    facility_id: str = Field(max_length=63)
    type: FacilityType
    name: str = Field(max_length=200)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    capacity: int | None = None
    state: FacilityState
    state_note: str | None = Field(default=None, max_length=300)
    state_since: AwareDatetime


class FacilityRollup(StrictModel):
    """Where residents can go in the CP's area: every facility with its state, counts, the
    observations still awaiting an operator, and how many NSPs show the newest directory."""

    total: int = 0
    by_state: dict[FacilityState, int] = Field(default_factory=dict)
    by_type: dict[FacilityType, dict[FacilityState, int]] = Field(default_factory=dict)
    items: list[FacilityItem] = Field(default_factory=list, max_length=500)
    pending_observations: int = 0
    nsps_current: int = Field(default=0, description="NSPs that confirmed their newest version.")
    nsps_targeted: int = 0


class MessageTotals(StrictModel):
    by_kind: dict[str, int] = Field(default_factory=dict)
    dead_letters: int = 0


class ExerciseSection(StrictModel):
    """What an open exercise (oefening) has made, apart from the real picture: every count
    and item outside this section is real data only."""

    exercise_id: ExerciseId
    name: ShortText
    mark: Literal["OEFENING OEFENING OEFENING"] = EXERCISE_MARK
    help_requests: HelpRequestStats
    open_items: list[OpenItem] = Field(default_factory=list)
    open_items_total: int = 0
    resource_needs: list[ResourceNeed] = Field(default_factory=list)


class GoodsItemStock(StrictModel):
    """One item's stock across the CP's NSPs (scarce goods, service/goods)."""

    item: str = Field(max_length=40)
    unit: str = Field(max_length=30)
    on_hand: float = Field(ge=0)
    rate_per_day: float = Field(ge=0, description="Handed out per day at the current rate.")
    need: float = Field(ge=0, description="What 3 days at this rate need beyond the stock.")
    days_left: float | None = Field(default=None, ge=0, description="None: nothing handed out.")
    nsps: int = Field(ge=0)
    nsps_low: list[NspId] = Field(default_factory=list, description="NSPs with a warning.")


class CitizenAid(StrictModel):
    """Volunteers and help jobs across the CP's NSPs: counts only, no personal data."""

    volunteers: int = Field(ge=0)
    by_skill: dict[str, int] = Field(default_factory=dict)
    by_window: dict[str, int] = Field(default_factory=dict)
    assignments_open: int = Field(ge=0)
    assignments_by_state: dict[str, int] = Field(default_factory=dict)


class SummaryContent(OmitWhenNoneModel):
    """The sections of a CP summary (see service/upstream/summary.py, one function each).
    Exercise data is only in ``exercises`` (left out of the JSON when there is none)."""

    OMIT_WHEN_NONE = ("exercises",)

    nsp_counts: NspCounts
    nsps: list[NspSnapshot]
    help_requests: HelpRequestStats
    oldest_open_item: OpenItem | None = None
    open_items: list[OpenItem] = Field(
        default_factory=list, description="Most urgent, then longest waiting; capped."
    )
    open_items_total: int = 0
    resource_needs: list[ResourceNeed] = Field(default_factory=list)
    information_needs: list[TopicCount] = Field(default_factory=list)
    rumours: list[TopicCount] = Field(default_factory=list)
    bulletin_reach: BulletinReach | None = Field(
        default=None, description="None where the CP does not (yet) track bulletin receipts."
    )
    messages: MessageTotals
    exercises: list[ExerciseSection] = Field(
        default_factory=list, description="Open exercises, each marked OEFENING; never mixed."
    )
    facilities: FacilityRollup | None = Field(
        default=None, description="None from a CP without the facilities feature."
    )
    goods: list[GoodsItemStock] = Field(default_factory=list, description="Stock per item.")
    citizen_aid: CitizenAid | None = Field(
        default=None, description="None where no NSP reported volunteers or help jobs."
    )


class Summary(SummaryContent):
    """A versioned CP summary."""

    cp_id: CpId
    instance_id: MessageId = Field(
        description="Id of the CP's database; a new one means seq restarted (database reset)."
    )
    summary_id: MessageId
    seq: int = Field(ge=1, description="Per-CP summary number, increasing by one.")
    produced_at: AwareDatetime
    triggers: list[SummaryTrigger] = Field(min_length=1)


class NspRef(StrictModel):
    nsp_id: NspId
    name: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class UrgentItem(OmitWhenNoneModel):
    """A P1 report, forwarded at once: the NSP's message verbatim plus what the CP knows.
    A P1 made in an exercise carries ``exercise`` and ``mark`` (OEFENING OEFENING OEFENING);
    a real one carries neither."""

    OMIT_WHEN_NONE = ("exercise", "mark")

    cp_id: CpId
    received_at: AwareDatetime = Field(description="When the CP stored the message.")
    nsp: NspRef
    message: Annotated[HelpRequestMessage | ResourceRequestMessage, Field(discriminator="kind")]
    exercise: ExerciseId | None = None
    mark: Literal["OEFENING OEFENING OEFENING"] | None = None


class _UpstreamEnvelope(StrictModel):
    schema_version: Literal[1] = SCHEMA_VERSION
    idempotency_key: IdempotencyKey
    origin_cp_id: CpId = Field(description="The CP the item comes from (unchanged on relay).")
    created_at: AwareDatetime


class SummaryUpstream(_UpstreamEnvelope):
    kind: Literal["summary"] = "summary"
    body: Summary


class UrgentItemUpstream(_UpstreamEnvelope):
    kind: Literal["p1_item"] = "p1_item"
    body: UrgentItem


UpstreamItem = Annotated[SummaryUpstream | UrgentItemUpstream, Field(discriminator="kind")]
UPSTREAM_ADAPTER: TypeAdapter[UpstreamItem] = TypeAdapter(UpstreamItem)
