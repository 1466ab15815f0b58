"""Probabilistic linking on arrival (the webhook, an imported export), after the
deterministic rules, with the trained model kept in the process: a fitting profile is linked
or proposed, a customer erased after training is never proposed from the kept model, one
created after is found."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from egards.accounts.domain import SYSTEM
from egards.cases import service as cases
from egards.cases.schemas import SocialMentionCreate
from egards.customers import service as customers
from egards.customers.models import Customer
from egards.customers.schemas import CustomerCreate
from egards.social import service, synthetic
from egards.social.models import SocialLink, SocialProfile
from egards.social.service import arrival
from tests.conftest import BOTH, own_database
from tests.integration.cases.conftest import create_customer
from tests.integration.social import add_drawn_customers
from tests.integration.social.conftest import MENTION

BASTIEN = {
    "network": "instagram",
    "handle": "@bmarcellin1984",
    "author_name": "Bastien Marcellin",
    "location": "Rennes",
    "external_id": "3000000000001",
}
HELENE = {
    "network": "instagram",
    "handle": "@hq_voyages",
    "author_name": "Hélène Quenouille",
    "external_id": "3000000000002",
}


def _add_customers(session) -> list[int]:
    """120 drawn customers, then Hélène Quenouille and Bastien Marcellin: their ids."""
    add_drawn_customers(session, synthetic.customers(120, seed=3), "email", "city", "birth_date")
    return [
        customers.create_customer(session, actor=SYSTEM, data=CustomerCreate(**data)).id
        for data in (
            {"first_name": "Hélène", "last_name": "Quenouille", "city": "Lyon"},
            {
                "first_name": "Bastien",
                "last_name": "Marcellin",
                "city": "Rennes",
                "birth_date": date(1984, 5, 2),
                "emails": ["bastien.marcellin@example.fr"],
            },
        )
    ]


@pytest.fixture
def file_of_customers(db):
    with db.unit_of_work() as session:
        return _add_customers(session)


def _links(db, handle):
    with db.unit_of_work() as session:
        profile = session.scalar(select(SocialProfile).where(SocialProfile.handle == handle))
        found = session.scalars(select(SocialLink).where(SocialLink.profile_id == profile.id))
        return [(link.status, link.customer_id, link.method) for link in found]


def _kept(db):
    with db.unit_of_work() as session:
        return service.kept_model(session)


def test_a_profile_fitting_one_customer_is_linked_on_arrival(
    client, agent, clock, db, post_mention, file_of_customers
):
    helene, bastien = file_of_customers
    case = post_mention(**BASTIEN)
    assert case["customer_id"] == bastien
    assert _links(db, "bmarcellin1984") == [("linked", bastien, "probabilistic")]
    # Audited on the customer's timeline as the batch's links are.
    timeline = client.get(f"/api/v1/customers/{bastien}/timeline", headers=agent.headers)
    assert "social.linked" in [entry["kind"] for entry in timeline.json()]
    # A display name alone: proposed to a person, the case opened for an unknown sender.
    case = post_mention(**HELENE)
    assert case["customer_id"] is None
    assert _links(db, "hq_voyages") == [("proposed", helene, "probabilistic")]


def test_an_erased_customer_is_never_proposed_from_the_kept_model(
    client, admin, clock, db, post_mention, file_of_customers
):
    _, bastien = file_of_customers
    post_mention(**HELENE)  # trains the model, Bastien in it
    kept = _kept(db)
    erased = client.post(
        f"/api/v1/customers/{bastien}/erase", json={"reason": "art. 17"}, headers=admin.headers
    )
    assert erased.status_code == 200, erased.text
    assert _kept(db) is kept  # the same model, trained before the erasure
    case = post_mention(**BASTIEN)
    assert case["customer_id"] is None
    assert [link for link in _links(db, "bmarcellin1984") if link[1] == bastien] == []


def test_a_customer_created_after_training_is_found(
    client, agent, clock, db, post_mention, file_of_customers
):
    post_mention(**HELENE)
    kept = _kept(db)
    newcomer = create_customer(
        client,
        agent,
        first_name="Gwenaëlle",
        last_name="Kerbrat",
        city="Brest",
        birth_date="1991-03-08",
        emails=["gk@example.fr"],
    )
    case = post_mention(
        network="instagram",
        handle="@gkerbrat1991",
        author_name="Gwenaëlle Kerbrat",
        location="Brest",
        external_id="3000000000003",
    )
    assert _kept(db) is kept  # added to the kept model, not trained again
    assert case["customer_id"] == newcomer["id"]
    assert _links(db, "gkerbrat1991") == [("linked", newcomer["id"], "probabilistic")]


def test_a_renamed_customer_is_found_by_the_kept_model_without_retraining(
    client, agent, clock, db, post_mention, file_of_customers
):
    """Hélène Quenouille of Lyon marries and moves: none of her former blocking keys (her
    names, her surname in Lyon) is her profile's. The kept model follows the edit."""
    helene, _ = file_of_customers
    post_mention(**BASTIEN)  # trains the model, Hélène in it under her former name
    kept = _kept(db)
    renamed = client.patch(
        f"/api/v1/customers/{helene}",
        json={"last_name": "Marcadet", "city": "Nantes"},
        headers=agent.headers,
    )
    assert renamed.status_code == 200, renamed.text
    post_mention(
        network="instagram",
        handle="@helene.marcadet",
        author_name="Hélène Marcadet",
        location="Nantes",
        external_id="3000000000004",
    )
    assert _kept(db) is kept  # followed, not trained again
    assert [customer for _, customer, _ in _links(db, "helene.marcadet")] == [helene]
    # Her former keys stay in the model, but name her only as a candidate, scored as she is
    # now: her former name no longer links to her.
    post_mention(**{**HELENE, "location": "Lyon"})
    assert ("linked", helene) not in [link[:2] for link in _links(db, "hq_voyages")]


