"""The priority order of every queue (seed 004): deadline first, then value, then churn risk;
online audience only breaks ties inside a value band."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from egards.cases.domain import (
    ChurnBand,
    QueueEntry,
    Standing,
    ValueBand,
    churn_band,
    in_priority_order,
    is_public_exposure,
    priority_key,
    value_band,
)

NOON = datetime(2026, 11, 24, 11, tzinfo=UTC)
deadlines = st.one_of(
    st.none(), st.integers(-600, 6000).map(lambda minutes: NOON + timedelta(minutes=minutes))
)
audiences = st.one_of(st.none(), st.integers(0, 10**9))
bands = st.sampled_from(list(ValueBand))
churns = st.sampled_from(list(ChurnBand))


def entry(case_id, deadline=NOON, band=ValueBand.NONE, churn=ChurnBand.UNKNOWN, audience=None):
    return QueueEntry(case_id, deadline, band, churn, audience)


@given(
    deadline=deadlines,
    followers=audiences,
    customer_band=st.sampled_from([b for b in ValueBand if b > ValueBand.NONE]),
    churn=churns,
    customer_audience=audiences,
)
def test_a_non_customer_never_outranks_a_customer_of_higher_value_with_the_same_deadline(
    deadline, followers, customer_band, churn, customer_audience
):
    stranger = entry(1, deadline, ValueBand.NONE, ChurnBand.HIGH, followers)
    customer = entry(2, deadline, customer_band, churn, customer_audience)
    assert in_priority_order([stranger, customer])[0] is customer


@given(
    deadline=deadlines,
    low=bands,
    high=bands,
    churn_low=churns,
    churn_high=churns,
    loud=audiences,
    quiet=audiences,
)
def test_whatever_the_audience_a_higher_value_band_comes_first_at_the_same_deadline(
    deadline, low, high, churn_low, churn_high, loud, quiet
):
    if low >= high:
        low, high = min(low, high), max(low, high)
        if low == high:
            return
    loud_one = entry(1, deadline, low, churn_low, loud)
    valuable = entry(2, deadline, high, churn_high, quiet)
    assert priority_key(valuable) < priority_key(loud_one)


@given(deadline=deadlines, band=bands, followers=audiences)
def test_a_churn_threat_from_a_valuable_customer_moves_up(deadline, band, followers):
    calm = entry(1, deadline, band, churn_band(0.05), followers)
    threat = entry(2, deadline, band, churn_band(0.05, threat=True), 0)
    assert in_priority_order([calm, threat])[0] is threat


@given(a=deadlines, b=deadlines, band_a=bands, band_b=bands)
def test_the_nearer_deadline_always_comes_first(a, b, band_a, band_b):
    first, second = entry(1, a, band_a), entry(2, b, band_b)
    if a is not None and (b is None or a < b):
        assert in_priority_order([second, first])[0] is first


def test_audience_breaks_a_tie_inside_a_value_band_only():
    quiet = entry(1, band=ValueBand.MEDIUM, audience=10)
    loud = entry(2, band=ValueBand.MEDIUM, audience=50_000)
    assert in_priority_order([quiet, loud])[0] is loud
    loud_lower = entry(3, band=ValueBand.LOW, audience=5_000_000)
    assert in_priority_order([loud_lower, quiet])[0] is quiet


def test_value_band_takes_the_best_of_lifetime_value_and_the_tiers_service_level():
    assert value_band(Standing()) is ValueBand.NONE
    assert value_band(Standing(customer_id=1)) is ValueBand.LOW
    assert value_band(Standing(customer_id=1, value_decile=10)) is ValueBand.TOP
    assert value_band(Standing(customer_id=1, value_decile=6)) is ValueBand.MEDIUM
    gold = Standing(customer_id=1, value_decile=2, service_level="priority")
    assert value_band(gold) is ValueBand.HIGH
    assert value_band(Standing(customer_id=1, service_level="dedicated")) is ValueBand.TOP


def test_public_exposure_is_a_threshold_on_the_audience_and_zero_turns_it_off():
    assert is_public_exposure(50_000, threshold=10_000)
    assert not is_public_exposure(9_999, threshold=10_000)
    assert not is_public_exposure(None, threshold=10_000)
    assert not is_public_exposure(50_000, threshold=0)
