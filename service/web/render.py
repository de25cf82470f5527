"""Rendering of the CP's server-side pages (sign-in, operator console): Jinja2 templates from
``service/web/templates``, the page language, and the headers every page carries.

Pages load nothing from other hosts (the crisis room has no internet); the Content Security
Policy makes the browser hold them to that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from noodcore import pagelang
from noodcore.pagelang import remember_lang, with_lang
from service.web.texts import UiLang, texts

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"

# Only this host; no framing (an operator's buttons must not be clickjacked).
CSP = (
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_language(request: Request) -> UiLang:
    """The rule every page follows (``noodcore.pagelang``): ?lang=, cookie, Accept-Language,
    Dutch."""
    return pagelang.page_language(request)


def render(
    request: Request, template: str, lang: UiLang, status_code: int = 200, **context: Any
) -> HTMLResponse:
    t = texts(lang)
    html = _env.get_template(template).render(
        t=t,
        lang=lang,
        lang_url=lambda code: with_lang(request, code),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    remember_lang(request, response, lang)
    # Pages show live state and who is signed in: never from a cache.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def static_asset(
    name: str, assets: dict[str, str], what: str, headers: dict[str, str]
) -> FileResponse:
    """One of the files a page uses, from ``static/``: only those listed (name -> type)."""
    if name not in assets:
        raise HTTPException(404, detail=f"no {what} asset {name}")
    return FileResponse(HERE / "static" / name, media_type=assets[name], headers=headers)
