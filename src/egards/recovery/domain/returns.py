"""The return on gestures: what treated customers did against comparable ones."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

import numpy as np

from egards.errors import InvalidInput
from egards.recovery.domain.catalogue import (
    _is_int,
)
from egards.recovery.domain.vocabulary import (
    KINDS,
    GestureKind,
)


@dataclass(frozen=True)
class Outcome:
    """What followed a gesture (treated) or a similar case that received none (control)."""

    customer_id: int
    on: date
    category: str | None
    value_band: int
    kind: GestureKind | None
    cost_cents: int = 0
    spend_90_cents: int = 0
    spend_180_cents: int = 0
    active_180: bool = False
    stayed: bool = True
    csat: int | None = None


@dataclass(frozen=True)
class KindReturn:
    """The matched comparison for one gesture kind (or ``all``)."""

    kind: str
    gestures: int
    matched: int
    cost_cents: int
    spend_180_treated_cents: float
    spend_180_control_cents: float
    spend_90_treated_cents: float
    spend_90_control_cents: float
    stayed_treated: float
    stayed_control: float
    csat_treated: float | None
    csat_control: float | None
    uplift_cents: int
    return_per_euro: float | None


@dataclass(frozen=True)
class ReturnReport:
    """Returns by kind in catalogue order, their total, and how they were computed."""

    kinds: list[KindReturn]
    total: KindReturn
    method: str
    method_fr: str = ""


@dataclass(frozen=True)
class _Pair:
    """One treated outcome and the means of its matched controls (``None`` when unmatched)."""

    treated: Outcome
    spend_180: Fraction | None
    spend_90: Fraction | None
    stayed: Fraction | None
    csat: Fraction | None


def _check_outcome(outcome: Outcome, *, treated: bool) -> None:
    where = "treated" if treated else "controls"
    if treated and outcome.kind not in KINDS:
        raise InvalidInput(
            f"A treated outcome needs a gesture kind, got {outcome.kind!r}.", field=where
        )
    if not treated and outcome.kind is not None:
        raise InvalidInput("A control received no gesture: its kind is None.", field=where)
    for name in ("cost_cents", "spend_90_cents", "spend_180_cents", "value_band"):
        if getattr(outcome, name) < 0:
            raise InvalidInput(f"{name} cannot be negative.", field=where)
    if outcome.csat is not None and not 1 <= outcome.csat <= 5:
        raise InvalidInput("CSAT is between 1 and 5.", field=where)


def _match(
    treated: Sequence[Outcome], controls: Sequence[Outcome], *, window_days: int, k: int
) -> list[_Pair]:
    """For each treated outcome, the means over its k nearest controls of the same stratum."""
    strata: dict[tuple[str | None, int], list[Outcome]] = defaultdict(list)
    for control in controls:
        strata[(control.category, control.value_band)].append(control)
    arrays = {}
    for key, group in strata.items():
        days = np.array([c.on.toordinal() for c in group], dtype=np.int64)
        order = np.argsort(days, kind="stable")
        arrays[key] = (
            days[order],
            np.array([c.customer_id for c in group], dtype=np.int64)[order],
            [group[i] for i in order],
        )
    pairs: list[_Pair] = []
    for outcome in treated:
        found = arrays.get((outcome.category, outcome.value_band))
        chosen: list[Outcome] = []
        if found is not None:
            days, ids, group = found
            day = outcome.on.toordinal()
            lo = int(np.searchsorted(days, day - window_days, side="left"))
            hi = int(np.searchsorted(days, day + window_days, side="right"))
            window = np.arange(lo, hi)
            window = window[ids[lo:hi] != outcome.customer_id]
            distance = np.abs(days[window] - day)
            nearest = window[np.lexsort((ids[window], distance))][:k]
            chosen = [group[i] for i in nearest]
        if not chosen:
            pairs.append(_Pair(outcome, None, None, None, None))
            continue
        n = len(chosen)
        rated = [c.csat for c in chosen if c.csat is not None]
        pairs.append(
            _Pair(
                outcome,
                Fraction(sum(c.spend_180_cents for c in chosen), n),
                Fraction(sum(c.spend_90_cents for c in chosen), n),
                Fraction(sum(1 for c in chosen if c.stayed), n),
                Fraction(sum(rated), len(rated)) if rated else None,
            )
        )
    return pairs


def _mean(values: list[Fraction]) -> float:
    return float(sum(values, Fraction(0)) / len(values)) if values else 0.0


def _summarise(kind: str, pairs: list[_Pair], margin_percent: int) -> KindReturn:
    matched = [p for p in pairs if p.spend_180 is not None]
    uplift = sum(
        (Fraction(p.treated.spend_180_cents) - (p.spend_180 or 0) for p in matched), Fraction(0)
    )
    matched_cost = sum(p.treated.cost_cents for p in matched)
    own_csat = [Fraction(p.treated.csat) for p in matched if p.treated.csat is not None]
    other_csat = [p.csat for p in matched if p.csat is not None]
    return KindReturn(
        kind=kind,
        gestures=len(pairs),
        matched=len(matched),
        cost_cents=sum(p.treated.cost_cents for p in pairs),
        spend_180_treated_cents=_mean([Fraction(p.treated.spend_180_cents) for p in matched]),
        spend_180_control_cents=_mean([p.spend_180 for p in matched if p.spend_180 is not None]),
        spend_90_treated_cents=_mean([Fraction(p.treated.spend_90_cents) for p in matched]),
        spend_90_control_cents=_mean([p.spend_90 for p in matched if p.spend_90 is not None]),
        stayed_treated=_mean([Fraction(int(p.treated.stayed)) for p in matched]),
        stayed_control=_mean([p.stayed for p in matched if p.stayed is not None]),
        csat_treated=_mean(own_csat) if own_csat else None,
        csat_control=_mean(other_csat) if other_csat else None,
        uplift_cents=math.floor(uplift + Fraction(1, 2)),
        return_per_euro=(
            float(uplift * margin_percent / 100 / matched_cost) if matched_cost > 0 else None
        ),
    )


def compare(
    treated: Sequence[Outcome],
    controls: Sequence[Outcome],
    *,
    margin_percent: int = 30,
    window_days: int = 60,
    k: int = 5,
) -> ReturnReport:
    """Return on gestures by kind, from a matched comparison with cases that received nothing.

    Each gesture is matched with up to ``k`` controls of the same case category and value band,
    dated within ``window_days`` of it, from other customers, nearest in time first (ties by
    customer id). Gestures without a match count in ``gestures`` only. Uplift is summed over
    matched gestures; the return per euro divides uplift × margin by the matched gestures' cost.
    """
    if not _is_int(margin_percent) or not 0 <= margin_percent <= 100:
        raise InvalidInput("The margin is a percent between 0 and 100.", field="margin_percent")
    if not _is_int(window_days) or window_days < 0:
        raise InvalidInput("The window is a number of days, not negative.", field="window_days")
    if not _is_int(k) or k < 1:
        raise InvalidInput("At least one control per gesture.", field="k")
    for outcome in treated:
        _check_outcome(outcome, treated=True)
    for outcome in controls:
        _check_outcome(outcome, treated=False)
    pairs = _match(treated, controls, window_days=window_days, k=k)
    by_kind: dict[str, list[_Pair]] = defaultdict(list)
    for pair in pairs:
        by_kind[str(pair.treated.kind)].append(pair)
    kinds = [_summarise(kind, by_kind[kind], margin_percent) for kind in KINDS if kind in by_kind]
    return ReturnReport(
        kinds=kinds,
        total=_summarise("all", pairs, margin_percent),
        method=_method(margin_percent=margin_percent, window_days=window_days, k=k),
        method_fr=_method_fr(margin_percent=margin_percent, window_days=window_days, k=k),
    )


def stayed_after(on: date, ended_on: Sequence[date], *, days: int = 180) -> bool:
    """A subscriber stayed after ``on`` when none of their contracts ended in the ``days``
    that followed: a cancellation is what leaving means for them, not a quiet shop."""
    return not any(on < end <= on + timedelta(days=days) for end in ended_on)


def _method(*, margin_percent: int, window_days: int, k: int) -> str:
    return (
        f"Each gesture is compared with up to {k} cases that received no gesture: same case "
        f"category, same customer value band, opened within {window_days} days of the gesture, "
        "from other customers, the nearest in time first (ties by customer id). For each "
        "gesture the control figures are the means over its matches; the report shows the "
        "means over matched gestures of spend in the 90 and 180 days after, the share of "
        "customers who stayed (a subscriber stayed when no contract of theirs ended in the 180 "
        "days after; another customer when still active and buying in those days), and CSAT "
        "on the case. Uplift is the sum, over matched gestures, "
        "of the customer's 180-day spend minus the mean of its matches'; the return per euro "
        f"is that uplift at a {margin_percent}% margin divided by the cost of the matched "
        "gestures. Gestures without any match are counted and costed but left out of the "
        "comparison. This is a matched comparison, not a randomised trial: agents chose who "
        "received a gesture, so read the figures as an indication, not as proof."
    )


def _method_fr(*, margin_percent: int, window_days: int, k: int) -> str:
    return (
        f"Chaque geste est comparé à {k} demandes au plus qui n'en ont reçu aucun : même "
        f"catégorie, même tranche de valeur client, ouvertes à {window_days} jours au plus du "
        "geste, d'autres clients, les plus proches dans le temps d'abord (à égalité, par numéro "
        "de client). Pour chaque geste, les chiffres témoins sont les moyennes de ses "
        "appariements ; le rapport montre les moyennes, sur les gestes appariés, des dépenses "
        "dans les 90 et 180 jours suivants, de la part de clients restés (un abonné est resté "
        "si aucun de ses contrats n'a pris fin dans les 180 jours suivants ; un autre client "
        "s'il est toujours actif et a acheté pendant ces jours) et de la satisfaction sur la "
        "demande. Le gain est la somme, sur les gestes appariés, des dépenses à 180 jours "
        "du client moins la moyenne de celles de ses témoins ; le retour par euro est ce gain, "
        f"à {margin_percent} % de marge, divisé par le coût des gestes appariés. Les gestes sans "
        "témoin sont comptés et leur coût aussi, mais ils sortent de la comparaison. C'est une "
        "comparaison appariée, pas un essai randomisé : les conseillers ont choisi à qui faire "
        "un geste, ces chiffres indiquent une tendance, ils ne prouvent rien."
    )
