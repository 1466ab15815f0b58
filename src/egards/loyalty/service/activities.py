"""Activities counted one at a time: an activity received (API, file) is checked against what
its key brought before, then applied to its member's book (earnings posted with the rule that
produced each, the qualifying part counted towards the tier, a refund taking back what its
original gave), or parked until its member is known. :func:`_post_activity` is the part the
bulk path (:mod:`.history_bulk`) shares."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.bulk import reserve_ids
from egards.errors import Conflict, NotFound
from egards.i18n import N_, render_message
from egards.loyalty import domain, stored
from egards.loyalty.errors import IdempotencyConflict
from egards.loyalty.ledger import AccountKind
from egards.loyalty.models import Activity, Member
from egards.loyalty.programme import Programme
from egards.loyalty.schemas import ActivityCreate, ActivityResult

from ._common import Today, get_programme, today
from .books import Book, _lock, _record_tier_events, close_book, resume_book
from .earnings import earnings_of, posted_by


def _content_hash(payload: dict[str, Any]) -> str:
    """What an activity's key is checked against when it comes again: its stored payload."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def activity_of(data: ActivityCreate) -> domain.Activity:
    """An activity received (API, file) as the rules see it."""
    return domain.Activity(
        key=data.key,
        kind=data.kind,
        on=data.on,
        amounts=data.amounts,
        attributes=data.attributes,
        quantity=data.quantity,
        reverses=data.reverses,
    )


def _resolve_member(
    session: Session, programme: Programme, data: ActivityCreate
) -> tuple[Member | None, int | None]:
    """The member an activity names, locked as :func:`_lock` locks it (one read for both),
    and on PostgreSQL the id the activity's row takes if it is applied (in the same round
    trip: the row then goes in once, complete, instead of inserted and updated)."""
    if data.customer_id is not None:
        query = select(Member).where(
            Member.customer_id == data.customer_id, Member.programme == programme.code
        )
    else:
        query = select(Member).where(
            Member.programme == programme.code, Member.number == stored_number(data.member_number)
        )
    if session.get_bind().dialect.name != "postgresql":
        return session.scalar(query), None
    found = session.execute(
        query.add_columns(
            func.nextval(func.pg_get_serial_sequence(Activity.__tablename__, "id"))
        ).with_for_update(of=Member)
    ).one_or_none()
    return (found[0], found[1]) if found else (None, None)


def stored_number(number: str | None) -> str:
    """A member number as typed (``fb-0001``) in the form it is stored (``FB0001``)."""
    return (number or "").upper().replace("-", "")


def record_activity(
    session: Session,
    *,
    actor: Actor,
    programme_code: str,
    data: ActivityCreate,
    today: Today = today,
    lang: str = "en",
) -> ActivityResult:
    """Count an activity: earnings posted to the ledger with the rule that produced each,
    the qualifying part counted towards the tier (the result's reasons in ``lang``). A refund
    names the activity it reverses and takes back exactly what it gave. Unknown members are
    parked, not dropped. Idempotent by key: the same activity again changes nothing; other
    content is refused."""
    actor.require(Permission.LOYALTY_WRITE)
    programme = get_programme(programme_code)
    payload = data.model_dump(mode="json", exclude={"member_number", "customer_id", "key"})
    digest = _content_hash(payload)
    previous = session.scalar(
        select(Activity).where(Activity.programme == programme.code, Activity.key == data.key)
    )
    if previous is not None:
        if previous.content_hash != digest:
            raise IdempotencyConflict(
                N_("activity {data_key} was already received with other content"),
                data_key=data.key,
                field="key",
            )
        return _result(session, previous, lang)
    activity = activity_of(data)
    domain.validate_activity(programme, activity, today=today())
    member, reserved = _resolve_member(session, programme, data)
    row = Activity(
        programme=programme.code,
        key=data.key,
        member_id=None,
        member_number=(
            member.number if member else (data.member_number or f"customer:{data.customer_id}")
        ),
        kind=data.kind,
        on=data.on,
        content_hash=digest,
        status="parked",
        payload=payload,
    )
    if member is None:
        session.add(row)
        session.flush()
        audit_parked(session, actor=actor, row=row)
        return _result(session, row, lang)
    # Its entries need its id; the row itself is added once applied, and goes in complete
    # with close_book's first flush.
    row.id = reserved or reserve_ids(session, Activity.__table__, 1)[0]
    book = resume_book(session, member)
    if not activity.reverses:  # whether its entries' keys are used: one read for all
        assert book.ledger_past is not None, "resume_book reads the stored past"
        book.ledger_past.prefetch([f"{activity.key}:{rule_id}" for rule_id in _rule_ids(programme)])
    events = _apply(session, book, row, activity)
    session.add(row)
    close_book(session, book)
    _record_tier_events(session, book, events, actor=actor, source="activity")
    return _result(session, row, lang, events, book.lines[row.key])