def test_edits_are_looked_for_at_every_arrival_one_after_the_other(
    client, agent, clock, db, post_mention, file_of_customers
):
    """``customers.updated_at`` is indexed (migration 0033): the look-up for edits is a range
    read at any size, so it is made at every arrival, the one right after an edit included
    (before the index, a file whose highest customer id was above 5,000 had its edits looked
    for at most once a minute: this one's is at least 6,001)."""
    helene, _ = file_of_customers
    with db.unit_of_work() as session:
        # Above 6,000 whatever the database's sequence has handed out before, and the sequence
        # moved past it, so that no later insert takes the same id.
        highest = session.scalar(select(func.max(Customer.id))) or 0
        session.add(
            Customer(
                id=max(highest + 1, 6_001),
                first_name="Yves",
                last_name="Tanguy",
                search_last_first="tanguy yves",
                search_first_last="yves tanguy",
            )
        )
        session.flush()
        if db.dialect == "postgresql":
            session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('customers', 'id'),"
                    " (SELECT max(id) FROM customers))"
                )
            )
    post_mention(**BASTIEN)
    kept = _kept(db)
    mention = {
        "network": "instagram",
        "handle": "@helene.marcadet",
        "author_name": "Hélène Marcadet",
        "location": "Nantes",
    }
    post_mention(**mention, external_id="3000000000005")
    assert _links(db, "helene.marcadet") == []  # not yet renamed: nobody of that name
    renamed = client.patch(
        f"/api/v1/customers/{helene}",
        json={"last_name": "Marcadet", "city": "Nantes"},
        headers=agent.headers,
    )
    assert renamed.status_code == 200, renamed.text
    post_mention(**mention, external_id="3000000000006")
    assert _kept(db) is kept
    assert [customer for _, customer, _ in _links(db, "helene.marcadet")] == [helene]


def test_an_imported_export_links_and_proposes_as_the_webhook_does(
    db, clock, settings, file_of_customers
):
    helene, bastien = file_of_customers
    rows = [
        {**BASTIEN, "name": BASTIEN["author_name"], "text": "Panne", "id": "i-1"},
        {**HELENE, "name": HELENE["author_name"], "text": "Panne", "id": "i-2"},
    ]
    text = "\n".join(
        json.dumps({k: v for k, v in row.items() if k not in ("author_name", "external_id")})
        for row in rows
    )
    report = service.import_export(
        db,
        text=text,
        filename="export.jsonl",
        config=cases.config_from_settings(settings),
        now=clock.now,
    )
    assert report.rejects == [] and (report.linked, report.to_review) == (1, 1)
    assert _links(db, "bmarcellin1984") == [("linked", bastien, "probabilistic")]
    assert _links(db, "hq_voyages") == [("proposed", helene, "probabilistic")]


def test_a_reviewers_no_is_not_proposed_again_at_the_next_mention(
    client, agent, clock, db, post_mention, file_of_customers
):
    helene, _ = file_of_customers
    post_mention(**HELENE)
    [pending] = client.get("/api/v1/social/reviews", headers=agent.headers).json()
    rejected = client.post(
        f"/api/v1/social/reviews/{pending['id']}",
        json={"accept": False, "reason": "Une homonyme"},
        headers=agent.headers,
    )
    assert rejected.status_code == 200, rejected.text
    post_mention(**{**HELENE, "external_id": "3000000000009"})
    assert _links(db, "hq_voyages") == [("rejected", helene, "probabilistic")]


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "social_arrival")


def test_a_large_file_trains_in_the_background_and_never_holds_an_arrival(
    committed_db, monkeypatch
):
    """Above ``TRAINED_IN_THE_REQUEST`` customers the first arrival starts the training in a
    thread and leaves its profile to the nightly batch instead of waiting minutes; once the
    thread is done, the next arrival is scored with the model it kept."""
    monkeypatch.setattr(arrival, "TRAINED_IN_THE_REQUEST", 10)
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    with committed_db.unit_of_work() as session:
        _helene, bastien = _add_customers(session)

    def arrives(**fields):
        with committed_db.unit_of_work() as session:
            mention = SocialMentionCreate(**{**MENTION, **fields})
            return service.social_sender(session, mention=mention, now=now)

    assert arrives(**BASTIEN) is None  # not held: left unlinked while the model trains
    training = [t for t in threading.enumerate() if t.name == "egards-social-model"]
    assert len(training) == 1
    training[0].join(timeout=120)
    assert not training[0].is_alive()
    assert arrives(**{**BASTIEN, "external_id": "3000000000003"}) == bastien
    with committed_db.unit_of_work() as session:
        assert service.kept_model(session) is not None
