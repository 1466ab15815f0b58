"""Letters: the editable templates in French and English, a draft filled with the facts of the
case for the agent to edit, the PDF written when a letter gesture is fulfilled, the queue of
letters to post, and each agent's title and signature.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Actor, Permission
from egards.audit import service as audit
from egards.cases import service as cases
from egards.cases.domain import format_case_number
from egards.customers import service as customers
from egards.db import utcnow
from egards.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from egards.i18n import N_
from egards.loyalty import service as loyalty
from egards.recovery import letters
from egards.recovery.models import (
    Grant,
    Letter,
    LetterTemplateRow,
    Signature,
)

from ._common import _insert_once, _zone
from .customer_signals import _broken_promises, _main_member


def letter_templates(session: Session) -> list[LetterTemplateRow]:
    if not session.scalar(select(func.count()).select_from(LetterTemplateRow)):
        _insert_once(
            session,
            [
                LetterTemplateRow(
                    code=t.code, language=t.language, name=t.name, subject=t.subject, body=t.body
                )
                for t in letters.default_templates()
            ],
        )
    return list(
        session.scalars(
            select(LetterTemplateRow).order_by(LetterTemplateRow.code, LetterTemplateRow.language)
        )
    )


def _template(session: Session, code: str, language: str) -> letters.LetterTemplate:
    for row in letter_templates(session):
        if row.code == code and row.language == language:
            return letters.LetterTemplate(row.code, row.language, row.name, row.subject, row.body)
    raise NotFound(
        N_("no letter template {code!r} in {language!r}"),
        code=code,
        language=language,
        field="template_code",
    )


def save_letter_template(
    session: Session, *, actor: Actor, code: str, language: str, name: str, subject: str, body: str
) -> LetterTemplateRow:
    actor.require(Permission.RECOVERY_ADMIN)
    if language not in ("fr", "en"):
        raise InvalidInput(N_("must be fr or en"), field="language")
    letters.validate_template(subject, body)
    letter_templates(session)
    row = session.get(LetterTemplateRow, (code, language))
    before = None if row is None else {"subject": row.subject, "body": row.body}
    if row is None:
        row = LetterTemplateRow(code=code, language=language)
        session.add(row)
    row.name, row.subject, row.body = name, subject, body
    row.updated_at, row.updated_by = utcnow(), actor.label
    audit.record(
        session,
        actor=actor,
        action="recovery.letter_template",
        entity_type="letter_template",
        entity_id=f"{code}/{language}",
        before=before,
        after={"subject": subject, "body": body},
    )
    session.flush()
    return row


def _write_letter(session: Session, *, grant: Grant, now: datetime) -> int:
    spec = grant.details["letter"]
    signer = accounts.get_user(session, grant.agent_id) if grant.agent_id else None
    signature = session.get(Signature, grant.agent_id) if grant.agent_id else None
    facts = _facts(session, grant=grant, signer=signer, signature=signature, now=now)
    pdf = letters.render_pdf(subject=spec["subject"], body=spec["body"], facts=facts)
    letter = Letter(
        grant_id=grant.id,
        customer_id=grant.customer_id,
        case_id=grant.case_id,
        template_code=spec["template_code"],
        language=grant.language,
        subject=spec["subject"],
        body=spec["body"],
        signer_name=facts.agent_name,
        signer_title=facts.agent_title,
        pdf=pdf,
        delivery=spec["delivery"],
        status="queued",
        created_at=now,
    )
    session.add(letter)
    session.flush()
    return letter.id


def _facts(
    session: Session, *, grant: Grant, signer, signature, now: datetime
) -> letters.LetterFacts:
    customer = customers.get_customer(session, actor=SYSTEM, customer_id=grant.customer_id)
    case = cases.get_case(session, actor=SYSTEM, case_id=grant.case_id) if grant.case_id else None
    member, _ = _main_member(session, customer.id)
    tier_name = None
    if member is not None:
        tier = grant.details.get("tier") or member.tier
        tier_name = loyalty.get_programme(member.programme).tier(tier).name.get(grant.language)
    return letters.LetterFacts(
        customer_name=f"{customer.first_name} {customer.last_name}".strip(),
        language=grant.language,
        case_reference=format_case_number(case.id) if case else None,
        case_subject=case.subject if case else None,
        case_opened_on=case.created_at.date() if case else None,
        broken_promises=_broken_promises(case) if case else 0,
        tier_name=tier_name,
        agent_name=signer.display_name if signer else grant.agent_label,
        agent_title=signature.title if signature else "",
        written_on=now.astimezone(_zone()).date(),
        signature_png=signature.image if signature else None,
    )


def draft_letter(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    case_id: int | None,
    template_code: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """A template filled with the facts of the case, for the agent to edit before sending."""
    actor.require(Permission.RECOVERY_GRANT)
    customer = customers.get_customer(session, actor=actor, customer_id=customer_id)
    language = customer.preferred_language if customer.preferred_language in ("fr", "en") else "fr"
    probe = Grant(
        customer_id=customer.id,
        case_id=case_id,
        agent_id=actor.user_id,
        agent_label=actor.label,
        language=language,
        details={},
    )
    if case_id is not None:
        cases.get_case(session, actor=actor, case_id=case_id)
    signer = accounts.get_user(session, actor.user_id) if actor.user_id else None
    signature = session.get(Signature, actor.user_id) if actor.user_id else None
    facts = _facts(session, grant=probe, signer=signer, signature=signature, now=now or utcnow())
    subject, body = letters.draft(_template(session, template_code, language), facts)
    return {"template_code": template_code, "language": language, "subject": subject, "body": body}


def letter_pdf(session: Session, *, actor: Actor, letter_id: int) -> Letter:
    actor.require(Permission.RECOVERY_GRANT)
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFound(N_("letter {letter_id} not found"), letter_id=letter_id, field="letter_id")
    customers.check_visible(session, actor=actor, customer_id=letter.customer_id)
    return letter


def mark_posted(session: Session, *, actor: Actor, letter_id: int) -> Letter:
    """A letter queued for post has been printed and posted."""
    letter = letter_pdf(session, actor=actor, letter_id=letter_id)
    if letter.delivery != "post" or letter.status != "queued":
        raise Conflict(
            N_("only a letter waiting for the post can be marked posted"), field="letter_id"
        )
    letter.status = "posted"
    audit.record(
        session,
        actor=actor,
        action="recovery.letter_posted",
        entity_type="recovery_letter",
        entity_id=letter.id,
        customer_id=letter.customer_id,
    )
    return letter


def letters_to_post(session: Session, *, actor: Actor) -> list[Letter]:
    actor.require(Permission.RECOVERY_GRANT)
    return list(
        session.scalars(
            select(Letter)
            .where(Letter.delivery == "post", Letter.status == "queued")
            .order_by(Letter.id)
        )
    )


def save_signature(session: Session, *, actor: Actor, title: str, image: bytes | None) -> Signature:
    """The acting agent's title and signature image for their letters."""
    actor.require(Permission.RECOVERY_GRANT)
    if actor.user_id is None:
        raise PermissionDenied(N_("only a person signs letters"), field="user_id")
    if image is not None:
        letters.check_signature(image)
    row = session.get(Signature, actor.user_id) or Signature(user_id=actor.user_id)
    row.title, row.image, row.updated_at = title.strip()[:200], image, utcnow()
    session.add(row)
    session.flush()
    return row


def signature_of(session: Session, *, actor: Actor) -> Signature | None:
    """The acting agent's saved title and signature, if any."""
    actor.require(Permission.RECOVERY_GRANT)
    return session.get(Signature, actor.user_id) if actor.user_id else None