def _apply(
    session: Session,
    book: Book,
    row: Any,
    activity: domain.Activity,
) -> tuple[domain.TierEvent, ...]:
    """Post one activity's earnings (or reverse its original's) and count its qualifying part.

    ``row`` is the activity's record (a mapped row, or a plain one that a bulk path writes
    later)."""
    if book.ledger_past is not None:  # its entries' keys are its own: no stored entry's
        book.ledger_past.applying(row.key)
    if not activity.reverses:
        return _post_activity(book, row, activity)
    original = _original_of(session, book, activity.reverses)
    if original.key in book.lines:  # applied by this book, not written yet
        lines, seqs = list(book.lines[original.key]), earned_seqs(book, original)
    else:
        lines, seqs = original_earnings(session, book.programme, original)
    return _post_activity(book, row, activity, lines, seqs, original.on)


def original_earnings(
    session: Session, programme: Programme, original: Any
) -> tuple[list[domain.Earning], list[int]]:
    """The earning lines of a stored activity a refund reverses, and the entries it earned
    (none for a refund: a refund of a refund takes nothing back)."""
    lines = earnings_of(session, programme, [original])[original.id]
    if original.entry_seqs is not None or original.payload.get("reverses"):
        return lines, list(original.entry_seqs or ())  # (entry_seqs: before migration 0017)
    return lines, [seq for seq, *_ in posted_by(session, [original]).get(original.id, [])]


def _rule_ids(programme: Programme) -> list[str]:
    return [rule.id for rule in [*programme.earning, *programme.promotions]]


def earned_seqs(book: Book, original: Any) -> list[int]:
    """The entries an activity applied through ``book`` earned (none for a refund)."""
    return [] if original.payload.get("reverses") else book.seqs.get(original.id, [])


def _cap_usage(book: Book, activity: domain.Activity) -> dict[str, int]:
    """What the member already earned, by rule or promotion with a cap per period that may
    apply to this activity, in the cap's window around its date (reversed earnings no
    longer count): from the stored usage, kept by :func:`stored.count_caps`."""
    caps = _period_caps(book.programme).get(activity.kind)
    if not caps:
        return {}
    return {
        rule_id: stored.used_in_window(book.cap_usage, rule_id, cap, activity.on)
        for rule_id, cap in caps.items()
    }


_PERIOD_CAPS: dict[str, tuple[Programme, dict[str, dict[str, Any]]]] = {}


def _period_caps(programme: Programme) -> dict[str, dict[str, Any]]:
    """By activity kind, the caps per period of the rules and promotions it may earn under
    (worked out once per programme)."""
    found = _PERIOD_CAPS.get(programme.code)
    if found is not None and found[0] is programme:
        return found[1]
    kinds = {rule.id: set(rule.activities) for rule in programme.earning}
    for promotion in programme.promotions:
        kinds[promotion.id] = set().union(*(kinds.get(r, set()) for r in promotion.rules))
    caps: dict[str, dict[str, Any]] = {}
    for rule in [*programme.earning, *programme.promotions]:
        if rule.cap is not None and rule.cap.per_period and rule.cap.period:
            for kind in kinds[rule.id]:
                caps.setdefault(kind, {})[rule.id] = rule.cap
    _PERIOD_CAPS[programme.code] = (programme, caps)
    return caps


