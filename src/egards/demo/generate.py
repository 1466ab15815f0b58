"""A deterministic demo population: customers of an airline and of a telecom operator.

The same seed always gives the same people, identities, consents and timelines, so that the
demo, screenshots and tests can rely on them. Later features add their own activity here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import insert

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Role
from egards.accounts.schemas import OrganisationCreate, UserCreate
from egards.customers.domain import fold, name_keys
from egards.customers.models import (
    ConsentEvent,
    Customer,
    CustomerOrganisation,
    Identity,
    TimelineEvent,
)
from egards.db import Database
from egards.features import modules
from egards.i18n import N_, message, names, render_message

DEMO_PASSWORD = "egards-demo-2026"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

FIRST_FR = [
    "Hélène",
    "François",
    "Chloé",
    "Jérôme",
    "Zoé",
    "Anaïs",
    "Léa",
    "Noël",
    "Gaëlle",
    "Benoît",
    "Céline",
    "Stéphane",
    "Amélie",
    "Théo",
    "Inès",
    "Raphaël",
    "Maëlle",
    "Loïc",
    "Élodie",
    "Sébastien",
    "Camille",
    "Nicolas",
    "Julie",
    "Thomas",
    "Manon",
    "Hugo",
    "Sarah",
    "Lucas",
    "Emma",
    "Louis",
    "Jeanne",
    "Paul",
    "Margaux",
    "Antoine",
    "Rachel",
    "Frédéric",
    "Aurélie",
    "Grégoire",
    "Océane",
    "Adèle",
]
LAST_FR = [
    "Dupont",
    "Lefèvre",
    "Gauthier",
    "Bénard",
    "Mercier",
    "Moreau",
    "Girard",
    "Fournier",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Leroy",
    "Chevalier",
    "Faure",
    "André",
    "Gérard",
    "Boyer",
    "Garnier",
    "Perrin",
    "Morel",
    "Clément",
    "Duval",
    "Hébert",
    "Lemaître",
    "Barbier",
    "Brunet",
    "Rivière",
    "Noël",
    "Méndez",
    "Dubois",
    "Lefebvre",
    "Kahane",
    "Biosse",
    "Duperrin",
    "Maillet",
    "Masson",
    "Marchand",
    "Caron",
]
FIRST_EN = [
    "Oliver",
    "Amelia",
    "Jack",
    "Isla",
    "Harry",
    "Ava",
    "George",
    "Mia",
    "Noah",
    "Grace",
    "James",
    "Emily",
    "William",
    "Sophie",
    "Henry",
    "Lucy",
]
LAST_EN = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Evans",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
]
CITIES = [
    ("Paris", "75011"),
    ("Lyon", "69003"),
    ("Marseille", "13006"),
    ("Toulouse", "31000"),
    ("Nantes", "44000"),
    ("Bordeaux", "33000"),
    ("Lille", "59000"),
    ("Rennes", "35000"),
    ("Strasbourg", "67000"),
    ("Nice", "06000"),
    ("Montpellier", "34000"),
    ("Grenoble", "38000"),
]
STREETS = [
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Voltaire",
    "rue Victor Hugo",
    "place du Marché",
    "rue des Lilas",
    "allée des Tilleuls",
    "rue Pasteur",
]
SOCIAL = ["x", "instagram", "linkedin", "facebook"]

AIRLINE_EVENTS = [
    ("flight.flown", "shop", "loyalty", N_("Flight {route} flown, {cabin}")),
    ("booking.made", "web", "shop", N_("Booking {route} for {month}")),
    ("call.logged", "phone", "support", N_("Called about a schedule change on {route}")),
    ("complaint.received", "email", "quality", N_("Complaint: delayed baggage on {route}")),
    ("survey.answered", "web", "quality", N_("Satisfaction survey answered after {route}")),
    ("lounge.visit", "shop", "loyalty", N_("Lounge visit at {airport}")),
    (
        "social.mention",
        "social",
        "support",
        N_("Mentioned the company on social media about {route}"),
    ),
]
TELECOM_EVENTS = [
    ("subscription.started", "shop", "shop", N_("Fibre subscription signed in the {city} shop")),
    ("installation.done", "partner", "partner", N_("Installation report: fibre socket installed")),
    (
        "installation.missed",
        "partner",
        "partner",
        N_("Installer appointment missed, no technician available"),
    ),
    ("call.logged", "phone", "support", N_("Remote support: connection drops every evening")),
    ("invoice.issued", "email", "billing", N_("Monthly invoice issued")),
    (
        "quality.callback",
        "phone",
        "quality",
        N_("Quality service called back about the open issue"),
    ),
    (
        "cancellation.requested",
        "letter",
        "cancellation",
        N_("Cancellation request received by post"),
    ),
]
ROUTES = ["CDG-JFK", "CDG-DEL", "ORY-NCE", "CDG-LHR", "CDG-NRT", "LYS-CDG", "CDG-YUL", "CDG-DXB"]
CABINS = [N_("economy"), N_("premium economy"), N_("business"), N_("first")]
MONTHS = [
    {"fr": "janvier", "en": "January"},
    {"fr": "mars", "en": "March"},
    {"fr": "juillet", "en": "July"},
    {"fr": "octobre", "en": "October"},
]
AIRPORTS = ["Paris-CDG", "New York JFK", "Nice", "Montréal"]


@dataclass
class DemoSummary:
    customers: int = 0
    timeline_events: int = 0
    users: list[tuple[str, str]] = field(default_factory=list)
    # What each feature added, for the closing table: {"cases": "1,200 cases, 43 breached"}.
    features: dict[str, str] = field(default_factory=dict)


def _phone(index: int) -> str:
    return f"+336{(12_000_000 + index * 37) % 100_000_000:08d}"


def _demo_users(db: Database) -> tuple[list[tuple[str, str]], int]:
    people = [
        ("admin@demo.egards.fr", "Alice Admin", Role.ADMIN, None),
        ("supervisor@demo.egards.fr", "Sophie Superviseure", Role.SUPERVISOR, None),
        ("rachel@demo.egards.fr", "Rachel Martin", Role.AGENT, None),
        ("agent.en@demo.egards.fr", "Oliver Agent", Role.AGENT, None),
        ("analyst@demo.egards.fr", "Ana Lyste", Role.ANALYST, None),
        ("installer@demo.egards.fr", "Fibre Pose (partner)", Role.PARTNER, "installer"),
    ]
    with db.unit_of_work() as session:
        organisation = accounts.create_organisation(
            session, actor=SYSTEM, data=OrganisationCreate(name="Fibre Pose SARL (installer)")
        )
        for email, name, role, org in people:
            accounts.create_user(
                session,
                actor=SYSTEM,
                data=UserCreate(
                    email=email,
                    display_name=name,
                    role=role,
                    password=DEMO_PASSWORD,
                    locale="en" if "Oliver" in name else "fr",
                    organisation_id=organisation.id if org else None,
                ),
            )
        return [(email, str(role)) for email, _, role, _ in people], organisation.id


def generate(
    db: Database, *, customers: int = 5000, seed: int = 7, console: Console | None = None
) -> DemoSummary:
    rng = random.Random(seed)
    summary = DemoSummary()
    summary.users, installer_id = _demo_users(db)
    progress = Progress(console=console, disable=console is None)
    with progress:
        task = progress.add_task("Demo customers", total=customers)
        for start in range(0, customers, 1000):
            count = min(1000, customers - start)
            with db.unit_of_work() as session:
                summary.timeline_events += _batch(session, rng, start, count, installer_id)
            progress.advance(task, count)
    summary.customers = customers
    for _, feature_demo in modules("demo"):
        feature_demo.populate(db, seed=seed, console=console, summary=summary)
    return summary


def _batch(session, rng: random.Random, start: int, count: int, installer_id: int) -> int:
    customers, identities, consents, timeline, assignments = [], [], [], [], []
    for index in range(start, start + count):
        english = rng.random() < 0.18
        first = rng.choice(FIRST_EN if english else FIRST_FR)
        last = rng.choice(LAST_EN if english else LAST_FR)
        airline = index % 5 < 3
        city, postal = rng.choice(CITIES)
        created = NOW - timedelta(days=rng.randint(30, 3650))
        last_first, first_last = name_keys(first, last)
        customers.append(
            {
                "external_id": f"{'AIR' if airline else 'TEL'}-{index + 1:07d}",
                "first_name": first,
                "last_name": last,
                "search_last_first": last_first,
                "search_first_last": first_last,
                "preferred_language": "en" if english else "fr",
                "birth_date": date(1940, 1, 1) + timedelta(days=rng.randint(0, 22_000)),
                "address_line1": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
                "postal_code": postal,
                "city": city,
                "country": "FR",
                "status": "active",
                "created_at": created,
                "updated_at": created,
            }
        )
    table = Customer.__table__
    ids = [row[0] for row in session.execute(insert(table).returning(table.c.id), customers)]
    for offset, (customer_id, row) in enumerate(zip(ids, customers, strict=True)):
        index = start + offset
        airline = row["external_id"].startswith("AIR")
        domain = "example.com" if row["preferred_language"] == "en" else "example.fr"
        email = f"{fold(row['first_name'])}.{fold(row['last_name'])}.{index + 1}@{domain}"
        email = email.replace(" ", "-").replace("'", "")
        since = row["created_at"]
        identities += [
            _identity(customer_id, "email", email, email, since),
            _identity(customer_id, "phone", _phone(index), _local_phone(_phone(index)), since),
        ]
        if airline:
            number = f"FB{index + 1:08d}"
            identities.append(_identity(customer_id, "loyalty_number", number, number, since))
        if rng.random() < 0.15:
            network = rng.choice(SOCIAL)
            handle = f"{fold(row['first_name'])}_{fold(row['last_name'])}{index}".replace(
                " ", ""
            ).replace("-", "")
            identities.append(
                {
                    **_identity(customer_id, "social", handle, "@" + handle, since),
                    "network": network,
                }
            )
        for purpose, channel, p in (
            ("marketing", "email", 0.6),
            ("marketing", "sms", 0.3),
            ("surveys", "email", 0.7),
        ):
            granted = rng.random() < p
            consents.append(
                {
                    "customer_id": customer_id,
                    "purpose": purpose,
                    "channel": channel,
                    "granted": granted,
                    "recorded_at": since,
                    "source": "signup form",
                    "proof": "checkbox on the signup form" if granted else None,
                    "recorded_by": "demo",
                }
            )
            if granted and rng.random() < 0.1:
                consents.append(
                    {
                        "customer_id": customer_id,
                        "purpose": purpose,
                        "channel": channel,
                        "granted": False,
                        "recorded_at": since + timedelta(days=rng.randint(10, 300)),
                        "source": "unsubscribe link",
                        "proof": None,
                        "recorded_by": "demo",
                    }
                )
        timeline.append(
            _event(
                customer_id, since, "customer.created", "web", "shop", N_("Customer file opened")
            )
        )
        catalogue = AIRLINE_EVENTS if airline else TELECOM_EVENTS
        if not airline:
            timeline.append(
                _event(
                    customer_id,
                    since + timedelta(hours=1),
                    *TELECOM_EVENTS[0][:3],
                    TELECOM_EVENTS[0][3],
                    city=row["city"],
                )
            )
            if rng.random() < 0.4:
                assignments.append(
                    {
                        "customer_id": customer_id,
                        "organisation_id": installer_id,
                        "purpose": "fibre installation",
                        "assigned_at": since,
                    }
                )
        for _ in range(rng.randint(2, 9)):
            kind, channel, silo, text = rng.choice(catalogue[1:] if not airline else catalogue)
            when = since + timedelta(
                minutes=rng.randint(60, int((NOW - since).total_seconds() // 60))
            )
            values = {
                "route": rng.choice(ROUTES),
                "cabin": message(rng.choice(CABINS)),
                "airport": rng.choice(AIRPORTS),
                "city": row["city"],
                "month": names(rng.choice(MONTHS)),
            }
            used = {name: value for name, value in values.items() if "{" + name + "}" in text}
            timeline.append(_event(customer_id, when, kind, channel, silo, text, **used))
    session.execute(insert(Identity.__table__), identities)
    session.execute(insert(ConsentEvent.__table__), consents)
    session.execute(insert(TimelineEvent.__table__), timeline)
    if assignments:
        session.execute(insert(CustomerOrganisation.__table__), assignments)
    return len(timeline)


def _local_phone(e164: str) -> str:
    digits = "0" + e164[3:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def _identity(customer_id: int, kind: str, value: str, display: str, since: datetime) -> dict:
    return {
        "customer_id": customer_id,
        "kind": kind,
        "network": "",
        "value": value,
        "display_value": display,
        "is_primary": True,
        "verified": kind != "social",
        "created_at": since,
    }


def _event(
    customer_id: int,
    when: datetime,
    kind: str,
    channel: str,
    silo: str,
    text: str,
    **values: object,
) -> dict:
    said = message(text, **values)
    return {
        "customer_id": customer_id,
        "occurred_at": when,
        "kind": kind,
        "channel": channel,
        "silo": silo,
        "summary": render_message("en", said),
        "message": said,
        "actor_label": "demo",
    }
