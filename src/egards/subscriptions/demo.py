"""Demo data of subscriptions: every telecom customer has a contract (fibre or mobile), a few
airline customers a retail subscription, a history of cancellations from every channel with
reasons, offers and outcomes for the reports, and the story of seed 003 played out: a fibre
contract sold in a shop, the installer's report through its own credentials, remote support,
the quality service that sees the whole file, then a cancellation sent by post, scanned,
acknowledged with its end date, routed with its reason, met with a proportionate offer.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from rich.console import Console
from sqlalchemy import insert

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM
from egards.cases import service as cases
from egards.cases.domain import Channel
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.db import Database, utcnow
from egards.errors import DomainError
from egards.subscriptions import service
from egards.subscriptions.models import Subscription, SubscriptionStatusChange
from egards.subscriptions.schemas import CancellationCreate, SubscriptionCreate

TELECOM_OFFERS = [
    ("Fibre Essentiel", 2999, 30, "Box fibre"),
    ("Fibre Max", 4999, 30, "Box fibre and TV decoder"),
    ("Mobile 5G 100 Go", 1999, 10, None),
    ("Mobile 5G 250 Go", 2999, 10, None),
]
CHANNELS = ["web", "phone", "shop", "letter", "email", "portal"]
REASON_WEIGHTS = [
    ("price", 30),
    ("competitor_offer", 18),
    ("quality_of_service", 14),
    ("outage", 10),
    ("moving", 12),
    ("no_longer_needed", 8),
    ("customer_service", 5),
    ("other", 3),
]


def _scan(lines: list[str]) -> bytes:
    """A one-page PDF standing for the scanned letter."""
    out = BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)
    y = 780
    for line in lines:
        page.drawString(72, y, line.encode("cp1252", "replace").decode("cp1252"))
        y -= 18
    page.save()
    return out.getvalue()


def populate(db: Database, *, seed: int, console: Console | None, summary: Any) -> None:
    rng = random.Random(seed * 977 + 13)
    now = utcnow().replace(second=0, microsecond=0)
    total = getattr(summary, "customers", 0) or 0
    telecom = [f"TEL-{i + 1:07d}" for i in range(total) if i % 5 >= 3]
    airline = [f"AIR-{i + 1:07d}" for i in range(total) if i % 5 < 3 and rng.random() < 0.05]
    with db.unit_of_work() as session:
        ids = customers.ids_by_external_id(session, telecom + airline)
        rows, changes = [], []
        for external in telecom + airline:
            customer_id = ids.get(external)
            if customer_id is None:
                continue
            if external.startswith("TEL"):
                offer, price, notice, equipment = rng.choice(TELECOM_OFFERS)
                kind, lines = "telecom", [f"06{rng.randint(10_000_000, 99_999_999)}"]
                reference = f"FX{external[4:]}"
                sold = rng.choice(["shop", "shop", "web", "phone"])
            else:
                offer, price, notice, equipment = "Carte Avantage Jeune", 4900 // 12, 0, None
                kind, lines, reference, sold = "retail", [], f"CA{external[4:]}", "web"
            start = now.date() - timedelta(days=rng.randint(40, 2000))
            commitment = start + timedelta(days=365) if kind == "telecom" else None
            rows.append(
                {
                    "customer_id": customer_id,
                    "reference": reference,
                    "kind": kind,
                    "offer": offer,
                    "plan": None,
                    "line_numbers": lines,
                    "start_date": start,
                    "commitment_end": commitment,
                    "notice_days": notice,
                    "price_cents": price,
                    "early_fee_percent": 25,
                    "equipment": equipment,
                    "status": "active",
                    "resumes_on": None,
                    "sold_channel": sold,
                    "sold_silo": "shop" if sold == "shop" else "support",
                    "created_at": datetime.combine(start, datetime.min.time(), now.tzinfo),
                    "updated_at": now,
                }
            )
        # A few telecom customers paused their line (travelling, a stay abroad): suspended,
        # not billed, resuming within three months. Their own generator keeps the rest of
        # the demo as it was.
        paused = random.Random(seed * 31 + 7)
        for row in rows:
            if row["kind"] == "telecom" and paused.random() < 0.02:
                row["status"] = "suspended"
                row["resumes_on"] = now.date() + timedelta(days=paused.randint(10, 90))
        if rows:
            table = Subscription.__table__
            created = session.execute(insert(table).returning(table.c.id), rows).all()
            for (sub_id,), row in zip(created, rows, strict=True):
                changes.append(
                    {
                        "subscription_id": sub_id,
                        "at": row["created_at"],
                        "from_status": None,
                        "to_status": "active",
                        "actor_label": "demo",
                        "note": f"signed ({row['sold_channel']})",
                    }
                )
                if row["status"] == "suspended":
                    changes.append(
                        {
                            "subscription_id": sub_id,
                            "at": now - timedelta(days=5),
                            "from_status": "active",
                            "to_status": "suspended",
                            "actor_label": "demo",
                            "note": "travelling",
                        }
                    )
            session.execute(insert(SubscriptionStatusChange.__table__), changes)
    settings = _settings()
    history = _history(db, rng, rows, now, settings)
    story = _seed_003(db, now, settings)
    suspended = sum(row["status"] == "suspended" for row in rows)
    summary.features["subscriptions"] = (
        f"{len(rows):,} contracts ({suspended} suspended), {history} cancellation requests"
        + (f"; seed 003: {story}" if story else "")
    )


def _settings():
    from egards.config import get_settings

    return get_settings()


def _history(db: Database, rng: random.Random, rows: list[dict], now: datetime, settings) -> int:
    """Cancellations of the last months from every channel, some saved, for the reports."""
    telecom = [r for r in rows if r["kind"] == "telecom"]
    chosen = rng.sample(telecom, min(len(telecom), 60))
    reasons = [code for code, weight in REASON_WEIGHTS for _ in range(weight)]
    done = 0
    for row in chosen:
        received = now - timedelta(days=rng.randint(5, 170), minutes=rng.randint(0, 600))
        channel = rng.choice(CHANNELS)
        with db.unit_of_work() as session:
            customer = customers.get_customer(session, actor=SYSTEM, customer_id=row["customer_id"])
            emails = [i.value for i in customer.identities if i.kind == "email"]
            try:
                registered = service.request_cancellation(
                    session,
                    actor=SYSTEM,
                    data=CancellationCreate(
                        name=f"{customer.first_name} {customer.last_name}",
                        reference=row["reference"],
                        email=emails[0] if emails else None,
                        channel=channel,
                        reason=rng.choice(reasons),
                        language="en" if customer.preferred_language[:2] == "en" else "fr",
                        received_at=received,
                    ),
                    settings=settings,
                    now=received + timedelta(seconds=rng.randint(1, 4)),
                )
            except DomainError:
                continue
            request = registered.request
            roll = rng.random()
            offer = (request.offer or {}).get("kind")
            if roll < 0.35 and offer not in (None, "thanks"):
                outcome = "stayed_with_offer"
            elif roll < 0.45:
                outcome = "stayed_without"
            else:
                outcome = "cancelled"
            if outcome == "stayed_with_offer":
                # Recorded without a grant: the demo's budgets belong to recovery's story.
                assert request.offer is not None, "it was checked for an offer above"
                request.offer = {**request.offer, "gesture_kind": None}
            service.record_outcome(
                session,
                actor=SYSTEM,
                request_id=request.id,
                outcome=outcome,
                settings=settings,
                now=received + timedelta(days=1),
            )
            done += 1
    with db.unit_of_work() as session:
        service.end_due(session, today=now.date(), now=now)
    with db.unit_of_work() as session:
        service.contact_winbacks(session, settings=settings, today=now.date(), now=now)
    return done


def _seed_003(db: Database, now: datetime, settings) -> str | None:
    """Jean-Félix's fibre contract, from the shop to the cancellation by post."""
    with db.unit_of_work() as session:
        try:
            rachel = accounts.actor_for(accounts.find_user(session, email="rachel@demo.egards.fr"))
            installer_user = accounts.find_user(session, email="installer@demo.egards.fr")
        except DomainError:
            return None
        installer = accounts.actor_for(installer_user)
        assert installer_user.organisation_id is not None, "the demo's installer is a partner"
        customer = customers.create_customer(
            session,
            actor=SYSTEM,
            data=CustomerCreate(
                first_name="Jean-Félix",
                last_name="Biosse-Duplan",
                preferred_language="fr",
                address_line1="12 rue des Abonnés",
                postal_code="75011",
                city="Paris",
                country="FR",
                external_id="TEL-SEED-003",
                emails=["jean-felix.biosse-duplan@example.fr"],
                phones=["+33 6 45 67 89 01"],
            ),
        )
        customers.assign_organisation(
            session,
            actor=SYSTEM,
            customer_id=customer.id,
            organisation_id=installer_user.organisation_id,
            purpose="fibre installation",
        )
        start = now.date() - timedelta(days=420)
        service.create_subscription(
            session,
            actor=rachel,
            data=SubscriptionCreate(
                customer_id=customer.id,
                reference="FX-SEED-003",
                offer="Fibre Max",
                line_numbers=["01 43 55 20 03"],
                start_date=start,
                commitment_end=start + timedelta(days=365),
                notice_days=10,
                price_cents=4999,
                equipment="Box fibre and TV decoder",
                sold_channel="shop",
                sold_silo="shop",
            ),
            now=_at(start, 11),
        )
        customer_id = customer.id
    config = cases.config_from_settings(settings)
    with db.unit_of_work() as session:
        # The installer reports through its own credentials; support works remotely; the
        # quality service, reached last, sees the whole file.
        for actor, channel, subject, text, day in (
            (
                installer,
                Channel.PARTNER,
                "Installation report",
                "Fibre socket installed; the box syncs at 300 Mb/s. Customer present.",
                start + timedelta(days=9),
            ),
            (
                rachel,
                Channel.PHONE,
                "Connection drops every evening",
                "Remote support: line resynchronised, the drops continue.",
                start + timedelta(days=200),
            ),
            (
                rachel,
                Channel.PHONE,
                "Quality service call-back",
                "Quality service reviewed the whole file: installation, three support calls.",
                start + timedelta(days=230),
            ),
        ):
            cases.open_case(
                session,
                actor=actor,
                details=cases.CaseDetails(
                    channel=channel,
                    subject=subject,
                    category="installation" if actor is installer else "quality",
                    customer_id=customer_id,
                ),
                message=cases.InboundIn(body_text=text, received_at=_at(day, 10)),
                config=config,
                now=_at(day, 10),
                acknowledge=False,
                answered_on_the_spot=actor is not installer,
            )
    received = now - timedelta(hours=3)
    letter = [
        "Jean-Félix Biosse-Duplan, 12 rue des Abonnés, 75011 Paris",
        "Objet : résiliation du contrat FX-SEED-003 (ligne 01 43 55 20 03)",
        "Madame, Monsieur,",
        "Je vous demande de résilier mon abonnement Fibre Max.",
        "Les coupures du soir durent depuis des mois malgré vos appels.",
    ]
    with db.unit_of_work() as session:
        registered = service.request_cancellation(
            session,
            actor=rachel,
            data=CancellationCreate(
                name="Jean-Félix Biosse-Duplan",
                reference="FX-SEED-003",
                line_number="01 43 55 20 03",
                channel="letter",
                reason="quality_of_service",
                reason_text="Coupures du soir depuis des mois malgré l'assistance.",
                received_at=received,
            ),
            settings=settings,
            now=received + timedelta(minutes=2),
            scan=service.ProofIn("lettre-resiliation.pdf", "application/pdf", _scan(letter)),
        )
        request = registered.request
        return (
            f"letter {request.number} acknowledged, ends {request.end_date},"
            f" offer: {(request.offer or {}).get('kind')}"
        )


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time()).replace(hour=hour, tzinfo=UTC)
