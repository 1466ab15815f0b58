"""Figures for the reports: one row per case opened in a period (charts and CSV) with its
SLA outcomes, the open backlog day by day, and what the reports page shows of them (counts,
hour distributions, first-response compliance by team, channel and category)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.cases.domain import format_case_number
from egards.cases.models import Case
from egards.cases.service._common import _iso
from egards.cases.service.queries import _visible

HOUR_BINS = ((0, 1), (1, 2), (2, 4), (4, 8), (8, 24), (24, 48), (48, 96), (96, None))


def _bin_label(low: int, high: int | None) -> str:
    return f"{low}–{high} h" if high is not None else f"> {low} h"


def _distribution(values: list[float]) -> list[int]:
    counts = [0] * len(HOUR_BINS)
    for value in values:
        for index, (low, high) in enumerate(HOUR_BINS):
            if value >= low and (high is None or value < high):
                counts[index] += 1
                break
    return counts


def _compliance(rows: list[dict[str, Any]], key: str) -> dict[str, list[Any]]:
    met: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in rows:
        verdict = row["first_response_breached"]
        if verdict in ("yes", "no"):
            total[row[key] or "—"] += 1
            met[row[key] or "—"] += verdict == "no"
    labels = sorted(total)
    return {
        "labels": labels,
        "values": [round(100 * met[label] / total[label], 1) for label in labels],
        "counts": [total[label] for label in labels],
    }


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


def report_figures(
    session: Session,
    *,
    actor: Actor,
    since: datetime,
    until: datetime,
    now: datetime,
    backlog_days: int,
) -> dict[str, Any]:
    """What the reports page shows of the cases opened in ``[since, until)``: how many were
    opened, answered, resolved and breached their first-response promise, the hours to a first
    answer and to resolution by bin, first-response compliance by team, channel and category,
    and the open backlog of the last ``backlog_days`` days."""
    rows = report_rows(session, actor=actor, since=since, until=until, now=now)
    first = [r["first_response_hours"] for r in rows if r["first_response_hours"] != ""]
    resolution = [r["resolution_hours"] for r in rows if r["resolution_hours"] != ""]
    states: dict[str, int] = defaultdict(int)
    for row in rows:
        states[row["first_response_breached"] or "—"] += 1
    charts = {
        "bins": [_bin_label(low, high) for low, high in HOUR_BINS],
        "first_response": _distribution(first),
        "resolution": _distribution(resolution),
        "by_team": _compliance(rows, "team"),
        "by_channel": _compliance(rows, "channel"),
        "by_category": _compliance(rows, "category"),
        "backlog": backlog(session, actor=actor, days=backlog_days, now=now),
    }
    return {
        "total": len(rows),
        "answered": len(first),
        "resolved": len(resolution),
        "breached": states.get("yes", 0),
        "charts": charts,
    }
