"""What the recovery pages share: the router, the menu, labels and field names, the form helpers
(a write in a savepoint, a refusal shown on the page), money and numbers as typed."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from egards.accounts.domain import Permission
from egards.cases.domain import format_case_number
from egards.errors import InvalidInput
from egards.i18n import N_
from egards.recovery import domain, service
from egards.web.i18n import translate
from egards.web.templating import templates

router = APIRouter(include_in_schema=False)
NAV = [
    ("/recovery", "Recovery", str(Permission.RECOVERY_GRANT)),
    ("/recovery/approvals", "Approvals", str(Permission.RECOVERY_APPROVE)),
    ("/recovery/returns", "Returns on gestures", str(Permission.RECOVERY_APPROVE)),
]

# English labels of the stable codes (kinds, statuses, reasons); French in translations/fr.json.
LABELS = {
    "letter": "Personal letter",
    "points": "Bonus points",
    "voucher": "Voucher",
    "upgrade": "Upgrade",
    "lounge_pass": "Lounge pass",
    "event_invitation": "Event invitation",
    "credit": "Credit",
    "status_exception": "Status exception",
    "all": "All gestures",
    "granted": "granted",
    "pending": "awaiting approval",
    "rejected": "turned down",
    "approved": "approved",
    "proposed": "proposed",
    "invited": "invited",
    "accepted": "accepted",
    "declined": "declined",
    "attended": "attended",
    "absent": "absent",
    "queued": "queued",
    "posted": "posted",
    "email": "by e-mail",
    "post": "by post",
    "stayed": "stayed",
    "left": "left",
    "unknown": "not known yet",
    "keep": "keep the current tier",
    "restore": "restore the tier lost",
    "broken_promise": "Broken promise",
    "service_failure": "Service failure",
    "downgrade": "Downgrade",
    "repeated_incidents": "Repeated incidents",
    "loyalty_thanks": "Thanks for loyalty",
    "other": "Other",
    "within_budget": "within budget",
    "over_agent_budget": "over the agent's budget",
    "over_team_budget": "over the team's budget",
    "approval_required": "this gesture needs approval",
    "agent": "Agent",
    "team": "Team",
}
# The fields a refusal can name, as the forms call them.
FIELDS = {
    "amount": "Amount",
    "gesture_code": "Gesture",
    "reason_code": "Reason",
    "reason_text": "Why",
    "event_id": "Event",
    "tier_action": "Tier",
    "letter.template_code": "Template",
    "letter.subject": "Subject",
    "letter.body": "Letter",
    "letter.delivery": "Delivery",
    "customer_id": "Customer",
    "case_id": "Case",
    "recommendation_id": "Recommendation",
    "key": "This form",
    "rule": "Rule",
    "why": "Why",
    "remedy": "Remedy",
    "reason": "Reason",
    "approval_id": "Request",
    "exception_id": "Exception",
    "outcome": "Outcome",
    "limit_cents": "Monthly limit (€)",
    "owner": "Agent number or team name",
    "month": "Month",
    "scope": "For",
    "name": "Name",
    "place": "Place",
    "starts_at": "Date and time (Paris)",
    "capacity": "Seats",
    "description": "Description",
    "status": "Status",
    "invitation_id": "Invitation",
    "letter_id": "Letter",
    "title": "Title",
    "image": "Signature (PNG)",
    "user_id": "Signature (PNG)",
    "subject": "Subject",
    "body": "Letter",
    "language": "Language",
    "name_fr": "Name (French)",
    "name_en": "Name (English)",
    "cost_cents": "Cost (€)",
    "min_amount": "Minimum",
    "max_amount": "Maximum",
    "cost_per_thousand_cents": "Cost per 1,000 points (cents)",
    "cost_percent": "Cost as % of the value",
    "valid_days": "Valid for (days)",
    "kind": "Kind",
}
PARIS = ZoneInfo("Europe/Paris")


def recovery_label(code: str | None, locale: str) -> str:
    return translate(locale, LABELS.get(code or "", code or ""))


def recovery_field(field: str | None, locale: str) -> str:
    return translate(locale, FIELDS.get(field or "", field or ""))


def recovery_money(cents: int | float | None, locale: str) -> str:
    return domain.format_money(round(cents or 0), locale)


# Panels are rendered by the case and customer pages: their helpers must be global.
templates.env.globals["recovery_label"] = recovery_label
templates.env.globals["recovery_money"] = recovery_money
templates.env.globals["recovery_field"] = recovery_field
templates.env.globals["case_number"] = format_case_number


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "fr")


def _gesture_names(session: Session) -> dict[str, Any]:
    return {row.code: row for row in service.catalogue(session)}


def _int(value: Any, field: str) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(N_("must be a whole number"), field=field) from None


# Euros as a person types them: "12", "12,50", "1 234.5"; never a float on the way, so no
# "inf", no "1e3", and no third decimal quietly rounded away.
EUROS = re.compile(r"(\d{1,9})(?:[.,](\d{1,2}))?")


def _cents(value: Any, field: str) -> int | None:
    """Euros typed in a form as integer cents (``None`` when left empty): every money field
    of the console is read through here."""
    text = re.sub(r"\s", "", str(value or ""))  # spaces group thousands, in French too
    if not text:
        return None
    found = EUROS.fullmatch(text)
    if found is None:
        raise InvalidInput(
            N_("must be an amount in euros with at most two decimals, e.g. 12,50"), field=field
        )
    return int(Decimal(f"{found.group(1)}.{found.group(2) or 0}") * 100)
