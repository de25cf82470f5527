"""Dutch address and text normalisation for near-duplicate matching.

Residents dictate, volunteers type fast: "Kerkstraat 12, Oss", "kerkstr. 12 oss" and
"Kerkstraat 12" must become the same key; "oudere mevr. gevallen, bloedt" and "mevrouw is
gevallen en bloedt" must read as near the same text. Addresses are parsed by the shape of
Dutch street names (a suffix such as -straat, -laan, -weg); with the CP area's gazetteer
(service/gazetteer, passed in) towns are known by name and grouping matches streets against
the real list. No place name lives here. Text is compared after folding spelling,
abbreviations, a Snowball stem and the usual ways people say a symptom, hazard or need onto
one concept; two texts contradict each other only on clear evidence (no related concept).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import snowballstemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

if TYPE_CHECKING:
    from service.gazetteer.index import Gazetteer

STREET_SUFFIXES = (
    "straatweg",
    "straat",
    "laan",
    "weg",
    "plein",
    "singel",
    "gracht",
    "dijk",
    "kade",
    "hof",
    "park",
    "markt",
    "pad",
    "steeg",
    "dreef",
    "ring",
    "baan",
    "veld",
    "erf",
    "wal",
    "plantsoen",
    "boulevard",
    "dam",
    "haven",
    "allee",
    "akker",
    "tuin",
    "hoek",
    "rondweg",
    "heuvel",
    "burcht",
    "wijk",
    "kamp",
    "donk",
    "hoeve",
    "voort",
    "acker",
)

# Street types that are also the head of common nouns ("supermarkt", "stroomstoring",
# "plundering", "achtertuin", "onderweg"): in free text such a word is a street name only
# when a house number follows it (see normalise_text).
_NOUN_LIKE_SUFFIXES = (
    "weg",
    "hof",
    "park",
    "markt",
    "pad",
    "ring",
    "baan",
    "veld",
    "erf",
    "wal",
    "dam",
    "haven",
    "akker",
    "tuin",
    "hoek",
    "heuvel",
    "burcht",
    "wijk",
    "kamp",
    "donk",
    "hoeve",
    "voort",
    "acker",
)

# Abbreviated street types (after folding: "kerkstr." -> "kerkstr").
_STREET_ABBREV = (
    ("str", "straat"),
    ("ln", "laan"),
    ("pln", "plein"),
    ("wg", "weg"),
    ("sngl", "singel"),
    ("gr", "gracht"),
)
NAME_ABBREV = {
    "burg": "burgemeester",
    "st": "sint",
    "pr": "prins",
    "kon": "koningin",
    "mgr": "monseigneur",
    "ds": "dominee",
    "dr": "dokter",
    "v": "van",
    "vd": "vanden",
    "vdn": "vanden",
    "d": "den",
    "burgem": "burgemeester",
    "burgm": "burgemeester",
}
# Words that introduce a location but are not part of it.
_LOCATION_FILLERS = frozenset(
    {
        "bij",
        "hoek",
        "tegenover",
        "to",
        "naast",
        "achter",
        "voor",
        "nabij",
        "thv",
        "ter",
        "hoogte",
        "in",
        "op",
        "aan",
        "de",
        "het",
        "t",
        "rond",
        "omgeving",
        "buurt",
        "nr",
        "nummer",
        "huisnummer",
        "adres",
        "en",
        "of",
    }
)


_INITIALS = re.compile(r"\b(?:[a-z]\.){2,}")
# Dutch never writes a letter three times within a word ("zee-eend" has a hyphen): "booom",
# "vuuur" are a key held down.
_TRIPLED = re.compile(r"([a-z])\1\1+")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower case, accents off, "i.v.m." -> "ivm", everything but letters and digits a space."""
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    if "." in text:
        text = _INITIALS.sub(lambda m: m.group(0).replace(".", ""), text)
    text = text.replace("'", "")
    return _NON_WORD.sub(" ", text).strip()


@dataclass(frozen=True)
class Address:
    """A parsed address. ``street`` is a key without spaces ("burgemeestervandenelsenstraat")."""

    street: str | None
    number: int | None
    town: str | None
    place: str | None  # what is left when there is no street ("centrum", "berghem")

    @property
    def bucket(self) -> str | None:
        """Coarse lookup key: streets share it with their typo'd spellings as far as
        possible (first letters), area-only locations with the same place."""
        if self.street:
            return "s:" + self.street[:3]
        if self.place:
            return "p:" + self.place
        return None


def _expand_street_token(tok: str) -> str:
    for short, full in _STREET_ABBREV:
        if tok.endswith(short) and len(tok) > len(short) + 1:
            return tok[: -len(short)] + full
    return tok


