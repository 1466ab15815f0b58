"""A loyalty programme as a readable file: YAML validated by Pydantic v2.

``load_programme`` parses and checks a programme in two passes: the shape (types, required
keys, unknown keys) and then the cross-references and orderings that only make sense on the
whole file (a rule naming an unknown tier, thresholds out of order, ...). Every problem is
reported with its path, e.g. ``tiers[2].threshold: must be greater than tiers[1].threshold``,
in one :class:`ProgrammeError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from egards.errors import N_
from egards.loyalty.errors import Problem, ProgrammeError, UnknownReference

CODE = r"[a-z][a-z0-9_-]{0,39}"
"""A code (of a rule, a tier, an activity kind...): never a colon (see stored.StoredPast)."""
Code = Annotated[str, Field(pattern=f"^{CODE}$")]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Model):
    """A label in both languages of the console."""

    fr: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    def get(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


class Rounding(StrEnum):
    """How a fractional number of points becomes an integer; always stated in the file."""

    FLOOR = "floor"
    CEILING = "ceiling"
    DOWN = "down"
    HALF_UP = "half_up"
    HALF_DOWN = "half_down"
    HALF_EVEN = "half_even"


class CurrencyKind(StrEnum):
    QUALIFYING = "qualifying"
    SPENDABLE = "spendable"


class ExpiryMode(StrEnum):
    NEVER = "never"
    AFTER_EARNING = "after_earning"
    AFTER_LAST_ACTIVITY = "after_last_activity"


class Expiry(_Model):
    """When spendable points lapse.

    ``after_earning``: each earning is a bucket valid ``months`` after it was earned (at the end
    of that month if ``end_of_month``), spent soonest-expiring first. ``after_last_activity``:
    the whole balance lapses ``months`` after the member's last activity; any activity extends
    it. Holders of ``exempt_tiers`` keep their points while they hold such a tier.
    """

    mode: ExpiryMode = ExpiryMode.NEVER
    months: PositiveInt | None = None
    end_of_month: bool = False
    exempt_tiers: list[Code] = []


class Redemption(_Model):
    """Amounts a member may redeem: at least ``minimum``, at most ``maximum``, in ``multiple``s."""

    minimum: PositiveInt = 1
    multiple: PositiveInt = 1
    maximum: PositiveInt | None = None


class Currency(_Model):
    code: CurrencyCode
    kind: CurrencyKind
    name: Names
    expiry: Expiry | None = None
    redemption: Redemption | None = None


class ActivityKind(_Model):
    """A kind of activity the programme rewards, with its name for explanations."""

    code: Code
    name: Names
    plural: Names


class Cap(_Model):
    """Limits on what one rule or promotion may award."""

    per_activity: PositiveInt | None = None
    per_period: PositiveInt | None = None
    period: Literal["calendar_month", "calendar_year"] | None = None


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("must be a decimal number")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError("must be a decimal number") from None
    if not number.is_finite() or number < 0:
        raise ValueError("must be a finite, non-negative decimal number")
    return number


class _Rule(_Model):
    id: Code
    name: Names | None = None
    activities: Annotated[list[Code], Field(min_length=1)]
    currency: CurrencyCode
    when: dict[str, Any] = {}
    cap: Cap | None = None
    valid_from: date | None = None
    valid_until: date | None = None


class AmountRule(_Rule):
    """Points per euro spent: ``rate`` (or the tier's ``earn_rate`` when ``rate: tier``, or
    ``rate_by_tier``) times the amount, minus the ``exclude``d components (e.g. taxes), rounded
    by ``rounding``."""

    kind: Literal["per_amount"]
    rate: Decimal | Literal["tier"] | None = None
    rate_by_tier: dict[str, Decimal] | None = None
    exclude: list[str] = []
    rounding: Rounding

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> Decimal | str | None:
        if value is None or value == "tier":
            return value
        try:
            return _decimal(value)
        except ValueError:
            raise ValueError("must be a decimal number of points per euro or 'tier'") from None

    @field_validator("rate_by_tier", mode="before")
    @classmethod
    def _rates(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _decimal(v) for k, v in value.items()}
        return value


class Case(_Model):
    """One row of an activity table: the first case whose ``when`` matches gives the amount,
    either ``amount`` or ``amounts`` keyed by the rule's ``by`` attribute (e.g. the cabin)."""

    name: Annotated[str, Field(min_length=1)]
    label: Names | None = None  # the case as readers see it; its ``name`` when not given
    when: dict[str, Any] = {}
    amount: NonNegativeInt | None = None
    amounts: dict[str, NonNegativeInt] | None = None


