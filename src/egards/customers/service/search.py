"""Search by name (accents and case ignored), e-mail, phone or number."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, selectinload

from egards.accounts.domain import Actor, Permission
from egards.customers.domain import (
    interpret_search,
)
from egards.customers.models import (
    Customer,
    Identity,
)
from egards.customers.service.access import (
    _visible_to,
)


def search_customers(
    session: Session,
    *,
    actor: Actor,
    text: str = "",
    status: str | None = "active",
    limit: int = 20,
    offset: int = 0,
    region: str = "FR",
) -> tuple[list[Customer], bool]:
    """Find by identity (e-mail, phone in any format, loyalty number, @handle) or name prefix.

    Returns one page and whether more follow. Name prefixes match the first or the last name,
    ignoring accents and case; identities match exactly after normalisation.
    """
    actor.require(Permission.CUSTOMERS_READ)
    parsed = interpret_search(text, region=region)

    def restricted(query: Any) -> Any:
        if status:
            query = query.where(Customer.status == status)
        if (visible := _visible_to(actor)) is not None:
            query = query.where(visible)
        return query

    wanted = offset + limit + 1
    if parsed.kind is not None:
        owners = select(Identity.customer_id).where(
            Identity.kind == parsed.kind, Identity.value == parsed.value
        )
        query = restricted(select(Customer.id).where(Customer.id.in_(owners)))
        ids = list(session.scalars(query.order_by(Customer.id.desc()).limit(wanted)))
    elif parsed.value:
        # Last-name matches first, then first-name matches: each side is one ordered index
        # range read (an OR of both would sort every match of a short prefix).
        ids = []
        for column in (Customer.search_last_first, Customer.search_first_last):
            query = restricted(select(Customer.id).where(_prefix(session, column, parsed.value)))
            for customer_id in session.scalars(query.order_by(column, Customer.id).limit(wanted)):
                if customer_id not in ids:
                    ids.append(customer_id)
    else:
        ids = list(
            session.scalars(
                restricted(select(Customer.id)).order_by(Customer.id.desc()).limit(wanted)
            )
        )
    page = ids[offset : offset + limit + 1]
    loaded = {
        c.id: c
        for c in session.scalars(
            select(Customer).options(selectinload(Customer.identities)).where(Customer.id.in_(page))
        )
    }
    rows = [loaded[customer_id] for customer_id in page]
    return rows[:limit], len(rows) > limit


def _prefix(session: Session, column: Any, prefix: str) -> Any:
    """A prefix test that an ordinary index can serve on both databases."""
    if session.get_bind().dialect.name == "postgresql":
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(escaped + "%", escape="\\")
    # SQLite's LIKE ignores case and cannot use the index; a range on folded text can.
    return and_(column >= prefix, column < prefix + "\U0010ffff")


def sample_active(session: Session, *, size: int, seed: str) -> list[int]:
    """A sample of ``size`` active customers, the same for the same ``seed`` (a survey wave's
    key): every active customer has the same chance, ranked by a hash of the seed and the id
    (ids only are read: a few MB for a million customers)."""
    if size < 1:
        return []
    ids = list(session.scalars(select(Customer.id).where(Customer.status == "active")))
    ranked = sorted(ids, key=lambda cid: hashlib.sha256(f"{seed}:{cid}".encode()).digest())
    return sorted(ranked[:size])
