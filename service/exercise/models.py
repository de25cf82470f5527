"""The exercise table. An exercise is opened, closed, and (after export) purged; the row
itself stays as the record that it ran, with what the purge removed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.models import utc_column


class Exercise(SQLModel, table=True):
    """One exercise (oefening). Every row made in it elsewhere carries its ``exercise_id``."""

    __tablename__ = "exercise"

    exercise_id: str = Field(primary_key=True, max_length=63)
    name: str = Field(max_length=200)
    opened_at: datetime = utc_column()
    opened_by: str = Field(max_length=200)
    closed_at: datetime | None = utc_column(nullable=True)
    closed_by: str | None = Field(default=None, max_length=200)
    purged_at: datetime | None = utc_column(nullable=True)
    purged_by: str | None = Field(default=None, max_length=200)
    purged_counts: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
