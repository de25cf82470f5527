"""Message bodies of the NSP's extra functions: citizen aid (burgerhulp) and scarce goods
(verdeling). See docs/aid_goods.md and docs/avg.md.

Invariants, and why:

* Nothing here carries a volunteer's name, phone number or other contact detail. Those stay
  in the gateway's database (``gateway/aid.py``); upward go counts per skill and availability
  window (``volunteer_roster``) and, on an assignment, pseudonymous references
  (``VolunteerRef``: an HMAC of the gateway's local id with a secret that never leaves the
  gateway), so the CP can tell "the same two volunteers" without knowing who they are.
* Hand-outs carry no personal data either: a count of households and their size; the
  optional household code that stops double collection under a ration rule stays at the
  gateway.
* Every ledger change is one ``stock_entry`` with a gap-free per-NSP ``entry_no`` and the
  balance after it (``on_hand_after``): the CP rebuilds the same ledger from the entries
  (they travel through the durable outbox, exactly once in effect) and can see a missing one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from schemas.common import (
    MAX_INT32,
    Location,
    ShortText,
    StrictModel,
    Text,
    Timestamp,
)

ASSIGNMENT_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# 'v-' and 16 hex digits: the first 64 bits of HMAC-SHA256(gateway secret, local id).
VOLUNTEER_REF = r"^v-[0-9a-f]{16}$"
# An item code: lowercase, e.g. drinkwater, voedselpakket, dekens (labels live in the UIs).
ITEM_CODE = r"^[a-z0-9][a-z0-9_-]{0,39}$"
MAX_QUANTITY = 1_000_000

VolunteerRef = Annotated[str, Field(pattern=VOLUNTEER_REF, examples=["v-3f9a0c1d2e4b5a69"])]

# --------------------------------------------------------------------------- citizen aid


class Skill(StrEnum):
    """What a volunteer offers (labels: EHBO/BHV, zorg, techniek, vervoer, tolk/taal, ...)."""

    FIRST_AID = "first_aid"  # EHBO / BHV
    CARE = "care"  # zorg
    TECHNICAL = "technical"  # techniek
    TRANSPORT = "transport"  # vervoer
    INTERPRETER = "interpreter"  # tolk / taal
    CARRYING = "carrying"  # sjouwen
    COOKING = "cooking"  # koken


class Window(StrEnum):
    """A part of the day a volunteer can help (local time at the NSP)."""

    MORNING = "morning"  # 06-12
    AFTERNOON = "afternoon"  # 12-18
    EVENING = "evening"  # 18-24
    NIGHT = "night"  # 00-06


class SkillWindowCount(StrictModel):
    skill: Skill
    window: Window
    count: int = Field(ge=0, le=100_000)


class VolunteerRoster(StrictModel):
    """How many volunteers the NSP has, per skill and per availability window: counts only."""

    total: int = Field(ge=0, le=100_000)
    by_skill: dict[Skill, int] = Field(default_factory=dict)
    by_window: dict[Window, int] = Field(default_factory=dict)
    cells: list[SkillWindowCount] = Field(default_factory=list, max_length=28)
    at: Timestamp = Field(description="Gateway clock when the counts were taken.")

    @model_validator(mode="after")
    def _bounded(self) -> VolunteerRoster:
        for n in [*self.by_skill.values(), *self.by_window.values()]:
            if not 0 <= n <= self.total:
                raise ValueError("a count per skill or window lies between 0 and total")
        return self


class AssignmentState(StrEnum):
    """gevraagd → onderweg → klaar / lukt niet (and 'cancelled' when the CP calls it off)."""

    REQUESTED = "requested"  # gevraagd: at the NSP, volunteers being asked
    EN_ROUTE = "en_route"  # onderweg
    DONE = "done"  # klaar
    FAILED = "failed"  # lukt niet
    CANCELLED = "cancelled"  # ingetrokken


class Assignment(StrictModel):
    """CP → NSP: find volunteers for a job ("2 sjouwers naar Kerkstraat 12, 14:00")."""

    assignment_id: str = Field(pattern=ASSIGNMENT_ID)
    revision: int = Field(default=1, ge=1, le=MAX_INT32, description="Raised on every change.")
    title: ShortText
    skill: Skill | None = None
    count: int = Field(default=1, ge=1, le=50, description="How many volunteers.")
    location: Location | None = None
    due_at: Timestamp | None = None
    details: Text | None = Field(default=None, max_length=2000)
    ref_message_id: str | None = Field(
        default=None,
        pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$",
        description="The help request (or other report) this assignment answers.",
    )
    cancelled: bool = False


class AssignmentUpdate(StrictModel):
    """NSP → CP: where an assignment stands. Volunteers appear only as pseudonymous refs.

    An assignment staff made at the NSP itself (``origin`` nsp) carries its title, skill,
    count and location in its first update, so the CP learns it the same way."""

    assignment_id: str = Field(pattern=ASSIGNMENT_ID)
    revision: int = Field(ge=0, le=MAX_INT32, description="The CP revision the gateway has.")
    origin: str = Field(default="cp", pattern=r"^(cp|nsp)$")
    state: AssignmentState
    volunteer_refs: list[VolunteerRef] = Field(default_factory=list, max_length=50)
    at: Timestamp = Field(description="Gateway clock when it happened.")
    note: Text | None = Field(
        default=None, max_length=300, description="Why it failed; never a volunteer's name."
    )
    title: ShortText | None = None
    skill: Skill | None = None
    count: int | None = Field(default=None, ge=1, le=50)
    location: Location | None = None
    due_at: Timestamp | None = None
    ref_message_id: str | None = Field(default=None, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")

    @model_validator(mode="after")
    def _refs(self) -> AssignmentUpdate:
        if len(set(self.volunteer_refs)) != len(self.volunteer_refs):
            raise ValueError("volunteer_refs: each volunteer once")
        if self.origin == "nsp" and self.title is None:
            raise ValueError("an assignment made at the NSP needs its title")
        return self


# --------------------------------------------------------------------------- scarce goods


class EntryType(StrEnum):
    RECEIVED = "received"  # ontvangen
    HANDED_OUT = "handed_out"  # uitgedeeld
    TRANSFERRED = "transferred"  # overgedragen (to another NSP or organisation)
    WRITTEN_OFF = "written_off"  # afgeschreven (spoiled, lost, broken)


class StockEntry(StrictModel):
    """One change of the NSP's stock ledger. Hand-outs carry counts, never who."""

    entry_no: int = Field(ge=1, le=2**62, description="Per-NSP ledger number, gap-free.")
    item: str = Field(pattern=ITEM_CODE, max_length=40, examples=["drinkwater"])
    unit: Text = Field(min_length=1, max_length=30, examples=["liter", "pakket", "stuks"])
    type: EntryType
    quantity: float = Field(gt=0, le=MAX_QUANTITY)
    at: Timestamp = Field(description="Gateway clock when it was recorded.")
    by: Text | None = Field(
        default=None, max_length=100, description="Staff member who recorded it (initials)."
    )
    households: int | None = Field(default=None, ge=1, le=10_000, description="Hand-outs only.")
    household_size: int | None = Field(default=None, ge=1, le=30, description="Hand-outs only.")
    task_id: str | None = Field(
        default=None, pattern=ASSIGNMENT_ID, description="The delivery this receipt confirms."
    )
    counterpart: Text | None = Field(
        default=None, max_length=200, description="From or to whom (an organisation, an NSP)."
    )
    on_hand_after: float = Field(
        ge=0, le=MAX_QUANTITY * 1000, description="The ledger's balance of this item after it."
    )
    note: Text | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _handout_fields(self) -> StockEntry:
        if self.type != EntryType.HANDED_OUT and (
            self.households is not None or self.household_size is not None
        ):
            raise ValueError("households and household_size belong to hand-outs only")
        return self


class GoodsLine(StrictModel):
    """One item of a delivery (a task with goods)."""

    item: str = Field(pattern=ITEM_CODE, max_length=40)
    unit: Text = Field(min_length=1, max_length=30)
    quantity: float = Field(gt=0, le=MAX_QUANTITY)


class RationRule(StrictModel):
    """'max 6 l water per persoon per dag': enforced at the gateway per household code."""

    item: str = Field(pattern=ITEM_CODE, max_length=40)
    unit: Text = Field(min_length=1, max_length=30)
    max_per_person_per_day: float = Field(gt=0, le=MAX_QUANTITY)


class RationRules(StrictModel):
    """The CP's ration rules for this NSP; a higher version replaces the whole set."""

    version: int = Field(ge=1, le=MAX_INT32)
    rules: list[RationRule] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _one_per_item(self) -> RationRules:
        items = [r.item for r in self.rules]
        if len(set(items)) != len(items):
            raise ValueError("one rule per item")
        return self
