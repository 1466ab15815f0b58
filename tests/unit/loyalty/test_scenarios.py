"""Each bundled programme end to end, as the service layer will drive it: validate an
activity, compute its earnings, post them to the ledger, count the qualifying part towards the
tier, and explain the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from egards.loyalty.domain import (
    Activity,
    Earning,
    TierState,
    apply_qualifying,
    close_periods,
    compute_earnings,
    count_period,
    due_expiries,
    enrol,
    expiry_date,
    explain,
    validate_activity,
)
from egards.loyalty.ledger import Account, AccountKind, Ledger
from egards.loyalty.programme import Programme

from .builders import FLYING_BLUE, RETAIL, TELECOM, flight, purchase, refund, said


@dataclass
class Member:
    """What the database keeps about one member, in memory."""

    id: str
    state: TierState
    ledger: Ledger = field(default_factory=Ledger)
    earnings: dict[str, list[Earning]] = field(default_factory=dict)
    entries: dict[str, list[int]] = field(default_factory=dict)
    last_activity_on: date | None = None

    def account(self, currency: str) -> Account:
        return Account.of_member(self.id, currency)


def record(programme: Programme, member: Member, activity: Activity) -> list[Earning]:
    validate_activity(programme, activity, today=activity.on)
    original = member.earnings.get(activity.reverses) if activity.reverses else None
    lines = compute_earnings(programme, activity, member.state.tier, original=original)
    issuance = {
        c.code: Account.of_programme(AccountKind.ISSUANCE, c.code) for c in programme.currencies
    }
    if activity.reverses:
        for entry_id in member.entries[activity.reverses]:
            member.ledger.reverse(
                key=f"{activity.key}:{entry_id}", entry_id=entry_id, on=activity.on
            )
    else:
        member.entries[activity.key] = [
            member.ledger.post(
                key=f"{activity.key}:{line.rule_id}",
                debit=issuance[line.currency],
                credit=member.account(line.currency),
                amount=line.amount,
                on=activity.on,
                kind="earn",
                rule_id=line.rule_id,
                expires_on=expiry_date(programme, line.currency, earned_on=activity.on),
            ).id
            for line in lines
        ]
    member.earnings[activity.key] = lines
    qualifying = sum(line.amount for line in lines if line.qualifying)
    original_day = None
    if activity.reverses:
        original_day = member.earnings[activity.reverses][0].on
    member.state = apply_qualifying(
        programme, member.state, qualifying, on=activity.on, earned_on=original_day
    ).state
    member.last_activity_on = activity.on
    return lines


def all_lines(member: Member) -> list[Earning]:
    return [line for lines in member.earnings.values() for line in lines]


def test_flying_blue_year_of_a_frequent_flyer():
    alice = Member("alice", enrol(FLYING_BLUE, on=date(2024, 9, 1)))
    trips = [
        (date(2024, 10, 3), "business", 5800),  # Paris-Tokyo: long-3, 36 XP
        (date(2024, 11, 20), "business", 5800),
        (date(2025, 1, 9), "premium", 3600),  # long-2, 20 XP
        (date(2025, 2, 2), "economy", 600),  # medium, 5 XP
    ]
    for i, (day, cabin, miles) in enumerate(trips):
        record(
            FLYING_BLUE,
            alice,
            flight(f"f{i}", day, cabin=cabin, miles=miles, fare_cents=250_000, taxes_cents=40_000),
        )
    assert (alice.state.tier, alice.state.counter) == ("explorer", 97)
    record(FLYING_BLUE, alice, flight("f9", date(2025, 3, 12), cabin="first", miles=6000))
    assert (alice.state.tier, alice.state.since, alice.state.counter) == (
        "silver",
        date(2025, 3, 12),
        57,
    )
    miles = alice.account("MILES")
    # 4 flights at 4 Miles per euro as Explorer, then 200 EUR at 4 (the tier when flown).
    assert alice.ledger.balance(miles) == 4 * 4 * 2_500 + 4 * 200

    record(FLYING_BLUE, alice, refund("r9", date(2025, 3, 20), of="f9"))
    assert (alice.state.tier, alice.state.counter) == ("explorer", 97)
    assert alice.ledger.balance(miles) == 4 * 4 * 2_500
    assert alice.ledger.balance(alice.account("XP")) == 97
    alice.ledger.check_invariants()

    text = said(
        explain(
            FLYING_BLUE,
            alice.state,
            counted=count_period(
                FLYING_BLUE, alice.state, all_lines(alice), as_of=date(2025, 4, 1)
            ),
            balances={"MILES": alice.ledger.balance(miles)},
            as_of=date(2025, 4, 1),
            last_activity_on=alice.last_activity_on,
        ),
        "en",
    )
    assert text.splitlines() == [
        "Explorer since 1 September 2024: 97 XP from 4 flights in the current period; "
        "qualification counter: 97 XP; 3 XP more to reach Silver by 31 August 2025.",
        "40,000 Miles, valid until 19 March 2027; any activity before then extends them by "
        "24 months (last activity on 20 March 2025).",
    ]


def test_retail_customer_reaches_gold_and_keeps_points_while_gold():
    bob = Member("bob", enrol(RETAIL, on=date(2025, 1, 5)))
    for month in range(1, 13):
        record(
            RETAIL,
            bob,
            purchase(
                f"p{month}",
                date(2025, month, 10),
                cents=15_000,
                category="organic" if month % 2 else "grocery",
            ),
        )
    assert bob.state.tier == "gold"  # 1,500 EUR reached with the 10th purchase
    points = bob.account("POINTS")
    balance = bob.ledger.balance(points)
    # Earned at the tier held before each purchase: 4 as Member, 6 as Silver, 2 as Gold,
    # plus the organic bonus every other month.
    assert balance == 4 * 150 + 6 * 225 + 2 * 300 + 6 * 150
    state = close_periods(RETAIL, bob.state, as_of=date(2027, 1, 2)).state
    assert state.tier == "member"  # nothing spent in 2026: 2025 spend does not count twice
    due = due_expiries(
        RETAIL, "POINTS", bob.ledger.buckets(points), as_of=date(2027, 2, 1), tier=state.tier
    )
    assert sum(a.amount for a in due) == 150 + 150  # January's points, valid to 31 Jan 2027
    bob.ledger.expire_allocations(
        key="expiry:2027-02", account=points, on=date(2027, 2, 1), due=due
    )
    assert bob.ledger.balance(points) == balance - 300
    bob.ledger.check_invariants()


def test_telecom_subscriber_gains_seniority_month_after_month():
    carol = Member("carol", enrol(TELECOM, on=date(2021, 1, 1)))
    for month in range(40):
        day = date(2021 + month // 12, month % 12 + 1, 28)
        record(
            TELECOM,
            carol,
            Activity(
                key=f"m{month}", kind="subscription_month", on=day, attributes={"plan": "fibre"}
            ),
        )
    assert carol.state.tier == "three_years" and carol.state.counter == 40
    assert carol.ledger.balance(carol.account("POINTS")) == 40 * 15
    text = said(
        explain(
            TELECOM,
            carol.state,
            counted=count_period(TELECOM, carol.state, all_lines(carol), as_of=date(2024, 5, 1)),
            balances={"POINTS": 600},
            as_of=date(2024, 5, 1),
        ),
        "fr",
    )
    assert text.splitlines() == [
        "Trois ans depuis le 28 décembre 2023 : 40 mois d'ancienneté grâce à 40 mois "
        "d'abonnement sur la période en cours ; 20 mois d'ancienneté de plus pour atteindre "
        "Cinq ans.",
        "600 points, sans date d'expiration.",
    ]