@lru_cache(maxsize=65536)
def _is_street_word(tok: str) -> bool:
    return (
        len(tok) > 3
        and tok not in _LOCATION_FILLERS
        and any(tok.endswith(s) for s in STREET_SUFFIXES)
    )


@lru_cache(maxsize=65536)
def _is_street_name(tok: str) -> bool:
    """A street name even without a house number: its type is no common noun's head."""
    return _is_street_word(tok) and not (
        any(tok.endswith(s) for s in _NOUN_LIKE_SUFFIXES)
        and not any(tok.endswith(s) for s in ("straatweg", "rondweg"))
    )


@lru_cache(maxsize=65536)
def parse_address(raw: str | None, gazetteer: Gazetteer | None = None) -> Address:
    """The street, number and town of an address as written. Towns are recognised after a
    comma, and (with a gazetteer) by name anywhere; without one, "kerkstr 12 oss" keeps
    "oss" out of the street only by its position after the number."""
    if not raw:
        return Address(None, None, None, None)
    town: str | None = None
    head = raw
    if "," in raw:
        # "Kerkstraat 12, Oss" / "Kerkstraat 12, 5341 AB Oss": the last part names the town.
        head, _, tail = raw.partition(",")
        tail_words = [w for w in fold(tail).split() if not w.isdigit() and len(w) > 2]
        whole = "".join(tail_words)
        if gazetteer is not None and gazetteer.is_town(whole):
            town = whole  # "Den Bosch", "Sint-Michielsgestel": the town's key
        elif tail_words:
            town = tail_words[-1]
    tokens = fold(head).split()
    if gazetteer is not None and tokens and town is None and gazetteer.is_town(tokens[-1]):
        town = tokens.pop()
    if gazetteer is not None and len(tokens) > 1 and town is None and gazetteer.is_town(tokens[0]):
        town = tokens.pop(0)
    # postcode pieces ("5341 ab") are not street names
    tokens = [NAME_ABBREV.get(t, t) for t in tokens]
    # "kerk str" -> "kerkstraat"
    merged: list[str] = []
    for tok in tokens:
        if tok in ("str", "straat", "laan", "ln", "weg", "wg", "plein") and merged:
            merged[-1] = merged[-1] + _expand_street_token("x" + tok)[1:]
            continue
        merged.append(_expand_street_token(tok))
    tokens = merged

    number: int | None = None
    street_idx: int | None = next((i for i, t in enumerate(tokens) if _is_street_word(t)), None)
    num_idx: int | None = None
    if street_idx is not None:
        num_idx = next(
            (i for i in range(street_idx + 1, len(tokens)) if tokens[i][:1].isdigit()), None
        )
    else:
        num_idx = next((i for i, t in enumerate(tokens) if t[:1].isdigit()), None)
        if num_idx is not None and num_idx > 0:
            street_idx = num_idx - 1
    if num_idx is not None:
        m = re.match(r"\d+", tokens[num_idx])
        number = int(m.group(0)) if m else None
        if number is not None and number > 99999:
            number = None
    if street_idx is not None:
        start = street_idx
        while start > 0 and tokens[start - 1] not in _LOCATION_FILLERS:
            if tokens[start - 1][:1].isdigit():
                break
            start -= 1
        parts = [t for t in tokens[start : street_idx + 1] if not t.isdigit()]
        street = "".join(parts)
        if street and not (gazetteer is not None and gazetteer.is_town(street)):
            return Address(street, number, town, None)
    rest = [t for t in tokens if t not in _LOCATION_FILLERS and not t[:1].isdigit()]
    place = " ".join(rest) or None
    if place is None and town is not None:
        place = town
    elif place is not None and town is not None:
        place = f"{town} {place}"
    return Address(None, None, town, place)


def street_similarity(a: str, b: str) -> float:
    """1.0 for the same street key; typos ("kerkstaat") score high, other streets low."""
    if a == b:
        return 1.0
    return fuzz.ratio(a, b) / 100


# --------------------------------------------------------------------------- free text

