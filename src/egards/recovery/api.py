"""JSON routes of service recovery (thin: parse, call the service, shape)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from egards.accounts.domain import Permission
from egards.recovery import service
from egards.recovery.schemas import (
    ApprovalRead,
    BudgetRead,
    BudgetSet,
    DecisionIn,
    EventCreate,
    EventRead,
    ExceptionCreate,
    ExceptionOutcome,
    ExceptionRead,
    GestureTypeRead,
    GestureTypeSave,
    GrantCreate,
    GrantRead,
    InvitationRead,
    InvitationUpdate,
    LetterDraft,
    LetterDraftIn,
    LetterTemplateSave,
    RecommendationRead,
    RecommendIn,
    VoucherRead,
    VoucherRedeem,
)
from egards.web.deps import CurrentActor, DbSession, Id, Now

router = APIRouter(prefix="/recovery", tags=["recovery"])
CODE = Path(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")
LANG = Path(pattern="^(fr|en)$")


def grant_read(session, grant) -> GrantRead:
    approval = service.approval_of(session, grant.id)
    return GrantRead.model_validate(
        {
            **GrantRead.model_validate(grant).model_dump(exclude={"approval"}),
            "approval": ApprovalRead.model_validate(approval) if approval else None,
        }
    )


@router.get("/catalogue", response_model=list[GestureTypeRead])
def catalogue(session: DbSession, actor: CurrentActor) -> list[Any]:
    """The gestures agents can offer, with their cost model."""
    actor.require(Permission.RECOVERY_GRANT)
    return service.catalogue(session)


@router.put("/catalogue/{code}", response_model=GestureTypeRead)
def save_gesture_type(
    session: DbSession,
    actor: CurrentActor,
    code: Annotated[str, CODE],
    data: GestureTypeSave,
) -> Any:
    """Create (with `kind`) or change a catalogue entry."""
    changes = data.model_dump(exclude_unset=True, exclude={"kind"})
    return service.save_gesture_type(
        session, actor=actor, code=code, kind=data.kind, changes=changes
    )


@router.post("/recommendations", response_model=RecommendationRead, status_code=201)
def recommend(request: Request, session: DbSession, actor: CurrentActor, data: RecommendIn) -> Any:
    """The top three gestures for a customer (and case), each with its cost and reason."""
    return service.recommend(
        session,
        actor=actor,
        customer_id=data.customer_id,
        case_id=data.case_id,
        lang=getattr(request.state, "locale", "en"),
    )


@router.post("/grants", response_model=GrantRead, status_code=201)
def grant(
    request: Request, now: Now, session: DbSession, actor: CurrentActor, data: GrantCreate
) -> Any:
    """Offer a gesture: granted at once within the agent's and team's budget, else sent to a
    supervisor (`status` pending, with the approval's promise)."""
    row = service.grant(
        session,
        actor=actor,
        data=data,
        sender=request.app.state.settings.mail_from,
        now=now,
    )
    return grant_read(session, row)


@router.get("/grants", response_model=list[GrantRead])
def grants(
    session: DbSession,
    actor: CurrentActor,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    team: Annotated[str | None, Query(max_length=40)] = None,
    agent_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    case_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[Any]:
    rows = service.list_grants(
        session,
        actor=actor,
        month=month,
        team=team,
        agent_id=agent_id,
        kind=kind,
        status=status,
        customer_id=customer_id,
        case_id=case_id,
    )
    return [grant_read(session, row) for row in rows]


@router.get("/grants/{grant_id}", response_model=GrantRead)
def get_grant(session: DbSession, actor: CurrentActor, grant_id: Id) -> Any:
    return grant_read(session, service.get_grant(session, actor=actor, grant_id=grant_id))


@router.get("/approvals", response_model=list[GrantRead])
def approvals(
    session: DbSession,
    actor: CurrentActor,
    status: Annotated[str, Query(pattern="^(pending|approved|rejected)$")] = "pending",
) -> list[Any]:
    """The supervisors' queue, soonest promise first."""
    return [
        grant_read(session, g) for _, g in service.approvals(session, actor=actor, status=status)
    ]


@router.post("/approvals/{approval_id}/decision", response_model=GrantRead)
def decide(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    approval_id: Id,
    data: DecisionIn,
) -> Any:
    """Approve or refuse a request, once, with a reason (never one's own)."""
    approval = service.decide(
        session,
        actor=actor,
        approval_id=approval_id,
        approve=data.approve,
        reason=data.reason,
        sender=request.app.state.settings.mail_from,
        now=now,
    )
    return grant_read(session, service.get_grant(session, actor=actor, grant_id=approval.grant_id))


@router.get("/budgets/mine")
def my_budgets(
    request: Request, now: Now, session: DbSession, actor: CurrentActor
) -> dict[str, Any]:
    """The acting agent's and their team's budget this month."""
    mine = service.my_budgets(session, actor=actor, now=now)
    return {
        "month": mine["month"],
        "agent": BudgetRead.model_validate(mine["agent"]),
        "team": BudgetRead.model_validate(mine["team"]),
    }


@router.get("/budgets")
def budgets(
    session: DbSession,
    actor: CurrentActor,
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
) -> dict[str, Any]:
    """Consumption by agent and by team for a month, and cost by gesture kind."""
    data = service.consumption(session, actor=actor, month=month)
    return {
        "month": month,
        "agents": [
            {**BudgetRead.model_validate(a["budget"]).model_dump(), "name": a["name"]}
            for a in data["agents"]
        ],
        "teams": [BudgetRead.model_validate(t["budget"]) for t in data["teams"]],
        "kinds": data["kinds"],
    }


@router.put("/budgets", response_model=BudgetRead)
def set_budget(session: DbSession, actor: CurrentActor, data: BudgetSet) -> Any:
    """Set an agent's (owner = user id) or a team's limit for a month."""
    return service.set_budget(session, actor=actor, **data.model_dump())


@router.post("/vouchers/{code}/redemption", response_model=VoucherRead)
def redeem_voucher(
    request: Request,
    now: Now,
    session: DbSession,
    actor: CurrentActor,
    code: Annotated[str, CODE],
    data: VoucherRedeem,
) -> Any:
    """Use a voucher, upgrade or pass once; a second use is refused (409)."""
    return service.redeem_voucher(
        session, actor=actor, code=code, reference=data.reference, now=now
    )


@router.post("/events", response_model=EventRead, status_code=201)
def create_event(session: DbSession, actor: CurrentActor, data: EventCreate) -> Any:
    return service.create_event(session, actor=actor, **data.model_dump())


@router.get("/events", response_model=list[EventRead])
def events(session: DbSession, actor: CurrentActor) -> list[Any]:
    actor.require(Permission.RECOVERY_GRANT)
    return service.events(session)


@router.get("/events/{event_id}/invitations", response_model=list[InvitationRead])
def invitations(session: DbSession, actor: CurrentActor, event_id: Id) -> list[Any]:
    return service.invitations(session, actor=actor, event_id=event_id)


@router.post("/invitations/{invitation_id}", response_model=InvitationRead)
def update_invitation(
    session: DbSession, actor: CurrentActor, invitation_id: Id, data: InvitationUpdate
) -> Any:
    """The customer's reply (accepted, declined) or attendance (attended, absent)."""
    return service.update_invitation(
        session, actor=actor, invitation_id=invitation_id, status=data.status
    )


@router.post("/exceptions", response_model=ExceptionRead, status_code=201)
def propose_exception(session: DbSession, actor: CurrentActor, data: ExceptionCreate) -> Any:
    """Mark a case as an exception to a rule, say why, and propose a remedy."""
    return service.propose_exception(session, actor=actor, **data.model_dump())


@router.get("/exceptions", response_model=list[ExceptionRead])
def exceptions(
    session: DbSession,
    actor: CurrentActor,
    status: Annotated[str | None, Query(pattern="^(proposed|approved|rejected)$")] = None,
    rule: Annotated[str | None, Query(max_length=60)] = None,
) -> list[Any]:
    return service.exceptions(session, actor=actor, status=status, rule=rule)


@router.get("/exceptions/report")
def exception_report(session: DbSession, actor: CurrentActor) -> list[dict[str, Any]]:
    """Per rule: exceptions proposed, decided, and what came of them."""
    return service.exception_report(session, actor=actor)


@router.post("/exceptions/{exception_id}/decision", response_model=ExceptionRead)
def decide_exception(
    session: DbSession, actor: CurrentActor, exception_id: Id, data: DecisionIn
) -> Any:
    return service.decide_exception(
        session, actor=actor, exception_id=exception_id, approve=data.approve, reason=data.reason
    )


@router.post("/exceptions/{exception_id}/outcome", response_model=ExceptionRead)
def exception_outcome(
    session: DbSession, actor: CurrentActor, exception_id: Id, data: ExceptionOutcome
) -> Any:
    return service.record_exception_outcome(
        session, actor=actor, exception_id=exception_id, outcome=data.outcome, note=data.note
    )


@router.post("/letters/draft", response_model=LetterDraft)
def draft_letter(
    request: Request, now: Now, session: DbSession, actor: CurrentActor, data: LetterDraftIn
) -> Any:
    """A letter template filled with the facts of the case, in the customer's language."""
    return service.draft_letter(session, actor=actor, now=now, **data.model_dump())


@router.get("/letters/{letter_id}.pdf", responses={200: {"content": {"application/pdf": {}}}})
def letter_pdf(session: DbSession, actor: CurrentActor, letter_id: Id) -> Response:
    letter = service.letter_pdf(session, actor=actor, letter_id=letter_id)
    return Response(
        letter.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="letter-{letter.id}.pdf"'},
    )


@router.put("/letter-templates/{code}/{language}")
def save_letter_template(
    session: DbSession,
    actor: CurrentActor,
    code: Annotated[str, CODE],
    language: Annotated[str, LANG],
    data: LetterTemplateSave,
) -> dict[str, str]:
    row = service.save_letter_template(
        session, actor=actor, code=code, language=language, **data.model_dump()
    )
    return {"code": row.code, "language": row.language, "subject": row.subject, "body": row.body}


@router.get("/returns")
def returns(session: DbSession, actor: CurrentActor, as_of: date | None = None) -> dict[str, Any]:
    """Return on gestures: cost, what followed, against matched cases that received nothing."""
    report = service.returns(session, actor=actor, as_of=as_of)
    return {
        "kinds": [k.__dict__ for k in report.kinds],
        "total": report.total.__dict__,
        "method": report.method,
        "method_fr": report.method_fr,
    }
