"""The console's facilities page (``/console/facilities``): the directory with each facility's
state and who set it when, the observations NSPs reported awaiting review, reach per NSP, and
forms to add a facility, change its state, archive it and accept or reject an observation.

Server-rendered HTML forms (no script needed): each form posts here, the handler calls the
same functions as the REST API (``service.facilities.api``), so the page can do exactly what
the API allows, and every refusal (404, 409, 422) reaches the operator in words on the page.
Posts must come from a page of this service (Origin/Referer), as the sign-in cookie would
otherwise let another site act for the operator.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import MAX_ID, Identity, require_page
from service.auth.roles import OPERATORS, READERS
from service.context import ServiceContext
from service.facilities import api, directory
from service.facilities.models import FacilityObservation, FacilityRecord
from service.web.render import page_language, render
from service.web.texts import TEXTS as CONSOLE_TEXTS

router = APIRouter(tags=["console"])

MAX_FORM_BYTES = 32 * 1024

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "fac_console_title": "Voorzieningen",
        "fac_back": "Naar de operatorconsole",
        "fac_directory": "Overzicht",
        "fac_col_type": "Soort",
        "fac_col_name": "Naam en adres",
        "fac_col_state": "Toestand",
        "fac_col_since": "Sinds, door",
        "fac_col_target": "Naar",
        "fac_col_actions": "Wijzigen",
        "fac_target_all": "alle NSP's",
        "fac_target_radius": "NSP's binnen {km} km",
        "fac_set": "Zet",
        "fac_archive": "Archiveren",
        "fac_none_yet": "Nog geen voorzieningen.",
        "fac_observations": "Meldingen van NSP's",
        "fac_no_observations": "Geen meldingen die op beoordeling wachten.",
        "fac_obs_from": "{nsp} meldt om {time}",
        "fac_accept": "Overnemen",
        "fac_reject": "Afwijzen",
        "fac_which": "Voorziening",
        "fac_new": "Voorziening toevoegen",
        "fac_f_id": "Kenmerk (kleine letters, cijfers, -)",
        "fac_f_type": "Soort",
        "fac_f_name": "Naam",
        "fac_f_address": "Adres",
        "fac_f_lat": "Breedtegraad",
        "fac_f_lon": "Lengtegraad",
        "fac_f_hours": "Openingstijden",
        "fac_f_capacity": "Capaciteit (personen)",
        "fac_f_radius": "Alleen naar NSP's binnen (km; leeg: alle)",
        "fac_f_note": "Opmerking voor bewoners",
        "fac_f_state_note": "Toelichting",
        "fac_add": "Toevoegen en versturen",
        "fac_reach": "Bereik",
        "fac_reach_line": "{current} van {targeted} NSP's tonen de nieuwste stand.",
        "fac_reach_behind": "Achter: {nsps}",
        "fac_done": "Verwerkt en naar de NSP's verstuurd.",
        "fac_readonly": "U kunt hier alleen kijken (rol {role}).",
        "fac_geocoded": "plaats uit het adresbestand",
        "fac_no_position": "geen coördinaten",
    },
    "en": {
        "fac_console_title": "Facilities",
        "fac_back": "To the operator console",
        "fac_directory": "Directory",
        "fac_col_type": "Type",
        "fac_col_name": "Name and address",
        "fac_col_state": "State",
        "fac_col_since": "Since, by",
        "fac_col_target": "Sent to",
        "fac_col_actions": "Change",
        "fac_target_all": "all NSPs",
        "fac_target_radius": "NSPs within {km} km",
        "fac_set": "Set",
        "fac_archive": "Archive",
        "fac_none_yet": "No facilities yet.",
        "fac_observations": "Observations from NSPs",
        "fac_no_observations": "No observations awaiting review.",
        "fac_obs_from": "{nsp} reports at {time}",
        "fac_accept": "Accept",
        "fac_reject": "Reject",
        "fac_which": "Facility",
        "fac_new": "Add a facility",
        "fac_f_id": "Id (lowercase letters, digits, -)",
        "fac_f_type": "Type",
        "fac_f_name": "Name",
        "fac_f_address": "Address",
        "fac_f_lat": "Latitude",
        "fac_f_lon": "Longitude",
        "fac_f_hours": "Opening hours",
        "fac_f_capacity": "Capacity (people)",
        "fac_f_radius": "Only to NSPs within (km; empty: all)",
        "fac_f_note": "Note for residents",
        "fac_f_state_note": "Reason",
        "fac_add": "Add and send",
        "fac_reach": "Reach",
        "fac_reach_line": "{current} of {targeted} NSPs show the newest state.",
        "fac_reach_behind": "Behind: {nsps}",
        "fac_done": "Done and sent to the NSPs.",
        "fac_readonly": "You can only look here (role {role}).",
        "fac_geocoded": "position from the address register",
        "fac_no_position": "no coordinates",
    },
}
TYPES = {
    "nl": {
        "shelter": "Opvang",
        "warming_point": "Warmtepunt",
        "water_point": "Tappunt",
        "charging_point": "Oplaadpunt",
        "doctor": "Huisarts/post",
        "pharmacy": "Apotheek",
        "supermarket": "Open supermarkt",
        "sanitation": "Sanitair",
    },
    "en": {
        "shelter": "Shelter",
        "warming_point": "Warming point",
        "water_point": "Water point",
        "charging_point": "Charging point",
        "doctor": "Doctor/GP post",
        "pharmacy": "Pharmacy",
        "supermarket": "Open supermarket",
        "sanitation": "Toilets/showers",
    },
}
STATES = {
    "nl": {"open": "Open", "full": "Vol", "closed": "Dicht"},
    "en": {"open": "Open", "full": "Full", "closed": "Closed"},
}
for _lang in ("nl", "en"):
    CONSOLE_TEXTS[_lang].update(TEXTS[_lang])


def _ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def _same_origin(request: Request) -> bool:
    host = request.headers.get("host", "")
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value:
            return urlsplit(value).netloc == host
    return True


async def _form(request: Request) -> dict[str, str]:
    if not _same_origin(request):
        raise HTTPException(403, "form posted from another site")
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if raw and ctype != "application/x-www-form-urlencoded":
        raise HTTPException(415, "expected an HTML form (application/x-www-form-urlencoded)")
    parsed = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[0].strip() for k, v in parsed.items() if v}


def _page_data(ctx: ServiceContext) -> dict[str, Any]:
    with Session(ctx.engine) as session:
        facilities = api.list_facilities(session)
        observations = session.exec(
            select(FacilityObservation)
            .where(FacilityObservation.review == "pending")
            .order_by(col(FacilityObservation.id).desc())
            .limit(200)
        ).all()
        names = {r.facility_id: r.name for r in session.exec(select(FacilityRecord)).all()}
        reach = directory.reach(session, timedelta(seconds=ctx.settings.silent_after_seconds))
    return {
        "facilities": facilities,
        "observations": [api.ObservationOut.of(o) for o in observations],
        "names": names,
        "reach": reach,
    }


def _error_text(exc: Exception) -> str:
    if isinstance(exc, HTTPException):
        detail = exc.detail
        if isinstance(detail, list):
            return "; ".join(
                f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail
            )
        return str(detail)
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
    return str(exc)


async def _render(
    request: Request,
    identity: Identity,
    status_code: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    ctx = _ctx(request)
    lang = page_language(request)
    data = await run_in_threadpool(_page_data, ctx)
    anonymous = identity.token_id is None
    return render(
        request,
        "facilities.html",
        lang,
        status_code=status_code,
        identity=identity,
        anonymous=anonymous,
        can_act=identity.role in OPERATORS and not anonymous,
        cp_id=ctx.settings.cp_id,
        types=TYPES[lang],
        states=STATES[lang],
        error=error,
        done=request.query_params.get("done") == "1",
        values=values or {},
        **data,
    )


@router.get(
    "/console/facilities",
    response_class=HTMLResponse,
    summary="Facilities: directory, states, observations to review (HTML)",
)
async def facilities_page(
    request: Request, identity: Annotated[Identity | None, require_page(*READERS)]
) -> HTMLResponse:
    assert identity is not None
    return await _render(request, identity)


def _optional_float(value: str | None) -> float | None:
    return float(value.replace(",", ".")) if value else None


def _create(ctx: ServiceContext, form: dict[str, str], actor: str) -> None:
    fields: dict[str, Any] = {
        k: v
        for k, v in {
            "facility_id": form.get("facility_id"),
            "type": form.get("type"),
            "name": form.get("name"),
            "address": form.get("address") or None,
            "opening_hours": form.get("opening_hours") or None,
            "note": form.get("note") or None,
        }.items()
        if v is not None
    }
    try:
        for key in ("lat", "lon", "radius_km"):
            if form.get(key):
                fields[key] = _optional_float(form.get(key))
        if form.get("capacity"):
            fields["capacity"] = int(form["capacity"])
    except ValueError as exc:
        raise HTTPException(422, detail=f"not a number: {exc}") from None
    new = api.NewFacility.model_validate(fields)
    with Session(ctx.engine) as session:
        api.create_facility(new, session, ctx, actor)


def _state(ctx: ServiceContext, facility_id: str, form: dict[str, str], actor: str) -> None:
    change = api.StateChange.model_validate(
        {"state": form.get("state"), "note": form.get("note") or None}
    )
    with Session(ctx.engine) as session:
        api.change_state(facility_id, change, session, ctx, actor)


def _archive(ctx: ServiceContext, facility_id: str) -> None:
    with Session(ctx.engine) as session:
        api.archive_facility(facility_id, session, ctx)


def _review(ctx: ServiceContext, observation_id: int, form: dict[str, str], actor: str) -> None:
    body = api.Review.model_validate(
        {
            "decision": form.get("decision"),
            "facility_id": form.get("facility_id") or None,
            "state": form.get("state") or None,
            "note": form.get("note") or None,
        }
    )
    api.review_observation(ctx.engine, ctx, observation_id, body, actor)


async def _act(request: Request, identity: Identity | None, action: Any, *args: Any) -> Response:
    assert identity is not None
    form = await _form(request)
    try:
        ctx, actor = _ctx(request), identity.name
        await run_in_threadpool(lambda: action(ctx, *args, form, actor))
    except (HTTPException, ValidationError) as exc:
        code = exc.status_code if isinstance(exc, HTTPException) else 422
        return await _render(request, identity, code, _error_text(exc), form)
    return RedirectResponse("/console/facilities?done=1", status_code=303)


# The form handlers answer a browser (a redirect, or the page with the error), not an API
# client: they stay out of the OpenAPI document; the access matrix walks them all the same.
@router.post("/console/facilities/new", response_class=HTMLResponse, include_in_schema=False)
async def create_form(
    request: Request, identity: Annotated[Identity | None, require_page(*OPERATORS)]
) -> Response:
    return await _act(request, identity, _create)


@router.post(
    "/console/facilities/{facility_id}/state", response_class=HTMLResponse, include_in_schema=False
)
async def state_form(
    facility_id: Annotated[str, Path(max_length=63)],
    request: Request,
    identity: Annotated[Identity | None, require_page(*OPERATORS)],
) -> Response:
    return await _act(request, identity, _state, facility_id)


@router.post(
    "/console/facilities/{facility_id}/archive",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def archive_form(
    facility_id: Annotated[str, Path(max_length=63)],
    request: Request,
    identity: Annotated[Identity | None, require_page(*OPERATORS)],
) -> Response:
    return await _act(
        request, identity, lambda ctx, fid, _form, _actor: _archive(ctx, fid), facility_id
    )


@router.post(
    "/console/facilities/observations/{observation_id}/review",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def review_form(
    observation_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    identity: Annotated[Identity | None, require_page(*OPERATORS)],
) -> Response:
    return await _act(request, identity, _review, observation_id)


def login_url() -> str:
    return "/login?next=" + quote("/console/facilities")