_STOPWORD_TEXT = (
    "de het een en van in op is er met aan te voor bij dat die dit deze zijn was wordt "
    "worden heeft hebben hij zij ze we wij ik je u ons hun haar hem men als om uit naar "
    "door over tot of ook nog al wel niet geen maar dan toen want dus zo zeer erg heel "
    "veel meer kan kunnen moet moeten mag zou zouden wil willen gaat gaan komt komen "
    "waren nu net even hier daar waar wat wie hoe welke mijn jullie onze elk iedereen "
    "alle alles iets niets iemand niemand bewoner bewoners melder meldt melding gemeld "
    "zegt volgens via nsp graag aub svp please thuis woning huis adres straat nummer nr"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_ABBREVIATIONS = {
    "dhr": "meneer",
    "mr": "meneer",
    "hr": "meneer",
    "man": "meneer",
    "mevr": "mevrouw",
    "mw": "mevrouw",
    "mvr": "mevrouw",
    "vrouw": "mevrouw",
    "dame": "mevrouw",
    "heer": "meneer",
    "ivm": "verband",
    "pers": "personen",
    "jr": "jaar",
    "jarige": "jaar",
    "jaar": "jaar",
    "zsm": "snel",
    "asap": "snel",
    "ong": "ongeveer",
    "ca": "ongeveer",
    "circa": "ongeveer",
    "evt": "eventueel",
    "ambu": "ambulance",
    "amb": "ambulance",
    "ziekenauto": "ambulance",
    "brandweer": "brandweer",
    "bw": "brandweer",
    "pol": "politie",
    "app": "apparaat",
    "appt": "appartement",
    "flat": "appartement",
    "kids": "kinderen",
    "kind": "kinderen",
    "kinderen": "kinderen",
    "baby": "kinderen",
    "peuter": "kinderen",
    "kleuter": "kinderen",
    "jongetje": "kinderen",
    "jongen": "kinderen",
    "jongens": "kinderen",
    "meisje": "kinderen",
    "meisjes": "kinderen",
    "zoontje": "kinderen",
    "dochtertje": "kinderen",
    "bejaard": "oud",
    "bejaarde": "oud",
    "oudere": "oud",
    "oude": "oud",
    "ouder": "oud",
    "hoogbejaard": "oud",
    "senior": "oud",
    "tachtiger": "oud",
}

# Concept classes of the emergency vocabulary: different words for one thing fold onto one.
# Matched by prefix after folding, so inflections ("brandt", "branden") land here too. The
# lists cover the usual ways residents and volunteers say a thing (symptoms as they are seen:
# "hapt naar adem", "kan zijn zinnen niet afmaken", "ligt te rillen"), not only the word a
# professional would write.
# Word prefixes (and phrases) per concept: the usual ways Dutch speakers say it, written from
# the language, not from a data set. "thuisgekom" is "niet thuisgekomen"; "omgevallen" alone
# is no tree (a candle, a person falls over too).
_CONCEPTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "brand",
        (
            "brand",
            "vuur",
            "vlam",
            "rook",
            "fik",
            "afgebrand",
            "uitslaand",
            "smeul",
            "schroeilucht",
            "geblakerd",
            "ontploft",
            "explosie",
            "steekvlam",
        ),
    ),
    (
        "gas",
        ("gaslek", "gaslucht", "gas", "sissend", "sist", "propaan", "butaan", "ruikt naar gas"),
    ),
    (
        "co",
        (
            "koolmonoxide",
            "koolmonox",
            "co vergiftig",
            "co melder",
            "comelder",
            "barbecue binnen",
            "bbq binnen",
            "houtskool binnen",
            "kolendamp",
            "gaskachel binnen",
            "terrasverwarmer",
            "kacheltje binnen",
            "houtskool",
        ),
    ),
    ("water", ("water", "kraan", "drinkwater", "leiding", "dorst")),
    (
        "overstroming",
        (
            "overstroom",
            "ondergelopen",
            "wateroverlast",
            "blank",
            "lekkage",
            "kelder onder water",
            "water in de kelder",
            "sijpel",
            "kwel",
            "doorweekt",
        ),
    ),
    ("stroom", ("stroom", "elektr", "spanning", "accu", "batterij", "storing")),
    (
        "kabel",
        (
            "kabel",
            "stroomkabel",
            "hoogspanning",
            "draad",
            "draden",
            "paal",
            "lantaarnpaal",
            "vonk",
            "kortsluiting",
        ),
    ),
    (
        "trafo",
        (
            "trafo",
            "transformator",
            "onderstation",
            "verdeelkast",
            "schakelkast",
            "elektriciteitshuis",
        ),
    ),
    ("aggregaat", ("aggregaat", "aggregat", "generator", "noodstroom")),
    ("zuurstof", ("zuurstof", "beadem", "cpap", "concentrator", "thuisbeadem", "apneu")),
    (
        "gewond",
        (
            "gewond",
            "verwond",
            "bloed",
            "wond",
            "letsel",
            "snee",
            "gebroken",
            "breuk",
            "kneus",
            "gesneden",
            "verstuikt",
            "schaafwond",
            "brandwond",
            "hoofdwond",
            "open wond",
        ),
    ),
    (
        "val",
        (
            "gevallen",
            "val",
            "valt",
            "viel",
            "onderuit",
            "gestruikeld",
            "uitgegleden",
            "van de trap",
            "trap af",
            "ligt op de grond",
            "kan niet opstaan",
            "niet meer overeind",
            "niet overeind",
            "omgevallen en",
        ),
    ),
    (
        "onwel",
        (
            "onwel",
            "flauw",
            "bewusteloos",
            "reageert",
            "collaps",
            "ineen",
            "in elkaar gezakt",
            "zakte in elkaar",
            "niet meer bij",
            "misselijk",
            "suf",
            "versuft",
            "verward",
            "wegzakk",
            "duizelig",
            "slappe",
            "aanspreekbaar",
            "traag",
            "sloom",
            "lijkbleek",
            "zweet",
            "klam",
            "buiten bewustzijn",
            "wit weggetrokken",
            "grauw",
            "overgeven",
            "braakt",
            "epilep",
            "toeval",
            "stuip",
            "beroerte",
            "scheve mond",
            "hangende mondhoek",
            "verlamd",
            "praat onduidelijk",
            "onduidelijk praten",
            "hangt scheef",
        ),
    ),
    (
        "hart",
        (
            "hart",
            "borst",
            "reanim",
            "aed",
            "pijn op de borst",
            "druk op de borst",
            "drukkend gevoel",
            "uitstralende pijn",
        ),
    ),
    (
        "adem",
        (
            "benauwd",
            "adem",
            "hijg",
            "hapt",
            "happen",
            "naar lucht",
            "geen lucht",
            "lucht krijgen",
            "piept",
            "piepend",
            "zinnen niet",
            "korte stukjes",
            "korte zinnen",
            "zin niet af",
            "stikt",
            "stikken",
            "voorovergebogen",
            "voorover gebogen",
            "copd",
            "astma",
            "longziekte",
            "longen",
            "kortademig",
            "snakt",
            "lucht tekort",
            "rochel",
            "reutel",
            "puffer",
            "inhalator",
        ),
    ),
    ("diabetes", ("diabe", "suiker", "insuline", "hypo", "glucose")),
    (
        "medicijn",
        (
            "medicijn",
            "medicatie",
            "pillen",
            "apotheek",
            "recept",
            "tablet",
            "herhaalrecept",
            "medicament",
        ),
    ),
    (
        "koud",
        (
            "koud",
            "kou",
            "onderkoel",
            "verwarming",
            "kachel",
            "bevriez",
            "vriest",
            "ril",
            "bibber",
            "klappertand",
            "tandenklapper",
            "tanden klapper",
            "dekens",
            "deken",
            "graden",
            "stook",
            "verkleum",
            "ijskoud",
            "thermometer",
            "verwarm",
            "warmte",
            "cv ketel",
            "cvketel",
            "blauw van de kou",
            "geen verwarming",
            "bevroren",
        ),
    ),
    (
        "vermist",
        (
            "vermist",
            "kwijt",
            "weggelopen",
            "zoek",
            "dwaalt",
            "verdwaald",
            "thuisgekom",
            "niet terug",
            "verdwenen",
            "opsporing",
            "niet meer gezien",
            "weg van huis",
        ),
    ),
    (
        "inbraak",
        (
            "inbra",
            "inbrek",
            "ingebroken",
            "breekt",
            "plunder",
            "geplunder",
            "diefstal",
            "gestolen",
            "beroofd",
            "roof",
            "leeghal",
            "leeggehaald",
            "bendes",
            "afgetapt",
            "afgetap",
            "ontvreemd",
            "weggenomen",
            "meegenomen",
            "opengebrok",
            "opengebrek",
        ),
    ),
    (
        "geweld",
        (
            "geweld",
            "vecht",
            "ruzie",
            "bedreig",
            "dreig",
            "mishandel",
            "agressie",
            "agressief",
            "mes",
            "messen",
            "wapen",
            "steekpartij",
            "schreeuw",
            "geslagen",
            "schopt",
            "pistool",
            "vuurwapen",
            "gestoken",
            "steekt",
            "intimid",
        ),
    ),
    (
        "dieren",
        (
            "koei",
            "koe",
            "paard",
            "vee",
            "schapen",
            "dieren",
            "loslopend",
            "stier",
            "kalver",
            "varkens",
            "kippen",
        ),
    ),
    ("telefoon", ("telefoon", "mobiel", "gsm", "oplaad", "opladen", "oplader", "powerbank")),
    (
        "stemming",
        ("ongeduld", "gespannen", "sfeer", "onrust", "boos", "boze", "woede", "frustr", "paniek"),
    ),
    ("boom", ("boom", "takken", "omgewaaid", "omgevallen boom", "afgebroken tak", "grote tak")),
    (
        "weg",
        ("weg", "versper", "geblokkeerd", "afgesloten", "obstakel", "onbegaanbaar", "omleiding"),
    ),
    ("lift", ("lift", "opgesloten", "ingesloten", "zit vast", "vast in de lift")),
    (
        "voedsel",
        (
            "eten",
            "voedsel",
            "honger",
            "boodschappen",
            "supermarkt",
            "babyvoeding",
            "flesvoeding",
            "maaltijd",
        ),
    ),
    ("gerucht", ("gerucht", "zeggen", "praatje", "verhaal", "nepnieuws")),
    ("informatie", ("informatie", "vragen", "vraag", "weten", "info", "hoelang", "wanneer")),
    ("ontruim", ("ontruim", "evacu", "opvang", "slaapplaats", "onderdak", "slaapplek")),
    (
        "auto",
        ("auto", "aanrijding", "botsing", "ongeluk", "verkeersongeval", "aangereden", "aanrijd"),
    ),
)


