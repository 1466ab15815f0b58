"""The case vocabulary (channels, priorities, statuses, SLA metrics) and the status machine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from egards.cases.errors import (
    ClosureReasonRequired,
    InvalidTransition,
)
from egards.errors import N_, Word

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


def status_word(status: CaseStatus | str) -> Word:
    """A case status as an error names it: the word of the case vocabulary (``cases/words.py``,
    context ``case``), "waiting on customer" / "en attente du client"."""
    code = str(getattr(status, "value", status))
    return Word(code, code.replace("_", " "), "case")


def change_status(
    current: CaseStatus, target: CaseStatus, *, reason: str | None = None
) -> CaseStatus:
    """Move a case to ``target`` if the status machine allows it.

    Closing a case that was never resolved is the only way out of the "no silence" view
    without an answer, so it needs a written reason.
    """
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(
            N_("a case cannot go from {current} to {target}"),
            current=status_word(current),
            target=status_word(target),
        )
    unresolved = current is not CaseStatus.RESOLVED
    if target is CaseStatus.CLOSED and unresolved and not (reason and reason.strip()):
        raise ClosureReasonRequired(
            N_("closing a {current} case needs a reason"), current=status_word(current)
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