class ActivityRule(_Rule):
    """A fixed number of points per activity (times its quantity), possibly from a table."""

    kind: Literal["per_activity"]
    amount: NonNegativeInt | None = None
    by: str | None = None
    cases: list[Case] = []
    # The ``by`` attribute's values as readers see them (the cabins' names); a value without
    # one is shown as the activity wrote it.
    values: dict[str, Names] = {}


EarningRule = Annotated[AmountRule | ActivityRule, Field(discriminator="kind")]


class Promotion(_Model):
    """Extra points on top of some rules in a date window (both ends included).

    The extra is ``base × (multiplier − 1)`` rounded by ``rounding`` plus a fixed ``bonus``;
    promotions stack additively on the base of the rule, never on each other.
    """

    id: Code
    name: Names
    rules: Annotated[list[Code], Field(min_length=1)]
    starts_on: date
    ends_on: date
    multiplier: Decimal | None = None
    bonus: PositiveInt | None = None
    rounding: Rounding = Rounding.FLOOR
    when: dict[str, Any] = {}
    tiers: list[Code] | None = None
    cap: Cap | None = None

    @field_validator("multiplier", mode="before")
    @classmethod
    def _multiplier(cls, value: Any) -> Decimal | None:
        return None if value is None else _decimal(value)


class Benefit(_Model):
    code: Code
    name: Names