_CONCEPT_NAMES = frozenset(name for name, _ in _CONCEPTS)
# Phrases (several words) fold onto their concept before the words are read one by one.
_PHRASES = sorted(
    ((p, name) for name, ps in _CONCEPTS for p in ps if " " in p), key=lambda x: -len(x[0])
)
_PHRASE_RE = re.compile(r"\b(" + "|".join(re.escape(p) for p, _ in _PHRASES) + r")")
_PHRASE_CONCEPT = dict(_PHRASES)

# Concepts that one emergency often shows together (one person short of breath and drowsy;
# a cold house and a shivering, slow resident; a fall and a wound). Sharing none of its
# concepts, two texts contradict each other only when no pair of theirs is related: it takes
# clear evidence to split.
_RELATED_GROUPS = (  # every pair in a group is related
    ("gewond", "val", "onwel", "hart", "adem", "diabetes", "auto", "geweld"),
    ("adem", "zuurstof", "onwel", "medicijn", "hart"),
    ("diabetes", "medicijn", "onwel", "voedsel"),
    ("koud", "onwel", "stroom", "ontruim"),
    ("water", "overstroming", "voedsel"),
    ("inbraak", "geweld"),
    ("geweld", "stemming"),
    ("vermist", "onwel"),
    ("lift", "stroom"),
)
_RELATED_HUBS = (  # the first is related to each of the others (they not to each other)
    ("co", "onwel", "koud", "adem", "gas", "brand"),  # a barbecue lit indoors for warmth
    ("kabel", "stroom", "trafo", "brand", "boom", "weg"),  # a cable down, sparking
    ("trafo", "stroom", "brand"),
    ("aggregaat", "stroom", "brand", "gas"),
    ("boom", "weg", "auto", "stroom"),
    ("dieren", "weg", "auto"),
    ("brand", "ontruim", "stroom"),
)
_RELATED: frozenset[tuple[str, str]] = frozenset(
    [(a, b) for g in _RELATED_GROUPS for a in g for b in g if a != b]
    + [p for hub, *rest in _RELATED_HUBS for o in rest for p in ((hub, o), (o, hub))]
)

