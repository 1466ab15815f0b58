"""Activity corroboration (``social.corroboration``): a candidate's contact hours before the
profile's post separates namesakes the names cannot; u measured as the share of customers with
a contact in a window; the generated set with activity beside it, the set itself unchanged."""

from __future__ import annotations

import hashlib
import json
import math
import random
from datetime import UTC, datetime, timedelta

from egards.i18n import render_message
from egards.social import corroboration, linking, synthetic
from egards.social.corroboration import Contact

POST = datetime(2026, 11, 24, 12, tzinfo=UTC)
WINDOW = timedelta(hours=48)
# Two namesakes in the same city: every comparison at the same level, the same weight.
LEVELS = {"first_name": 4, "last_name": 4, "city": 1, "tokens": 2, "birth_year": -1}


def _tie() -> list[linking.ScoredPair]:
    return [
        linking.ScoredPair("p1", customer, 9.0, 0.998, dict(LEVELS)) for customer in ("41", "42")
    ]


def _decide(pairs: list[linking.ScoredPair]) -> linking.Decision:
    return linking.decide_best(pairs, upper=6.0, lower=0.0, margin=2.0, name_only_upper=6.0)["p1"]


def _corroborate(contacts: dict[str, list[Contact]], *, m: float = 0.2, u: float = 0.001):
    return corroboration.corroborate(
        _tie(), posts={"p1": [POST]}, contacts=contacts, m=m, u=u, window=WINDOW
    )


def test_a_namesake_tie_goes_to_review_without_activity():
    assert _decide(_tie()).outcome == "review"


def test_a_contact_hours_before_the_post_breaks_a_namesake_tie():
    e_mail = Contact("42", POST - timedelta(hours=3), "email")
    decision = _decide(_corroborate({"42": [e_mail]}))
    assert decision.outcome == "link"
    assert decision.best is not None and decision.best.right_id == "42"
    present, absent = corroboration.weights(0.2, 0.001)
    assert decision.best.match_weight == 9.0 + present
    assert decision.runner_up is not None and decision.runner_up.match_weight == 9.0 + absent
    [evidence] = [e for e in decision.best.evidence() if e["method"] == "activity"]
    assert evidence["level"] == 1
    assert evidence["reason_code"] == "contact_before_post"
    assert evidence["detail"] == "contacted us by e-mail 3 h before this post"
    assert render_message("fr", evidence["message"]) == (
        "nous a contactés par e-mail 3 h avant cette publication"
    )


def test_a_contact_of_both_namesakes_breaks_nothing():
    contacts = {
        "41": [Contact("41", POST - timedelta(hours=30), "phone")],
        "42": [Contact("42", POST - timedelta(hours=3), "email")],
    }
    decision = _decide(_corroborate(contacts))
    assert decision.outcome == "review"
    assert decision.best is not None and decision.runner_up is not None
    assert decision.best.match_weight == decision.runner_up.match_weight


def test_a_contact_after_the_post_or_before_the_window_corroborates_nothing():
    contacts = {
        "41": [Contact("41", POST + timedelta(hours=1), "email")],
        "42": [Contact("42", POST - timedelta(hours=49), "email")],
    }
    scored = _corroborate(contacts)
    assert [pair.levels["activity"] for pair in scored] == [0, 0]
    assert _decide(scored).outcome == "review"
    evidence = scored[0].evidence()[-1]
    assert evidence["reason_code"] == "no_contact_before_post"
    assert render_message("fr", evidence["message"]) == (
        "aucun contact dans les 48 h précédant les publications de ce profil"
    )


def test_a_profile_without_a_post_is_scored_as_before():
    scored = corroboration.corroborate(
        _tie(),
        posts={},
        contacts={"42": [Contact("42", POST, "email")]},
        m=0.2,
        u=0.001,
        window=WINDOW,
    )
    assert scored == _tie()


def test_the_term_weighs_log2_m_over_u_present_and_log2_of_the_complements_absent():
    present, absent = corroboration.weights(0.2, 0.01)
    assert math.isclose(present, math.log2(20))
    assert math.isclose(absent, math.log2(0.8 / 0.99))
    assert absent < 0 < present


