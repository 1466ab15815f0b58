"""JSON routes of cases and listening: thin, they parse, call the service and shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool

from egards.accounts.domain import Actor, Permission
from egards.cases import channels, mail, service
from egards.cases.domain import CaseStatus, format_case_number
from egards.cases.models import Case
from egards.cases.schemas import (
    AgentProfileUpdate,
    AssigneeChange,
    CaseDetailRead,
    CaseLinkCreate,
    CaseLogCreate,
    CaseOpened,
    CasePage,
    CaseRead,
    CaseUpdate,
    CustomerLink,
    CustomerSuggestion,
    EmailReceived,
    MessageRead,
    NoteCreate,
    PartnerReportCreate,
    ReplyCreate,
    SatisfactionIn,
    SilenceItem,
    SilenceRead,
    SlaRead,
    StatusChange,
    WebFormCreate,
    WebFormReceived,
)
from egards.cases.service import AttachmentIn, CasesConfig, Opened
from egards.errors import InvalidInput
from egards.i18n import N_
from egards.web.deps import CurrentActor, DbSession, Id, Now, get_actor
from egards.web.problems import PROBLEM_JSON

router = APIRouter(tags=["cases"])


async def intake_actor(request: Request) -> Actor:
    """The actor, looked up in a short transaction of its own: intake routes open theirs
    (raw input first), and must not wait behind a transaction held by the request."""
    with request.app.state.db.unit_of_work() as session:
        return await get_actor(request, session)


IntakeActor = Annotated[Actor, Depends(intake_actor)]


def web_form_limiter(request: Request) -> channels.RateLimiter:
    """One limiter per application, shared by the API and the public page."""
    limiter = getattr(request.app.state, "web_form_limiter", None)
    if limiter is None:
        limiter = request.app.state.web_form_limiter = channels.RateLimiter(
            request.app.state.settings.web_form_per_minute
        )
    return limiter


def config_of(request: Request) -> CasesConfig:
    return service.config_from_settings(request.app.state.settings)


def detail(case: Case) -> CaseDetailRead:
    return CaseDetailRead.model_validate(
        {**CaseRead.model_validate(case).model_dump(), "sla": SlaRead.model_validate(case)}
    )


def opened_body(opened: Opened) -> CaseOpened:
    ack = opened.acknowledgement
    return CaseOpened(
        case=detail(opened.case),
        acknowledgement=ack.body_text if ack else None,
        acknowledgement_delivery=ack.delivery if ack else None,
        refused_attachments=opened.refused_attachments,
    )


@router.get("/cases", response_model=CasePage)
def list_cases(
    session: DbSession,
    actor: CurrentActor,
    view: Annotated[str, Query(pattern="^(mine|team|unassigned|all)$")] = "all",
    team: Annotated[str | None, Query(max_length=40)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=30)] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> CasePage:
    """Open cases, earliest deadline first (a customer's cases: newest first, all statuses)."""
    items, has_more = service.list_cases(
        session,
        actor=actor,
        view=view,
        team=team,
        status=status_,
        customer_id=customer_id,
        include_closed=customer_id is not None,
        limit=limit,
        offset=offset,
    )
    return CasePage(items=[detail(c) for c in items], limit=limit, offset=offset, has_more=has_more)


@router.post("/cases", response_model=CaseOpened, status_code=201)
def log_contact(
    request: Request, now: Now, session: DbSession, actor: CurrentActor, data: CaseLogCreate
) -> CaseOpened:
    """Open a case from a phone call, a shop visit, a typed letter or a forwarded e-mail."""
    opened = channels.log_contact(
        session, actor=actor, data=data, config=config_of(request), now=now
    )
    return opened_body(opened)


@router.post("/cases/partner-reports", response_model=CaseOpened, status_code=201)
def partner_report(
    request: Request, now: Now, session: DbSession, actor: CurrentActor, data: PartnerReportCreate
) -> CaseOpened:
    """A partner's report about a customer assigned to its organisation."""
    opened = channels.partner_report(
        session, actor=actor, data=data, config=config_of(request), now=now
    )
    return opened_body(opened)


@router.post("/cases/letters", response_model=CaseOpened, status_code=201)
async def letter(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    subject: Annotated[str, Form(min_length=1, max_length=300)],
    transcription: Annotated[str, Form(min_length=1, max_length=20_000)],
    customer_id: Annotated[int | None, Form(ge=1, le=2**63 - 1)] = None,
    sender_name: Annotated[str | None, Form(max_length=200)] = None,
    category: Annotated[str | None, Form(max_length=60)] = None,
    scan: Annotated[UploadFile | None, File()] = None,
) -> CaseOpened:
    """A scanned postal letter with its typed transcription."""
    attachment = None
    if scan is not None and scan.filename:
        attachment = AttachmentIn(
            filename=scan.filename,
            content_type=scan.content_type or "application/octet-stream",
            content=await scan.read(),
        )
    opened = await run_in_threadpool(
        channels.letter,
        session,
        actor=actor,
        subject=subject,
        transcription=transcription,
        scan=attachment,
        customer_id=customer_id,
        sender_name=sender_name,
        category=category,
        config=config_of(request),
        now=now,
    )
    return opened_body(opened)


@router.post(
    "/cases/web-form",
    response_model=WebFormReceived,
    status_code=202,
    responses={429: {"description": "Too many requests", "content": {PROBLEM_JSON: {}}}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": WebFormCreate.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": WebFormCreate.model_json_schema()},
            }
        }
    },
)
async def web_form(request: Request, now: Now) -> WebFormReceived:
    """The public contact form (no credentials; rate-limited per address; `website` is a
    spam trap and must stay empty)."""
    web_form_limiter(request).check(request.client.host if request.client else "unknown", now)
    opened = await run_in_threadpool(
        channels.web_form,
        request.app.state.db,
        raw=await request.body(),
        content_type=request.headers.get("content-type", ""),
        config=config_of(request),
        now=now,
    )
    if opened is None:
        return WebFormReceived()
    ack = opened.acknowledgement
    return WebFormReceived(
        number=format_case_number(opened.case.id),
        acknowledgement=ack.body_text if ack else None,
    )


