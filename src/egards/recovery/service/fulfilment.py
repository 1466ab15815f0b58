"""Carrying a gesture out, once it is granted or approved: points credited, a voucher or pass
issued, a seat taken at an event, a tier kept or restored, a letter written; then the notice
to the customer in their language, through the outbox (sent after commit).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM, Actor
from egards.customers import service as customers
from egards.db import rowcount
from egards.errors import Conflict
from egards.i18n import (
    N_,
    format_datetime,
    format_day,
    format_money,
    format_number,
    translate,
)
from egards.loyalty import service as loyalty
from egards.outbox import service as outbox
from egards.recovery.models import (
    Event,
    GestureType,
    Grant,
    Invitation,
    Letter,
    Voucher,
)

from ._common import GRANTED, _zone
from .correspondence import _write_letter


def _fulfil(
    session: Session,
    *,
    actor: Actor,
    grant: Grant,
    gesture: GestureType,
    now: datetime,
    sender: str,
) -> None:
    """Carry the gesture out (as ``actor``: the agent, or the approving supervisor)."""
    details = dict(grant.details)
    today = loyalty.today()
    kind = grant.kind
    if kind == "points":
        points = grant.amount
        assert points is not None  # a gesture of points is granted by amount
        member = loyalty.find_member(session, actor=actor, member_id=details["member_id"])
        currency = loyalty.get_programme(member.programme).spendable_currencies[0].code
        entry = loyalty.grant_points(
            session,
            actor=actor,
            member_id=member.id,
            key=f"recovery:{grant.id}",
            currency=currency,
            amount=points,
            reason=grant.reason_text,
        )
        details.update(entry_seq=entry.seq, currency=currency, programme=member.programme)
    elif kind in ("voucher", "upgrade", "lounge_pass"):
        code = _voucher_code()
        expires = today + timedelta(days=gesture.valid_days or 365)
        session.add(
            Voucher(
                code=code,
                grant_id=grant.id,
                customer_id=grant.customer_id,
                kind=kind,
                value_cents=grant.amount or 0,
                expires_on=expires,
            )
        )
        details.update(voucher_code=code, expires_on=expires.isoformat())
    elif kind == "event_invitation":
        taken = session.execute(
            update(Event)
            .where(Event.id == details["event_id"], Event.seats_taken < Event.capacity)
            .values(seats_taken=Event.seats_taken + 1)
        )
        if rowcount(taken) != 1:
            raise Conflict(N_("the event is full"), field="event_id")
        invitation = Invitation(
            event_id=details["event_id"],
            customer_id=grant.customer_id,
            grant_id=grant.id,
            status="invited",
            updated_at=now,
        )
        session.add(invitation)
        session.flush()
        details["invitation_id"] = invitation.id
    elif kind == "status_exception":
        loyalty.change_tier_by_exception(
            session,
            actor=actor,
            member_id=details["member_id"],
            tier=details["tier"],
            justification=grant.reason_text,
            new_period=True,
        )
    elif kind == "letter":
        details["letter_id"] = _write_letter(session, grant=grant, now=now)
    grant.details = details
    grant.status, grant.granted_at = GRANTED, now
    session.flush()
    _notify(session, grant=grant, gesture=gesture, sender=sender)


def _voucher_code() -> str:
    raw = secrets.token_hex(5).upper()
    return f"EG-{raw[:5]}-{raw[5:]}"


# The customer's notice of a gesture, in English; French in translations/fr.po.
NOTICE = {
    "subject": N_("A gesture from us"),
    "hello": N_("Dear {name},"),
    "points": N_("We have credited {amount} {currency} to your loyalty account."),
    "voucher": N_("Here is your code: {code}, valid until {expires}."),
    "event_invitation": N_("We would be delighted to welcome you: {event}, {place}, on {when}."),
    "status_exception": N_("Your {tier} status is kept for a new qualification period."),
    "credit": N_("A credit of {money} has been added to your account."),
    "letter": N_("Please find attached a letter from your adviser."),
    "sign": N_("With our best regards,\n{agent}"),
}


def _notify(session: Session, *, grant: Grant, gesture: GestureType, sender: str) -> None:
    """Tell the customer, in their language, through the outbox (sent after commit)."""
    to = customers.primary_email(session, grant.customer_id)
    letter = session.get(Letter, grant.details["letter_id"]) if grant.kind == "letter" else None
    if to is None or (letter is not None and letter.delivery == "post"):
        return
    lang = grant.language
    words = {key: translate(lang, text) for key, text in NOTICE.items()}
    customer = customers.get_customer(session, actor=SYSTEM, customer_id=grant.customer_id)
    d = grant.details
    lines = [words["hello"].format(name=f"{customer.first_name} {customer.last_name}".strip())]
    lines.append(gesture.text_fr if grant.language == "fr" else gesture.text_en)
    if grant.kind == "points":
        unit = d["currency"]
        if d.get("programme"):
            unit = loyalty.get_programme(d["programme"]).currency(unit).name.get(lang)
        amount = format_number(grant.amount, lang)
        lines.append(words["points"].format(amount=amount, currency=unit))
    elif grant.kind in ("voucher", "upgrade", "lounge_pass"):
        expires = format_day(date.fromisoformat(str(d["expires_on"])), lang)
        lines.append(words["voucher"].format(code=d["voucher_code"], expires=expires))
    elif grant.kind == "event_invitation":
        event = session.get_one(Event, d["event_id"])
        lines.append(
            words["event_invitation"].format(
                event=event.name,
                place=event.place,
                when=format_datetime(event.starts_at, lang, _zone(), with_zone=True),
            )
        )
    elif grant.kind == "status_exception":
        tier = loyalty.get_programme(d["programme"]).tier(d["tier"]).name.get(grant.language)
        lines.append(words["status_exception"].format(tier=tier))
    elif grant.kind == "credit":
        lines.append(words["credit"].format(money=format_money(grant.amount or 0, lang)))
    elif grant.kind == "letter":
        lines.append(words["letter"])
    lines.append(words["sign"].format(agent=grant.agent_label))
    attachments = ()
    if letter is not None:
        attachments = ((f"letter-{letter.id}.pdf", "application/pdf", letter.pdf),)
    outbox.enqueue_email(
        session,
        key=f"recovery-grant-{grant.id}",
        sender=sender,
        to=to,
        subject=letter.subject if letter is not None else words["subject"],
        body="\n\n".join(line for line in lines if line),
        ref_type="recovery_grant",
        ref_id=grant.id,
        attachments=attachments,
    )
