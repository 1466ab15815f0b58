"""Typed errors of the loyalty engine.

They subclass the shared :class:`egards.errors.DomainError`, so the edge maps them to RFC 9457
problem details like any other rule; ``code`` is stable and ``context`` names the values at
fault. No HTTP here beyond the suggested ``status`` the shared base already carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egards.errors import DomainError


class LoyaltyError(DomainError):
    """Base of every refusal by the loyalty rules."""

    code = "loyalty_error"
    status = 400
    title = "The loyalty rules refuse this"

    def __init__(self, message: str, *, field: str | None = None, **context: Any) -> None:
        super().__init__(message, field=field, **context)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a programme file: where (``tiers[2].threshold``) and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class ProgrammeError(LoyaltyError):
    """The programme file is invalid; ``problems`` lists every fault with its path."""

    code = "loyalty_programme_invalid"
    status = 422
    title = "Invalid loyalty programme"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(
            f"invalid programme ({count} problem{'s' if count != 1 else ''}):\n{lines}",
            problems=[{"path": p.path, "reason": p.reason} for p in self.problems],
        )


class InvalidActivity(LoyaltyError):
    """An activity that no rule can accept (negative or absurd amount, unknown kind, ...)."""

    code = "loyalty_invalid_activity"
    status = 422
    title = "Invalid activity"


class UnknownReference(LoyaltyError):
    """A tier, currency, account, entry or rule that the programme or ledger does not know."""

    code = "loyalty_unknown_reference"
    status = 404
    title = "Unknown loyalty reference"


class InsufficientBalance(LoyaltyError):
    """A debit larger than what the account has available; balances never go negative."""

    code = "loyalty_insufficient_balance"
    status = 409
    title = "Insufficient balance"

    plural: str | None = None
    count: int = 0

    def __init__(
        self, message: str | Mapping[str, Any], *, field: str | None = None, **context: Any
    ) -> None:
        """``message`` is a template, or a plural message (:func:`egards.messages.plural_message`)
        counting what is available: its form is then chosen by that count in each language (in
        French, 0 and 1 take the singular)."""
        if isinstance(message, str):
            super().__init__(message, field=field, **context)
            return
        count, values = int(message["n"]), dict(message.get("v") or {})
        super().__init__(
            message["t"] if count == 1 else message["p"], field=field, **values, **context
        )
        self.template, self.plural, self.count = message["t"], message["p"], count


class IdempotencyConflict(LoyaltyError):
    """An idempotency key reused with different content."""

    code = "loyalty_idempotency_conflict"
    status = 409
    title = "Idempotency key reused with different content"


class InvalidPosting(LoyaltyError):
    """A ledger write that breaks a bookkeeping rule (zero amount, mixed currencies, ...)."""

    code = "loyalty_invalid_posting"
    status = 422
    title = "Invalid ledger posting"


class EntryStateConflict(LoyaltyError):
    """Settling, voiding or reversing an entry that is not in a state that allows it."""

    code = "loyalty_entry_state_conflict"
    status = 409
    title = "The entry cannot change that way"


class RedemptionRefused(LoyaltyError):
    """A redemption below the minimum, above the maximum or not a permitted multiple."""

    code = "loyalty_redemption_refused"
    status = 422
    title = "Redemption refused"
