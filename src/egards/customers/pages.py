"""Console pages of the customer file: search, the 360 view, edit, merge, export, erase."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.customers import service
from egards.customers.domain import (
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    SOCIAL_NETWORKS,
    IdentityKind,
)
from egards.customers.models import Customer
from egards.customers.schemas import ConsentCreate, CustomerCreate, CustomerUpdate, IdentityCreate
from egards.errors import DomainError
from egards.features import modules
from egards.web.deps import CurrentActor, DbSession, Id, SmallId
from egards.web.forms import refused, submit, validate
from egards.web.panels import Panel
from egards.web.templating import render

router = APIRouter()


def _region(request: Request) -> str:
    return request.app.state.settings.default_phone_region


@router.get("/customers")
def search_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    customers, has_more = service.search_customers(
        session, actor=actor, text=q, limit=25, offset=offset, region=_region(request)
    )
    context = {"q": q, "customers": customers, "has_more": has_more, "offset": offset}
    template = (
        "customers/_results.html" if request.headers.get("HX-Request") else "customers/search.html"
    )
    return render(request, template, context)


@router.get("/customers/new")
def new_customer_form(request: Request, actor: CurrentActor) -> Response:
    actor.require(Permission.CUSTOMERS_WRITE)
    return render(request, "customers/form.html", {"customer": None})


def _profile_form(form) -> dict:
    return {name: (form.get(name) or None) for name in service.PROFILE_FIELDS}


@router.post("/customers/new")
async def create_customer(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    form = await request.form()
    data = _profile_form(form)
    data["emails"] = [form["email"]] if form.get("email") else []
    data["phones"] = [form["phone"]] if form.get("phone") else []
    data["loyalty_number"] = form.get("loyalty_number") or None
    data = {k: v for k, v in data.items() if v not in (None, [])}
    return await run_in_threadpool(
        submit,
        session,
        lambda: service.create_customer(
            session, actor=actor, region=_region(request), data=validate(CustomerCreate, data)
        ),
        done=lambda customer: f"/customers/{customer.id}",
        again=lambda exc: refused(
            request, "customers/form.html", {"customer": None, "values": dict(form)}, exc
        ),
    )


@router.get("/customers/{customer_id}")
def customer_360(
    request: Request, session: DbSession, actor: CurrentActor, customer_id: Id
) -> Response:
    customer = service.get_customer(session, actor=actor, customer_id=customer_id)
    consents = service.consent_history(session, actor=actor, customer_id=customer_id)
    context = {
        "customer": customer,
        "timeline": service.list_timeline(session, actor=actor, customer_id=customer_id, limit=100),
        "notes": service.list_notes(session, actor=actor, customer_id=customer_id),
        "consents": service.current_consents(consents),
        "consent_history": consents,
        "audit": audit.list_records(session, actor=actor, customer_id=customer_id, limit=50),
        "merges": service.list_merges(session, actor=actor, customer_id=customer_id),
        "identity_kinds": list(IdentityKind),
        "networks": SOCIAL_NETWORKS,
        "purposes": CONSENT_PURPOSES,
        "consent_channels": CONSENT_CHANNELS,
        "can": actor.can,
        "P": Permission,
        "panels": customer_panels(session, actor, customer),
    }
    return render(request, "customers/view.html", context)


def customer_panels(session: Session, actor: Actor, customer: Customer) -> list[Panel]:
    panels: list[Panel] = []
    for feature, pages in modules("pages"):
        if feature != "customers":
            for provide in getattr(pages, "customer_panels", ()):
                panel = provide(session, actor, customer)
                if panel is not None:
                    panels.append(panel)
    return panels


@router.get("/customers/{customer_id}/edit")
def edit_form(
    request: Request, session: DbSession, actor: CurrentActor, customer_id: Id
) -> Response:
    actor.require(Permission.CUSTOMERS_WRITE)
    customer = service.get_customer(session, actor=actor, customer_id=customer_id)
    return render(request, "customers/form.html", {"customer": customer})


@router.post("/customers/{customer_id}/edit")
async def edit(
    request: Request, session: DbSession, actor: CurrentActor, customer_id: Id
) -> Response:
    form = await request.form()
    data = _profile_form(form)
    data = {
        k: v
        for k, v in data.items()
        if v is not None
        or k in ("birth_date", "address_line1", "address_line2", "postal_code", "city", "country")
    }

    def again(exc: DomainError) -> Response:
        customer = service.get_customer(session, actor=actor, customer_id=customer_id)
        context = {"customer": customer, "values": dict(form)}
        return refused(request, "customers/form.html", context, exc)

    return await run_in_threadpool(
        submit,
        session,
        lambda: service.update_customer(
            session, actor=actor, customer_id=customer_id, data=validate(CustomerUpdate, data)
        ),
        done=lambda _: f"/customers/{customer_id}",
        again=again,
    )


@router.post("/customers/{customer_id}/notes")
def add_note(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    customer_id: Id,
    body: Annotated[str, Form(min_length=1, max_length=5000)],
) -> Response:
    service.add_note(session, actor=actor, customer_id=customer_id, body=body)
    if request.headers.get("HX-Request"):
        notes = service.list_notes(session, actor=actor, customer_id=customer_id)
        return render(
            request, "customers/_notes.html", {"notes": notes, "customer_id": customer_id}
        )
    return RedirectResponse(f"/customers/{customer_id}#notes", status_code=303)


@router.post("/customers/{customer_id}/identities")
async def add_identity(
    request: Request, session: DbSession, actor: CurrentActor, customer_id: Id
) -> Response:
    form = await request.form()
    data = {"kind": form.get("kind"), "value": form.get("value")}
    if form.get("network"):
        data["network"] = form.get("network")
    await run_in_threadpool(
        service.add_identity,
        session,
        actor=actor,
        customer_id=customer_id,
        data=validate(IdentityCreate, data),
        region=_region(request),
    )
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)


@router.post("/customers/{customer_id}/identities/{identity_id}/remove")
def remove_identity(
    session: DbSession, actor: CurrentActor, customer_id: Id, identity_id: Id
) -> Response:
    service.remove_identity(session, actor=actor, customer_id=customer_id, identity_id=identity_id)
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)


@router.post("/customers/{customer_id}/consents")
async def record_consent(
    request: Request, session: DbSession, actor: CurrentActor, customer_id: Id
) -> Response:
    form = await request.form()
    data = {
        "purpose": form.get("purpose"),
        "channel": form.get("channel"),
        "granted": form.get("granted") == "true",
        "source": form.get("source") or "console",
        "proof": form.get("proof") or None,
    }
    await run_in_threadpool(
        service.record_consent,
        session,
        actor=actor,
        customer_id=customer_id,
        data=validate(ConsentCreate, data),
    )
    return RedirectResponse(f"/customers/{customer_id}#consents", status_code=303)


@router.post("/customers/{customer_id}/merge")
def merge(
    session: DbSession,
    actor: CurrentActor,
    customer_id: Id,
    duplicate_id: Annotated[int, Form(ge=1)],
    reason: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    service.merge_customers(
        session, actor=actor, survivor_id=customer_id, merged_id=duplicate_id, reason=reason
    )
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)


@router.post("/merges/{merge_id}/unmerge")
def unmerge(session: DbSession, actor: CurrentActor, merge_id: SmallId) -> Response:
    record = service.unmerge(session, actor=actor, merge_id=merge_id, reason=None)
    return RedirectResponse(f"/customers/{record.survivor_id}", status_code=303)


@router.get("/customers/{customer_id}/export.json")
def export(session: DbSession, actor: CurrentActor, customer_id: Id) -> Response:
    bundle = service.export_customer(session, actor=actor, customer_id=customer_id)
    return Response(
        json.dumps(bundle, ensure_ascii=False, indent=2, default=str),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.json"'},
    )


@router.post("/customers/{customer_id}/erase")
def erase(
    session: DbSession,
    actor: CurrentActor,
    customer_id: Id,
    reason: Annotated[str, Form(min_length=3, max_length=2000)],
) -> Response:
    service.erase_customer(session, actor=actor, customer_id=customer_id, reason=reason)
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)
