"""Cases' hook: a message that asks to end a contract becomes the same cancellation request as
from the public page, on the case it came in on, so that nobody has to send a registered
letter and nobody has to retype it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor
from egards.cases import service as cases
from egards.config import get_settings
from egards.customers import service as customers
from egards.errors import DomainError
from egards.subscriptions import domain
from egards.subscriptions.domain import Status
from egards.subscriptions.models import CancellationRequest
from egards.subscriptions.schemas import CancellationCreate
from egards.subscriptions.service._common import WORKER
from egards.subscriptions.service.cancellation import request_cancellation
from egards.subscriptions.service.contracts import customer_subscriptions

log = logging.getLogger(__name__)

# The case channels where a customer writes their request themselves, as request channels.
_WRITTEN = {"email": "email", "letter": "letter", "portal": "portal", "web_form": "web"}


def inbound_message_received(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    message_id: int,
    customer_id: int | None,
    text: str,
    received_at: datetime,
    now: datetime,
) -> None:
    """A written message from a known customer that asks to cancel and names one of their
    running contracts (its reference, or a line only it has) is registered as a cancellation
    request on its case: the same end date, acknowledgement to the contract's address, reason
    and offer as from the public page. A message that names no contract, or several, stays
    with an agent (the case page offers to register it); a case already linked to a request
    is left alone."""
    del actor, message_id  # the request is the subscriptions worker's, whoever wrote
    recognised = domain.recognise_cancellation(text)
    if recognised is None or customer_id is None:
        return
    if session.scalar(select(CancellationRequest.id).where(CancellationRequest.case_id == case_id)):
        return
    case = cases.get_case(session, actor=WORKER, case_id=case_id)
    channel = _WRITTEN.get(str(case.channel))
    if channel is None:
        return
    running = [
        (s.reference, list(s.line_numbers or ()))
        for s in customer_subscriptions(session, customer_id=customer_id)
        if s.status in (Status.ACTIVE, Status.SUSPENDED, Status.WON_BACK)
    ]
    reference = domain.named_contract(recognised, running)
    if reference is None:
        return
    customer = customers.get_customer(session, actor=WORKER, customer_id=customer_id)
    language = (customer.preferred_language or "fr")[:2]
    try:
        data = CancellationCreate(
            name=customer.last_name,
            reference=reference,
            channel=channel,
            reason=recognised.reason,
            reason_text=text[:2000],
            language=language if language in ("fr", "en") else "fr",
            received_at=min(received_at, now),
        )
        # The message is already stored: a request that cannot be registered is left to an
        # agent, never half-written and never a reason to lose the message.
        with session.begin_nested():
            request_cancellation(
                session,
                actor=WORKER,
                data=data,
                settings=get_settings(),
                case_id=case_id,
                now=now,
            )
    except (DomainError, ValidationError):
        log.warning("case %s reads as a cancellation but was left to an agent", case_id)
