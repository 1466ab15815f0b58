"""One scoring run over arrays already read from the database: summaries, value models (fitted
or reused), CLV, RFM segments, churn risk and reasons, and the aggregates the analytics page
shows. No database here: the service reads columns in and writes these columns back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np

from egards.analytics import churn
from egards.analytics.btyd import fit_sbg
from egards.analytics.errors import ModelDidNotConverge, NoTransactions
from egards.analytics.rfm import DEFAULT_SEGMENT_RULES, SegmentRule
from egards.analytics.scoring import (
    EMPTY_SOURCE,
    DailyPurchases,
    ValueModels,
    ValueSummary,
    customer_value,
    daily_purchases,
    fit_value_summary,
    segments,
    value_deciles,
    value_summary,
    window,
)
from egards.errors import N_
from egards.messages import error_message, message

SUBSCRIPTION_GRACE_DAYS = 45  # a monthly subscriber whose last month is older has left


@dataclass(frozen=True, slots=True)
class BatchInput:
    customer_id: np.ndarray
    day: np.ndarray
    amount_cents: np.ndarray
    as_of: int  # days since 1970-01-01
    active_customers: np.ndarray | None = None  # ids that may be scored (not merged/erased)
    events: churn.CustomerEvents = field(default_factory=churn.CustomerEvents)
    # (customer id, programme, tier rank, tier code) of loyalty members, and each programme's
    # tiers in order, for "tier against real value".
    members: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    programme_tiers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # (customer id, day) of each paid subscription month, for the sBG cohorts.
    subscriptions: tuple[np.ndarray, np.ndarray] | None = None
    # How many transactions there are, when an engine outside (Spark) holds them (the arrays
    # are then empty); None when the arrays are the transactions themselves.
    transactions: int | None = None


@dataclass(frozen=True, slots=True)
class BatchSettings:
    margin: float = 0.3
    annual_discount_rate: float = 0.10
    clv_months: int = 12
    churn_window_days: int = 180
    churn_training_rows: int = 200_000
    rules: Sequence[SegmentRule] = DEFAULT_SEGMENT_RULES
    value_model: str = "bg_nbd"  # bg_nbd | mbg_nbd | pareto_nbd | holdout
    holdout_days: int = 180


@dataclass
class BatchResult:
    columns: dict[str, np.ndarray]  # one entry per scored customer, in customer id order
    models: ValueModels
    fitted: bool
    report: dict
    counts: dict


Step = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Summaries:
    """What the fits need of a set of customers, small whatever their number: the value
    models' compressed histories, the churn model's counts at its cutoffs, and counts. The
    summaries of any split of the customers merge into those of all (:meth:`merge`)."""

    value: ValueSummary | None  # None when the run reuses a fit
    churn: churn.Labelled
    customers: int  # who had bought by the scoring date
    scorable: int  # of whom active (not merged or erased)
    purchase_days: int

    @classmethod
    def merge(cls, parts: Sequence[Summaries]) -> Summaries:
        if not parts:
            raise NoTransactions(EMPTY_SOURCE)
        values = [p.value for p in parts if p.value is not None]
        return cls(
            ValueSummary.merge(values) if values else None,
            churn.Labelled.merge([p.churn for p in parts]),
            sum(p.customers for p in parts),
            sum(p.scorable for p in parts),
            sum(p.purchase_days for p in parts),
        )


def summaries(
    daily: DailyPurchases,
    *,
    as_of: int,
    settings: BatchSettings,
    active_customers: np.ndarray | None,
    fitting: bool,
) -> Summaries:
    """The :class:`Summaries` of the customers of ``daily`` (the value models' part only when
    ``fitting``)."""
    win = window(daily, cutoff=as_of, recent_days=churn.RECENT_DAYS)
    scorable = win.present
    if active_customers is not None:
        scorable = scorable & np.isin(daily.customers, active_customers)
    holdout = settings.holdout_days if settings.value_model == "holdout" else None
    return Summaries(
        value_summary(win, daily=daily, holdout_days=holdout) if fitting else None,
        churn.labelled_counts(daily, as_of=as_of, horizon=settings.churn_window_days),
        int(win.present.sum()),
        int(scorable.sum()),
        int(daily.day.size),
    )


def refuse_negative(count: int) -> None:
    """Refuse transactions with a negative amount (``count`` of them), before any sum hides
    them."""
    if count:
        raise NoTransactions(
            N_(
                "{count} transactions have a negative amount; refunds must cancel their"
                " purchase, not be scored as purchases"
            ),
            field="amount_cents",
            count=count,
        )


class CustomerScorer(Protocol):
    """The customers of a run, where they are held: :class:`InProcess` (everyone in this
    process), or an engine's partitions of them (Spark:
    :class:`egards.batch.spark.SparkCustomers`), which runs the same functions on each part:
    :func:`summaries` (merged for the fits), :func:`egards.analytics.churn.drawn_rows` (the
    churn model's draws) and :func:`customer_scores`."""

    def summaries(
        self,
        *,
        as_of: int,
        settings: BatchSettings,
        active_customers: np.ndarray | None,
        fitting: bool,
    ) -> Summaries: ...

    def training_rows(
        self,
        events: churn.CustomerEvents,
        positions: dict[str, np.ndarray],
        *,
        as_of: int,
        horizon: int,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]: ...

    def scores(
        self,
        events: churn.CustomerEvents,
        *,
        as_of: int,
        models: ValueModels,
        churn_model: churn.ChurnModel | None,
        settings: BatchSettings,
    ) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True, slots=True)
