"""Building blocks shared by every message kind: identifiers, locations, enums."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION: Final = 1

# NSP and CP ids appear in MQTT topics and broker usernames, so they are restricted to
# characters that are safe in both (no '/', '+', '#', spaces).
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"

NspId = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        description="Id of the noodsteunpunt (lowercase letters, digits, '-' and '_').",
        examples=["oss-de-lievekamp"],
    ),
]
CpId = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        description="Id of the coordination point (coördinatiepunt).",
        examples=["cp-oss"],
    ),
]
# ULID (Crockford base32, 26 chars): sortable by creation time and generated offline.
MessageId = Annotated[
    str,
    Field(
        pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$",
        description="ULID generated once at the gateway; identical on every retry.",
        examples=["01JD3Q7Z8X9K2M4N6P8R0S2T4V"],
    ),
]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]


class StrictModel(BaseModel):
    """Base for all wire models: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Urgency(StrEnum):
    """Urgency class, P1 (life-threatening) to P4 (information only)."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Location(StrictModel):
    """Where something is: a street address, WGS84 coordinates, or both."""

    address: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="Free-form Dutch address, e.g. 'Kerkstraat 12, Oss'.",
    )
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS84 latitude.")
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS84 longitude.")
    description: str | None = Field(
        default=None, max_length=300, description="Landmark or extra directions."
    )

    @model_validator(mode="after")
    def _address_or_coordinates(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        if self.address is None and self.lat is None:
            raise ValueError("a location needs an address, coordinates (lat and lon), or both")
        return self
