"""The info board: current official information for residents, on a screen or printed on A4.

Shows what the gateway stores (addressed to this NSP, not withdrawn, not expired), in the
chosen language where a version exists, with the time of the last message from the CP and a
clear warning, with the time, when the link to the CP is down. It refreshes itself; without
JavaScript a meta refresh reloads the whole page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from gateway import relay
from gateway.auth import BOARD_READERS
from gateway.inbox import StoredBulletin
from gateway.models import BulletinRow
from gateway.runtime import GatewayRuntime
from gateway.web.facility_pages import FacilitiesView, facilities_view
from gateway.web.i18n import RTL_LANGUAGES, UiLang
from gateway.web.render import page_language, render
from gateway.web.status import LinkView, link_view
from noodcore.httpguard import require_page
from noodcore.pagelang import LANG_COOKIE
from schemas import BulletinText, utcnow
from schemas.bodies import NspFunction

router = APIRouter(include_in_schema=False)


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]
Refresh = Annotated[int, Query(ge=2, le=3600, description="Seconds between refreshes.")]


@dataclass(frozen=True)
class BoardItem:
    bulletin_id: str
    version: int
    urgency: str
    text: BulletinText
    fallback: bool  # the chosen language is missing: Dutch is shown
    rtl: bool
    valid_from: datetime
    valid_until: datetime | None
    not_yet_valid: bool
    exercise: str | None = None  # shown under OEFENING OEFENING OEFENING


@dataclass(frozen=True)
class Board:
    content_lang: str
    ui: UiLang
    items: list[BoardItem]
    languages: list[str]
    last_update: datetime | None
    link: LinkView
    now: datetime
    channels: dict[str, int]  # reports passed on by radio/runner/SMS (gateway.relay)
    facilities: FacilitiesView  # "Waar kunt u terecht?": the nearest facilities
    offers: list[str]  # NspFunction codes: what residents can get at this NSP


def _choose(stored: StoredBulletin, lang: str, now: datetime) -> BoardItem:
    b = stored.bulletin
    dutch = next(t for t in b.texts if t.language.startswith("nl"))
    chosen = next((t for t in b.texts if t.language.split("-")[0] == lang), None)
    text = chosen or dutch
    return BoardItem(
        bulletin_id=b.bulletin_id,
        version=b.version,
        urgency=b.urgency.value,
        text=text,
        fallback=chosen is None,
        rtl=text.language.split("-")[0] in RTL_LANGUAGES,
        valid_from=b.valid_from,
        valid_until=b.valid_until,
        not_yet_valid=b.valid_from > now,
        exercise=b.exercise,
    )


MINIMUM_OFFERS = [NspFunction.INFORMATION, NspFunction.HELP_REQUESTS]


def _offers(rt: GatewayRuntime) -> list[str]:
    """The configured list, else what staff last reported (status form), else the minimum."""
    configured = rt.settings.offer_list
    if configured:
        return [f.value for f in configured]
    last = rt.outbox.latest_status()
    functions = last.functions if last is not None else []
    return [f.value for f in functions] or [f.value for f in MINIMUM_OFFERS]


def board_state(rt: GatewayRuntime, lang: str) -> Board:
    now = utcnow()
    current = rt.inbox.current_bulletins(now)
    with Session(rt.outbox.engine) as session:
        # Any bulletin message counts, also one that withdrew or retargeted a bulletin.
        last_update = session.exec(select(func.max(BulletinRow.received_at))).one()
    languages = sorted(
        {t.language.split("-")[0] for s in current for t in s.bulletin.texts} | {"nl", "en"},
        key=lambda code: (code != "nl", code != "en", code),
    )
    return Board(
        offers=_offers(rt),
        content_lang=lang,
        ui="nl" if lang == "nl" else "en",
        items=[_choose(s, lang, now) for s in current],
        languages=languages,
        last_update=last_update,
        link=link_view(rt),
        now=now,
        channels=relay.channel_counts(rt.outbox.engine),
        facilities=facilities_view(rt),
    )


def _content_lang(request: Request, rt: GatewayRuntime) -> str:
    """A bulletin may come in any language (?lang=de); otherwise the one page-language rule."""
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or ""
    return lang if re.fullmatch(r"[a-z]{2}", lang) else page_language(request, rt)


@router.get("/board", response_class=HTMLResponse, dependencies=[require_page(*BOARD_READERS)])
async def board_page(request: Request, rt: Runtime, refresh: Refresh = 30) -> HTMLResponse:
    lang = _content_lang(request, rt)
    board = await run_in_threadpool(board_state, rt, lang)
    return render(request, rt, "board.html", board.ui, board.now, board=board, refresh=refresh)


@router.get(
    "/board/content", response_class=HTMLResponse, dependencies=[require_page(*BOARD_READERS)]
)
async def board_content(request: Request, rt: Runtime, refresh: Refresh = 30) -> HTMLResponse:
    lang = _content_lang(request, rt)
    board = await run_in_threadpool(board_state, rt, lang)
    return render(
        request, rt, "_board_content.html", board.ui, board.now, board=board, refresh=refresh
    )
