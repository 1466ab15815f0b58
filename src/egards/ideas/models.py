"""Tables of the idea box: ``ideas`` (a customer's proposal, its status, the company's public
answer, moderation and merging), ``idea_votes`` (one vote per customer per idea),
``idea_comments`` and ``idea_tags`` (the staff's tags)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from egards.db import Base, BigIntKey, utcnow


class Idea(Base):
    """One proposal: what the customer wrote, where it stands, what the company answered."""

    __tablename__ = "ideas"
    __table_args__ = (
        Index("ix_ideas_status_votes", "status", "votes"),
        Index("ix_ideas_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), default="new")
    reason: Mapped[str | None] = mapped_column(Text)  # why declined
    answer: Mapped[str | None] = mapped_column(Text)  # the company's public answer
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime | None]
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id"))
    votes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    tag_rows: Mapped[list[IdeaTag]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="IdeaTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class Vote(Base):
    """One customer's vote for one idea."""

    __tablename__ = "idea_votes"
    __table_args__ = (
        UniqueConstraint("idea_id", "customer_id"),
        Index("ix_idea_votes_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Comment(Base):
    """A signed-in customer's comment on an idea; staff may hide it, with a reason."""

    __tablename__ = "idea_comments"
    __table_args__ = (
        Index("ix_idea_comments_idea", "idea_id", "id"),
        Index("ix_idea_comments_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    body: Mapped[str] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    hidden_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdeaTag(Base):
    """A tag the staff put on an idea (``wifi``, ``lounge``), to group and find ideas."""

    __tablename__ = "idea_tags"
    __table_args__ = (Index("ix_idea_tags_tag", "tag"),)

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