def _post_activity(
    book: Book,
    row: Any,
    activity: domain.Activity,
    original: Sequence[domain.Earning] | None = None,
    original_seqs: Sequence[int] = (),
    original_on: date | None = None,
) -> tuple[domain.TierEvent, ...]:
    """The ledger and tier part of :func:`_apply`, once a refund's original is known: its
    earning lines (``original``) and the entries it posted (``original_seqs``). The row
    keeps the tier the activity earned at; its lines are kept in ``book.lines``."""
    programme = book.programme
    member = book.member
    counted = domain.count_activity(
        programme,
        book.state,
        activity,
        last_activity_on=member.last_activity_on,
        earned_in_cap_window=None if activity.reverses else _cap_usage(book, activity),
        original=original if activity.reverses else None,
        original_on=original_on if activity.reverses else None,
    )
    if activity.reverses:
        for seq in original_seqs:
            book.apply("reverse", row.id, key=f"{activity.key}:{seq}", entry_id=seq, on=activity.on)
    else:
        for line in counted.lines:
            if line.amount <= 0:
                continue
            book.apply(
                "post",
                row.id,
                key=f"{activity.key}:{line.rule_id}",
                debit=book.programme_account(AccountKind.ISSUANCE, line.currency),
                credit=book.account(line.currency),
                amount=line.amount,
                on=activity.on,
                kind="earn",
                rule_id=line.rule_id,
                expires_on=domain.expiry_date(programme, line.currency, earned_on=activity.on),
            )
        row.tier = counted.tier
    book.state = counted.state
    member.last_activity_on = counted.last_activity_on
    row.member_id = member.id
    row.member_number = ""  # its member's
    row.status = "applied"
    book.lines[row.key] = counted.lines
    return counted.events


def _original_of(session: Session, book: Book, key: str) -> Any:
    """The applied activity a refund names, not reversed yet."""
    original = session.scalar(
        select(Activity).where(
            Activity.programme == book.programme.code,
            Activity.key == key,
            Activity.member_id == book.member.id,
            Activity.status == "applied",
        )
    )
    if original is None:
        raise NotFound(N_("no applied activity {key} for this member"), key=key, field="reverses")
    if session.scalar(
        select(Activity.id).where(
            Activity.programme == book.programme.code,
            Activity.member_id == book.member.id,
            Activity.status == "applied",
            Activity.payload["reverses"].as_string() == key,
        )
    ):
        raise Conflict(N_("activity {key} is already reversed"), key=key, field="reverses")
    return original


def audit_parked(session: Session, *, actor: Actor, row: Activity) -> None:
    """The audit record of an activity kept until its member is known."""
    audit.record(
        session,
        actor=actor,
        action="loyalty.activity_parked",
        entity_type="loyalty_activity",
        entity_id=row.id,
        after={"key": row.key, "member": row.member_number},
    )


def shown_earnings(lines: Sequence[domain.Earning], lang: str) -> list[dict[str, Any]]:
    """Earning lines as an activity's result shows them, reasons in ``lang``."""
    return [
        {
            "currency": e.currency,
            "amount": e.amount,
            "rule_id": e.rule_id,
            "reason": render_message(lang, e.reason),
        }
        for e in lines
    ]


def _result(
    session: Session,
    row: Activity,
    lang: str,
    events: tuple[domain.TierEvent, ...] = (),
    lines: Sequence[domain.Earning] | None = None,
) -> ActivityResult:
    """An activity's result: ``lines`` as it was just counted, else as stored."""
    member = session.get(Member, row.member_id) if row.member_id else None
    if lines is None:
        lines = earnings_of(session, get_programme(row.programme), [row])[row.id]
    return ActivityResult(
        key=row.key,
        status=row.status,
        member_number=row.member_number or (member.number if member else ""),
        earnings=shown_earnings(lines, lang),
        tier=member.tier if member else None,
        tier_events=[render_message(lang, e.reason) for e in events],
    )


def _apply_parked(session: Session, *, actor: Actor, member: Member) -> int:
    """Activities received before the member was known, applied in date order."""
    parked = list(
        session.scalars(
            select(Activity)
            .where(
                Activity.programme == member.programme,
                Activity.status == "parked",
                Activity.member_number.in_([member.number, f"customer:{member.customer_id}"]),
            )
            .order_by(Activity.on, Activity.id)
        )
    )
    if not parked:
        return 0
    book = resume_book(session, _lock(session, member.id))
    events: tuple[domain.TierEvent, ...] = ()
    for row in parked:
        payload = row.payload
        activity = domain.Activity(
            key=row.key,
            kind=row.kind,
            on=row.on,
            amounts=payload["amounts"],
            attributes=payload["attributes"],
            quantity=payload["quantity"],
            reverses=payload["reverses"],
        )
        events += _apply(session, book, row, activity)
    close_book(session, book)
    _record_tier_events(session, book, events, actor=actor, source="activity")
    return len(parked)
