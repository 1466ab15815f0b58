"""Case statuses, SLA policy choice and the escalation ladder."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from egards.cases.business_hours import BusinessCalendar
from egards.cases.domain import (
    PAUSING_STATUSES,
    AtRiskRule,
    CaseFacts,
    CaseStatus,
    EscalationAction,
    EscalationStep,
    PolicyConditions,
    SlaClock,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
    change_status,
    choose_policy,
    due_escalations,
    next_escalation_at,
    read_clock,
    receive_inbound_message,
)
from egards.cases.errors import ClosureReasonRequired, InvalidTransition, NoMatchingPolicy

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# --- statuses -----------------------------------------------------------------------------


def test_an_agent_can_ask_the_customer_then_resume():
    status = change_status(CaseStatus.NEW, CaseStatus.OPEN)
    status = change_status(status, CaseStatus.WAITING_ON_CUSTOMER)
    assert change_status(status, CaseStatus.OPEN) is CaseStatus.OPEN


def test_a_resolved_case_can_be_reopened_or_closed():
    assert change_status(CaseStatus.RESOLVED, CaseStatus.OPEN) is CaseStatus.OPEN
    assert change_status(CaseStatus.RESOLVED, CaseStatus.CLOSED) is CaseStatus.CLOSED


def test_a_closed_case_never_changes_status():
    for target in CaseStatus:
        with pytest.raises(InvalidTransition) as caught:
            change_status(CaseStatus.CLOSED, target)
        assert caught.value.code == "case_invalid_transition"
        assert caught.value.context == {"current": "closed", "target": str(target)}


def test_a_case_cannot_go_back_to_new_nor_stay_where_it_is():
    with pytest.raises(InvalidTransition):
        change_status(CaseStatus.OPEN, CaseStatus.NEW)
    with pytest.raises(InvalidTransition):
        change_status(CaseStatus.OPEN, CaseStatus.OPEN)


def test_closing_an_unanswered_case_needs_a_written_reason():
    with pytest.raises(ClosureReasonRequired) as caught:
        change_status(CaseStatus.OPEN, CaseStatus.CLOSED, reason="  ")
    assert caught.value.code == "case_closure_reason_required"
    closed = change_status(CaseStatus.NEW, CaseStatus.CLOSED, reason="duplicate of C-000122")
    assert closed is CaseStatus.CLOSED


def test_a_new_message_brings_waiting_and_resolved_cases_back_to_open():
    assert receive_inbound_message(CaseStatus.WAITING_ON_CUSTOMER).status is CaseStatus.OPEN
    assert receive_inbound_message(CaseStatus.WAITING_ON_PARTNER).status is CaseStatus.OPEN
    reopened = receive_inbound_message(CaseStatus.RESOLVED)
    assert reopened.status is CaseStatus.OPEN and reopened.reopened
    assert receive_inbound_message(CaseStatus.NEW).status is CaseStatus.NEW


def test_a_message_on_a_closed_case_opens_a_follow_up_case():
    effect = receive_inbound_message(CaseStatus.CLOSED)
    assert effect.follow_up_case
    assert effect.status is CaseStatus.CLOSED


def test_only_waiting_on_the_customer_pauses_the_clocks():
    assert frozenset({CaseStatus.WAITING_ON_CUSTOMER}) == PAUSING_STATUSES


# --- policies -----------------------------------------------------------------------------


def policy(name: str, **conditions) -> SlaPolicy:
    target = SlaTarget(hours(8), "paris_support")
    return SlaPolicy(
        name=name,
        conditions=PolicyConditions(**{key: frozenset(v) for key, v in conditions.items()}),
        first_response=target,
    )


POLICIES = (
    policy("social", channels={"social"}),
    policy("top_tier_urgent", loyalty_tiers={"gold", "platinum"}, priorities={"urgent"}),
    policy("top_tier", loyalty_tiers={"gold", "platinum"}),
    policy("urgent", priorities={"urgent"}),
    policy("standard"),
)


def test_a_case_nothing_special_about_gets_the_default_policy():
    assert choose_policy(POLICIES, CaseFacts(channel="email", priority="normal")).name == "standard"


def test_the_most_specific_matching_policy_wins_whatever_its_position():
    facts = CaseFacts(channel="email", priority="urgent", loyalty_tier="gold")
    assert choose_policy(POLICIES, facts).name == "top_tier_urgent"
    reordered = (POLICIES[3], POLICIES[2], POLICIES[1], POLICIES[4])
    assert choose_policy(reordered, facts).name == "top_tier_urgent"


def test_between_equally_specific_policies_the_first_listed_wins():
    facts = CaseFacts(channel="social", loyalty_tier="platinum")
    assert choose_policy(POLICIES, facts).name == "social"


def test_conditions_ignore_case_and_an_unknown_fact_matches_no_restricted_policy():
    assert choose_policy(POLICIES, CaseFacts(loyalty_tier="GOLD")).name == "top_tier"
    assert choose_policy(POLICIES, CaseFacts(loyalty_tier=None)).name == "standard"


def test_without_a_default_policy_an_unmatched_case_is_an_error():
    with pytest.raises(NoMatchingPolicy) as caught:
        choose_policy(POLICIES[:2], CaseFacts(channel="email"))
    assert caught.value.code == "sla_no_policy"


# --- escalation ---------------------------------------------------------------------------

SUPPORT = BusinessCalendar.weekly_hours(
    "paris_support",
    timezone="Europe/Paris",
    hours={day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
    holiday_country="FR",
)
LADDER = (
    EscalationStep("warn_assignee", EscalationAction.WARN_ASSIGNEE, percent=75),
    EscalationStep("notify_supervisor", EscalationAction.NOTIFY_SUPERVISOR, percent=100),
    EscalationStep(
        "reassign",
        EscalationAction.REASSIGN_TEAM,
        percent=100,
        offset=hours(2),
        team="supervisors",
        metric=SlaMetric.FIRST_RESPONSE,
    ),
)


def clock(metric: SlaMetric = SlaMetric.FIRST_RESPONSE, **changes) -> SlaClock:
    """8 business hours from Monday 23 November 2026 09:00: due 17:00."""
    values = {
        "metric": metric,
        "started_at": paris(2026, 11, 23, 9),
        "target": hours(8),
        "calendar": SUPPORT,
        "at_risk": AtRiskRule(percent=75),
    } | changes
    return SlaClock(**values)


def due_keys(now: datetime, fired=(), **changes) -> list[str]:
    reading = read_clock(clock(**changes), now=now)
    return [step.key for step in due_escalations(LADDER, reading, fired=fired)]


def test_nothing_is_due_early_in_the_promise():
    assert due_keys(paris(2026, 11, 23, 14)) == []


def test_the_assignee_is_warned_at_three_quarters_of_the_promise():
    assert due_keys(paris(2026, 11, 23, 15)) == ["warn_assignee"]


def test_a_step_already_fired_never_fires_again():
    assert due_keys(paris(2026, 11, 23, 16), fired={"warn_assignee"}) == []


def test_the_supervisor_is_notified_at_the_breach():
    assert due_keys(paris(2026, 11, 23, 17), fired={"warn_assignee"}) == ["notify_supervisor"]


def test_a_sweep_that_ran_late_fires_every_missed_step_in_order():
    assert due_keys(paris(2026, 11, 24, 12)) == ["warn_assignee", "notify_supervisor", "reassign"]


def test_reassignment_waits_two_business_hours_after_the_breach():
    fired = {"warn_assignee", "notify_supervisor"}
    # Breach Monday 17:00; one business hour Monday, the next on Tuesday 09:00-10:00.
    assert due_keys(paris(2026, 11, 23, 23), fired=fired) == []
    assert due_keys(paris(2026, 11, 24, 9, 59), fired=fired) == []
    assert due_keys(paris(2026, 11, 24, 10), fired=fired) == ["reassign"]


def test_a_step_limited_to_one_clock_ignores_the_others():
    keys = due_keys(paris(2026, 11, 24, 12), metric=SlaMetric.RESOLUTION)
    assert keys == ["warn_assignee", "notify_supervisor"]


def test_an_answered_case_escalates_no_further():
    assert due_keys(paris(2026, 11, 24, 12), stopped_at=paris(2026, 11, 24, 11)) == []


def test_a_paused_clock_does_not_escalate_while_the_customer_is_silent():
    from egards.cases.domain import Pause

    pauses = (Pause(paris(2026, 11, 23, 10)),)
    assert due_keys(paris(2026, 11, 27, 12), pauses=pauses) == []


def test_the_next_escalation_instant_lets_a_sweep_skip_the_case_until_then():
    running = clock()
    now = paris(2026, 11, 23, 10)
    assert next_escalation_at(LADDER, running, fired=(), now=now) == paris(2026, 11, 23, 15)
    assert next_escalation_at(
        LADDER, running, fired={"warn_assignee", "notify_supervisor"}, now=now
    ) == paris(2026, 11, 24, 10)
    assert next_escalation_at(LADDER, running, fired={s.key for s in LADDER}, now=now) is None
