"""Demo service recovery: gestures offered on the demo's late cases as the recommender
proposed them (some within budget, some sent for approval and decided), a customer who lost
Gold as in seed 001, events, letters, exceptions to the rules, and a history of gestures and of
similar cases without one, months back, so that the return on gestures has something to show."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import or_, select

from egards.accounts import service as accounts
from egards.accounts.domain import Actor, Role
from egards.cases import service as cases
from egards.cases.domain import CaseStatus, Channel, Priority
from egards.cases.models import Case
from egards.cases.service import CaseDetails, InboundIn
from egards.config import Settings
from egards.customers import service as customers
from egards.customers.models import Customer
from egards.db import Database, utcnow
from egards.errors import DomainError, NotFound
from egards.loyalty.models import Member, TierChange
from egards.recovery import service
from egards.recovery.schemas import GrantCreate


def _sender() -> str:
    """The address the demo's notices come from: the command line's settings."""
    return Settings().mail_from


HISTORY = [  # (category, fr subject, en subject)
    ("delay", "Retard et correspondance manquée", "Delay and missed connection"),
    ("baggage", "Bagage endommagé", "Damaged bag"),
    ("billing", "Facture erronée", "Wrong bill"),
    ("complaint", "Accueil désagréable au comptoir", "Unpleasant welcome at the desk"),
]


def _actor(session, email: str) -> Actor | None:
    try:
        user = accounts.find_user(session, email=email)
    except NotFound:
        return None
    return Actor(label=user.display_name, role=Role(user.role), user_id=user.id)


def populate(db: Database, *, seed: int, console: Console | None, summary: Any) -> None:
    rng = random.Random(seed * 613 + 6)
    now = utcnow().replace(second=0, microsecond=0)
    with db.unit_of_work() as session:
        rachel = _actor(session, "rachel@demo.egards.fr")
        boss = _actor(session, "supervisor@demo.egards.fr")
        if rachel is None or boss is None:
            summary.features["recovery"] = "no demo agents: nothing to show"
            return
        other = _actor(session, "agent.en@demo.egards.fr") or rachel
        service.catalogue(session)
        service.letter_templates(session)
        events = [
            service.create_event(
                session,
                actor=boss,
                name=name,
                place=place,
                starts_at=now + timedelta(days=days),
                capacity=capacity,
            )
            for name, place, days, capacity in (
                ("Soirée des membres", "Hangar H3, Roissy", 24, 40),
                ("Visite de l'atelier de maintenance", "Orly Nord", 38, 12),
            )
        ]
    counts = {"granted": 0, "pending": 0, "approved": 0, "refused": 0, "history": 0}
    _history(db, rng, rachel, other, boss, now, counts)
    rachels = _rachels_customer(db, rachel, boss, now)
    with db.unit_of_work() as session:  # tight budgets this month, so some requests wait
        for agent in {rachel.user_id, other.user_id}:
            service.set_budget(
                session,
                actor=boss,
                scope="agent",
                owner=str(agent),
                month=service.month_now(now),
                limit_cents=4000,
            )
    with db.unit_of_work() as session:
        late = session.execute(
            select(Case.id, Case.customer_id)
            .where(
                Case.customer_id.is_not(None),
                Case.created_at > now - timedelta(days=30),
                or_(
                    Case.first_response_breached.is_(True),
                    Case.resolution_breached.is_(True),
                    Case.reply_overdue.is_(True),
                ),
            )
            .order_by(Case.id)
        ).all()
    for index, (case_id, customer_id) in enumerate(late[:24]):
        assert customer_id is not None  # the query keeps the cases of a customer
        agent = rachel if index % 3 else other
        with db.unit_of_work() as session:
            try:
                proposal = service.recommend(
                    session, actor=agent, customer_id=customer_id, case_id=case_id
                )
                choice = _pick(proposal.proposals, rng)
                if choice is None:
                    continue
                data = _request(session, agent, choice, customer_id, case_id, events, now)
                data["recommendation_id"] = proposal.id
                grant = service.grant(
                    session, actor=agent, data=GrantCreate(**data), sender=_sender(), now=now
                )
            except DomainError:
                continue  # e.g. a gesture the customer cannot receive: the agent picks another
            counts["granted" if grant.status == "granted" else "pending"] += 1
    with db.unit_of_work() as session:
        queue = service.approvals(session, actor=boss)
    for index, (approval, _) in enumerate(queue):
        if index == len(queue) - 1 and len(queue) > 2:
            break  # one request stays in the queue, with its promise running
        approve = index % 4 != 3
        with db.unit_of_work() as session:
            service.decide(
                session,
                actor=boss,
                approval_id=approval.id,
                approve=approve,
                reason="Client fidèle, geste justifié."
                if approve
                else "Un geste a déjà été fait ce mois-ci.",
                sender=_sender(),
                now=now,
            )
        counts["approved" if approve else "refused"] += 1
    summary.features["recovery"] = (
        f"{counts['granted']} gestures granted within budget, {counts['approved']} approved,"
        f" {counts['refused']} refused,"
        f" {counts['pending'] - counts['approved'] - counts['refused']} awaiting a supervisor;"
        f" {counts['history']} past gestures for the return report"
        + (f"; seed 001's customer: {rachels}" if rachels else "")
    )


def _pick(proposals: list[dict[str, Any]], rng: random.Random) -> dict[str, Any] | None:
    """Agents mostly follow the first proposal, sometimes the second."""
    if not proposals:
        return None
    return proposals[0] if rng.random() < 0.6 or len(proposals) == 1 else proposals[1]


def _request(
    session,
    agent: Actor,
    choice: dict[str, Any],
    customer_id: int,
    case_id: int | None,
    events,
    now,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customer_id": customer_id,
        "case_id": case_id,
        "gesture_code": choice["code"],
        "reason_code": "broken_promise",
        "reason_text": choice["reason"]["fr"],
        "key": f"demo:{customer_id}:{case_id}:{choice['code']}",
    }
    if choice["kind"] == "event_invitation":
        data["event_id"] = events[0].id
    if choice["kind"] == "status_exception":
        data["tier_action"] = "restore" if "restor" in choice["reason"]["en"] else "keep"
    if choice["kind"] == "letter":
        draft = service.draft_letter(
            session,
            actor=agent,
            customer_id=customer_id,
            case_id=case_id,
            template_code="apology-delay",
            now=now,
        )
        data["letter"] = {
            "template_code": draft["template_code"],
            "subject": draft["subject"],
            "body": draft["body"],
            "delivery": "email" if customers.primary_email(session, customer_id) else "post",
        }
    return data


def _rachels_customer(db: Database, rachel: Actor, boss: Actor, now) -> str | None:
    """Seed 001: a long-standing member downgraded from Gold writes in; the case is late. The
    recommender proposes to restore Gold; Rachel asks, the supervisor approves."""
    with db.unit_of_work() as session:
        row = session.execute(
            select(
                Member.customer_id,
                Customer.first_name,
                Customer.last_name,
                Customer.preferred_language,
            )
            .join(TierChange, TierChange.member_id == Member.id)
            .join(Customer, Customer.id == Member.customer_id)
            .where(
                TierChange.kind == "downgraded",
                TierChange.from_tier == "gold",
                TierChange.on >= now.date() - timedelta(days=300),
                Member.tier != "gold",
                Customer.status == "active",
            )
            .order_by(Member.enrolled_on, Member.id)
            .limit(1)
        ).first()
        if row is None:
            return None
        customer_id, first, last, language = row
        config = cases.config_from_settings(Settings())
        opened_at = now - timedelta(days=4)
        subject = (
            "Déclassé de Gold après l'annulation de mon vol"
            if language == "fr"
            else "Downgraded from Gold after my flight was cancelled"
        )
        opened = cases.open_case(
            session,
            actor=rachel,
            details=CaseDetails(
                channel=Channel.PHONE,
                subject=subject,
                category="complaint",
                priority=Priority.HIGH,
                language=language,
                customer_id=customer_id,
            ),
            message=InboundIn(
                body_text="Mon vol charter a été annulé, je n'ai pas pu faire le vol qui me"
                " manquait pour garder Gold. Après tant d'années, on me répond que ce n'est pas"
                " dans le process.",
                subject=subject,
                received_at=opened_at,
            ),
            config=config,
            now=opened_at,
            acknowledge=False,
        )
        case_id = opened.case.id
        cases.refresh_sla(opened.case, config, now=now, fired={})
    with db.unit_of_work() as session:
        proposal = service.recommend(
            session, actor=rachel, customer_id=customer_id, case_id=case_id
        )
        top = next((p for p in proposal.proposals if p["kind"] == "status_exception"), None)
        if top is None:
            return f"{first} {last} (no status exception proposed)"
        grant = service.grant(
            session,
            actor=rachel,
            data=GrantCreate(
                customer_id=customer_id,
                case_id=case_id,
                gesture_code=top["code"],
                tier_action="restore",
                reason_code="downgrade",
                reason_text=top["reason"]["fr"],
                recommendation_id=proposal.id,
                key=f"demo:seed001:{case_id}",
            ),
            sender=_sender(),
            now=now,
        )
        service.propose_exception(
            session,
            actor=rachel,
            case_id=case_id,
            rule="tier requalification",
            why="Le vol qui manquait a été annulé par nous : le client n'a pas pu se qualifier.",
            remedy="Rétablir Gold pour une période et écrire au client.",
        )
    with db.unit_of_work() as session:
        approval = service.approval_of(session, grant.id)
        assert approval is not None  # this gesture is beyond the agent's authority
        service.decide(
            session,
            actor=boss,
            approval_id=approval.id,
            approve=True,
            reason="Annulation de notre fait : Gold rétabli.",
            sender=_sender(),
            now=now,
        )
        exception = service.exceptions(session, actor=boss, status="proposed")[0]
        service.decide_exception(
            session,
            actor=boss,
            exception_id=exception.id,
            approve=True,
            reason="Cas prévu désormais : vols annulés comptés pour la requalification.",
        )
    return f"{first} {last}, Gold restored"


def _history(db: Database, rng, rachel: Actor, other: Actor, boss: Actor, now, counts) -> None:
    """Cases of the past year, with a gesture for about four in ten of them."""
    with db.unit_of_work() as session:
        people = session.execute(
            select(Customer.id, Customer.preferred_language)
            .where(Customer.status == "active")
            .order_by(Customer.id)
        ).all()
    if not people:
        return
    config = None
    for index in range(min(160, len(people) // 4)):
        customer_id, language = people[rng.randrange(len(people))]
        category, fr, en = rng.choice(HISTORY)
        opened_at = now - timedelta(days=rng.randint(100, 330), hours=rng.randint(0, 9))
        agent = rachel if index % 2 else other
        with db.unit_of_work() as session:
            config = config or cases.config_from_settings(Settings())
            subject = fr if language == "fr" else en
            case = cases.open_case(
                session,
                actor=agent,
                details=CaseDetails(
                    channel=Channel.EMAIL,
                    subject=subject,
                    category=category,
                    language=language,
                    customer_id=customer_id,
                ),
                message=InboundIn(body_text=subject, subject=subject, received_at=opened_at),
                config=config,
                now=opened_at,
                acknowledge=False,
            ).case
            cases.change_status(  # settled on the phone: ending the thread is supervised
                session,
                actor=boss,
                case_id=case.id,
                target=CaseStatus.RESOLVED,
                reason="Résolu",
                config=config,
                now=opened_at + timedelta(days=2),
            )
            if rng.random() < 0.6:
                cases.record_satisfaction(  # imported from the survey tool of the time
                    session,
                    actor=boss,
                    case_id=case.id,
                    score=rng.choice((2, 3, 4, 4, 5)),
                    now=opened_at + timedelta(days=3),
                )
            if rng.random() < 0.4:
                code = rng.choice(("voucher-30", "credit", "voucher-30"))
                try:
                    service.grant(
                        session,
                        actor=agent,
                        data=GrantCreate(
                            customer_id=customer_id,
                            case_id=case.id,
                            gesture_code=code,
                            reason_code="service_failure",
                            reason_text="Geste commercial après incident",
                            key=f"demo:history:{case.id}",
                        ),
                        sender=_sender(),
                        now=opened_at + timedelta(days=1),
                    )
                    counts["history"] += 1
                except DomainError:
                    pass
    with db.unit_of_work() as session:  # past requests above budget were decided at the time
        for approval, grant in service.approvals(session, actor=boss):
            if grant.created_at < now - timedelta(days=60):
                service.decide(
                    session,
                    actor=boss,
                    approval_id=approval.id,
                    approve=True,
                    reason="Accordé",
                    sender=_sender(),
                    now=grant.created_at + timedelta(hours=2),
                )
