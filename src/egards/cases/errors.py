"""Errors raised by the case rules, each with a stable ``code`` and its context fields.

They derive from ``egards.errors.DomainError`` so the edge maps them to problem details
like every other rule; nothing here knows about HTTP beyond the suggested ``status``.
"""

from __future__ import annotations

from typing import Any

from egards.errors import DomainError


class CaseError(DomainError):
    """Base of every error raised by the cases feature."""

    code = "case_error"
    status = 400
    title = "The case rules refuse this"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message, **context)


class InvalidTransition(CaseError):
    """A case cannot go from its status to the requested one."""

    code = "case_invalid_transition"
    status = 409
    title = "This status change is not allowed"


class ClosureReasonRequired(CaseError):
    """Closing a case that was never resolved needs a written justification."""

    code = "case_closure_reason_required"
    status = 422
    title = "A reason is required to close an unresolved case"


class CalendarError(CaseError):
    """A business-hours calendar is malformed or can never open."""

    code = "sla_calendar_invalid"
    status = 422
    title = "Invalid business-hours calendar"


class SlaConfigError(CaseError):
    """The SLA configuration file is unreadable or breaks a rule; ``problems`` lists them."""

    code = "sla_config_invalid"
    status = 422
    title = "Invalid SLA configuration"


class InvalidCaseNumber(CaseError):
    """A text does not hold a case number in the ``C-000123`` format."""

    code = "case_number_invalid"
    status = 422
    title = "Invalid case number"


class AcknowledgementTemplateError(CaseError):
    """An acknowledgement template is missing or does not compile."""

    code = "case_ack_template_invalid"
    status = 422
    title = "Invalid acknowledgement template"


class NoMatchingPolicy(CaseError):
    """No SLA policy matches a case and no catch-all policy is configured."""

    code = "sla_no_policy"
    status = 422
    title = "No SLA policy applies"


class TooManyRequests(CaseError):
    """A public intake (the web form) was used too often from one address."""

    code = "rate_limited"
    status = 429
    title = "Too many requests"
