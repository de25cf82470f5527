"""Must show 5 (issue 12): every page in Dutch and in English, and one clock.

1. Debian's Chromium walks every page of a real CP and a real gateway (sign-in, console,
   dashboard, after-action report; board, staff screens, the four forms, a form with errors,
   a refused sign-in), once with a Dutch browser and once with an English one (the
   Accept-Language step of the one rule in ``noodcore.pagelang``), and fails on a message in
   the other language: any fixed part of a text of the other language's tables (gateway
   ``i18n`` and CP ``texts``) that this language's tables do not also use, and a short list
   of words that only one of the two languages has ("unknown token" on a Dutch page is how
   this test started).
2. The browser runs in a far-away zone (Pacific/Kiritimati, UTC+14): the board, the console,
   the desk and the dashboard must all show the configured zone's clock (NOODNET_TIMEZONE;
   here Europe/London, not the default) for the same instant, not the browser's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from gateway.web.i18n import CHOICES as GW_CHOICES
from gateway.web.i18n import TEXTS as GW_TEXTS
from noodcore.pagelang import PageClock
from schemas import utcnow
from service.web.texts import TEXTS as CP_TEXTS
from tests.support import Mosquitto, Proc, cp_process, gateway_process, wait_until

CP, NSP = "cp-test", "nsp-taal"
# Not the default zone: a page that ignores NOODNET_TIMEZONE shows Amsterdam time and fails.
ZONE = "Europe/London"
# Data on the pages, not interface text: names and addresses are what they are in any language.
DATA = ("Bibliotheek Oss", "Kerkstraat 12, Oss", NSP, CP)

# Words only one of the two languages uses (interface words, not names).
ONLY_EN = {
    "the", "unknown", "token", "not", "and", "with", "you", "your", "please", "sign", "signed",
    "report", "reports", "help", "send", "waiting", "connection", "since", "from", "this",
    "what", "which", "open tasks", "none", "loading", "updated", "expired", "revoked",
}  # fmt: skip
ONLY_NL = {
    "de", "het", "een", "niet", "van", "uw", "melding", "meldingen", "geen", "nog", "naar",
    "wordt", "bij", "versturen", "inloggen", "uitloggen", "verbinding", "sinds", "taken",
    "bijgewerkt", "laden", "onbekend", "verlopen", "ingetrokken",
}  # fmt: skip


def _fixed_parts(text: str) -> list[str]:
    return [p.strip(" .,:;()-–—") for p in re.split(r"\{[^}]*\}", text)]


def _table_strings(lang: str) -> set[str]:
    out: set[str] = set()
    for table in (GW_TEXTS[lang], CP_TEXTS[lang]):
        for value in table.values():
            out.update(_fixed_parts(value))
    for group in GW_CHOICES[lang].values():
        out.update(group.values())
    return out


def _foreign_strings(lang: str) -> set[str]:
    other = "en" if lang == "nl" else "nl"
    mine = _table_strings(lang)
    return {s for s in _table_strings(other) - mine if len(s) >= 10}


def _visible_text(page: Page, lang: str) -> str:
    """The page's text, without parts marked as another language (the language switch,
    bulletins in their own language)."""
    text: str = page.evaluate(
        """(lang) => {
            const root = document.body.cloneNode(true);
            for (const n of root.querySelectorAll('[lang], script, style, template, [hidden]')) {
                if (n.tagName === 'SCRIPT' || n.tagName === 'STYLE' || n.tagName === 'TEMPLATE'
                    || n.hasAttribute('hidden') || !n.lang.startsWith(lang)) n.remove();
            }
            const titled = [...root.querySelectorAll('[title],[placeholder],[aria-label]')]
                .map(n => [n.title, n.placeholder, n.getAttribute('aria-label')].join(' '));
            return (root.innerText || root.textContent) + '\\n' + titled.join('\\n')
                + '\\n' + document.title;
        }""",
        lang,
    )
    for data in DATA:
        text = text.replace(data, " ")
    return text


def _check(
    page: Page, lang: str, where: str, problems: list[str], data: tuple[str, ...] = ()
) -> None:
    """``data``: text on the page that is no language (a random code can spell "de")."""
    expect(page.locator("html")).to_have_attribute("lang", lang)
    text = _visible_text(page, lang)
    for d in data:
        text = text.replace(d, " ")
    for s in sorted(_foreign_strings(lang)):
        if s in text:
            problems.append(f"{lang} {where}: other language's text {s!r}")
    words = set(re.findall(r"[a-zà-ÿ]+", text.lower()))
    foreign_words = (ONLY_EN if lang == "nl" else ONLY_NL) & words
    if foreign_words:
        problems.append(f"{lang} {where}: words of the other language {sorted(foreign_words)}")


@pytest.fixture
def system(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[tuple[Proc, Proc]]:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP, NOODNET_TIMEZONE=ZONE).start()
    gw = gateway_process(
        tmp_path,
        broker,
        NSP,
        cp_id=CP,
        NOODNET_DISPLAY_NAME="Bibliotheek Oss",
        NOODNET_ADDRESS="Kerkstraat 12, Oss",
        NOODNET_TIMEZONE=ZONE,
    ).start()
    try:
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        yield cp, gw
    finally:
        gw.stop()
        cp.stop()


def _context(browser: Browser, lang: str, tz: str = ZONE) -> BrowserContext:
    return browser.new_context(
        locale="nl-NL" if lang == "nl" else "en-GB",  # Accept-Language: the rule's third step
        timezone_id=tz,
        viewport={"width": 1366, "height": 768},
    )


def _sign_in(page: Page, base: str, path: str, token: str, lands: str) -> None:
    page.goto(base + path)
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(base + lands)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_page_speaks_one_language(
    browser: Browser, system: tuple[Proc, Proc], lang: str
) -> None:
    cp, gw = system
    problems: list[str] = []
    ctx = _context(browser, lang)
    page = ctx.new_page()
    try:
        # Gateway: a refused code first, then signed in.
        page.goto(gw.url + "/staff/login")
        _check(page, lang, "gateway sign-in", problems)
        page.fill("#token", "nn_wrong")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_be_visible()
        _check(page, lang, "gateway sign-in refused", problems)
        _sign_in(page, gw.url, "/staff", gw.token or "", "/staff")
        for path in (
            "/",
            "/board",
            "/staff",
            "/staff/new/help",
            "/staff/new/situation",
            "/staff/new/resource",
            "/staff/new/status",
            "/staff/sent",
            "/staff/tasks",
            "/staff/backup",
            "/staff/screens",
            "/staff/pair",
        ):
            page.goto(gw.url + path)
            _check(page, lang, f"gateway {path}", problems)
        page.goto(gw.url + "/staff/screens")
        page.fill("#screen-name", "Balie 1")
        page.fill("#screen-pin", "2468")
        page.click("form.pin-form button[type=submit]")
        expect(page.locator(".pair-code")).to_be_visible()
        code = page.locator(".pair-code").inner_text().strip()
        _check(page, lang, "gateway pairing code made", problems, data=(code,))
        page.goto(gw.url + "/staff/new/help")
        page.click("form.report-form button[type=submit]")  # empty: every error at once
        expect(page.locator("#error-summary")).to_be_visible()
        _check(page, lang, "gateway help form with errors", problems)

        # CP: a refused code, then the console, the dashboard, the after-action report.
        page.goto(cp.url + "/login")
        _check(page, lang, "CP sign-in", problems)
        page.fill("#token", "nn_wrong")
        page.click("button[type=submit]")
        _check(page, lang, "CP sign-in refused", problems)
        _sign_in(page, cp.url, "/login?next=/console", cp.token or "", "/console")
        page.goto(cp.url + "/console")
        expect(page.locator("#updated")).not_to_be_empty(timeout=15_000)
        _check(page, lang, "CP /console", problems)
        page.goto(cp.url + "/dashboard")
        expect(page.locator("#clock")).not_to_be_empty()
        page.wait_for_function("document.querySelector('#updated').textContent.length > 0")
        _check(page, lang, "CP /dashboard", problems)
        page.goto(cp.url + "/aar")
        _check(page, lang, "CP /aar", problems)
    finally:
        ctx.close()
    assert not problems, "\n".join(problems)


def _hhmm(text: str) -> str:
    m = re.search(r"\b(\d{1,2}):(\d{2})\b", text)
    assert m, f"no time in {text!r}"
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def test_board_console_and_dashboard_show_the_same_clock(
    browser: Browser, system: tuple[Proc, Proc]
) -> None:
    cp, gw = system
    far = "Pacific/Kiritimati"  # UTC+14: never the same hh:mm as London
    ctx = _context(browser, "nl", tz=far)
    page = ctx.new_page()

    def expected(before: datetime) -> set[str]:
        after = utcnow()
        return {PageClock(ZONE, t)(t) for t in (before, after)}

    def browser_local(t: datetime) -> str:
        return PageClock(far, t)(t)

    try:
        readings: dict[str, tuple[str, set[str], str]] = {}
        _sign_in(page, gw.url, "/staff", gw.token or "", "/staff")
        t0 = utcnow()
        page.goto(gw.url + "/board")
        shown = _hhmm(page.locator(".board-footer .screen-only").inner_text())
        readings["board"] = (shown, expected(t0), browser_local(t0))

        _sign_in(page, cp.url, "/login?next=/console", cp.token or "", "/console")
        t0 = utcnow()
        page.goto(cp.url + "/console")
        expect(page.locator("#updated")).not_to_be_empty(timeout=15_000)
        shown = _hhmm(page.locator("#updated").inner_text())
        readings["console"] = (shown, expected(t0), browser_local(t0))

        t0 = utcnow()
        page.goto(cp.url + "/console/desk")
        expect(page.locator("#updated")).not_to_be_empty(timeout=15_000)
        shown = _hhmm(page.locator("#updated").inner_text())
        readings["desk"] = (shown, expected(t0), browser_local(t0))

        t0 = utcnow()
        page.goto(cp.url + "/dashboard")
        expect(page.locator("#clock")).not_to_be_empty()
        shown = _hhmm(page.locator("#clock").inner_text())
        readings["dashboard"] = (shown, expected(t0), browser_local(t0))
    finally:
        ctx.close()
    for where, (shown, want, local) in readings.items():
        assert shown in want, f"{where} shows {shown}, the {ZONE} clock says {sorted(want)}"
        assert shown != local, f"{where} shows the browser's own zone ({far})"
