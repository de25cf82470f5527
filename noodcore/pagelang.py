"""One language rule and one clock for every page of the CP and the gateway.

Invariant: every page (CP sign-in, console, dashboard; gateway board, staff screens, forms,
sign-in) picks its language with ``page_language`` and writes times with ``PageClock`` (or,
in a page script, with the zone the page hands it: ``clock_config``). The order is

    ?lang=nl|en (remembered in the ``noodnet_lang`` cookie) → that cookie →
    the browser's Accept-Language (first of nl/en by q-value) → Dutch

and times are shown in the configured zone (default Europe/Amsterdam), hh:mm today and with
the date on any other day. Why one place: the crisis room compares what the board, the
console and the dashboard say; one screen in the browser's zone and another in Amsterdam
time, or one in English and the next in Dutch, is how a P1 gets misread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import Response

UiLang = Literal["nl", "en"]
UI_LANGS: tuple[UiLang, ...] = ("nl", "en")
DEFAULT_LANG: UiLang = "nl"
DEFAULT_TIMEZONE = "Europe/Amsterdam"
LANG_COOKIE = "noodnet_lang"


def known_timezone(value: str) -> str:
    """The one check of a configured zone (the CP's and every gateway's ``timezone`` setting):
    ``value`` when it names an IANA zone this machine knows, else a ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}, e.g. 'Europe/Amsterdam'") from None
    return value


_ONE_YEAR = 365 * 24 * 3600


def as_ui_lang(value: str | None) -> UiLang | None:
    if value == "nl":
        return "nl"
    if value == "en":
        return "en"
    return None


def accept_language(header: str | None) -> UiLang | None:
    """The first of nl/en in the browser's preferences (by q-value), if either is there."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower().split("-")[0]))
    for neg_q, _, lang in sorted(ranked):
        found = as_ui_lang(lang)
        if neg_q < 0 and found is not None:
            return found
    return None


def page_language(request: Request, default: UiLang = DEFAULT_LANG) -> UiLang:
    """``?lang=`` wins (and is remembered), then the cookie, then Accept-Language, then
    ``default``: Dutch, or a gateway's configured ``language`` (itself Dutch by default)."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        found = as_ui_lang(value)
        if found is not None:
            return found
    return accept_language(request.headers.get("accept-language")) or default


def with_lang(request: Request, code: str) -> str:
    """This page in another language, keeping its other query parameters (e.g. ?new=)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*params, ('lang', code)])}"


def remember_lang(request: Request, response: Response, lang: str) -> None:
    """A page opened with ``?lang=nl|en`` keeps that language for the next pages."""
    if request.query_params.get("lang") in UI_LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=_ONE_YEAR, samesite="lax")


class PageClock:
    """Times in the configured zone: ``14:02`` today, ``01-12-2026 14:02`` on another day."""

    def __init__(self, tz: ZoneInfo | str, now: datetime) -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.now = now.astimezone(self.tz)

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(self.tz)
        if local.date() == self.now.date():
            return local.strftime("%H:%M")
        return local.strftime("%d-%m-%Y %H:%M")

    def full(self, value: datetime) -> str:
        return value.astimezone(self.tz).strftime("%d-%m-%Y %H:%M")


def clock_config(tz: str) -> dict[str, Any]:
    """What a page script needs to write times like ``PageClock``: the zone, passed
    explicitly to ``Intl.DateTimeFormat`` (never the browser's own zone)."""
    return {"tz": tz}
