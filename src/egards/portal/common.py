"""What every page of the customer's space shares: the signed-in customer, the clock, the
page frame (sections, labels, headers), so that the portal's pages can live in several modules
(``pages``, ``survey_pages``, ``idea_pages``)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from egards.cases.acknowledgement import format_long_date
from egards.cases.domain import format_case_number
from egards.cases.labels import case_label
from egards.db import utcnow
from egards.errors import NotAuthenticated
from egards.i18n import N_
from egards.loyalty.domain import format_date, format_number
from egards.portal import service
from egards.web.deps import DbSession, check_csrf, csrf_token
from egards.web.i18n import pick_locale
from egards.web.templating import render

COOKIE = "egards_portal"
COOKIE_PATH = "/my"
# What the customer reads for the stored words (translated through the catalogue).
LABELS = {
    "marketing": "Offers and news",
    "profiling": "Offers chosen from my activity",
    "surveys": "Satisfaction surveys",
    "partners": "Offers from partners",
    "email": "E-mail",
    "sms": "Text message",
    "phone": "Phone",
    "post": "Post",
    "push": "App notifications",
    "erasure": "Erase my data",
    "rectification": "Correct my data",
    "received": "Received by us",
    "extended": "Extended",
    "done": "Done",
    "refused": "Refused",
}
# A request's status as the customer reads it (the agents' words stay in the console).
STATUS = {
    "new": "Received by us",
    "open": "In progress",
    "waiting_on_customer": "Waiting for your answer",
    "waiting_on_partner": "In progress",
    "resolved": "Settled",
    "closed": "Closed",
}
SECTIONS = (
    ("/my", "Overview"),
    ("/my/loyalty", "Loyalty"),
    ("/my/requests", "My requests"),
    ("/my/ideas", "Ideas"),
    ("/my/consents", "Consents"),
    ("/my/data", "My data"),
)


def now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else utcnow()


class Customer:
    """The signed-in customer of a portal request."""

    def __init__(self, me: service.Me) -> None:
        self.me = me
        self.id = me.customer_id


async def signed_in(request: Request, session: DbSession) -> Customer:
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise NotAuthenticated(N_("sign in to your customer space"))
    customer_id = await run_in_threadpool(
        partial(service.customer_of_session, session, secret=secret, now=now(request))
    )
    me = await run_in_threadpool(partial(service.me, session, customer_id=customer_id))
    request.state.locale = pick_locale(request.session.get("locale"), me.language)
    await check_csrf(request)
    return Customer(me)


Me = Annotated[Customer, Depends(signed_in)]


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    csrf_token(request)
    locale = request.state.locale
    base = {
        "sections": SECTIONS,
        "case_label": case_label,
        "long_date": format_long_date,
        "day": lambda value: format_date(value, locale) if value else "",
        "number": lambda value: format_number(int(value), locale),
        "number_of": format_case_number,
        "paris": service.PARIS,
        "labels": LABELS,
        "status_of": lambda value: STATUS.get(value, value),
    }
    response = render(request, name, {**base, **context}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
