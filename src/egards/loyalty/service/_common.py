"""What the parts of the loyalty service share: the clock (:func:`today`, which use cases take
as a parameter so that tests can set the day), the programmes this installation runs, and the
rows a tier event writes on the bulk paths (period ends and bulk histories)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from egards.accounts.domain import Actor
from egards.db import utcnow
from egards.errors import NotFound
from egards.i18n import N_, render_message
from egards.loyalty import domain
from egards.loyalty.programme import PROGRAMMES_DIR, Programme, load_programme

Today = Callable[[], date]


def today() -> date:
    return utcnow().date()


@cache
def programmes() -> dict[str, Programme]:
    """The programmes this installation runs: the bundled examples, by their code."""
    loaded = [load_programme(path) for path in sorted(Path(PROGRAMMES_DIR).glob("*.yaml"))]
    return {programme.code: programme for programme in loaded}


def get_programme(code: str) -> Programme:
    try:
        return programmes()[code]
    except KeyError:
        raise NotFound(
            N_("no programme {code!r}"), code=code, field="programme", known=", ".join(programmes())
        ) from None


def _tier_change_row(
    member_id: int, event: domain.TierEvent, actor: Actor, now: datetime
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "on": event.on,
        "kind": event.kind,
        "from_tier": event.from_tier,
        "to_tier": event.to_tier,
        "message": event.reason,
        "source": "activity",
        "actor_label": actor.label,
        "justification": None,
        "created_at": now,
    }


def _timeline_row(
    customer_id: int, member_id: int, event: domain.TierEvent, actor: Actor
) -> dict[str, Any]:
    """What :func:`customers.record_event` writes for a tier event, as a row for a bulk path."""
    return {
        "customer_id": customer_id,
        "occurred_at": utcnow(),
        "kind": f"tier.{event.kind}",
        "channel": "api",
        "silo": "loyalty",
        "summary": render_message("en", event.reason),
        "message": event.reason,
        "actor_label": actor.label,
        "organisation_id": actor.organisation_id,
        "ref_type": "loyalty_member",
        "ref_id": str(member_id),
    }
