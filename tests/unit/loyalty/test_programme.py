from decimal import Decimal

import pytest

from egards.loyalty.errors import ProgrammeError
from egards.loyalty.programme import PROGRAMMES_DIR, AmountRule, load_programme

from .builders import FLYING_BLUE, RETAIL, TELECOM

MINIMAL = """
code: mini
name: {fr: Mini, en: Mini}
currencies:
  - {code: XP, kind: qualifying, name: {fr: XP, en: XP}}
  - {code: PTS, kind: spendable, name: {fr: points, en: points}}
activities:
  - {code: purchase, name: {fr: achat, en: purchase}, plural: {fr: achats, en: purchases}}
earning:
  - {id: pts, kind: per_amount, activities: [purchase], currency: PTS, rate: 1.1,
     rounding: floor}
tiers:
  - {code: base, name: {fr: Base, en: Base}, threshold: 0}
  - {code: silver, name: {fr: Argent, en: Silver}, threshold: 100}
  - {code: gold, name: {fr: Or, en: Gold}, threshold: 200}
qualification:
  currency: XP
  period: {kind: personal, months: 12}
  on_tier_reached: deduct
  downgrade: soft_landing
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ProgrammeError) as caught:
        load_programme(text)
    return [str(p) for p in caught.value.problems]


def test_the_three_bundled_programmes_load():
    assert [t.threshold for t in FLYING_BLUE.tiers] == [0, 100, 180, 300]
    assert [t.code for t in RETAIL.tiers] == ["member", "silver", "gold"]
    assert TELECOM.qualification.period.kind == "cumulative"
    assert sorted(p.name for p in PROGRAMMES_DIR.glob("*.yaml")) == [
        "flying_blue.yaml",
        "retail.yaml",
        "telecom.yaml",
    ]


def test_a_programme_loads_from_a_path_or_from_text():
    assert load_programme(PROGRAMMES_DIR / "retail.yaml") == RETAIL
    assert load_programme(MINIMAL).code == "mini"


def test_decimal_rates_are_read_exactly_never_as_floats():
    rule = load_programme(MINIMAL).earning[0]
    assert isinstance(rule, AmountRule)
    assert rule.rate == Decimal("1.1")


def test_thresholds_out_of_order_are_named_by_path():
    text = MINIMAL.replace("threshold: 200", "threshold: 90")
    assert problems_of(text) == ["tiers[2].threshold: must be greater than tiers[1].threshold"]


def test_all_problems_are_listed_at_once_with_their_paths():
    text = (
        MINIMAL.replace("threshold: 200", "threshold: 50")
        .replace("currency: PTS, rate", "currency: EUROS, rate")
        .replace("activities: [purchase]", "activities: [flight]")
        .replace("threshold: 0}", "threshold: 5}")
    )
    assert problems_of(text) == [
        "tiers[0].threshold: the first tier is the entry tier and must be 0",
        "tiers[2].threshold: must be greater than tiers[1].threshold",
        "earning[0].currency: unknown currency 'EUROS'",
        "earning[0].activities[0]: unknown activity 'flight'",
    ]


def test_shape_errors_name_the_path_and_the_reason():
    text = (
        MINIMAL.replace("rounding: floor", "rounding: sometimes")
        .replace("threshold: 100", "threshold: lots")
        .replace("downgrade: soft_landing", "downgrade: soft_landing\n  colour: blue")
    )
    found = problems_of(text)
    assert (
        "tiers[1].threshold: Input should be a valid integer, unable to parse string as an"
        " integer" in found
    )
    assert any(p.startswith("earning[0].rounding: Input should be") for p in found)
    assert "qualification.colour: unknown key" in found


def test_missing_keys_are_required():
    text = MINIMAL.replace("  on_tier_reached: deduct\n", "")
    assert problems_of(text) == ["qualification.on_tier_reached: is required"]


def test_a_rate_must_be_a_number_or_tier():
    assert problems_of(MINIMAL.replace("rate: 1.1", "rate: generous")) == [
        "earning[0].rate: must be a decimal number of points per euro or 'tier'"
    ]


def test_rate_tier_needs_an_earn_rate_on_every_tier():
    found = problems_of(MINIMAL.replace("rate: 1.1", "rate: tier"))
    assert "tiers[0].benefits.earn_rate: is required by earning[0].rate: tier" in found
    assert len(found) == 3


def test_the_qualification_currency_must_be_qualifying():
    found = problems_of(MINIMAL.replace("  currency: XP\n  period", "  currency: PTS\n  period"))
    assert found == ["qualification.currency: PTS is not a qualifying currency"]


def test_a_personal_period_cannot_keep_the_counter_when_a_tier_is_reached():
    found = problems_of(MINIMAL.replace("on_tier_reached: deduct", "on_tier_reached: keep"))
    assert found == [
        "qualification.on_tier_reached: a personal period restarts when a tier is reached:"
        " use deduct or reset"
    ]


def test_promotions_are_checked_against_rules_and_dates():
    text = MINIMAL.replace(
        "tiers:\n",
        "promotions:\n"
        "  - {id: promo, name: {fr: P, en: P}, rules: [nope], starts_on: 2025-02-01,"
        " ends_on: 2025-01-01, multiplier: 1}\n"
        "tiers:\n",
    )
    assert problems_of(text) == [
        "promotions[0].ends_on: must not be before starts_on",
        "promotions[0].multiplier: must be greater than 1",
        "promotions[0].rules[0]: unknown earning rule 'nope'",
    ]


def test_a_value_named_for_readers_must_be_one_a_case_prices():
    text = MINIMAL.replace(
        "tiers:\n",
        "  - {id: xp, kind: per_activity, activities: [purchase], currency: XP, by: size,\n"
        "     values: {small: {fr: petit, en: small}, huge: {fr: énorme, en: huge}},\n"
        "     cases: [{name: any, amounts: {small: 1}}]}\n"
        "tiers:\n",
    )
    assert problems_of(text) == ["earning[1].values.huge: is a value no case gives an amount for"]


def test_once_values_are_named_every_priced_value_has_a_name():
    text = MINIMAL.replace(
        "tiers:\n",
        "  - {id: xp, kind: per_activity, activities: [purchase], currency: XP, by: size,\n"
        "     values: {small: {fr: petit, en: small}},\n"
        "     cases: [{name: any, amounts: {small: 1, large: 3, huge: 5}}]}\n"
        "tiers:\n",
    )
    assert problems_of(text) == [
        "earning[1].values: has no name for 'huge', which a case prices",
        "earning[1].values: has no name for 'large', which a case prices",
    ]


def test_expiry_needs_months_and_known_exempt_tiers():
    text = MINIMAL.replace(
        "name: {fr: points, en: points}}",
        "name: {fr: points, en: points},\n"
        "     expiry: {mode: after_earning, exempt_tiers: [diamond]}}",
    )
    assert problems_of(text) == [
        "currencies[1].expiry.months: is required when mode is after_earning",
        "currencies[1].expiry.exempt_tiers[0]: unknown tier 'diamond'",
    ]


def test_invalid_yaml_is_a_programme_error_with_its_line():
    found = problems_of("code: [unclosed\nname: x\n")
    assert found[0].startswith("line ")
