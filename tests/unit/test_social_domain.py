"""Rules of the social feature: audiences, quoted numbers, deterministic linking decisions,
and the probabilistic linker's own rules (corroboration, ambiguity, thresholds)."""

from __future__ import annotations

import pytest

from egards.errors import InvalidInput
from egards.i18n import render_message
from egards.social.domain import (
    Evidence,
    LinkMethod,
    Outcome,
    check_audience,
    decide_deterministic,
    normalise_handle,
    quoted_numbers,
)
from egards.social.linking import (
    ScoredPair,
    contradicted,
    corroborated,
    decide,
    decide_best,
    handle_keys,
    profile_record,
)


@pytest.mark.parametrize("value", [-1, "12k", 1.5, True, "-3", 10**11])
def test_an_absurd_audience_is_refused_naming_the_field(value):
    with pytest.raises(InvalidInput) as refused:
        check_audience(value)
    assert refused.value.field == "followers"


def test_a_whole_audience_is_kept_and_a_blank_one_is_unknown():
    assert check_audience("50000") == 50_000
    assert check_audience(0) == 0
    assert check_audience("") is None and check_audience(None) is None


def test_handles_lose_the_at_and_the_case():
    assert normalise_handle("@Zoe_M") == "zoe_m"
    with pytest.raises(InvalidInput):
        normalise_handle("two words")


def test_loyalty_numbers_and_references_are_found_in_a_post():
    text = "Mon numéro FB12345678, dossier CT-2024-001234, merci 2 fois"
    assert quoted_numbers(text) == ["FB12345678", "CT2024001234"]


def _evidence(method, customer_id):
    return Evidence(method, customer_id, "detail")


def test_declared_handle_links_without_review():
    decision = decide_deterministic([_evidence(LinkMethod.DECLARED_HANDLE, 7)])
    assert decision.outcome is Outcome.LINK and decision.customer_id == 7


def test_evidence_naming_two_customers_goes_to_review():
    decision = decide_deterministic(
        [_evidence(LinkMethod.DECLARED_HANDLE, 7), _evidence(LinkMethod.LOYALTY_NUMBER, 8)]
    )
    assert decision.outcome is Outcome.REVIEW
    assert render_message("en", decision.reason) == "the evidence names different customers"
    assert render_message("fr", decision.reason) == "les indices désignent des clients différents"


def test_a_profile_linked_to_someone_else_is_never_moved_silently():
    decision = decide_deterministic([_evidence(LinkMethod.VERIFIED_EMAIL, 8)], linked_to=7)
    assert decision.outcome is Outcome.REVIEW
    assert render_message("en", decision.reason) == "the profile is already linked to customer 7"
    assert render_message("fr", decision.reason) == "le profil est déjà lié au client 7"


def test_no_evidence_does_nothing():
    assert decide_deterministic([]).outcome is Outcome.NOTHING


def _pair(right, weight, **levels):
    return ScoredPair("p1", right, weight, 0.9, levels)


def test_display_name_alone_goes_to_review():
    named = _pair("c1", 14.0, first_name=4, last_name=4, city=-1, birth_year=-1)
    assert not corroborated(named.levels)
    assert decide_best([named], upper=6, lower=0, margin=2)["p1"].outcome == "review"


def test_a_corroborated_clear_leader_is_linked_and_homonyms_are_reviewed():
    leader = _pair("c1", 14.0, first_name=4, last_name=4, city=1)
    assert decide_best([leader], upper=6, lower=0, margin=2)["p1"].outcome == "link"
    twin = _pair("c2", 13.5, first_name=4, last_name=4, city=1)
    assert decide_best([leader, twin], upper=6, lower=0, margin=2)["p1"].outcome == "review"


def test_display_name_and_handle_with_nothing_else_known_link_above_the_names_threshold():
    named = _pair("c1", 14.0, first_name=4, last_name=4, handle_keys=1, city=-1)
    assert decide_best([named], upper=6, lower=0, margin=2)["p1"].outcome == "review"
    linked = decide_best([named], upper=6, lower=0, margin=2, name_only_upper=6)
    assert linked["p1"].outcome == "link"
    assert decide_best([named], upper=6, lower=0, margin=2, name_only_upper=15)["p1"].outcome == (
        "review"
    )


