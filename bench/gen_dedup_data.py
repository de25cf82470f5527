"""Generate the labelled near-duplicate data set for bench/dedup_quality.py.

    .venv/bin/python bench/gen_dedup_data.py                      # both committed files
    .venv/bin/python bench/gen_dedup_data.py --seed 7 --out /tmp/x.jsonl

A day of power outage in Oss and the villages around it, as NSP volunteers would type it:
true incidents (a fire, a fallen elderly woman, a blocked road, a rumour …) are each reported
one to a dozen times, by residents at one to four NSPs, spread over up to two hours, with
paraphrases, typos, abbreviations, lower case, missing or neighbouring house numbers, with
coordinates or without, with or without the town. Hard negatives are generated on purpose:
two different incidents in the same street at the same time, the same kind of incident far
apart at the same time, and the same place again hours later.

Each line: ``{"incident", "received_at", "kind", "nsp_id", "body"}``; ``incident`` is the
ground-truth label. ``dedup_oss.jsonl`` (seed 1) was used while tuning the thresholds;
``dedup_oss_holdout.jsonl`` (seed 2) only to check them.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Nsp:
    nsp_id: str
    name: str
    address: str
    lat: float
    lon: float


# The demo region's NSPs, from its data (the file bench/dedup_quality.py registers).
NSPS = [
    Nsp(**json.loads(line))
    for line in (ROOT / "service" / "gazetteer" / "demo" / "nsps.jsonl").read_text().splitlines()
    if line.strip()
]

# The demo region's streets come from its gazetteer (the file the demo loads):
# (street, town, lat, lon of number 1, 0, highest number), in the file's order.
GAZETTEER = ROOT / "service" / "gazetteer" / "demo" / "gazetteer_addresses.csv"
_POINTS: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}


def _load_streets() -> list[tuple[str, str, float, float, int, int]]:
    with GAZETTEER.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter=";"):
            numbers = _POINTS.setdefault((row["openbareruimte"], row["woonplaats"]), {})
            numbers[int(row["huisnummer"])] = (float(row["lat"]), float(row["lon"]))
    return [
        (name, town, *nums[min(nums)], 0, max(nums))
        for (name, town), nums in _POINTS.items()
        if len(nums) > 10  # NSP buildings, not streets incidents are made up in
    ]


STREETS = _load_streets()

STREET_ABBREV = {"straat": "str.", "laan": "ln.", "singel": "sngl", "weg": "wg."}


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Template:
    name: str
    kinds: tuple[tuple[str, str, str], ...]  # (kind, category, urgency or severity)
    texts: tuple[str, ...]
    extras: tuple[str, ...] = ()
    people: tuple[int, int] = (1, 1)
    vulnerable: tuple[int, int] = (0, 0)
    area_wide: bool = False


T = Template
TEMPLATES = [
    T(
        "woningbrand",
        (
            ("help_request", "fire", "P1"),
            ("situation_report", "fire", "high"),
            ("help_request", "fire", "P2"),
            ("situation_report", "fire", "critical"),
        ),
        (
            "Brand in woning, rook komt uit het dak",
            "Er is brand in een huis, veel rook",
            "Woningbrand, vlammen zichtbaar aan de achterkant",
            "Uitslaande brand in rijtjeshuis",
            "Huis staat in brand, bewoners staan buiten",
            "Rook en vuur uit de bovenverdieping van een woning",
            "brand in woonhuis, kaars omgevallen?",
        ),
        (
            "buren helpen met emmers",
            "brandweer niet bereikbaar",
            "kat nog binnen",
            "melder is buurman",
            "rook trekt over de straat",
        ),
        (1, 5),
        (0, 1),
    ),
    T(
        "schuurbrand",
        (("situation_report", "fire", "high"), ("help_request", "fire", "P2")),
        (
            "Schuur in brand achter het huis",
            "Brand in tuinhuisje, slaat bijna over naar woning",
            "Vuur in een schuur, aggregaat stond erin",
            "schuurbrand door aggregaat",
        ),
        ("geen gewonden", "gasfles in de schuur", "buren blussen met tuinslang"),
    ),
    T(
        "val_oudere",
        (
            ("help_request", "medical", "P2"),
            ("help_request", "medical", "P1"),
            ("help_request", "vulnerable_person", "P2"),
        ),
        (
            "Oudere mevrouw gevallen in huis, bloedt aan het hoofd",
            "Mevrouw van 84 is gevallen en kan niet meer opstaan",
            "Bejaarde vrouw gevallen, hoofdwond, alleen thuis",
            "Oude dame gevallen op de trap, bloedt",
            "vrouw (ca 85 jaar) gevallen, heeft pijn aan heup",
        ),
        (
            "dochter is naar het NSP gekomen",
            "alarmknop werkt niet zonder stroom",
            "buurvrouw is bij haar",
        ),
        (1, 1),
        (1, 1),
    ),
    T(
        "zuurstof",
        (
            ("help_request", "medical", "P1"),
            ("help_request", "vulnerable_person", "P1"),
            ("help_request", "medical", "P2"),
        ),
        (
            "Meneer aan zuurstofapparaat, accu bijna leeg, benauwd",
            "Man thuis afhankelijk van zuurstof, apparaat werkt niet meer zonder stroom",
            "Zuurstofconcentrator uitgevallen, oudere man heeft het benauwd",
            "Buurman meldt: oudere man aan zuurstof, apparaat is uitgevallen",
        ),
        ("dochter wacht in het NSP", "reservefles is bijna op", "thuiszorg komt niet"),
        (1, 1),
        (1, 1),
    ),
    T(
        "insuline",
        (("help_request", "medical", "P2"), ("help_request", "medical", "P1")),
        (
            "Diabeet heeft insuline nodig, koelkast werkt niet",
            "Man met suikerziekte, insuline bijna op en niet meer gekoeld",
            "Insuline bederft zonder koeling, meneer is diabeet",
            "diabetespatient zonder insuline, voelt zich slecht (hypo?)",
        ),
        ("apotheek is dicht", "familie is op vakantie"),
    ),
    T(
        "pijn_borst",
        (("help_request", "medical", "P1"),),
        (
            "Man met pijn op de borst, zweet en is misselijk",
            "Meneer heeft hevige pijn op de borst, mogelijk hartaanval",
            "Hartklachten bij oudere man, pijn straalt uit naar arm",
        ),
        ("vrouw is in paniek", "AED in het buurthuis?"),
        (1, 1),
        (0, 1),
    ),
    T(
        "vermist",
        (("help_request", "missing_person", "P1"), ("help_request", "missing_person", "P2")),
        (
            "Demente man vermist, sinds vanochtend weggelopen",
            "Vader met dementie is zoek, loopt vaak naar het kanaal",
            "Oudere man met alzheimer weggelopen van huis, draagt blauwe jas",
            "Meneer (dement) niet thuisgekomen, familie zoekt",
        ),
        ("draagt pantoffels", "heeft geen telefoon bij zich", "foto bij het NSP"),
        (1, 1),
        (1, 1),
    ),
    T(
        "kind_vermist",
        (("help_request", "missing_person", "P1"),),
        (
            "Kind van 7 vermist, was aan het spelen buiten",
            "Jongetje van zeven jaar kwijt sinds een uur",
            "Meisje (8) niet thuisgekomen uit school",
        ),
        ("rode jas", "moeder is bij het NSP"),
        (1, 1),
        (1, 1),
    ),
    T(
        "plundering",
        (("help_request", "crime", "P2"), ("situation_report", "safety", "high")),
        (
            "Supermarkt wordt geplunderd, groep jongeren",
            "Inbraak bij de supermarkt, ruiten ingegooid",
            "Plundering bij winkel, mensen nemen spullen mee",
            "groep breekt in bij supermarkt",
        ),
        ("politie niet bereikbaar", "medewerkers zijn weggegaan"),
        (1, 20),
        (0, 0),
    ),
    T(
        "ruzie",
        (("help_request", "crime", "P2"), ("situation_report", "safety", "moderate")),
        (
            "Vechtpartij bij de waterpost, mensen bedreigd",
            "Ruzie en geweld in de rij voor water",
            "Agressieve man bedreigt vrijwilligers bij uitgifte",
        ),
        ("iemand heeft een mes?", "twee gewonden"),
        (2, 6),
        (0, 0),
    ),
    T(
        "boom",
        (
            ("situation_report", "infrastructure", "moderate"),
            ("situation_report", "infrastructure", "high"),
        ),
        (
            "Boom omgevallen, weg geblokkeerd",
            "Grote boom ligt over de straat, auto's kunnen er niet langs",
            "Omgewaaide boom blokkeert de weg",
            "boom over de weg, ook stroomkabel geraakt?",
        ),
        ("ambulance kan er niet door", "takken op geparkeerde auto"),
    ),
    T(
        "waterleiding",
        (("situation_report", "water", "high"), ("situation_report", "infrastructure", "high")),
        (
            "Gesprongen waterleiding, straat staat blank",
            "Water spuit uit de grond, leiding kapot",
            "Lekkage waterleiding, veel water op straat",
        ),
        ("kelders lopen onder", "druk valt weg in de buurt"),
    ),
    T(
        "geen_water",
        (("situation_report", "water", "moderate"), ("situation_report", "water", "high")),
        (
            "Geen drinkwater meer in de flat, pompen werken niet",
            "Flat zonder water, hogere verdiepingen droog",
            "Bewoners flat hebben geen kraanwater meer",
            "geen water meer op de bovenste verdiepingen van de flat",
        ),
        ("veel ouderen in de flat", "lift werkt ook niet"),
        (20, 200),
        (0, 30),
    ),
    T(
        "lift",
        (("help_request", "vulnerable_person", "P2"), ("help_request", "other", "P2")),
        (
            "Mensen vast in de lift van het appartementencomplex",
            "Lift blijven steken door stroomuitval, twee personen opgesloten",
            "Opgesloten in lift sinds stroomstoring",
        ),
        ("een van hen is claustrofobisch", "beheerder niet bereikbaar"),
        (1, 3),
        (0, 1),
    ),
    T(
        "koud",
        (("help_request", "vulnerable_person", "P2"), ("help_request", "vulnerable_person", "P3")),
        (
            "Oudere vrouw alleen thuis, huis is ijskoud, verwarming werkt niet",
            "Bejaarde mevrouw zit in de kou, geen verwarming",
            "Oude dame heeft het erg koud, kachel werkt niet zonder stroom",
        ),
        ("wil niet naar de opvang", "heeft dekens nodig"),
        (1, 1),
        (1, 1),
    ),
    T(
        "gaslucht",
        (("situation_report", "safety", "critical"), ("help_request", "other", "P1")),
        (
            "Sterke gaslucht in de straat",
            "Ruikt naar gas bij de flat, gaslek?",
            "Gaslek vermoed, bewoners ruiken gas",
        ),
        ("mensen roken buiten", "kinderen spelen er"),
        (5, 40),
        (0, 5),
    ),
    T(
        "aanrijding",
        (
            ("help_request", "medical", "P1"),
            ("help_request", "medical", "P2"),
            ("situation_report", "safety", "high"),
        ),
        (
            "Aanrijding op kruispunt, verkeerslichten uit, fietser gewond",
            "Ongeluk met auto en fietser, verkeerslichten doen het niet",
            "Botsing bij kruising zonder stoplichten, een gewonde",
        ),
        ("fietser ligt op de grond", "auto is doorgereden"),
        (1, 3),
        (0, 0),
    ),
    T(
        "gerucht_water",
        (("situation_report", "rumour", "moderate"), ("situation_report", "rumour", "high")),
        (
            "Gerucht dat het drinkwater vergiftigd is",
            "Mensen zeggen dat kraanwater niet meer te drinken is, vergiftigd",
            "Verhaal gaat rond dat het water uit de kraan giftig is",
        ),
        ("veel ongerustheid", "mensen kopen alle flessen op"),
        area_wide=True,
    ),
    T(
        "gerucht_week",
        (("situation_report", "rumour", "moderate"),),
        (
            "Gerucht dat de stroom een week wegblijft",
            "Mensen zeggen dat de stroomstoring nog zeven dagen duurt",
            "Praatje gaat rond: een week geen stroom",
        ),
        ("onrust in de wijk",),
        area_wide=True,
    ),
    T(
        "info_stroom",
        (
            ("situation_report", "information_need", "low"),
            ("situation_report", "information_need", "moderate"),
        ),
        (
            "Veel vragen wanneer de stroom terugkomt",
            "Bewoners willen weten hoelang de stroomstoring duurt",
            "Vraag: wanneer is er weer stroom?",
        ),
        ("graag een bulletin",),
        area_wide=True,
    ),
    T(
        "info_water",
        (("situation_report", "information_need", "moderate"),),
        (
            "Bewoners vragen waar ze drinkwater kunnen halen",
            "Vraag waar de waterpunten zijn",
            "Waar kan ik water halen? vragen veel mensen",
        ),
        area_wide=True,
    ),
]

# --------------------------------------------------------------------------- noise


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(("swap", "drop", "double", "replace"))
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == "drop":
        return word[:i] + word[i + 1 :]
    if op == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiounrst") + word[i + 1 :]


ABBREV = {
    "mevrouw": "mevr.",
    "meneer": "dhr.",
    "ongeveer": "ong.",
    "personen": "pers.",
    "in verband met": "i.v.m.",
    "ambulance": "ambu",
    "zo snel mogelijk": "zsm",
}


def noisy(text: str, rng: random.Random) -> str:
    for full, short in ABBREV.items():
        if full in text and rng.random() < 0.5:
            text = text.replace(full, short)
    words = text.split(" ")
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        i = rng.randrange(len(words))
        words[i] = typo(words[i], rng)
    text = " ".join(words)
    if rng.random() < 0.3:
        text = text.lower()
    if rng.random() < 0.15:
        text = text.rstrip(".") + "!!"
    return text


def point(street: tuple[str, str, float, float, int, int], number: int) -> tuple[float, float]:
    """The house's position in the gazetteer."""
    return _POINTS[(street[0], street[1])][number]


