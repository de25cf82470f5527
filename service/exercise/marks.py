"""How exercise data is marked and filtered on every CP surface.

Invariant: a row is exercise data exactly when its ``exercise_id`` is set; every surface shows
such a row with ``EXERCISE_MARK`` ("OEFENING OEFENING OEFENING") and never shows a row
without it as exercise. The mark is derived from the column, never stored in a text, so a
real report can never be marked by accident and an exercise report never loses its mark.

``?exercise=`` on list endpoints: ``all`` (default: both, each exercise row marked), ``real``
(only rows without an exercise id), ``exercise`` (only exercise rows), or one exercise's id.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, computed_field

from schemas.common import EXERCISE_MARK, ID_PATTERN

__all__ = ["EXERCISE_MARK", "ExerciseQuery", "Marked", "exercise_where", "mark_text"]

ExerciseQuery = Annotated[
    str,
    Query(
        max_length=63,
        description="all (default: real and exercise data, exercise rows marked OEFENING), "
        "real (no exercise data), exercise (only exercise data), or one exercise's id.",
    ),
]


def exercise_where(column: Any, value: str) -> Any:
    """The SQL condition for ``?exercise=value`` on ``column`` (an exercise_id column); None
    for ``all``. An unknown word is a 422 that names the choices."""
    if value == "all":
        return None
    if value == "real":
        return column.is_(None)
    if value == "exercise":
        return column.is_not(None)
    if re.match(ID_PATTERN, value):
        return column == value
    raise RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": ("query", "exercise"),
                "msg": "exercise must be all, real, exercise or an exercise id "
                "(lowercase letters, digits, '-' and '_')",
                "input": value,
            }
        ]
    )


def mark_text(text: str, exercise_id: str | None) -> str:
    """``text`` as a surface shows it: exercise text starts with the mark, real text not."""
    return f"{EXERCISE_MARK} — {text}" if exercise_id else text


class Marked(BaseModel):
    """Mixin for API shapes of rows that may be exercise data."""

    exercise_id: str | None = Field(
        default=None, description="The exercise this row was made in; null = real data."
    )

    @computed_field(description="OEFENING OEFENING OEFENING on exercise data; null when real.")  # type: ignore[prop-decorator]
    @property
    def exercise_mark(self) -> str | None:
        return EXERCISE_MARK if self.exercise_id else None
