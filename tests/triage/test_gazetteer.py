"""The gazetteer: import of a BAG-layout extract (bad rows by line number, re-import replaces),
and grouping with it on the four classes of real-world misses — place names only the region's
data knows, addresses only in the free text, abbreviated or misspelled streets, and one
emergency told in other words. Grouping runs through the real ingest path (store_batch with
the hook) on SQLite or PostgreSQL; the region is made up (tests/triage/gazetteer_support.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from noodcore.db import table_of
from noodnet.cli import app as cli_app
from schemas import make_up
from service.app import create_app
from service.db import make_engine, migrate
from service.gazetteer.importer import (
    ADDRESSES,
    PLACES,
    GazetteerFileError,
    import_gazetteer,
    load,
    seed_gazetteer,
)
from service.models import Nsp
from service.settings import ServiceSettings
from service.store import Accepted, store_batch
from service.triage.grouping import GroupingHook
from service.triage.models import TriageItem, TriageReport
from service.triage.normalise import normalise_text, text_similarity
from service.triage.settings import TriageSettings
from tests.support import CpAuth
from tests.triage.gazetteer_support import HEADER, gazetteer, house, write_region

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CP = "cp-t"


# --------------------------------------------------------------------------- import


def test_import_reports_bad_rows_by_line_and_replaces_the_set(
    database_url: str, tmp_path: Path
) -> None:
    addresses, places = write_region(tmp_path / "region")
    text = addresses.read_text().splitlines()
    bad = [
        "Beukenlaan;zeven;;;;Lindedorp;Lindeland;52.1;5.1",  # not a house number
        "Beukenlaan;70;;;;Lindedorp;Lindeland;;5.1",  # no latitude
        "Beukenlaan;71;;;Lindedorp;Lindeland;52.1;5.1",  # a field short
        ";72;;;;Lindedorp;Lindeland;52.1;5.1",  # no street
    ]
    # Lines 3-6 of the file (1 is the header, 2 a good row).
    addresses.write_text("\n".join([text[0], text[1], *bad, *text[2:]]) + "\n")
    good = len(text) - 1
    engine = make_engine(database_url)
    try:
        migrate(engine)
        report = import_gazetteer(engine, "lindeland", addresses, places)
        assert report.addresses == good and report.places == 4
        assert [e.split(": ")[0] for e in report.errors] == [
            "gazetteer_addresses.csv:3",
            "gazetteer_addresses.csv:4",
            "gazetteer_addresses.csv:5",
            "gazetteer_addresses.csv:6",
        ]
        assert "huisnummer 'zeven'" in report.errors[0]
        assert "lat is empty" in report.errors[1]
        # Importing again replaces the region's set: nothing doubles, the generation moves.
        again = import_gazetteer(engine, "lindeland", addresses, places)
        assert again.generation == report.generation + 1
        with engine.connect() as conn:
            count = sa.select(sa.func.count()).select_from
            assert conn.execute(count(ADDRESSES)).scalar_one() == good
            assert conn.execute(count(PLACES)).scalar_one() == 4
            g = load(conn)
        assert g is not None and g.generation == again.generation
        assert g.match_street("oranjepl") == "oranjeplein"
        assert g.is_town("haverveld") and g.is_town("lindeland")  # woonplaats and gemeente
        # A file that cannot be used at all changes nothing.
        broken = tmp_path / "broken.csv"
        broken.write_text("straat;nummer\nBeukenlaan;1\n")
        with pytest.raises(GazetteerFileError, match="lacks openbareruimte"):
            import_gazetteer(engine, "lindeland", broken, None)
        with engine.connect() as conn:
            assert conn.execute(count(ADDRESSES)).scalar_one() == good
    finally:
        engine.dispose()


def test_import_takes_extra_columns_and_rd_coordinates(tmp_path: Path) -> None:
    f = tmp_path / "bag.csv"
    # NLExtract-like: more columns, RD x/y instead of lat/lon (Amersfoort's tower, about).
    f.write_text(
        "openbareruimte;huisnummer;huisletter;huisnummertoevoeging;postcode;woonplaats;"
        "gemeente;x;y;oppervlakte\n"
        "Lieve Vrouwekerkhof;1;;;3811 BK;Amersfoort;Amersfoort;155000;463000;120\n"
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        migrate(engine)
        report = import_gazetteer(engine, "rd", f, None)
        assert report.addresses == 1 and not report.errors
        with engine.connect() as conn:
            row = conn.execute(sa.select(ADDRESSES)).one()
        assert abs(row.lat - 52.1552) < 0.001 and abs(row.lon - 5.3872) < 0.001
        assert row.postcode == "3811BK"
    finally:
        engine.dispose()


def test_cli_import_prints_skipped_lines_and_counts(tmp_path: Path) -> None:
    addresses, places = write_region(tmp_path / "region")
    with addresses.open("a") as f:
        f.write("Beukenlaan;81;;;;Lindedorp;Lindeland;noord;5.1\n")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    args = ["gazetteer", "import", "--database-url", url, "--region", "lindeland"]
    result = runner.invoke(cli_app, [*args, "--addresses", str(addresses), "--places", str(places)])
    assert result.exit_code == 0, result.output
    n = len(addresses.read_text().splitlines())
    assert f"skipped gazetteer_addresses.csv:{n}: lat 'noord' is not a number" in result.output
    assert "4 places imported, 1 bad rows skipped" in result.output
    missing = runner.invoke(cli_app, [*args, "--addresses", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1 and "cannot read" in missing.output


# --------------------------------------------------------------------------- the index


@pytest.mark.parametrize(
    ("written", "street"),
    [
        ("oranjepl", "oranjeplein"),  # abbreviated street types
        ("beukenln", "beukenlaan"),
        ("lindesngl", "lindesingel"),
        ("molenwg", "molenweg"),
        ("burgemeesterdevriesstr", "burgemeesterdevriesstraat"),
        ("oranjeplien", "oranjeplein"),  # letters swapped, doubled, dropped
        ("beukenlaaan", "beukenlaan"),
        ("lindesingl", "lindesingel"),
        ("dorpstraat", "dorpsstraat"),
        ("molen", None),  # not a street: a word
        ("kapelstraat", None),  # a street of another area
    ],
)
def test_streets_are_matched_against_the_real_list(written: str, street: str | None) -> None:
    assert gazetteer().match_street(written) == street


def test_addresses_towns_and_places_are_read_from_text() -> None:
    g = gazetteer()
    found = g.read("rookontwikkeling bij Oranjepl. 8 (achterkant)")
    assert found is not None and found.display() == "Oranjeplein 8, Lindedorp"
    assert found.position == house("Oranjeplein", "Lindedorp", 8)
    # Streets two villages share: the written village, else the NSP's, else the nearest.
    assert g.read("kerkstr 5 haverveld").display() == "Kerkstraat 5, Haverveld"  # type: ignore[union-attr]
    by_nsp = g.read("Kerkstraat 5", hint_town="oudemolen", address_field=True)
    assert by_nsp is not None and by_nsp.street is not None
    assert by_nsp.street.town == "Oudemolen" and not by_nsp.town_is_fact
    near = g.read("Kerkstraat 9", near=house("Kerkstraat", "Haverveld", 12), address_field=True)
    assert near is not None and near.street is not None and near.street.town == "Haverveld"
    # A street the written town does not have is not moved to a town that has it; the
    # municipality's name still allows its villages.
    assert g.read("Kerkstraat 5, Lindedorp", address_field=True) is None
    in_municipality = g.read("Kerkstraat 5, Lindeland", hint_town="oudemolen", address_field=True)
    assert in_municipality is not None and in_municipality.street is not None
    assert in_municipality.street.town == "Oudemolen"
    # Named places the region loaded: a station, a shop, a bridge.
    for text, name in (
        ("veel mensen bij het station, geen treinen", "Station Lindedorp"),
        ("plundering bij de Korenschoof", "Supermarkt De Korenschoof"),
        ("water staat tot aan de brug over de Linde", "Lindebrug"),
    ):
        place = g.read(text)
        assert place is not None and place.place is not None and place.place.name == name
    # Numbers in a text that are no address stay what they are.
    assert g.read("sinds 7 uur geen stroom, 3 kinderen binnen") is None
    # A map pick's nearest street stretch.
    picked = g.reverse(*house("Lindesingel", "Lindedorp", 41))
    assert picked is not None and picked[0].name == "Lindesingel" and picked[1] == 41


def test_street_names_in_the_text_do_not_make_two_events_alike() -> None:
    g = gazetteer()
    a = normalise_text("Brand in de meterkast, Lindesngl 14", g)
    b = normalise_text("boom over de weg bij lindesingel 90", g)
    assert "linde" not in a + b and "14" not in a and "90" not in b
    assert text_similarity(a, b) < 0.45


# --------------------------------------------------------------------------- grouping


class Cp:
    """A CP database with the region's NSPs (and gazetteer), ingesting through the hook."""

    def __init__(self, url: str, region: Path | None) -> None:
        self.engine = make_engine(url)
        migrate(self.engine)
        with self.engine.begin() as conn:
            for nsp_id, address in (
                ("nsp-linde", "Beukenlaan 2, Lindedorp"),
                ("nsp-haver", "Kerkstraat 1, Haverveld"),
                ("nsp-oude", "Dorpsstraat 3, Oudemolen"),
            ):
                conn.execute(
                    sa.insert(table_of(Nsp)),
                    {
                        "nsp_id": nsp_id,
                        "cp_id": CP,
                        "name": nsp_id,
                        "address": address,
                        "registered": True,
                        "message_count": 0,
                        "max_seq": 0,
                        "gaps": [],
                        "seq_conflicts": 0,
                        "last_status_seq": 0,
                    },
                )
        if region is not None:
            import_gazetteer(
                self.engine,
                "lindeland",
                region / "gazetteer_addresses.csv",
                region / "gazetteer_places.csv",
            )
        self.hook = GroupingHook(CP, TriageSettings())
        self.seq = 0
        self.at = T0

    def send(self, nsp: str, kind: str, body: dict[str, Any]) -> str:
        self.seq += 1
        self.at += timedelta(minutes=3)
        msg = make_up(kind, nsp, self.seq, body, sent_at=self.at)
        store_batch(self.engine, [Accepted(msg, self.at, "mqtt")], [], [], CP, [self.hook])
        return msg.message_id

    def item(self, message_id: str) -> Any:
        reports = table_of(TriageReport)
        items = table_of(TriageItem)
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(items)
                .join(reports, reports.c.item_id == items.c.id)
                .where(reports.c.message_id == message_id)
            ).one()


