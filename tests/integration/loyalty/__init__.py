from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.loyalty import service
from egards.loyalty.models import Member


def enrolled(
    session: Session, first_name: str, last_name: str, *, on: date, **customer: Any
) -> Member:
    """A new customer (``customer``: more of its fields), enrolled in Flying Blue on ``on``."""
    created = customers.create_customer(
        session,
        actor=SYSTEM,
        data=CustomerCreate(first_name=first_name, last_name=last_name, **customer),
    )
    return service.enrol(
        session, actor=SYSTEM, customer_id=created.id, programme_code="flying_blue", on=on
    )
