"""The console form "Melding invoeren namens NSP" (``/console/relay``).

An operator types or pastes a short form (a USB QR scanner types it too) that came by radio,
runner, SMS or stick. The page's script (``static/relay.js``) asks the CP to check and decode
it as the operator types (``POST /api/v1/fallback/shortform/decode``: the server is the
authority, the page never guesses) and saves it through ``POST /api/v1/fallback/relay``, the
normal ingest path. Below the form: what the CP has to say back to the NSPs over the radio
(state changes and urgent bulletins, as read-out text) and the reports that came by another
channel than the link, with their channel history.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from noodcore.httpguard import Identity, require_page
from service.auth.roles import OPERATORS
from service.web.render import page_language, render

router = APIRouter(tags=["console"])

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Melding invoeren namens NSP",
        "intro": "Typ of plak het korte bericht zoals het via portofoon, loper, sms of "
        "usb-stick binnenkwam (een QR-scanner typt het ook). De controlecode wordt al tijdens "
        "het typen gecontroleerd; opslaan zet de melding in de gewone verwerking (groeperen, "
        "prioriteit, doorsturen).",
        "text_label": "Kort bericht",
        "channel_label": "Binnengekomen via",
        "save": "Opslaan en in de wachtrij zetten",
        "checking": "Controleren…",
        "check_ok": "Controlecode klopt.",
        "preview": "Voorbeeld",
        "unknown_code": "Let op: korte code hoort bij geen bekende NSP.",
        "saved": "Opgeslagen: melding {seq} van {nsp} ({urgency}) staat in de wachtrij.",
        "known": "Deze melding was er al (ontvangen {at}); het kanaal is toegevoegd.",
        "refused": "Niet opgeslagen: {reason}",
        "back": "Terug naar de console",
        "readouts_title": "Door te geven via portofoon",
        "readouts_intro": "Wat de NSP's nog niet digitaal kunnen horen: statuswijzigingen en "
        "urgente berichten, in de woorden voor de portofoon.",
        "readouts_empty": "Niets door te geven.",
        "relays_title": "Meldingen via andere kanalen",
        "relays_empty": "Nog geen meldingen via portofoon, loper, sms of usb.",
        "radio": "portofoon",
        "runner": "loper",
        "sms": "sms",
        "usb": "usb-stick",
        "mqtt": "digitaal",
        "http": "digitaal (HTTP)",
        "file": "usb-bestand",
        "by": "door {name}",
    },
    "en": {
        "title": "Enter a report on behalf of an NSP",
        "intro": "Type or paste the short form as it came by radio, runner, SMS or USB stick "
        "(a QR scanner types it too). The check code is checked while you type; saving puts "
        "the report through the normal ingest (grouping, priority, forwarding).",
        "text_label": "Short form",
        "channel_label": "Came by",
        "save": "Save and queue",
        "checking": "Checking…",
        "check_ok": "Check code matches.",
        "preview": "Preview",
        "unknown_code": "Note: the short code belongs to no known NSP.",
        "saved": "Saved: report {seq} of {nsp} ({urgency}) is in the queue.",
        "known": "This report was already there (received {at}); the channel was added.",
        "refused": "Not saved: {reason}",
        "back": "Back to the console",
        "readouts_title": "To pass on by radio",
        "readouts_intro": "What the NSPs cannot hear digitally yet: state changes and urgent "
        "bulletins, in words for the radio.",
        "readouts_empty": "Nothing to pass on.",
        "relays_title": "Reports by other channels",
        "relays_empty": "No reports by radio, runner, SMS or USB yet.",
        "radio": "radio",
        "runner": "runner",
        "sms": "SMS",
        "usb": "USB stick",
        "mqtt": "digital",
        "http": "digital (HTTP)",
        "file": "USB file",
        "by": "by {name}",
    },
}


@router.get(
    "/console/relay",
    response_class=HTMLResponse,
    summary="Console form: enter a short form on behalf of an NSP (HTML)",
)
def relay_page(
    request: Request, identity: Annotated[Identity | None, require_page(*OPERATORS)]
) -> HTMLResponse:
    assert identity is not None
    lang = page_language(request)
    r = {**TEXTS["nl"], **TEXTS[lang]}
    return render(
        request,
        "relay.html",
        lang,
        identity=identity,
        r=r,
        config={"lang": lang, "text": r},
        channels=["radio", "runner", "sms", "usb"],
    )