def jitter(lat: float, lon: float, metres: float, rng: random.Random) -> tuple[float, float]:
    a = rng.uniform(0, 2 * math.pi)
    r = rng.uniform(0, metres)
    return (
        round(lat + r * math.cos(a) / 111_320, 6),
        round(lon + r * math.sin(a) / (111_320 * math.cos(math.radians(lat))), 6),
    )


def address_text(street: str, town: str, number: int, rng: random.Random, home_town: bool) -> str:
    name = street
    r = rng.random()
    if r < 0.2:
        for full, short in STREET_ABBREV.items():
            if name.endswith(full):
                name = name[: -len(full)] + short
                break
    elif r < 0.27:
        name = typo(name, rng) if " " not in name else name
    if name.startswith("Burgemeester") and rng.random() < 0.5:
        name = name.replace("Burgemeester", "Burg.")
    style = rng.random()
    if style < 0.4:
        out = f"{name} {number}, {town}"
    elif style < 0.6:
        out = f"{name} {number} {town}"
    elif style < 0.85 and home_town:
        out = f"{name} {number}"  # the NSP's own town goes without saying
    elif style < 0.92:
        out = f"bij {name} {number}"
    else:
        out = f"{name} {number}, {town}"
    return out.lower() if rng.random() < 0.25 else out