@pytest.fixture
def cp(database_url: str, tmp_path: Path) -> Iterator[Cp]:
    region = tmp_path / "region"
    write_region(region)
    c = Cp(database_url, region)
    yield c
    c.engine.dispose()


def sit(
    category: str, text: str, address: str | None = None, at: tuple[float, float] | None = None
) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    if address:
        loc["address"] = address
    if at:
        loc["lat"], loc["lon"] = at
    return {"category": category, "severity": "high", "location": loc, "description": text}


def need(category: str, text: str, address: str, urgency: str = "P2") -> dict[str, Any]:
    return {
        "category": category,
        "urgency": urgency,
        "location": {"address": address},
        "description": text,
        "people_involved": 1,
    }


def test_an_address_only_in_the_text_groups_by_that_address(cp: Cp) -> None:
    # Class 1: the pin is 30 m off, towards the parallel street; the text names the house.
    lat, lon = house("Beukenlaan", "Lindedorp", 23)
    a = cp.send(
        "nsp-linde",
        "situation_report",
        sit("fire", "rook uit de meterkast bij Beukenln 23", at=(lat + 0.00027, lon)),
    )
    b = cp.send(
        "nsp-linde",
        "situation_report",
        sit("fire", "Meterkast brandt, bewoners staan buiten", "Beukenlaan 23, Lindedorp"),
    )
    # A fire in the parallel street, whose pin is nearer to the first one's.
    c = cp.send(
        "nsp-linde",
        "situation_report",
        sit("fire", "brand in schuurtje Eikenlaan 25", at=house("Eikenlaan", "Lindedorp", 25)),
    )
    assert cp.item(a).id == cp.item(b).id
    assert cp.item(c).id != cp.item(a).id
    assert cp.item(a).address == "Beukenlaan 23, Lindedorp"


