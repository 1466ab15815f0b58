"""Recovery statuses as refusals name them ("this request was already approved" / "cette
demande a déjà été approuvée"): each code a word in its context (``msgctxt``), the code kept as
the problem's data (:class:`egards.errors.Word`)."""

from __future__ import annotations

from egards.errors import Word
from egards.i18n import C_

_DECISIONS: dict[str, str] = {
    "pending": C_("decision", "pending"),
    "proposed": C_("decision", "proposed"),
    "approved": C_("decision", "approved"),
    "rejected": C_("decision", "rejected"),
}
_INVITATIONS: dict[str, str] = {
    "invited": C_("invitation", "invited"),
    "accepted": C_("invitation", "accepted"),
    "declined": C_("invitation", "declined"),
    "attended": C_("invitation", "attended"),
    "absent": C_("invitation", "absent"),
}


def decision_status(status: str) -> Word:
    """An approval request's or a rule exception's status: "approved" / "approuvée"."""
    return Word(status, _DECISIONS.get(status, str(status)), "decision")


def invitation_status(status: str) -> Word:
    """An event invitation's status: "declined" / "déclinée"."""
    return Word(status, _INVITATIONS.get(status, str(status)), "invitation")
