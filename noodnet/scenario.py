"""A short power-outage scenario in and around Oss, for the demo.

Times are seconds from the start at speed 1. ``events``: the reports NSP staff enter on their
gateway's staff screen. ``nsp_functions``: citizen aid and goods — a path of the gateway's
API (a volunteer, a ledger entry, a hand-out), what the CP operator does (``cp:`` + a path
of the CP's API), or a follow-up step the demo works out itself (``aid:progress``,
``aid:done``, ``goods:receive``). The volunteers' names are made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoNsp:
    nsp_id: str
    name: str
    address: str
    lat: float
    lon: float


NSPS = [
    DemoNsp("oss-centrum", "Bibliotheek Oss", "Raadhuislaan 10, Oss", 51.7651, 5.5183),
    DemoNsp("oss-schadewijk", "Wijkcentrum Schadewijk", "Klaphekkenstraat 1, Oss", 51.7561, 5.5052),
    DemoNsp("berghem", "Sporthal De Leeuwenkuil", "Kerkstraat 30, Berghem", 51.7702, 5.5703),
    DemoNsp("ravenstein", "Dorpshuis Ravenstein", "Marktstraat 5, Ravenstein", 51.7963, 5.6508),
    DemoNsp("lith", "Dorpshuis Lith", "Kerkstraat 2, Lith", 51.8052, 5.4401),
    DemoNsp("heesch", "Cultureel Centrum De Pas", "Schoolstraat 2, Heesch", 51.7330, 5.5270),
]


@dataclass(frozen=True)
class Event:
    at: float
    nsp_index: int  # -1: the CP
    kind: str
    body: dict[str, Any]


def _status(power: str, hours: float | None, staff: int, vol: int, visitors: int) -> dict[str, Any]:
    return {
        "state": "open",
        "power_source": power,
        "power_hours_left": hours,
        "staff_present": staff,
        "volunteers_present": vol,
        "visitors_last_hour": visitors,
        "functions": ["information", "help_requests", "neighbourhood_signals"],
        "link_quality": "good",
    }


def _loc(address: str, lat: float | None = None, lon: float | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {"address": address}
    if lat is not None:
        loc.update(lat=lat, lon=lon)
    return loc


def events(n_nsps: int) -> list[Event]:
    """The scenario, limited to the first ``n_nsps`` NSPs."""
    evs: list[Event] = []
    for i in range(n_nsps):
        evs.append(Event(0.5 + i * 0.3, i, "status", _status("generator", 36 - i * 4, 2, 3, 0)))
    script: list[tuple[float, int, str, dict[str, Any]]] = [
        (
            3,
            0,
            "situation_report",
            {
                "category": "power",
                "severity": "high",
                "location": _loc("Oss centrum"),
                "description": "Hele centrum zonder stroom sinds 06:10, verkeerslichten uit.",
            },
        ),
        (
            5,
            1,
            "help_request",
            {
                "category": "medical",
                "urgency": "P1",
                "location": _loc("Kerkstraat 12, Oss", 51.7642, 5.5201),
                "people_involved": 1,
                "vulnerable_people": 1,
                "description": "Meneer (82) thuis aan zuurstofapparaat, accu bijna leeg, "
                "benauwd. Dochter is naar het NSP gelopen.",
                "callback": "Dochter wacht in het NSP",
            },
        ),
        (
            8,
            0,
            "help_request",
            {
                "category": "medical",
                "urgency": "P1",
                "location": _loc("Kerkstr. 12 Oss"),
                "people_involved": 1,
                "vulnerable_people": 1,
                "description": "Buurman meldt: oudere man aan zuurstof op Kerkstraat 12, "
                "apparaat werkt niet meer",
            },
        ),
        (
            11,
            2,
            "situation_report",
            {
                "category": "water",
                "severity": "moderate",
                "location": _loc("Berghem"),
                "description": "Bewoners vragen of kraanwater nog veilig is, druk valt weg "
                "op de bovenste verdiepingen.",
            },
        ),
        (
            14,
            1,
            "resource_request",
            {
                "resource": "fuel",
                "item": "diesel voor aggregaat",
                "quantity": 200,
                "unit": "liter",
                "urgency": "P2",
                "note": "Nog ongeveer 8 uur stroom bij huidig verbruik.",
            },
        ),
        (
            17,
            0,
            "situation_report",
            {
                "category": "rumour",
                "severity": "moderate",
                "description": "Gerucht gaat rond dat de stroom een week wegblijft en dat "
                "supermarkten worden geplunderd.",
            },
        ),
        (
            20,
            3 % max(n_nsps, 1),
            "help_request",
            {
                "category": "fire",
                "urgency": "P1",
                "location": _loc("Molenstraat 8, Ravenstein", 51.7971, 5.6520),
                "people_involved": 3,
                "vulnerable_people": 1,
                "description": "Rook uit bovenwoning, kaarsen gebruikt. Bewoners staan buiten, "
                "baby nog binnen volgens buren.",
            },
        ),
        (
            24,
            2,
            "help_request",
            {
                "category": "vulnerable_person",
                "urgency": "P2",
                "location": _loc("Wilgenlaan 4, Berghem"),
                "people_involved": 2,
                "vulnerable_people": 2,
                "description": "Echtpaar slecht ter been, 4e verdieping, lift werkt niet, "
                "geen eten meer in huis.",
            },
        ),
        (
            28,
            0,
            "situation_report",
            {
                "category": "information_need",
                "severity": "low",
                "description": "Veel vragen: wanneer komt de stroom terug? Waar kan ik mijn "
                "medicijnen koelen?",
                "people_affected": 40,
            },
        ),
        (
            32,
            1,
            "situation_report",
            {
                "category": "infrastructure",
                "severity": "high",
                "location": _loc("Kruising Oostwal / Kruisstraat, Oss", 51.7633, 5.5262),
                "description": "Boom op de weg na storm, kruising versperd, ambulance kan er "
                "niet langs.",
            },
        ),
        (
            36,
            4 % max(n_nsps, 1),
            "resource_request",
            {
                "resource": "water",
                "item": "flessen drinkwater 1,5 l",
                "quantity": 300,
                "unit": "flessen",
                "urgency": "P2",
            },
        ),
        (
            40,
            2,
            "help_request",
            {
                "category": "missing_person",
                "urgency": "P2",
                "location": _loc("Berghem, omgeving Meerstraat"),
                "people_involved": 1,
                "vulnerable_people": 1,
                "description": "Man (79) met dementie sinds vanochtend vermist, draagt blauwe jas.",
            },
        ),
        (
            44,
            0,
            "resource_request",
            {
                "resource": "medicine",
                "item": "insuline (koelbox nodig)",
                "quantity": 12,
                "unit": "pennen",
                "urgency": "P1",
            },
        ),
    ]
    # Where residents can go: staff at the library see the water point run dry (the CP
    # reviews it, see CP_ACTIONS), staff in Schadewijk see the shelter fill up.
    script += [
        (
            12,
            0,
            "facility_report",
            {
                "facility_id": "tappunt-walplein",
                "facility_name": "Tappunt Walplein",
                "observed_state": "closed",
                "note": "tappunt droog, tankwagen leeg",
            },
        ),
        (
            30,
            1,
            "facility_report",
            {
                "facility_id": "opvang-de-rusheuvel",
                "facility_name": "Opvang Sporthal De Rusheuvel",
                "observed_state": "full",
                "note": "opvang vol, 150 mensen",
            },
        ),
    ]
    for at, idx, kind, body in script:
        if kind == "facility_report":
            body = {**body, "observed_at": "NOW"}  # stamped when the event is played
        if idx < n_nsps:
            evs.append(Event(at, idx, kind, body))
    for step in range(1, 5):
        for i in range(n_nsps):
            evs.append(
                Event(
                    48 + step * 12 + i,
                    i,
                    "status",
                    _status("generator", max(0, 36 - i * 4 - step * 3), 2, 3 + step, 10 * step),
                )
            )
    return sorted(evs, key=lambda e: e.at)


# --------------------------------------------------------------------------- facilities

# The CP's directory of where residents can go (demo data, as a CP enters it in its console).
FACILITIES: list[dict[str, Any]] = [
    {
        "facility_id": "opvang-de-rusheuvel",
        "type": "shelter",
        "name": "Opvang Sporthal De Rusheuvel",
        "address": "Kastanjelaan 1, Oss",
        "lat": 51.7585,
        "lon": 5.5135,
        "opening_hours": "dag en nacht",
        "capacity": 150,
        "note": "Neem medicijnen, een ID-bewijs en een slaapzak mee.",
    },
    {
        "facility_id": "warmtepunt-bieb",
        "type": "warming_point",
        "name": "Warmtepunt Bibliotheek",
        "address": "Raadhuislaan 10, Oss",
        "lat": 51.7651,
        "lon": 5.5183,
        "opening_hours": "08:00-22:00",
        "capacity": 40,
    },
    {
        "facility_id": "tappunt-walplein",
        "type": "water_point",
        "name": "Tappunt Walplein",
        "address": "Walplein, Oss",
        "lat": 51.7642,
        "lon": 5.5195,
        "opening_hours": "08:00-20:00",
    },
    {
        "facility_id": "hap-oss",
        "type": "doctor",
        "name": "Huisartsenpost Oss",
        "address": "Burgemeester van den Elsenlaan 1, Oss",
        "lat": 51.7628,
        "lon": 5.5320,
        "opening_hours": "dag en nacht",
    },
    {
        "facility_id": "oplaadpunt-berghem",
        "type": "charging_point",
        "name": "Oplaadpunt Dorpshuis Berghem",
        "address": "Kerkstraat 30, Berghem",
        "lat": 51.7702,
        "lon": 5.5703,
        "radius_km": 8,
    },
]

# What the CP operator does with facilities during the scenario: (seconds, action).
# "review": accept every observation NSPs reported; ("state", id, state, note): set a state.
CP_ACTIONS: list[tuple[float, tuple[str, ...]]] = [
    (20, ("review",)),
    (38, ("review",)),
    (50, ("state", "oplaadpunt-berghem", "closed", "aggregaat stuk")),
]


def _volunteer(name: str, skills: list[str], windows: list[str], contact: str) -> dict[str, Any]:
    return {
        "first_name": name,
        "skills": skills,
        "windows": windows,
        "languages": ["nl"],
        "contact": contact,
        "consent": True,
    }


def nsp_functions(n_nsps: int) -> list[Event]:
    """Citizen aid and scarce goods at the first NSPs: volunteers sign up, water comes in and
    goes out, the CP sets a ration, asks for volunteers and sends a delivery."""
    water = {"item": "drinkwater", "unit": "liter"}
    evs = [
        Event(
            3,
            0,
            "/api/v1/goods/entries",
            {
                **water,
                "type": "received",
                "quantity": 300,
                "by": "MJ",
                "counterpart": "Gemeente Oss",
            },
        ),
        Event(
            4,
            1,
            "/api/v1/goods/entries",
            {"type": "received", "item": "dekens", "unit": "stuks", "quantity": 40, "by": "KB"},
        ),
        Event(
            5, -1, "cp-put:/api/v1/goods/rules", {"rules": [{**water, "max_per_person_per_day": 6}]}
        ),
        Event(
            6,
            0,
            "/api/v1/aid/volunteers",
            _volunteer("Sanne", ["carrying", "transport"], ["morning", "afternoon"], "06-0000001"),
        ),
        Event(
            7,
            0,
            "/api/v1/aid/volunteers",
            _volunteer(
                "Ahmed", ["carrying", "interpreter"], ["afternoon", "evening"], "06-0000002"
            ),
        ),
        Event(
            8,
            1,
            "/api/v1/aid/volunteers",
            _volunteer("Ria", ["care", "first_aid"], ["morning"], "06-0000003"),
        ),
        Event(
            9,
            0,
            "/api/v1/aid/volunteers",
            _volunteer("Joris", ["technical"], ["evening", "night"], "06-0000004"),
        ),
        Event(
            46,
            -1,
            "cp:/api/v1/aid/assignments",
            {
                "nsp_id": "oss-centrum",
                "title": "2 sjouwers naar Kerkstraat 12, 14:00",
                "skill": "carrying",
                "count": 2,
                "address": "Kerkstraat 12, Oss",
            },
        ),
        Event(54, 0, "aid:progress", {}),
        Event(70, 0, "aid:done", {}),
        Event(
            64,
            -1,
            "cp:/api/v1/goods/deliveries",
            {
                "nsp_id": "oss-centrum",
                "goods": [
                    {**water, "quantity": 500},
                    {"item": "dekens", "unit": "stuks", "quantity": 30},
                ],
            },
        ),
        Event(76, 0, "goods:receive", {}),
    ]
    for i in range(12):  # hand-outs: households of 1 to 4, 6 l a person
        size = 1 + i % 4
        evs.append(
            Event(
                10 + i * 4,
                0,
                "/api/v1/goods/handouts",
                {**water, "quantity": 6 * size, "household_size": size, "by": "MJ"},
            )
        )
    return evs