def test_abbreviated_and_misspelled_streets_are_one_address(cp: Cp) -> None:
    # Class 2.
    a = cp.send(
        "nsp-linde", "situation_report", sit("water", "waterleiding gesprongen", "Oranjepl 8")
    )
    b = cp.send(
        "nsp-linde",
        "situation_report",
        sit("infrastructure", "straat staat blank, leiding kapot", "oranjeplien 8 lindedorp"),
    )
    # The same street name in the two villages: two places.
    c = cp.send(
        "nsp-haver", "help_request", need("medical", "mevrouw gevallen, heup?", "Kerkstr 12")
    )
    d = cp.send(
        "nsp-oude",
        "help_request",
        need("medical", "oude dame gevallen, kan niet opstaan", "Kerkstraat 12, Oudemolen"),
    )
    # Two events in one (abbreviated) street are not alike because of the street's name.
    e = cp.send(
        "nsp-linde",
        "situation_report",
        sit("power", "Lindesngl 30: kabel hangt los, vonken", "Lindesngl 30"),
    )
    f = cp.send(
        "nsp-linde",
        "situation_report",
        sit("infrastructure", "Lindesngl 40 boom op de stoep, gaat nog", "Lindesingel 40"),
    )
    assert cp.item(a).id == cp.item(b).id
    assert cp.item(a).address == "Oranjeplein 8, Lindedorp"
    assert cp.item(c).id != cp.item(d).id
    assert cp.item(c).address == "Kerkstraat 12, Haverveld"
    assert cp.item(e).id != cp.item(f).id


