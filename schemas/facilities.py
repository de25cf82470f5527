"""Facilities ("voorzieningen"): where residents can go — shelter, warming points, water,
charging, doctor, pharmacy, open shops, toilets — and what NSPs see of them there.

Down: one ``facilities`` message per NSP, retained on that NSP's own down topic
(``noodnet/v1/{cp}/nsp/{nsp}/down/facilities``): the whole directory the CP targets at that
NSP, with a per-NSP ``version`` that grows whenever its content changes. Retained and whole
(not a diff) because a gateway that was offline during any number of changes must show the
latest state the moment it reconnects, and an older version never replaces a newer one.

Up: ``facility_receipt`` confirms which directory version a gateway stores and shows (reach),
``facility_report`` is what NSP staff observe ("opvang Sporthal vol", "tappunt Walplein
droog"); the CP turns it into a state change only after an operator reviewed it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from schemas.common import (
    ID_PATTERN,
    MAX_INT32,
    Location,
    ShortText,
    StrictModel,
    Text,
    Timestamp,
)

MAX_FACILITIES = 500  # per NSP directory: a few dozen in practice; the bound keeps it one message


class FacilityType(StrEnum):
    SHELTER = "shelter"  # opvang
    WARMING_POINT = "warming_point"  # warmtepunt
    WATER_POINT = "water_point"  # tappunt
    CHARGING_POINT = "charging_point"  # oplaadpunt
    DOCTOR = "doctor"  # huisarts / huisartsenpost
    PHARMACY = "pharmacy"  # apotheek
    SUPERMARKET = "supermarket"  # open supermarkt
    SANITATION = "sanitation"  # sanitair (toiletten, douches)


class FacilityState(StrEnum):
    OPEN = "open"
    FULL = "full"  # vol: open, but takes nobody more (or has run out)
    CLOSED = "closed"  # dicht


class Facility(StrictModel):
    """One facility as an NSP shows it to residents."""

    facility_id: str = Field(pattern=ID_PATTERN)
    type: FacilityType
    name: ShortText
    location: Location
    opening_hours: Text | None = Field(
        default=None, max_length=300, examples=["dag en nacht", "ma-za 09:00-17:00"]
    )
    capacity: int | None = Field(default=None, ge=0, le=1_000_000, description="People.")
    state: FacilityState
    state_note: Text | None = Field(
        default=None, max_length=300, description="Why, in words residents read: 'geen water'."
    )
    state_since: Timestamp = Field(description="CP time of the last state change.")
    note: Text | None = Field(default=None, max_length=1000, description="E.g. 'neem ID mee'.")


class FacilityDirectory(StrictModel):
    """Every facility the CP targets at one NSP; a higher version supersedes a lower one."""

    version: int = Field(ge=1, le=MAX_INT32, description="Per NSP; grows on every change.")
    published_at: Timestamp
    nsp_lat: float | None = Field(
        default=None, ge=-90, le=90, description="The NSP's position as registered at the CP."
    )
    nsp_lon: float | None = Field(default=None, ge=-180, le=180)
    facilities: list[Facility] = Field(default_factory=list, max_length=MAX_FACILITIES)

    @model_validator(mode="after")
    def _consistent(self) -> FacilityDirectory:
        if (self.nsp_lat is None) != (self.nsp_lon is None):
            raise ValueError("nsp_lat and nsp_lon must be given together")
        ids = [f.facility_id for f in self.facilities]
        doubled = sorted({i for i in ids if ids.count(i) > 1})
        if doubled:
            raise ValueError(f"facility_id listed more than once: {', '.join(doubled)}")
        return self


class FacilityReceipt(StrictModel):
    """The gateway stores and shows this version of its facility directory."""

    version: int = Field(ge=1, le=MAX_INT32)
    shown_at: Timestamp


class FacilityReport(StrictModel):
    """What NSP staff saw or heard of a facility; a proposal the CP reviews."""

    facility_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="From the directory; None: not listed."
    )
    facility_name: ShortText = Field(description="As staff know it, e.g. 'Sporthal De Rusheuvel'.")
    observed_state: FacilityState
    note: Text | None = Field(default=None, max_length=1000, examples=["tappunt droog"])
    observed_at: Timestamp
    by: Text | None = Field(default=None, max_length=100, description="Staff name or initials.")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two WGS84 points (equirectangular: exact enough within a region, and
    cheap); the CP uses it to target by radius, the gateway's board to sort by nearness."""
    import math

    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000 * math.hypot(x, y)
