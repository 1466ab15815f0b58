"""Use cases of subscriptions: contracts and their status history, cancellation requests from
every channel (one use case whatever the channel: the same acknowledgement, reason capture,
promise and case in the cancellations queue), retention offers, outcomes, win-back, reports
and the GDPR hooks. Each takes a session and keyword arguments and only flushes.

The modules, each importing only those before it: ``_common``, ``contracts``, ``matching``,
``cancellation``, ``outcomes``, ``reports``, ``privacy``, ``churn``, ``inbound``. This package
re-exports their public names (``from egards.subscriptions import service;
service.request_cancellation``).
"""

from __future__ import annotations

from egards.subscriptions.schemas import SubscriptionCreate
from egards.subscriptions.service._common import (
    PROOF_TYPES,
    PUBLIC,
    SILO,
    WORKER,
    loyalty_facts,
    score_of,
    terms_of,
)
from egards.subscriptions.service.cancellation import (
    ProofIn,
    Registered,
    acknowledgement_pdf,
    get_request,
    list_requests,
    request_cancellation,
)
from egards.subscriptions.service.churn import contract_ends, observed_churn_risks
from egards.subscriptions.service.contracts import (
    create_subscription,
    customer_subscriptions,
    get_subscription,
    holder_of_reference,
    list_subscriptions,
    resume_due,
    status_history,
    suspend_subscription,
    update_subscription,
)
from egards.subscriptions.service.inbound import inbound_message_received
from egards.subscriptions.service.matching import (
    Match,
    Preview,
    offer_for_token,
    portal_token,
    preview,
)
from egards.subscriptions.service.outcomes import contact_winbacks, end_due, record_outcome
from egards.subscriptions.service.privacy import erase_customer_data, export_section
from egards.subscriptions.service.reports import report

__all__ = [
    "PROOF_TYPES",
    "PUBLIC",
    "SILO",
    "WORKER",
    "Match",
    "Preview",
    "ProofIn",
    "Registered",
    "SubscriptionCreate",
    "acknowledgement_pdf",
    "contact_winbacks",
    "contract_ends",
    "create_subscription",
    "customer_subscriptions",
    "end_due",
    "erase_customer_data",
    "export_section",
    "get_request",
    "get_subscription",
    "holder_of_reference",
    "inbound_message_received",
    "list_requests",
    "list_subscriptions",
    "loyalty_facts",
    "observed_churn_risks",
    "offer_for_token",
    "portal_token",
    "preview",
    "record_outcome",
    "report",
    "request_cancellation",
    "resume_due",
    "score_of",
    "status_history",
    "suspend_subscription",
    "terms_of",
    "update_subscription",
]
