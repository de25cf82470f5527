"""Every text of the CP's sign-in page and operator console, in Dutch and English.

Dutch first: a text missing in English falls back to Dutch, never to a key. The console's
script gets the texts of its page language from the page itself (no second request), with the
category and urgency names the priority lines use (``service.triage.priority``).
"""

from __future__ import annotations

from typing import Any, Literal

from noodcore.pagelang import DEFAULT_TIMEZONE, PageClock
from noodcore.signin import refusal
from schemas import utcnow
from service.triage.priority import CATEGORY, CLASS_TEXT
from service.web import nspf_texts

UiLang = Literal["nl", "en"]

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "app": "Noodnet coördinatiepunt",
        "skip": "Naar de inhoud",
        # sign-in
        "login_title": "Inloggen",
        "login_intro": "Vul uw toegangscode in (begint met nn_). U krijgt die van de beheerder "
        "van het coördinatiepunt.",
        "login_required": "Log in om deze pagina te openen.",
        "login_token": "Toegangscode",
        "login_button": "Inloggen",
        "login_failed": "Deze toegangscode werkt niet: {reason}",
        "login_signed_out": "U bent uitgelogd. Deze browser bewaart uw code niet meer.",
        "reason_unknown": "de code is onbekend (typefout?)",
        "reason_revoked": "de code is ingetrokken op {at}",
        "reason_expired": "de code is verlopen op {at}",
        "reason_role": "met de rol {role} kunt u hier niet inloggen (nodig: operator, viewer of "
        "admin)",
        "reason_malformed": "de browser stuurde geen bruikbare code",
        "reason_invalid": "de code is niet geldig",
        # console: page
        "console_title": "Operatorconsole",
        "signed_in_as": "Aangemeld als {name} ({role})",
        "not_signed_in": "Niet aangemeld",
        "sign_in": "Inloggen",
        "sign_out": "Uitloggen",
        "to_dashboard": "Crisisbeeld",
        "to_relay": "Melding invoeren namens NSP",
        "to_desk": "Informatiebalie",
        "readonly_role": "Alleen lezen: uw rol ({role}) mag de meldingen bekijken, maar niet "
        "afhandelen. Voor bevestigen, status wijzigen, samenvoegen en splitsen hebt u een "
        "operator-code nodig.",
        "readonly_anonymous": "Alleen lezen: u bent niet aangemeld. Log in met een "
        "operator-code om meldingen af te handelen.",
        "queue_title": "Open werk — urgentst eerst",
        "queue_empty": "Geen open meldingen.",
        "exercise_mark": "OEFENING OEFENING OEFENING",
        "real_mark": "ECHT — GEEN OEFENING",
        "exercise_open": "Oefening loopt: {name} ({id}). Alles van deze oefening is gemarkeerd "
        "OEFENING; echte meldingen staan bovenaan en zijn niet gemarkeerd.",
        "exercise_none": "Geen oefening open.",
        "exercise_section": "OEFENING OEFENING OEFENING — oefening {id}",
        "exercise_p1": "OEFENING: {n} oefen-P1 nog niet bevestigd",
        "exercise_filter": "Tonen",
        "exercise_filter_all": "Echt en oefening",
        "exercise_filter_real": "Alleen echt",
        "exercise_filter_exercise": "Alleen oefening",
        "exercise_id_label": "Oefening-id",
        "exercise_name_label": "Naam",
        "exercise_open_button": "Oefening openen",
        "exercise_close_button": "Oefening {id} sluiten",
        "p1_waiting": "{n} levensbedreigende melding(en) nog niet bevestigd",
        "p1_open_first": "Open #{id}",
        "queue_loading": "Laden…",
        "updated": "Bijgewerkt {time}",
        "stale": "Geen verbinding met de CP-service sinds {time}: wat u ziet kan verouderd zijn.",
        "workers_failing": "Storing in de CP-service: {names} faalt steeds. Meldingen of berichten "
        "naar de NSP's kunnen vertraagd zijn; waarschuw de beheerder (details: /readyz).",
        "grouping_waiting": "{n} melding(en) ontvangen maar nog niet in de wachtrij, waarvan {p1} "
        "P1; de oudste wacht {seconds} s. Ze komen er vanzelf bij, P1 eerst.",
        "pick_item": "Kies links een melding om die te openen.",
        # console: items
        "item_incident": "Incident",
        "item_resource_request": "Middelen gevraagd",
        "possible_duplicate": "Mogelijk dubbel met #{id} — beslissen",
        "duplicate_question": "Is dit hetzelfde als #{id}? Voeg samen, of houd apart.",
        "duplicate_separate": "Besloten: apart van #{id}.",
        "reports_n": "{n} meldingen",
        "report_1": "1 melding",
        "people_label": "Personen",
        "people": "{n} betrokken, {v} kwetsbaar",
        "times_label": "Tijden",
        "first_last": "Eerste melding {first}, laatste {last}",
        "state_since": "sinds {time}",
        "merged_into": "Samengevoegd in #{id}: werk daar verder.",
        "split_from": "Afgesplitst van #{id}.",
        "closed_note": "Afgesloten: staat niet meer in de lijst.",
        "priority": "Prioriteit",
        "nsps": "NSP's",
        "address": "Adres",
        "reports": "Meldingen",
        "col_select": "Kies",
        "col_time": "Tijd",
        "col_nsp": "NSP",
        "col_kind": "Soort",
        "col_what": "Wat",
        "col_description": "Beschrijving",
        "col_address": "Adres",
        "col_joined": "Hoe erbij",
        # case view: what the reports carry; queue filters
        "landmark": "Herkenningspunt",
        "reporter": "Melder",
        "callback": "Hoe bereikt het CP de melder?",
        "per_nsp": "Meldingen per NSP",
        "col_channel": "Kanaal",
        "col_reporter": "Melder en contact",
        "col_landmark": "Herkenningspunt",
        "all_fields": "alle velden",
        "channel_mqtt": "MQTT (gateway)",
        "channel_http": "HTTP",
        "filter_label": "Filter",
        "filter_all_classes": "Alle P-niveaus",
        "filter_all_categories": "Alle categorieën",
        "filter_all_nsps": "Alle NSP's",
        "filter_all_states": "Alle statussen",
        "search": "Zoeken",
        "search_hint": "tekst, adres, #nummer",
        "filter_none": "Niets gevonden met dit filter ({n} open).",
        "filter_count": "{shown} van {n}",
        "audit": "Logboek",
        "audit_empty": "Nog geen acties.",
        "col_who": "Wie",
        "col_action": "Actie",
        "col_change": "Status",
        "col_note": "Notitie",
        # console: actions
        "actions": "Afhandelen",
        "note_label": "Notitie (verplicht bij elke actie; gaat mee naar de NSP's)",
        "note_missing": "Schrijf eerst een korte notitie: wat u doet of waarom.",
        "next_state": "Nieuwe status",
        "no_next_state": "Geen statuswijziging mogelijk.",
        "merge_label": "Samenvoegen in incident nr.",
        "merge_button": "Samenvoegen",
        "merge_hint": "De meldingen gaan naar het andere incident; dit incident sluit als "
        "dubbel. Er wordt niets verwijderd.",
        "merge_target_missing": "Vul het nummer in van het incident waarin dit moet opgaan.",
        "merge_with": "Samenvoegen met #{id}",
        "keep_separate": "Apart houden",
        "split_button": "Gekozen meldingen afsplitsen",
        "split_hint": "Vink in de tabel de meldingen aan die een eigen incident worden.",
        "split_none": "Vink eerst in de tabel de meldingen aan die een eigen incident moeten "
        "worden.",
        "working": "Bezig…",
        "done_state": "#{id} staat nu op ‘{state}’.",
        "done_acks": "{n} bericht(en) naar de NSP's onderweg.",
        "done_merge": "#{id} is samengevoegd in #{into}.",
        "done_split": "Afgesplitst als nieuw incident #{id}.",
        "done_keep": "#{id} blijft een apart incident.",
        # console: errors
        "err_409": "Dit kan niet (409)",
        "err_422": "Niet geaccepteerd (422)",
        "err_403": "Geen toestemming (403)",
        "err_401": "U bent niet (meer) aangemeld (401).",
        "err_404": "Niet gevonden (404)",
        "err_server": "Fout in de CP-service ({status})",
        "err_network": "Geen verbinding met de CP-service",
        "server_said": "Antwoord van de CP-service:",
        "conflict_state": "#{id} staat nu op ‘{state}’ en kan niet naar ‘{to}’.",
        "allowed_now": "Nu mogelijk: {list}.",
        "allowed_none": "Nu is geen statuswijziging mogelijk.",
        "sign_in_again": "Opnieuw inloggen",
        "field_note": "notitie",
        "field_into": "incidentnummer",
        "field_message_ids": "meldingen",
        "field_state": "status",
        # audit actions
        "action_state": "status",
        "action_merge": "samengevoegd (ontvangen)",
        "action_merged_into": "samengevoegd in ander incident",
        "action_split": "meldingen afgesplitst",
        "action_split_out": "ontstaan door afsplitsen",
        "action_keep_separate": "apart gehouden",
        "action_possible_duplicate": "mogelijk dubbel",
    },
    "en": {
        "app": "Noodnet coordination point",
        "skip": "Skip to content",
        "login_title": "Sign in",
        "login_intro": "Enter your access code (starts with nn_). The coordination point's "
        "administrator gives it to you.",
        "login_required": "Sign in to open this page.",
        "login_token": "Access code",
        "login_button": "Sign in",
        "login_failed": "This access code does not work: {reason}",
        "login_signed_out": "You are signed out. This browser no longer keeps your code.",
        "reason_unknown": "the code is unknown (a typo?)",
        "reason_revoked": "the code was revoked on {at}",
        "reason_expired": "the code expired on {at}",
        "reason_role": "the role {role} cannot sign in here (needed: operator, viewer or admin)",
        "reason_malformed": "the browser sent no usable code",
        "reason_invalid": "the code is not valid",
        "console_title": "Operator console",
        "signed_in_as": "Signed in as {name} ({role})",
        "not_signed_in": "Not signed in",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "to_dashboard": "Crisis picture",
        "to_relay": "Enter a report for an NSP",
        "to_desk": "Information desk",
        "readonly_role": "Read only: your role ({role}) may view the queue but not act on it. "
        "Acknowledging, changing states, merging and splitting need an operator code.",
        "readonly_anonymous": "Read only: you are not signed in. Sign in with an operator code "
        "to handle items.",
        "queue_title": "Open work — most urgent first",
        "queue_empty": "No open items.",
        "exercise_mark": "OEFENING OEFENING OEFENING",
        "real_mark": "REAL — NOT AN EXERCISE",
        "exercise_open": "Exercise running: {name} ({id}). Everything of this exercise is marked "
        "OEFENING; real items are on top and not marked.",
        "exercise_none": "No exercise open.",
        "exercise_section": "OEFENING OEFENING OEFENING — exercise {id}",
        "exercise_p1": "OEFENING: {n} exercise P1 not acknowledged yet",
        "exercise_filter": "Show",
        "exercise_filter_all": "Real and exercise",
        "exercise_filter_real": "Real only",
        "exercise_filter_exercise": "Exercise only",
        "exercise_id_label": "Exercise id",
        "exercise_name_label": "Name",
        "exercise_open_button": "Open exercise",
        "exercise_close_button": "Close exercise {id}",
        "p1_waiting": "{n} life-threatening item(s) not acknowledged yet",
        "p1_open_first": "Open #{id}",
        "queue_loading": "Loading…",
        "updated": "Updated {time}",
        "stale": "No connection to the CP service since {time}: what you see may be out of date.",
        "workers_failing": "Fault in the CP service: {names} keeps failing. Reports or messages "
        "to the NSPs may be delayed; tell the administrator (details: /readyz).",
        "grouping_waiting": "{n} report(s) received but not yet in the queue, {p1} of them P1; "
        "the oldest has waited {seconds} s. They are being added, P1s first.",
        "pick_item": "Pick an item on the left to open it.",
        "item_incident": "Incident",
        "item_resource_request": "Resource request",
        "possible_duplicate": "Possible duplicate of #{id} — decide",
        "duplicate_question": "Is this the same as #{id}? Merge, or keep separate.",
        "duplicate_separate": "Decided: separate from #{id}.",
        "reports_n": "{n} reports",
        "report_1": "1 report",
        "people_label": "People",
        "people": "{n} involved, {v} vulnerable",
        "times_label": "Times",
        "first_last": "First report {first}, last {last}",
        "state_since": "since {time}",
        "merged_into": "Merged into #{id}: continue there.",
        "split_from": "Split from #{id}.",
        "closed_note": "Closed: no longer in the queue.",
        "priority": "Priority",
        "nsps": "NSPs",
        "address": "Address",
        "reports": "Reports",
        "col_select": "Pick",
        "col_time": "Time",
        "col_nsp": "NSP",
        "col_kind": "Kind",
        "col_what": "What",
        "col_description": "Description",
        "col_address": "Address",
        "col_joined": "How it joined",
        # case view: what the reports carry; queue filters
        "landmark": "Landmark",
        "reporter": "Reporter",
        "callback": "How does the CP reach the reporter?",
        "per_nsp": "Reports per NSP",
        "col_channel": "Channel",
        "col_reporter": "Reporter and contact",
        "col_landmark": "Landmark",
        "all_fields": "all fields",
        "channel_mqtt": "MQTT (gateway)",
        "channel_http": "HTTP",
        "filter_label": "Filter",
        "filter_all_classes": "All P levels",
        "filter_all_categories": "All categories",
        "filter_all_nsps": "All NSPs",
        "filter_all_states": "All states",
        "search": "Search",
        "search_hint": "text, address, #number",
        "filter_none": "Nothing matches this filter ({n} open).",
        "filter_count": "{shown} of {n}",
        "audit": "Audit trail",
        "audit_empty": "No actions yet.",
        "col_who": "Who",
        "col_action": "Action",
        "col_change": "State",
        "col_note": "Note",
        "actions": "Handle",
        "note_label": "Note (required for every action; sent to the NSPs)",
        "note_missing": "Write a short note first: what you do or why.",
        "next_state": "Next state",
        "no_next_state": "No state change possible.",
        "merge_label": "Merge into incident no.",
        "merge_button": "Merge",
        "merge_hint": "The reports move to the other incident; this one closes as a duplicate. "
        "Nothing is deleted.",
        "merge_target_missing": "Enter the number of the incident this one belongs to.",
        "merge_with": "Merge with #{id}",
        "keep_separate": "Keep separate",
        "split_button": "Split the picked reports out",
        "split_hint": "Tick the reports in the table that become an incident of their own.",
        "split_none": "First tick the reports in the table that should become an incident of "
        "their own.",
        "working": "Working…",
        "done_state": "#{id} is now ‘{state}’.",
        "done_acks": "{n} message(s) to the NSPs on their way.",
        "done_merge": "#{id} was merged into #{into}.",
        "done_split": "Split out as new incident #{id}.",
        "done_keep": "#{id} stays a separate incident.",
        "err_409": "Not possible (409)",
        "err_422": "Not accepted (422)",
        "err_403": "Not allowed (403)",
        "err_401": "You are not (or no longer) signed in (401).",
        "err_404": "Not found (404)",
        "err_server": "Error in the CP service ({status})",
        "err_network": "No connection to the CP service",
        "server_said": "The CP service said:",
        "conflict_state": "#{id} is now ‘{state}’ and cannot go to ‘{to}’.",
        "allowed_now": "Possible now: {list}.",
        "allowed_none": "No state change is possible now.",
        "sign_in_again": "Sign in again",
        "field_note": "note",
        "field_into": "incident number",
        "field_message_ids": "reports",
        "field_state": "state",
        "action_state": "state",
        "action_merge": "merged (received)",
        "action_merged_into": "merged into another incident",
        "action_split": "reports split out",
        "action_split_out": "created by a split",
        "action_keep_separate": "kept separate",
        "action_possible_duplicate": "possible duplicate",
    },
}

