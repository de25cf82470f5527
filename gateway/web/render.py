"""Rendering for the gateway's pages: Jinja2 templates, local times, the page language.

Every asset a page uses is served by the gateway itself (``/static``): the NSP has no internet.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.runtime import GatewayRuntime
from gateway.web.i18n import LANGUAGE_NAMES, Translator, UiLang, ui_lang
from noodcore.pagelang import LANG_COOKIE, remember_lang, with_lang

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_language(request: Request, rt: GatewayRuntime) -> UiLang:
    """?lang= wins (and is remembered in a cookie), then the cookie, then the setting."""
    return ui_lang(
        request.query_params.get("lang") or request.cookies.get(LANG_COOKIE),
        rt.settings.language,
    )


class Clock:
    """Formats times in the NSP's time zone; 'today' shows only hh:mm."""

    def __init__(self, tz: ZoneInfo, now: datetime) -> None:
        self.tz = tz
        self.now = now.astimezone(tz)

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(self.tz)
        if local.date() == self.now.date():
            return local.strftime("%H:%M")
        return local.strftime("%d-%m-%Y %H:%M")

    def full(self, value: datetime) -> str:
        return value.astimezone(self.tz).strftime("%d-%m-%Y %H:%M")


def render(
    request: Request,
    rt: GatewayRuntime,
    template: str,
    lang: UiLang,
    now: datetime,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    t = Translator(lang)
    # On every page: the staff screen's exercise mode (the banner in the header).
    context.setdefault("exercise_mode", rt.outbox.exercise_mode())
    html = _env.get_template(template).render(
        t=t,
        lang=lang,
        clock=Clock(ZoneInfo(rt.settings.timezone), now),
        settings=rt.settings,
        language_names=LANGUAGE_NAMES,
        path=request.url.path,
        lang_url=lambda code: with_lang(request, code),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    remember_lang(request, response, lang)
    # Pages show live state; a browser must not show a cached copy as if it were current.
    response.headers["Cache-Control"] = "no-store"
    return response
