"""Priority by value (seed 004): a customer's standing, value and churn bands, the queue order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

# --------------------------------------------------------------------------------------
# Priority by value (seed 004): entitlement from status, order by deadline then value
# --------------------------------------------------------------------------------------


class ValueBand(IntEnum):
    """How much the sender is worth to the company, from the customer file, never from
    online influence. ``NONE``: not a known customer."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    TOP = 4


class ChurnBand(IntEnum):
    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


SERVICE_LEVELS = ("standard", "priority", "dedicated")
_LEVEL_BAND = {"standard": ValueBand.LOW, "priority": ValueBand.HIGH, "dedicated": ValueBand.TOP}


@dataclass(frozen=True)
class Standing:
    """What the customer file says about a case's sender, read live at intake and on the
    case page: the tier and its service level (loyalty), value and churn risk (analytics)."""

    customer_id: int | None = None
    tier: str | None = None
    tier_name: Mapping[str, str] | None = None
    """The tier's name by language (``{"en": "Gold", "fr": "Or"}``)."""
    programme: str | None = None
    service_level: str | None = None
    clv_cents: int | None = None
    value_decile: int | None = None
    churn_risk: float | None = None
    segment: str | None = None

    @property
    def is_customer(self) -> bool:
        return self.customer_id is not None


def value_band(standing: Standing) -> ValueBand:
    """The band of the best of two measures: the value decile (1-4 low, 5-7 medium, 8-9 high,
    10 top) and the service level the tier earns (standard low, priority high, dedicated
    top). A customer never scored and without a tier is ``LOW``; a stranger ``NONE``."""
    if not standing.is_customer:
        return ValueBand.NONE
    by_value = ValueBand.LOW
    decile = standing.value_decile or 0
    if decile >= 10:
        by_value = ValueBand.TOP
    elif decile >= 8:
        by_value = ValueBand.HIGH
    elif decile >= 5:
        by_value = ValueBand.MEDIUM
    by_level = _LEVEL_BAND.get((standing.service_level or "").casefold(), ValueBand.LOW)
    return max(by_value, by_level)


def churn_band(churn_risk: float | None, *, threat: bool = False) -> ChurnBand:
    """Churn risk in bands (below 0.3 low, below 0.6 medium); a stated threat to leave (a
    cancellation request, "je ne serai plus client") is high whatever the score says."""
    if threat:
        return ChurnBand.HIGH
    if churn_risk is None:
        return ChurnBand.UNKNOWN
    if churn_risk >= 0.6:
        return ChurnBand.HIGH
    if churn_risk >= 0.3:
        return ChurnBand.MEDIUM
    return ChurnBand.LOW


CHURN_THREAT_CATEGORIES = frozenset({"cancellation"})


def is_public_exposure(audience: int | None, *, threshold: int) -> bool:
    """A post seen by a large audience deserves a fast, careful public answer from the
    social team. It is a routing flag: it changes neither the promise nor the queue rank."""
    return audience is not None and threshold > 0 and audience >= threshold


@dataclass(frozen=True)
class QueueEntry:
    """What the priority order looks at, for one waiting case."""

    case_id: int
    deadline: datetime | None
    """The answer's deadline; earlier means nearer to (or further past) a breach."""
    value_band: int = ValueBand.NONE
    churn_band: int = ChurnBand.UNKNOWN
    audience: int | None = None


def priority_key(entry: QueueEntry) -> tuple:
    """The order of every queue (team queue, inbox, "no silence"), first to answer first:

    1. the deadline, earliest first: breach risk is measured by it (a breached case's
       deadline has passed, an at-risk one's is near); cases without one come last;
    2. the value band (``ValueBand``: lifetime value and tier), highest first;
    3. the churn band, highest first;
    4. online audience, largest first: only a tie-break *inside* a value band, so a stranger
       with 50,000 followers never passes a customer of higher value with the same deadline;
    5. the case number, for a stable order.

    ``cases.service.queue_order`` writes the same order in SQL.
    """
    return (
        entry.deadline is None,
        entry.deadline or datetime.max.replace(tzinfo=UTC),
        -int(entry.value_band),
        -int(entry.churn_band),
        -(entry.audience or 0),
        entry.case_id,
    )


def in_priority_order(entries: Iterable[QueueEntry]) -> list[QueueEntry]:
    return sorted(entries, key=priority_key)
