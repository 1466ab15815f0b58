"""The loyalty feature's part in a customer's data rights, found by
:func:`egards.features.hooks` on the ``service`` module: the export of their memberships, and
the erasure that makes them anonymous while the programme's books still balance."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, literal, select, update
from sqlalchemy.orm import Session

from egards.audit import service as audit
from egards.config import LOCALES
from egards.customers.domain import ERASED, Erasure
from egards.i18n import names, render_message
from egards.loyalty.models import Activity, Entry, Member, TierChange

from .reading import balances, members_of, tier_history


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """Memberships, balances, tier history and activities, for the customer's GDPR export."""
    result = []
    for member in members_of(session, customer_id=customer_id):
        result.append(
            {
                "programme": member.programme,
                "number": member.number,
                "tier": member.tier,
                "tier_since": member.tier_since.isoformat(),
                "balances": {b.currency: b.balance for b in balances(session, member=member)},
                "tier_history": [
                    {
                        "on": c.on.isoformat(),
                        "from": c.from_tier,
                        "to": c.to_tier,
                        "reason": {lang: render_message(lang, c.message) for lang in LOCALES},
                    }
                    for c in tier_history(session, member_id=member.id)
                ],
                "activities": [
                    {"key": a.key, "kind": a.kind, "on": a.on.isoformat(), "payload": a.payload}
                    for a in session.scalars(
                        select(Activity).where(Activity.member_id == member.id)
                    )
                ],
            }
        )
    return {"memberships": result}


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """The membership number identifies the person and goes; so do the free texts (memos,
    activity attributes, justifications of tier exceptions). The ledger stays, anonymous,
    entry for entry and point for point, so the programme's books still balance."""
    members = list(
        session.scalars(select(Member.id).where(Member.customer_id.in_(erasure.customer_ids)))
    )
    if not members:
        return
    session.execute(
        update(Member)
        .where(Member.id.in_(members))
        .values(number=literal("ERASED-") + cast(Member.id, String))
    )
    for activity in session.scalars(select(Activity).where(Activity.member_id.in_(members))):
        activity.member_number = ERASED
        activity.payload = {**activity.payload, "attributes": {}}
    session.execute(update(Entry).where(Entry.member_id.in_(members)).values(memo=""))
    # An operation's stored arguments carry its memo too; the replay must find the same "".
    for entry in session.scalars(
        select(Entry).where(Entry.member_id.in_(members), Entry.args.is_not(None))
    ):
        if entry.args is not None and entry.args.get("memo"):
            entry.args = {**entry.args, "memo": ""}
    session.execute(
        update(TierChange)
        .where(TierChange.member_id.in_(members), TierChange.justification.is_not(None))
        .values(justification=None, message=names({lang: ERASED for lang in LOCALES}))
    )
    audit.redact(session, entity_type="loyalty_member", entity_ids=members)