# Dutch compounds put the head last: a "schuurbrand" is a brand, a "hoofdwond" a wond.
_CONCEPT_HEADS = (("brand", "brand"), ("wond", "gewond"), ("breuk", "gewond"))

# The words a slip is forgiven in from five letters on; others from eight ("demen" is one
# slip from "deken", "trage" from "trap").
_TYPO_OK = frozenset(
    [
        "brand",
        "uitslaand",
        "afgebrand",
        "gaslek",
        "gaslucht",
        "water",
        "drinkwater",
        "leiding",
        "overstroom",
        "ondergelopen",
        "wateroverlast",
        "lekkage",
        "stroom",
        "elektr",
        "spanning",
        "aggregaat",
        "generator",
        "batterij",
        "zuurstof",
        "beadem",
        "concentrator",
        "gewond",
        "verwond",
        "bloed",
        "letsel",
        "gebroken",
        "breuk",
        "gevallen",
        "onderuit",
        "onwel",
        "flauw",
        "bewusteloos",
        "reageert",
        "collaps",
        "benauwd",
        "diabe",
        "suiker",
        "insuline",
        "medicijn",
        "medicatie",
        "pillen",
        "apotheek",
        "onderkoel",
        "verwarming",
        "kachel",
        "bevriez",
        "vermist",
        "weggelopen",
        "verdwaald",
        "thuisgekom",
        "inbra",
        "inbrek",
        "ingebroken",
        "breekt",
        "plunder",
        "geplunder",
        "diefstal",
        "gestolen",
        "beroofd",
        "geweld",
        "vecht",
        "ruzie",
        "bedreig",
        "mishandel",
        "agressie",
        "takken",
        "omgewaaid",
        "versper",
        "geblokkeerd",
        "afgesloten",
        "obstakel",
        "opgesloten",
        "ingesloten",
        "voedsel",
        "honger",
        "boodschappen",
        "supermarkt",
        "gerucht",
        "nepnieuws",
        "informatie",
        "ontruim",
        "evacu",
        "slaapplaats",
        "onderdak",
        "koolmonoxide",
        "transformator",
        "stroomkabel",
        "aanrijding",
        "botsing",
        "ongeluk",
    ]
)

