"""Plain builders for loyalty test data (no fixtures: each test states what it needs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from egards.i18n import render_message
from egards.loyalty.domain import Activity, Bucket, TierState, explain_balance
from egards.loyalty.programme import bundled_programme

FLYING_BLUE = bundled_programme("flying_blue")
RETAIL = bundled_programme("retail")
TELECOM = bundled_programme("telecom")


def flight(
    key: str,
    on: date,
    *,
    cabin: str = "economy",
    miles: int = 600,
    domestic: bool = False,
    fare_cents: int = 20_000,
    taxes_cents: int = 0,
) -> Activity:
    return Activity(
        key=key,
        kind="flight",
        on=on,
        amounts={"fare": fare_cents, "taxes": taxes_cents},
        attributes={"cabin": cabin, "distance_miles": miles, "domestic": domestic},
    )


def purchase(key: str, on: date, *, cents: int, category: str = "grocery", **amounts: int):
    return Activity(
        key=key,
        kind="purchase",
        on=on,
        amounts={"goods": cents, **amounts},
        attributes={"category": category},
    )


def refund(key: str, on: date, *, of: str) -> Activity:
    return Activity(key=key, kind="refund", on=on, reverses=of)


def member_at(
    tier: str, *, period_start: date, period_end: date, counter: int = 0, consecutive: int = 0
) -> TierState:
    return TierState(
        tier=tier,
        since=period_start,
        period_start=period_start,
        period_end=period_end,
        counter=counter,
        consecutive_periods=consecutive,
    )


def said(explanation: Mapping[str, Any] | Sequence[Mapping[str, Any]], lang: str = "en") -> str:
    """An explanation (a message, or one per paragraph) in words, as the service renders it."""
    if isinstance(explanation, Mapping):
        return render_message(lang, explanation)
    return "\n".join(render_message(lang, paragraph) for paragraph in explanation)


EXPLAINED_ON = date(2025, 6, 1)


def retail_points_explained(
    balance: int, *, tier: str = "silver", buckets: Sequence[Bucket] = ()
) -> dict[str, Any]:
    """A Carte Maison points balance explained on :data:`EXPLAINED_ON`."""
    return explain_balance(
        RETAIL, "POINTS", balance=balance, tier=tier, as_of=EXPLAINED_ON, buckets=buckets
    )


def miles_kept_alive_explained() -> dict[str, Any]:
    """A Gold member's 12,450 Miles explained on :data:`EXPLAINED_ON`, kept alive by an
    activity on 3 March 2025."""
    return explain_balance(
        FLYING_BLUE,
        "MILES",
        balance=12_450,
        tier="gold",
        as_of=EXPLAINED_ON,
        last_activity_on=date(2025, 3, 3),
    )
