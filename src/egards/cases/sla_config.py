"""SLA configuration: calendars, policies and the escalation ladder, read from YAML.

``parse_sla_config`` validates plain data and builds the domain objects; every problem is
reported with its path in the file (``policies[2].first_response``) and the reason, all at
once. ``load_sla_config`` reads the file (the packaged ``sla.yaml`` by default).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from egards.cases.business_hours import WEEKDAY_NAMES, BusinessCalendar
from egards.cases.domain import (
    AtRiskRule,
    CaseFacts,
    Channel,
    EscalationAction,
    EscalationStep,
    Pause,
    PolicyConditions,
    Priority,
    SlaClock,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
    choose_policy,
)
from egards.cases.errors import CalendarError, SlaConfigError
from egards.i18n import N_

_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$", re.IGNORECASE)


def parse_duration(value: Any) -> timedelta:
    """``"8h"``, ``"30m"``, ``"1h30m"`` (or a ``timedelta``) to a ``timedelta``."""
    if isinstance(value, timedelta):
        return value
    text = str(value)
    match = _DURATION.match(text) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise ValueError(
            f"invalid duration {text!r}: write hours and minutes such as '8h', '30m' or '1h30m'"
        )
    hours, minutes = (int(part) if part else 0 for part in match.groups())
    return timedelta(hours=hours, minutes=minutes)


def _signed_duration(value: Any) -> timedelta:
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration(value.strip()[1:])
    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
SignedDuration = Annotated[timedelta, BeforeValidator(_signed_duration)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALWAYS_OPEN: Mapping[str, Iterable[str]] = dict.fromkeys(WEEKDAY_NAMES, ("00:00-24:00",))


def _target_shorthand(value: Any) -> Any:
    return {"duration": value} if isinstance(value, str | timedelta) else value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HolidaysModel(_Model):
    country: str = Field(min_length=2)
    subdivision: str | None = None


class CalendarModel(_Model):
    time_zone: str
    hours: dict[Weekday, list[str]] = Field(default_factory=dict)
    always_open: bool = False
    holidays: HolidaysModel | None = None
    closed_dates: list[date] = Field(default_factory=list)


class AtRiskModel(_Model):
    percent: int | None = Field(default=None, ge=1, le=100)
    time_left: Duration | None = None


class TargetModel(_Model):
    duration: Duration
    calendar: str | None = None


Target = Annotated[TargetModel, BeforeValidator(_target_shorthand)]
Names = Annotated[list[str], BeforeValidator(_as_list)]


class ConditionsModel(_Model):
    channel: Annotated[list[Channel], BeforeValidator(_as_list)] = Field(default_factory=list)
    category: Names = Field(default_factory=list)
    priority: Annotated[list[Priority], BeforeValidator(_as_list)] = Field(default_factory=list)
    team: Names = Field(default_factory=list)
    loyalty_tier: Names = Field(default_factory=list)
    service_level: Annotated[
        list[Literal["standard", "priority", "dedicated"]], BeforeValidator(_as_list)
    ] = Field(default_factory=list)


class PolicyModel(_Model):
    name: str = Field(min_length=1)
    when: ConditionsModel = ConditionsModel()
    calendar: str | None = None
    first_response: Target | None = None
    next_response: Target | None = None
    resolution: Target | None = None
    at_risk: AtRiskModel | None = None


class EscalationModel(_Model):
    key: str = Field(min_length=1)
    action: EscalationAction
    percent: int = Field(default=100, ge=0, le=1000)
    after: SignedDuration = timedelta(0)
    metric: SlaMetric | None = None
    team: str | None = None


class SlaConfigModel(_Model):
    calendars: dict[str, CalendarModel] = Field(min_length=1)
    default_calendar: str
    at_risk: AtRiskModel = AtRiskModel(percent=75)
    policies: list[PolicyModel] = Field(min_length=1)
    escalation: list[EscalationModel] = Field(default_factory=list)


@dataclass(frozen=True)
class SlaSettings:
    """The validated configuration, as domain objects."""

    calendars: Mapping[str, BusinessCalendar]
    policies: tuple[SlaPolicy, ...]
    escalation: tuple[EscalationStep, ...]

    def policy_for(self, facts: CaseFacts) -> SlaPolicy:
        return choose_policy(self.policies, facts)

    def clock(
        self,
        policy: SlaPolicy,
        metric: SlaMetric,
        *,
        started_at: datetime,
        pauses: tuple[Pause, ...] = (),
        stopped_at: datetime | None = None,
    ) -> SlaClock | None:
        """The clock of one promise of ``policy``; ``None`` when it makes no such promise."""
        target = policy.target(metric)
        if target is None:
            return None
        return SlaClock(
            metric=metric,
            started_at=started_at,
            target=target.duration,
            calendar=self.calendars[target.calendar],
            pauses=pauses,
            stopped_at=stopped_at,
            at_risk=policy.at_risk,
        )


def load_sla_config(path: Path | None = None) -> SlaSettings:
    """Read and validate an SLA file; without ``path``, the packaged ``sla.yaml``."""
    if path is None:
        source = "sla.yaml"
        text = (resources.files("egards.cases") / "sla.yaml").read_text("utf-8")
    else:
        source = str(path)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise SlaConfigError(
                N_("{source}: cannot read: {strerror}"),
                strerror=exc.strerror,
                source=source,
                problems=[],
            ) from None
    return parse_sla_yaml(text, source=source)


def parse_sla_yaml(text: str, *, source: str = "sla.yaml") -> SlaSettings:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise SlaConfigError(
            N_("{source}:{where}: not valid YAML: {reason}"),
            where=where,
            reason=reason,
            source=source,
            problems=[reason],
        ) from None
    return parse_sla_config(data, source=source)


def parse_sla_config(data: Any, *, source: str = "sla.yaml") -> SlaSettings:
    """Validate plain data (as loaded from YAML) and build the settings."""
    if not isinstance(data, Mapping):
        _fail(source, ["(top): expected a mapping with calendars, policies and escalation"])
    try:
        model = SlaConfigModel.model_validate(data)
    except ValidationError as exc:
        _fail(source, [f"{_path(error['loc'])}: {error['msg']}" for error in exc.errors()])
    problems: list[str] = []
    calendars = _build_calendars(model, problems)
    policies = _build_policies(model, problems)
    escalation = _build_escalation(model, problems)
    if problems:
        _fail(source, problems)
    return SlaSettings(calendars=calendars, policies=policies, escalation=escalation)


def _build_calendars(model: SlaConfigModel, problems: list[str]) -> dict[str, BusinessCalendar]:
    calendars: dict[str, BusinessCalendar] = {}
    for name, spec in model.calendars.items():
        where = f"calendars.{name}"
        if spec.always_open and spec.hours:
            problems.append(f"{where}: give either hours or always_open, not both")
            continue
        try:
            calendar = BusinessCalendar.weekly_hours(
                name,
                timezone=spec.time_zone,
                hours=ALWAYS_OPEN
                if spec.always_open
                else {day: texts for day, texts in spec.hours.items()},
                holiday_country=spec.holidays.country if spec.holidays else None,
                holiday_subdivision=spec.holidays.subdivision if spec.holidays else None,
                closed_dates=spec.closed_dates,
            )
        except CalendarError as exc:
            problems.append(f"{where}: {exc.message}")
            continue
        calendars[name] = calendar
    if model.default_calendar not in model.calendars:
        problems.append(
            f"default_calendar: unknown calendar {model.default_calendar!r}"
            f" (known: {', '.join(sorted(model.calendars))})"
        )
    return calendars


def _at_risk(spec: AtRiskModel) -> AtRiskRule:
    return AtRiskRule(percent=spec.percent, time_left=spec.time_left)


def _build_policies(model: SlaConfigModel, problems: list[str]) -> tuple[SlaPolicy, ...]:
    policies: list[SlaPolicy] = []
    seen: set[str] = set()
    for index, spec in enumerate(model.policies):
        where = f"policies[{index}]"
        if spec.name in seen:
            problems.append(f"{where}.name: policy {spec.name!r} is defined twice")
        seen.add(spec.name)
        targets: dict[str, SlaTarget | None] = {}
        for metric in SlaMetric:
            target = getattr(spec, metric.value)
            if target is None:
                targets[metric.value] = None
                continue
            calendar = target.calendar or spec.calendar or model.default_calendar
            if calendar not in model.calendars:
                field = "calendar" if target.calendar is None else f"{metric.value}.calendar"
                problems.append(
                    f"{where}.{field}: unknown calendar {calendar!r}"
                    f" (known: {', '.join(sorted(model.calendars))})"
                )
            if target.duration <= timedelta(0):
                problems.append(f"{where}.{metric.value}: a promise must be longer than zero")
            targets[metric.value] = SlaTarget(duration=target.duration, calendar=calendar)
        if not any(targets.values()):
            problems.append(f"{where}: a policy needs at least one target")
        conditions = PolicyConditions(
            channels=frozenset(spec.when.channel),
            categories=frozenset(spec.when.category),
            priorities=frozenset(spec.when.priority),
            teams=frozenset(spec.when.team),
            loyalty_tiers=frozenset(spec.when.loyalty_tier),
            service_levels=frozenset(spec.when.service_level),
        )
        policies.append(
            SlaPolicy(
                name=spec.name,
                conditions=conditions,
                at_risk=_at_risk(spec.at_risk or model.at_risk),
                **targets,
            )
        )
    if not any(policy.is_catch_all for policy in policies):
        problems.append("policies: one policy needs no `when`, to serve as the default")
    return tuple(policies)


def _build_escalation(model: SlaConfigModel, problems: list[str]) -> tuple[EscalationStep, ...]:
    steps: list[EscalationStep] = []
    seen: set[str] = set()
    for index, spec in enumerate(model.escalation):
        where = f"escalation[{index}]"
        if spec.key in seen:
            problems.append(f"{where}.key: step {spec.key!r} is defined twice")
        seen.add(spec.key)
        if spec.action is EscalationAction.REASSIGN_TEAM and not spec.team:
            problems.append(f"{where}.team: reassign_team needs the team to reassign to")
        steps.append(
            EscalationStep(
                key=spec.key,
                action=spec.action,
                percent=spec.percent,
                offset=spec.after,
                metric=spec.metric,
                team=spec.team,
            )
        )
    return tuple(steps)


def _path(location: tuple[Any, ...]) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif str(part).startswith("function-") or str(part) == "[key]":
            continue
        else:
            text += f".{part}" if text else str(part)
    return text or "(top)"


def _fail(source: str, problems: list[str]) -> NoReturn:
    listed = "\n".join(f"  - {problem}" for problem in problems)
    raise SlaConfigError(
        N_("{source}: {problems_count} problem(s)\n{listed}"),
        problems_count=len(problems),
        listed=listed,
        source=source,
        problems=problems,
    )
