"""Use cases of the customer file. Each takes a session and an actor, and only flushes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session, selectinload

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.audit.models import AuditRecord
from egards.bulk import select_in
from egards.customers.domain import (
    ERASED,
    CustomerStatus,
    Erasure,
    IdentityKind,
    interpret_search,
    name_keys,
    normalise_identity,
)
from egards.customers.models import (
    ConsentEvent,
    Customer,
    CustomerMerge,
    CustomerOrganisation,
    Identity,
    Note,
    TimelineEvent,
)
from egards.customers.schemas import (
    ConsentCreate,
    CustomerCreate,
    CustomerUpdate,
    IdentityCreate,
    TimelineEventCreate,
)
from egards.db import utcnow
from egards.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from egards.features import hooks
from egards.i18n import N_, message, render_message

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


def check_visible(session: Session, *, actor: Actor, customer_id: int) -> None:
    """That the customer exists and the actor may read them, without loading the file: the
    check every other feature makes before showing what it holds about a customer."""
    actor.require(Permission.CUSTOMERS_READ)
    query = select(Customer.id).where(Customer.id == customer_id)
    if (visible := _visible_to(actor)) is not None:
        query = query.where(visible)
    if session.scalar(query) is None:
        raise NotFound(N_("customer {id} not found"), field="customer_id", id=customer_id)


def _writable(session: Session, *, actor: Actor, customer_id: int) -> Customer:
    actor.require(Permission.CUSTOMERS_WRITE)
    customer = get_customer(session, actor=actor, customer_id=customer_id)
    if customer.status != CustomerStatus.ACTIVE:
        raise Conflict(
            f"customer {customer_id} is {customer.status}; it can no longer be changed",
            field="customer_id",
            customer_status=customer.status,
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


def _shareable(
    session: Session, *, actor: Actor, customer_id: int, organisation_id: int | None
) -> int | None:
    """An organisation that something about this customer may be shared with: one assigned
    to the customer, and for a partner only its own."""
    if organisation_id is None:
        return None
    if actor.is_partner and organisation_id != actor.organisation_id:
        raise PermissionDenied(
            "a partner shares only with its own organisation", field="shared_with_id"
        )
    if session.get(CustomerOrganisation, (customer_id, organisation_id)) is None:
        raise InvalidInput(
            f"organisation {organisation_id} is not assigned to customer {customer_id}",
            field="shared_with_id",
        )
    return organisation_id


def add_timeline_event(
    session: Session, *, actor: Actor, customer_id: int, event: TimelineEventCreate
) -> TimelineEvent:
    """Any feature, silo or partner writes what happened with a customer here."""
    _writable(session, actor=actor, customer_id=customer_id)
    shared_with = _shareable(
        session, actor=actor, customer_id=customer_id, organisation_id=event.shared_with_id
    )
    entry = TimelineEvent(
        customer_id=customer_id,
        occurred_at=event.occurred_at or utcnow(),
        kind=event.kind,
        channel=event.channel,
        silo=event.silo,
        summary=event.summary,
        actor_label=actor.label,
        organisation_id=actor.organisation_id,
        shared_with_id=audit.audience(actor, shared_with),
        ref_type=event.ref_type,
        ref_id=event.ref_id,
    )
    session.add(entry)
    session.flush()
    return entry


def record_event(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    kind: str,
    summary: str | Mapping[str, Any],
    channel: str = "console",
    silo: str = "support",
    ref_type: str | None = None,
    ref_id: str | None = None,
    occurred_at: datetime | None = None,
    shared_with: int | None = None,
) -> None:
    """What other features call to put something on a customer's timeline (no access check:
    the calling use case has already checked its own permission). The event is internal
    unless ``shared_with`` names the organisation that needs it (see ``audit.audience``).
    ``summary`` is best an ``egards.i18n.message``: it is stored as data and shown in the
    reader's language (a plain string is shown as written)."""
    _timeline(
        session,
        actor,
        customer_id,
        kind,
        summary,
        channel=channel,
        silo=silo,
        ref_type=ref_type,
        ref_id=ref_id,
        occurred_at=occurred_at or utcnow(),
        shared_with=shared_with,
    )


