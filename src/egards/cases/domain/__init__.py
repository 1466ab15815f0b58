"""Case rules: statuses, SLA policies and clocks, escalation, e-mail intake decisions.

Pure functions over plain values: no database, no web, no clock of its own (every rule that
depends on time takes ``now``). Business time comes from ``egards.cases.business_hours``.

The rules live in one module per subject: :mod:`.statuses`, :mod:`.policies`, :mod:`.priority`,
:mod:`.clocks`, :mod:`.escalation`, :mod:`.threading` and :mod:`.inbound_mail`; every name
callers use is importable from here.
"""

from __future__ import annotations

from egards.cases.domain.clocks import (
    ClockReading,
    Pause,
    SlaClock,
    instant_at_elapsed,
    pauses_from_history,
    read_clock,
)
from egards.cases.domain.escalation import (
    EscalationAction,
    EscalationStep,
    due_escalations,
    next_escalation_at,
)
from egards.cases.domain.inbound_mail import (
    ACKNOWLEDGEMENT_HEADERS,
    IMAP_FIRST_RETRY,
    IMAP_LONGEST_WAIT,
    LOOP_MARKER_HEADER,
    MAX_RECEIVED_HEADERS,
    Headers,
    InboundMailDecision,
    MailKind,
    classify_inbound_mail,
    imap_retry_delay,
    uids_to_fetch,
)
from egards.cases.domain.policies import (
    AtRiskRule,
    CaseFacts,
    PolicyConditions,
    SlaPolicy,
    SlaTarget,
    choose_policy,
)
from egards.cases.domain.priority import (
    CHURN_THREAT_CATEGORIES,
    SERVICE_LEVELS,
    ChurnBand,
    QueueEntry,
    Standing,
    ValueBand,
    churn_band,
    in_priority_order,
    is_public_exposure,
    priority_key,
    value_band,
)
from egards.cases.domain.statuses import (
    ALLOWED_TRANSITIONS,
    PAUSING_STATUSES,
    RESOLUTION_PAUSING_STATUSES,
    STOPPING_STATUSES,
    CaseStatus,
    Channel,
    InboundEffect,
    Priority,
    SlaMetric,
    SlaState,
    change_status,
    receive_inbound_message,
)
from egards.cases.domain.threading import (
    CASE_NUMBER_PREFIX,
    ThreadChoice,
    ThreadVia,
    case_number_from_subject,
    case_numbers_in_subject,
    choose_thread,
    format_case_number,
    message_ids,
    normalize_message_id,
    parse_case_number,
    subject_tag,
    tag_subject,
    thread_candidates,
)

# The status machine raises it; callers still name it through this package.
from egards.cases.errors import ClosureReasonRequired

__all__ = [
    "ACKNOWLEDGEMENT_HEADERS",
    "ALLOWED_TRANSITIONS",
    "CASE_NUMBER_PREFIX",
    "CHURN_THREAT_CATEGORIES",
    "IMAP_FIRST_RETRY",
    "IMAP_LONGEST_WAIT",
    "LOOP_MARKER_HEADER",
    "MAX_RECEIVED_HEADERS",
    "PAUSING_STATUSES",
    "RESOLUTION_PAUSING_STATUSES",
    "SERVICE_LEVELS",
    "STOPPING_STATUSES",
    "AtRiskRule",
    "CaseFacts",
    "CaseStatus",
    "Channel",
    "ChurnBand",
    "ClockReading",
    "ClosureReasonRequired",
    "EscalationAction",
    "EscalationStep",
    "Headers",
    "InboundEffect",
    "InboundMailDecision",
    "MailKind",
    "Pause",
    "PolicyConditions",
    "Priority",
    "QueueEntry",
    "SlaClock",
    "SlaMetric",
    "SlaPolicy",
    "SlaState",
    "SlaTarget",
    "Standing",
    "ThreadChoice",
    "ThreadVia",
    "ValueBand",
    "case_number_from_subject",
    "case_numbers_in_subject",
    "change_status",
    "choose_policy",
    "choose_thread",
    "churn_band",
    "classify_inbound_mail",
    "due_escalations",
    "format_case_number",
    "imap_retry_delay",
    "in_priority_order",
    "instant_at_elapsed",
    "is_public_exposure",
    "message_ids",
    "next_escalation_at",
    "normalize_message_id",
    "parse_case_number",
    "pauses_from_history",
    "priority_key",
    "read_clock",
    "receive_inbound_message",
    "subject_tag",
    "tag_subject",
    "thread_candidates",
    "uids_to_fetch",
    "value_band",
]
