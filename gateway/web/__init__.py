"""The gateway's pages, served to browsers on the NSP's own network.

    board.py   /board          info board for residents (screen by the door, or printed A4)
    staff.py   /staff/...      report forms, everything sent with its state, tasks
    login.py   /staff/login    staff sign-in (PIN on a paired screen, or token → cookie)
    screens_page.py /staff/screens  the coordinator pairs screens (code + QR) and revokes them
    forms.py                   form fields → message bodies, messages a volunteer understands
    i18n.py                    every text in Dutch and English
    render.py                  Jinja2 templates (templates/), local times, page language
    static/                    CSS and a little JavaScript, all served by the gateway itself

Pages load nothing from other hosts: during an outage there is no internet.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from gateway.runtime import GatewayRuntime
from gateway.web import backup_page, board, facility_pages, login, nspf_pages, screens_page, staff
from gateway.web.render import STATIC_DIR, page_language, render
from noodcore.httpguard import public
from schemas import utcnow


async def index(request: Request) -> HTMLResponse:
    rt: GatewayRuntime = request.app.state.runtime
    return render(request, rt, "index.html", page_language(request, rt), utcnow())


def register(app: FastAPI) -> None:
    """Add the pages and their static files to the gateway's app."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route(
        "/", index, response_class=HTMLResponse, include_in_schema=False, dependencies=[public()]
    )
    login.install(app)
    app.include_router(board.router)
    app.include_router(staff.router)
    app.include_router(facility_pages.router)  # /board/facilities, /staff/facilities
    app.include_router(nspf_pages.router)  # /staff/aid, /staff/goods
    app.include_router(backup_page.router)  # /staff/backup: outbox to a USB stick
    app.include_router(screens_page.router)  # /staff/screens: pair screens, shift PINs
