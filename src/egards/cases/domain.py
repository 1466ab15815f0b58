"""Case rules: statuses, SLA policies and clocks, escalation, e-mail intake decisions.

Pure functions over plain values: no database, no web, no clock of its own (every rule that
depends on time takes ``now``). Business time comes from ``egards.cases.business_hours``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import getaddresses, parseaddr
from enum import IntEnum, StrEnum
from typing import cast

from egards.cases.business_hours import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
)
from egards.cases.errors import (
    ClosureReasonRequired,
    InvalidCaseNumber,
    InvalidTransition,
    NoMatchingPolicy,
)

# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------


class Channel(StrEnum):
    EMAIL = "email"
    WEB_FORM = "web_form"
    SOCIAL = "social"
    PHONE = "phone"
    SHOP = "shop"
    PARTNER = "partner"
    LETTER = "letter"
    PORTAL = "portal"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class CaseStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    WAITING_ON_PARTNER = "waiting_on_partner"
    RESOLVED = "resolved"
    CLOSED = "closed"


class SlaMetric(StrEnum):
    """The three promises, and when their clocks run.

    - ``first_response``: from the first inbound message to the first public reply.
    - ``next_response``: from each customer message that follows our last reply to the
      next public reply.
    - ``resolution``: from the first inbound message to ``resolved``; when a case is
      reopened the same clock runs on, the time spent resolved counting as a pause
      (``RESOLUTION_PAUSING_STATUSES``).
    """

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"


# --------------------------------------------------------------------------------------
# Status machine
# --------------------------------------------------------------------------------------

_S = CaseStatus
ALLOWED_TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    _S.NEW: frozenset(
        {_S.OPEN, _S.WAITING_ON_CUSTOMER, _S.WAITING_ON_PARTNER, _S.RESOLVED, _S.CLOSED}
    ),
    _S.OPEN: frozenset({_S.WAITING_ON_CUSTOMER, _S.WAITING_ON_PARTNER, _S.RESOLVED, _S.CLOSED}),
    _S.WAITING_ON_CUSTOMER: frozenset({_S.OPEN, _S.WAITING_ON_PARTNER, _S.RESOLVED, _S.CLOSED}),
    _S.WAITING_ON_PARTNER: frozenset({_S.OPEN, _S.WAITING_ON_CUSTOMER, _S.RESOLVED, _S.CLOSED}),
    _S.RESOLVED: frozenset({_S.OPEN, _S.CLOSED}),
    # Closed is final: a later message opens a follow-up case linked to this one.
    _S.CLOSED: frozenset(),
}

PAUSING_STATUSES: frozenset[CaseStatus] = frozenset({_S.WAITING_ON_CUSTOMER})
"""Statuses that pause the SLA clocks. Waiting on a partner does not: for the customer the
installer or the shop is still us (seed 003)."""

STOPPING_STATUSES: frozenset[CaseStatus] = frozenset({_S.RESOLVED, _S.CLOSED})
"""Statuses that stop the resolution clock."""

RESOLUTION_PAUSING_STATUSES: frozenset[CaseStatus] = PAUSING_STATUSES | {_S.RESOLVED}
"""For ``pauses_from_history`` on the resolution clock of a reopened case."""


def change_status(
    current: CaseStatus, target: CaseStatus, *, reason: str | None = None
) -> CaseStatus:
    """Move a case to ``target`` if the status machine allows it.

    Closing a case that was never resolved is the only way out of the "no silence" view
    without an answer, so it needs a written reason.
    """
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(
            f"a case cannot go from {current} to {target}",
            current=str(current),
            target=str(target),
        )
    unresolved = current is not CaseStatus.RESOLVED
    if target is CaseStatus.CLOSED and unresolved and not (reason and reason.strip()):
        raise ClosureReasonRequired(
            f"closing a {current} case needs a reason", current=str(current)
        )
    return target


@dataclass(frozen=True)
class InboundEffect:
    """What a new inbound customer message does to its case."""

    status: CaseStatus
    reopened: bool = False
    follow_up_case: bool = False
    """The case is closed: open a new case linked to it and leave this one untouched."""


def receive_inbound_message(current: CaseStatus) -> InboundEffect:
    """A customer wrote again: every status except closed comes back to ``open``."""
    if current is CaseStatus.CLOSED:
        return InboundEffect(status=current, follow_up_case=True)
    if current is CaseStatus.NEW:
        return InboundEffect(status=current)
    return InboundEffect(status=CaseStatus.OPEN, reopened=current is CaseStatus.RESOLVED)


# --------------------------------------------------------------------------------------
# SLA policies
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    """What a policy can be chosen on. Values are compared case-insensitively."""

    channel: str | None = None
    category: str | None = None
    priority: str | None = None
    team: str | None = None
    loyalty_tier: str | None = None
    service_level: str | None = None
    """The service level the customer's live tier gives (``standard``, ``priority``,
    ``dedicated``: a benefit of the loyalty programme file); ``None`` for an unknown sender."""


def _folded(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(value).casefold() for value in values)


_CONDITION_FIELDS = (
    "channels",
    "categories",
    "priorities",
    "teams",
    "loyalty_tiers",
    "service_levels",
)


@dataclass(frozen=True)
class PolicyConditions:
    """Each non-empty set restricts one fact; an empty set accepts anything."""

    channels: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    loyalty_tiers: frozenset[str] = frozenset()
    service_levels: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in _CONDITION_FIELDS:
            object.__setattr__(self, name, _folded(getattr(self, name)))

    def _pairs(self, facts: CaseFacts) -> tuple[tuple[frozenset[str], str | None], ...]:
        return (
            (self.channels, facts.channel),
            (self.categories, facts.category),
            (self.priorities, facts.priority),
            (self.teams, facts.team),
            (self.loyalty_tiers, facts.loyalty_tier),
            (self.service_levels, facts.service_level),
        )

    def matches(self, facts: CaseFacts) -> bool:
        return all(
            not accepted or (value is not None and str(value).casefold() in accepted)
            for accepted, value in self._pairs(facts)
        )

    @property
    def specificity(self) -> int:
        """How many facts this policy constrains."""
        return sum(1 for name in _CONDITION_FIELDS if getattr(self, name))


@dataclass(frozen=True)
class AtRiskRule:
    """A running clock is at risk once ``percent`` of its target has elapsed, or once no
    more than ``time_left`` remains, whichever comes first (both in business time)."""

    percent: int | None = 75
    time_left: timedelta | None = None

    def threshold(self, target: timedelta) -> timedelta:
        """Elapsed business time from which the clock is at risk."""
        candidates = [target]
        if self.percent is not None:
            candidates.append(target * self.percent // 100)
        if self.time_left is not None:
            candidates.append(target - self.time_left)
        return max(timedelta(0), min(candidates))


@dataclass(frozen=True)
class SlaTarget:
    """A promise: ``duration`` of business time on the calendar named ``calendar``."""

    duration: timedelta
    calendar: str


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    conditions: PolicyConditions = PolicyConditions()
    first_response: SlaTarget | None = None
    next_response: SlaTarget | None = None
    resolution: SlaTarget | None = None
    at_risk: AtRiskRule = AtRiskRule()

    def target(self, metric: SlaMetric) -> SlaTarget | None:
        return getattr(self, metric.value)

    @property
    def is_catch_all(self) -> bool:
        return self.conditions.specificity == 0


def choose_policy(policies: Sequence[SlaPolicy], facts: CaseFacts) -> SlaPolicy:
    """The matching policy that constrains the most facts; on a tie, the first one listed.

    A policy without conditions matches every case and serves as the default.
    """
    best: SlaPolicy | None = None
    for policy in policies:
        if policy.conditions.matches(facts) and (
            best is None or policy.conditions.specificity > best.conditions.specificity
        ):
            best = policy
    if best is None:
        raise NoMatchingPolicy(
            "no SLA policy matches this case and no default policy is configured",
            channel=facts.channel,
            priority=facts.priority,
        )
    return best


# --------------------------------------------------------------------------------------
# Priority by value (seed 004): entitlement from status, order by deadline then value
# --------------------------------------------------------------------------------------


class ValueBand(IntEnum):
    """How much the sender is worth to the company, from the customer file, never from
    online influence. ``NONE``: not a known customer."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    TOP = 4


