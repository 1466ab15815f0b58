"""The duplicates queue of the customer file: found by the linking model, merged by a person
through the reversible merge, never when the two files hold different verified identities."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from egards.accounts.domain import SYSTEM
from egards.customers import service as customers
from egards.customers.models import Identity
from egards.customers.schemas import CustomerCreate
from egards.errors import Conflict
from egards.social import service, synthetic
from tests.integration.social import add_drawn_customers

NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)


def _twins(session, first_email: str, second_email: str) -> tuple[int, int]:
    add_drawn_customers(session, synthetic.customers(60, seed=5), "city", "email")
    ids = []
    for email in (first_email, second_email):
        ids.append(
            customers.create_customer(
                session,
                actor=SYSTEM,
                data=CustomerCreate(
                    first_name="Gwenaëlle",
                    last_name="Kerbrat",
                    city="Quimper",
                    birth_date=date(1971, 3, 9),
                    emails=[email],
                ),
            ).id
        )
    return ids[0], ids[1]


def test_a_likely_duplicate_is_queued_and_merged_by_a_person(db):
    with db.unit_of_work() as session:
        first, second = _twins(session, "gk@example.fr", "gwen.kerbrat@example.fr")
        assert service.find_duplicates(session, now=NOW, lower=6.0) >= 1
        [pair] = [
            d
            for d in service.duplicates_queue(session, actor=SYSTEM)
            if {d.customer_a, d.customer_b} == {first, second}
        ]
        assert any("birth year: same" in e["detail"] for e in pair.evidence)
        merged = service.decide_duplicate(
            session, actor=SYSTEM, duplicate_id=pair.id, merge=True, now=NOW
        )
        assert merged.status == "merged"
        assert customers.statuses(session, [second])[second] == "merged"
        assert service.find_duplicates(session, now=NOW, lower=6.0) == 0  # asked once


def test_two_files_with_different_verified_identities_are_never_merged(db):
    with db.unit_of_work() as session:
        first, second = _twins(session, "gk@example.fr", "gwen.kerbrat@example.fr")
        session.execute(update(Identity).where(Identity.kind == "email").values(verified=True))
        service.find_duplicates(session, now=NOW, lower=6.0)
        [pair] = [
            d
            for d in service.duplicates_queue(session, actor=SYSTEM)
            if {d.customer_a, d.customer_b} == {first, second}
        ]
        with pytest.raises(Conflict, match="different verified email"):
            service.decide_duplicate(
                session, actor=SYSTEM, duplicate_id=pair.id, merge=True, now=NOW
            )
        assert customers.statuses(session, [second])[second] == "active"


def test_two_people_a_person_told_apart_are_never_queued_again(db):
    with db.unit_of_work() as session:
        first, second = _twins(session, "gk@example.fr", "gwen.kerbrat@example.fr")
        service.find_duplicates(session, now=NOW, lower=6.0)
        [pair] = [
            d
            for d in service.duplicates_queue(session, actor=SYSTEM)
            if {d.customer_a, d.customer_b} == {first, second}
        ]
        service.decide_duplicate(
            session, actor=SYSTEM, duplicate_id=pair.id, merge=False, now=NOW, reason="Sœurs"
        )

        assert service.find_duplicates(session, now=NOW, lower=6.0) == 0
        waiting = service.duplicates_queue(session, actor=SYSTEM)
        assert all({d.customer_a, d.customer_b} != {first, second} for d in waiting)
        assert customers.statuses(session, [first, second]) == {
            first: "active",
            second: "active",
        }