def test_u_is_the_poisson_share_of_customers_with_a_contact_in_the_window():
    # 2,000 contacts a year among 1,000 customers: 2 each, so a 48-hour window holds one with
    # probability 1 - exp(-2 * 48 / 8760).
    u = corroboration.chance_of_contact(
        contacts=2_000, customers=1_000, hours=8_760, window_hours=48
    )
    assert math.isclose(u, 1 - math.exp(-2000.5 / 1000 / 8760 * 48))
    # No contact yet: half a contact counted, a small u rather than a term of infinite weight.
    empty = corroboration.chance_of_contact(
        contacts=0, customers=1_000, hours=8_760, window_hours=48
    )
    assert math.isclose(empty, 1 - math.exp(-0.5 / 1000 / 8760 * 48))
    wider = corroboration.chance_of_contact(
        contacts=2_000, customers=1_000, hours=8_760, window_hours=96
    )
    assert u < wider < 2 * u


def test_u_matches_the_share_of_customers_seen_with_a_contact_in_a_random_window():
    data = synthetic.SocialSet(
        customers=[{"id": number} for number in range(1, 4_001)], profiles=[], truth={}
    )
    drawn = synthetic.activity(data, owner_rate=0.0, contacts_per_year=3.0)
    u = corroboration.chance_of_contact(
        contacts=sum(len(found) for found in drawn.contacts.values()),
        customers=4_000,
        hours=corroboration.HOURS_PER_YEAR,
        window_hours=48,
    )
    rng = random.Random(5)
    seen = 0
    for number in range(1, 4_001):
        post = synthetic.YEAR_START + timedelta(days=2 + 360 * rng.random())
        moments = [Contact(str(number), at, "email") for at in drawn.contacts.get(str(number), [])]
        seen += corroboration.contact_before([post], moments, window=WINDOW) is not None
    assert abs(seen / 4_000 - u) < 0.006  # u is about 0.016: the binomial's sd is 0.002


def test_m_is_refit_from_confirmed_links_blended_with_the_shipped_figure():
    assert corroboration.refit_m([], prior=0.2) == 0.2
    # 20 confirmed, 15 with a contact, 1 not said: (15 + 20 * 0.2) / (20 + 20).
    levels = [1] * 15 + [0] * 5 + [-1]
    assert corroboration.refit_m(levels, prior=0.2) == round(19 / 40, 6)
    assert corroboration.m_of({"activity": [0.45, 0.55]}, 0.2) == 0.45
    assert corroboration.m_of(None, 0.2) == 0.2


SET_DIGEST = "b164840418e4ef9cf2aeb9d37e9c569ef88d7c6572bb9b1b34eaa527ceb68bb3"
"""``social_set(2_000, 500)`` as main drew it before activity existed (sha256 of its JSON)."""


def _fingerprint(data: synthetic.SocialSet) -> str:
    text = json.dumps([data.customers, data.profiles, data.truth], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_social_set_is_the_one_measured_before_activity_was_drawn():
    # The digest of the set of the figures in docs/benchmarks.md (issue 19), taken before
    # ``synthetic.activity`` existed: drawing activity never changes the set.
    data = synthetic.social_set(2_000, 500)
    before = _fingerprint(data)
    synthetic.activity(data, owner_rate=0.5, contacts_per_year=2.0)
    assert _fingerprint(data) == before == SET_DIGEST


def test_the_owners_rate_adds_owner_contacts_and_changes_no_other_draw():
    data = synthetic.social_set(2_000, 500)
    none = synthetic.activity(data, owner_rate=0.0, contacts_per_year=0.124)
    some = synthetic.activity(data, owner_rate=0.3, contacts_per_year=0.124)
    assert none.owner_contacts == 0 and some.posts == none.posts
    assert 0.2 * 300 < some.owner_contacts < 0.4 * 300  # 300 true profiles, r = 0.3
    added = sum(len(v) for v in some.contacts.values()) - sum(
        len(v) for v in none.contacts.values()
    )
    assert added == some.owner_contacts
    for customer, moments in none.contacts.items():
        assert set(moments) <= set(some.contacts[customer])
    window = timedelta(hours=48)
    for profile, owner in data.truth.items():
        times = some.posts[profile]
        extra = set(some.contacts.get(owner, [])) - set(none.contacts.get(owner, []))
        for at in extra:
            assert any(timedelta(0) <= post - at <= window for post in times)