_STEMMER = snowballstemmer.stemmer("dutch")


@lru_cache(maxsize=65536)
def _stem(tok: str) -> str:
    """The Snowball (Porter) Dutch stem: "gevallen"/"gevalen" and "branden"/"brand" meet."""
    return str(_STEMMER.stemWord(tok))


@lru_cache(maxsize=65536)
def _concept(tok: str) -> str:
    for name, prefixes in _CONCEPTS:
        for p in prefixes:
            if " " not in p and tok.startswith(p):
                return name
    for head, name in _CONCEPT_HEADS:
        if tok.endswith(head) and len(tok) > len(head) + 2:
            return name
        # the same for a slip in the head ("schuurbarnd"), which must keep its first letter
        # ("stoeprand" is no brand)
        n = len(head)
        if n >= 5 and len(tok) > n + 2:
            for k in (n - 1, n, n + 1):
                if tok[-k] == head[0] and OSA.distance(tok[-k:], head) <= 1:
                    return name
    # A typo in the word that says what happened ("brrand", "booom", "zuurstoofconcentrator")
    # must not lose the concept: one slip (a letter dropped, doubled, swapped or replaced)
    # after a correct first letter still counts. Only for stems of 5 letters or more: one
    # slip turns shorter words into other words ("roken"/"rook", "ligt"/"lift").
    if len(tok) >= 5:
        for name, prefixes in _CONCEPTS:
            for p in prefixes:
                if " " in p or tok[0] != p[0] or len(p) < (5 if p in _TYPO_OK else 8):
                    continue
                n = len(p)
                if any(OSA.distance(tok[:k], p) <= 1 for k in (n - 1, n, n + 1) if k <= len(tok)):
                    return name
    return tok


@lru_cache(maxsize=4096)  # forwarded rumours and copy-pasted reports repeat word for word
def normalise_text(text: str | None, gazetteer: Gazetteer | None = None) -> str:
    """The tokens that carry meaning, folded, in their original order, one space apart.

    Street names, numbers and towns are dropped: location is compared separately, and
    "brand Kerkstraat 12" vs "boom om Kerkstraat 80" must not look alike because of the street.
    With a gazetteer, every street (abbreviated or misspelled) with its house number, town
    and named place it finds in the text is dropped too.
    """
    if not text:
        return ""
    out: list[str] = []
    tokens = _TRIPLED.sub(r"\1\1", fold(text)).split()
    if gazetteer is not None:
        where = gazetteer.location_tokens(text)
        if where:
            tokens = [t for i, t in enumerate(tokens) if i not in where]
    joined = " ".join(tokens)
    if _PHRASES and _PHRASE_RE.search(joined):
        # "kan zijn zinnen niet afmaken": the phrase becomes its concept word
        joined = _PHRASE_RE.sub(lambda m: "_" + _PHRASE_CONCEPT[m.group(1)], joined)
        tokens = joined.split()
    for i, tok in enumerate(tokens):
        if tok[0] == "_" and tok[1:] in _CONCEPT_NAMES:
            out.append(tok[1:])
            continue
        if tok.isdigit() or (gazetteer is not None and gazetteer.is_town(tok)):
            continue
        if len(tok) > 6 and (
            _is_street_name(tok)
            or (_is_street_word(tok) and i + 1 < len(tokens) and tokens[i + 1][:1].isdigit())
        ):
            continue
        tok = _ABBREVIATIONS.get(tok, tok)
        if tok in _STOPWORDS or len(tok) < 2:
            continue
        tok = _concept(tok)
        if tok not in _CONCEPT_NAMES:
            tok = _stem(tok)
        if tok in _STOPWORDS:
            continue
        out.append(tok)
    return " ".join(out)


