"""Use cases of the idea box: customers propose and vote (from the portal), staff review,
answer publicly, merge duplicates (their votes move) and hide what breaks the rules; the
proposer and the voters are told by e-mail when an idea's status changes (outbox, only to
those who consent to surveys and feedback)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM, Actor, Permission
from egards.audit import service as audit
from egards.config import get_settings
from egards.customers import service as customers
from egards.customers.domain import Erasure
from egards.errors import N_, InvalidInput, NotFound, PermissionDenied
from egards.i18n import C_, message, pick_locale, translate, translate_context
from egards.ideas import domain
from egards.ideas.domain import AlreadyVoted, Category
from egards.ideas.models import Comment, Idea, IdeaTag, Vote
from egards.loyalty import service as loyalty
from egards.outbox import service as outbox
from egards.voice.settings import get_voice_settings

# What an erased proposer's idea is called: stored as this English msgid (the proposer's own
# words are gone) and shown in the reader's language by ``shown_title``.
ERASED_TITLE = N_("Idea withdrawn")
# A status as the e-mail to the proposer and voters says it: "Your idea is now planned".
STATUS_CONTEXT = "idea"
STATUS_WORDS: dict[str, str] = {
    "new": C_("idea", "new"),
    "under_review": C_("idea", "under review"),
    "planned": C_("idea", "planned"),
    "in_progress": C_("idea", "in progress"),
    "done": C_("idea", "done"),
    "declined": C_("idea", "declined"),
    "merged": C_("idea", "merged into another idea"),
}


@lru_cache
def categories() -> dict[str, Category]:
    """The categories of ``ideas/categories.yaml``."""
    text = (resources.files("egards.ideas") / "categories.yaml").read_text(encoding="utf-8")
    return domain.parse_categories(yaml.safe_load(text))


def categories_for(session: Session, customer_id: int) -> dict[str, Category]:
    """The categories a customer may propose in: those open to everyone and those of the
    loyalty programmes they are a member of."""
    member_of = loyalty.programmes_of(session, [customer_id]).get(customer_id, [])
    return {key: c for key, c in categories().items() if c.open_to(member_of)}


def _get(session: Session, idea_id: int) -> Idea:
    idea = session.get(Idea, idea_id)
    if idea is None:
        raise NotFound(N_("idea {idea_id} not found"), field="idea_id", idea_id=idea_id)
    return idea


def shown_title(idea: Idea, locale: str) -> str:
    """An idea's title as a reader in ``locale`` sees it: its proposer's words, or "Idea
    withdrawn" in the reader's language once the proposer was erased."""
    if idea.hidden_reason == "erased":
        return translate(locale, ERASED_TITLE)
    return idea.title


# --------------------------------------------------------------------------------------
# The customer's side (the portal)
# --------------------------------------------------------------------------------------


def propose(
    session: Session,
    *,
    customer_id: int,
    title: str,
    body: str,
    category: str,
    language: str,
    now: datetime,
) -> Idea:
    """A customer's proposal; its author votes for it at once."""
    clean_title = domain.clean_text(title, field="title", maximum=domain.TITLE_MAX, minimum=5)
    clean_body = domain.clean_text(body, field="body", maximum=domain.BODY_MAX, minimum=10)
    if category not in (open_to_them := categories_for(session, customer_id)):
        raise InvalidInput(
            N_("one of {choices}"), field="category", choices=", ".join(open_to_them)
        )
    idea = Idea(
        customer_id=customer_id,
        title=clean_title,
        body=clean_body,
        category=category,
        language=pick_locale(language),
        status="new",
        hidden=False,
        votes=0,
        created_at=now,
        updated_at=now,
    )
    session.add(idea)
    session.flush()
    _add_vote(session, idea, customer_id, now)
    customers.record_change(
        session,
        actor=SYSTEM,
        action="ideas.proposed",
        entity=("idea", idea.id),
        customer_id=customer_id,
        summary=message(N_("Proposed an idea: {title}"), title=clean_title),
        after={"title": clean_title, "category": category},
        channel="web",
        occurred_at=now,
    )
    return idea