def _timeline(
    session: Session,
    actor: Actor,
    customer_id: int,
    kind: str,
    summary: str | Mapping[str, Any],
    **extra: Any,
) -> None:
    stored = None
    if not isinstance(summary, str):
        stored, summary = dict(summary), render_message("en", summary)
    session.add(
        TimelineEvent(
            customer_id=customer_id,
            occurred_at=extra.pop("occurred_at", None) or utcnow(),
            kind=kind,
            channel=extra.pop("channel", "console"),
            silo=extra.pop("silo", "support"),
            summary=summary,
            message=stored,
            actor_label=actor.label,
            organisation_id=actor.organisation_id,
            shared_with_id=audit.audience(actor, extra.pop("shared_with", None)),
            **extra,
        )
    )


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
        raise Conflict(f"{kind} {value} already belongs to this customer", field="value")
    # The owner is named only to whom may see that file: to anyone else, an identity in use
    # must not tell whose it is.
    visible = _visible_to(actor)
    if visible is None or session.scalar(select(Customer.id).where(Customer.id == owner, visible)):
        raise Conflict(
            f"{kind} {value} already belongs to customer {owner}",
            field="value",
            kind=kind,
            value=value,
            customer_id=owner,
        )
    raise Conflict(f"{kind} {value} is already in use", field="value", kind=kind, value=value)


def _identity_rows(data: CustomerCreate, region: str) -> list[tuple[str, str, str, str]]:
    """(kind, network, value, display) for every identity in a creation payload."""
    rows: list[tuple[str, str, str, str]] = []
    for index, email in enumerate(data.emails):
        try:
            rows.append(("email", "", normalise_identity(IdentityKind.EMAIL, email), email))
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=f"emails[{index}]") from None
    for index, phone in enumerate(data.phones):
        try:
            value = normalise_identity(IdentityKind.PHONE, phone, region=region)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=f"phones[{index}]") from None
        rows.append(("phone", "", value, phone))
    if data.loyalty_number:
        try:
            value = normalise_identity(IdentityKind.LOYALTY_NUMBER, data.loyalty_number)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field="loyalty_number") from None
        rows.append(("loyalty_number", "", value, data.loyalty_number))
    for index, handle in enumerate(data.social):
        try:
            value = normalise_identity(IdentityKind.SOCIAL, handle.handle)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=f"social[{index}].handle") from None
        rows.append(("social", handle.network, value, "@" + value))
    seen: set[tuple[str, str, str]] = set()
    for kind, network, value, _ in rows:
        if (kind, network, value) in seen:
            raise InvalidInput(f"{kind} {value} is given twice", field=kind)
        seen.add((kind, network, value))
    return rows


def create_customer(
    session: Session, *, actor: Actor, data: CustomerCreate, region: str = "FR"
) -> Customer:
    actor.require(Permission.CUSTOMERS_WRITE)
    if actor.is_partner:
        raise InvalidInput("partners add events to assigned customers; they do not create them")
    identities = _identity_rows(data, region)
    if data.external_id and session.scalar(
        select(Customer.id).where(Customer.external_id == data.external_id)
    ):
        raise Conflict(f"external id {data.external_id} already exists", field="external_id")
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
            raise InvalidInput("must not be null", field=required)
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
        raise InvalidInput("a social handle needs its network", field="network")
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
            f"identity {identity_id} not found on customer {customer_id}", field="identity_id"
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


def list_timeline(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    limit: int = 50,
    before_id: int | None = None,
    silo: str | None = None,
    channel: str | None = None,
) -> list[TimelineEvent]:
    get_customer(session, actor=actor, customer_id=customer_id)
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.customer_id == customer_id)
        .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
        .limit(limit)
    )
    if (shared := audit.shared_with_actor(actor, TimelineEvent.shared_with_id)) is not None:
        query = query.where(shared)
    if before_id:
        query = query.where(TimelineEvent.id < before_id)
    if silo:
        query = query.where(TimelineEvent.silo == silo)
    if channel:
        query = query.where(TimelineEvent.channel == channel)
    return list(session.scalars(query))


def add_note(
    session: Session, *, actor: Actor, customer_id: int, body: str, shared_with: int | None = None
) -> Note:
    """A note on the file: internal, unless shared with an organisation assigned to the
    customer (a partner's note is shared with its own organisation)."""
    _writable(session, actor=actor, customer_id=customer_id)
    shared_with = audit.audience(
        actor,
        _shareable(session, actor=actor, customer_id=customer_id, organisation_id=shared_with),
    )
    note = Note(
        customer_id=customer_id,
        author_id=actor.user_id,
        author_label=actor.label,
        body=body,
        shared_with_id=shared_with,
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="note.add",
        entity_type="note",
        entity_id=note.id,
        customer_id=customer_id,
        after={"body": body},
        shared_with=shared_with,
    )
    _timeline(
        session,
        actor,
        customer_id,
        "note.added",
        body[:280],
        ref_type="note",
        ref_id=str(note.id),
        shared_with=shared_with,
    )
    return note


