"""Creating and updating customers: profile, identities (one owner each), consents, partner
organisations."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egards.accounts import service as accounts
from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.customers.domain import (
    CustomerStatus,
    IdentityKind,
    name_keys,
    normalise_identity,
)
from egards.customers.models import (
    ConsentEvent,
    Customer,
    CustomerOrganisation,
    Identity,
)
from egards.customers.schemas import (
    ConsentCreate,
    CustomerCreate,
    CustomerUpdate,
    IdentityCreate,
)
from egards.customers.service.access import (
    PROFILE_FIELDS,
    _visible_to,
    _writable,
    get_customer,
    snapshot,
)
from egards.customers.service.timeline import (
    _timeline,
)
from egards.db import utcnow
from egards.errors import Conflict, InvalidInput, NotFound
from egards.i18n import N_, message


def _ensure_identity_free(
    session: Session,
    actor: Actor,
    kind: str,
    network: str,
    value: str,
    customer_id: int | None,
) -> None:
    owner = session.scalar(
        select(Identity.customer_id).where(
            Identity.kind == kind, Identity.network == network, Identity.value == value
        )
    )
    if owner is None:
        return
    if owner == customer_id:
        raise Conflict(
            N_("{kind} {value} already belongs to this customer"),
            kind=kind,
            value=value,
            field="value",
        )
    # The owner is named only to whom may see that file: to anyone else, an identity in use
    # must not tell whose it is.
    visible = _visible_to(actor)
    if visible is None or session.scalar(select(Customer.id).where(Customer.id == owner, visible)):
        raise Conflict(
            N_("{kind} {value} already belongs to customer {owner}"),
            owner=owner,
            field="value",
            kind=kind,
            value=value,
            customer_id=owner,
        )
    raise Conflict(N_("{kind} {value} is already in use"), field="value", kind=kind, value=value)


def _identity_rows(data: CustomerCreate, region: str) -> list[tuple[str, str, str, str]]:
    """(kind, network, value, display) for every identity in a creation payload."""
    rows: list[tuple[str, str, str, str]] = []
    for index, email in enumerate(data.emails):
        try:
            rows.append(("email", "", normalise_identity(IdentityKind.EMAIL, email), email))
        except InvalidInput as exc:
            raise InvalidInput(exc.template, field=f"emails[{index}]", **exc.context) from None
    for index, phone in enumerate(data.phones):
        try:
            value = normalise_identity(IdentityKind.PHONE, phone, region=region)
        except InvalidInput as exc:
            raise InvalidInput(exc.template, field=f"phones[{index}]", **exc.context) from None
        rows.append(("phone", "", value, phone))
    if data.loyalty_number:
        try:
            value = normalise_identity(IdentityKind.LOYALTY_NUMBER, data.loyalty_number)
        except InvalidInput as exc:
            raise InvalidInput(exc.template, field="loyalty_number", **exc.context) from None
        rows.append(("loyalty_number", "", value, data.loyalty_number))
    for index, handle in enumerate(data.social):
        try:
            value = normalise_identity(IdentityKind.SOCIAL, handle.handle)
        except InvalidInput as exc:
            raise InvalidInput(
                exc.template, field=f"social[{index}].handle", **exc.context
            ) from None
        rows.append(("social", handle.network, value, "@" + value))
    seen: set[tuple[str, str, str]] = set()
    for kind, network, value, _ in rows:
        if (kind, network, value) in seen:
            raise InvalidInput(
                N_("{kind} {value} is given twice"), kind=kind, value=value, field=kind
            )
        seen.add((kind, network, value))
    return rows


def create_customer(
    session: Session, *, actor: Actor, data: CustomerCreate, region: str = "FR"
) -> Customer:
    actor.require(Permission.CUSTOMERS_WRITE)
    if actor.is_partner:
        raise InvalidInput(N_("partners add events to assigned customers; they do not create them"))
    identities = _identity_rows(data, region)
    if data.external_id and session.scalar(
        select(Customer.id).where(Customer.external_id == data.external_id)
    ):
        raise Conflict(
            N_("external id {external_id} already exists"),
            external_id=data.external_id,
            field="external_id",
        )
    for kind, network, value, _ in identities:
        _ensure_identity_free(session, actor, kind, network, value, None)
    last_first, first_last = name_keys(data.first_name, data.last_name)
    customer = Customer(
        external_id=data.external_id,
        search_last_first=last_first,
        search_first_last=first_last,
        status=CustomerStatus.ACTIVE,
        **data.model_dump(include=set(PROFILE_FIELDS)),
    )
    session.add(customer)
    session.flush()
    first_of_kind: set[str] = set()
    for kind, network, value, display in identities:
        session.add(
            Identity(
                customer_id=customer.id,
                kind=kind,
                network=network,
                value=value,
                display_value=display,
                is_primary=kind not in first_of_kind,
            )
        )
        first_of_kind.add(kind)
    audit.record(
        session,
        actor=actor,
        action="customer.create",
        entity_type="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        after={**snapshot(customer), "identities": [f"{k}:{v}" for k, _, v, _ in identities]},
    )
    _timeline(session, actor, customer.id, "customer.created", message(N_("Customer file opened")))
    session.flush()
    session.expire(customer, ["identities"])
    return get_customer(session, actor=actor, customer_id=customer.id)


def update_customer(
    session: Session, *, actor: Actor, customer_id: int, data: CustomerUpdate
) -> Customer:
    customer = _writable(session, actor=actor, customer_id=customer_id)
    changes = data.model_dump(exclude_unset=True)
    for required in ("first_name", "last_name", "preferred_language"):
        if required in changes and changes[required] is None:
            raise InvalidInput(N_("must not be null"), field=required)
    before = snapshot(customer)
    for name, value in changes.items():
        setattr(customer, name, value)
    after = snapshot(customer)
    if before == after:
        return customer
    customer.search_last_first, customer.search_first_last = name_keys(
        customer.first_name, customer.last_name
    )
    customer.updated_at = utcnow()
    changed = sorted(k for k in after if before[k] != after[k])
    audit.record(
        session,
        actor=actor,
        action="customer.update",
        entity_type="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    _timeline(
        session,
        actor,
        customer.id,
        "customer.updated",
        message(N_("Updated: {fields}"), fields=", ".join(changed)),
    )
    session.flush()
    return customer


def add_identity(
    session: Session, *, actor: Actor, customer_id: int, data: IdentityCreate, region: str = "FR"
) -> Identity:
    _writable(session, actor=actor, customer_id=customer_id)
    network = data.network or ""
    if data.kind == IdentityKind.SOCIAL and not network:
        raise InvalidInput(N_("a social handle needs its network"), field="network")
    value = normalise_identity(data.kind, data.value, region=region)
    _ensure_identity_free(session, actor, data.kind, network, value, customer_id)
    has_primary = session.scalar(
        select(Identity.id).where(Identity.customer_id == customer_id, Identity.kind == data.kind)
    )
    if data.is_primary and has_primary:
        session.execute(
            update(Identity)
            .where(Identity.customer_id == customer_id, Identity.kind == data.kind)
            .values(is_primary=False)
        )
    display = "@" + value if data.kind == IdentityKind.SOCIAL else data.value
    identity = Identity(
        customer_id=customer_id,
        kind=data.kind,
        network=network,
        value=value,
        display_value=display,
        is_primary=data.is_primary or not has_primary,
    )
    session.add(identity)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="identity.add",
        entity_type="identity",
        entity_id=identity.id,
        customer_id=customer_id,
        after={"kind": identity.kind, "network": network, "value": value},
    )
    _timeline(
        session,
        actor,
        customer_id,
        "identity.added",
        message(N_("Identity added: {kind} {value}"), kind=message(data.kind), value=display),
    )
    return identity


def remove_identity(
    session: Session, *, actor: Actor, customer_id: int, identity_id: int, reason: str | None = None
) -> None:
    _writable(session, actor=actor, customer_id=customer_id)
    identity = session.get(Identity, identity_id)
    if identity is None or identity.customer_id != customer_id:
        raise NotFound(
            N_("identity {identity_id} not found on customer {customer_id}"),
            identity_id=identity_id,
            customer_id=customer_id,
            field="identity_id",
        )
    before = {"kind": identity.kind, "network": identity.network, "value": identity.value}
    session.delete(identity)
    audit.record(
        session,
        actor=actor,
        action="identity.remove",
        entity_type="identity",
        entity_id=identity_id,
        customer_id=customer_id,
        before=before,
        reason=reason,
    )
    _timeline(
        session,
        actor,
        customer_id,
        "identity.removed",
        message(N_("Identity removed: {kind}"), kind=message(before["kind"])),
    )
    session.flush()


def record_consent(
    session: Session, *, actor: Actor, customer_id: int, data: ConsentCreate
) -> ConsentEvent:
    _writable(session, actor=actor, customer_id=customer_id)
    event = ConsentEvent(
        customer_id=customer_id,
        recorded_at=utcnow(),
        recorded_by=actor.label,
        **data.model_dump(),
    )
    session.add(event)
    session.flush()
    verb = "granted" if data.granted else "withdrawn"
    audit.record(
        session,
        actor=actor,
        action=f"consent.{verb}",
        entity_type="consent",
        entity_id=event.id,
        customer_id=customer_id,
        after=data.model_dump(),
    )
    _timeline(
        session,
        actor,
        customer_id,
        f"consent.{verb}",
        message(
            N_("Consent granted: {purpose} by {channel} ({source})")
            if data.granted
            else N_("Consent withdrawn: {purpose} by {channel} ({source})"),
            purpose=message(data.purpose),
            channel=message(data.channel),
            source=data.source,
        ),
    )
    return event


def consent_history(session: Session, *, actor: Actor, customer_id: int) -> list[ConsentEvent]:
    get_customer(session, actor=actor, customer_id=customer_id)
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == customer_id)
            .order_by(ConsentEvent.recorded_at.desc(), ConsentEvent.id.desc())
        )
    )


def current_consents(events: list[ConsentEvent]) -> list[ConsentEvent]:
    """The latest decision per purpose and channel (events come newest first)."""
    latest: dict[tuple[str, str], ConsentEvent] = {}
    for event in events:
        latest.setdefault((event.purpose, event.channel), event)
    return sorted(latest.values(), key=lambda e: (e.purpose, e.channel))


def assign_organisation(
    session: Session, *, actor: Actor, customer_id: int, organisation_id: int, purpose: str | None
) -> CustomerOrganisation:
    actor.require(Permission.ORGANISATIONS_MANAGE)
    _writable(session, actor=actor, customer_id=customer_id)
    organisation = accounts.get_organisation(session, organisation_id)
    if organisation is None:
        raise NotFound(
            N_("organisation {organisation_id} not found"),
            organisation_id=organisation_id,
            field="organisation_id",
        )
    link = session.get(CustomerOrganisation, (customer_id, organisation_id))
    if link is None:
        link = CustomerOrganisation(
            customer_id=customer_id, organisation_id=organisation_id, purpose=purpose
        )
        session.add(link)
        audit.record(
            session,
            actor=actor,
            action="customer.assign_organisation",
            entity_type="customer",
            entity_id=customer_id,
            customer_id=customer_id,
            after={"organisation_id": organisation_id, "purpose": purpose},
            shared_with=organisation_id,
        )
        _timeline(
            session,
            actor,
            customer_id,
            "partner.assigned",
            message(
                N_("Assigned to partner {name} ({purpose})"),
                name=organisation.name,
                purpose=purpose,
            )
            if purpose
            else message(N_("Assigned to partner {name}"), name=organisation.name),
            silo="partner",
            shared_with=organisation_id,
        )
        session.flush()
    return link