class ChurnBand(IntEnum):
    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


SERVICE_LEVELS = ("standard", "priority", "dedicated")
_LEVEL_BAND = {"standard": ValueBand.LOW, "priority": ValueBand.HIGH, "dedicated": ValueBand.TOP}


@dataclass(frozen=True)
class Standing:
    """What the customer file says about a case's sender, read live at intake and on the
    case page: the tier and its service level (loyalty), value and churn risk (analytics)."""

    customer_id: int | None = None
    tier: str | None = None
    tier_name: Mapping[str, str] | None = None
    """The tier's name by language (``{"en": "Gold", "fr": "Or"}``)."""
    programme: str | None = None
    service_level: str | None = None
    clv_cents: int | None = None
    value_decile: int | None = None
    churn_risk: float | None = None
    segment: str | None = None

    @property
    def is_customer(self) -> bool:
        return self.customer_id is not None


def value_band(standing: Standing) -> ValueBand:
    """The band of the best of two measures: the value decile (1-4 low, 5-7 medium, 8-9 high,
    10 top) and the service level the tier earns (standard low, priority high, dedicated
    top). A customer never scored and without a tier is ``LOW``; a stranger ``NONE``."""
    if not standing.is_customer:
        return ValueBand.NONE
    by_value = ValueBand.LOW
    decile = standing.value_decile or 0
    if decile >= 10:
        by_value = ValueBand.TOP
    elif decile >= 8:
        by_value = ValueBand.HIGH
    elif decile >= 5:
        by_value = ValueBand.MEDIUM
    by_level = _LEVEL_BAND.get((standing.service_level or "").casefold(), ValueBand.LOW)
    return max(by_value, by_level)


