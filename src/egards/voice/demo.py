"""Demo data of the voice of the customer: a year of CSAT surveys answered after resolved
cases, and seed 001's customer writing « je ne serai plus un client » on his late case, which
raises his churn risk at once."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from rich.console import Console

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Actor
from egards.analytics import service as analytics
from egards.cases import service as cases
from egards.config import Settings
from egards.db import Database, utcnow
from egards.errors import DomainError
from egards.voice import domain, service
from egards.voice.settings import VoiceSettings

COMMENTS = {
    "fr": {
        5: [
            "Réponse rapide et claire, merci beaucoup.",
            "Conseillère très aimable, problème réglé.",
        ],
        4: ["Bien, même si j'ai dû relancer une fois.", "Correct, merci."],
        3: ["Réglé, mais cela a pris trop de temps.", ""],
        2: ["On m'a fait répéter trois fois la même chose.", "Toujours pas de remboursement."],
        1: ["Personne ne m'a vraiment écouté, je vais voir ailleurs.", "Aucune solution réelle."],
    },
    "en": {
        5: ["Quick and friendly, thank you!", "Sorted in one call, great service."],
        4: ["Good, though I had to chase once.", "Fine, thanks."],
        3: ["Fixed in the end but it took far too long.", ""],
        2: ["I had to explain everything three times.", "Still waiting for my refund."],
        1: ["Nobody listened. I'm switching to another airline.", "No real answer at all."],
    },
}
SEED_001_SUBJECTS = (
    "Déclassé de Gold après l'annulation de mon vol",
    "Downgraded from Gold after my flight was cancelled",
)


def _user(session, email: str) -> Actor | None:
    try:
        return accounts.actor_for(accounts.find_user(session, email=email))
    except DomainError:
        return None


def populate(db: Database, *, seed: int, console: Console | None, summary: Any) -> None:
    rng = random.Random(seed * 977 + 18)
    now = utcnow().replace(second=0, microsecond=0)
    with db.unit_of_work() as session:
        boss = _user(session, "supervisor@demo.egards.fr")
    if boss is None:
        summary.features["voice"] = "no demo supervisor: nothing to show"
        return
    answered = sent = 0
    with db.unit_of_work() as session:
        resolved = [
            c
            for status in ("resolved", "closed")
            for c in cases.list_cases(session, actor=boss, status=status, limit=1500)[0]
            if c.customer_id is not None
        ]
        resolved.sort(key=lambda c: (c.resolved_at or c.updated_at, c.id))
        for case in resolved:
            when = case.resolved_at or case.updated_at
            if when < now - timedelta(days=365):
                continue
            # Cases resolved by the other features' demos were surveyed then (the hook).
            invitation = service.send_case_survey(
                session, actor=boss, case_id=case.id, now=when + timedelta(hours=1)
            ).invitation or service.case_survey(session, actor=boss, case_id=case.id)
            if invitation is None or invitation.status != "sent":
                continue
            sent += 1
            if rng.random() > 0.62:
                continue
            rating = rng.choices((5, 4, 3, 2, 1), weights=(46, 30, 12, 7, 5))[0]
            language = invitation.language if invitation.language == "fr" else "en"
            comment = rng.choice(COMMENTS[language][rating])
            try:
                _answer(session, invitation, rating, comment, rng, now)
            except DomainError:  # consent withdrawn since, or the link expired
                continue
            answered += 1
    threat = _seed_001(db, now)
    nps = _nps_waves(db, rng, now)
    summary.features["voice"] = (
        f"{sent} satisfaction surveys sent after resolved cases, {answered} answered; {nps};"
        f" {threat}"
    )


NPS_WHY = {
    "fr": {
        "promoter": [
            "Toujours ponctuels et aimables.",
            "Le programme de fidélité en vaut la peine.",
        ],
        "passive": ["Correct, sans plus.", "Bien, mais les prix montent."],
        "detractor": ["Trop de retards cette année.", "Impossible de joindre le service client."],
    },
    "en": {
        "promoter": ["Always friendly and on time.", "The loyalty programme is worth it."],
        "passive": ["Fine, nothing special.", "Good, but prices keep rising."],
        "detractor": ["Too many delays this year.", "I can never reach customer service."],
    },
}


def _nps_waves(db: Database, rng: random.Random, now) -> str:
    """Two relationship NPS waves, six months apart, answered by about half the customers."""
    settings = VoiceSettings(nps_sample=120, nps_quiet_days=0)
    asked = answered = 0
    scores: list[int] = []
    for days_ago in (200, 20):
        sent_at = now - timedelta(days=days_ago)
        with db.unit_of_work() as session:
            asked += service.send_nps_wave(
                session, now=sent_at, settings=settings, force=True, seed=f"demo:{days_ago}"
            )
            for invitation in service.pending_surveys(
                session, customer_id=None, now=sent_at, survey="nps"
            ):
                if rng.random() > 0.55:
                    continue
                score = rng.choices(range(11), weights=(1, 1, 1, 2, 2, 4, 6, 10, 14, 14, 10))[0]
                language = invitation.language if invitation.language == "fr" else "en"
                why = rng.choice(NPS_WHY[language][domain.nps_band(score)])
                try:
                    service.answer_for_customer(
                        session,
                        customer_id=invitation.customer_id,
                        invitation_id=invitation.id,
                        rating=score,
                        answers={"why": why},
                        now=min(sent_at + timedelta(hours=rng.randint(1, 72)), now),
                    )
                except DomainError:
                    continue
                answered += 1
                scores.append(score)
    shown = domain.nps(scores)
    return f"{asked} customers asked for their NPS in two waves, {answered} answered (NPS {shown})"


def _answer(session, invitation, rating: int, comment: str, rng: random.Random, now) -> None:
    service.answer_for_customer(  # as from the customer's own space
        session,
        customer_id=invitation.customer_id,
        invitation_id=invitation.id,
        rating=rating,
        answers={"recommend": min(10, max(0, 2 * rating + rng.randint(-2, 1)))},
        comment=comment,
        now=min(invitation.sent_at + timedelta(hours=rng.randint(2, 60)), now),
    )


def _seed_001(db: Database, now) -> str:
    """Seed 001: the long-standing member's complaint; he now writes that he will leave."""
    with db.unit_of_work() as session:
        rachel = _user(session, "rachel@demo.egards.fr")
        if rachel is None:
            return "no seed 001 case"
        candidates = cases.list_cases(session, actor=SYSTEM, limit=5000)[0]
        case = next((c for c in candidates if c.subject in SEED_001_SUBJECTS), None)
        if case is None or case.customer_id is None:
            return "no seed 001 case"
        customer_id = case.customer_id
        before = _risk(session, rachel, customer_id)
        french = case.subject == SEED_001_SUBJECTS[0]
        text = (
            "Je vous le dis clairement : si mon statut Gold n'est pas rétabli, je ne serai plus"
            " un client Air France. Vingt ans de fidélité pour ça."
            if french
            else "Let me be clear: if my Gold status is not restored, I won't be a customer of"
            " yours any longer. Twenty years of loyalty for this."
        )
        cases.add_inbound(
            session,
            actor=rachel,
            case_id=case.id,
            message=cases.InboundIn(body_text=text, received_at=now - timedelta(hours=2)),
            config=cases.config_from_settings(Settings()),
            now=now - timedelta(hours=2),
        )
        after = _risk(session, rachel, customer_id)
    return (
        f"seed 001's customer {customer_id} wrote a churn threat on C-{case.id:06d}:"
        f" churn risk {shown(before)} → {shown(after)}"
    )


def shown(risk: float | None) -> str:
    return "unscored" if risk is None else f"{100 * risk:.0f} %"


def _risk(session, actor: Actor, customer_id: int) -> float | None:
    try:
        return analytics.customer_score(session, actor=actor, customer_id=customer_id)["churn_risk"]
    except DomainError:
        return None