# Names of the item states, and the words on the buttons that move an item there.
STATES: dict[str, dict[str, str]] = {
    "nl": {
        "new": "Nieuw",
        "acknowledged": "Bevestigd",
        "dispatched": "Hulp onderweg",
        "in_progress": "In behandeling",
        "resolved": "Opgelost",
        "closed_duplicate": "Gesloten (dubbel)",
        "closed_not_needed": "Gesloten (niet nodig)",
    },
    "en": {
        "new": "New",
        "acknowledged": "Acknowledged",
        "dispatched": "Help dispatched",
        "in_progress": "In progress",
        "resolved": "Resolved",
        "closed_duplicate": "Closed (duplicate)",
        "closed_not_needed": "Closed (not needed)",
    },
}
STATE_ACTIONS: dict[str, dict[str, str]] = {
    "nl": {
        "acknowledged": "Bevestigen",
        "reopen": "Heropenen",
        "dispatched": "Hulp onderweg",
        "in_progress": "In behandeling",
        "resolved": "Opgelost",
        "closed_duplicate": "Sluiten: dubbel",
        "closed_not_needed": "Sluiten: niet nodig",
    },
    "en": {
        "acknowledged": "Acknowledge",
        "reopen": "Reopen",
        "dispatched": "Help dispatched",
        "in_progress": "In progress",
        "resolved": "Resolved",
        "closed_duplicate": "Close: duplicate",
        "closed_not_needed": "Close: not needed",
    },
}
KINDS: dict[str, dict[str, str]] = {
    "nl": {
        "help_request": "Noodhulp",
        "situation_report": "Situatie",
        "resource_request": "Middelen",
    },
    "en": {
        "help_request": "Help request",
        "situation_report": "Situation",
        "resource_request": "Resources",
    },
}
JOINED_BY: dict[str, dict[str, str]] = {
    "nl": {
        "new": "eerste melding",
        "match": "herkend als hetzelfde",
        "own": "P1: apart gehouden",
        "merge": "samengevoegd",
        "split": "afgesplitst",
    },
    "en": {
        "new": "first report",
        "match": "recognised as the same",
        "own": "P1: kept apart",
        "merge": "merged",
        "split": "split out",
    },
}

# The citizen-aid and goods pages keep their texts in their own module.
for _lang in ("nl", "en"):
    TEXTS[_lang].update(nspf_texts.TEXTS[_lang])


class Texts:
    """``t('key', name=value)`` in one language, falling back to Dutch."""

    def __init__(self, lang: UiLang) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        text = TEXTS[self.lang].get(key) or TEXTS["nl"].get(key) or key
        return text.format(**values) if values else text

    def for_script(self) -> dict[str, Any]:
        """Everything the console's script shows, in this language."""
        i = 1 if self.lang == "en" else 2
        return {
            "text": {**TEXTS["nl"], **TEXTS[self.lang]},
            "states": STATES[self.lang],
            "state_actions": STATE_ACTIONS[self.lang],
            "kinds": KINDS[self.lang],
            "joined_by": JOINED_BY[self.lang],
            "categories": {code: names[i] for code, names in CATEGORY.items()},
            "classes": {cls: names[i - 1] for cls, names in CLASS_TEXT.items()},
        }

    def login_reason(self, error: str, tz: str = DEFAULT_TIMEZONE) -> str:
        """The verifier's English reason in this language (times in the CP's zone)."""
        why = refusal(error)
        at = PageClock(tz, utcnow()).full(why.at) if why.at else ""
        return self(f"reason_{why.key}", at=at, role=why.role or "")


def texts(lang: UiLang) -> Texts:
    return Texts(lang)
