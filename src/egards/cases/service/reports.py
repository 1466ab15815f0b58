"""Figures for the reports: one row per case opened in a period (charts and CSV) with its
SLA outcomes, and the open backlog day by day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.cases.domain import format_case_number
from egards.cases.models import Case
from egards.cases.service._common import _iso
from egards.cases.service.queries import _visible


def report_rows(
    session: Session, *, actor: Actor, since: datetime, until: datetime, now: datetime
) -> list[dict[str, Any]]:
    """One row per case opened in ``[since, until)``: what the charts and the CSV use."""
    actor.require(Permission.CASES_READ)
    query = select(Case).where(Case.created_at >= since, Case.created_at < until)
    if (visible := _visible(actor)) is not None:
        query = query.where(visible)
    rows = []
    for case in session.scalars(query.order_by(Case.id)):
        first = (
            (case.first_response_at - case.created_at).total_seconds() / 3600
            if case.first_response_at
            else None
        )
        resolution = (
            (case.resolved_at - case.created_at).total_seconds() / 3600
            if case.resolved_at
            else None
        )
        rows.append(
            {
                "number": format_case_number(case.id),
                "created_at": case.created_at.isoformat(),
                "channel": case.channel,
                "team": case.team,
                "category": case.category or "",
                "priority": case.priority,
                "status": case.status,
                "customer_id": case.customer_id or "",
                "sla_policy": case.sla_policy,
                "first_response_due_at": _iso(case.first_response_due_at) or "",
                "first_response_at": _iso(case.first_response_at) or "",
                "first_response_hours": round(first, 2) if first is not None else "",
                "first_response_breached": _breached(case, "first", now),
                "resolution_due_at": _iso(case.resolution_due_at) or "",
                "resolved_at": _iso(case.resolved_at) or "",
                "resolution_hours": round(resolution, 2) if resolution is not None else "",
                "resolution_breached": _breached(case, "resolution", now),
                "sla_state": case.sla_state,
                "reopened": case.reopened_count,
            }
        )
    return rows


def _breached(case: Case, which: str, now: datetime) -> str:
    if which == "first":
        if case.first_response_breached is not None:
            return "yes" if case.first_response_breached else "no"
        due = case.first_response_due_at
    else:
        if case.resolution_breached is not None:
            return "yes" if case.resolution_breached else "no"
        due = case.resolution_due_at
    if due is None:
        return ""
    return "yes" if due < now else "pending"


def backlog(session: Session, *, actor: Actor, days: int, now: datetime) -> list[tuple[str, int]]:
    """Open cases at the end of each of the last ``days`` days."""
    actor.require(Permission.CASES_READ)
    start = now - timedelta(days=days)
    visible = _visible(actor)
    rows = session.execute(
        select(Case.created_at, Case.resolved_at, Case.closed_at).where(
            or_(Case.resolved_at.is_(None), Case.resolved_at >= start),
            *([visible] if visible is not None else []),
        )
    ).all()
    points = []
    for offset in range(days, -1, -1):
        moment = now - timedelta(days=offset)
        open_count = sum(
            1
            for created, resolved, closed in rows
            if created <= moment and (resolved or closed or now + timedelta(1)) > moment
        )
        points.append((moment.date().isoformat(), open_count))
    return points
