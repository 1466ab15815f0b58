"""Social rules: handles, deterministic linking of a profile to a customer, audiences.

Pure functions over plain values. The service looks the evidence up in the customer file
(who holds this verified e-mail, this declared handle, this loyalty number) and this module
decides what to do with it: link when every piece of evidence points to one customer, ask a
person when they disagree or when the profile is already linked to someone else, do nothing
without evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from egards.errors import N_, InvalidInput
from egards.messages import message

NETWORKS = ("x", "instagram", "facebook", "linkedin", "tiktok", "other")
_HANDLE = re.compile(r"^@?([A-Za-z0-9_.\-]{1,100})$")
# Loyalty numbers and contract references quoted in a post: letters and digits, at least
# one digit, 6 to 20 characters ("FB12345678", "CT-2024-001234").
_QUOTED_NUMBER = re.compile(r"\b([A-Za-z]{0,4}[-\s]?\d[\dA-Za-z\-]{4,18})\b")
MAX_AUDIENCE = 10**10


class LinkMethod(StrEnum):
    VERIFIED_EMAIL = "verified_email"
    VERIFIED_PHONE = "verified_phone"
    DECLARED_HANDLE = "declared_handle"
    LOYALTY_NUMBER = "loyalty_number"
    CONTRACT_REFERENCE = "contract_reference"
    REPLY_FROM_KNOWN_ADDRESS = "reply_from_known_address"
    PROBABILISTIC = "probabilistic"
    REVIEW = "review"
    AGENT = "agent"


class LinkStatus(StrEnum):
    LINKED = "linked"
    PROPOSED = "proposed"
    REJECTED = "rejected"
    UNLINKED = "unlinked"


def normalise_handle(value: str) -> str:
    found = _HANDLE.match((value or "").strip())
    if not found:
        raise InvalidInput(N_("a handle is letters, digits, _ . or -"), field="handle")
    return found.group(1).lower()


def check_audience(value: object, *, field: str = "followers") -> int | None:
    """Followers as given by a network export: a whole number from 0, or nothing. Anything
    else (negative, a float, "12k", a boolean) is refused naming the field."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput(N_("followers must be a whole number, not true/false"), field=field)
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise InvalidInput(
                N_("followers must be a whole number, not {value}"), field=field, value=repr(value)
            )
        value = int(text)
    if not isinstance(value, int):
        raise InvalidInput(
            N_("followers must be a whole number, not {value}"), field=field, value=repr(value)
        )
    if value < 0 or value > MAX_AUDIENCE:
        raise InvalidInput(
            N_("followers must be between 0 and {maximum}"), field=field, maximum=MAX_AUDIENCE
        )
    return value


def quoted_numbers(text: str) -> list[str]:
    """Candidate loyalty numbers or contract references quoted in a message, in order."""
    found = []
    for match in _QUOTED_NUMBER.finditer(text or ""):
        token = re.sub(r"[\s\-]", "", match.group(1)).upper()
        if 6 <= len(token) <= 20 and any(c.isdigit() for c in token):
            found.append(token)
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Evidence:
    """One fact pointing a profile to a customer."""

    method: LinkMethod
    customer_id: int
    detail: str
    # The fact as a stored message, read in the reviewer's language (``detail`` is its English).
    message: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "method": str(self.method),
            "customer_id": self.customer_id,
            "detail": self.detail,
        }
        if self.message is not None:
            found["message"] = self.message
        return found


# Why a proposed link waits for a person, as stored messages; each has a stable code that the
# API gives beside the text (``reason_code``), for programs that must not parse words.
EVIDENCE_DISAGREES = N_("the evidence names different customers")
LINKED_ELSEWHERE = N_("the profile is already linked to customer {customer}")
CLOSE_CANDIDATE = N_("another customer ({customer}) is close")
REASON_CODES = {
    EVIDENCE_DISAGREES: "evidence_disagrees",
    LINKED_ELSEWHERE: "linked_to_another_customer",
    CLOSE_CANDIDATE: "close_candidate",
}
# Evidence of activity (``corroboration``): the candidate's contact before the profile's post,
# or none in the window; each with a stable code beside the words (``reason_code``).
CONTACT_BEFORE_POST = N_("contacted us by {channel} {hours} h before this post")
NO_CONTACT_BEFORE_POST = N_("no contact in the {window} h before this profile's posts")
EVIDENCE_CODES = {
    CONTACT_BEFORE_POST: "contact_before_post",
    NO_CONTACT_BEFORE_POST: "no_contact_before_post",
}
WRITTEN = "written"
"""The code of a reason a person wrote (a reviewer's, an agent undoing a link): shown as
written, in the writer's language."""


def reason_code(stored: Mapping[str, Any] | None, written: str | None) -> str | None:
    """The stable code of a link's reason: the rule's (``REASON_CODES``) for a stored
    message, ``written`` for words a person typed, ``None`` without a reason."""
    if stored and stored.get("t") in REASON_CODES:
        return REASON_CODES[stored["t"]]
    return WRITTEN if written else None


class Outcome(StrEnum):
    LINK = "link"
    REVIEW = "review"
    NOTHING = "nothing"
    ALREADY = "already"


@dataclass(frozen=True)
class LinkDecision:
    outcome: Outcome
    customer_id: int | None = None
    evidence: tuple[Evidence, ...] = ()
    reason: dict[str, Any] | None = None
    """Why a person must decide, as a stored message."""

    @property
    def method(self) -> LinkMethod:
        return self.evidence[0].method if self.evidence else LinkMethod.REVIEW


def decide_deterministic(
    evidence: Iterable[Evidence], *, linked_to: int | None = None
) -> LinkDecision:
    """What the deterministic evidence allows.

    - no evidence: nothing;
    - every piece names one customer, and the profile is unlinked: link;
    - the profile is already linked to that customer: nothing to do;
    - pieces name different customers, or the profile is linked to another customer (a handle
      that already belongs to someone else): a person reviews, never a silent move.
    """
    pieces: Sequence[Evidence] = tuple(evidence)
    if not pieces:
        return LinkDecision(Outcome.NOTHING)
    named = {piece.customer_id for piece in pieces}
    if len(named) > 1:
        return LinkDecision(
            Outcome.REVIEW,
            customer_id=pieces[0].customer_id,
            evidence=tuple(pieces),
            reason=message(EVIDENCE_DISAGREES),
        )
    (customer_id,) = named
    if linked_to is not None and linked_to != customer_id:
        return LinkDecision(
            Outcome.REVIEW,
            customer_id=customer_id,
            evidence=tuple(pieces),
            reason=message(LINKED_ELSEWHERE, customer=str(linked_to)),
        )
    if linked_to == customer_id:
        return LinkDecision(Outcome.ALREADY, customer_id=customer_id, evidence=tuple(pieces))
    return LinkDecision(Outcome.LINK, customer_id=customer_id, evidence=tuple(pieces))


def is_loud_tourist(*, followers: int, value_decile: int | None, min_followers: int) -> bool:
    """A large audience and little value (or not a customer at all)."""
    return followers >= min_followers and (value_decile or 0) <= 3


def is_silent_loyal(*, followers: int, value_decile: int | None, max_followers: int) -> bool:
    """Top value and little or no audience."""
    return (value_decile or 0) >= 8 and followers <= max_followers
