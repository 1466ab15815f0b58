"""Each programme numbers its own members: a Carte Maison card never carries the airline's
number, and a customer's existing number of the programme's format is kept."""

from __future__ import annotations

from pathlib import Path

from egards.loyalty.programme import PROGRAMMES_DIR, load_programme


def bundled(code: str):
    return next(
        p
        for p in (load_programme(path) for path in Path(PROGRAMMES_DIR).glob("*.yaml"))
        if p.code == code
    )


def test_the_retail_card_gets_its_own_number_not_the_airlines():
    retail = bundled("carte_maison")
    assert retail.member_number(123, ["FB00000042"]) == "CM0000000123"


def test_the_airline_keeps_the_customers_existing_flying_blue_number():
    airline = bundled("flying_blue")
    assert airline.member_number(123, ["CM0000000007", "FB00000042"]) == "FB00000042"
    assert airline.member_number(123, []) == "FB0000000123"


def test_every_bundled_programme_has_a_prefix_of_its_own():
    prefixes = [load_programme(path).member_prefix for path in Path(PROGRAMMES_DIR).glob("*.yaml")]
    assert len(prefixes) == len(set(prefixes)) == 3