_MOOD_CONCEPTS = frozenset({"stemming"})
# These restate a report's category rather than what happened: sharing them means little.
_CATEGORY_CONCEPTS = frozenset({"gerucht", "informatie"})
# In a power cut nearly every report says that something "werkt niet zonder stroom": two
# reports sharing that are not therefore about one thing (it still counts as content).
_BACKGROUND_CONCEPTS = frozenset({"stroom"})

# Who it is about. A missing child and a missing demented man are different people and so
# different incidents, however alike the rest reads ("meneer"/"mevrouw" are adults). A text
# that names both a child and an adult says nothing either way. (Men and women are not told
# apart: texts name the caller as well, "man met pijn op de borst, vrouw is in paniek".)
_CHILD = frozenset({"kinder", "kinderen"})  # "kinderen" is stemmed
_ADULT = frozenset({"oud", "alzheimer", "meneer", "mevrouw"})  # and "dement..."


@lru_cache(maxsize=65536)
def _concepts(text: str) -> frozenset[str]:
    return frozenset(t for t in text.split() if t in _CONCEPT_NAMES and t not in _CATEGORY_CONCEPTS)


@lru_cache(maxsize=65536)
def _profile(text: str) -> tuple[frozenset[str], int]:
    """What happened (concepts without the background) and who: 1 a child, 2 an adult,
    0 not said or both."""
    tokens = text.split()
    child = any(t in _CHILD for t in tokens)
    adult = any(t in _ADULT or t.startswith("dement") for t in tokens)
    who = 1 if child and not adult else 2 if adult and not child else 0
    return _concepts(text) - _BACKGROUND_CONCEPTS, who


# What an area-wide signal (a question, a rumour) is about, as the answer the operator would
# give: "where is drinking water" and "is the tap water safe" get different answers, "waar kan
# ik mijn telefoon laden" and "is er een oplaadpunt" the same one. First match wins, the most
# specific first ("brandstof voor aggregaten" is about fuel, "stroom voor de melkmachines" about
# the farms, not about when power returns). Prefixes of folded words; a concept from
# _CONCEPTS counts too. ``None``: the text names no known topic, and only its wording can
# tell.
_AREA_TOPICS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    # (topic, concepts, word prefixes)
    ("telefoon", ("telefoon",), ("laden", "oplaa", "oplad", "oplaadpunt", "opladen")),
    (
        "agrarisch",
        ("dieren",),
        ("boer", "agrari", "veehoud", "melk", "stallen", "tuinder", "kassen"),
    ),
    ("brandstof", (), ("brandstof", "benzine", "diesel", "tanken", "tankstation", "petroleum")),
    ("medicijn", ("medicijn",), ("medic", "apothe", "recept", "insuline", "huisarts")),
    (
        "waterkwaliteit",
        (),
        (
            "vergiftig",
            "giftig",
            "besmet",
            "verontrein",
            "vervuil",
            "bacterie",
            "ziek",
            "kook",  # kookadvies, kookt
            "gekookt",
            "afkok",
            "koken",
            "drinkbaar",
            "onveilig",
            "veilig",
        ),
    ),
    ("water", ("water",), ("tappunt", "waterpunt", "flessen", "jerrycan")),
    ("plundering", (), ("plunder", "bende", "leeghal", "inbre", "inbra", "dieven", "roof")),
    ("evacuatie", (), ("evacu", "ontruim", "wegmoeten")),
    ("opvang", ("koud",), ("opvang", "warm", "slaapplaats", "onderdak", "slapen", "overnacht")),
    ("voedsel", ("voedsel",), ("voedselpakket", "maaltijd")),
    ("vervoer", (), ("pont", "veerpont", "ferry", "bus", "vervoer", "trein")),
    ("stroom", ("stroom",), ("herstel", "storing", "elektri", "netbeheer")),
)


@lru_cache(maxsize=65536)
def area_topic(text_norm: str, description: str) -> str | None:
    """The topic of an area-wide signal (see ``_AREA_TOPICS``), from its normalised text
    (concepts, stems) and its folded words; the quality topic needs water named as well."""
    concepts = set(text_norm.split())
    words = fold(description).split()
    for topic, names, prefixes in _AREA_TOPICS:
        if topic == "waterkwaliteit":
            if "water" in concepts and any(w.startswith(prefixes) for w in words):
                return topic
            continue
        if concepts.intersection(names) or any(w.startswith(prefixes) for w in words):
            return topic
    return None