def list_notes(session: Session, *, actor: Actor, customer_id: int) -> list[Note]:
    get_customer(session, actor=actor, customer_id=customer_id)
    query = select(Note).where(Note.customer_id == customer_id).order_by(Note.id.desc())
    if (shared := audit.shared_with_actor(actor, Note.shared_with_id)) is not None:
        query = query.where(shared)
    return list(session.scalars(query))


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


def assign_organisation(
    session: Session, *, actor: Actor, customer_id: int, organisation_id: int, purpose: str | None
) -> CustomerOrganisation:
    actor.require(Permission.ORGANISATIONS_MANAGE)
    _writable(session, actor=actor, customer_id=customer_id)
    from egards.accounts.models import Organisation

    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"organisation {organisation_id} not found", field="organisation_id")
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


_MOVABLE = {
    "identities": Identity,
    "consents": ConsentEvent,
    "timeline": TimelineEvent,
    "notes": Note,
}


def merge_customers(
    session: Session, *, actor: Actor, survivor_id: int, merged_id: int, reason: str | None
) -> CustomerMerge:
    """Move everything of a duplicate to the survivor; the duplicate stays, marked merged."""
    actor.require(Permission.CUSTOMERS_MERGE)
    if survivor_id == merged_id:
        raise InvalidInput("a customer cannot be merged into itself", field="merged_id")
    survivor = _writable(session, actor=actor, customer_id=survivor_id)
    merged = _writable(session, actor=actor, customer_id=merged_id)
    moved: dict[str, list[Any]] = {}
    for name, model in _MOVABLE.items():
        ids = list(session.scalars(select(model.id).where(model.customer_id == merged_id)))
        if ids:
            session.execute(update(model).where(model.id.in_(ids)).values(customer_id=survivor_id))
        moved[name] = ids
    survivor_kinds = set(
        session.scalars(
            select(Identity.kind).where(
                Identity.customer_id == survivor_id,
                Identity.is_primary.is_(True),
                Identity.id.not_in(moved["identities"] or [0]),
            )
        )
    )
    demoted = [
        identity_id
        for identity_id, kind in session.execute(
            select(Identity.id, Identity.kind).where(
                Identity.id.in_(moved["identities"] or [0]), Identity.is_primary.is_(True)
            )
        )
        if kind in survivor_kinds
    ]
    if demoted:
        session.execute(update(Identity).where(Identity.id.in_(demoted)).values(is_primary=False))
    moved["demoted_primary"] = demoted
    existing_orgs = set(
        session.scalars(
            select(CustomerOrganisation.organisation_id).where(
                CustomerOrganisation.customer_id == survivor_id
            )
        )
    )
    added_orgs = [
        org_id
        for org_id in session.scalars(
            select(CustomerOrganisation.organisation_id).where(
                CustomerOrganisation.customer_id == merged_id
            )
        )
        if org_id not in existing_orgs
    ]
    for org_id in added_orgs:
        session.add(CustomerOrganisation(customer_id=survivor_id, organisation_id=org_id))
    moved["organisations"] = added_orgs
    merged.status = CustomerStatus.MERGED
    merged.merged_into_id = survivor_id
    merged.updated_at = survivor.updated_at = utcnow()
    record = CustomerMerge(
        survivor_id=survivor_id,
        merged_id=merged_id,
        moved=moved,
        reason=reason,
        merged_at=utcnow(),
        merged_by=actor.label,
    )
    session.add(record)
    session.flush()
    for customer_id in (survivor_id, merged_id):
        audit.record(
            session,
            actor=actor,
            action="customer.merge",
            entity_type="customer_merge",
            entity_id=record.id,
            customer_id=customer_id,
            after={"survivor_id": survivor_id, "merged_id": merged_id, "moved": moved},
            reason=reason,
        )
    _timeline(
        session,
        actor,
        survivor_id,
        "customer.merged",
        message(
            N_("Duplicate file {file} ({name}) merged into this one"),
            file=str(merged_id),
            name=f"{merged.first_name} {merged.last_name}",
        ),
        ref_type="customer_merge",
        ref_id=str(record.id),
    )
    session.flush()
    return record