def test_one_emergency_in_other_words_is_one_incident(cp: Cp) -> None:
    # Class 3: one short-of-breath neighbour, told by three visitors.
    breath = [
        cp.send("nsp-linde", "help_request", need("medical", text, "Molenweg 31"))
        for text in (
            "buurman krijgt moeilijk lucht, praat met horten en stoten",
            "meneer zit te hijgen op de rand van het bed, lippen blauw",
            "kan geen hele zin zeggen, piept bij elke ademhaling",
        )
    ]
    # One household in a cold house, in three ways.
    cold = [
        cp.send("nsp-linde", "help_request", need("vulnerable_person", text, "Lindesingel 77"))
        for text in (
            "binnen nog maar 11 graden, oude mensen zitten onder dekens",
            "echtpaar zit te bibberen, kachel doet het niet zonder stroom",
            "ijskoud in huis, mevrouw heeft blauwe handen en rilt",
        )
    ]
    assert len({cp.item(m).id for m in breath}) == 1
    assert len({cp.item(m).id for m in cold}) == 1
    assert cp.item(breath[0]).id != cp.item(cold[0]).id
    # Clear evidence still splits: a gas smell is not a fall, at one address.
    gas = cp.send("nsp-linde", "situation_report", sit("safety", "sterke gaslucht", "Molenweg 31"))
    assert cp.item(gas).id != cp.item(breath[0]).id


def test_places_towns_and_villages_come_from_the_loaded_data(cp: Cp) -> None:
    # Class 0: a named place as location, and a village written without a comma.
    a = cp.send(
        "nsp-linde",
        "situation_report",
        sit("safety", "vechtpartij, twee gewonden", "bij het station"),
    )
    b = cp.send(
        "nsp-linde",
        "situation_report",
        sit("safety", "ruzie op het stationsplein, iemand bloedt", "Station Lindedorp"),
    )
    c = cp.send(
        "nsp-linde", "situation_report", sit("safety", "ruzie, iemand gewond", "bij de Korenschoof")
    )
    d = cp.send(
        "nsp-haver",
        "situation_report",
        sit("fire", "schoorsteenbrand", "kerkstraat 4 haverveld"),
    )
    assert cp.item(a).id == cp.item(b).id
    assert cp.item(c).id != cp.item(a).id
    station = cp.item(a)
    assert (station.lat, station.lon) == (52.1020, 5.1120)  # on the map
    assert cp.item(d).address == "Kerkstraat 4, Haverveld"