def contradict(a: str, b: str) -> bool:
    """True when two normalised texts clearly say they are about different things: each
    names what happened, they share none of it and nothing of one usually comes with the
    other ("gaslucht" / "huis in brand"; but not "benauwd" / "reageert traag"), or one is
    about a child and the other about an adult."""
    ca, who_a = _profile(a)
    cb, who_b = _profile(b)
    if ca and cb and ca.isdisjoint(cb) and not any((x, y) in _RELATED for x in ca for y in cb):
        return True
    return bool(who_a and who_b and who_a != who_b)


CONTAINED_FACTOR = 0.85


def _concept_overlap(ca: frozenset[str], cb: frozenset[str]) -> float:
    """Shared concepts count 1, a concept related to one of the other text's 0.6, over the
    union: 1.0 for the same set, 0.6 for "benauwd" / "reageert traag"."""
    union = ca | cb
    got = 0.0
    for c in union:
        if c in ca and c in cb:
            got += 1
        elif any((c, o) in _RELATED for o in (cb if c in ca else ca)):
            got += 0.6
    # One reporter names more of it than the other ("pijn op de borst" / "pijn op de borst
    # en kortademig"): all of the shorter account in the longer one is nearly as good as the
    # same set, not a half match.
    small, large = (ca, cb) if len(ca) <= len(cb) else (cb, ca)
    contained = CONTAINED_FACTOR if small and small <= large else 0.0
    return max(got / len(union), contained)


def text_similarity(a: str, b: str) -> float:
    """Similarity of two normalised texts in [0, 1].

    Token-set ratio ignores word order and extra detail in the longer text; averaging it
    with the token-sort ratio keeps two texts that share only one word from scoring high.
    Short texts that name the same thing in other words ("sterke gaslucht" / "bewoners
    ruiken gas, gaslek?") share their concepts: the same set of concepts alone gives 0.75
    (scaled by their Jaccard overlap). Texts that contradict each other score 0.
    """
    return text_similarities(a, [b])[0]


def _similarity(a: str, b: str, fuzzy: float) -> float:
    """The score of ``a`` (not empty) against ``b`` from their fuzzy ratio: see
    ``text_similarity``."""
    if not b:
        return 0.0
    if b == a:
        return 1.0
    if contradict(a, b):
        return 0.0
    ca, cb = _concepts(a), _concepts(b)
    if ca - _MOOD_CONCEPTS and cb - _MOOD_CONCEPTS:
        # How the reporter or the visitors feel ("paniek", "onrustig") colours a report
        # but is not what it is about, when it is about something.
        ca, cb = ca - _MOOD_CONCEPTS, cb - _MOOD_CONCEPTS
    if ca and cb:
        return max(fuzzy, 0.75 * _concept_overlap(ca, cb))
    return fuzzy


# Scores of text pairs already compared: (a, b) -> text_similarity(a, b). A pure function of
# the two texts, so a cached score is the score. Reports repeat texts (a forwarded rumour, a
# volunteer's copy-paste, the same words from the next neighbour) and every new report is
# compared with the same candidates as the one before it: most pairs come back. Bounded:
# emptied when full (cheaper than LRU bookkeeping per lookup; it refills in a batch or two).
_PAIR_SCORES: dict[tuple[str, str], float] = {}
_PAIR_SCORES_MAX = 100_000
_PAIR_LOCK = threading.Lock()


def text_similarities(a: str, others: list[str]) -> list[float]:
    """``text_similarity(a, o)`` for every ``o`` in ``others``, the fuzzy part in one call
    each (the loop runs in C). Each distinct text is scored once: an item's reports often
    repeat one text (a forwarded rumour, a volunteer's copy-paste); a pair scored before
    comes from ``_PAIR_SCORES``."""
    if not others:
        return []
    if not a:
        return [0.0] * len(others)
    cached = _PAIR_SCORES.get
    by_text: dict[str, float] = {}
    missing: list[str] = []
    for b in dict.fromkeys(others):
        score = cached((a, b))
        if score is None:
            missing.append(b)
        else:
            by_text[b] = score
    if missing:
        sets = process.extract(a, missing, scorer=fuzz.token_set_ratio, limit=None)
        sorts = process.extract(a, missing, scorer=fuzz.token_sort_ratio, limit=None)
        fuzzy = [0.0] * len(missing)
        for _, score, i in sets:
            fuzzy[i] += score / 200
        for _, score, i in sorts:
            fuzzy[i] += score / 200
        new = {b: _similarity(a, b, f) for b, f in zip(missing, fuzzy, strict=True)}
        by_text.update(new)
        with _PAIR_LOCK:
            if len(_PAIR_SCORES) + len(new) > _PAIR_SCORES_MAX:
                _PAIR_SCORES.clear()
            _PAIR_SCORES.update(((a, b), v) for b, v in new.items())
    return [by_text[o] for o in others]