def unmerge(session: Session, *, actor: Actor, merge_id: int, reason: str | None) -> CustomerMerge:
    """Undo a merge exactly: what moved goes back; what was added since stays."""
    actor.require(Permission.CUSTOMERS_MERGE)
    record = session.get(CustomerMerge, merge_id, with_for_update=True)
    if record is None:
        raise NotFound(f"merge {merge_id} not found", field="merge_id")
    if record.unmerged_at is not None:
        raise Conflict(f"merge {merge_id} was already undone", field="merge_id")
    merged = get_customer(session, actor=actor, customer_id=record.merged_id)
    get_customer(session, actor=actor, customer_id=record.survivor_id)
    if merged.status != CustomerStatus.MERGED:
        raise Conflict(f"customer {merged.id} is {merged.status}", field="merge_id")
    later = session.scalar(
        select(CustomerMerge.id).where(
            CustomerMerge.merged_id == record.survivor_id, CustomerMerge.unmerged_at.is_(None)
        )
    )
    if later:
        raise Conflict(
            f"the survivor was itself merged later (merge {later}); undo that first",
            field="merge_id",
        )
    moved = record.moved
    if moved.get("demoted_primary"):
        session.execute(
            update(Identity)
            .where(Identity.id.in_(moved["demoted_primary"]))
            .values(is_primary=True)
        )
    for name, model in _MOVABLE.items():
        ids = moved.get(name) or []
        if ids:
            session.execute(
                update(model)
                .where(model.id.in_(ids), model.customer_id == record.survivor_id)
                .values(customer_id=record.merged_id)
            )
    if moved.get("organisations"):
        session.execute(
            delete(CustomerOrganisation).where(
                CustomerOrganisation.customer_id == record.survivor_id,
                CustomerOrganisation.organisation_id.in_(moved["organisations"]),
            )
        )
    merged.status = CustomerStatus.ACTIVE
    merged.merged_into_id = None
    merged.updated_at = utcnow()
    record.unmerged_at = utcnow()
    record.unmerged_by = actor.label
    for customer_id in (record.survivor_id, record.merged_id):
        audit.record(
            session,
            actor=actor,
            action="customer.unmerge",
            entity_type="customer_merge",
            entity_id=record.id,
            customer_id=customer_id,
            before={"survivor_id": record.survivor_id, "merged_id": record.merged_id},
            reason=reason,
        )
    _timeline(
        session,
        actor,
        record.survivor_id,
        "customer.unmerged",
        message(N_("Merge with file {file} undone"), file=str(record.merged_id)),
        ref_type="customer_merge",
        ref_id=str(record.id),
    )
    session.flush()
    return record


def list_merges(session: Session, *, actor: Actor, customer_id: int) -> list[CustomerMerge]:
    """The merges of a file. Internal: they name other files and say why they were merged."""
    get_customer(session, actor=actor, customer_id=customer_id)
    if actor.is_partner:
        raise PermissionDenied("the merge history of a file is internal", field="customer_id")
    return list(
        session.scalars(
            select(CustomerMerge)
            .where(
                or_(
                    CustomerMerge.survivor_id == customer_id, CustomerMerge.merged_id == customer_id
                )
            )
            .order_by(CustomerMerge.id.desc())
        )
    )


def _rows(session: Session, model: Any, customer_id: int) -> list[dict[str, Any]]:
    table = model.__table__
    rows = session.execute(select(table).where(table.c.customer_id == customer_id))
    return [{k: _jsonable(v) for k, v in row._mapping.items()} for row in rows]


def export_customer(session: Session, *, actor: Actor, customer_id: int) -> dict[str, Any]:
    """Everything about one person, as JSON (GDPR articles 15 and 20: access, portability)."""
    actor.require(Permission.GDPR_EXPORT)
    customer = get_customer(session, actor=actor, customer_id=customer_id)
    bundle: dict[str, Any] = {
        "format": "egards.customer-export/1",
        "exported_at": utcnow().isoformat(),
        "customer": {
            c.name: _jsonable(getattr(customer, c.key))
            for c in Customer.__table__.columns
            if not c.name.startswith("search_")
        },
        "identities": _rows(session, Identity, customer_id),
        "consents": _rows(session, ConsentEvent, customer_id),
        "timeline": _rows(session, TimelineEvent, customer_id),
        "notes": _rows(session, Note, customer_id),
        "organisations": _rows(session, CustomerOrganisation, customer_id),
        "audit": _rows(session, AuditRecord, customer_id),
    }
    # Each feature adds what it holds about the person (``export_section`` in its service).
    for feature, export_section in hooks("service", "export_section"):
        bundle[feature] = export_section(session, customer_id)
    audit.record(
        session,
        actor=actor,
        action="customer.export",
        entity_type="customer",
        entity_id=customer_id,
        customer_id=customer_id,
    )
    session.flush()
    return bundle


