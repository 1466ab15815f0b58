"""Builders of the social tests: customer files and profiles made of the people
:mod:`egards.social.synthetic` draws (also used by the Spark linking tests)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.social import service as social

# How each field of a drawn person goes into a customer file.
_FIELDS = {
    "email": lambda p: {"emails": [p["email"]]},
    # Any number the phone check accepts, with the drawn last digits.
    "phone": lambda p: {"phones": ["+3361" + p["phone"][-7:]]},
    "city": lambda p: {"city": p["city"]},
    "birth_date": lambda p: {"birth_date": date.fromisoformat(p["birth_date"])},
    "preferred_language": lambda p: {"preferred_language": p["preferred_language"]},
}


def add_drawn_customers(
    session: Session, people: Iterable[dict[str, Any]], *fields: str
) -> list[int]:
    """A customer file for each drawn person: names, and those of ``fields`` (email, phone,
    city, birth_date, preferred_language) asked for; their ids."""
    made = []
    for person in people:
        data: dict[str, Any] = {"first_name": person["first_name"]}
        data["last_name"] = person["last_name"]
        for name in fields:
            data.update(_FIELDS[name](person))
        made.append(
            customers.create_customer(session, actor=SYSTEM, data=CustomerCreate(**data)).id
        )
    return made


def add_drawn_profiles(
    session: Session, profiles: Iterable[dict[str, Any]], *, now: datetime
) -> None:
    """Each drawn social profile, as the network feeds bring them in."""
    for profile in profiles:
        social.upsert_profile(
            session,
            network=profile["network"],
            handle=profile["handle"],
            display_name=profile["display_name"],
            location=profile["location"],
            phone=profile["phone"],
            followers=profile["followers"],
            now=now,
        )