# --------------------------------------------------------------------------- incidents


@dataclass
class Incident:
    label: str
    template: Template
    street: tuple[str, str, float, float, int, int] | None
    number: int
    start: datetime
    spread_min: float
    n_reports: int
    nsps: list[Nsp]


def nsps_near(lat: float, lon: float, rng: random.Random, k: int) -> list[Nsp]:
    ranked = sorted(NSPS, key=lambda n: (n.lat - lat) ** 2 + ((n.lon - lon) * 0.62) ** 2)
    pool = ranked[: max(k, 3)]
    rng.shuffle(pool)
    return pool[:k]


def town_nsps(town: str) -> list[Nsp]:
    return [n for n in NSPS if n.address.endswith(town)]


def make_incidents(rng: random.Random, n: int) -> list[Incident]:
    incidents: list[Incident] = []

    def new(
        template: Template,
        street: tuple[str, str, float, float, int, int] | None,
        number: int,
        start: datetime,
    ) -> Incident:
        size = rng.choices((1, 2, 3, 4, 5, 6, 8, 10, 12), (22, 20, 16, 12, 9, 8, 6, 4, 3))[0]
        if street is not None:
            lat, lon = point(street, number)
            nsps = nsps_near(lat, lon, rng, rng.choice((1, 1, 2, 2, 3, 4)))
        else:
            nsps = rng.sample(NSPS, rng.choice((1, 2, 3, 4)))
        inc = Incident(
            f"inc-{len(incidents) + 1:03d}",
            template,
            street,
            number,
            start,
            rng.choice((10, 30, 60, 90, 110)),
            size,
            nsps,
        )
        incidents.append(inc)
        return inc

    located = [t for t in TEMPLATES if not t.area_wide]
    area = [t for t in TEMPLATES if t.area_wide]
    while len(incidents) < n:
        start = START + timedelta(minutes=rng.uniform(0, 14 * 60))
        roll = rng.random()
        if roll < 0.12:
            # One rumour or question going round is one item, however many NSPs hear it:
            # the same one again only after it has died down.
            template = rng.choice(area)
            last = max(
                (
                    i.start + timedelta(minutes=i.spread_min)
                    for i in incidents
                    if i.template is template
                ),
                default=None,
            )
            if last is None or start > last + timedelta(hours=4):
                new(template, None, 0, start)
            continue
        template = rng.choice(located)
        street = rng.choice(STREETS)
        number = rng.randint(1, street[5])
        base = new(template, street, number, start)
        hard = rng.random()
        if hard < 0.2:
            # Same street, same time, another incident (same or another template).
            other = template if rng.random() < 0.5 else rng.choice(located)
            far = number + rng.choice((-1, 1)) * rng.randint(25, 60)
            far = min(max(1, far), street[5]) if 1 <= far <= street[5] else max(1, number - 30)
            if abs(far - number) >= 20:
                new(other, street, far, start + timedelta(minutes=rng.uniform(-20, 40)))
        elif hard < 0.35:
            # The same kind of incident, far away, at the same time.
            other_street = rng.choice([s for s in STREETS if s[1] != street[1]])
            new(
                template,
                other_street,
                rng.randint(1, other_street[5]),
                start + timedelta(minutes=rng.uniform(-15, 15)),
            )
        elif hard < 0.47:
            # The same place again, hours after the first incident's last report.
            later = start + timedelta(minutes=base.spread_min + rng.uniform(180, 360))
            new(template, street, number, later)
    return incidents[:n]