def erase_customer(session: Session, *, actor: Actor, customer_id: int, reason: str) -> Customer:
    """Right to erasure (GDPR art. 17): personal data removed or made anonymous for good, in
    this file, in every file merged into it, and in every feature (each feature's
    ``erase_customer_data`` hook, see :mod:`egards.features`).

    What stays is what carries no identity: the rows and their ids (so aggregates, ledgers,
    budgets and statistics still add up), the kinds, channels, amounts and dates of past
    events, who did what and when in the audit trail, and the record that the erasure
    happened: who asked for it, when and why.
    """
    actor.require(Permission.GDPR_ERASE)
    customer = get_customer(session, actor=actor, customer_id=customer_id, for_update=True)
    if customer.status == CustomerStatus.ERASED:
        raise Conflict(f"customer {customer_id} is already erased", field="customer_id")
    erasure = _erasure_of(session, customer_id)
    for _feature, erase in hooks("service", "erase_customer_data"):
        erase(session, erasure)
    merged = [i for i in erasure.customer_ids if i != customer_id]
    audit.record(
        session,
        actor=actor,
        action="customer.erase",
        entity_type="customer",
        entity_id=customer_id,
        customer_id=customer_id,
        after={"merged_files_erased": merged} if merged else None,
        reason=reason,
    )
    for merged_id in merged:
        audit.record(
            session,
            actor=actor,
            action="customer.erase",
            entity_type="customer",
            entity_id=merged_id,
            customer_id=merged_id,
            after={"erased_with": customer_id},
            reason=reason,
        )
    session.flush()
    session.expire(customer)
    return get_customer(session, actor=actor, customer_id=customer_id)


def _erasure_of(session: Session, customer_id: int) -> Erasure:
    """The customer, the files merged into it (at any depth), and every address they had."""
    ids, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = [
            merged_id
            for merged_id in session.scalars(
                select(Customer.id).where(Customer.merged_into_id.in_(frontier))
            )
            if merged_id not in ids
        ]
        ids += frontier
    addresses = {
        text.casefold()
        for row in session.execute(
            select(Identity.value, Identity.display_value).where(Identity.customer_id.in_(ids))
        )
        for text in row
    }
    return Erasure(customer_ids=tuple(ids), addresses=frozenset(addresses))


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """The files themselves: profile and identities gone, names replaced, notes deleted,
    consent proofs, timeline texts, partner purposes and merge reasons emptied. A merged file
    becomes erased as well but keeps pointing to its survivor."""
    ids = erasure.customer_ids
    kept = ("first_name", "last_name", "preferred_language")
    blank = {name: None for name in PROFILE_FIELDS if name not in kept}
    now = utcnow()
    session.execute(
        update(Customer)
        .where(Customer.id.in_(ids))
        .values(
            **blank,
            first_name=ERASED,
            last_name=ERASED,
            search_last_first="",
            search_first_last="",
            external_id=None,
            status=CustomerStatus.ERASED,
            erased_at=now,
            updated_at=now,
        )
    )
    session.execute(delete(Identity).where(Identity.customer_id.in_(ids)))
    session.execute(delete(Note).where(Note.customer_id.in_(ids)))
    session.execute(
        update(ConsentEvent).where(ConsentEvent.customer_id.in_(ids)).values(proof=None)
    )
    session.execute(
        update(TimelineEvent)
        .where(TimelineEvent.customer_id.in_(ids))
        .values(summary=ERASED, data=None, message=None)
    )
    session.execute(
        update(CustomerOrganisation)
        .where(CustomerOrganisation.customer_id.in_(ids))
        .values(purpose=None)
    )
    session.execute(
        update(CustomerMerge)
        .where(
            or_(CustomerMerge.survivor_id.in_(ids), CustomerMerge.merged_id.in_(ids)),
            CustomerMerge.reason.is_not(None),
        )
        .values(reason=ERASED)
    )
