"""Demo loyalty activity: flights for the airline's customers, subscription months for the
telecom's, purchases on a retail card for some; realistic tiers, balances and a few refunds."""

from __future__ import annotations

import random
from datetime import date, timedelta

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select

from egards.accounts.domain import SYSTEM
from egards.customers.models import Customer
from egards.db import Database
from egards.loyalty import service
from egards.loyalty.domain import Activity

TODAY = date(2026, 11, 20)
ROUTES = [  # (miles, domestic)
    (430, True),
    (590, True),
    (215, False),
    (880, False),
    (1_400, False),
    (3_630, False),
    (4_100, False),
    (5_840, False),
    (6_030, False),
    (4_780, False),
]
CABINS = ["economy"] * 12 + ["premium"] * 3 + ["business"] * 4 + ["first"]
PLANS = ["mobile", "fibre", "bundle"]


def populate(db: Database, *, seed: int, console: Console | None, summary) -> None:
    rng = random.Random(seed * 31 + 3)
    with db.unit_of_work() as session:
        customers = session.execute(
            select(Customer.id, Customer.external_id).order_by(Customer.id)
        ).all()
    counts = {"members": 0, "activities": 0}
    progress = Progress(console=console, disable=console is None)
    with progress:
        task = progress.add_task("Loyalty activity", total=len(customers))
        for start in range(0, len(customers), 200):
            with db.unit_of_work() as session:
                for customer_id, external_id in customers[start : start + 200]:
                    _member_life(session, rng, customer_id, external_id or "", counts)
            progress.advance(task, len(customers[start : start + 200]))
    with db.unit_of_work() as session:
        # Close the qualification periods that ended before today, as the nightly job does.
        service.requalify(session, actor=SYSTEM, as_of=TODAY)
    with db.unit_of_work() as session:
        tiers = ", ".join(
            f"{count} {tier}"
            for programme, tier, count in service.tier_counts(session)
            if programme == "flying_blue"
        )
    summary.features["loyalty"] = (
        f"{counts['members']:,} members, {counts['activities']:,} activities;"
        f" Flying Blue tiers: {tiers}"
    )


def _member_life(session, rng: random.Random, customer_id: int, external_id: str, counts) -> None:
    airline = external_id.startswith("AIR")
    if airline:
        programme = "flying_blue"
        # Most fly rarely; a few are road warriors (the Gold and Platinum of the demo).
        frequent = rng.random()
        flights_per_year = (
            1 if frequent < 0.55 else 4 if frequent < 0.85 else 12 if frequent < 0.97 else 30
        )
        enrolled = TODAY - timedelta(days=rng.randint(400, 1500))
        activities = _flights(rng, customer_id, enrolled, flights_per_year)
    else:
        programme = "anciennete"
        enrolled = TODAY - timedelta(days=rng.randint(60, 2400))
        activities = _months(rng, customer_id, enrolled)
    member = service.enrol(
        session, actor=SYSTEM, customer_id=customer_id, programme_code=programme, on=enrolled
    )
    counts["members"] += 1
    counts["activities"] += service.record_history(
        session, actor=SYSTEM, member=member, activities=activities, today=lambda: TODAY
    )
    if airline and rng.random() < 0.25:
        counts["members"] += 1
        retail = service.enrol(
            session,
            actor=SYSTEM,
            customer_id=customer_id,
            programme_code="carte_maison",
            on=TODAY - timedelta(days=rng.randint(100, 700)),
        )
        counts["activities"] += service.record_history(
            session,
            actor=SYSTEM,
            member=retail,
            activities=_purchases(rng, customer_id, retail.enrolled_on),
            today=lambda: TODAY,
        )


def _flights(rng: random.Random, customer_id: int, enrolled: date, per_year: int) -> list[Activity]:
    days = (TODAY - enrolled).days
    count = max(1, round(per_year * days / 365 * rng.uniform(0.6, 1.3)))
    activities = []
    for n in range(count):
        miles, domestic = rng.choice(ROUTES)
        on = enrolled + timedelta(days=rng.randint(1, days - 1))
        fare = (
            rng.randint(90, 400) * 100 if domestic or miles < 2000 else rng.randint(450, 3200) * 100
        )
        activities.append(
            Activity(
                key=f"demo-{customer_id}-f{n}",
                kind="flight",
                on=on,
                amounts={"fare": fare, "taxes": fare // 6},
                attributes={
                    "cabin": rng.choice(CABINS),
                    "distance_miles": miles,
                    "domestic": domestic,
                },
            )
        )
    if len(activities) > 2 and rng.random() < 0.1:  # a cancelled trip, refunded
        cancelled = rng.choice(activities)
        activities.append(
            Activity(
                key=f"demo-{customer_id}-refund",
                kind="refund",
                on=min(cancelled.on + timedelta(days=3), TODAY),
                reverses=cancelled.key,
            )
        )
    return activities


def _months(rng: random.Random, customer_id: int, enrolled: date) -> list[Activity]:
    plan = rng.choice(PLANS)
    months = (TODAY - enrolled).days // 30
    activities = [
        Activity(
            key=f"demo-{customer_id}-m{n}",
            kind="subscription_month",
            on=enrolled + timedelta(days=30 * n),
            attributes={"plan": plan},
        )
        for n in range(months)
    ]
    if rng.random() < 0.3:
        activities.append(
            Activity(
                key=f"demo-{customer_id}-device",
                kind="device",
                on=TODAY - timedelta(days=rng.randint(5, 300)),
                amounts={"device": rng.randint(150, 1200) * 100},
            )
        )
    return activities


def _purchases(rng: random.Random, customer_id: int, since: date) -> list[Activity]:
    days = (TODAY - since).days
    return [
        Activity(
            key=f"demo-{customer_id}-p{n}",
            kind="purchase",
            on=since + timedelta(days=rng.randint(0, days)),
            amounts={"goods": rng.randint(8, 180) * 100},
            attributes={"category": rng.choice(["grocery", "home", "fashion", "beauty"])},
        )
        for n in range(rng.randint(1, 25))
    ]
