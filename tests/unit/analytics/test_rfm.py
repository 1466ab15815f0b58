"""RFM quintile scores and named segments from a configurable rule table."""

import numpy as np
import pytest

from egards.analytics.rfm import (
    DEFAULT_SEGMENT_RULES,
    RFMScores,
    SegmentRule,
    assign_segments,
    rfm_scores,
    rules_from_mapping,
    segment_labels,
)


def test_scores_are_quintiles_with_five_for_the_most_recent_frequent_and_valuable():
    days = np.arange(100, 0, -1)  # customer 99 bought most recently
    scores = rfm_scores(
        days_since_last_purchase=days, purchase_count=np.arange(100), monetary_value=np.arange(100)
    )
    assert np.bincount(scores.recency)[1:].tolist() == [20] * 5
    assert scores.recency[-1] == scores.frequency[-1] == scores.monetary[-1] == 5
    assert scores.code[-1] == 555 and scores.code[0] == 111


def test_tied_customers_share_the_same_score():
    scores = rfm_scores(
        days_since_last_purchase=[5, 5, 5, 5, 50],
        purchase_count=[1, 1, 1, 1, 9],
        monetary_value=[1, 2, 3, 4, 5],
    )
    assert len(set(scores.frequency[:4].tolist())) == 1


def _one(r, f, m, purchases):
    scores = RFMScores(np.array([r]), np.array([f]), np.array([m]))
    return assign_segments(scores=scores, purchase_count=np.array([purchases]))[0]


def test_recent_frequent_big_spender_is_a_champion():
    assert _one(5, 5, 5, 20) == "champions"


def test_one_off_buyer_who_has_not_come_back_is_a_tourist_not_a_lost_loyal_customer():
    assert _one(2, 1, 3, 1) == "tourist"


def test_one_off_recent_buyer_is_new():
    assert _one(5, 1, 2, 1) == "new"


def test_frequent_buyer_gone_quiet_is_at_risk_or_cannot_be_lost():
    assert _one(2, 4, 3, 12) == "at_risk"
    assert _one(1, 5, 5, 30) == "cannot_lose"


def test_rare_old_buyer_is_hibernating():
    assert _one(1, 2, 1, 2) == "hibernating"


def test_first_matching_rule_wins_and_unmatched_customers_get_the_default():
    rules = (SegmentRule("vip", monetary=(5, 5)), SegmentRule("recent", recency=(4, 5)))
    scores = RFMScores(np.array([5, 5, 1]), np.array([1, 1, 1]), np.array([5, 1, 1]))
    segments = assign_segments(scores=scores, purchase_count=np.array([3, 3, 3]), rules=rules)
    assert segments.tolist() == ["vip", "recent", "other"]


def test_rule_table_can_come_from_settings():
    rules = rules_from_mapping(
        {
            "fideles": {"recency": [3, 5], "frequency": [4, 5]},
            "touristes": {"max_purchases": 1},
        }
    )
    assert rules[0] == SegmentRule("fideles", recency=(3, 5), frequency=(4, 5))
    assert rules[1].max_purchases == 1


def test_every_default_segment_reads_as_words_in_english_and_french():
    for lang in ("en", "fr"):
        labels = segment_labels(DEFAULT_SEGMENT_RULES, lang)
        assert set(labels) == {r.name for r in DEFAULT_SEGMENT_RULES} | {"other"}
        assert all(label and "_" not in label for label in labels.values())
    assert segment_labels(lang="en")["at_risk"] == "At risk"
    assert segment_labels(lang="fr")["cannot_lose"] == "À ne pas perdre"
    assert segment_labels(lang="fr")["other"] == "Autres"


def test_segment_labels_come_from_settings_and_defaults_keep_theirs():
    rules = rules_from_mapping(
        {
            "vip": {"monetary": [5, 5], "label": {"en": "Very important", "fr": "Très importants"}},
            "loyal": {"frequency": [4, 5]},
            "lapsed_big_spenders": {"recency": [1, 1]},
        }
    )
    assert segment_labels(rules, "fr")["vip"] == "Très importants"
    assert segment_labels(rules, "en")["loyal"] == "Loyal"
    assert segment_labels(rules, "en")["lapsed_big_spenders"] == "Lapsed big spenders"


def test_rule_table_from_settings_rejects_unknown_keys_and_bad_ranges():
    with pytest.raises(ValueError, match="unknown keys"):
        rules_from_mapping({"x": {"recence": [1, 2]}})
    with pytest.raises(ValueError, match="bad recency range"):
        rules_from_mapping({"x": {"recency": [4, 2]}})


def test_every_cell_of_the_default_grid_has_a_named_segment():
    r, f, m = np.meshgrid(np.arange(1, 6), np.arange(1, 6), np.arange(1, 6), indexing="ij")
    scores = RFMScores(r.ravel(), f.ravel(), m.ravel())
    segments = assign_segments(
        scores=scores, purchase_count=np.full(r.size, 5), rules=DEFAULT_SEGMENT_RULES
    )
    assert "other" not in set(segments.tolist())
