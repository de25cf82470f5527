"""The citizen-aid section of the CP summary: volunteer counts and help jobs by state, summed
over the NSPs (counts only: the CP holds no personal data of volunteers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from noodcore.db import table_of
from schemas.upstream import CitizenAid
from service.aid.models import AidAssignment, AidRoster

if TYPE_CHECKING:
    from service.upstream.summary import SummaryInputs

_roster = table_of(AidRoster)
_assignment = table_of(AidAssignment)
OPEN = ("sent", "requested", "en_route")


def aid_section(inp: SummaryInputs) -> dict[str, Any]:
    rosters = inp.conn.execute(sa.select(_roster)).all()
    states = {
        state: n
        for state, n in inp.conn.execute(
            sa.select(_assignment.c.state, sa.func.count()).group_by(_assignment.c.state)
        )
    }
    if not rosters and not states:
        return {"citizen_aid": None}
    by_skill: dict[str, int] = {}
    by_window: dict[str, int] = {}
    for r in rosters:
        for k, v in (r.by_skill or {}).items():
            by_skill[k] = by_skill.get(k, 0) + v
        for k, v in (r.by_window or {}).items():
            by_window[k] = by_window.get(k, 0) + v
    return {
        "citizen_aid": CitizenAid(
            volunteers=sum(r.total for r in rosters),
            by_skill=by_skill,
            by_window=by_window,
            assignments_open=sum(n for s, n in states.items() if s in OPEN),
            assignments_by_state=states,
        )
    }