def test_a_fact_that_disagrees_sends_even_a_strong_match_to_review():
    homonym = _pair("c1", 20.0, first_name=4, last_name=4, handle_keys=1, city=0)
    assert contradicted(homonym.levels)
    decided = decide_best([homonym], upper=6, lower=0, margin=2, name_only_upper=6)
    assert decided["p1"].outcome == "review"
    other_year = _pair("c1", 20.0, first_name=4, last_name=4, city=1, birth_year=0)
    assert decide_best([other_year], upper=6, lower=0, margin=2)["p1"].outcome == "review"


def test_handles_built_from_the_names():
    keys = handle_keys("Zoé", "Thomas")
    assert {"zoethomas", "thomaszoe", "zthomas", "zoetho"} <= set(keys)
    assert "zoe" not in keys  # a bare first name says nothing more than the first name
    assert "alexlacroix" in handle_keys("Alexandre", "Lacroix-Masson")


def test_thresholds_split_link_review_and_nothing():
    assert decide(7, upper=6, lower=0) == "link"
    assert decide(3, upper=6, lower=0) == "review"
    assert decide(-1, upper=6, lower=0) == "nothing"


def test_a_display_name_with_an_initial_keeps_the_initial_not_a_surname():
    record = profile_record({"id": 1, "display_name": "Marie D.", "handle": "marie1987"})
    assert record["last_name"] is None and record["initial"] == "d"
    assert record["birth_year"] == "1987" and record["first_name"] == "marie"


def test_an_empty_names_alone_threshold_means_names_never_link(monkeypatch):
    from egards.social.settings import SocialSettings

    monkeypatch.setenv("EGARDS_SOCIAL_LINK_NAME_ONLY_UPPER", "")
    assert SocialSettings().link_name_only_upper is None
    monkeypatch.setenv("EGARDS_SOCIAL_LINK_NAME_ONLY_UPPER", "9")
    assert SocialSettings().link_name_only_upper == 9


def test_every_linking_path_takes_its_thresholds_from_the_settings_in_one_place(monkeypatch):
    from egards.social.settings import link_thresholds

    monkeypatch.setenv("EGARDS_SOCIAL_LINK_UPPER", "8")
    monkeypatch.setenv("EGARDS_SOCIAL_LINK_LOWER", "1")
    monkeypatch.setenv("EGARDS_SOCIAL_LINK_MARGIN", "3")
    monkeypatch.setenv("EGARDS_SOCIAL_LINK_NAME_ONLY_UPPER", "")
    thresholds = link_thresholds()
    assert (thresholds.upper, thresholds.lower, thresholds.margin) == (8, 1, 3)
    assert thresholds.name_only_upper is None
    named = _pair("c1", 14.0, first_name=4, last_name=4, handle_keys=1, city=-1)
    leader = _pair("c1", 7.0, first_name=4, last_name=4, city=1)
    runner_up = _pair("c2", 4.5, first_name=4, last_name=4, city=1)
    for pairs in ([named], [leader], [leader, runner_up], [runner_up]):
        assert thresholds.decide(pairs) == decide_best(
            pairs, upper=8, lower=1, margin=3, name_only_upper=None
        )
    assert thresholds.decide([leader])["p1"].outcome == "review"  # under 8 now


def test_the_evidence_of_a_scored_pair_reads_in_the_readers_language():
    pair = ScoredPair("p", "c", 9.0, 0.9, {"first_name": 4, "city": 0, "tokens": 1, "alias": -1})
    evidence = pair.evidence()
    assert [e["detail"] for e in evidence] == [
        "first name: same",
        "city: different",
        "handle words vs names and e-mail: close",
    ]
    assert [render_message("fr", e["message"]) for e in evidence] == [
        "prénom : identique",
        "ville : différent",
        "mots de l'identifiant et noms ou e-mail : proche",
    ]


def test_each_rules_reason_has_a_stable_code_and_a_persons_words_are_written():
    from egards.messages import message
    from egards.social.domain import CLOSE_CANDIDATE, reason_code

    assert reason_code(message(CLOSE_CANDIDATE, customer="7"), "another customer (7) is close") == (
        "close_candidate"
    )
    assert reason_code(None, "Homonym") == "written"
    assert reason_code(None, None) is None
