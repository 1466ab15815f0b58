"""Use cases of service recovery: the catalogue, budgets, gestures, approvals, events, letters,
exceptions to the rules, the recommender's proposals and the return on gestures.

A gesture is one ``Grant`` whatever its kind. Within the agent's and the team's monthly budget
it is fulfilled at once (the seeds' "trust"); above either, or when the gesture needs it (a
status exception), it waits for a supervisor whose decision has its own promise. Budgets are
consumed by a conditional ``UPDATE ... WHERE spent + cost <= limit``, so concurrent grants
against the last euros of a budget succeed exactly as far as it allows, on both databases.

The use cases live in the modules of this package, ordered so that each imports only those
before it: ``_common`` (statuses, settings, the audit-and-timeline record), ``customer_signals``
(what the recommender and the letters read of a customer), ``gesture_catalogue``, ``budgets``,
``vouchers_and_events``, ``correspondence`` (letters and signatures), ``recommender``,
``fulfilment`` (carrying a gesture out and telling the customer), ``grants``,
``approval_requests``, ``rule_exceptions``, ``return_on_gestures`` and ``customer_file`` (the
360 view and the GDPR hooks). This module re-exports their public names, so callers keep
writing ``from egards.recovery import service; service.grant(...)``.
"""

from __future__ import annotations

from ._common import GRANTED, PENDING, REASON_CODES, REJECTED, TIER_ACTIONS
from .approval_requests import approval_of, approvals, decide, remind_overdue
from .budgets import consumption, month_now, my_budgets, set_budget
from .correspondence import (
    draft_letter,
    letter_pdf,
    letter_templates,
    letters_to_post,
    mark_posted,
    save_letter_template,
    save_signature,
    signature_of,
)
from .customer_file import (
    customer_fulfilment,
    customer_gestures,
    erase_customer_data,
    export_section,
)
from .customer_signals import signals
from .fulfilment import NOTICE
from .gesture_catalogue import (
    EDITABLE,
    catalogue,
    check_gesture_type,
    get_gesture_type,
    option_of,
    save_gesture_type,
)
from .grants import get_grant, grant, list_grants
from .recommender import get_recommendation, recommend, recommendation_stats
from .return_on_gestures import returns
from .rule_exceptions import (
    case_exceptions,
    decide_exception,
    exception_report,
    exceptions,
    propose_exception,
    record_exception_outcome,
)
from .vouchers_and_events import (
    INVITATION_MOVES,
    create_event,
    events,
    invitations,
    redeem_voucher,
    update_invitation,
)

__all__ = [
    "EDITABLE",
    "GRANTED",
    "INVITATION_MOVES",
    "NOTICE",
    "PENDING",
    "REASON_CODES",
    "REJECTED",
    "TIER_ACTIONS",
    "approval_of",
    "approvals",
    "case_exceptions",
    "catalogue",
    "check_gesture_type",
    "consumption",
    "create_event",
    "customer_fulfilment",
    "customer_gestures",
    "decide",
    "decide_exception",
    "draft_letter",
    "erase_customer_data",
    "events",
    "exception_report",
    "exceptions",
    "export_section",
    "get_gesture_type",
    "get_grant",
    "get_recommendation",
    "grant",
    "invitations",
    "letter_pdf",
    "letter_templates",
    "letters_to_post",
    "list_grants",
    "mark_posted",
    "month_now",
    "my_budgets",
    "option_of",
    "propose_exception",
    "recommend",
    "recommendation_stats",
    "record_exception_outcome",
    "redeem_voucher",
    "remind_overdue",
    "returns",
    "save_gesture_type",
    "save_letter_template",
    "save_signature",
    "set_budget",
    "signals",
    "signature_of",
    "update_invitation",
]
