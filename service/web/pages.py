"""The crisis-room dashboard page and its assets, all shipped in this package (no other host:
the crisis room has no internet)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from noodcore.httpguard import require, require_page
from noodcore.pagelang import remember_lang
from service.auth.roles import READERS
from service.web.render import page_language, static_asset

router = APIRouter(tags=["dashboard"])

STATIC = Path(__file__).parent / "static"
ASSETS = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "basemap.js": "text/javascript; charset=utf-8",
}
NO_CACHE = {"Cache-Control": "no-cache"}


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    summary="Crisis-room dashboard (wall screen)",
    include_in_schema=True,
    # A browser without a valid token gets the sign-in page (service/web/login.py).
    dependencies=[require_page(*READERS)],
)
def dashboard(request: Request) -> HTMLResponse:
    # The one language rule and the one clock (noodcore.pagelang): the page is told both,
    # so its script neither guesses the language nor uses the browser's time zone.
    lang = page_language(request)
    tz = request.app.state.ctx.settings.timezone
    html = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    html = html.replace(
        '<html lang="nl">',
        f'<html lang="{lang}" data-lang="{lang}" data-tz="{escape(tz)}">',
        1,
    )
    response = HTMLResponse(html, headers=NO_CACHE)
    remember_lang(request, response, lang)
    return response


@router.get("/dashboard/", include_in_schema=False, dependencies=[require_page(*READERS)])
def dashboard_slash() -> RedirectResponse:
    return RedirectResponse("/dashboard")


LEAFLET = {
    "leaflet.js": "text/javascript; charset=utf-8",
    "leaflet.css": "text/css; charset=utf-8",
    "LICENSE": "text/plain; charset=utf-8",
}


@router.get(
    "/dashboard/static/leaflet/{name}", include_in_schema=False, dependencies=[require(*READERS)]
)
def leaflet_asset(name: str) -> FileResponse:
    # Vendored from npm (see static/leaflet/README.md): the crisis room has no internet.
    return static_asset(
        f"leaflet/{name}", {f"leaflet/{k}": v for k, v in LEAFLET.items()}, "dashboard", NO_CACHE
    )


@router.get("/dashboard/static/{name}", include_in_schema=False, dependencies=[require(*READERS)])
def asset(name: str) -> FileResponse:
    return static_asset(name, ASSETS, "dashboard", NO_CACHE)