def test_flats_of_one_building_and_reports_placed_at_the_nsp_stay_apart(cp: Cp) -> None:
    # Two homes behind one house number (BAG huisnummertoevoeging): one building, two calls.
    a = cp.send(
        "nsp-linde",
        "help_request",
        need("vulnerable_person", "mevrouw zit vast in de lift, 3e verdieping", "Molenweg 12/4"),
    )
    b = cp.send(
        "nsp-linde",
        "help_request",
        need("vulnerable_person", "man vast in lift van de flat", "Molenweg 12-9"),
    )
    c = cp.send(
        "nsp-linde",
        "help_request",
        need("vulnerable_person", "bewoonster opgesloten in lift", "molenwg 12 app 4"),
    )
    assert cp.item(a).id != cp.item(b).id
    assert cp.item(c).id == cp.item(a).id
    # Questions written down at the NSP carry the NSP's own address: that is where they were
    # asked, not what they are about, so two different questions do not meet there.
    q1 = cp.send(
        "nsp-linde",
        "situation_report",
        {
            "category": "information_need",
            "severity": "moderate",
            "location": {"address": "Beukenlaan 2, Lindedorp"},
            "description": "Waar kunnen we drinkwater halen?",
        },
    )
    q2 = cp.send(
        "nsp-linde",
        "situation_report",
        {
            "category": "information_need",
            "severity": "moderate",
            "location": {"address": "Beukenlaan 2"},
            "description": "Wanneer komt de stroom terug?",
        },
    )
    assert cp.item(q1).id != cp.item(q2).id
    assert cp.item(q1).lat is None  # the NSP is not the question's place on the map


def test_a_configured_gazetteer_is_seeded_only_into_an_empty_database(tmp_path: Path) -> None:
    first, second = tmp_path / "eerste", tmp_path / "tweede"
    write_region(first)
    write_region(second)
    engine = make_engine(f"sqlite:///{tmp_path / 'seed.db'}")
    try:
        migrate(engine)
        report = seed_gazetteer(engine, first)
        assert report is not None and report.region == "eerste" and not report.errors
        assert seed_gazetteer(engine, second) is None  # the region's own set stays
        with engine.connect() as conn:
            regions = set(conn.execute(sa.select(ADDRESSES.c.region).distinct()).scalars())
        assert regions == {"eerste"}
    finally:
        engine.dispose()


def test_without_a_gazetteer_grouping_still_works(database_url: str) -> None:
    c = Cp(database_url, None)
    try:
        a = c.send(
            "nsp-linde", "situation_report", sit("fire", "Rook uit het dak", "Beukenlaan 12")
        )
        b = c.send(
            "nsp-linde", "situation_report", sit("fire", "dak van woning brandt", "beukenln. 12")
        )
        assert c.item(a).id == c.item(b).id
        assert c.item(a).lat is None  # nothing to geocode with
    finally:
        c.engine.dispose()


# --------------------------------------------------------------------------- the queue


