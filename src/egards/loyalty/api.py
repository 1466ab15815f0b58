"""JSON routes of the loyalty engine (thin: parse, call the service, shape)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from egards.errors import DomainError
from egards.loyalty import intake, service
from egards.loyalty.schemas import (
    ActivityCreate,
    ActivityResult,
    BalanceRead,
    BulkActivities,
    BulkItemResult,
    EnrolRequest,
    EntryRead,
    Explanation,
    HoldDecision,
    MemberRead,
    RedemptionCreate,
    TierException,
)
from egards.web.deps import CurrentActor, DbSession, Id, SmallId
from egards.web.problems import reader_locale

router = APIRouter(prefix="/loyalty", tags=["loyalty"])


def member_read(session, member) -> MemberRead:
    return MemberRead(
        **{
            k: getattr(member, k)
            for k in (
                "id",
                "customer_id",
                "programme",
                "number",
                "enrolled_on",
                "tier",
                "tier_since",
                "period_end",
                "counter",
                "last_activity_on",
            )
        },
        balances=[
            BalanceRead.model_validate(b, from_attributes=True)
            for b in service.balances(session, member=member)
        ],
        **service.progress(member),
    )


@router.get("/programmes")
def programmes(actor: CurrentActor) -> list[dict[str, Any]]:
    """The programmes this installation runs, with their rules."""
    from egards.accounts.domain import Permission

    actor.require(Permission.LOYALTY_READ)
    return [p.model_dump(mode="json") for p in service.programmes().values()]


@router.post("/members", response_model=MemberRead, status_code=201)
def enrol(session: DbSession, actor: CurrentActor, data: EnrolRequest) -> Any:
    member = service.enrol(
        session,
        actor=actor,
        customer_id=data.customer_id,
        programme_code=data.programme,
        on=data.on,
    )
    return member_read(session, member)


@router.get("/members/{member_id}", response_model=MemberRead)
def member_status(session: DbSession, actor: CurrentActor, member_id: Id) -> Any:
    """Tier, balances, and what is needed to reach the next tier or keep this one."""
    return member_read(session, service.find_member(session, actor=actor, member_id=member_id))


@router.get("/customers/{customer_id}/members", response_model=list[MemberRead])
def customer_memberships(session: DbSession, actor: CurrentActor, customer_id: Id) -> Any:
    """The customer's memberships, with tiers and balances (needs loyalty:read)."""
    members = service.customer_members(session, actor=actor, customer_id=customer_id)
    return [member_read(session, m) for m in members]


@router.get("/members/{member_id}/statement", response_model=list[EntryRead])
def statement(
    session: DbSession,
    actor: CurrentActor,
    member_id: Id,
    currency: Annotated[str | None, Query(max_length=20)] = None,
    kind: Annotated[str | None, Query(max_length=30)] = None,
    start: date | None = None,
    end: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The ledger entries of a member, newest first."""
    return service.statement(
        session,
        actor=actor,
        member_id=member_id,
        currency=currency,
        kind=kind,
        start=start,
        end=end,
        limit=limit,
    )


@router.get("/members/{member_id}/explanation", response_model=Explanation)
def explanation(
    session: DbSession,
    actor: CurrentActor,
    member_id: Id,
    lang: Annotated[str, Query(pattern="^(en|fr)$")] = "en",
) -> Explanation:
    """The tier and balances in words an agent can read to the customer."""
    return Explanation(
        language=lang,
        text=service.explain_member(session, actor=actor, member_id=member_id, lang=lang),
    )


@router.post("/programmes/{programme}/activities", response_model=ActivityResult)
def record_activity(
    request: Request, session: DbSession, actor: CurrentActor, programme: str, data: ActivityCreate
) -> Any:
    """Count one activity (idempotent by key). Unknown members are parked until enrolled.
    Reasons are in the language ``Accept-Language`` asks for (English by default)."""
    return service.record_activity(
        session,
        actor=actor,
        programme_code=programme,
        data=data,
        lang=reader_locale(request),
    )


@router.post("/programmes/{programme}/activities/bulk", response_model=list[BulkItemResult])
def record_activities(
    request: Request, session: DbSession, actor: CurrentActor, programme: str, data: BulkActivities
) -> Any:
    """Up to 1,000 activities, each applied whole or not at all and reported by index, as if
    sent one by one in that order; unknown members are parked."""
    outcomes = intake.record_many(
        session,
        actor=actor,
        programme_code=programme,
        items=data.activities,
        lang=reader_locale(request),
    )
    return [
        BulkItemResult(index=index, key=item.key, ok=False, error=_error(outcome))
        if isinstance(outcome, DomainError)
        else BulkItemResult(index=index, key=item.key, ok=True, result=outcome)
        for index, (item, outcome) in enumerate(zip(data.activities, outcomes, strict=True))
    ]


def _error(error: DomainError) -> dict[str, Any]:
    return {"code": error.code, "field": error.field, "reason": error.message}


@router.post("/members/{member_id}/redemptions", response_model=EntryRead, status_code=201)
def redeem(session: DbSession, actor: CurrentActor, member_id: Id, data: RedemptionCreate) -> Any:
    """Spend points (or hold them), soonest-expiring first. Idempotent by key."""
    entry = service.redeem(
        session,
        actor=actor,
        member_id=member_id,
        key=data.key,
        currency=data.currency,
        amount=data.amount,
        hold=data.hold,
        memo=data.memo,
    )
    return _entry(entry)


@router.post("/members/{member_id}/holds/{seq}/settle", response_model=EntryRead)
def settle(
    session: DbSession, actor: CurrentActor, member_id: Id, seq: SmallId, data: HoldDecision
) -> Any:
    return _entry(
        service.resolve_hold(
            session, actor=actor, member_id=member_id, seq=seq, key=data.key, settle=True
        )
    )


@router.post("/members/{member_id}/holds/{seq}/void", response_model=EntryRead)
def void(
    session: DbSession, actor: CurrentActor, member_id: Id, seq: SmallId, data: HoldDecision
) -> Any:
    return _entry(
        service.resolve_hold(
            session, actor=actor, member_id=member_id, seq=seq, key=data.key, settle=False
        )
    )


@router.post("/members/{member_id}/redemptions/{seq}/cancel", response_model=EntryRead)
def cancel(
    session: DbSession, actor: CurrentActor, member_id: Id, seq: SmallId, data: HoldDecision
) -> Any:
    """Cancel a redemption: the points come back with their original expiry."""
    return _entry(
        service.cancel_redemption(session, actor=actor, member_id=member_id, seq=seq, key=data.key)
    )


@router.post("/members/{member_id}/tier-exception", response_model=MemberRead)
def tier_exception(
    session: DbSession, actor: CurrentActor, member_id: Id, data: TierException
) -> Any:
    """Change a tier by exception (supervisors), with a written justification; audited."""
    member = service.change_tier_by_exception(
        session, actor=actor, member_id=member_id, tier=data.tier, justification=data.justification
    )
    return member_read(session, member)


def _entry(entry) -> EntryRead:
    sign = 1 if entry.credit == "member" else -1
    return EntryRead.model_validate(
        {
            **{c.key: getattr(entry, c.key) for c in entry.__table__.columns},
            "signed_amount": sign * entry.amount if entry.state == "posted" else 0,
        }
    )