def _add_vote(session: Session, idea: Idea, customer_id: int, now: datetime) -> None:
    session.add(Vote(idea_id=idea.id, customer_id=customer_id, created_at=now))
    idea.votes += 1
    session.flush()


def vote(session: Session, *, customer_id: int, idea_id: int, now: datetime) -> Idea:
    """One vote per customer per idea, on an idea still open (a hidden idea does not exist
    for customers)."""
    idea = _get(session, idea_id)
    if idea.hidden:
        raise NotFound(N_("idea {idea_id} not found"), field="idea_id", idea_id=idea_id)
    domain.check_votable(idea.status, idea.hidden)
    already = session.scalar(
        select(Vote.id).where(Vote.idea_id == idea_id, Vote.customer_id == customer_id)
    )
    if already is not None:
        raise AlreadyVoted(N_("you have already voted for this idea"), field="idea_id")
    _add_vote(session, idea, customer_id, now)
    return idea


def withdraw_vote(session: Session, *, customer_id: int, idea_id: int) -> Idea:
    idea = _get(session, idea_id)
    deleted = session.execute(
        delete(Vote).where(Vote.idea_id == idea_id, Vote.customer_id == customer_id)
    )
    if getattr(deleted, "rowcount", 0):
        idea.votes = max(0, idea.votes - 1)
    session.flush()
    return idea


def public_ideas(session: Session, *, category: str | None = None, limit: int = 200) -> list[Idea]:
    """What every signed-in customer sees: visible, not merged, most voted first."""
    query = select(Idea).where(Idea.hidden.is_(False), Idea.status != domain.MERGED)
    if category:
        query = query.where(Idea.category == category)
    return list(session.scalars(query.order_by(Idea.votes.desc(), Idea.id.desc()).limit(limit)))


def voted_by(session: Session, *, customer_id: int) -> set[int]:
    return set(session.scalars(select(Vote.idea_id).where(Vote.customer_id == customer_id)))


# --------------------------------------------------------------------------------------
# The staff's side (console and API)
# --------------------------------------------------------------------------------------


def _staff(actor: Actor, permission: Permission = Permission.CASES_READ) -> None:
    if actor.is_partner:
        raise PermissionDenied(N_("the idea box is internal"), field="idea_id")
    actor.require(permission)


def list_ideas(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    category: str | None = None,
    tag: str | None = None,
    include_hidden: bool = True,
    limit: int = 200,
) -> list[Idea]:
    _staff(actor)
    if status is not None and status not in (*domain.STATUSES, domain.MERGED):
        raise InvalidInput(
            N_("one of {choices}"), field="status", choices=", ".join(domain.STATUSES)
        )
    query = select(Idea)
    if status:
        query = query.where(Idea.status == status)
    if category:
        query = query.where(Idea.category == category)
    if tag:
        query = query.where(
            Idea.id.in_(select(IdeaTag.idea_id).where(IdeaTag.tag == " ".join(tag.split()).lower()))
        )
    if not include_hidden:
        query = query.where(Idea.hidden.is_(False))
    return list(session.scalars(query.order_by(Idea.votes.desc(), Idea.id.desc()).limit(limit)))


def get_idea(session: Session, *, actor: Actor, idea_id: int) -> Idea:
    _staff(actor)
    return _get(session, idea_id)


def voters(session: Session, idea_id: int) -> list[int]:
    return list(
        session.scalars(select(Vote.customer_id).where(Vote.idea_id == idea_id).order_by(Vote.id))
    )


def set_status(
    session: Session,
    *,
    actor: Actor,
    idea_id: int,
    status: str,
    reason: str | None = None,
    answer: str | None = None,
    now: datetime,
) -> Idea:
    """A new status, with the reason of a refusal and a public answer; the proposer and the
    voters are told when the status changes."""
    _staff(actor, Permission.CASES_SUPERVISE)
    idea = _get(session, idea_id)
    domain.check_status_change(idea.status, status, reason)
    clean_answer = (
        domain.clean_text(answer, field="answer", maximum=domain.BODY_MAX)
        if answer and answer.strip()
        else None
    )
    clean_reason = (
        domain.clean_text(reason, field="reason", maximum=1000)
        if reason and reason.strip()
        else None
    )
    before = {"status": idea.status, "answer": idea.answer}
    changed = status != idea.status
    idea.status, idea.updated_at = status, now
    if status == "declined":
        idea.reason = clean_reason
    if clean_answer is not None:
        idea.answer, idea.answered_by, idea.answered_at = clean_answer, actor.label, now
    audit.record(
        session,
        actor=actor,
        action="ideas.status_changed",
        entity_type="idea",
        entity_id=idea.id,
        before=before,
        after={"status": status, "answer": idea.answer, "reason": idea.reason},
    )
    if changed:
        _notify(session, idea, voters(session, idea.id), now=now, merged_into=None)
    session.flush()
    return idea


