"""The vocabulary of service recovery: gesture kinds, statuses, reasons, money written for
people."""

from __future__ import annotations

from typing import Literal, cast, get_args

GestureKind = Literal[
    "points",
    "voucher",
    "upgrade",
    "lounge_pass",
    "event_invitation",
    "letter",
    "credit",
    "status_exception",
]
KINDS: tuple[str, ...] = get_args(GestureKind)


def gesture_kind(value: str) -> GestureKind:
    """A kind read from a string column or a request, typed as the vocabulary says. Not a
    check: the catalogue's rules (``validate_option``) refuse a kind outside ``KINDS``, naming
    the field, and a stored gesture was checked so before it was saved."""
    return cast(GestureKind, value)


# Kinds granted by amount (points, or face value in cents); the others cost a fixed price.
AMOUNT_KINDS = frozenset({"points", "voucher", "credit"})
# Kinds that live on a loyalty membership: no tier, nothing to post or to keep.
MEMBERSHIP_KINDS = frozenset({"points", "status_exception", "upgrade", "lounge_pass"})

# Beyond these an amount is a typing or unit error (euros typed as cents, an extra zero).
MAX_POINTS = 10_000_000
MAX_CENTS = 1_000_000_00

Route = Literal["grant", "approval"]
REASONS = (
    "within_budget",
    "over_agent_budget",
    "over_team_budget",
    "status_exception",
    "approval_required",
)

PRIORITIES = ("low", "normal", "high", "urgent")
