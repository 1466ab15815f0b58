"""Tables of cases and listening.

SLA clocks are stored on the case, denormalised (deadlines, the next instant a sweep must
look at the case, the state): sweeps and the "no silence" view read indexed columns instead
of recomputing every clock. ``status_log`` keeps the status history the clocks are rebuilt
from whenever something changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from egards.db import Base, BigIntKey

_OPEN = text("status NOT IN ('resolved', 'closed')")
_AWAITING = text("awaiting_since IS NOT NULL")
_REPLY_PENDING = text("awaiting_since IS NOT NULL AND NOT reply_overdue AND sla_state <> 'paused'")
_CHECK = text("next_check_at IS NOT NULL")
_ON_TRACK = text("sla_state = 'on_track'")
_RUNNING = text("sla_state IN ('on_track', 'at_risk')")


def _partial(name: str, *columns: str, where: Any) -> Index:
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        _partial("ix_cases_no_silence", "reply_due_at", "id", where=_AWAITING),
        _partial("ix_cases_reply_pending", "reply_due_at", where=_REPLY_PENDING),
        _partial("ix_cases_next_check", "next_check_at", where=_CHECK),
        _partial("ix_cases_at_risk_at", "at_risk_at", where=_ON_TRACK),
        _partial("ix_cases_due_at", "due_at", where=_RUNNING),
        _partial("ix_cases_team_open", "team", "due_at", "id", where=_OPEN),
        _partial("ix_cases_assignee_open", "assignee_id", "due_at", "id", where=_OPEN),
        Index("ix_cases_customer", "customer_id", "created_at"),
        Index("ix_cases_organisation", "organisation_id", "created_at"),
        Index("ix_cases_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    channel: Mapped[str] = mapped_column(String(20))
    team: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(60))
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(5))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    sender_name: Mapped[str | None] = mapped_column(String(200))
    sender_address: Mapped[str | None] = mapped_column(String(320))
    """The e-mail, phone or handle the case came from (what an acknowledgement goes to)."""
    sender_kind: Mapped[str | None] = mapped_column(String(20))
    loyalty_tier: Mapped[str | None] = mapped_column(String(40))
    service_level: Mapped[str | None] = mapped_column(String(20))
    """The service level the sender's live tier earned at intake (the promise's entitlement);
    ``None`` for an unknown sender."""
    value_band: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    """``domain.ValueBand`` at intake: the queue's second key, after the deadline."""
    churn_band: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    audience: Mapped[int | None] = mapped_column(BigInteger)
    """Followers of the social profile that wrote, when known: a tie-break, never a rank."""
    public_exposure: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A post seen by a large audience: routed to the social team for a careful public answer,
    without changing the promise."""
    opened_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    sla_policy: Mapped[str] = mapped_column(String(60))
    status_log: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    first_response_due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    first_response_breached: Mapped[bool | None] = mapped_column(Boolean)
    next_response_started_at: Mapped[datetime | None]
    next_response_due_at: Mapped[datetime | None]
    next_response_breaches: Mapped[int] = mapped_column(Integer, default=0)
    resolution_due_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolution_breached: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None]
    closure_reason: Mapped[str | None] = mapped_column(Text)
    awaiting_since: Mapped[datetime | None]
    """Oldest customer message still awaiting a human answer; the "no silence" view."""
    reply_due_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    at_risk_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    """When the sweep must look at this case next (next escalation step)."""
    sla_state: Mapped[str] = mapped_column(String(12))
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_overdue: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Set by the sweep once the awaited answer is late; counted in ``case_counters``."""
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    """The customer's rating of how the case was handled (CSAT, 1 to 5), when surveyed."""
    satisfaction_at: Mapped[datetime | None]

    messages: Mapped[list[CaseMessage]] = relationship(
        back_populates="case", lazy="raise", order_by="CaseMessage.id"
    )


class CaseMessage(Base):
    __tablename__ = "case_messages"
    __table_args__ = (Index("ix_case_messages_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20))
    """inbound, reply, note, acknowledgement, system."""
    channel: Mapped[str] = mapped_column(String(20))
    author_label: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_address: Mapped[str | None] = mapped_column(String(320))
    to_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    """Sanitised before storage: nothing executable reaches the console."""
    message_id: Mapped[str | None] = mapped_column(String(300), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    references: Mapped[str | None] = mapped_column(Text)
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_inbound.id"))
    awaiting_answer: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None]
    delivery: Mapped[str | None] = mapped_column(String(20))
    """For outgoing messages: queued (outbox), manual (phone, letter) or none."""
    outbox_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]

    case: Mapped[Case] = relationship(back_populates="messages", lazy="raise")
    attachments: Mapped[list[CaseAttachment]] = relationship(
        lazy="raise", order_by="CaseAttachment.id"
    )


class CaseAttachment(Base):
    __tablename__ = "case_attachments"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("case_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    accepted: Mapped[bool] = mapped_column(Boolean)
    refusal: Mapped[str | None] = mapped_column(String(300))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)


class RawInbound(Base):
    """What arrived, byte for byte, stored before anything tries to parse it."""

    __tablename__ = "raw_inbound"
    __table_args__ = (
        Index("ix_raw_inbound_status", "status", "received_at"),
        Index("ix_raw_inbound_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime]
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    status: Mapped[str] = mapped_column(String(20))
    """received, processed, duplicate, ignored (machine mail), spam, failed."""
    mail_kind: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


class ImapMailbox(Base):
    """Where the poller stands in one IMAP mailbox, and how its last attempts went.

    Every UID up to ``last_uid`` of the mailbox generation ``uid_validity`` has been stored,
    whatever its flags; at the first contact with a mailbox, the UIDs up to
    ``backlog_until`` are read only if unseen (see ``domain.uids_to_fetch``).
    ``failures`` in a row space out the next attempts until ``retry_at``.
    """

    __tablename__ = "imap_mailboxes"

    account: Mapped[str] = mapped_column(String(400), primary_key=True)
    """user@host:port/mailbox"""
    uid_validity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    backlog_until: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    polled_at: Mapped[datetime | None]


class CaseStatusChange(Base):
    __tablename__ = "case_status_changes"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor_label: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)


class CaseEscalation(Base):
    """A rung of the ladder that fired, once per clock run (``clock_started_at``)."""

    __tablename__ = "case_escalations"
    __table_args__ = (UniqueConstraint("case_id", "metric", "clock_started_at", "step_key"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    metric: Mapped[str] = mapped_column(String(20))
    clock_started_at: Mapped[datetime]
    step_key: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(30))
    fired_at: Mapped[datetime]
    detail: Mapped[str | None] = mapped_column(Text)
    # ``detail`` as data (``egards.i18n.message``), rendered in the reader's language.
    message: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CaseLink(Base):
    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "linked_case_id", "kind"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    linked_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    """related, duplicate_of, follow_up_of."""
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class AgentProfile(Base):
    """What an agent handles, for automatic assignment."""

    __tablename__ = "case_agents"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    teams: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    accepting: Mapped[bool] = mapped_column(Boolean, default=True)
    last_assigned_at: Mapped[datetime | None]


class WebhookReceipt(Base):
    """Signatures already accepted: the same signed request twice is a replay."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("source", "digest"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)


class CaseCounter(Base):
    """Running totals of the "no silence" view, so that it never counts a million rows.

    ``waiting``: cases awaiting an answer; ``overdue``: those the sweep found late. Spread
    over shards (by case id) so that concurrent transactions rarely update the same row.
    """

    __tablename__ = "case_counters"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
