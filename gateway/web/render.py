"""Rendering for the gateway's pages: Jinja2 templates, local times, the page language.

Every asset a page uses is served by the gateway itself (``/static``): the NSP has no internet.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.runtime import GatewayRuntime
from gateway.web.i18n import LANGUAGE_NAMES, Translator, UiLang
from noodcore import pagelang
from noodcore.pagelang import PageClock, remember_lang, with_lang

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_language(request: Request, rt: GatewayRuntime) -> UiLang:
    """The rule every page follows (``noodcore.pagelang``); the gateway's ``language``
    setting (Dutch by default) is the last step."""
    return pagelang.page_language(request, rt.settings.language)


# Formats times in the NSP's time zone; 'today' shows only hh:mm (noodcore.pagelang).
Clock = PageClock


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
        clock=Clock(rt.settings.timezone, now),
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
