"""A profile shown as "Marie D." says which surname it is not: the initial is compared when
the surname is not shown, and only then (beside a full surname it would count twice)."""

from __future__ import annotations

from egards.social import linking, synthetic


def _customer(number: int, last_name: str) -> dict:
    return {
        "id": number,
        "first_name": "Marie",
        "last_name": last_name,
        "city": "Paris",
        "phone": "+33612345678",
        "birth_date": "1980-05-05",
    }


def _scores(display_name: str) -> dict[str, linking.ScoredPair]:
    filler = synthetic.customers(2_000, seed=3, start=10)
    people = [_customer(1, "Dubois"), _customer(2, "Laurent-Gaillard"), _customer(3, "Leroy")]
    profile = {"id": "p", "display_name": display_name, "handle": "marie", "phone": "0612345678"}
    pairs = linking.score(
        [linking.profile_record(profile)],
        [linking.customer_record(c) for c in people + filler],
        min_weight=-50,
        max_pairs_u=50_000,
    )
    return {p.right_id: p for p in pairs}


def test_surname_initial_shown_alone_favours_the_customer_it_fits():
    scores = _scores("Marie D.")
    assert scores["1"].levels["surname_initial"] == 1
    assert scores["3"].levels["surname_initial"] == 0
    assert scores["1"].match_weight - scores["3"].match_weight > 6


def test_initial_of_a_double_surname_is_its_first_letter():
    scores = _scores("Marie L.")
    assert scores["2"].levels["surname_initial"] == 1
    assert scores["2"].match_weight > scores["1"].match_weight


def test_initial_is_not_compared_beside_a_full_surname():
    scores = _scores("Marie Dubois")
    assert scores["1"].levels["surname_initial"] == -1