def churn_band(churn_risk: float | None, *, threat: bool = False) -> ChurnBand:
    """Churn risk in bands (below 0.3 low, below 0.6 medium); a stated threat to leave (a
    cancellation request, "je ne serai plus client") is high whatever the score says."""
    if threat:
        return ChurnBand.HIGH
    if churn_risk is None:
        return ChurnBand.UNKNOWN
    if churn_risk >= 0.6:
        return ChurnBand.HIGH
    if churn_risk >= 0.3:
        return ChurnBand.MEDIUM
    return ChurnBand.LOW


CHURN_THREAT_CATEGORIES = frozenset({"cancellation"})


def is_public_exposure(audience: int | None, *, threshold: int) -> bool:
    """A post seen by a large audience deserves a fast, careful public answer from the
    social team. It is a routing flag: it changes neither the promise nor the queue rank."""
    return audience is not None and threshold > 0 and audience >= threshold


@dataclass(frozen=True)
class QueueEntry:
    """What the priority order looks at, for one waiting case."""

    case_id: int
    deadline: datetime | None
    """The answer's deadline; earlier means nearer to (or further past) a breach."""
    value_band: int = ValueBand.NONE
    churn_band: int = ChurnBand.UNKNOWN
    audience: int | None = None


def priority_key(entry: QueueEntry) -> tuple:
    """The order of every queue (team queue, inbox, "no silence"), first to answer first:

    1. the deadline, earliest first: breach risk is measured by it (a breached case's
       deadline has passed, an at-risk one's is near); cases without one come last;
    2. the value band (``ValueBand``: lifetime value and tier), highest first;
    3. the churn band, highest first;
    4. online audience, largest first: only a tie-break *inside* a value band, so a stranger
       with 50,000 followers never passes a customer of higher value with the same deadline;
    5. the case number, for a stable order.

    ``cases.service.queue_order`` writes the same order in SQL.
    """
    return (
        entry.deadline is None,
        entry.deadline or datetime.max.replace(tzinfo=UTC),
        -int(entry.value_band),
        -int(entry.churn_band),
        -(entry.audience or 0),
        entry.case_id,
    )