def set_tags(
    session: Session, *, actor: Actor, idea_id: int, tags: list[str], now: datetime
) -> Idea:
    """The staff's tags of an idea, replaced as a whole (an empty list removes them)."""
    _staff(actor, Permission.CASES_WRITE)
    idea = _get(session, idea_id)
    before, wanted = idea.tags, domain.clean_tags(tags)
    if wanted == before:
        return idea
    _retag(idea, wanted)
    idea.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="ideas.tagged",
        entity_type="idea",
        entity_id=idea.id,
        before={"tags": before},
        after={"tags": wanted},
    )
    session.flush()
    return idea


def _retag(idea: Idea, tags: list[str]) -> None:
    kept = {row.tag: row for row in idea.tag_rows}
    idea.tag_rows = [kept.get(tag) or IdeaTag(tag=tag) for tag in tags]


def tags_in_use(session: Session, *, actor: Actor) -> list[tuple[str, int]]:
    """Every tag with the number of ideas that carry it, most used first."""
    _staff(actor)
    count = func.count().label("n")
    rows = session.execute(
        select(IdeaTag.tag, count).group_by(IdeaTag.tag).order_by(count.desc(), IdeaTag.tag)
    )
    return [(tag, n) for tag, n in rows]


def merge(session: Session, *, actor: Actor, idea_id: int, into_id: int, now: datetime) -> Idea:
    """A duplicate joins the idea it repeats: its votes move (a customer who voted for both
    counts once), it leaves the list, and its voters are told where their vote went."""
    _staff(actor, Permission.CASES_SUPERVISE)
    source, target = _get(session, idea_id), _get(session, into_id)
    domain.check_merge(source.id, target.id, target.status, target.hidden)
    if source.status == domain.MERGED:
        raise InvalidInput(N_("this idea is already merged"), field="idea_id")
    moved = voters(session, source.id)
    already = set(voters(session, target.id))
    session.execute(delete(Vote).where(Vote.idea_id == source.id))
    for customer_id in moved:
        if customer_id not in already:
            session.add(Vote(idea_id=target.id, customer_id=customer_id, created_at=now))
    session.flush()
    target.votes = session.scalar(select(func.count()).where(Vote.idea_id == target.id)) or 0
    _retag(target, sorted({*target.tags, *source.tags}))  # the duplicate's tags stay findable
    source.votes, source.status, source.merged_into_id = 0, domain.MERGED, target.id
    source.updated_at = target.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="ideas.merged",
        entity_type="idea",
        entity_id=source.id,
        after={"into": target.id, "votes_moved": len(moved), "votes": target.votes},
    )
    _notify(session, source, moved, now=now, merged_into=target)
    session.flush()
    return target


def hide(session: Session, *, actor: Actor, idea_id: int, reason: str, now: datetime) -> Idea:
    """Moderation: the idea leaves the customers' list; the reason is kept for the staff."""
    _staff(actor, Permission.CASES_SUPERVISE)
    idea = _get(session, idea_id)
    clean = domain.clean_text(reason or "", field="reason", maximum=1000, minimum=3)
    idea.hidden, idea.hidden_reason, idea.updated_at = True, clean, now
    audit.record(
        session,
        actor=actor,
        action="ideas.hidden",
        entity_type="idea",
        entity_id=idea.id,
        after={"reason": clean},
    )
    session.flush()
    return idea


def top_ideas(session: Session, *, actor: Actor, limit: int = 10) -> list[Idea]:
    """The most voted visible ideas: the hook the root-cause dashboard (voice, below) calls
    through ``features.hooks``; empty for an actor who may not read the idea box."""
    if actor.is_partner or not actor.can(Permission.CASES_READ):
        return []
    return public_ideas(session, limit=limit)


