"""What an operator (or a CAP alert) hands in to publish a bulletin version.

``CapMeta`` keeps the CAP 1.2 fields that NSPs do not need on their screens (event, category,
CAP urgency/severity/certainty, area geometry, ...) so an exported alert says what the
imported one said.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from schemas import BulletinText, Urgency
from schemas.common import NspId, Timestamp


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CapCategory(StrEnum):
    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class CapResponseType(StrEnum):
    SHELTER = "Shelter"
    EVACUATE = "Evacuate"
    PREPARE = "Prepare"
    EXECUTE = "Execute"
    AVOID = "Avoid"
    MONITOR = "Monitor"
    ASSESS = "Assess"
    ALL_CLEAR = "AllClear"
    NONE = "None"


class CapUrgency(StrEnum):
    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class CapSeverity(StrEnum):
    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class CapCertainty(StrEnum):
    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


class CapValue(_Strict):
    """A CAP valueName/value pair (geocode, eventCode, parameter)."""

    value_name: str = Field(min_length=1, max_length=200)
    value: str = Field(max_length=2000)


class CapArea(_Strict):
    """A CAP area. Descriptions per language, because each CAP info block has its own."""

    descriptions: dict[str, str] = Field(
        min_length=1, description="Language → areaDesc, e.g. {'nl-NL': 'Oss-Noord'}."
    )
    polygons: list[str] = Field(default_factory=list, max_length=100)
    circles: list[str] = Field(default_factory=list, max_length=100)
    geocodes: list[CapValue] = Field(default_factory=list, max_length=500)
    altitude: float | None = None
    ceiling: float | None = None

    @field_validator("polygons")
    @classmethod
    def _closed_polygons(cls, polygons: list[str]) -> list[str]:
        for p in polygons:
            points = p.split()
            if len(points) < 4 or points[0] != points[-1]:
                raise ValueError(
                    "a polygon needs at least 4 'lat,lon' points and must end where it starts"
                )
        return polygons

    def description(self, language: str) -> str:
        base = language.split("-")[0]
        for lang, text in self.descriptions.items():
            if lang == language or lang.split("-")[0] == base:
                return text
        for lang, text in self.descriptions.items():
            if lang.startswith("nl"):
                return text
        return next(iter(self.descriptions.values()))


class CapInfoExtra(_Strict):
    """Per-language CAP fields besides headline, description, instruction and senderName."""

    event: str | None = Field(default=None, max_length=500)
    audience: str | None = Field(default=None, max_length=500)
    web: str | None = Field(default=None, max_length=2000)
    contact: str | None = Field(default=None, max_length=500)
    language_tag: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$",  # xs:language, as CAP requires
        description="The info block's own <language> when it is not the code NSPs show, "
        "e.g. 'nl-Latn-NL' shown as 'nl'; exported as it came.",
    )
    # None: the same as the Dutch block's (CapMeta); a list: this language's own.
    parameters: list[CapValue] | None = Field(default=None, max_length=100)
    event_codes: list[CapValue] | None = Field(default=None, max_length=50)
    areas: list[CapArea] | None = Field(default=None, max_length=100)


class CapMeta(_Strict):
    """CAP 1.2 fields of a bulletin that NSPs do not need (all optional for native bulletins)."""

    sent: AwareDatetime | None = Field(default=None, description="<sent> of an imported alert.")
    source: str | None = Field(default=None, max_length=500)
    codes: list[str] = Field(default_factory=list, max_length=50)
    note: str | None = Field(default=None, max_length=4000)
    incidents: str | None = Field(default=None, max_length=2000)

    categories: list[CapCategory] = Field(default_factory=list, max_length=12)
    response_types: list[CapResponseType] = Field(default_factory=list, max_length=9)
    urgency: CapUrgency | None = None
    severity: CapSeverity | None = None
    certainty: CapCertainty | None = None
    onset: Timestamp | None = None
    event_codes: list[CapValue] = Field(default_factory=list, max_length=50)
    parameters: list[CapValue] = Field(default_factory=list, max_length=100)
    areas: list[CapArea] = Field(default_factory=list, max_length=100)
    info: dict[str, CapInfoExtra] = Field(
        default_factory=dict, description="Language → per-language CAP fields."
    )
    unshown_infos: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="info blocks NSPs do not show (a language without a two-letter code, or a "
        "second block in one language), as CAP XML; exported again as they came.",
    )

    @field_validator("unshown_infos")
    @classmethod
    def _cap_info_blocks(cls, blocks: list[str]) -> list[str]:
        # Exported as they are, so each must keep an export schema-valid.
        from service.bulletins.cap import info_block_problems  # cap imports this module

        for n, block in enumerate(blocks, start=1):
            problems = info_block_problems(block)
            if problems:
                raise ValueError(f"block {n} is not a CAP 1.2 info block: {problems[0]}")
        return blocks

    def extra(self, language: str) -> CapInfoExtra:
        return self.info.get(language) or self.info.get(language.split("-")[0]) or CapInfoExtra()


class BulletinDraft(_Strict):
    """The content of one bulletin version, as an operator sends it."""

    urgency: Urgency = Field(default=Urgency.P3, description="P1 = life-threatening.")
    valid_from: Timestamp | None = Field(default=None, description="Default: now.")
    valid_until: Timestamp | None = Field(
        default=None, description="After this it is no longer shown. Default: until withdrawn."
    )
    target_nsps: list[NspId] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="NSP ids; leave out for every NSP of the CP.",
    )
    texts: list[BulletinText] = Field(
        min_length=1, max_length=20, description="One per language; Dutch ('nl') is required."
    )
    cap: CapMeta | None = Field(default=None, description="Optional CAP 1.2 details for export.")
    note: str | None = Field(
        default=None, max_length=1000, description="Why this version, for the audit trail."
    )

    @field_validator("target_nsps")
    @classmethod
    def _unique_targets(cls, nsps: list[str] | None) -> list[str] | None:
        if nsps is None:
            return None
        return sorted(set(nsps))


class NewVersion(BulletinDraft):
    expected_version: int | None = Field(
        default=None,
        ge=1,
        description="The version this one replaces; 409 when someone else published meanwhile.",
    )


class NewBulletin(BulletinDraft):
    bulletin_id: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="Optional readable id, e.g. 'water-oss-noord'; generated when left out.",
    )
    exercise: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="Publish it in this open exercise (oefening): NSPs show it marked "
        "OEFENING OEFENING OEFENING. Leave out for real public information.",
    )


class Withdrawal(_Strict):
    note: str | None = Field(default=None, max_length=1000, description="Why it is withdrawn.")
    expected_version: int | None = Field(default=None, ge=1)