def in_priority_order(entries: Iterable[QueueEntry]) -> list[QueueEntry]:
    return sorted(entries, key=priority_key)


# --------------------------------------------------------------------------------------
# SLA clocks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    """The clock stood still from ``start`` to ``end`` (``None``: still paused)."""

    start: datetime
    end: datetime | None = None


def pauses_from_history(
    history: Iterable[tuple[datetime, CaseStatus]],
    *,
    pausing: Collection[CaseStatus] = PAUSING_STATUSES,
) -> tuple[Pause, ...]:
    """Pauses of a case from its status changes ``(when, new status)``, oldest first."""
    pauses: list[Pause] = []
    paused_since: datetime | None = None
    for at, status in history:
        if status in pausing and paused_since is None:
            paused_since = at
        elif status not in pausing and paused_since is not None:
            pauses.append(Pause(paused_since, at))
            paused_since = None
    if paused_since is not None:
        pauses.append(Pause(paused_since))
    return tuple(pauses)


@dataclass(frozen=True)
class SlaClock:
    """One promise running on one case: what ``read_clock`` needs."""

    metric: SlaMetric
    started_at: datetime
    target: timedelta
    calendar: BusinessCalendar
    pauses: tuple[Pause, ...] = ()
    stopped_at: datetime | None = None
    """When the promise was kept (answer sent, case resolved); ``None`` while it runs."""
    at_risk: AtRiskRule = AtRiskRule()


@dataclass(frozen=True)
class ClockReading:
    metric: SlaMetric
    state: SlaState
    deadline: datetime
    """Moved later by every pause that began before it."""
    at_risk_at: datetime
    elapsed: timedelta
    remaining: timedelta
    """Business time left; negative once overdue."""
    paused_time: timedelta
    is_paused: bool
    is_running: bool
    target: timedelta


def read_clock(clock: SlaClock, *, now: datetime) -> ClockReading:
    """Deadline, elapsed and remaining business time, and the state of one clock at ``now``.

    Rules: time counts only inside the calendar's opening hours and outside pauses; a pause
    that begins after the deadline does not move it (a breach is not undone by asking the
    customer a question). A stopped clock is ``met`` when it stopped at or before its
    deadline and ``breached`` otherwise; a running one is ``breached`` once ``now`` is past
    the deadline and ``at_risk`` from the policy's threshold on.
    """
    end = _clock_end(clock, now)
    pauses = _clipped_pauses(clock.pauses, clock.started_at, end)
    calendar = clock.calendar
    paused_time = sum(
        (business_time_between(start, stop, calendar) for start, stop in pauses), timedelta()
    )
    elapsed = business_time_between(clock.started_at, end, calendar) - paused_time
    deadline = instant_at_elapsed(clock, clock.target, now=now)
    at_risk_at = instant_at_elapsed(clock, clock.at_risk.threshold(clock.target), now=now)
    if clock.stopped_at is not None and clock.stopped_at <= now:
        state = SlaState.MET if clock.stopped_at <= deadline else SlaState.BREACHED
        running = False
    else:
        running = True
        if now > deadline:
            state = SlaState.BREACHED
        elif elapsed >= clock.at_risk.threshold(clock.target):
            state = SlaState.AT_RISK
        else:
            state = SlaState.ON_TRACK
    is_paused = running and any(
        pause.start <= now and (pause.end is None or now < pause.end) for pause in clock.pauses
    )
    return ClockReading(
        metric=clock.metric,
        state=state,
        deadline=deadline,
        at_risk_at=at_risk_at,
        elapsed=elapsed,
        remaining=clock.target - elapsed,
        paused_time=paused_time,
        is_paused=is_paused,
        is_running=running,
        target=clock.target,
    )