async def test_queue_and_geojson_show_the_normalised_geocoded_address(
    database_url: str, tmp_path: Path
) -> None:
    addresses, places = write_region(tmp_path / "region")
    engine = make_engine(database_url)
    migrate(engine)
    import_gazetteer(engine, "lindeland", addresses, places)
    engine.dispose()
    app = create_app(ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id=CP))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://cp",
            auth=CpAuth(app.state.ctx.engine),
        ) as client,
    ):
        body = sit("water", "Brandkraan lekt hevig, straat loopt onder", "burg. de vriesstr. 12")
        msg = json.loads(make_up("situation_report", "nsp-linde", 1, body).model_dump_json())
        assert (await client.post("/api/v1/messages", json=msg)).status_code == 201
        queue = (await client.get("/api/v1/queue")).json()
        [entry] = [e for e in queue if e["item"]["item_type"] == "incident"]
        item = entry["item"]
        assert item["address"] == "Burgemeester de Vriesstraat 12, Lindedorp"
        assert (item["lat"], item["lon"]) == house("Burgemeester de Vriesstraat", "Lindedorp", 12)
        geo = (await client.get("/api/v1/geo/incidents.geojson")).json()
        [feature] = geo["features"]
        assert feature["geometry"]["coordinates"] == [item["lon"], item["lat"]]
        assert feature["properties"]["address"] == item["address"]
        # A map pick alone is shown at its nearest street stretch.
        lat, lon = house("Lindesingel", "Lindedorp", 61)
        pick = sit("infrastructure", "Boom ligt over het fietspad", at=(lat, lon))
        msg = json.loads(make_up("situation_report", "nsp-linde", 2, pick).model_dump_json())
        assert (await client.post("/api/v1/messages", json=msg)).status_code == 201
        queue = (await client.get("/api/v1/queue")).json()
        addresses = {e["item"]["address"] for e in queue}
        assert "nabij Lindesingel 61, Lindedorp" in addresses


def test_header_constant_is_the_bag_layout() -> None:
    assert HEADER.split(";")[:2] == ["openbareruimte", "huisnummer"]


def test_an_area_question_is_one_item_per_topic_and_day(cp: Cp) -> None:
    # Area-wide signals: the information desk answers a question once a day, whoever asks,
    # in whatever words, hours apart; another topic is another answer; the next day is news.
    def area(category: str, text: str) -> dict[str, Any]:
        return {"category": category, "severity": "moderate", "description": text}

    charging = []
    for nsp, text in (
        ("nsp-linde", "bezoekers willen hun mobiel ergens laden"),
        ("nsp-haver", "Waar is een oplaadpunt voor de telefoon?"),
        ("nsp-oude", "vraag: kan je hier je gsm opladen"),
    ):
        charging.append(cp.send(nsp, "situation_report", area("information_need", text)))
        cp.at += timedelta(hours=2)  # five hours between the first and the last
    safe = cp.send(
        "nsp-linde",
        "situation_report",
        area("information_need", "mogen we het kraanwater nog drinken of moet het gekookt?"),
    )
    where = cp.send(
        "nsp-oude",
        "situation_report",
        area("information_need", "waar kunnen mensen jerrycans met water vullen"),
    )
    moods = [
        cp.send("nsp-linde", "situation_report", area("public_mood", "onrust bij de balie")),
        cp.send("nsp-oude", "situation_report", area("public_mood", "mensen zijn het zat, boos")),
    ]
    cp.at += timedelta(days=1)
    next_day = cp.send(
        "nsp-linde", "situation_report", area("information_need", "waar telefoon opladen?")
    )
    assert len({cp.item(m).id for m in charging}) == 1
    assert cp.item(safe).id != cp.item(where).id
    assert cp.item(safe).id != cp.item(charging[0]).id
    assert cp.item(moods[0]).id == cp.item(moods[1]).id
    assert cp.item(next_day).id != cp.item(charging[0]).id


def test_an_emergency_at_the_nsps_own_door_is_grouped_by_its_text(cp: Cp) -> None:
    # A report given the NSP's own address is not placed on the map (it may be the
    # volunteer's default), but two reports of one NSP at its door are near each other: the
    # same fall told twice is one incident, a gas smell there is another.
    fall = [
        cp.send("nsp-haver", "help_request", need("medical", text, "Kerkstraat 1, Haverveld"))
        for text in (
            "Vrouw naast de balie gevallen, kan niet meer opstaan, pijn in de heup",
            "bezoekster is bij ons binnen onderuitgegaan, mogelijk heup gebroken",
        )
    ]
    gas = cp.send(
        "nsp-haver", "help_request", need("other", "gaslucht in de keuken", "Kerkstraat 1")
    )
    elsewhere = cp.send(
        "nsp-linde", "help_request", need("medical", "vrouw gevallen, heup pijn", "Beukenlaan 2")
    )
    assert cp.item(fall[0]).id == cp.item(fall[1]).id
    assert cp.item(gas).id != cp.item(fall[0]).id
    assert cp.item(elsewhere).id != cp.item(fall[0]).id
