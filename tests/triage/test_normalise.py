"""Dutch address and text normalisation."""

from __future__ import annotations

import pytest

from service.triage.normalise import normalise_text, parse_address, text_similarity


@pytest.mark.parametrize(
    "raw",
    [
        "Kerkstraat 12, Oss",
        "kerkstr. 12 oss",
        "Kerkstraat 12",
        "bij de Kerkstraat 12",
        "KERK STRAAT 12 OSS",
        "Kerkstraat 12, 5341 AB Oss",
    ],
)
def test_the_same_address_written_differently_is_one_key(raw: str) -> None:
    a = parse_address(raw)
    assert (a.street, a.number) == ("kerkstraat", 12)
    assert a.town in (None, "oss")


def test_addresses_that_differ_stay_apart() -> None:
    assert parse_address("Kerkstraat 12, Lith").town == "lith"
    assert parse_address("Kerkstraat 80").number == 80
    assert parse_address("Molenstraat 12").street == "molenstraat"
    b = parse_address("Burg. van den Elsenstraat 5a")
    assert (b.street, b.number) == ("burgemeestervandenelsenstraat", 5)
    assert parse_address("Oss centrum").street is None
    assert parse_address("Oss centrum").place == "oss centrum"


def test_paraphrases_typos_and_abbreviations_read_alike() -> None:
    base = normalise_text("Oudere mevrouw gevallen in huis, bloedt aan het hoofd")
    for variant in ("oude mevr. gevalen, bloedt hoofd", "Bejaarde dame is gevallen en bloedt"):
        assert text_similarity(base, normalise_text(variant)) >= 0.6, variant
    assert (
        text_similarity(normalise_text("sterke gaslucht"), normalise_text("bewoners ruiken gas"))
        >= 0.6
    )
    unrelated = normalise_text("Boom omgevallen, weg geblokkeerd")
    assert text_similarity(base, unrelated) < 0.4
    # Street names and numbers are location, not content.
    assert "kerkstraat" not in normalise_text("Brand op de Kerkstraat 12")


def test_texts_about_different_things_or_people_do_not_match() -> None:
    def sim(a: str, b: str) -> float:
        return text_similarity(normalise_text(a), normalise_text(b))

    # Each names what happened, and they share none of it.
    assert sim("Sterke gaslucht in de straat", "Huis staat in brand, veel rook") == 0.0
    assert sim("Man met pijn op de borst", "Oude dame heeft het koud, kachel werkt niet") == 0.0
    # 'zonder stroom' is everybody's background in a power cut, not a shared fact.
    assert (
        sim(
            "Meneer aan zuurstof, apparaat werkt niet zonder stroom",
            "Oudere vrouw zit in de kou, kachel werkt niet zonder stroom",
        )
        == 0.0
    )
    # A missing child is not a missing demented man.
    assert sim("Jongetje van zeven jaar kwijt", "Demente man vermist, weggelopen") == 0.0
    # Paraphrases of one thing still read alike, typos in the key word included (at least
    # the default min_text_score).
    assert sim("Schuur in brand achter het huis", "schuurbarnd, buren blussen") >= 0.6
    assert sim("Grote booom ligt over de straat", "Boom omgevallen, weg geblokkeerd") >= 0.45
    assert sim("Kind van 7 vermist", "Meisje (8) niet thuisgekomen uit school") >= 0.6


def test_nouns_that_end_like_street_types_are_content() -> None:
    # supermarkt (-markt), stroomstoring (-ring), plundering (-ring) are not street names ...
    assert "inbraak" in normalise_text("Plundering bij de supermarkt")
    assert "stroom" in normalise_text("Hoelang duurt de stroomstoring?")
    # ... unless a house number follows.
    assert "hescheweg" not in normalise_text("Boom op de Hescheweg 12")