class Benefits(_Model):
    earn_rate: Decimal | None = None
    service_level: Literal["standard", "priority", "dedicated"] = "standard"
    lounge: bool = False
    extra: list[Benefit] = []

    @field_validator("earn_rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> Decimal | None:
        return None if value is None else _decimal(value)


class Tier(_Model):
    code: Code
    name: Names
    threshold: NonNegativeInt
    benefits: Benefits = Benefits()


class PeriodKind(StrEnum):
    """How the qualification period runs.

    ``personal``: ``months`` from the day the member enrolled or reached a tier, then again
    from the end of each period. ``calendar_year``: 1 January to 31 December. ``rolling``: the
    counter is what was earned in the last ``months``; the tier is reviewed every
    ``review_months`` from enrolment. ``cumulative``: no period, the counter never resets
    (seniority, tenure).
    """

    PERSONAL = "personal"
    CALENDAR_YEAR = "calendar_year"
    ROLLING = "rolling"
    CUMULATIVE = "cumulative"


class Period(_Model):
    kind: PeriodKind
    months: PositiveInt | None = None
    review_months: PositiveInt = 1


class OnTierReached(StrEnum):
    """What happens to the counter when a tier is reached: ``deduct`` the tier's threshold
    (Flying Blue), ``reset`` it to zero, or ``keep`` it (the period runs on unchanged)."""

    DEDUCT = "deduct"
    RESET = "reset"
    KEEP = "keep"


class Downgrade(StrEnum):
    """At the end of a period a member short of their tier's threshold either falls to the tier
    the counter supports (``requalify``) or at most one tier (``soft_landing``)."""

    REQUALIFY = "requalify"
    SOFT_LANDING = "soft_landing"


class EntryTierRollover(StrEnum):
    """Whether a member of the entry tier, who has no status to keep (threshold 0), carries
    their counter into the next period: ``restart`` (Flying Blue: an Explorer's counter starts
    again at each new qualification period) or ``carry`` (the whole counter rolls over, up to
    the cap, so occasional activity adds up over the years)."""

    RESTART = "restart"
    CARRY = "carry"


class Rollover(_Model):
    """At a period end the counter is offset by the threshold of the tier kept, and the
    surplus is carried into the next period, up to ``cap``. ``entry_tier`` states what happens
    to the counter of a member who kept only the entry tier; it has no default, because the
    two policies part ways after a few years (see :class:`EntryTierRollover`)."""

    cap: PositiveInt | None = None
    entry_tier: EntryTierRollover


class Lifetime(_Model):
    """``tier`` for life after ``after_periods`` consecutive periods completed at that tier."""

    tier: Code
    after_periods: PositiveInt


class Qualification(_Model):
    currency: CurrencyCode
    period: Period
    on_tier_reached: OnTierReached
    downgrade: Downgrade
    rollover: Rollover | None = None
    lifetime: Lifetime | None = None


class Programme(_Model):
    """A whole programme: currencies, activities, earning rules, promotions, tiers."""

    code: Code
    name: Names
    # The programme's own member numbers: this prefix and ten digits (e.g. CM0000000123).
    # A customer's existing loyalty number becomes the member number only if it has it, so
    # that one programme's card never carries another's number. Default: the code's first
    # two letters.
    number_prefix: Annotated[str | None, Field(pattern=r"^[A-Z]{1,4}$")] = None
    currencies: Annotated[list[Currency], Field(min_length=1)]
    activities: Annotated[list[ActivityKind], Field(min_length=1)]
    earning: list[EarningRule] = []
    promotions: list[Promotion] = []
    tiers: Annotated[list[Tier], Field(min_length=1)]
    qualification: Qualification

    @cached_property
    def activity_codes(self) -> frozenset[str]:
        """The codes of the activities it counts (every activity is checked against them)."""
        return frozenset(a.code for a in self.activities)

    @property
    def member_prefix(self) -> str:
        return self.number_prefix or self.code[:2].upper()

    def member_number(self, customer_id: int, existing: Iterable[str] = ()) -> str:
        """The member number of a new member: an existing loyalty number of this programme's
        format, or a new one from the customer's id."""
        prefix = self.member_prefix
        for number in existing:
            digits = number.removeprefix(prefix)
            ours = number.startswith(prefix) and digits.isascii() and digits.isdigit()
            if ours and 6 <= len(digits) <= 12:
                return number
        return f"{self.member_prefix}{customer_id:010d}"

    def currency(self, code: str) -> Currency:
        for currency in self.currencies:
            if currency.code == code:
                return currency
        raise UnknownReference(N_("unknown currency {code}"), code=code, currency=code)

    def activity(self, code: str) -> ActivityKind:
        for kind in self.activities:
            if kind.code == code:
                return kind
        raise UnknownReference(N_("unknown activity kind {code}"), code=code, activity=code)

    def tier(self, code: str) -> Tier:
        return self.tiers[self.tier_index(code)]

    def tier_index(self, code: str) -> int:
        for index, tier in enumerate(self.tiers):
            if tier.code == code:
                return index
        raise UnknownReference(N_("unknown tier {code}"), code=code, tier=code)

    def rule(self, rule_id: str) -> AmountRule | ActivityRule | Promotion:
        for rule in [*self.earning, *self.promotions]:
            if rule.id == rule_id:
                return rule
        raise UnknownReference(N_("unknown rule {rule_id}"), rule_id=rule_id, rule=rule_id)

    @property
    def qualifying_currency(self) -> Currency:
        return self.currency(self.qualification.currency)

    @property
    def spendable_currencies(self) -> list[Currency]:
        return [c for c in self.currencies if c.kind is CurrencyKind.SPENDABLE]


# --- loading -------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML with decimal numbers read as :class:`Decimal`, so ``1.1`` never becomes a float."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | float:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return yaml.SafeLoader.construct_yaml_float(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def load_programme(source: str | Path) -> Programme:
    """Read a programme from a YAML file path or YAML text and validate it.

    Raises :class:`ProgrammeError` listing every problem with its path.
    """
    if isinstance(source, Path) or ("\n" not in source and source.endswith((".yaml", ".yml"))):
        text = Path(source).read_text(encoding="utf-8")
    else:
        text = source
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ProgrammeError([Problem(where, f"not valid YAML: {error}")]) from None
    return parse_programme(data)


def parse_programme(data: Any) -> Programme:
    """Validate an already parsed mapping as a programme (see :func:`load_programme`)."""
    if not isinstance(data, dict):
        raise ProgrammeError([Problem("", "a programme must be a mapping of keys to values")])
    try:
        programme = Programme.model_validate(data)
    except ValidationError as error:
        raise ProgrammeError([_problem(e) for e in error.errors()]) from None
    problems = _check(programme)
    if problems:
        raise ProgrammeError(problems)
    return programme


_UNION_TAGS = {"per_amount", "per_activity"}


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _UNION_TAGS or (
            isinstance(part, str) and part.startswith(("literal[", "decimal"))
        ):
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


def _problem(error: Any) -> Problem:
    reason = error["msg"]
    if error["type"] == "extra_forbidden":
        reason = "unknown key"
    elif error["type"] == "missing":
        reason = "is required"
    elif reason.startswith("Value error, "):
        reason = reason.removeprefix("Value error, ")
    return Problem(_path(tuple(error["loc"])), reason)


def _check(p: Programme) -> list[Problem]:
    """Cross-references and orderings across the whole file."""
    problems: list[Problem] = []

    def add(path: str, reason: str) -> None:
        problems.append(Problem(path, reason))

    def duplicates(items: list[Any], attribute: str, path: str) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            value = getattr(item, attribute)
            if value in seen:
                add(f"{path}[{i}].{attribute}", f"duplicates {path}[{seen[value]}].{attribute}")
            seen.setdefault(value, i)

    duplicates(p.currencies, "code", "currencies")
    duplicates(p.activities, "code", "activities")
    duplicates(p.tiers, "code", "tiers")
    duplicates([*p.earning, *p.promotions], "id", "rules")

    currencies = {c.code: c for c in p.currencies}
    activities = {a.code for a in p.activities}
    tiers = [t.code for t in p.tiers]

    for i, currency in enumerate(p.currencies):
        path = f"currencies[{i}]"
        if currency.kind is CurrencyKind.QUALIFYING:
            if currency.expiry is not None:
                add(f"{path}.expiry", "a qualifying currency does not expire; its period resets it")
            if currency.redemption is not None:
                add(f"{path}.redemption", "a qualifying currency cannot be redeemed")
        if currency.expiry is not None:
            expiry = currency.expiry
            if expiry.mode is not ExpiryMode.NEVER and expiry.months is None:
                add(f"{path}.expiry.months", f"is required when mode is {expiry.mode.value}")
            for j, tier in enumerate(expiry.exempt_tiers):
                if tier not in tiers:
                    add(f"{path}.expiry.exempt_tiers[{j}]", f"unknown tier {tier!r}")

    for i, tier in enumerate(p.tiers):
        if i == 0 and tier.threshold != 0:
            add("tiers[0].threshold", "the first tier is the entry tier and must be 0")
        if i > 0 and tier.threshold <= p.tiers[i - 1].threshold:
            add(f"tiers[{i}].threshold", f"must be greater than tiers[{i - 1}].threshold")

    for i, rule in enumerate(p.earning):
        path = f"earning[{i}]"
        if rule.currency not in currencies:
            add(f"{path}.currency", f"unknown currency {rule.currency!r}")
        for j, activity in enumerate(rule.activities):
            if activity not in activities:
                add(f"{path}.activities[{j}]", f"unknown activity {activity!r}")
        _check_conditions(rule.when, f"{path}.when", add)
        _check_cap(rule.cap, f"{path}.cap", add)
        if rule.valid_from and rule.valid_until and rule.valid_until < rule.valid_from:
            add(f"{path}.valid_until", "must not be before valid_from")
        if isinstance(rule, AmountRule):
            given = [rule.rate is not None, rule.rate_by_tier is not None]
            if sum(given) != 1:
                add(f"{path}.rate", "give exactly one of rate (a number or 'tier') or rate_by_tier")
            if rule.rate == "tier":
                for j, tier in enumerate(p.tiers):
                    if tier.benefits.earn_rate is None:
                        add(f"tiers[{j}].benefits.earn_rate", f"is required by {path}.rate: tier")
            if rule.rate_by_tier is not None:
                for code in rule.rate_by_tier:
                    if code not in tiers:
                        add(f"{path}.rate_by_tier.{code}", f"unknown tier {code!r}")
                for code in tiers:
                    if code not in rule.rate_by_tier:
                        add(f"{path}.rate_by_tier", f"has no rate for tier {code!r}")
        else:
            if (rule.amount is None) == (not rule.cases):
                add(f"{path}.amount", "give exactly one of amount or cases")
            for j, case in enumerate(rule.cases):
                case_path = f"{path}.cases[{j}]"
                _check_conditions(case.when, f"{case_path}.when", add)
                if (case.amount is None) == (case.amounts is None):
                    add(f"{case_path}.amount", "give exactly one of amount or amounts")
                if case.amounts is not None and rule.by is None:
                    add(f"{path}.by", f"is required by {case_path}.amounts")
            priced = {value for case in rule.cases for value in case.amounts or {}}
            for value in rule.values:
                if value not in priced:
                    add(f"{path}.values.{value}", "is a value no case gives an amount for")
            if rule.values:  # named at all: then every value a reader can meet is named
                for value in sorted(priced - rule.values.keys()):
                    add(f"{path}.values", f"has no name for {value!r}, which a case prices")

    rule_ids = {r.id for r in p.earning}
    for i, promotion in enumerate(p.promotions):
        path = f"promotions[{i}]"
        if promotion.ends_on < promotion.starts_on:
            add(f"{path}.ends_on", "must not be before starts_on")
        if promotion.multiplier is None and promotion.bonus is None:
            add(f"{path}.multiplier", "give a multiplier, a bonus or both")
        if promotion.multiplier is not None and promotion.multiplier <= 1:
            add(f"{path}.multiplier", "must be greater than 1")
        for j, rule_id in enumerate(promotion.rules):
            if rule_id not in rule_ids:
                add(f"{path}.rules[{j}]", f"unknown earning rule {rule_id!r}")
        for j, tier in enumerate(promotion.tiers or []):
            if tier not in tiers:
                add(f"{path}.tiers[{j}]", f"unknown tier {tier!r}")
        _check_conditions(promotion.when, f"{path}.when", add)
        _check_cap(promotion.cap, f"{path}.cap", add)

    q = p.qualification
    qualifying = currencies.get(q.currency)
    if qualifying is None:
        add("qualification.currency", f"unknown currency {q.currency!r}")
    elif qualifying.kind is not CurrencyKind.QUALIFYING:
        add("qualification.currency", f"{q.currency} is not a qualifying currency")
    kind = q.period.kind
    if kind in (PeriodKind.PERSONAL, PeriodKind.ROLLING) and q.period.months is None:
        add("qualification.period.months", f"is required for a {kind.value} period")
    if kind in (PeriodKind.CALENDAR_YEAR, PeriodKind.CUMULATIVE) and q.period.months is not None:
        add("qualification.period.months", f"does not apply to a {kind.value} period")
    if kind is PeriodKind.PERSONAL and q.on_tier_reached is OnTierReached.KEEP:
        add(
            "qualification.on_tier_reached",
            "a personal period restarts when a tier is reached: use deduct or reset",
        )
    if kind in (PeriodKind.ROLLING, PeriodKind.CUMULATIVE):
        if q.on_tier_reached is not OnTierReached.KEEP:
            add("qualification.on_tier_reached", f"must be keep for a {kind.value} period")
        if q.rollover is not None:
            add("qualification.rollover", f"does not apply to a {kind.value} period")
    if q.lifetime is not None:
        if q.lifetime.tier not in tiers:
            add("qualification.lifetime.tier", f"unknown tier {q.lifetime.tier!r}")
        if kind is PeriodKind.CUMULATIVE:
            add("qualification.lifetime", "a cumulative period never ends, so status is for life")
    return problems


_CONDITION_KEYS = {"min", "max", "in", "not_in"}


def _check_conditions(conditions: dict[str, Any], path: str, add: Any) -> None:
    for attribute, condition in conditions.items():
        where = f"{path}.{attribute}"
        if isinstance(condition, dict):
            unknown = set(condition) - _CONDITION_KEYS
            if unknown or not condition:
                add(where, f"a condition has only the keys {sorted(_CONDITION_KEYS)}")
            for bound in ("min", "max"):
                value = condition.get(bound)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    add(f"{where}.{bound}", "must be an integer")
            for key in ("in", "not_in"):
                if key in condition and not isinstance(condition[key], list):
                    add(f"{where}.{key}", "must be a list")
        elif not isinstance(condition, str | int | bool | list):
            add(where, "must be a value, a list of values or {min, max, in, not_in}")


def _check_cap(cap: Cap | None, path: str, add: Any) -> None:
    if cap is None:
        return
    if (cap.per_period is None) != (cap.period is None):
        add(f"{path}.period", "per_period and period go together")
    if cap.per_activity is None and cap.per_period is None:
        add(path, "give per_activity, per_period or both")


def matches(conditions: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Whether activity attributes satisfy every condition (all must hold).

    A value means equality, a list membership, a mapping bounds (``min``/``max`` inclusive) or
    membership (``in``/``not_in``). A missing attribute fails every condition but ``not_in``.
    """
    for attribute, condition in conditions.items():
        present = attribute in attributes
        value = attributes.get(attribute)
        if isinstance(condition, dict):
            if "not_in" in condition and present and value in condition["not_in"]:
                return False
            if "in" in condition and (not present or value not in condition["in"]):
                return False
            for bound, ok in (("min", lambda v, b: v >= b), ("max", lambda v, b: v <= b)):
                if condition.get(bound) is None:
                    continue
                if not present or isinstance(value, bool) or not isinstance(value, int):
                    return False
                if not ok(value, condition[bound]):
                    return False
        elif isinstance(condition, list):
            if not present or value not in condition:
                return False
        elif not present or value != condition or type(value) is not type(condition):
            return False
    return True


PROGRAMMES_DIR = Path(__file__).parent / "programmes"


def bundled_programme(name: str) -> Programme:
    """One of the example programmes shipped with Égards (``flying_blue``, ``retail``,
    ``telecom``)."""
    return load_programme(PROGRAMMES_DIR / f"{name}.yaml")
