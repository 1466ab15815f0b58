"""The GDPR erasure as every feature receives it (the core, so that any feature, the audit
trail included, can take part without depending on the customer file that starts it)."""

from __future__ import annotations

from dataclasses import dataclass

ERASED = "[erased]"
"""What stands in an erased text that cannot be empty."""


@dataclass(frozen=True)
class Erasure:
    """Whom one erasure (GDPR art. 17) reaches, as each feature's
    ``erase_customer_data(session, erasure)`` receives it.

    ``customer_ids``: the customer and every file merged into it, directly or through another
    merged file (a merged file's cases, memberships and gestures stay on its own id).
    ``addresses``: every identity value they were known by (e-mail addresses, phone numbers,
    handles), casefolded, read before the identities are deleted, for what is kept by address
    rather than by customer: raw inbound mail, outgoing messages.
    """

    customer_ids: tuple[int, ...]
    addresses: frozenset[str] = frozenset()

    @property
    def emails(self) -> frozenset[str]:
        return frozenset(a for a in self.addresses if "@" in a)