class InProcess:
    """Every customer's daily purchases in this process (the single-machine run)."""

    daily: DailyPurchases

    def summaries(
        self,
        *,
        as_of: int,
        settings: BatchSettings,
        active_customers: np.ndarray | None,
        fitting: bool,
    ) -> Summaries:
        return summaries(
            self.daily,
            as_of=as_of,
            settings=settings,
            active_customers=active_customers,
            fitting=fitting,
        )

    def training_rows(
        self,
        events: churn.CustomerEvents,
        positions: dict[str, np.ndarray],
        *,
        as_of: int,
        horizon: int,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        found = churn.drawn_rows(self.daily, events, positions, as_of=as_of, horizon=horizon)
        return churn.gathered([found], positions)

    def scores(
        self,
        events: churn.CustomerEvents,
        *,
        as_of: int,
        models: ValueModels,
        churn_model: churn.ChurnModel | None,
        settings: BatchSettings,
    ) -> dict[str, np.ndarray]:
        return customer_scores(
            self.daily,
            events,
            as_of=as_of,
            models=models,
            churn_model=churn_model,
            settings=settings,
        )


def customer_scores(
    daily: DailyPurchases,
    events: churn.CustomerEvents,
    *,
    as_of: int,
    models: ValueModels,
    churn_model: churn.ChurnModel | None,
    settings: BatchSettings,
) -> dict[str, np.ndarray]:
    """Everything a scoring run computes customer by customer, for the customers who had
    bought by ``as_of``, in customer id order: their figures (purchases, spend, first and
    last day), value (:func:`customer_value`), churn features, risk and reasons. Each
    customer's scores depend on their own purchases and events and on the fitted models
    only, so the customers may be split in any way (Spark scores them partition by
    partition with this function); what ranks customers against each other (RFM quintiles,
    value deciles) is computed over everyone afterwards."""
    win = window(daily, cutoff=as_of, recent_days=churn.RECENT_DAYS)
    present = win.present
    value = customer_value(
        win,
        models,
        margin=settings.margin,
        annual_discount_rate=settings.annual_discount_rate,
        months=settings.clv_months,
        churn_window_days=settings.churn_window_days,
    )
    features, _ = churn.build_features(daily, events, cutoff=as_of, win=win)
    if churn_model is None:
        risk = np.exp(-value["expected_purchases_churn_window"])
    else:
        risk = churn_model.predict(features[present])
    reasons = churn.churn_reasons(
        features[present],
        probability_alive=value["probability_alive"],
        downgraded_from=churn.last_downgrade_from(daily, events, cutoff=as_of)[present],
    )
    return {
        "customer_id": daily.customers[present],
        "purchases": win.purchases[present],
        "spend_cents": win.spend[present],
        "first_purchase_day": win.first_day[present],
        "last_purchase_day": win.last_day[present],
        "days_since_last": win.days_since_last[present],
        **value,
        "churn_risk": np.clip(risk, 0.0, 1.0),
        "churn_reasons": reasons,
    }


def run_batch(
    data: BatchInput,
    settings: BatchSettings,
    *,
    reuse: ValueModels | None = None,
    step: Step = lambda _: None,
    scorer: CustomerScorer | None = None,
) -> BatchResult:
    """One scoring run: summaries, the value models fitted (or ``reuse``d) and the churn
    model trained over everyone, then each customer scored by ``scorer`` (by default
    :func:`customer_scores` in this process), then what ranks customers and the report."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def done(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now
        step(name)

    if scorer is None:
        amounts = np.asarray(data.amount_cents)
        refuse_negative(int((amounts < 0).sum()) if amounts.size else 0)
        daily = daily_purchases(
            customer_id=data.customer_id, day=data.day, amount_cents=data.amount_cents
        )
        scorer = InProcess(daily)
    summary = scorer.summaries(
        as_of=data.as_of,
        settings=settings,
        active_customers=data.active_customers,
        fitting=reuse is None,
    )
    if not summary.scorable:
        raise NoTransactions(
            N_("no transactions to score: no active customer bought anything by the scoring date")
        )
    done("summaries")

    if summary.value is not None:
        models, value_report = fit_value_summary(summary.value, purchase_model=settings.value_model)
        fitted = True
    else:
        assert reuse is not None  # the summaries leave out the value part only then
        models, value_report = reuse, {"reused": True}
        fitted = False
    done("value models")

    horizon = settings.churn_window_days
    model, churn_report = churn.train_and_evaluate(
        summary.churn,
        partial(scorer.training_rows, data.events, as_of=data.as_of, horizon=horizon),
        as_of=data.as_of,
        horizon=horizon,
        max_rows=settings.churn_training_rows,
    )
    done("churn model")

    scored = scorer.scores(
        data.events, as_of=data.as_of, models=models, churn_model=model, settings=settings
    )
    ids = scored["customer_id"]
    if ids.size != summary.customers or np.any(ids[1:] <= ids[:-1]):
        raise ValueError("the customer scores do not cover the customers who bought")
    value = scored | segments(
        days_since_last=scored["days_since_last"],
        purchases=scored["purchases"],
        spend=scored["spend_cents"],
        rules=settings.rules,
    )
    done("customer scores")

    # Values are computed for everyone present (the models need the whole population);
    # only active customers are written.
    keep = (
        np.ones(ids.size, dtype=bool)
        if data.active_customers is None
        else np.isin(ids, data.active_customers)
    )
    ids = value["customer_id"][keep]
    clv = value["clv_cents"][keep]
    purchases = value["purchases"][keep]
    spend = np.round(value["spend_cents"][keep])
    columns = {
        "customer_id": ids,
        "purchases": purchases,
        "spend_cents": spend,
        "mean_spend_cents": np.round(spend / np.maximum(purchases, 1)),
        "first_purchase_day": value["first_purchase_day"][keep],
        "last_purchase_day": value["last_purchase_day"][keep],
        "days_since_last": value["days_since_last"][keep],
        "expected_purchases_12m": value["expected_purchases_12m"][keep],
        "probability_alive": value["probability_alive"][keep],
        "expected_spend_cents": value["expected_spend_cents"][keep],
        "clv_cents": clv,
        "value_decile": value_deciles(clv),
        "rfm": value["rfm"][keep],
        "segment": value["segment"][keep],
        "churn_risk": value["churn_risk"][keep],
        "churn_reasons": value["churn_reasons"][keep],
    }
    report = {
        "value_models": value_report,
        "churn": churn_report,
        "segments": _segments(columns),
        "clv_distribution": _histogram(clv),
        # Below ten customers nobody reaches decile 10: the top is then the highest decile.
        "top_decile_clv_cents": float(
            np.min(clv[columns["value_decile"] == columns["value_decile"].max()])
        )
        if clv.size
        else 0.0,
        "tier_value": _tier_value(columns, data.members, data.programme_tiers),
        "subscriptions": _cohorts(data.subscriptions, as_of=data.as_of),
    }
    done("aggregates")
    report["timings"] = timings
    counts = {
        "transactions": int(np.asarray(data.customer_id).size)
        if data.transactions is None
        else data.transactions,
        "purchase_days": summary.purchase_days,
        "customers_with_purchases": summary.customers,
        "customers_scored": int(ids.size),
        "repeat_buyers": int((purchases > 1).sum()),
    }
    return BatchResult(columns, models, fitted, report, counts)


def _segments(columns: dict[str, np.ndarray]) -> list[dict]:
    names, inverse, counts = np.unique(
        columns["segment"].astype(str), return_inverse=True, return_counts=True
    )
    clv = np.bincount(inverse, weights=columns["clv_cents"], minlength=names.size)
    risk = np.bincount(inverse, weights=columns["churn_risk"], minlength=names.size)
    rows = [
        {
            "segment": str(name),
            "customers": int(n),
            "total_clv_cents": float(c),
            "mean_clv_cents": float(c / n),
            "mean_churn_risk": float(r / n),
        }
        for name, n, c, r in zip(names, counts, clv, risk, strict=True)
    ]
    return sorted(rows, key=lambda r: -r["total_clv_cents"])


def _histogram(clv: np.ndarray, bins: int = 20) -> dict:
    if clv.size == 0:
        return {"edges": [], "counts": []}
    top = float(np.quantile(clv, 0.99))
    top = top if top > 0 else float(clv.max()) or 1.0
    edges = np.linspace(0.0, top, bins + 1)
    counts = np.histogram(np.clip(clv, 0.0, top), bins=edges)[0]
    return {"edges": edges.tolist(), "counts": counts.tolist(), "beyond_last": "clipped"}


def _tier_value(columns, members, programme_tiers) -> dict:
    """For each programme and tier: members scored, mean and median CLV, share of the top
    value decile; and how many top-decile customers are untiered (no membership, or the
    programme's entry tier)."""
    ids, clv, decile = columns["customer_id"], columns["clv_cents"], columns["value_decile"]
    top = decile == 10
    result: dict = {"programmes": [], "top_decile_customers": int(top.sum())}
    if members is None or ids.size == 0:
        result["valuable_untiered"] = int(top.sum())
        return result
    m_ids, m_prog, m_rank, _ = members
    pos = np.minimum(np.searchsorted(ids, m_ids), ids.size - 1)
    scored = ids[pos] == m_ids
    recognised = np.zeros(ids.size, dtype=bool)  # above the entry tier of some programme
    for programme, tiers in programme_tiers.items():
        mine = scored & (m_prog == programme)
        rows = []
        for rank, (code, name) in enumerate(tiers):
            at = pos[mine & (m_rank == rank)]
            values = clv[at]
            rows.append(
                {
                    "tier": code,
                    "name": name,
                    "members": int(at.size),
                    "mean_clv_cents": float(values.mean()) if at.size else 0.0,
                    "median_clv_cents": float(np.median(values)) if at.size else 0.0,
                    "top_decile_share": float(top[at].mean()) if at.size else 0.0,
                }
            )
            if rank > 0:
                recognised[at] = True
        result["programmes"].append({"programme": programme, "tiers": rows})
    result["valuable_untiered"] = int((top & ~recognised).sum())
    return result


def _cohorts(subscriptions, *, as_of: int, max_months: int = 36) -> dict:
    """sBG retention by yearly cohort of monthly subscribers (Fader & Hardie 2007)."""
    if subscriptions is None or np.asarray(subscriptions[0]).size == 0:
        return {"cohorts": [], "note": N_("no subscription data")}
    ids, days = (np.asarray(a, dtype=np.int64) for a in subscriptions)
    subscribers, code = np.unique(ids, return_inverse=True)
    first = np.full(subscribers.size, np.iinfo(np.int64).max)
    np.minimum.at(first, code, days)
    last = np.zeros(subscribers.size, dtype=np.int64)
    np.maximum.at(last, code, days)
    months = np.bincount(code, minlength=subscribers.size)
    year = (first.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970).astype(int)
    cohorts = []
    for cohort in np.unique(year):
        inside = year == cohort
        start_latest = int(first[inside].max())
        observable = min(max_months, (as_of - start_latest) // 30)
        entry: dict = {"cohort": int(cohort), "subscribers": int(inside.sum())}
        if inside.sum() < 30 or observable < 3:
            # Messages, not sentences: the page puts them in the reader's language.
            entry["skipped"] = message(N_("fewer than 30 subscribers or 3 months observed"))
            cohorts.append(entry)
            continue
        tenure = np.where(last[inside] >= as_of - SUBSCRIPTION_GRACE_DAYS, 10**6, months[inside])
        survivors = [int((tenure > k).sum()) for k in range(observable + 1)]
        entry["survivors"] = survivors
        if survivors[-1] == survivors[0]:
            entry["skipped"] = message(N_("nobody has left yet"))
            cohorts.append(entry)
            continue
        try:
            fitted = fit_sbg(survivors=survivors)
        except (ValueError, ModelDidNotConverge) as exc:
            # Ours reads in the reader's language; a ValueError is the optimiser's English.
            entry["skipped"] = (
                error_message(exc) if isinstance(exc, ModelDidNotConverge) else str(exc)
            )
            cohorts.append(entry)
            continue
        model = fitted.model
        entry.update(
            params=model.params,
            retention_12m=float(model.survival(np.array([12.0]))[0]),
            observed_12m=survivors[12] / survivors[0] if observable >= 12 else None,
        )
        cohorts.append(entry)
    return {"cohorts": cohorts, "grace_days": SUBSCRIPTION_GRACE_DAYS}