@router.post("/cases/social-mentions", response_model=CaseOpened, status_code=201)
async def social_mention(request: Request, now: Now) -> CaseOpened:
    """A mention from a social listening tool. Sign `<timestamp>.<body>` with HMAC-SHA256 and
    the shared secret: headers `X-Egards-Timestamp` (Unix seconds) and `X-Egards-Signature`
    (`sha256=<hex>`). Requests older than five minutes, or seen before, are refused."""
    opened = await run_in_threadpool(
        channels.social_mention,
        request.app.state.db,
        body=await request.body(),
        timestamp=request.headers.get("X-Egards-Timestamp"),
        signature=request.headers.get("X-Egards-Signature"),
        secret=request.app.state.settings.social_webhook_secret,
        config=config_of(request),
        now=now,
    )
    return opened_body(opened)


@router.post(
    "/cases/inbound-email",
    response_model=EmailReceived,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def inbound_email(request: Request, now: Now, actor: IntakeActor) -> EmailReceived:
    """Hand over one raw e-mail (RFC 5322 bytes), as a mail gateway would. The raw message
    is kept even when it cannot be read; the answer says what became of it."""
    actor.require(Permission.CASES_WRITE)
    raw = await request.body()
    if not raw.strip():
        raise InvalidInput(N_("empty message"), field="body")
    result = await run_in_threadpool(
        mail.receive_email,
        request.app.state.db,
        raw=raw,
        config=config_of(request),
        source="api",
        now=now,
    )
    if result.status == "failed":
        raise mail.MalformedMail(
            N_("the message was kept (raw {raw_id}) but could not be read: {error}"),
            error=result.error,
            field="body",
            raw_id=result.raw_id,
        )
    return EmailReceived(
        raw_id=result.raw_id,
        status=result.status,
        case_id=result.case_id,
        kind=result.kind,
        acknowledged=result.acknowledged,
    )


@router.get("/cases/no-silence", response_model=SilenceRead)
def no_silence(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> SilenceRead:
    """Every customer message awaiting a human answer, oldest deadline first."""
    view = service.no_silence(session, actor=actor, now=now, limit=limit, offset=offset)
    return SilenceRead(
        waiting=view.waiting,
        past_promise=view.past_promise,
        unreadable=view.unreadable,
        items=[
            SilenceItem(
                case=detail(row.case),
                waiting_messages=row.waiting_messages,
                seconds_left=int(row.time_left.total_seconds()) if row.time_left else None,
            )
            for row in view.rows
        ],
    )


@router.put("/cases/agents/{user_id}", status_code=204)
def set_agent_profile(
    session: DbSession, actor: CurrentActor, user_id: Id, data: AgentProfileUpdate
) -> Response:
    """Teams, languages and skills an agent takes cases for (automatic assignment)."""
    service.set_agent_profile(
        session,
        actor=actor,
        user_id=user_id,
        teams=data.teams,
        languages=list(data.languages),
        skills=data.skills,
        accepting=data.accepting,
    )
    return Response(status_code=204)


@router.get("/cases/{case_id}", response_model=CaseDetailRead)
def get_case(session: DbSession, actor: CurrentActor, case_id: Id) -> CaseDetailRead:
    return detail(service.get_case(session, actor=actor, case_id=case_id))


@router.patch("/cases/{case_id}", response_model=CaseDetailRead)
def update_case(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    data: CaseUpdate,
) -> CaseDetailRead:
    """Change category, priority, team, tags, subject, tier or partner; the promise follows."""
    changes = data.model_dump(exclude_unset=True)
    if "priority" in changes and changes["priority"] is None:
        raise InvalidInput(N_("must not be null"), field="priority")
    case = service.update_case(
        session,
        actor=actor,
        case_id=case_id,
        changes=changes,
        config=config_of(request),
        now=now,
    )
    return detail(case)


@router.get("/cases/{case_id}/messages", response_model=list[MessageRead])
def messages(session: DbSession, actor: CurrentActor, case_id: Id) -> Any:
    """The thread, oldest first (partners do not see internal notes), with what became of
    each e-mail we sent (``delivery``: queued, retrying, sent, not_delivered)."""
    thread = service.thread(session, actor=actor, case_id=case_id)
    found = service.deliveries(session, messages=thread)
    return [message_read(m, found.get(m.id)) for m in thread]


def message_read(message: Any, delivery: service.Delivery | None) -> MessageRead:
    read = MessageRead.model_validate(message)
    if delivery is None:
        return read
    return read.model_copy(update={"delivery": delivery.state, "delivery_error": delivery.error})


@router.post("/cases/{case_id}/replies", response_model=MessageRead, status_code=201)
def reply(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    data: ReplyCreate,
) -> Any:
    """Answer the customer (by e-mail through the outbox when we have an address)."""
    entry = service.reply(
        session,
        actor=actor,
        case_id=case_id,
        body=data.body,
        then_status=CaseStatus(data.then_status) if data.then_status else None,
        config=config_of(request),
        now=now,
    )
    session.refresh(entry, ["attachments"])
    return entry


@router.post("/cases/{case_id}/notes", response_model=MessageRead, status_code=201)
def add_note(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    data: NoteCreate,
) -> Any:
    """An internal note; the customer never sees it."""
    entry = service.add_note(session, actor=actor, case_id=case_id, body=data.body, now=now)
    session.refresh(entry, ["attachments"])
    return entry


@router.post("/cases/{case_id}/status", response_model=CaseDetailRead)
def change_status(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    data: StatusChange,
) -> CaseDetailRead:
    """Move along the status machine. Ending a case that still awaits an answer needs the
    supervise permission and a written reason."""
    case = service.change_status(
        session,
        actor=actor,
        case_id=case_id,
        target=data.status,
        reason=data.reason,
        config=config_of(request),
        now=now,
    )
    return detail(case)


@router.post("/cases/{case_id}/satisfaction", response_model=CaseDetailRead)
def record_satisfaction(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    data: SatisfactionIn,
) -> CaseDetailRead:
    """A rating of a resolved case (CSAT 1–5) imported from another survey tool: supervisors
    only, audited under their name. Customers answer through the survey link they are sent
    (``/survey/{token}``), which needs no sign-in."""
    case = service.record_satisfaction(
        session, actor=actor, case_id=case_id, score=data.score, now=now
    )
    return detail(case)


@router.post("/cases/{case_id}/assignee", response_model=CaseDetailRead)
def assign(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    data: AssigneeChange,
) -> CaseDetailRead:
    case = service.assign(
        session, actor=actor, case_id=case_id, assignee_id=data.assignee_id, now=now
    )
    return detail(case)


@router.post("/cases/{case_id}/customer", response_model=CaseDetailRead)
def link_customer(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    data: CustomerLink,
) -> CaseDetailRead:
    """Attach a case from an unknown sender to a customer file."""
    case = service.link_customer(
        session, actor=actor, case_id=case_id, customer_id=data.customer_id, now=now
    )
    return detail(case)


@router.get(
    "/cases/{case_id}/customer-suggestions",
    response_model=list[CustomerSuggestion],
)
def customer_suggestions(session: DbSession, actor: CurrentActor, case_id: Id) -> Any:
    """Customer files that may be this case's unknown sender."""
    return service.suggest_customers(session, actor=actor, case_id=case_id)


@router.post("/cases/{case_id}/links", status_code=status.HTTP_201_CREATED)
def link_cases(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    case_id: Id,
    data: CaseLinkCreate,
) -> dict[str, Any]:
    link = service.link_cases(
        session,
        actor=actor,
        case_id=case_id,
        linked_case_id=data.linked_case_id,
        kind=data.kind,
        now=now,
    )
    return {"case_id": link.case_id, "linked_case_id": link.linked_case_id, "kind": link.kind}


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def download_attachment(
    session: DbSession, actor: CurrentActor, case_id: Id, attachment_id: Id
) -> Response:
    """An accepted attachment, always as a download (never rendered inline)."""
    found = service.attachment(session, actor=actor, case_id=case_id, attachment_id=attachment_id)
    return attachment_response(found)


def attachment_response(found: Any) -> Response:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in found.filename)
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )
