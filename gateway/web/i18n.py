"""Every text on the info board and the staff screens, in Dutch and English.

Plain words for volunteers and residents: no jargon, no codes. Dutch is the default; a page
in another language falls back to Dutch for anything not translated (never to a key).
"""

from __future__ import annotations

from typing import Literal

from gateway.web import nspf_texts

UiLang = Literal["nl", "en"]
UI_LANGS: tuple[UiLang, ...] = ("nl", "en")

# Names of languages as their speakers write them, for the board's language switch.
LANGUAGE_NAMES = {
    "nl": "Nederlands",
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "pl": "Polski",
    "tr": "Türkçe",
    "ar": "العربية",
    "uk": "Українська",
    "ru": "Русский",
    "es": "Español",
    "pt": "Português",
    "ro": "Română",
    "bg": "Български",
    "so": "Soomaali",
    "ti": "ትግርኛ",
    "fy": "Frysk",
    "zh": "中文",
    "fa": "فارسی",
}
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "app_name": "Noodsteunpunt",
        "login_title": "Inloggen voor medewerkers",
        "login_intro": "Vul de toegangscode in die u van de coördinator van het noodsteunpunt "
        "heeft gekregen (begint met nn_).",
        "login_token": "Toegangscode",
        "login_button": "Inloggen",
        "login_failed": "Deze toegangscode werkt niet: {reason}",
        "logout_button": "Uitloggen",
        "skip_to_content": "Naar de inhoud",
        "language": "Taal",
        "board_title": "Officiële informatie",
        "board_intro": "Berichten van de overheid voor iedereen in de buurt.",
        "board_empty": "Er zijn op dit moment geen berichten van de overheid.",
        "board_last_update": "Laatste bericht van het coördinatiepunt: {time}",
        "board_no_update": "Nog geen berichten van het coördinatiepunt ontvangen.",
        "board_rendered": "Bijgewerkt om {time}",
        "board_connected": "Verbonden met het coördinatiepunt.",
        "offline_title": "Geen verbinding met het coördinatiepunt",
        "offline_since": "Sinds {time} is er geen verbinding.",
        "offline_since_start": "Sinds het opstarten om {time} is er nog geen verbinding.",
        "offline_body": "Nieuwe berichten komen pas binnen als de verbinding terug is. "
        "De informatie hieronder kan verouderd zijn. Vraag de medewerkers als u twijfelt.",
        "screen_stale": "Dit scherm kan de computer van het noodsteunpunt niet bereiken. "
        "De informatie is van {time}.",
        "what_to_do": "Wat moet u doen?",
        "where": "Waar",
        "source": "Bron",
        "valid_until": "Geldig tot {time}",
        "valid_from": "Geldig vanaf {time}",
        "only_in_dutch": "Dit bericht is alleen in het Nederlands beschikbaar.",
        "version": "versie {version}",
        "urgency_P1": "Levensgevaar",
        "urgency_P2": "Dringend",
        "urgency_P3": "Belangrijk",
        "urgency_P4": "Informatie",
        "print": "Afdrukken",
        "printed_at": "Afgedrukt op {time}",
        "to_board": "Informatiebord",
        "to_staff": "Medewerkers",
        "index_intro": "Kies wat u wilt openen.",
        "index_board": "Informatiebord voor bewoners (scherm of afdruk bij de deur)",
        "index_staff": "Schermen voor medewerkers: meldingen doen en taken bekijken",
        # staff
        "staff_title": "Medewerkers",
        "exercise_mode_title": "Oefening",
        "exercise_mode_on": "Oefenmodus aan: oefening {name} ({id}). Bij elke melding kiest u: "
        "OEFENING of ECHT noodgeval.",
        "exercise_mode_off": "Geen oefening. Alle meldingen zijn echt.",
        "exercise_mode_id": "Oefening-id (van de CP)",
        "exercise_mode_name": "Naam",
        "exercise_mode_start": "Oefenmodus starten",
        "exercise_mode_stop": "Oefenmodus stoppen",
        "exercise_choice_label": "Is dit een oefening?",
        "exercise_choice_exercise": "oefenmelding (oefening {id})",
        "exercise_choice_real": "ECHT noodgeval (geen oefening)",
        "exercise_choice_missing": "Kies OEFENING of ECHT noodgeval: tijdens een oefening "
        "wordt dat nooit aangenomen.",
        "real_mark": "ECHT — GEEN OEFENING",
        "exercise_bulletin": "Dit bericht hoort bij een oefening. Het is geen echte informatie.",
        "staff_intro": "Meldingen gaan naar het coördinatiepunt (CP). Ook zonder verbinding "
        "worden ze bewaard en later verzonden.",
        "nav_home": "Overzicht",
        "nav_help": "Noodhulp",
        "nav_situation": "Situatie melden",
        "nav_resource": "Iets nodig",
        "nav_status": "Status NSP",
        "nav_sent": "Verzonden",
        "nav_tasks": "Taken",
        "form_help_title": "Noodhulpmelding",
        "form_help_intro": "Voor iemand die nu hulp nodig heeft en 112 niet kan bereiken.",
        "form_situation_title": "Situatie in de buurt melden",
        "form_situation_intro": "Wat bewoners zien of nodig hebben: schade, water, gezondheid, "
        "veiligheid, geruchten, vragen.",
        "form_resource_title": "Het noodsteunpunt heeft iets nodig",
        "form_resource_intro": "Brandstof, water, medicijnen, mensen of spullen.",
        "form_status_title": "Status van het noodsteunpunt",
        "form_status_intro": "Geef door hoe het noodsteunpunt erbij staat. Dit wordt ook "
        "regelmatig automatisch herhaald.",
        "required": "verplicht",
        "optional": "niet verplicht",
        "send": "Versturen",
        "errors_title": "Er ging iets mis. Controleer deze velden:",
        "save_failed": "De melding is NIET opgeslagen: de gateway kan niet meer op zijn "
        "schijf schrijven (schijf vol of defect). Schrijf de melding op papier, geef haar "
        "telefonisch of per portofoon door aan de CP en waarschuw de beheerder van de "
        "gateway. Wat u invulde staat hieronder nog.",
        "err_missing": "Vul dit veld in.",
        "err_choice": "Kies een van de mogelijkheden.",
        "err_number": "Vul een getal in, bijvoorbeeld 3.",
        "err_min": "Dit moet minstens {limit} zijn.",
        "err_max": "Dit mag hoogstens {limit} zijn.",
        "err_more_than": "Dit moet meer dan {limit} zijn.",
        "err_too_long": "Dit is te lang: hoogstens {limit} tekens.",
        "err_datetime": "Vul een datum en tijd in, bijvoorbeeld 23-11-2026 14:30.",
        "err_address": "Vul een adres in: straat, huisnummer en plaats.",
        "err_vulnerable": "Dit kan niet meer zijn dan het aantal betrokken personen.",
        "err_invalid": "Deze waarde klopt niet.",
        "err_characters": "Hier staat een teken dat niet mag (een stuurteken). "
        "Typ de tekst opnieuw.",
        "err_form_origin": "Dit formulier kwam niet van dit noodsteunpunt.",
        "saved_title": "Opgeslagen",
        "saved_body": "De melding is bewaard op deze computer en gaat naar het CP zodra er "
        "verbinding is. Hieronder ziet u wanneer het CP hem heeft ontvangen.",
        # fields
        "f_category": "Wat is er aan de hand?",
        "f_urgency": "Hoe dringend?",
        "f_address": "Adres (straat, huisnummer, plaats)",
        "f_address_hint": "Bijvoorbeeld: Kerkstraat 12, Oss",
        "f_location_description": "Herkenningspunt of uitleg waar precies",
        "f_people_involved": "Aantal personen dat hulp nodig heeft",
        "f_vulnerable_people": "Waarvan kwetsbaar (ouderen, zieken, kinderen)",
        "f_description": "Beschrijving",
        "f_description_hint": "Wat is er gebeurd, wat is er nodig?",
        "f_reporter_name": "Naam van de melder",
        "f_callback": "Hoe bereikt het CP de melder?",
        "f_callback_hint": "Bijvoorbeeld: blijft in het noodsteunpunt",
        "f_situation_category": "Onderwerp",
        "f_severity": "Hoe ernstig?",
        "f_observed_at": "Wanneer gezien",
        "f_people_affected": "Aantal getroffen mensen (schatting)",
        "f_resource": "Wat voor soort?",
        "f_item": "Wat precies",
        "f_item_hint": "Bijvoorbeeld: diesel voor het aggregaat",
        "f_quantity": "Hoeveel",
        "f_unit": "Eenheid",
        "f_unit_hint": "Bijvoorbeeld: liter, dozen, personen",
        "f_needed_by": "Uiterlijk nodig op",
        "f_resource_urgency": "Hoe dringend?",
        "f_note": "Opmerking",
        "f_state": "Is het noodsteunpunt open?",
        "f_power_source": "Stroom van",
        "f_power_hours_left": "Nog hoeveel uur stroom (schatting)",
        "f_staff_present": "Medewerkers aanwezig",
        "f_volunteers_present": "Vrijwilligers aanwezig",
        "f_visitors_last_hour": "Bezoekers het afgelopen uur",
        "f_functions": "Wat biedt het noodsteunpunt nu?",
        "f_link_quality": "Verbinding met het CP",
        # sent list
        "sent_title": "Verzonden meldingen",
        "sent_intro": "Alles wat dit noodsteunpunt heeft verstuurd, het nieuwste bovenaan. "
        "Deze lijst ververst vanzelf.",
        "sent_empty": "Nog niets verstuurd.",
        "sent_created": "Gemaakt om {time}",
        "sent_history": "Verloop",
        "state_waiting": "Wacht op verbinding",
        "state_sending": "Wordt verzonden",
        "state_sent": "Verzonden, wacht op bevestiging van het CP",
        "state_stored": "Ontvangen door CP om {time}",
        "state_refused": "Geweigerd door de server; wordt opnieuw geprobeerd ({error})",
        "cp_acknowledged": "In behandeling bij het CP",
        "cp_dispatched": "Hulp is onderweg",
        "cp_dispatched_resource": "Is onderweg",
        "cp_in_progress": "Wordt afgehandeld",
        "cp_resolved": "Afgehandeld",
        "cp_closed": "Gesloten",
        "cp_received_not_processed": "Ontvangen, niet verwerkt — de CP kijkt ernaar",
        "cp_at": "om {time}",
        "link_up": "Verbonden met het CP",
        "link_down": "Geen verbinding met het CP sinds {time}",
        "link_down_start": "Nog geen verbinding met het CP (sinds {time})",
        "pending": "{count} melding(en) wachten nog op bevestiging van het CP.",
        # tasks
        "tasks_title": "Taken van het CP",
        "backup_title": "Reservekopie op USB-stick",
        "tasks_intro": "Opdrachten van het coördinatiepunt. Klik op 'Gedaan' als het klaar is: "
        "het CP ziet dat dan ook.",
        "tasks_open": "Nog te doen",
        "tasks_done": "Gedaan",
        "tasks_cancelled": "Ingetrokken door het CP",
        "tasks_none_open": "Er zijn geen open taken.",
        "task_due": "Uiterlijk {time}",
        "task_received": "Ontvangen om {time}",
        "task_done_button": "Gedaan",
        "task_reopen_button": "Toch niet gedaan",
        "task_done_by": "Gedaan door (naam of initialen)",
        "task_done_at": "Gedaan om {time}",
        "task_done_by_name": "door {name}",
        "open_tasks_count": "{count} open taak/taken",
        "task_unknown": "Deze taak bestaat niet (meer).",
        "task_cancelled_error": "Deze taak is ingetrokken door het CP.",
        "relay_title": "Doorgeven via portofoon",
        "relay_intro": "Het CP heeft deze urgente meldingen na {wait} nog niet "
        "bevestigd, of de verbinding is al zo lang weg. Lees ze voor via de portofoon (of geef "
        "het loperbriefje mee). De melding blijft in de wachtrij tot het CP haar echt heeft.",
        "relay_card_title": "Doorgeven via portofoon",
        "relay_minutes": "{n} minuten",
        "relay_seconds": "{n} seconden",
        "relay_short_form": "Kort bericht:",
        "relay_check": "Controlecode",
        "relay_print": "Print loperbriefje (A6)",
        "relay_mark_button": "Doorgegeven? Vastleggen",
        "relay_mark_title": "Doorgegeven vastleggen",
        "relay_mark_intro": "Leg vast hoe de melding is doorgegeven en wie van het CP het "
        "bevestigde. De melding blijft in de wachtrij tot het CP ontvangst digitaal bevestigt.",
        "relay_mark_channel": "Doorgegeven via",
        "relay_channel_radio": "portofoon",
        "relay_channel_runner": "loper",
        "relay_channel_sms": "sms",
        "relay_confirmed_by": "Bevestigd door (naam bij het CP)",
        "relay_confirmed_at": "Bevestigd door CP om (UU:MM)",
        "relay_by": "Uw naam",
        "relay_mark_save": "Vastleggen",
        "relay_history": "Doorgegeven",
        "relay_confirmed_line": "bevestigd door {name} om {time}",
        "relay_stays": "Deze melding blijft klaarstaan en wordt opnieuw verstuurd zodra de "
        "verbinding terug is; het CP telt haar maar één keer.",
        "relay_passed": "Doorgegeven via {channel} om {time}; wacht op digitale bevestiging",
        "relay_passed_confirmed": "Doorgegeven via {channel}, bevestigd door CP om {time}",
        "relay_received_then_digital": "Ontvangen via {channel} om {time}, later ook digitaal",
        "relay_no_code": "Geen korte code ingesteld voor dit NSP (NOODNET_SHORT_CODE); geef "
        "de melding in eigen woorden door.",
        "relay_too_long": "Deze melding past niet in een kort bericht; geef haar in eigen "
        "woorden door.",
        "relay_bad_time": "Tijd als UU:MM, bijvoorbeeld 14:05.",
        "relay_bad_channel": "Kies portofoon, loper of sms.",
        "relay_unknown": "Deze melding bestaat niet (meer).",
        "relay_slip_title": "Loperbriefje noodmelding",
        "relay_slip_for": "Afgeven bij het coördinatiepunt (CP). Operator: typ of scan het korte "
        "bericht in 'Melding invoeren namens NSP'.",
        "relay_slip_made": "Melding gemaakt om {time}",
        "relay_slip_print": "Afdrukken",
        "board_channels": "Meldingen doorgegeven buiten de verbinding om: {counts}",
        "bulletin_radio_title": "Bericht via portofoon ontvangen",
        "bulletin_radio_intro": "Heeft het CP een bericht via de portofoon voorgelezen? Leg "
        "de berichtcode en versie vast; het CP ziet dan (zodra de verbinding terug is) dat dit "
        "NSP het bericht heeft, en hoe.",
        "bulletin_radio_code": "Berichtcode (zoals voorgelezen)",
        "bulletin_radio_version": "Versie",
        "bulletin_radio_channel": "Ontvangen via",
        "bulletin_radio_save": "Vastleggen",
        "bulletin_radio_saved": "Vastgelegd: bericht {code} versie {version}, ontvangen via "
        "portofoon. Het CP hoort dit zodra de verbinding terug is.",
        "bulletin_radio_invalid": "Berichtcode: kleine letters, cijfers, '-' of '_'; versie: "
        "een getal vanaf 1.",
    },
    "en": {
        "app_name": "Emergency support point",
        "login_title": "Staff sign-in",
        "login_intro": "Enter the access code you received from the NSP coordinator "
        "(it starts with nn_).",
        "login_token": "Access code",
        "login_button": "Sign in",
        "login_failed": "This access code does not work: {reason}",
        "logout_button": "Sign out",
        "skip_to_content": "Skip to content",
        "language": "Language",
        "board_title": "Official information",
        "board_intro": "Messages from the authorities for everyone in the area.",
        "board_empty": "There are no messages from the authorities at the moment.",
        "board_last_update": "Last message from the coordination point: {time}",
        "board_no_update": "No messages received from the coordination point yet.",
        "board_rendered": "Updated at {time}",
        "board_connected": "Connected to the coordination point.",
        "offline_title": "No connection to the coordination point",
        "offline_since": "There has been no connection since {time}.",
        "offline_since_start": "No connection yet since starting up at {time}.",
        "offline_body": "New messages arrive only when the connection is back. The "
        "information below may be out of date. Ask the staff if in doubt.",
        "screen_stale": "This screen cannot reach the support point's computer. The "
        "information is from {time}.",
        "what_to_do": "What should you do?",
        "where": "Where",
        "source": "Source",
        "valid_until": "Valid until {time}",
        "valid_from": "Valid from {time}",
        "only_in_dutch": "This message is only available in Dutch.",
        "version": "version {version}",
        "urgency_P1": "Danger to life",
        "urgency_P2": "Urgent",
        "urgency_P3": "Important",
        "urgency_P4": "Information",
        "print": "Print",
        "printed_at": "Printed on {time}",
        "to_board": "Information board",
        "to_staff": "Staff",
        "index_intro": "Choose what to open.",
        "index_board": "Information board for residents (screen or printout by the door)",
        "index_staff": "Staff screens: send reports and see tasks",
        "staff_title": "Staff",
        "exercise_mode_title": "Exercise",
        "exercise_mode_on": "Exercise mode on: exercise {name} ({id}). For every report you "
        "choose: OEFENING (exercise) or a REAL emergency.",
        "exercise_mode_off": "No exercise. Every report is real.",
        "exercise_mode_id": "Exercise id (from the CP)",
        "exercise_mode_name": "Name",
        "exercise_mode_start": "Start exercise mode",
        "exercise_mode_stop": "Stop exercise mode",
        "exercise_choice_label": "Is this an exercise?",
        "exercise_choice_exercise": "exercise report (exercise {id})",
        "exercise_choice_real": "REAL emergency (not an exercise)",
        "exercise_choice_missing": "Choose OEFENING or REAL emergency: during an exercise this "
        "is never assumed.",
        "real_mark": "REAL — NOT AN EXERCISE",
        "exercise_bulletin": "This message belongs to an exercise. It is not real information.",
        "staff_intro": "Reports go to the coordination point (CP). Without a connection they "
        "are kept and sent later.",
        "nav_home": "Overview",
        "nav_help": "Emergency help",
        "nav_situation": "Report situation",
        "nav_resource": "Need something",
        "nav_status": "NSP status",
        "nav_sent": "Sent",
        "nav_tasks": "Tasks",
        "form_help_title": "Emergency help request",
        "form_help_intro": "For someone who needs help now and cannot reach 112.",
        "form_situation_title": "Report the situation in the area",
        "form_situation_intro": "What residents see or need: damage, water, health, safety, "
        "rumours, questions.",
        "form_resource_title": "The support point needs something",
        "form_resource_intro": "Fuel, water, medicine, people or equipment.",
        "form_status_title": "Status of the support point",
        "form_status_intro": "Tell the CP how the support point is doing. This is also "
        "repeated automatically.",
        "required": "required",
        "optional": "optional",
        "send": "Send",
        "errors_title": "Something is not right. Please check these fields:",
        "save_failed": "The report was NOT saved: the gateway can no longer write to its "
        "disk (disk full or faulty). Write the report down, pass it to the CP by phone or "
        "radio and alert the gateway's administrator. What you entered is still below.",
        "err_missing": "Please fill in this field.",
        "err_choice": "Please choose one of the options.",
        "err_number": "Please enter a number, for example 3.",
        "err_min": "This must be at least {limit}.",
        "err_max": "This can be at most {limit}.",
        "err_more_than": "This must be more than {limit}.",
        "err_too_long": "This is too long: at most {limit} characters.",
        "err_datetime": "Please enter a date and time.",
        "err_address": "Please enter an address: street, number and town.",
        "err_vulnerable": "This cannot be more than the number of people involved.",
        "err_invalid": "This value is not right.",
        "err_characters": "This contains a character that is not allowed (a control "
        "character). Please type it again.",
        "err_form_origin": "This form did not come from this support point.",
        "saved_title": "Saved",
        "saved_body": "The report is stored on this computer and goes to the CP as soon as "
        "there is a connection. Below you see when the CP has received it.",
        "f_category": "What is the matter?",
        "f_urgency": "How urgent?",
        "f_address": "Address (street, number, town)",
        "f_address_hint": "For example: Kerkstraat 12, Oss",
        "f_location_description": "Landmark or directions",
        "f_people_involved": "Number of people who need help",
        "f_vulnerable_people": "Of whom vulnerable (elderly, ill, children)",
        "f_description": "Description",
        "f_description_hint": "What happened, what is needed?",
        "f_reporter_name": "Name of the person reporting",
        "f_callback": "How can the CP reach them?",
        "f_callback_hint": "For example: stays at the support point",
        "f_situation_category": "Subject",
        "f_severity": "How serious?",
        "f_observed_at": "When seen",
        "f_people_affected": "Number of people affected (estimate)",
        "f_resource": "What kind?",
        "f_item": "What exactly",
        "f_item_hint": "For example: diesel for the generator",
        "f_quantity": "How much",
        "f_unit": "Unit",
        "f_unit_hint": "For example: litres, boxes, people",
        "f_needed_by": "Needed by",
        "f_resource_urgency": "How urgent?",
        "f_note": "Note",
        "f_state": "Is the support point open?",
        "f_power_source": "Power from",
        "f_power_hours_left": "Hours of power left (estimate)",
        "f_staff_present": "Staff present",
        "f_volunteers_present": "Volunteers present",
        "f_visitors_last_hour": "Visitors in the last hour",
        "f_functions": "What does the support point offer now?",
        "f_link_quality": "Connection to the CP",
        "sent_title": "Sent reports",
        "sent_intro": "Everything this support point has sent, newest first. This list "
        "updates itself.",
        "sent_empty": "Nothing sent yet.",
        "sent_created": "Made at {time}",
        "sent_history": "History",
        "state_waiting": "Waiting for connection",
        "state_sending": "Being sent",
        "state_sent": "Sent, waiting for the CP to confirm",
        "state_stored": "Received by CP at {time}",
        "state_refused": "Refused by the server; will be retried ({error})",
        "cp_acknowledged": "Being handled by the CP",
        "cp_dispatched": "Help is on its way",
        "cp_dispatched_resource": "On its way",
        "cp_in_progress": "Being dealt with",
        "cp_resolved": "Resolved",
        "cp_closed": "Closed",
        "cp_received_not_processed": "Received, not processed — the CP is looking into it",
        "cp_at": "at {time}",
        "link_up": "Connected to the CP",
        "link_down": "No connection to the CP since {time}",
        "link_down_start": "No connection to the CP yet (since {time})",
        "pending": "{count} report(s) still waiting for confirmation from the CP.",
        "tasks_title": "Tasks from the CP",
        "backup_title": "Backup to a USB stick",
        "tasks_intro": "Instructions from the coordination point. Click 'Done' when finished: "
        "the CP sees it too.",
        "tasks_open": "To do",
        "tasks_done": "Done",
        "tasks_cancelled": "Called off by the CP",
        "tasks_none_open": "There are no open tasks.",
        "task_due": "By {time}",
        "task_received": "Received at {time}",
        "task_done_button": "Done",
        "task_reopen_button": "Not done after all",
        "task_done_by": "Done by (name or initials)",
        "task_done_at": "Done at {time}",
        "task_done_by_name": "by {name}",
        "open_tasks_count": "{count} open task(s)",
        "task_unknown": "This task does not exist (any more).",
        "task_cancelled_error": "This task was called off by the CP.",
        "relay_title": "Pass on by radio",
        "relay_intro": "The CP has not confirmed these urgent reports after {wait}, "
        "or the link has been down that long. Read them out over the radio (or give a runner "
        "the slip). The report stays queued until the CP really has it.",
        "relay_card_title": "Pass on by radio",
        "relay_minutes": "{n} minutes",
        "relay_seconds": "{n} seconds",
        "relay_short_form": "Short form:",
        "relay_check": "Check code",
        "relay_print": "Print runner slip (A6)",
        "relay_mark_button": "Passed on? Record it",
        "relay_mark_title": "Record passing on",
        "relay_mark_intro": "Record how the report was passed on and who at the CP confirmed "
        "it. The report stays queued until the CP confirms it digitally.",
        "relay_mark_channel": "Passed on by",
        "relay_channel_radio": "radio",
        "relay_channel_runner": "runner",
        "relay_channel_sms": "SMS",
        "relay_confirmed_by": "Confirmed by (name at the CP)",
        "relay_confirmed_at": "Confirmed by the CP at (HH:MM)",
        "relay_by": "Your name",
        "relay_mark_save": "Record",
        "relay_history": "Passed on",
        "relay_confirmed_line": "confirmed by {name} at {time}",
        "relay_stays": "This report stays queued and is sent again when the link is back; the "
        "CP counts it once.",
        "relay_passed": "Passed on by {channel} at {time}; waiting for the digital confirmation",
        "relay_passed_confirmed": "Passed on by {channel}, confirmed by the CP at {time}",
        "relay_received_then_digital": "Received by {channel} at {time}, later also digitally",
        "relay_no_code": "This NSP has no short code (NOODNET_SHORT_CODE); pass the report on "
        "in your own words.",
        "relay_too_long": "This report does not fit a short form; pass it on in your own words.",
        "relay_bad_time": "Time as HH:MM, e.g. 14:05.",
        "relay_bad_channel": "Choose radio, runner or SMS.",
        "relay_unknown": "This report does not exist (any more).",
        "relay_slip_title": "Runner slip: emergency report",
        "relay_slip_for": "Hand in at the coordination point (CP). Operator: type or scan the "
        "short form into 'Enter a report on behalf of an NSP'.",
        "relay_slip_made": "Report made at {time}",
        "relay_slip_print": "Print",
        "board_channels": "Reports passed on outside the link: {counts}",
        "bulletin_radio_title": "Bulletin received by radio",
        "bulletin_radio_intro": "Did the CP read out a bulletin over the radio? Record its code "
        "and version; the CP then sees (once the link is back) that this NSP has it, and how.",
        "bulletin_radio_code": "Bulletin code (as read out)",
        "bulletin_radio_version": "Version",
        "bulletin_radio_channel": "Received by",
        "bulletin_radio_save": "Record",
        "bulletin_radio_saved": "Recorded: bulletin {code} version {version}, received by "
        "radio. The CP hears of it once the link is back.",
        "bulletin_radio_invalid": "Bulletin code: lower-case letters, digits, '-' or '_'; "
        "version: a number from 1.",
    },
}

