"""Reading a customer and who may: visibility for partners, the writable check, and the small
readers other features use (names, statuses, primary e-mail)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from egards.accounts.domain import Actor, Permission
from egards.bulk import select_in
from egards.customers.domain import (
    CustomerStatus,
    IdentityKind,
    customer_status,
    normalise_identity,
)
from egards.customers.models import (
    Customer,
    CustomerOrganisation,
    Identity,
)
from egards.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from egards.i18n import N_

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "preferred_language",
    "birth_date",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def snapshot(customer: Customer) -> dict[str, Any]:
    return {name: _jsonable(getattr(customer, name)) for name in PROFILE_FIELDS}


def _visible_to(actor: Actor):
    """The filter that keeps a partner to the customers assigned to its organisation."""
    if not actor.is_partner:
        return None
    return exists().where(
        CustomerOrganisation.customer_id == Customer.id,
        CustomerOrganisation.organisation_id == actor.organisation_id,
    )


def get_customer(
    session: Session, *, actor: Actor, customer_id: int, for_update: bool = False
) -> Customer:
    actor.require(Permission.CUSTOMERS_READ)
    query = select(Customer).where(Customer.id == customer_id)
    query = query.options(selectinload(Customer.identities))
    if (visible := _visible_to(actor)) is not None:
        query = query.where(visible)
    if for_update:
        query = query.with_for_update()
    customer = session.scalar(query)
    if customer is None:
        raise NotFound(N_("customer {id} not found"), field="customer_id", id=customer_id)
    return customer


def check_visible(
    session: Session, *, actor: Actor, customer_id: int, referenced: bool = False
) -> None:
    """That the customer exists and the actor may read them, without loading the file: the
    check every other feature makes before showing what it holds about a customer.
    ``referenced``: the caller read it from a row whose foreign key guarantees the customer
    exists, so only a partner's restriction is left to read."""
    actor.require(Permission.CUSTOMERS_READ)
    visible = _visible_to(actor)
    if visible is None and referenced:
        return
    query = select(Customer.id).where(Customer.id == customer_id)
    if visible is not None:
        query = query.where(visible)
    if session.scalar(query) is None:
        raise NotFound(N_("customer {id} not found"), field="customer_id", id=customer_id)


def _writable(session: Session, *, actor: Actor, customer_id: int) -> Customer:
    actor.require(Permission.CUSTOMERS_WRITE)
    customer = get_customer(session, actor=actor, customer_id=customer_id)
    if customer.status != CustomerStatus.ACTIVE:
        raise Conflict(
            N_("customer {customer_id} is {customer_status}; it can no longer be changed"),
            customer_id=customer_id,
            field="customer_id",
            customer_status=customer_status(customer.status),
        )
    return customer


def primary_email(session: Session, customer_id: int) -> str | None:
    """Where to write to a customer: the primary e-mail, else the first one."""
    return session.scalar(
        select(Identity.value)
        .where(Identity.customer_id == customer_id, Identity.kind == "email")
        .order_by(Identity.is_primary.desc(), Identity.id)
        .limit(1)
    )


def names(session: Session, customer_ids: Iterable[int]) -> dict[int, str]:
    """First and last names of customers, in bulk, for lists that link to them."""
    rows = select_in(
        session, Customer.id, Customer.first_name, Customer.last_name, ids=customer_ids
    )
    return {row.id: f"{row.first_name} {row.last_name}".strip() for row in rows}


def statuses(session: Session, customer_ids: Iterable[int]) -> dict[int, str]:
    """The status (active, merged, erased) of each customer, in bulk."""
    return dict(select_in(session, Customer.id, Customer.status, ids=customer_ids))


def owner_of_identity(
    session: Session, *, kind: str, value: str, network: str = "", region: str = "FR"
) -> int | None:
    """The active customer holding this identity (normalised first), if one does; ``None``
    for a value that is not a valid identity of its kind."""
    try:
        normalised = normalise_identity(IdentityKind(kind), value, region=region)
    except (InvalidInput, ValueError):
        return None
    return session.scalar(
        select(Identity.customer_id)
        .join(Customer, Customer.id == Identity.customer_id)
        .where(
            Identity.kind == kind,
            Identity.network == network,
            Identity.value == normalised,
            Customer.status == "active",
        )
    )


def ids_by_external_id(session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """The customers of these external ids, in bulk (for other features' imports)."""
    wanted = sorted({e for e in external_ids if e})
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        for row in session.execute(
            select(Customer.external_id, Customer.id).where(Customer.external_id.in_(chunk))
        ):
            found[row.external_id] = row.id
    return found


def _shareable(
    session: Session, *, actor: Actor, customer_id: int, organisation_id: int | None
) -> int | None:
    """An organisation that something about this customer may be shared with: one assigned
    to the customer, and for a partner only its own."""
    if organisation_id is None:
        return None
    if actor.is_partner and organisation_id != actor.organisation_id:
        raise PermissionDenied(
            N_("a partner shares only with its own organisation"), field="shared_with_id"
        )
    if session.get(CustomerOrganisation, (customer_id, organisation_id)) is None:
        raise InvalidInput(
            N_("organisation {organisation_id} is not assigned to customer {customer_id}"),
            organisation_id=organisation_id,
            customer_id=customer_id,
            field="shared_with_id",
        )
    return organisation_id


def get_by_id(session: Session, customer_id: int) -> Customer | None:
    """A customer's file by id, without an access check: for a use case that has checked its
    own permission (cases: the file of a sender it recognised)."""
    return session.get(Customer, customer_id)


def identity_values(session: Session, customer_id: int, kind: str) -> list[str]:
    """The values of a customer's identities of one kind (e-mail addresses, loyalty numbers),
    in the order they were added."""
    return list(
        session.scalars(
            select(Identity.value)
            .where(Identity.customer_id == customer_id, Identity.kind == kind)
            .order_by(Identity.id)
        )
    )


def holders_of_identity(
    session: Session, *, kind: str, value: str, limit: int, email_local_part: bool = False
) -> list[int]:
    """Customers (any status) holding an identity of ``kind`` written ``value`` as stored, at
    most ``limit``; with ``email_local_part``, e-mail addresses whose part before the @ is
    ``value`` (the same person writing from another domain)."""
    query = select(Identity.customer_id)
    if email_local_part:
        query = query.where(
            Identity.kind == "email", Identity.value.startswith(value + "@", autoescape=True)
        )
    else:
        query = query.where(Identity.kind == kind, Identity.value == value)
    return list(session.scalars(query.limit(limit)))