# --------------------------------------------------------------------------------------
# Comments: customers write them from the portal, staff read and hide them
# --------------------------------------------------------------------------------------


def _get_comment(session: Session, idea_id: int, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or comment.idea_id != idea_id:
        raise NotFound(
            N_("comment {comment_id} not found"), field="comment_id", comment_id=comment_id
        )
    return comment


def visible_idea(session: Session, idea_id: int) -> Idea:
    """An idea as a customer may see it: a hidden or merged idea does not exist for them."""
    idea = _get(session, idea_id)
    if idea.hidden or idea.status == domain.MERGED:
        raise NotFound(N_("idea {idea_id} not found"), field="idea_id", idea_id=idea_id)
    return idea


def add_comment(
    session: Session, *, customer_id: int, idea_id: int, body: str, now: datetime
) -> Comment:
    """A signed-in customer's comment on a visible idea: plain text only."""
    idea = visible_idea(session, idea_id)
    clean = domain.clean_text(body, field="body", maximum=domain.COMMENT_MAX, minimum=2)
    comment = Comment(
        idea_id=idea.id, customer_id=customer_id, body=clean, hidden=False, created_at=now
    )
    session.add(comment)
    session.flush()
    customers.record_change(
        session,
        actor=SYSTEM,
        action="ideas.commented",
        entity=("idea_comment", comment.id),
        ref=("idea", idea.id),
        customer_id=customer_id,
        summary=message(N_("Commented on an idea: {title}"), title=idea.title),
        after={"idea_id": idea.id},
        channel="web",
        occurred_at=now,
    )
    return comment


def add_comment_for(
    session: Session, *, actor: Actor, customer_id: int, idea_id: int, body: str, now: datetime
) -> Comment:
    """A customer's comment that reached an agent another way (a letter, a call), written
    down by the agent under the customer's name: the same rules as from the portal."""
    _staff(actor, Permission.CASES_WRITE)
    customers.check_visible(session, actor=actor, customer_id=customer_id)
    comment = add_comment(session, customer_id=customer_id, idea_id=idea_id, body=body, now=now)
    audit.record(
        session,
        actor=actor,
        action="ideas.comment_recorded",
        entity_type="idea_comment",
        entity_id=comment.id,
        customer_id=customer_id,
        after={"idea_id": idea_id},
    )
    return comment


def public_comments(session: Session, *, idea_id: int) -> list[Comment]:
    """What customers see under a visible idea: the comments not hidden, oldest first."""
    visible_idea(session, idea_id)
    return list(
        session.scalars(
            select(Comment)
            .where(Comment.idea_id == idea_id, Comment.hidden.is_(False))
            .order_by(Comment.id)
        )
    )


def list_comments(session: Session, *, actor: Actor, idea_id: int) -> list[Comment]:
    """Every comment of an idea for the staff, hidden ones included (flagged)."""
    _staff(actor)
    _get(session, idea_id)
    return list(
        session.scalars(select(Comment).where(Comment.idea_id == idea_id).order_by(Comment.id))
    )


def hide_comment(
    session: Session, *, actor: Actor, idea_id: int, comment_id: int, reason: str, now: datetime
) -> Comment:
    """Moderation: the comment leaves the customers' view; the reason is kept for the staff."""
    _staff(actor, Permission.CASES_SUPERVISE)
    comment = _get_comment(session, idea_id, comment_id)
    clean = domain.clean_text(reason or "", field="reason", maximum=1000, minimum=3)
    comment.hidden, comment.hidden_reason, comment.hidden_by = True, clean, actor.label
    audit.record(
        session,
        actor=actor,
        action="ideas.comment_hidden",
        entity_type="idea_comment",
        entity_id=comment.id,
        after={"idea_id": idea_id, "reason": clean, "at": now.isoformat()},
    )
    session.flush()
    return comment


# --------------------------------------------------------------------------------------
# Telling the proposer and the voters
# --------------------------------------------------------------------------------------

MAIL_SUBJECT = N_("Your idea is now {status}: {title}")
MAIL_BODY = N_(
    "Hello,\n\nAn idea you proposed or voted for is now {status}:\n\n  {title}\n\n{answer}"
    "You can see it in your customer space: {link}\n\nThank you for helping us improve.\n"
)
MAIL_ANSWER = N_("“{answer}”")  # the staff's answer, quoted the reader's way


def _consents(session: Session, customer_id: int) -> bool:
    events = customers.consent_history(session, actor=SYSTEM, customer_id=customer_id)
    return any(
        e.purpose == "surveys" and e.granted and e.channel in ("email", "any")
        for e in customers.current_consents(events)
    )


def _notify(
    session: Session,
    idea: Idea,
    customer_ids: Iterable[int],
    *,
    now: datetime,
    merged_into: Idea | None,
) -> int:
    settings = get_settings()
    base = get_voice_settings().public_url.rstrip("/")
    shown = merged_into or idea
    status = domain.MERGED if merged_into is not None else idea.status
    sent = 0
    for customer_id in dict.fromkeys(customer_ids):
        email = customers.primary_email(session, customer_id)
        if not email or not _consents(session, customer_id):
            continue
        # Each in their own language; the idea's for a customer whose language we do not write.
        reader = customers.get_customer(session, actor=SYSTEM, customer_id=customer_id)
        language = pick_locale(reader.preferred_language[:2], idea.language, "en")
        words = translate_context(language, STATUS_CONTEXT, STATUS_WORDS[status])
        title = shown_title(idea, language)
        answer = ""
        if shown.answer and merged_into is None:
            answer = translate(language, MAIL_ANSWER, answer=shown.answer) + "\n\n"
        if merged_into is not None:
            answer = f"→ {shown_title(merged_into, language)}\n\n"
        outbox.enqueue_email(
            session,
            key=f"ideas.{idea.id}.{status}.{customer_id}.{now.isoformat()}",
            sender=settings.mail_from,
            to=email,
            subject=translate(language, MAIL_SUBJECT, status=words, title=title)[:200],
            body=translate(
                language,
                MAIL_BODY,
                status=words,
                title=title,
                answer=answer,
                link=f"{base}/my/ideas#idea-{shown.id}",
            ),
            now=now,
            ref_type="idea",
            ref_id=idea.id,
        )
        sent += 1
    return sent


# --------------------------------------------------------------------------------------
# GDPR
# --------------------------------------------------------------------------------------


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """The ideas a person proposed and those they voted for."""
    mine = session.scalars(select(Idea).where(Idea.customer_id == customer_id))
    voted = session.scalars(
        select(Vote.idea_id).where(Vote.customer_id == customer_id).order_by(Vote.id)
    )
    return {
        "proposed": [
            {
                "id": i.id,
                "title": i.title,
                "body": i.body,
                "category": i.category,
                "status": i.status,
                "created_at": i.created_at.isoformat(),
            }
            for i in mine
        ],
        "voted_for": list(voted),
        "comments": [
            {
                "id": c.id,
                "idea_id": c.idea_id,
                "body": c.body,
                "hidden": c.hidden,
                "created_at": c.created_at.isoformat(),
            }
            for c in session.scalars(
                select(Comment).where(Comment.customer_id == customer_id).order_by(Comment.id)
            )
        ],
    }


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Votes and comments go with the person; their ideas stay for the others who voted,
    without a word of theirs: withdrawn, hidden, unlinked."""
    ids = list(erasure.customer_ids)
    touched = set(session.scalars(select(Vote.idea_id).where(Vote.customer_id.in_(ids))))
    session.execute(delete(Vote).where(Vote.customer_id.in_(ids)))
    session.execute(delete(Comment).where(Comment.customer_id.in_(ids)))
    session.execute(
        update(Idea)
        .where(Idea.customer_id.in_(ids))
        .values(
            customer_id=None,
            title=ERASED_TITLE,
            body="",
            answer=None,
            hidden=True,
            hidden_reason="erased",
        )
        .execution_options(synchronize_session=False)
    )
    for idea_id in touched:
        count = session.scalar(select(func.count()).where(Vote.idea_id == idea_id)) or 0
        session.execute(update(Idea).where(Idea.id == idea_id).values(votes=count))