def report_body(inc: Incident, rng: random.Random, nsp: Nsp) -> tuple[str, dict[str, Any]]:
    t = inc.template
    kind, category, level = rng.choice(t.kinds)
    text = rng.choice(t.texts)
    if t.extras and rng.random() < 0.5:
        text = f"{text}, {rng.choice(t.extras)}"
    text = noisy(text, rng)
    body: dict[str, Any] = {"category": category, "description": text}
    if kind == "help_request":
        body["urgency"] = level
        people = rng.randint(*t.people)
        body["people_involved"] = people
        body["vulnerable_people"] = min(people, rng.randint(*t.vulnerable))
    else:
        body["severity"] = level
    if inc.street is not None:
        street, town, *_ = inc.street
        number = inc.number
        if rng.random() < 0.12:
            number = max(1, number + rng.choice((-2, 2)))  # the neighbour's house number
        loc: dict[str, Any] = {}
        style = rng.random()
        lat, lon = point(inc.street, inc.number)
        home = nsp.address.endswith(town)
        if style < 0.62:
            loc["address"] = address_text(street, town, number, rng, home)
        elif style < 0.88:
            loc["address"] = address_text(street, town, number, rng, home)
            loc["lat"], loc["lon"] = jitter(lat, lon, 60, rng)
        else:
            loc["lat"], loc["lon"] = jitter(lat, lon, 60, rng)
            loc["description"] = rng.choice(("bij de kerk", "naast de bakker", "achter de school"))
        body["location"] = loc
    elif kind == "help_request":
        body["location"] = {"address": nsp.address.split(",")[-1].strip()}
    return kind, body


