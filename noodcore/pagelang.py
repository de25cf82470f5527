"""The page language the CP's and the gateway's pages share: one cookie that remembers a
``?lang=`` choice, and the link to the same page in another language."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

LANG_COOKIE = "noodnet_lang"
_ONE_YEAR = 365 * 24 * 3600


def with_lang(request: Request, code: str) -> str:
    """This page in another language, keeping its other query parameters (e.g. ?new=)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*params, ('lang', code)])}"


def remember_lang(request: Request, response: Response, lang: str) -> None:
    """A page opened with ``?lang=nl|en`` keeps that language for the next pages."""
    if request.query_params.get("lang") in ("nl", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=_ONE_YEAR, samesite="lax")
