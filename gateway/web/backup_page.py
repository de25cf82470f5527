"""The staff screen's backup: the outbox copied to a USB stick with one button.

The copy is the SQLite online backup (noodcore/backup.py): taken while reports keep coming,
checked, and only renamed into place when whole, so a stick pulled right after holds either a
complete backup or none. The target is the directory in ``NOODNET_BACKUP_DIR`` (where the Pi
mounts the stick, e.g. /media/usb); without it the page says how to set it and writes nothing.
Each press makes a new file (never overwrites).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from gateway.auth import STAFF
from gateway.runtime import GatewayRuntime
from gateway.web.render import page_language, render
from gateway.web.staff import _form
from noodcore.backup import BackupError, BackupInfo, sqlite_backup
from noodcore.httpguard import require_page
from schemas import utcnow

router = APIRouter(include_in_schema=False)

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Reservekopie op USB-stick",
        "intro": "Maak een kopie van alle meldingen van dit NSP (ook de nog niet verzonden) op "
        "de USB-stick. Dat kan terwijl er meldingen binnenkomen. Haal de stick pas uit de "
        "Pi als hier 'Klaar' staat.",
        "target": "Doelmap: {dir}",
        "button": "Maak kopie",
        "done": "Klaar: {name} ({size} kB, {rows} meldingen) staat op de stick.",
        "failed": "Geen kopie gemaakt: {reason}",
        "not_configured": "Er is geen map voor de USB-stick ingesteld. Vraag de beheerder "
        "NOODNET_BACKUP_DIR in te stellen (bijvoorbeeld /media/usb).",
        "no_stick": "Geen USB-stick gevonden op {dir}. Steek de stick in en probeer opnieuw.",
    },
    "en": {
        "title": "Backup to a USB stick",
        "intro": "Copy all reports of this NSP (also those not yet sent) to the USB stick. This "
        "works while reports keep coming in. Only remove the stick once this page says 'Done'.",
        "target": "Target directory: {dir}",
        "button": "Make copy",
        "done": "Done: {name} ({size} kB, {rows} reports) is on the stick.",
        "failed": "No copy made: {reason}",
        "not_configured": "No directory for the USB stick is set. Ask the administrator to set "
        "NOODNET_BACKUP_DIR (for example /media/usb).",
        "no_stick": "No USB stick found at {dir}. Insert the stick and try again.",
    },
}


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]


def backup_dir() -> Path | None:
    value = os.environ.get("NOODNET_BACKUP_DIR", "").strip()
    return Path(value) if value else None


def _page(request: Request, rt: GatewayRuntime, status: int = 200, **result: Any) -> HTMLResponse:
    lang = page_language(request, rt)
    texts = TEXTS[lang]

    def bt(key: str, **kw: Any) -> str:
        return texts.get(key, TEXTS["nl"][key]).format(**kw)

    target = backup_dir()
    return render(
        request,
        rt,
        "staff_backup.html",
        lang,
        utcnow(),
        status_code=status,
        bt=bt,
        target=target,
        stick_present=target is not None and target.is_dir(),
        **result,
    )


@router.get("/staff/backup", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def backup_page(request: Request, rt: Runtime) -> HTMLResponse:
    return _page(request, rt)


@router.post("/staff/backup", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def make_backup(request: Request, rt: Runtime) -> HTMLResponse:
    await _form(request)  # same-origin and size checks of every staff form
    target = backup_dir()
    if target is None:
        return _page(request, rt, 409, error="not_configured")
    if not target.is_dir():
        return _page(request, rt, 409, error="no_stick")
    try:
        info: BackupInfo = await run_in_threadpool(
            sqlite_backup, rt.settings.db_path, target, f"noodnet-gw-{rt.settings.nsp_id}"
        )
    except BackupError as exc:
        return _page(request, rt, 500, failure=str(exc))
    return _page(
        request,
        rt,
        done={
            "name": info.path.name,
            "size": max(1, info.bytes // 1024),
            "rows": info.tables.get("outbox", 0),
        },
    )
