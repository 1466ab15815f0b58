"""Demo social CRM (seed 004): profiles for part of the demo customers with their audience
over the year, mentions, the loud non-customer with 50,000 followers, the silent Gold
customer who never posts, and a few undecided links waiting in the review queue."""

from __future__ import annotations

import random
import unicodedata
from datetime import timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import select, text

from egards.accounts.domain import SYSTEM, Actor, Role
from egards.cases import service as cases
from egards.cases.domain import Channel
from egards.cases.schemas import SocialMentionCreate
from egards.cases.service import CaseDetails, InboundIn
from egards.config import Settings
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.db import Database, utcnow
from egards.errors import DomainError
from egards.loyalty import service as loyalty
from egards.social import service
from egards.social.domain import LinkMethod
from egards.social.linking import comparison_evidence
from egards.social.models import SocialProfile

SILENT_GOLD_EMAIL = "claire.fidele@demo.egards.fr"
LOUD_HANDLE = "leo_buzz"
NAMESAKE_HANDLE = "hq_voyages"
ARRIVAL = {"link": "linked", "review": "sent to review", "nothing": "left unlinked"}
NETWORKS = ("x", "instagram", "linkedin", "facebook")
POSTS = (
    "Encore un retard, merci pour rien",
    "Super accueil au comptoir aujourd'hui !",
    "Quelqu'un sait comment utiliser ses miles ?",
    "Service client injoignable depuis trois jours",
    "Great crew on my flight this morning",
)
DEMO = Actor(label="demo", role=Role.ADMIN)


