"""Reports of cancellations: by reason, channel and month, save rates, win-back, time to
acknowledge.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.subscriptions import domain
from egards.subscriptions.models import (
    CancellationRequest,
)


def report(session: Session, *, actor: Actor, lang: str = "en") -> dict[str, Any]:
    """Cancellations by reason, channel and month; save rate by reason and by offer kind, and
    each offer kind's save rate against up to five similar requests given nothing (same
    reason and value band, :func:`domain.compare_saves`); win-back rate; time to
    acknowledge."""
    if not (actor.can(Permission.ANALYTICS_READ) or actor.can(Permission.CASES_SUPERVISE)):
        actor.require(Permission.ANALYTICS_READ)
    rows = session.execute(
        select(
            CancellationRequest.reason,
            CancellationRequest.channel,
            CancellationRequest.received_at,
            CancellationRequest.acknowledged_at,
            CancellationRequest.outcome,
            CancellationRequest.offer,
            CancellationRequest.status,
            CancellationRequest.winback_done_at,
            CancellationRequest.won_back_at,
        )
    ).all()
    by_reason: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    outcomes_by_reason: dict[str, list[str]] = defaultdict(list)
    outcomes_by_offer: dict[str, list[str]] = defaultdict(list)
    waits: list[float] = []
    decided: list[domain.Decided] = []
    contacted = won = 0
    for row in rows:
        reason = row.reason or "none"
        by_reason[reason] += 1
        by_channel[row.channel] += 1
        by_month[row.received_at.strftime("%Y-%m")] += 1
        if row.outcome:
            outcomes_by_reason[reason].append(row.outcome)
            kind = (row.offer or {}).get("kind") or "none"
            outcomes_by_offer[kind].append(row.outcome)
            decided.append(
                domain.Decided(
                    offer_kind=(row.offer or {}).get("kind"),
                    reason=row.reason,
                    value_band=(row.offer or {}).get("value_band"),
                    received_on=row.received_at.date(),
                    stayed=row.outcome != domain.Outcome.CANCELLED,
                )
            )
        if row.acknowledged_at is not None:
            waits.append(max((row.acknowledged_at - row.received_at).total_seconds(), 0.0))
        contacted += row.winback_done_at is not None
        won += row.won_back_at is not None

    def label(code: str) -> str:
        return domain.reason_label(code, lang) if code != "none" else "—"

    return {
        "total": len(rows),
        "by_reason": [(code, label(code), n) for code, n in by_reason.most_common()],
        "by_channel": sorted(by_channel.items()),
        "by_month": sorted(by_month.items()),
        "save_rate_by_reason": [
            (code, label(code), domain.save_rate(v), len(v))
            for code, v in sorted(outcomes_by_reason.items())
        ],
        "save_rate_by_offer": [
            (kind, domain.save_rate(v), len(v)) for kind, v in sorted(outcomes_by_offer.items())
        ],
        "save_rate_against_no_offer": [
            {
                "kind": c.kind,
                "decided": c.decided,
                "matched": c.matched,
                "saved": c.saved,
                "control": c.control,
            }
            for c in domain.compare_saves(decided)
        ],
        "save_rate": domain.save_rate([o for v in outcomes_by_reason.values() for o in v]),
        "winback_contacted": contacted,
        "won_back": won,
        "winback_rate": won / contacted if contacted else None,
        "median_ack_seconds": domain.median_seconds(waits),
        "max_ack_seconds": max(waits) if waits else None,
    }
