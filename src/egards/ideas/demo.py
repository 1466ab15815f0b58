"""Demo data of the idea box: customers' ideas in French and English with votes, a few
answered (planned, in progress, done, declined with a reason), a duplicate merged."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from rich.console import Console

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM
from egards.customers import service as customers
from egards.db import Database, utcnow
from egards.errors import DomainError
from egards.ideas import service
from egards.loyalty import service as loyalty

COMMENTS = {
    "fr": ("Tout à fait d'accord, ce serait bien pratique.", "Oui, et dans l'application aussi."),
    "en": ("Agreed, this would save me time every week.", "Yes please, and in the app too."),
}
IDEAS = [
    (
        "fr",
        "travel",
        "Carte d'embarquement dans le portefeuille du téléphone",
        "Pouvoir ajouter la carte d'embarquement au portefeuille du téléphone, sans imprimer.",
    ),
    (
        "en",
        "travel",
        "Seat choice at booking for every fare",
        "Let every fare choose a seat when booking, even the lightest one, for a small fee.",
    ),
    (
        "fr",
        "loyalty",
        "Garder son statut après un congé parental",
        "Geler le statut pendant un congé parental au lieu de le perdre à la requalification.",
    ),
    (
        "en",
        "loyalty",
        "Miles that never expire for active members",
        "As long as I fly once a year my miles should stay; losing them feels unfair.",
    ),
    (
        "fr",
        "app",
        "Suivre ma demande en temps réel",
        "Voir où en est ma réclamation dans l'application, avec la date promise de réponse.",
    ),
    (
        "en",
        "fibre",
        "Text me the technician's arrival time",
        "A text 30 minutes before the technician arrives would save me a day off work.",
    ),
    (
        "fr",
        "service",
        "Rappel plutôt qu'attente au téléphone",
        "Proposer d'être rappelé au lieu d'attendre 40 minutes en musique.",
    ),
    (
        "en",
        "service",
        "Chat with a human after 8 pm",
        "The chatbot is fine but after 8 pm I need a person for real problems.",
    ),
]
TAGS = [  # the staff's tags, one list per idea above, in order
    ["mobile", "boarding"],
    ["booking", "seats"],
    ["status", "fairness"],
    ["miles", "expiry", "fairness"],
    ["mobile", "follow-up"],
    ["technician", "appointments"],
    ["phone", "waiting time"],
    ["chat", "opening hours"],
    ["mobile", "boarding"],
]
DUPLICATE = (
    "en",
    "travel",
    "Boarding pass in Apple Wallet",
    "Please put the boarding pass in the phone wallet so I do not have to print it.",
)
DECISIONS = [
    (
        "planned",
        "Prévu pour la version de printemps de l'application.",
        "Planned for the spring release of the app.",
        None,
    ),
    (
        "in_progress",
        "Nos équipes y travaillent avec les installateurs.",
        "Our teams are working on it with the installers.",
        None,
    ),
    (
        "done",
        "C'est fait : disponible depuis ce mois-ci.",
        "Done: available since this month.",
        None,
    ),
    (
        "declined",
        "Nous ne pouvons pas le proposer pour l'instant.",
        "We cannot offer this for now.",
        "The expiry rule is part of the programme's terms.",
    ),
]


def populate(db: Database, *, seed: int, console: Console | None, summary: Any) -> None:
    rng = random.Random(seed * 131 + 23)
    now = utcnow().replace(second=0, microsecond=0)
    with db.unit_of_work() as session:
        found, _ = customers.search_customers(session, actor=SYSTEM, limit=200)
        people = [c.id for c in found]
        try:
            boss = accounts.actor_for(
                accounts.find_user(session, email="supervisor@demo.egards.fr")
            )
        except DomainError:
            boss = None
    categories = service.categories()
    if len(people) < 10 or boss is None:
        summary.features["ideas"] = "no customers or supervisor: no ideas"
        return
    made: list[int] = []
    votes = 0
    with db.unit_of_work() as session:
        member_of = loyalty.programmes_of(session, people)
        taken: set[int] = set()
        for n, (language, wanted, title, body) in enumerate([*IDEAS, DUPLICATE]):
            # Each idea from a customer its category is open to (a traveller for travel);
            # a population too small to have one proposes under customer service.
            open_to = [p for p in people if categories[wanted].open_to(member_of.get(p, []))]
            proposer = next((p for p in open_to if p not in taken), None) or (
                open_to[0] if open_to else people[n]
            )
            category = wanted if open_to else "service"
            taken.add(proposer)
            when = now - timedelta(days=rng.randint(20, 200), hours=n)
            idea = service.propose(
                session,
                customer_id=proposer,
                title=title,
                body=body,
                category=category,
                language=language,
                now=when,
            )
            made.append(idea.id)
            others = [p for p in people[10:] if p != proposer]
            for voter in rng.sample(others, k=min(len(others), rng.randint(2, 40))):
                service.vote(
                    session, customer_id=voter, idea_id=idea.id, now=when + timedelta(days=1)
                )
                votes += 1
        for idea_id, (status, fr, en, reason) in zip(made[1:], DECISIONS, strict=False):
            idea = service.get_idea(session, actor=boss, idea_id=idea_id)
            service.set_status(
                session,
                actor=boss,
                idea_id=idea_id,
                status=status,
                answer=fr if idea.language == "fr" else en,
                reason=reason,
                now=now - timedelta(days=3),
            )
        comments = 0
        for idea_id, (language, *_rest) in zip(made[:4], IDEAS, strict=False):
            for k, voter in enumerate(people[10:12]):
                service.add_comment(
                    session,
                    customer_id=voter,
                    idea_id=idea_id,
                    body=COMMENTS[language][k],
                    now=now - timedelta(days=10 - k),
                )
                comments += 1
        for idea_id, tags in zip(made, TAGS, strict=False):
            service.set_tags(session, actor=boss, idea_id=idea_id, tags=tags, now=now)
        service.merge(session, actor=boss, idea_id=made[-1], into_id=made[0], now=now)
    summary.features["ideas"] = (
        f"{len(made)} ideas with {votes} votes and {comments} comments, {len(DECISIONS)}"
        " answered, tagged, one duplicate"
        " merged (its votes moved): the console's /ideas, the portal's /my/ideas"
    )
