"""Building blocks shared by every message kind: identifiers, locations, enums."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

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
# An exercise (oefening): everything made in it carries its id; a message without one is real.
ExerciseId = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        description="Id of the exercise (oefening) this message belongs to. Absent = real: "
        "a real message never carries it (see docs/exercise.md).",
        examples=["oef-2026-12-stroom"],
    ),
]
# The Dutch convention at the start of every written or radio message made in an exercise.
EXERCISE_MARK: Final = "OEFENING OEFENING OEFENING"
# What a surface prints next to a real item shown beside exercise data.
REAL_MARK: Final = "ECHT — GEEN OEFENING"

# What the databases store: INTEGER columns are 32-bit signed on PostgreSQL.
MAX_INT32: Final = 2**31 - 1

# Timestamps must convert to UTC and stay inside what Python, SQLite and PostgreSQL store
# (years 1-9999 after conversion); anything outside this range is an error, not a crash.
EARLIEST: Final = datetime(1900, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(9999, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"timestamp cannot be converted to UTC: {exc}") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError("timestamp must lie between 1900-01-01 and 9999-01-01 (UTC)")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]

# Text every database stores and every encoder takes: no control characters (C0 except tab,
# newline and carriage return; DEL; C1). Lone UTF-16 surrogates are refused by the parser
# itself for a constrained string (JSON escapes and Python strings alike). Checked in
# pydantic-core (Rust), so a valid message costs no Python per field.
TEXT_PATTERN: Final = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
Text = Annotated[str, Field(pattern=TEXT_PATTERN)]


ShortText = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
LongText = Annotated[str, Field(min_length=1, max_length=4000, pattern=TEXT_PATTERN)]


class StrictModel(BaseModel):
    """Base for all wire models: unknown fields are an error, not silently ignored.

    Every free-text field is ``Text``/``ShortText``/``LongText`` (no control characters, no
    lone surrogates; a test walks the JSON Schema to keep it so), and floats refuse NaN and
    infinity. A message that validates can be stored in any text or JSON column.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class OmitWhenNoneModel(StrictModel):
    """A wire model whose ``OMIT_WHEN_NONE`` fields are left out of its JSON while they are
    None, so a message without them is byte-for-byte what an older release sent and an older
    receiver (which forbids unknown fields) still accepts it."""

    OMIT_WHEN_NONE: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_none(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self.OMIT_WHEN_NONE:
                if data.get(name, 0) is None or data.get(name, 0) == []:
                    data.pop(name, None)
        return data


class Urgency(StrEnum):
    """Urgency class, P1 (life-threatening) to P4 (information only)."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Location(StrictModel):
    """Where something is: a street address, WGS84 coordinates, or both."""

    address: Text | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="Free-form Dutch address, e.g. 'Kerkstraat 12, Oss'.",
    )
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS84 latitude.")
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS84 longitude.")
    description: Text | None = Field(
        default=None, max_length=300, description="Landmark or extra directions."
    )

    @model_validator(mode="after")
    def _address_or_coordinates(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        if self.address is None and self.lat is None:
            raise ValueError("a location needs an address, coordinates (lat and lon), or both")
        return self
