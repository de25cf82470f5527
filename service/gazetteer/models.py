"""Gazetteer tables. A region's set is replaced as a whole on import (``region`` column), so a
re-import never leaves a mix of an old and a new extract; ``gazetteer_import`` records each
import and its generation, which tells a running CP to reload its in-memory index."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class GazetteerAddress(SQLModel, table=True):
    """One address (BAG nummeraanduiding with its openbare ruimte and woonplaats)."""

    __tablename__ = "gazetteer_address"

    id: int | None = Field(default=None, primary_key=True)
    region: str = Field(max_length=63, index=True)
    street: str = Field(max_length=200)
    street_key: str = Field(max_length=200)
    town: str = Field(max_length=100)
    town_key: str = Field(max_length=100)
    municipality: str | None = Field(default=None, max_length=100)
    number: int
    letter: str | None = Field(default=None, max_length=8)
    addition: str | None = Field(default=None, max_length=16)
    postcode: str | None = Field(default=None, max_length=8)
    lat: float
    lon: float


class GazetteerPlace(SQLModel, table=True):
    """A named place residents use as a location: school, church, station, bridge, shop."""

    __tablename__ = "gazetteer_place"

    id: int | None = Field(default=None, primary_key=True)
    region: str = Field(max_length=63, index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    town: str | None = Field(default=None, max_length=100)
    lat: float
    lon: float
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class GazetteerImport(SQLModel, table=True):
    """The last import of each region's set."""

    __tablename__ = "gazetteer_import"

    region: str = Field(primary_key=True, max_length=63)
    imported_at: datetime = utc_column()
    generation: int
    addresses: int
    places: int
    source: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
