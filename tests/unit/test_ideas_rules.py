"""Rules of the idea box, without a database."""

from __future__ import annotations

import pytest

from egards.errors import Conflict, InvalidInput
from egards.ideas import domain


def test_a_proposal_is_plain_text():
    assert domain.clean_text("  Wallet   pass ", field="title", maximum=200) == "Wallet pass"
    for hostile in ("<script>alert(1)</script>", "see <img src=x onerror=1>", "javascript:go()"):
        with pytest.raises(InvalidInput) as refused:
            domain.clean_text(hostile, field="body", maximum=4000)
        assert refused.value.field == "body"
    assert domain.clean_text("3 < 5 and 5 > 3", field="body", maximum=100) == "3 < 5 and 5 > 3"


def test_lengths_are_bounded_and_named():
    with pytest.raises(InvalidInput) as short:
        domain.clean_text("Hi", field="title", maximum=200, minimum=5)
    assert short.value.field == "title"
    with pytest.raises(InvalidInput):
        domain.clean_text("x" * 201, field="title", maximum=200)


def test_a_refusal_says_why_and_a_merged_idea_stays_merged():
    with pytest.raises(InvalidInput) as why:
        domain.check_status_change("new", "declined", " ")
    assert why.value.field == "reason"
    domain.check_status_change("new", "declined", "Not possible with our fleet")
    with pytest.raises(InvalidInput):
        domain.check_status_change("new", "merged", None)
    with pytest.raises(Conflict):
        domain.check_status_change("merged", "planned", None)


def test_votes_only_on_open_visible_ideas():
    domain.check_votable("planned", hidden=False)
    for status, hidden in (("done", False), ("declined", False), ("merged", False), ("new", True)):
        with pytest.raises(Conflict):
            domain.check_votable(status, hidden=hidden)


def test_merging_into_itself_or_a_merged_idea_is_refused():
    with pytest.raises(InvalidInput):
        domain.check_merge(3, 3, "new", False)
    with pytest.raises(InvalidInput):
        domain.check_merge(3, 4, "merged", False)
    domain.check_merge(3, 4, "planned", False)


def test_the_categories_file_names_each_in_both_languages():
    found = domain.parse_categories({"app": {"en": "App", "fr": "Appli", "silo": "all"}})
    assert found["app"].label("fr") == "Appli" and found["app"].label("en") == "App"
    with pytest.raises(InvalidInput):
        domain.parse_categories({"app": {"en": "App"}})
    with pytest.raises(InvalidInput):
        domain.parse_categories({"Bad Key": {"en": "A", "fr": "B"}})


def test_tags_are_normalised_once_each_or_refused_whole():
    assert domain.clean_tags([" Wi-Fi ", "lounge  access", "wi-fi", ""]) == [
        "lounge access",
        "wi-fi",
    ]
    for bad in (["<b>"], ["under_score"], ["-x"], ["x" * 41], [f"t{n}" for n in range(11)]):
        with pytest.raises(InvalidInput) as refused:
            domain.clean_tags(bad)
        assert refused.value.field == "tags"


def test_a_category_of_programmes_is_open_to_their_members_only():
    found = domain.parse_categories(
        {
            "travel": {"en": "Travel", "fr": "Voyages", "programmes": ["flying_blue"]},
            "app": {"en": "App", "fr": "Application"},
        }
    )
    assert found["travel"].open_to(["anciennete", "flying_blue"])
    assert not found["travel"].open_to(["anciennete"]) and not found["travel"].open_to([])
    assert found["app"].open_to([])
    with pytest.raises(InvalidInput):
        domain.parse_categories({"x": {"en": "X", "fr": "X", "programmes": "flying_blue"}})
