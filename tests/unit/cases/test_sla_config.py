"""The SLA configuration file: the shipped defaults, and errors that say where and why."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from egards.cases.domain import CaseFacts, EscalationAction, SlaMetric, SlaState, read_clock
from egards.cases.errors import SlaConfigError
from egards.cases.sla_config import load_sla_config, parse_duration, parse_sla_config

SETTINGS = load_sla_config()
PARIS = ZoneInfo("Europe/Paris")

MINIMAL = {
    "calendars": {"office": {"time_zone": "Europe/Paris", "hours": {"mon": ["09:00-18:00"]}}},
    "default_calendar": "office",
    "policies": [{"name": "standard", "first_response": "8h"}],
}


def problems_of(data) -> list[str]:
    with pytest.raises(SlaConfigError) as caught:
        parse_sla_config(data)
    assert caught.value.code == "sla_config_invalid"
    return caught.value.context["problems"]


def with_changes(**changes):
    return {**MINIMAL, **changes}


def test_the_paris_support_opens_weekdays_and_saturday_morning_except_holidays():
    support = SETTINGS.calendars["paris_support"]
    assert support.is_open(datetime(2026, 11, 28, 11, tzinfo=PARIS))
    assert not support.is_open(datetime(2026, 11, 28, 12, tzinfo=PARIS))
    assert not support.is_open(datetime(2026, 7, 14, 10, tzinfo=PARIS))
    assert support.nominal_week == timedelta(hours=48)


def test_a_social_post_gets_its_channels_standard_promise_never_a_faster_one_than_status():
    social = SETTINGS.policy_for(CaseFacts(channel="social", priority="normal"))
    gold = SETTINGS.policy_for(
        CaseFacts(channel="email", priority="normal", service_level="priority")
    )
    assert social.name == "social"
    assert social.first_response.calendar == gold.first_response.calendar
    assert gold.first_response.duration < social.first_response.duration


@pytest.mark.parametrize("channel", ["email", "web_form", "social", "phone", "shop", "letter"])
@pytest.mark.parametrize("category", [None, "complaint", "cancellation"])
def test_a_priority_service_level_is_promised_faster_on_every_channel(channel, category):
    standard = SETTINGS.policy_for(CaseFacts(channel=channel, category=category))
    priority = SETTINGS.policy_for(
        CaseFacts(channel=channel, category=category, service_level="priority")
    )
    assert priority.first_response.duration < standard.first_response.duration
    assert priority.first_response.calendar == standard.first_response.calendar


def test_top_loyalty_tiers_are_promised_faster_answers():
    standard = SETTINGS.policy_for(CaseFacts(channel="email", priority="normal"))
    gold = SETTINGS.policy_for(CaseFacts(channel="email", priority="normal", loyalty_tier="gold"))
    gold_urgent = SETTINGS.policy_for(
        CaseFacts(channel="email", priority="urgent", loyalty_tier="gold")
    )
    assert standard.name == "standard"
    assert gold.first_response.duration < standard.first_response.duration
    assert gold_urgent.first_response.duration <= gold.first_response.duration


def test_every_shipped_policy_promises_a_first_response():
    assert all(policy.first_response for policy in SETTINGS.policies)


def test_the_shipped_ladder_warns_then_notifies_then_reassigns():
    actions = [step.action for step in SETTINGS.escalation]
    assert actions == [
        EscalationAction.WARN_ASSIGNEE,
        EscalationAction.NOTIFY_SUPERVISOR,
        EscalationAction.REASSIGN_TEAM,
    ]
    assert SETTINGS.escalation[2].offset == timedelta(hours=2)


def test_settings_build_the_clock_of_a_policy():
    policy = SETTINGS.policy_for(CaseFacts(channel="email"))
    started = datetime(2026, 11, 23, 9, tzinfo=PARIS)
    clock = SETTINGS.clock(policy, SlaMetric.FIRST_RESPONSE, started_at=started)
    reading = read_clock(clock, now=started)
    assert reading.state is SlaState.ON_TRACK
    assert reading.deadline == datetime(2026, 11, 23, 17, tzinfo=PARIS)


def test_a_minimal_file_is_enough():
    settings = parse_sla_config(MINIMAL)
    assert settings.policies[0].first_response.calendar == "office"
    assert settings.policies[0].resolution is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8h", timedelta(hours=8)), ("30m", timedelta(minutes=30)), ("1h30m", timedelta(hours=1.5))],
)
def test_durations_are_written_in_hours_and_minutes(text, expected):
    assert parse_duration(text) == expected


def test_a_bad_duration_is_reported_with_its_path():
    data = with_changes(policies=[{"name": "standard", "first_response": "2d"}])
    (problem,) = problems_of(data)
    assert problem.startswith("policies[0].first_response")
    assert "'2d'" in problem and "'8h'" in problem


def test_a_misspelt_key_is_reported_not_ignored():
    data = with_changes(policies=[{"name": "standard", "frist_response": "8h"}])
    assert any(p.startswith("policies[0].frist_response") for p in problems_of(data))


def test_an_unknown_calendar_is_reported_with_the_known_ones():
    data = with_changes(
        policies=[{"name": "standard", "calendar": "nowhere", "first_response": "8h"}]
    )
    (problem,) = problems_of(data)
    assert problem == "policies[0].calendar: unknown calendar 'nowhere' (known: office)"


def test_a_configuration_without_a_default_policy_is_refused():
    data = with_changes(
        policies=[{"name": "social", "when": {"channel": "social"}, "first_response": "1h"}]
    )
    assert problems_of(data) == ["policies: one policy needs no `when`, to serve as the default"]


def test_calendar_problems_name_the_calendar():
    data = with_changes(
        calendars={"office": {"time_zone": "Europe/Lutece", "hours": {"mon": ["09:00-18:00"]}}}
    )
    (problem,) = problems_of(data)
    assert problem.startswith("calendars.office: ") and "Europe/Lutece" in problem


def test_every_problem_is_reported_at_once():
    data = with_changes(
        policies=[
            {"name": "a", "when": {"channel": ["fax"]}, "first_response": "1h"},
            {"name": "b", "first_response": "soon"},
        ],
        escalation=[{"key": "r", "action": "reassign_team"}],
    )
    problems = problems_of(data)
    assert any(p.startswith("policies[0].when.channel[0]") for p in problems)
    assert any(p.startswith("policies[1].first_response") for p in problems)
    assert len(problems) == 2  # structural errors stop before cross-checks


def test_cross_checks_are_reported_together():
    data = with_changes(
        policies=[{"name": "a", "first_response": "1h"}, {"name": "a", "first_response": "2h"}],
        escalation=[{"key": "r", "action": "reassign_team"}],
    )
    assert problems_of(data) == [
        "policies[1].name: policy 'a' is defined twice",
        "escalation[0].team: reassign_team needs the team to reassign to",
    ]


def test_broken_yaml_is_reported_with_its_line(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text("calendars:\n  office: [\n", encoding="utf-8")
    with pytest.raises(SlaConfigError) as caught:
        load_sla_config(path)
    assert str(path) in caught.value.message
    assert "line " in caught.value.message


def test_a_file_can_replace_the_shipped_defaults(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text(yaml.safe_dump(MINIMAL), encoding="utf-8")
    assert [policy.name for policy in load_sla_config(path).policies] == ["standard"]


def test_a_missing_file_is_reported():
    with pytest.raises(SlaConfigError, match="cannot read"):
        load_sla_config(__import__("pathlib").Path("/nonexistent/sla.yaml"))