# Labels of the message contract's enum values, per UI language.
CHOICES: dict[str, dict[str, dict[str, str]]] = {
    "nl": {
        "help_category": {
            "medical": "Medisch: ziek of gewond",
            "fire": "Brand",
            "crime": "Misdrijf of onveilige situatie",
            "vulnerable_person": "Kwetsbare persoon heeft hulp nodig",
            "missing_person": "Vermiste persoon",
            "other": "Iets anders",
        },
        "urgency": {
            "P1": "Levensbedreigend: direct hulp nodig",
            "P2": "Dringend: binnen een uur",
            "P3": "Vandaag nodig",
            "P4": "Ter informatie",
        },
        "situation_category": {
            "infrastructure": "Schade aan wegen, gebouwen, leidingen",
            "power": "Stroom",
            "water": "Drinkwater",
            "health": "Gezondheid",
            "safety": "Veiligheid",
            "fire": "Brand",
            "public_mood": "Stemming in de buurt",
            "rumour": "Gerucht",
            "information_need": "Vragen van bewoners",
            "other": "Iets anders",
        },
        "severity": {
            "low": "Licht",
            "moderate": "Matig",
            "high": "Ernstig",
            "critical": "Zeer ernstig",
        },
        "resource": {
            "fuel": "Brandstof",
            "water": "Water",
            "medicine": "Medicijnen",
            "food": "Eten",
            "staff": "Mensen",
            "equipment": "Spullen, apparatuur",
            "other": "Iets anders",
        },
        "state": {"open": "Open", "limited": "Beperkt open", "closed": "Dicht"},
        "power_source": {
            "grid": "Stroomnet",
            "generator": "Aggregaat",
            "battery": "Accu",
            "solar": "Zonnepanelen",
            "none": "Geen stroom",
        },
        "functions": {
            "information": "Informatie",
            "help_requests": "Noodhulp vragen",
            "neighbourhood_signals": "Signalen uit de buurt",
            "citizen_aid": "Burgerhulp",
            "goods_distribution": "Uitdelen van water, medicijnen",
            "shelter_referral": "Doorverwijzen naar opvang",
        },
        "link_quality": {"good": "Goed", "degraded": "Wisselend", "poor": "Slecht"},
        "kind": {
            "help_request": "Noodhulp",
            "situation_report": "Situatie",
            "resource_request": "Nodig",
            "status": "Status",
            "receipt": "Ontvangstbevestiging",
            "task_update": "Taak",
            "facility_report": "Voorziening",
        },
    },
    "en": {
        "help_category": {
            "medical": "Medical: ill or injured",
            "fire": "Fire",
            "crime": "Crime or unsafe situation",
            "vulnerable_person": "Vulnerable person needs help",
            "missing_person": "Missing person",
            "other": "Something else",
        },
        "urgency": {
            "P1": "Life-threatening: help needed now",
            "P2": "Urgent: within an hour",
            "P3": "Needed today",
            "P4": "For information",
        },
        "situation_category": {
            "infrastructure": "Damage to roads, buildings, pipes",
            "power": "Power",
            "water": "Drinking water",
            "health": "Health",
            "safety": "Safety",
            "fire": "Fire",
            "public_mood": "Mood in the area",
            "rumour": "Rumour",
            "information_need": "Questions from residents",
            "other": "Something else",
        },
        "severity": {
            "low": "Minor",
            "moderate": "Moderate",
            "high": "Serious",
            "critical": "Very serious",
        },
        "resource": {
            "fuel": "Fuel",
            "water": "Water",
            "medicine": "Medicine",
            "food": "Food",
            "staff": "People",
            "equipment": "Equipment",
            "other": "Something else",
        },
        "state": {"open": "Open", "limited": "Partly open", "closed": "Closed"},
        "power_source": {
            "grid": "Mains",
            "generator": "Generator",
            "battery": "Battery",
            "solar": "Solar panels",
            "none": "No power",
        },
        "functions": {
            "information": "Information",
            "help_requests": "Emergency help requests",
            "neighbourhood_signals": "Signals from the area",
            "citizen_aid": "Citizen aid",
            "goods_distribution": "Handing out water, medicine",
            "shelter_referral": "Referral to shelters",
        },
        "link_quality": {"good": "Good", "degraded": "Unstable", "poor": "Poor"},
        "kind": {
            "help_request": "Emergency help",
            "situation_report": "Situation",
            "resource_request": "Needed",
            "status": "Status",
            "receipt": "Receipt",
            "task_update": "Task",
            "facility_report": "Facility",
        },
    },
}

# Feature texts live beside their screens and join the tables here.
from gateway.web import facility_texts  # noqa: E402

for _lang in UI_LANGS:
    TEXTS[_lang].update(facility_texts.TEXTS[_lang])
    CHOICES[_lang].update(facility_texts.CHOICES[_lang])
# The citizen-aid and goods screens keep their texts in their own module.
for _lang in UI_LANGS:
    TEXTS[_lang].update(nspf_texts.TEXTS[_lang])
    CHOICES[_lang].update(nspf_texts.CHOICES[_lang])


def ui_lang(value: str | None, default: UiLang = "nl") -> UiLang:
    if value == "en":
        return "en"
    if value == "nl":
        return "nl"
    return default


class Translator:
    """``t('key', name=value)`` in one UI language, falling back to Dutch."""

    def __init__(self, lang: UiLang) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        text = TEXTS[self.lang].get(key) or TEXTS["nl"].get(key) or key
        return text.format(**values) if values else text

    def choice(self, group: str, value: str) -> str:
        return CHOICES[self.lang].get(group, {}).get(value) or CHOICES["nl"][group].get(
            value, value
        )

    def choices(self, group: str) -> list[tuple[str, str]]:
        return list(CHOICES[self.lang][group].items())
