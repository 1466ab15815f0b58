"""Demo cases: a realistic flow across channels and silos, some answered in time, some late,
some at risk, some breached. Content is deterministic from the seed; times are placed
relative to the moment the demo is built, so that the clocks mean something when it runs."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import func, select

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Actor, Role
from egards.cases import service
from egards.cases.domain import CaseStatus, Channel, Priority
from egards.cases.models import AgentProfile, Case
from egards.cases.service import CaseDetails, InboundIn
from egards.customers.models import Customer, CustomerOrganisation, Identity
from egards.db import Database, utcnow

SCENARIOS: dict[str, list[tuple[str, str, str, str, str]]] = {
    # category: (fr subject, fr body, en subject, en body, silo kind)
    "airline": [
        (
            "delay",
            "Vol retardé de cinq heures",
            "Mon vol a eu cinq heures de retard et personne ne nous a informés. J'aimerais"
            " savoir quelle indemnisation est prévue.",
            "Flight delayed by five hours",
            "My flight was five hours late and nobody told us anything. What compensation applies?",
        ),
        (
            "baggage",
            "Bagage toujours pas livré",
            "Ma valise n'est pas arrivée à destination il y a trois jours. Le numéro de dossier"
            " bagage ne donne aucune information.",
            "Bag still not delivered",
            "My suitcase did not arrive three days ago and the baggage reference shows nothing.",
        ),
        (
            "loyalty",
            "Miles du dernier vol non crédités",
            "Les miles de mon vol du mois dernier n'apparaissent pas sur mon compte.",
            "Miles of my last flight missing",
            "The miles of last month's flight are not on my account.",
        ),
        (
            "complaint",
            "Déclassement de mon statut Gold",
            "Après douze ans de fidélité je perds mon statut Gold pour quelques points. Est-ce"
            " vraiment ainsi que vous traitez vos clients fidèles ?",
            "Downgraded from Gold",
            "After twelve loyal years I lose Gold status for a handful of points. Is this how"
            " you treat loyal customers?",
        ),
    ],
    "telecom": [
        (
            "installation",
            "Technicien absent au rendez-vous",
            "J'ai posé une journée de congé pour l'installation de la fibre et personne n'est"
            " venu. Personne ne répond au téléphone.",
            "Installer did not show up",
            "I took a day off for the fibre installation and nobody came. Nobody answers.",
        ),
        (
            "quality",
            "Coupures internet tous les soirs",
            "La connexion coupe tous les soirs vers 20 h depuis deux semaines.",
            "Internet drops every evening",
            "The connection has dropped every evening around 8 pm for two weeks.",
        ),
        (
            "billing",
            "Facture prélevée deux fois",
            "Ma facture de novembre a été prélevée deux fois sur mon compte.",
            "Invoice charged twice",
            "My November invoice was charged twice.",
        ),
        (
            "cancellation",
            "Demande de résiliation",
            "Je souhaite résilier mon abonnement. Merci de me confirmer la date de fin.",
            "Cancelling my subscription",
            "I want to cancel my subscription. Please confirm the end date.",
        ),
    ],
}
CHANNELS = [
    (Channel.EMAIL, 35),
    (Channel.WEB_FORM, 15),
    (Channel.PHONE, 14),
    (Channel.SHOP, 7),
    (Channel.SOCIAL, 10),
    (Channel.PARTNER, 10),
    (Channel.LETTER, 9),
]
REPLIES = {
    "fr": "Bonjour,\n\nMerci pour votre message. Nous avons vérifié votre dossier : {fix}\n\n"
    "Bien cordialement,\nLe service client",
    "en": "Hello,\n\nThank you for your message. We checked your file: {fix}\n\nKind regards,\n"
    "Customer service",
}
FIXES = {
    "fr": "la correction est faite et vous recevrez une confirmation par e-mail.",
    "en": "the correction is made and you will receive a confirmation by e-mail.",
}


def populate(db: Database, *, seed: int, console: Console | None, summary: Any) -> None:
    rng = random.Random(seed * 7919 + 4)
    config = service.CasesConfig(
        sla=service._load(None, None)[0],
        ack=service._load(None, None)[1],
        mail_from="service-client@demo.egards.fr",
    )
    now = utcnow().replace(second=0, microsecond=0)
    with db.unit_of_work() as session:
        staff = _agent_profiles(session)
        people = _customers(session)
        installers = set(session.scalars(select(CustomerOrganisation.customer_id)).all())
        organisation = session.scalar(select(CustomerOrganisation.organisation_id).limit(1))
    if not people:
        return
    count = max(20, min(400, len(people) // 12))
    agent = Actor(
        label=staff[0][1] if staff else "demo agent",
        role=Role.AGENT,
        user_id=staff[0][0] if staff else None,
    )
    stats = {"answered": 0, "late": 0, "waiting": 0}
    for index in range(count):
        person = people[rng.randrange(len(people))]
        customer_id, language, kind, email, handle = person
        channel = _weighted(rng, CHANNELS)
        if channel is Channel.PARTNER and customer_id not in installers:
            channel = Channel.EMAIL
        if channel is Channel.SOCIAL and not handle:
            channel = Channel.WEB_FORM
        category, fr_subject, fr_body, en_subject, en_body = rng.choice(SCENARIOS[kind])
        subject, body = (fr_subject, fr_body) if language == "fr" else (en_subject, en_body)
        # Recent cases are more frequent: most of the flow is from the last few days.
        age = timedelta(minutes=int(rng.expovariate(1 / (60 * 30)))) + timedelta(minutes=10)
        age = min(age, timedelta(days=20))
        opened_at = now - age
        unknown = channel is Channel.EMAIL and rng.random() < 0.12
        sender, sender_kind, network = None, None, ""
        if channel in (Channel.EMAIL, Channel.WEB_FORM):
            sender = f"inconnu.{index}@example.net" if unknown else email
            sender_kind = "email"
        elif channel is Channel.SOCIAL and handle:  # (a customer without one wrote a form)
            sender, sender_kind, network = handle[1], "social", handle[0]
        priority = Priority.HIGH if category in ("complaint", "cancellation") else Priority.NORMAL
        with db.unit_of_work() as session:
            opened = service.open_case(
                session,
                actor=agent,
                details=CaseDetails(
                    channel=channel,
                    subject=subject,
                    category=category,
                    priority=priority,
                    language=language,
                    customer_id=None if sender_kind else customer_id,
                    organisation_id=organisation if channel is Channel.PARTNER else None,
                ),
                message=InboundIn(
                    body_text=body,
                    subject=subject,
                    from_name=None if not unknown else "Client inconnu",
                    from_address=sender,
                    address_kind=sender_kind,
                    network=network,
                    message_id=f"<demo.{seed}.{index}@{'social' if network else 'example.net'}>"
                    if sender_kind
                    else None,
                    received_at=opened_at,
                ),
                config=config,
                now=opened_at,
            )
            case = opened.case
            due = case.first_response_due_at
            roll = rng.random()
            if due is not None and roll < 0.55 and due - opened_at > timedelta(0):
                # Answered in time, at a random point before the promise.
                at = opened_at + (min(due, now) - opened_at) * rng.uniform(0.1, 0.9)
                _answer(session, agent, case, language, config, at, rng, now)
                stats["answered"] += 1
            elif due is not None and roll < 0.7 and due < now - timedelta(minutes=30):
                at = due + (now - due) * rng.uniform(0.1, 0.9)
                _answer(session, agent, case, language, config, at, rng, now)
                stats["late"] += 1
            else:
                stats["waiting"] += 1
    with db.unit_of_work() as session:
        for case in session.scalars(select(Case).where(Case.status != "closed")):
            service.refresh_sla(
                case, config, now=now, fired=service._fired_keys(session, [case.id])
            )
    report = service.sweep(db, config=config, now=now)
    with db.unit_of_work() as session:
        states = dict(
            session.execute(select(Case.sla_state, func.count()).group_by(Case.sla_state)).all()
        )
        waiting = session.scalar(
            select(func.count()).select_from(Case).where(Case.awaiting_since.is_not(None))
        )
    summary.features["cases"] = (
        f"{count} cases ({stats['answered']} answered in time, {stats['late']} late, "
        f"{waiting} awaiting an answer; {states.get('breached', 0)} breached, "
        f"{states.get('at_risk', 0)} at risk; {report.escalations} escalation steps)"
    )


def _answer(session, agent, case, language, config, at, rng, now) -> None:
    service.reply(
        session,
        actor=agent,
        case_id=case.id,
        body=REPLIES[language].format(fix=FIXES[language]),
        config=config,
        now=at,
    )
    if rng.random() < 0.6:
        resolved_at = at + (now - at) * rng.uniform(0.2, 0.8)
        service.change_status(
            session,
            actor=agent,
            case_id=case.id,
            target=CaseStatus.RESOLVED,
            reason=None,
            config=config,
            now=resolved_at,
        )


def _weighted(rng: random.Random, choices: list[tuple[Channel, int]]) -> Channel:
    total = sum(weight for _, weight in choices)
    pick = rng.uniform(0, total)
    for choice, weight in choices:
        pick -= weight
        if pick <= 0:
            return choice
    return choices[-1][0]


def _agent_profiles(session) -> list[tuple[int, str]]:
    """Rachel handles French, Oliver English; both support, the supervisor everything."""
    staff = []
    users = accounts.list_users(session, actor=SYSTEM)  # by id
    for user in (u for u in users if u.role in ("agent", "supervisor")):
        english = user.locale == "en"
        teams = (
            ["support", "shop", "billing", "quality", "installation", "cancellations"]
            if user.role == "agent"
            else ["supervisors", "support"]
        )
        session.add(
            AgentProfile(
                user_id=user.id,
                teams=teams,
                languages=["en"] if english else ["fr"],
                skills=[],
                accepting=True,
            )
        )
        if user.role == "agent":
            staff.append((user.id, user.display_name))
    return staff


def _customers(session) -> list[tuple[int, str, str, str, tuple[str, str] | None]]:
    rows = session.execute(
        select(Customer.id, Customer.preferred_language, Customer.external_id)
        .where(Customer.status == "active")
        .order_by(Customer.id)
    ).all()
    emails = dict(
        session.execute(
            select(Identity.customer_id, Identity.value).where(Identity.kind == "email")
        ).all()
    )
    handles = {
        customer_id: (network, value)
        for customer_id, network, value in session.execute(
            select(Identity.customer_id, Identity.network, Identity.value).where(
                Identity.kind == "social"
            )
        )
    }
    return [
        (
            customer_id,
            language if language in ("fr", "en") else "fr",
            "airline" if (external or "").startswith("AIR") else "telecom",
            emails.get(customer_id, f"client{customer_id}@example.fr"),
            handles.get(customer_id),
        )
        for customer_id, language, external in rows
    ]