def populate(db: Database, *, seed: int, console: Console | None, summary: Any) -> None:
    rng = random.Random(seed * 877 + 19)
    now = utcnow().replace(second=0, microsecond=0)
    with db.unit_of_work() as session:
        if session.scalar(select(SocialProfile.id).limit(1)) is not None:
            return
        ids = list(
            session.scalars(text("SELECT id FROM customers WHERE status = 'active' ORDER BY id"))
        )
    profiles = linked = 0
    with db.unit_of_work() as session:
        names = customers.names(session, ids[: max(len(ids) // 4, 1)]) if ids else {}
        for customer_id, name in names.items():
            plain = unicodedata.normalize("NFKD", name.casefold().replace(" ", "_"))
            handle = "".join(ch for ch in plain if ch.isascii() and (ch.isalnum() or ch == "_"))
            handle = f"{handle[:30]}{customer_id}"
            network = rng.choice(NETWORKS)
            start = now - timedelta(days=365)
            followers = int(rng.lognormvariate(5, 1.6))
            profile = None
            for month in range(0, 12, 3):
                profile = service.upsert_profile(
                    session,
                    network=network,
                    handle=handle,
                    now=start + timedelta(days=30 * month),
                    display_name=name,
                    followers=followers + month * rng.randint(0, 20),
                )
            assert profile is not None, "the loop above runs four times"
            profiles += 1
            for number in range(rng.randint(0, 4)):
                posted = start + timedelta(days=rng.randint(0, 360))
                service._record_mention(
                    session,
                    mention=SocialMentionCreate(
                        network=network,
                        handle=handle,
                        author_name=name,
                        text=rng.choice(POSTS),
                        external_id=f"demo-{customer_id}-{number}",
                        followers=profile.followers,
                        posted_at=posted,
                    ),
                    now=posted,
                    source="import",
                )
            if rng.random() < 0.7:
                try:
                    service._link(
                        session,
                        actor=DEMO,
                        profile=profile,
                        customer_id=customer_id,
                        method=LinkMethod.DECLARED_HANDLE,
                        evidence=[{"method": "declared_handle", "detail": "demo"}],
                        now=now,
                    )
                    linked += 1
                except DomainError:
                    continue
            elif len(names) > 3 and rng.random() < 0.6:
                service.propose_link(
                    session,
                    profile=profile,
                    customer_id=customer_id,
                    method=LinkMethod.PROBABILISTIC,
                    evidence=[
                        comparison_evidence("first_name", "same", 4),
                        comparison_evidence("tokens", "close", 1),
                    ],
                    score=round(rng.uniform(0.55, 0.9), 2),
                    now=now,
                )
    with db.unit_of_work() as session:
        _silent_gold(session, now)
        corroborated = _namesakes(session, now)
        loud = service.upsert_profile(
            session,
            network="x",
            handle=LOUD_HANDLE,
            now=now - timedelta(days=200),
            display_name="Léo Buzz",
            followers=41_000,
            verified=True,
            bio="Voyageur, testeur, influenceur",
        )
        service.upsert_profile(session, network="x", handle=LOUD_HANDLE, now=now, followers=50_000)
        for number, days in enumerate((150, 60, 5)):
            service._record_mention(
                session,
                mention=SocialMentionCreate(
                    network="x",
                    handle=LOUD_HANDLE,
                    author_name=loud.display_name,
                    text="Service client catastrophique, je préviens mes abonnés !",
                    external_id=f"demo-loud-{number}",
                    followers=50_000,
                    posted_at=now - timedelta(days=days),
                ),
                now=now - timedelta(days=days),
                source="import",
            )
    summary.features["social"] = (
        f"{profiles} social profiles ({linked} linked), a loud non-customer @{LOUD_HANDLE} "
        f"with 50,000 followers, a silent Gold customer ({SILENT_GOLD_EMAIL}); "
        f"@{NAMESAKE_HANDLE}, posting as one of two namesakes of whom one e-mailed three "
        f"hours before the post: {ARRIVAL[corroborated]}"
    )


def _namesakes(session, now) -> str:
    """Two Hélène Quenouille of Lyon; the second e-mails about her bill three hours before a
    profile of that name posts about it: the link is made on that contact (activity
    corroboration), where the names alone would leave it to a person. Returns what the
    arrival did ("link", "review" or "nothing")."""
    _first, second = (
        customers.create_customer(
            session,
            actor=DEMO,
            data=CustomerCreate(
                first_name="Hélène", last_name="Quenouille", city="Lyon", emails=[email]
            ),
        ).id
        for email in ("hq@example.fr", "hq2@example.org")
    )
    posted = now - timedelta(days=2)
    contacted = posted - timedelta(hours=3)
    cases.open_case(
        session,
        actor=SYSTEM,
        details=CaseDetails(channel=Channel.EMAIL, subject="Ma facture", customer_id=second),
        message=InboundIn(body_text="Ma facture de novembre est fausse.", received_at=contacted),
        config=cases.config_from_settings(Settings()),
        now=contacted,
        acknowledge=False,
    )
    profile, _ = service._record_mention(
        session,
        mention=SocialMentionCreate(
            network="instagram",
            handle=NAMESAKE_HANDLE,
            author_name="Hélène Quenouille",
            text="Toujours pas de réponse à mon e-mail sur ma facture.",
            external_id="demo-namesake-1",
            followers=300,
            location="Lyon",
            posted_at=posted,
        ),
        now=posted,
        source="import",
    )
    return service.link_on_arrival(session, profile=profile, now=now)


def _silent_gold(session, now) -> None:
    """Claire, Gold for years, never posts and never complains (seed 004)."""
    customer = customers.create_customer(
        session,
        actor=DEMO,
        data=CustomerCreate(
            first_name="Claire",
            last_name="Fidèle",
            emails=[SILENT_GOLD_EMAIL],
            city="Nantes",
            country="FR",
        ),
    )
    try:
        member = loyalty.enrol(
            session,
            actor=SYSTEM,
            customer_id=customer.id,
            programme_code="flying_blue",
            on=(now - timedelta(days=3000)).date(),
        )
        loyalty.change_tier_by_exception(
            session,
            actor=Actor(label="demo", role=Role.SUPERVISOR),
            member_id=member.id,
            tier="gold",
            justification="Gold for eight years: status carried over from the former card",
        )
    except DomainError:
        return
