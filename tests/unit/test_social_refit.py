"""Retraining the linking model from review outcomes: confirmed links teach the m
probabilities, blended with the shipped figures."""

from __future__ import annotations

import pytest

from egards.social.linking import M_PROBABILITIES, PRIOR_WEIGHT, refit_m


def test_without_reviews_the_shipped_figures_stay():
    fitted = refit_m([])
    for column, values in M_PROBABILITIES.items():
        assert fitted[column] == pytest.approx(values)


def test_confirmed_links_move_m_towards_what_reviewers_saw():
    # Twenty confirmed links where the city differed: the model learns that true matches
    # often live elsewhere (moved house), so a different city costs less.
    fitted = refit_m([{"city": 0, "first_name": 4}] * PRIOR_WEIGHT)
    assert fitted["city"][1] == pytest.approx((PRIOR_WEIGHT + PRIOR_WEIGHT * 0.15) / 40)
    assert fitted["city"][1] > M_PROBABILITIES["city"][1]
    assert fitted["first_name"][0] > M_PROBABILITIES["first_name"][0]
    for values in fitted.values():
        assert sum(values) == pytest.approx(1.0)


def test_a_missing_column_or_an_unknown_level_teaches_nothing():
    fitted = refit_m([{"city": -1, "alias": 9, "nickname": 1}])
    assert fitted["city"] == pytest.approx(M_PROBABILITIES["city"])
    assert fitted["alias"] == pytest.approx(M_PROBABILITIES["alias"])
    assert "nickname" not in fitted