def instant_at_elapsed(clock: SlaClock, elapsed: timedelta, *, now: datetime) -> datetime:
    """When the clock will have run ``elapsed`` business time, given the pauses known at
    ``now`` (an open pause is taken as lasting until ``now``)."""
    pauses = _clipped_pauses(clock.pauses, clock.started_at, _clock_end(clock, now))
    paused = timedelta()
    instant = add_business_time(clock.started_at, elapsed, clock.calendar)
    for start, stop in pauses:
        if start >= instant:
            break
        paused += business_time_between(start, stop, clock.calendar)
        instant = add_business_time(clock.started_at, elapsed + paused, clock.calendar)
    return instant


def _clock_end(clock: SlaClock, now: datetime) -> datetime:
    """Up to when the clock has run: ``now``, or its stop if earlier; never before its start."""
    end = now if clock.stopped_at is None else min(now, clock.stopped_at)
    return max(end, clock.started_at)


def _clipped_pauses(
    pauses: Iterable[Pause], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Pauses inside ``[start, end]``, open ones closed at ``end``, overlaps merged."""
    clipped = sorted(
        (max(pause.start, start), min(pause.end or end, end))
        for pause in pauses
        if pause.start < end
    )
    merged: list[tuple[datetime, datetime]] = []
    for pause_start, pause_end in clipped:
        if pause_end <= pause_start:
            continue
        if merged and pause_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], pause_end))
        else:
            merged.append((pause_start, pause_end))
    return merged


# --------------------------------------------------------------------------------------
# Escalation ladder
# --------------------------------------------------------------------------------------


class EscalationAction(StrEnum):
    WARN_ASSIGNEE = "warn_assignee"
    NOTIFY_SUPERVISOR = "notify_supervisor"
    REASSIGN_TEAM = "reassign_team"
    RAISE_PRIORITY = "raise_priority"


@dataclass(frozen=True)
class EscalationStep:
    """One rung: ``action`` once ``percent`` of the target plus ``offset`` has elapsed.

    ``percent=75`` warns at three quarters of the promise; ``percent=100`` acts at the
    breach; ``offset=timedelta(hours=2)`` two business hours after it, a negative offset
    before it. ``metric=None`` applies the step to every clock.
    """

    key: str
    action: EscalationAction
    percent: int = 100
    offset: timedelta = timedelta(0)
    metric: SlaMetric | None = None
    team: str | None = None
    """Team to reassign to, for ``reassign_team``."""

    def applies_to(self, metric: SlaMetric) -> bool:
        return self.metric is None or self.metric is metric

    def threshold(self, target: timedelta) -> timedelta:
        """Elapsed business time at which this step is due."""
        return max(timedelta(0), target * self.percent // 100 + self.offset)


def due_escalations(
    steps: Sequence[EscalationStep], reading: ClockReading, *, fired: Collection[str]
) -> list[EscalationStep]:
    """Steps due now on this clock that have not fired yet, earliest threshold first.

    ``fired`` holds the keys already fired *for this clock*; the caller records the returned
    keys in the same transaction as the actions, so each step fires at most once. A clock
    that has stopped (answered, resolved) escalates no further.
    """
    if not reading.is_running:
        return []
    due = [
        step
        for step in steps
        if step.applies_to(reading.metric)
        and step.key not in fired
        and reading.elapsed >= step.threshold(reading.target)
    ]
    return sorted(due, key=lambda step: step.threshold(reading.target))


def next_escalation_at(
    steps: Sequence[EscalationStep],
    clock: SlaClock,
    *,
    fired: Collection[str],
    now: datetime,
) -> datetime | None:
    """When the next unfired step falls due if nothing changes; lets a sweep skip the rest."""
    if clock.stopped_at is not None and clock.stopped_at <= now:
        return None
    instants = [
        instant_at_elapsed(clock, step.threshold(clock.target), now=now)
        for step in steps
        if step.applies_to(clock.metric) and step.key not in fired
    ]
    return min(instants, default=None)


# --------------------------------------------------------------------------------------
# Case numbers and e-mail threading
# --------------------------------------------------------------------------------------

CASE_NUMBER_PREFIX = "C-"
_CASE_NUMBER = re.compile(r"^\s*#?\s*C-(\d{6,})\s*$", re.IGNORECASE)
_SUBJECT_TAG = re.compile(r"\[\s*#\s*C-(\d{6,})\s*\]", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def format_case_number(sequence: int) -> str:
    """``C-`` and the sequence on at least six digits: ``C-000123``, ``C-1234567``."""
    if sequence < 1:
        raise InvalidCaseNumber("a case number starts at 1", sequence=sequence)
    return f"{CASE_NUMBER_PREFIX}{sequence:06d}"


def parse_case_number(text: str) -> int:
    """``"C-000123"`` (or ``"#C-000123"``, any case) to ``123``."""
    match = _CASE_NUMBER.match(text)
    if not match:
        raise InvalidCaseNumber(f"{text!r} is not a case number like C-000123", text=text)
    return int(match.group(1))


def subject_tag(sequence: int) -> str:
    return f"[#{format_case_number(sequence)}]"


def tag_subject(subject: str, sequence: int) -> str:
    """Put ``[#C-000123]`` in front of a subject, once; the customer's reply keeps it."""
    subject = " ".join(subject.split())
    if sequence in case_numbers_in_subject(subject):
        return subject
    return f"{subject_tag(sequence)} {subject}".rstrip()


def case_numbers_in_subject(subject: str) -> list[int]:
    """Every ``[#C-…]`` tag in a subject, in order of appearance."""
    return [int(number) for number in _SUBJECT_TAG.findall(subject or "")]


def case_number_from_subject(subject: str) -> int | None:
    """The first ``[#C-…]`` tag: forwarded chains append older tags after ours."""
    numbers = case_numbers_in_subject(subject)
    return numbers[0] if numbers else None


def message_ids(header_value: str | None) -> list[str]:
    """The ``<id@host>`` tokens of a Message-ID, In-Reply-To or References header."""
    return _MESSAGE_ID.findall(header_value or "")


def normalize_message_id(value: str | None) -> str | None:
    """The first ``<id@host>`` of a header, or the bare value in brackets; ``None`` if blank."""
    found = message_ids(value)
    if found:
        return found[0]
    bare = (value or "").strip().strip("<>").strip()
    return f"<{bare}>" if bare and " " not in bare else None


def thread_candidates(*, in_reply_to: str | None, references: str | None) -> tuple[str, ...]:
    """Message-IDs to look up, closest ancestor first: In-Reply-To, then References from
    the most recent. Duplicates removed."""
    ordered = [*message_ids(in_reply_to), *reversed(message_ids(references))]
    return tuple(dict.fromkeys(ordered))


class ThreadVia(StrEnum):
    HEADERS = "headers"
    SUBJECT = "subject"
    NEW = "new"


@dataclass(frozen=True)
class ThreadChoice:
    case_sequence: int | None
    via: ThreadVia


def choose_thread(
    *,
    candidates: Sequence[str],
    known: Mapping[str, int],
    subject_case: int | None,
) -> ThreadChoice:
    """Which case an inbound e-mail belongs to.

    ``known`` maps the candidate Message-IDs already stored to their case. Headers win over
    the subject tag (a customer may reuse an old e-mail to write about something new, but
    mail clients keep In-Reply-To honest). ``subject_case`` must be a case that exists and
    whose customer matches the sender: the caller checks that, since a tag is easy to forge.
    """
    for message_id in candidates:
        if message_id in known:
            return ThreadChoice(known[message_id], ThreadVia.HEADERS)
    if subject_case is not None:
        return ThreadChoice(subject_case, ThreadVia.SUBJECT)
    return ThreadChoice(None, ThreadVia.NEW)


# --------------------------------------------------------------------------------------
# Inbound e-mail: acknowledge, open a case, or neither
# --------------------------------------------------------------------------------------


class MailKind(StrEnum):
    HUMAN = "human"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"
    LOOP = "loop"


LOOP_MARKER_HEADER = "X-Egards-Case"
"""Set on every e-mail Égards sends; seeing it come back in means a loop."""

ACKNOWLEDGEMENT_HEADERS: Mapping[str, str] = {
    # RFC 3834: tells well-behaved responders not to answer our acknowledgement.
    "Auto-Submitted": "auto-replied",
    # Exchange and Outlook honour this one instead.
    "X-Auto-Response-Suppress": "All",
}
MAX_RECEIVED_HEADERS = 30
_DAEMON_SENDERS = frozenset({"mailer-daemon", "postmaster"})


@dataclass(frozen=True)
class InboundMailDecision:
    kind: MailKind
    acknowledge: bool
    create_case: bool
    """False for machine mail: it is kept with the raw message but opens no case."""
    reasons: tuple[str, ...] = field(default=())


# A message's headers: a mapping, a parsed message, or (name, value) pairs (repeats kept).
Headers = Mapping[str, str] | Message | Iterable[tuple[str, str]]


def classify_inbound_mail(
    headers: Headers,
    *,
    own_addresses: Collection[str] = (),
    acknowledgements_sent_recently: int = 0,
    acknowledgement_limit: int = 3,
) -> InboundMailDecision:
    """Decide from the headers whether an inbound e-mail gets an acknowledgement and a case.

    Machine mail never gets either, so two robots never talk to each other: loops (our own
    marker or address, too many hops), bounces and delivery reports (RFC 3464
    ``multipart/report``, ``MAILER-DAEMON``/``postmaster``, null return path,
    ``X-Failed-Recipients``), auto-replies (RFC 3834 ``Auto-Submitted`` other than ``no``,
    ``X-Autoreply``, ``X-Autorespond``, ``Precedence: auto_reply``, read receipts) and bulk
    or list mail (``Precedence: bulk/junk/list``, ``List-Id``, ``List-Unsubscribe``).
    A person's message opens a case; its acknowledgement is skipped once
    ``acknowledgement_limit`` were sent to that sender recently, a last guard against
    responders that set none of these headers.
    """
    found = _HeaderView(headers)
    own = {address.casefold() for address in own_addresses}
    checks = (
        (MailKind.LOOP, _loop_reasons(found, own)),
        (MailKind.BOUNCE, _bounce_reasons(found)),
        (MailKind.AUTO_REPLY, _auto_reply_reasons(found)),
        (MailKind.BULK, _bulk_reasons(found)),
    )
    for kind, reasons in checks:
        if reasons:
            return InboundMailDecision(kind, acknowledge=False, create_case=False, reasons=reasons)
    if acknowledgements_sent_recently >= acknowledgement_limit:
        return InboundMailDecision(
            MailKind.HUMAN,
            acknowledge=False,
            create_case=True,
            reasons=(f"{acknowledgements_sent_recently} acknowledgements sent to this sender",),
        )
    return InboundMailDecision(MailKind.HUMAN, acknowledge=True, create_case=True)


class _HeaderView:
    """Case-insensitive, multi-valued view of e-mail headers."""

    def __init__(self, headers: Headers) -> None:
        # (a Mapping's items are (name, value) pairs too; the checker cannot tell them apart)
        items = cast(
            "Iterable[tuple[str, str]]",
            headers.items() if isinstance(headers, (Mapping, Message)) else headers,
        )
        self._values: dict[str, list[str]] = {}
        for name, value in items:
            self._values.setdefault(name.strip().casefold(), []).append(str(value))

    def all(self, name: str) -> list[str]:
        return self._values.get(name.casefold(), [])

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0].strip() if values else None

    def token(self, name: str) -> str | None:
        """The value before any ``;`` parameter, lower-cased."""
        value = self.first(name)
        return value.split(";", 1)[0].strip().casefold() if value is not None else None

    def has(self, name: str) -> bool:
        return name.casefold() in self._values


def _loop_reasons(found: _HeaderView, own: set[str]) -> tuple[str, ...]:
    reasons = []
    if found.has(LOOP_MARKER_HEADER):
        reasons.append(f"{LOOP_MARKER_HEADER} present: Égards sent this message")
    sender = parseaddr(found.first("From") or "")[1].casefold()
    if sender and sender in own:
        reasons.append(f"sender {sender} is one of our own addresses")
    loop_addresses = {address.casefold() for _, address in getaddresses(found.all("X-Loop"))}
    if own & loop_addresses:
        reasons.append("X-Loop names one of our own addresses")
    if len(found.all("Received")) > MAX_RECEIVED_HEADERS:
        reasons.append(f"more than {MAX_RECEIVED_HEADERS} Received headers")
    return tuple(reasons)


def _bounce_reasons(found: _HeaderView) -> tuple[str, ...]:
    reasons = []
    content_type = (found.first("Content-Type") or "").casefold()
    if content_type.startswith("multipart/report") and "disposition-notification" not in (
        content_type
    ):
        reasons.append("multipart/report delivery status notification")
    sender_local = parseaddr(found.first("From") or "")[1].split("@")[0].casefold()
    if sender_local in _DAEMON_SENDERS:
        reasons.append(f"sent by {sender_local}")
    if found.has("Return-Path") and parseaddr(found.first("Return-Path") or "")[1] == "":
        reasons.append("null return path")
    if found.has("X-Failed-Recipients"):
        reasons.append("X-Failed-Recipients present")
    return tuple(reasons)


def _auto_reply_reasons(found: _HeaderView) -> tuple[str, ...]:
    reasons = []
    auto_submitted = found.token("Auto-Submitted")
    if auto_submitted is not None and auto_submitted != "no":
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse"):
        if found.has(name):
            reasons.append(f"{name} present")
    if found.token("Precedence") == "auto_reply":
        reasons.append("Precedence: auto_reply")
    content_type = (found.first("Content-Type") or "").casefold()
    if content_type.startswith("multipart/report") and "disposition-notification" in content_type:
        reasons.append("read receipt")
    return tuple(reasons)


def _bulk_reasons(found: _HeaderView) -> tuple[str, ...]:
    reasons = []
    precedence = found.token("Precedence")
    if precedence in {"bulk", "junk", "list"}:
        reasons.append(f"Precedence: {precedence}")
    for name in ("List-Id", "List-Unsubscribe"):
        if found.has(name):
            reasons.append(f"{name} present")
    return tuple(reasons)


# --------------------------------------------------------------------------------------
# IMAP polling
# --------------------------------------------------------------------------------------

IMAP_FIRST_RETRY = timedelta(minutes=2)
IMAP_LONGEST_WAIT = timedelta(hours=1)


def imap_retry_delay(failures: int) -> timedelta:
    """2, 4, 8 … minutes after each failure in a row, never more than an hour: a wrong
    password retried every pass would get the mailbox locked on most servers."""
    return min(IMAP_FIRST_RETRY * 2 ** max(failures - 1, 0), IMAP_LONGEST_WAIT)


def uids_to_fetch(
    uids: Iterable[int],
    *,
    last_uid: int,
    backlog_until: int,
    unseen_backlog: Collection[int] = (),
) -> list[int]:
    """The UIDs of a mailbox the poller still has to read, oldest first.

    Everything after ``last_uid`` is read whatever its flags: a message a colleague opened
    first in a shared mailbox is still a customer's message. Only the backlog found at the
    first contact with a mailbox (UIDs up to ``backlog_until``) is read as people left it:
    the unseen messages, not years of mail already dealt with by hand. UIDs only grow within
    one UIDVALIDITY (RFC 3501 2.3.1.1), so ``last_uid`` is all the memory this takes.
    """
    unseen = set(unseen_backlog)
    return sorted(
        uid for uid in set(uids) if uid > last_uid and (uid > backlog_until or uid in unseen)
    )
