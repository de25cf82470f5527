"""The facility screens at the NSP: "Waar kunt u terecht?" on the board (the nearest few,
inside the board's refreshed content), the printable A4 list of all (``/board/facilities``),
and the staff's observation form (``/staff/facilities``), which puts a ``facility_report`` in
the durable outbox like every other report.

Everything is read from the gateway's own database (``gateway/facilities.py``): the screens
work with the link down, and say since when the CP's state is unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from gateway.auth import BOARD_READERS, STAFF
from gateway.facilities import NearFacility, StoredDirectory
from gateway.runtime import GatewayRuntime
from gateway.web.i18n import Translator
from gateway.web.render import page_language, render
from noodcore.httpguard import require_page
from schemas import FacilityReport, FacilityState, utcnow
from schemas.common import TEXT_PATTERN

router = APIRouter(include_in_schema=False)

BOARD_LIMIT = 6  # on the board; the printable list has all


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]


@dataclass(frozen=True)
class FacilitiesView:
    stored: StoredDirectory | None
    items: list[NearFacility]
    total: int

    @property
    def published_at(self) -> datetime | None:
        return self.stored.directory.published_at if self.stored else None


def facilities_view(rt: GatewayRuntime, limit: int | None = BOARD_LIMIT) -> FacilitiesView:
    stored, items = rt.facilities.nearest(rt.settings.position)
    return FacilitiesView(stored, items[:limit] if limit is not None else items, len(items))


@router.get(
    "/board/facilities", response_class=HTMLResponse, dependencies=[require_page(*BOARD_READERS)]
)
async def board_facilities(request: Request, rt: Runtime) -> HTMLResponse:
    lang = page_language(request, rt)
    view = await run_in_threadpool(facilities_view, rt, None)
    now = utcnow()
    return render(request, rt, "board_facilities.html", lang, now, fac=view, rendered_at=now)


# ------------------------------------------------------------------------------ staff


def _field(data: dict[str, list[str]], name: str) -> str:
    return (data.get(name) or [""])[0].strip()


def parse_observation(
    data: dict[str, list[str]], view: FacilitiesView, t: Translator
) -> tuple[FacilityReport | None, dict[str, str]]:
    """Form fields → a ``FacilityReport``, or the errors per field in the page's language."""
    errors: dict[str, str] = {}
    chosen = _field(data, "facility_id")
    name = _field(data, "facility_name")
    state = _field(data, "observed_state")
    note = _field(data, "note") or None
    by = _field(data, "by") or None
    known = {n.facility.facility_id: n.facility for n in view.items}
    facility_id = None
    if chosen and chosen != "other" and chosen in known:
        facility_id = chosen
        name = name or known[chosen].name
    elif not name:
        errors["facility_id"] = t("fac_err_facility")
    if state not in {s.value for s in FacilityState}:
        errors["observed_state"] = t("fac_err_state")
    for field, value, limit in (
        ("facility_name", name, 200),
        ("note", note, 1000),
        ("by", by, 100),
    ):
        if value and len(value) > limit:
            errors[field] = t("fac_err_long", n=limit)
        elif value and not re.match(TEXT_PATTERN, value):
            errors[field] = t("fac_err_chars")
    if errors:
        return None, errors
    try:
        report = FacilityReport(
            facility_id=facility_id,
            facility_name=name,
            observed_state=FacilityState(state),
            note=note,
            observed_at=utcnow(),
            by=by,
        )
    except ValidationError as exc:  # a bound the checks above do not know of
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "note"
        return None, {field: exc.errors()[0]["msg"] if exc.errors() else str(exc)}
    return report, {}


def _staff_page(
    request: Request,
    rt: GatewayRuntime,
    view: FacilitiesView,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    save_failed: bool = False,
) -> HTMLResponse:
    lang = page_language(request, rt)
    return render(
        request,
        rt,
        "staff_facilities.html",
        lang,
        utcnow(),
        status_code=status_code,
        fac=view,
        values=values,
        errors=errors,
        save_failed=save_failed,
    )


@router.get("/staff/facilities", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def staff_facilities(request: Request, rt: Runtime) -> HTMLResponse:
    view = await run_in_threadpool(facilities_view, rt, None)
    preset = request.query_params.get("facility", "")
    return _staff_page(request, rt, view, {"facility_id": preset[:63]}, {})


@router.post("/staff/facilities", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def staff_facilities_submit(request: Request, rt: Runtime) -> Response:
    from gateway.web.staff import _form  # the same origin, size and type checks as every form

    data = await _form(request)
    view = await run_in_threadpool(facilities_view, rt, None)
    t = Translator(page_language(request, rt))
    report, errors = parse_observation(data, view, t)
    values = {
        k: _field(data, k) for k in ("facility_id", "facility_name", "observed_state", "note", "by")
    }
    if report is None:
        return _staff_page(request, rt, view, values, errors, status_code=422)
    try:
        entry = await run_in_threadpool(rt.facilities.report, report)
    except OperationalError:
        return _staff_page(request, rt, view, values, {}, status_code=503, save_failed=True)
    return RedirectResponse(f"/staff/sent?new={entry.message_id}", status_code=303)
