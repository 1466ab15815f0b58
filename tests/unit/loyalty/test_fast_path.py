"""The bulk path's fast path (plain earning posts, egards.loyalty.fast) writes exactly the rows
the pure rules and the ledger write, entry for entry, on random programmes (the bundled ones
with their thresholds, tier policy, periods, rule validity and promotions varied) and random
sequences of activities of members in random stored states."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egards.accounts.domain import SYSTEM
from egards.bulk import copy_json, prepare_copy
from egards.db import utcnow
from egards.loyalty import codec, domain, fast
from egards.loyalty.errors import InvalidActivity
from egards.loyalty.models import Activity, Bucket, Entry
from egards.loyalty.programme import OnTierReached, Period, PeriodKind, Programme
from egards.loyalty.service.activities import _content_hash
from egards.loyalty.service.history_bulk import (
    _Applied,
    _applied_histories,
    _computed,
    _Context,
    _Holder,
    _payload,
    _Read,
)

from .builders import FLYING_BLUE, RETAIL, TELECOM

START = date(2025, 1, 1)


@st.composite
def programmes(draw) -> Programme:
    base = draw(st.sampled_from([FLYING_BLUE, RETAIL, TELECOM]))
    thresholds = [base.tiers[0].threshold]
    for _ in base.tiers[1:]:
        thresholds.append(thresholds[-1] + draw(st.integers(1, 60)))
    pairs = zip(base.tiers, thresholds, strict=True)
    tiers = [tier.model_copy(update={"threshold": x}) for tier, x in pairs]
    period = draw(
        st.sampled_from(
            [
                base.qualification.period,
                Period(kind=PeriodKind.PERSONAL, months=draw(st.integers(1, 12))),
                Period(kind=PeriodKind.CALENDAR_YEAR),
                Period(kind=PeriodKind.CUMULATIVE),
                Period(kind=PeriodKind.ROLLING, months=12, review_months=3),
            ]
        )
    )
    qualification = base.qualification.model_copy(
        update={"period": period, "on_tier_reached": draw(st.sampled_from(list(OnTierReached)))}
    )
    earning = list(base.earning)
    if draw(st.booleans()):  # one rule valid only part of the time
        index = draw(st.integers(0, len(earning) - 1))
        valid_from = START + timedelta(days=draw(st.integers(0, 400)))
        earning[index] = earning[index].model_copy(
            update={"valid_from": valid_from, "valid_until": valid_from + timedelta(days=90)}
        )
    promotions = base.promotions if draw(st.booleans()) else []
    return base.model_copy(
        update={
            "tiers": tiers,
            "qualification": qualification,
            "earning": earning,
            "promotions": promotions,
        }
    )


def attributes_and_amounts(draw, programme: Programme, kind: str):
    if kind == "flight":
        attributes = {
            "cabin": draw(st.sampled_from(["economy", "premium", "business", "first"])),
            "distance_miles": draw(st.sampled_from([300, 1500, 2500, 4000, 6000])),
            "domestic": draw(st.booleans()),
        }
        amounts = {"fare": draw(st.integers(0, 300_000)), "taxes": draw(st.integers(0, 5_000))}
    elif kind in ("purchase", "partner"):
        category = draw(st.sampled_from(["grocery", "organic", "gift_card", "tobacco", "wine"]))
        attributes = {"category": category}
        amounts = {"goods": draw(st.integers(0, 80_000)), "delivery": draw(st.integers(0, 900))}
    elif kind == "subscription_month":
        attributes = {"plan": draw(st.sampled_from(["mobile", "fibre", "bundle"]))}
        amounts = {}
    else:
        attributes = {"model": "phone"}
        amounts = {"price": draw(st.integers(0, 120_000))}
    if draw(st.integers(0, 20)) == 0:
        attributes["tags"] = ["unhashable"]
    return attributes, amounts


@st.composite
def members(draw, programme: Programme, member_id: int):
    """A member in a stored state the rules produced, and a day's (or a year's) activities."""
    enrolled = START + timedelta(days=draw(st.integers(0, 200)))
    state = domain.enrol(programme, on=enrolled)
    for offset in sorted(draw(st.lists(st.integers(0, 300), max_size=5))):
        amount = draw(st.integers(0, 80))
        state = domain.apply_qualifying(
            programme, state, amount, on=enrolled + timedelta(days=offset)
        ).state
    first = enrolled + timedelta(days=300)
    kinds = [a.code for a in programme.activities]
    activities = []
    for n in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(kinds))
        attributes, amounts = attributes_and_amounts(draw, programme, kind)
        on = first + timedelta(days=draw(st.integers(0, 500)))
        key = f"m{member_id}-{n}"
        refunded = any(a.reverses for a in activities)
        if activities and not refunded and draw(st.integers(0, 15)) == 0:  # the first's, last
            activities.sort(key=lambda a: a.on)
            on = max(activities[-1].on, on)
            activities.append(
                domain.Activity(key=key, kind="refund", on=on, reverses=activities[0].key)
            )
            continue
        activities.append(
            domain.Activity(
                key=key,
                kind=kind,
                on=on,
                amounts=amounts,
                attributes=attributes,
                quantity=draw(st.sampled_from([1, 1, 1, 2])),
            )
        )
    activities.sort(key=lambda a: a.on)
    entries = draw(st.integers(0, 40))
    balances = {}
    for currency in programme.currencies:
        if entries and draw(st.booleans()):
            balance = draw(st.integers(0, 50_000))
            held = draw(st.integers(0, balance))
            balances[(member_id, currency.code)] = (
                balance,
                balance - held,
                draw(st.integers(0, 99)),
            )
    last = draw(st.one_of(st.none(), st.just(enrolled + timedelta(days=250))))
    holder = (
        member_id,
        1000 + member_id,
        programme.code,
        f"N{member_id}",
        codec.state_to_json(state),
        last,
        entries,
    )
    return holder, activities, balances


def applied(programme: Programme, drawn, use_fast: bool) -> tuple[_Applied, dict]:
    holders = {h[0]: _Holder(*h) for h, _, _ in drawn}
    histories = {h[0]: activities for h, activities, _ in drawn}
    balances = {k: v for _, _, b in drawn for k, v in b.items()}
    now = utcnow()
    context = _Context(
        SYSTEM, holders, histories, now, False, programme_of=lambda _: programme, fast=use_fast
    )
    read = _Read(balances, {}, {}, set(), {}, {}, {}, {})
    events: dict = {}
    ids = count(1)
    done = _applied_histories(context, sorted(holders), read, ids, events)
    for row in done.timeline:
        row.pop("occurred_at")
    for rows in (done.activities, done.entries, done.tier_changes, done.members):
        for row in rows:
            for name in ("received_at", "created_at", "updated_at"):
                row.pop(name, None)
    return done, events


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_path_writes_the_rows_the_pure_rules_write(data):
    programme = data.draw(programmes())
    drawn = [data.draw(members(programme, member_id)) for member_id in range(1, 4)]
    pure, pure_events = applied(programme, drawn, use_fast=False)
    quick, quick_events = applied(programme, drawn, use_fast=True)
    for name in vars(pure):
        assert getattr(quick, name) == getattr(pure, name), name
    assert quick_events == pure_events


def test_plain_flights_take_the_fast_path_and_unusual_ones_do_not():
    earner = fast.Earner(FLYING_BLUE)
    flight = domain.Activity(
        key="f1",
        kind="flight",
        on=START,
        amounts={"fare": 20_000},
        attributes={"cabin": "economy", "distance_miles": 1500, "domestic": False},
    )
    assert earner.lines(flight, "explorer") == tuple(
        domain.compute_earnings(FLYING_BLUE, flight, "explorer")
    )
    partner = domain.Activity(key="p1", kind="partner", on=START, amounts={"goods": 100})
    assert earner.lines(partner, "explorer") is None  # a cap per period: the pure rules
    refund = domain.Activity(key="r1", kind="refund", on=START, reverses="f1")
    assert earner.lines(refund, "explorer") is None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_earner_answers_alike_activities_from_memory_as_the_rules_would(data):
    """The earner keeps its answers by plan and amounts: asked again about activities that
    differ in their keys, dates within a rule's validity or amounts, it still gives what
    compute_earnings gives."""
    programme = data.draw(programmes())
    earner = fast.Earner(programme)
    kinds = [a.code for a in programme.activities]
    drawn = []
    for _ in range(data.draw(st.integers(1, 8))):
        kind = data.draw(st.sampled_from(kinds))
        attributes, amounts = attributes_and_amounts(data.draw, programme, kind)
        drawn.append((kind, attributes, amounts))
    for n in range(30):
        kind, attributes, amounts = data.draw(st.sampled_from(drawn))
        if data.draw(st.booleans()):
            amounts = {k: v + data.draw(st.integers(0, 2)) for k, v in amounts.items()}
        activity = domain.Activity(
            key=f"a{n}",
            kind=kind,
            on=START + timedelta(days=data.draw(st.integers(0, 700))),
            amounts=amounts,
            attributes=dict(attributes),
            quantity=data.draw(st.sampled_from([1, 2])),
        )
        tier = data.draw(st.sampled_from([t.code for t in programme.tiers]))
        answer = earner.amounts(activity, tier)
        if answer is None:
            continue
        lines = domain.compute_earnings(programme, activity, tier)
        expected = tuple((e.rule_id, e.currency, e.amount, e.qualifying) for e in lines)
        assert answer == (expected, sum(e.amount for e in lines if e.qualifying))


def test_an_earner_past_its_bound_forgets_and_still_answers_as_the_rules_would(monkeypatch):
    monkeypatch.setattr(fast, "_REMEMBERED", 3)
    earner = fast.Earner(FLYING_BLUE)
    for n in range(12):
        flight = domain.Activity(
            key=f"f{n}",
            kind="flight",
            on=START,
            amounts={"fare": 10_000 + 100 * (n % 5)},
            attributes={"cabin": "economy", "distance_miles": 1500 + n % 2, "domestic": False},
        )
        lines = domain.compute_earnings(FLYING_BLUE, flight, "explorer")
        assert earner.amounts(flight, "explorer") == (
            tuple((e.rule_id, e.currency, e.amount, e.qualifying) for e in lines),
            sum(e.amount for e in lines if e.qualifying),
        )
    assert earner._remembered <= 3


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_reasons_rendered_from_the_entries_are_the_ones_the_rules_gave(data):
    """Lean rows: an activity's lines rebuilt at read time from its entries (rule, currency,
    amount) and the tier it earned at read as compute_earnings gave them, caps included."""
    programme = data.draw(programmes())
    kind = data.draw(st.sampled_from([a.code for a in programme.activities]))
    attributes, amounts = attributes_and_amounts(data.draw, programme, kind)
    activity = domain.Activity(
        key="a1",
        kind=kind,
        on=START + timedelta(days=data.draw(st.integers(0, 700))),
        amounts=amounts,
        attributes=attributes,
        quantity=data.draw(st.sampled_from([1, 2])),
    )
    tier = data.draw(st.sampled_from([t.code for t in programme.tiers]))
    rules = [r.id for r in [*programme.earning, *programme.promotions]]
    used = data.draw(st.dictionaries(st.sampled_from(rules), st.integers(0, 60_000)))
    try:
        lines = domain.compute_earnings(programme, activity, tier, earned_in_cap_window=used)
    except InvalidActivity:
        return
    posted = [(line.rule_id, line.currency, line.amount) for line in lines]
    assert domain.rendered_earnings(programme, activity, tier, posted) == lines
    refund = domain.Activity(key="r1", kind="refund", on=activity.on, reverses="a1")
    assert domain.reverse_earnings(
        domain.rendered_earnings(programme, activity, tier, posted), reversal=refund
    ) == domain.compute_earnings(programme, refund, tier, original=lines)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), odd_keys=st.booleans())
def test_the_fast_paths_copy_text_is_the_text_of_the_pure_rules_rows(data, odd_keys):
    """On PostgreSQL the fast path writes activities, entries and buckets as COPY text from
    its values: byte for byte the text ``prepare_copy`` makes of the rows the pure rules give
    (keys with tabs, newlines and backslashes escaped alike)."""
    programme = data.draw(programmes())
    drawn = [data.draw(members(programme, member_id)) for member_id in range(1, 4)]
    if odd_keys:
        odd = "\t\\x\n".join
        drawn = [
            (
                holder,
                [
                    replace(a, key=odd((a.key, "")), reverses=a.reverses and odd((a.reverses, "")))
                    for a in activities
                ],
                balances,
            )
            for holder, activities, balances in drawn
        ]
    holders = {h[0]: _Holder(*h) for h, _, _ in drawn}
    histories = {h[0]: activities for h, activities, _ in drawn}
    balances = {k: v for _, _, b in drawn for k, v in b.items()}
    now = utcnow()

    def context(copy: bool, use_fast: bool) -> _Context:
        fresh = {k: replace(v) for k, v in holders.items()}
        return _Context(
            SYSTEM, fresh, histories, now, copy, programme_of=lambda _: programme, fast=use_fast
        )

    read = _Read(balances, {}, {}, set(), {}, {}, {}, {})
    rows = _applied_histories(context(False, False), sorted(holders), read, count(1), None)
    chunk = _computed(context(True, True), sorted(holders), list(range(1, 999)), read, None)
    sent = dict(chunk.inserts)
    for table, expected in (
        (Activity.__table__, rows.activities),
        (Entry.__table__, rows.entries),
        (Bucket.__table__, rows.buckets),
    ):
        if expected:
            assert sent[table.name] == prepare_copy(table, expected), table.name
        else:
            assert table.name not in sent


_TEXT = st.text(max_size=8)  # backslashes, quotes, tabs, any character


@settings(max_examples=200, deadline=None)
@given(
    kind=_TEXT,
    attributes=st.dictionaries(
        _TEXT,
        st.one_of(_TEXT, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none()),
        max_size=4,
    ),
    amounts=st.lists(st.dictionaries(_TEXT, st.integers(0, 10**9), max_size=3), max_size=4),
    quantity=st.integers(1, 3),
)
def test_a_payload_put_together_from_its_parts_is_the_payloads_text_and_hash(
    kind, attributes, amounts, quantity
):
    """The fast path writes an activity's payload and content hash from the JSON of what it
    shares with others and of its own amounts: the same text and hash as the whole
    payload's, for activities that share all but their amounts."""
    context = _Context(SYSTEM, {}, {}, utcnow(), True)
    for n, these in enumerate([{}, *amounts]):
        activity = domain.Activity(
            key=f"a{n}",
            kind=kind,
            on=START,
            amounts=these,
            attributes=attributes,
            quantity=quantity,
        )
        payload = _payload(activity)
        assert context.payload_texts(activity) == (copy_json(payload), _content_hash(payload))