def generate(seed: int, n_incidents: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    incidents = make_incidents(rng, n_incidents)
    # An area-wide rumour or question is one item per calendar day: the information desk gives
    # one answer a day, so the same one again hours later is the same incident (labelled so
    # since the independent blind set, bench/data/blind/LABELLING.md rule 5, showed that is how
    # an operator counts it; before, a return after four quiet hours was a new incident).
    first: dict[tuple[int, Any], str] = {}
    label = {
        inc.label: (
            first.setdefault((id(inc.template), inc.start.date()), inc.label)
            if inc.template.area_wide
            else inc.label
        )
        for inc in incidents
    }
    for inc in incidents:
        for _ in range(inc.n_reports):
            at = inc.start + timedelta(minutes=rng.uniform(0, inc.spread_min))
            nsp = rng.choice(inc.nsps)
            kind, body = report_body(inc, rng, nsp)
            rows.append(
                {
                    "incident": label[inc.label],
                    "received_at": at.isoformat(),
                    "kind": kind,
                    "nsp_id": nsp.nsp_id,
                    "body": body,
                }
            )
    rows.sort(key=lambda r: (r["received_at"], r["incident"]))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int)
    ap.add_argument("--incidents", type=int, default=110)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    jobs = (
        [(args.seed, args.out)]
        if args.seed is not None
        else [(1, DATA / "dedup_oss.jsonl"), (2, DATA / "dedup_oss_holdout.jsonl")]
    )
    for seed, out in jobs:
        out = out or DATA / f"dedup_oss_seed{seed}.jsonl"
        rows = generate(seed, args.incidents)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        labels = {r["incident"] for r in rows}
        nsps = {r["nsp_id"] for r in rows}
        print(f"{out}: {len(rows)} reports, {len(labels)} incidents, {len(nsps)} NSPs")


if __name__ == "__main__":
    main()
