"""Batch scoring over plain arrays: purchases per customer and day, value models, scores.

Everything here works on NumPy arrays indexed by a dense customer code, so that a base of
millions of customers costs a few sorts and ``bincount`` passes; the database side
(:mod:`egards.analytics.service`) only reads columns in and writes columns out.

Conventions are those of :func:`egards.analytics.summary.summarise_transactions` with daily
periods and days as the time unit: several purchases on one day are one purchase; ``frequency``
counts repeat days; ``recency`` and ``T`` are ages in days from the first purchase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from egards.analytics.btyd import (
    DAYS_PER_MONTH,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
    fit_bg_nbd,
    fit_gamma_gamma,
    fit_mbg_nbd,
    fit_pareto_nbd,
    monthly_rate_from_annual,
)
from egards.analytics.btyd._rows import unique_rows
from egards.analytics.diagnostics import period_transactions
from egards.analytics.errors import ModelDidNotConverge, NoTransactions
from egards.analytics.rfm import DEFAULT_SEGMENT_RULES, SegmentRule, assign_segments, rfm_scores
from egards.errors import N_
from egards.messages import error_message, message, plural_message

__all__ = [
    "DailyPurchases",
    "Histories",
    "ValueModels",
    "ValueSummary",
    "Window",
    "customer_value",
    "daily_purchases",
    "fit_value_models",
    "fit_value_summary",
    "segments",
    "value_deciles",
    "value_summary",
    "window",
]

# Gamma-Gamma needs enough repeat buyers to say anything about spend heterogeneity; below
# this the population's mean spend per purchase is used for everyone (and the report says so).
MIN_REPEAT_BUYERS = 30
# A parameter this close to the optimiser's bounds (e^±25) means the likelihood ran away.
_BOUND = 24.0
# When plain maximum likelihood runs away (a small or unusual population: a few dozen
# customers, everybody buying on a fixed rhythm), BG/NBD is fitted again with its
# log-parameters shrunk towards the moments start, by this much per customer.
SHRINKAGE = 0.05
EMPTY_SOURCE = N_("no transactions to score: the transaction source is empty")


@dataclass(frozen=True, slots=True)
class DailyPurchases:
    """Purchases summed per customer and day, sorted by customer then day."""

    customers: np.ndarray  # distinct customer ids, ascending
    code: np.ndarray  # per row: index into ``customers``
    day: np.ndarray  # per row: days since 1970-01-01
    amount: np.ndarray  # per row: the day's total, in cents
    starts: np.ndarray  # per customer: its first row

    @property
    def size(self) -> int:
        return int(self.customers.size)


def daily_purchases(*, customer_id, day, amount_cents) -> DailyPurchases:
    """Group raw transactions into one purchase per customer and day."""
    ids = np.asarray(customer_id, dtype=np.int64)
    days = np.asarray(day, dtype=np.int64)
    amounts = np.asarray(amount_cents, dtype=np.float64)
    if not (ids.shape == days.shape == amounts.shape):
        raise ValueError("customer_id, day and amount_cents must have the same length")
    if ids.size == 0:
        raise NoTransactions(EMPTY_SOURCE)
    customers, code = _dense_codes(ids)
    first = int(days.min())
    span = int(days.max()) - first + 1
    # One sortable key per (customer, day): one sort groups the rows, and the day's total is
    # a sum over each run of equal keys.
    key = code * span + (days - first)
    order = _sorting_order(key)
    key = key[order]
    starts_of_day = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    keys = key[starts_of_day]
    amount = np.add.reduceat(amounts[order], starts_of_day)
    row_code = keys // span
    starts = np.flatnonzero(np.r_[True, row_code[1:] != row_code[:-1]])
    return DailyPurchases(customers, row_code, keys % span + first, amount, starts)


def _sorting_order(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key)``, faster: each key packed with its position into one integer that
    NumPy sorts in place (a plain sort runs about twice as fast as an argsort), when both
    fit in 63 bits."""
    position_bits = max(int(key.size - 1).bit_length(), 1)
    if key.size == 0 or int(key.max()) >= 1 << (63 - position_bits):
        return np.argsort(key)
    packed = key << position_bits
    packed |= np.arange(key.size, dtype=np.int64)
    packed.sort()
    packed &= (1 << position_bits) - 1
    return packed


def _dense_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ids, ascending, and each row's index among them.

    Database ids are dense: a table over their range codes ten million rows in one pass
    instead of a sort; sparse ids fall back to sorting.
    """
    low, high = int(ids.min()), int(ids.max())
    if high - low > 4 * ids.size + 1_000_000:
        customers, code = np.unique(ids, return_inverse=True)
        return customers, code.reshape(-1).astype(np.int64)
    seen = np.zeros(high - low + 1, dtype=bool)
    seen[ids - low] = True
    present = np.flatnonzero(seen)
    rank = np.zeros(seen.size, dtype=np.int64)
    rank[present] = np.arange(present.size)
    return present + low, rank[ids - low]


@dataclass(frozen=True, slots=True)
class Window:
    """Each customer's purchases up to ``cutoff`` (inclusive); ``present`` had one by then."""

    cutoff: int
    present: np.ndarray
    purchases: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    spend: np.ndarray
    first_spend: np.ndarray
    purchases_recent: np.ndarray
    purchases_before: np.ndarray
    spend_recent: np.ndarray
    spend_before: np.ndarray

    @property
    def frequency(self) -> np.ndarray:
        return np.maximum(self.purchases - 1, 0).astype(float)

    @property
    def recency(self) -> np.ndarray:
        return np.where(self.present, self.last_day - self.first_day, 0).astype(float)

    @property
    def T(self) -> np.ndarray:
        return np.where(self.present, self.cutoff - self.first_day, 0).astype(float)

    @property
    def monetary_value(self) -> np.ndarray:
        """Mean value of the repeat purchases (0 without repeat purchase), as in lifetimes."""
        repeat = self.spend - self.first_spend
        f = self.frequency
        return np.divide(repeat, f, out=np.zeros_like(repeat), where=f > 0)

    @property
    def days_since_last(self) -> np.ndarray:
        return np.where(self.present, self.cutoff - self.last_day, 0)


def window(daily: DailyPurchases, *, cutoff: int, recent_days: int = 90) -> Window:
    """Per-customer figures as they stood at ``cutoff``; ``recent`` is the last
    ``recent_days`` days and ``before`` the same length of time just before."""
    m = daily.size
    upto = daily.day <= cutoff
    purchases = np.bincount(daily.code[upto], minlength=m)
    spend = np.bincount(daily.code[upto], weights=daily.amount[upto], minlength=m)
    present = purchases > 0
    # Rows are sorted by day within a customer: those up to the cutoff are a prefix.
    last_row = daily.starts + np.maximum(purchases, 1) - 1
    recent = upto & (daily.day > cutoff - recent_days)
    before = (daily.day <= cutoff - recent_days) & (daily.day > cutoff - 2 * recent_days)
    return Window(
        cutoff=cutoff,
        present=present,
        purchases=purchases,
        first_day=daily.day[daily.starts],
        last_day=daily.day[last_row],
        spend=spend,
        first_spend=daily.amount[daily.starts],
        purchases_recent=np.bincount(daily.code[recent], minlength=m),
        purchases_before=np.bincount(daily.code[before], minlength=m),
        spend_recent=np.bincount(daily.code[recent], weights=daily.amount[recent], minlength=m),
        spend_before=np.bincount(daily.code[before], weights=daily.amount[before], minlength=m),
    )


#: The purchase models scoring can use, by the name settings and stored runs give them.
PURCHASE_MODELS = {
    "bg_nbd": (BetaGeoModel, "BG/NBD"),
    "mbg_nbd": (ModifiedBetaGeoModel, "MBG/NBD"),
    "pareto_nbd": (ParetoNBDModel, "Pareto/NBD"),
}


@dataclass(frozen=True, slots=True)
class ValueModels:
    """A purchase model (BG/NBD, MBG/NBD or Pareto/NBD; the field keeps its historical name)
    and Gamma-Gamma for spend (or a flat mean spend, in cents)."""

    bg_nbd: BetaGeoModel | ParetoNBDModel
    gamma_gamma: GammaGammaModel | None
    mean_spend_cents: float
    purchase_model: str = "bg_nbd"
    chosen_by: str = "setting"  # or "holdout": the best of a holdout comparison

    @property
    def setting(self) -> str:
        """The value of ``EGARDS_ANALYTICS_VALUE_MODEL`` these models were fitted under."""
        return "holdout" if self.chosen_by == "holdout" else self.purchase_model

    def as_parameters(self) -> dict:
        # Stored under "bg_nbd" whatever the model, with its name beside: older runs read on.
        return {
            "bg_nbd": self.bg_nbd.params,
            "purchase_model": self.purchase_model,
            "chosen_by": self.chosen_by,
            "gamma_gamma": None if self.gamma_gamma is None else self.gamma_gamma.params,
            "mean_spend_cents": self.mean_spend_cents,
            "time_unit": "day",
        }

    @classmethod
    def from_parameters(cls, parameters: dict) -> ValueModels:
        gg = parameters.get("gamma_gamma")
        name = str(parameters.get("purchase_model") or "bg_nbd")
        model_class = PURCHASE_MODELS[name][0]
        return cls(
            model_class(**parameters["bg_nbd"]),
            None if gg is None else GammaGammaModel(**gg),
            float(parameters["mean_spend_cents"]),
            name,
            str(parameters.get("chosen_by") or "setting"),
        )


def _check_converged(name: str, fitted, n: int) -> None:
    params = np.array(list(fitted.model.params.values()), dtype=float)
    if not np.all(np.isfinite(params)) or not np.isfinite(fitted.log_likelihood):
        raise ModelDidNotConverge(
            N_("{model} did not converge on {n} customers: the likelihood is not finite"),
            model=name,
            n=n,
        )
    if np.any(np.abs(np.log(params)) > _BOUND):
        raise ModelDidNotConverge(
            N_(
                "{model} did not converge on {n} customers: a parameter ran to its bound"
                " ({parameters}); the data may have too little variation (e.g. everybody"
                " buys exactly once)"
            ),
            model=name,
            n=n,
            parameters=", ".join(f"{k}={v:.3g}" for k, v in fitted.model.params.items()),
        )
    if not fitted.diagnostics.converged:
        raise ModelDidNotConverge(
            N_("{model} did not converge on {n} customers: {reason}"),
            model=name,
            n=n,
            reason=str(fitted.diagnostics.message),
        )


def _period_transactions(model, frequency, big_t, weights) -> dict:
    """Customers by repeat purchases, actual against the fitted model, for the run's report
    (from the distinct histories and how many customers have each)."""
    comparison = period_transactions(model, frequency=frequency, T=big_t, weights=weights)
    return {
        "labels": comparison.labels,
        "actual": [float(v) for v in comparison.actual],
        "model": [round(float(v), 2) for v in comparison.model],
    }


def _fit_purchase_model(name: str, x, t_x, tt, weights, n: int):
    """Fit one purchase model (BG/NBD falls back on shrinkage); returns it and its report."""
    report: dict = {}
    label = PURCHASE_MODELS[name][1]
    if name == "pareto_nbd":
        fitted = fit_pareto_nbd(frequency=x, recency=t_x, T=tt, weights=weights)
    elif name == "mbg_nbd":
        fitted = fit_mbg_nbd(frequency=x, recency=t_x, T=tt, weights=weights)
    else:
        fitted = fit_bg_nbd(frequency=x, recency=t_x, T=tt, weights=weights)
    try:
        _check_converged(label, fitted, n)
    except ModelDidNotConverge as plain:
        if name != "bg_nbd":
            raise ModelDidNotConverge(
                N_("not enough data to score with {label}: {reason}"),
                model=name,
                label=label,
                reason=plain,
            ) from None
        fitted = fit_bg_nbd(frequency=x, recency=t_x, T=tt, weights=weights, penalty=SHRINKAGE)
        try:
            _check_converged(label, fitted, n)
        except ModelDidNotConverge:
            raise ModelDidNotConverge(
                N_("not enough data to score: {reason}, even with shrinkage"),
                reason=plain,
                model=name,
            ) from None
        report["shrinkage"] = {"per_customer": SHRINKAGE, "because": error_message(plain)}
    return fitted, report


@dataclass(frozen=True, slots=True)
class Histories:
    """Distinct rows of per-customer figures and how many customers have each (as floats, the
    fits' weights), in the canonical order of :func:`unique_rows`. Summaries of any split of
    the customers merge into the summary of all of them (:meth:`merge`), row for row."""

    columns: tuple[np.ndarray, ...]
    weights: np.ndarray

    @classmethod
    def of(cls, *columns: np.ndarray) -> Histories:
        distinct, _, counts = unique_rows(*(np.asarray(c, dtype=float) for c in columns))
        return cls(distinct, counts.astype(float))

    @classmethod
    def merge(cls, parts: Sequence[Histories]) -> Histories:
        columns = [np.concatenate(c) for c in zip(*(p.columns for p in parts), strict=True)]
        distinct, inverse, _ = unique_rows(*columns)
        weights = np.concatenate([p.weights for p in parts])
        return cls(distinct, np.bincount(inverse, weights=weights, minlength=distinct[0].size))

    @property
    def customers(self) -> int:
        return int(self.weights.sum())


@dataclass(frozen=True, slots=True)
class ValueSummary:
    """What the value models are fitted on, compressed: the distinct (frequency, recency, T)
    of the customers present at the cutoff, the distinct (frequency, mean repeat spend in
    currency units) of the repeat buyers, the spend and purchases of all, and for the holdout
    comparison the distinct (frequency, recency, T, purchases in the holdout) as they stood at
    its calibration cutoff."""

    cutoff: int
    histories: Histories
    repeat_spend: Histories
    spend_cents: float
    purchases: int
    holdout: Histories | None = None
    holdout_days: int | None = None

    @classmethod
    def merge(cls, parts: Sequence[ValueSummary]) -> ValueSummary:
        first = parts[0]
        holdouts = [p.holdout for p in parts if p.holdout is not None]
        return cls(
            first.cutoff,
            Histories.merge([p.histories for p in parts]),
            Histories.merge([p.repeat_spend for p in parts]),
            float(sum(p.spend_cents for p in parts)),
            sum(p.purchases for p in parts),
            Histories.merge(holdouts) if holdouts else None,
            first.holdout_days,
        )


def value_summary(
    win: Window, *, daily: DailyPurchases | None = None, holdout_days: int | None = None
) -> ValueSummary:
    """The :class:`ValueSummary` of the customers of ``win``; with the holdout comparison's
    part when ``holdout_days`` is given (it needs ``daily``)."""
    present = win.present
    frequency, recency, big_t = win.frequency[present], win.recency[present], win.T[present]
    monetary = win.monetary_value[present]
    repeat = (frequency > 0) & (monetary > 0)
    holdout = None
    if holdout_days is not None:
        if daily is None:
            raise ValueError("the holdout comparison needs the daily purchases")
        calibration = window(daily, cutoff=win.cutoff - holdout_days)
        before = calibration.present
        holdout = Histories.of(
            calibration.frequency[before],
            calibration.recency[before],
            calibration.T[before],
            win.purchases[before] - calibration.purchases[before],
        )
    return ValueSummary(
        cutoff=win.cutoff,
        # Fitted in currency units rather than cents: the same model, better-scaled numbers.
        histories=Histories.of(frequency, recency, big_t),
        repeat_spend=Histories.of(frequency[repeat], np.round(monetary[repeat]) / 100.0),
        spend_cents=float(win.spend[present].sum()),
        purchases=int(win.purchases[present].sum()),
        holdout=holdout,
        holdout_days=holdout_days,
    )


def _compressed(histories: Histories) -> tuple[np.ndarray, ...]:
    """(frequency, recency, T, weights) of the distinct histories, whatever else their rows
    hold (the holdout's purchases)."""
    (x, t_x, tt), inverse, _ = unique_rows(*histories.columns[:3])
    return x, t_x, tt, np.bincount(inverse, weights=histories.weights, minlength=x.size)


def compare_on_holdout(summary: ValueSummary) -> dict:
    """Fit each purchase model on the purchases up to the holdout's calibration cutoff and
    compare the purchases each predicts over the holdout with those made; the best has the
    lowest mean absolute error per customer."""
    assert summary.holdout is not None and summary.holdout_days is not None
    holdout_days = summary.holdout_days
    frequency, recency, big_t, actual = summary.holdout.columns
    counts = summary.holdout.weights
    n = summary.holdout.customers
    if n == 0 or not np.any(frequency > 0):
        raise ModelDidNotConverge(
            N_("no holdout comparison: nobody bought twice in the {days} days before the holdout"),
            model="holdout",
            days=holdout_days,
        )
    x, t_x, tt, weights = _compressed(summary.holdout)
    candidates: dict[str, dict] = {}
    for name, (_, label) in PURCHASE_MODELS.items():
        try:
            fitted, _ = _fit_purchase_model(name, x, t_x, tt, weights, n)
        except ModelDidNotConverge as failed:
            candidates[name] = {"label": label, "skipped": error_message(failed)}
            continue
        predicted = fitted.model.conditional_expected_purchases(
            t=float(holdout_days), frequency=frequency, recency=recency, T=big_t
        )
        candidates[name] = {
            "label": label,
            "params": fitted.model.params,
            "log_likelihood": fitted.log_likelihood,
            "predicted_purchases": round(float(np.sum(predicted * counts)), 1),
            "mean_absolute_error": float(np.sum(np.abs(predicted - actual) * counts) / n),
        }
    ranked = [k for k in candidates if "mean_absolute_error" in candidates[k]]
    if not ranked:
        raise ModelDidNotConverge(N_("no purchase model could be fitted on the calibration data"))
    best = min(ranked, key=lambda k: candidates[k]["mean_absolute_error"])
    return {
        "holdout_days": holdout_days,
        "calibration_customers": n,
        "actual_purchases": int(np.sum(actual * counts)),
        "candidates": candidates,
        "chosen": best,
    }


def fit_value_models(
    win: Window,
    *,
    purchase_model: str = "bg_nbd",
    daily: DailyPurchases | None = None,
    holdout_days: int = 180,
) -> tuple[ValueModels, dict]:
    """:func:`fit_value_summary` on the :func:`value_summary` of ``win`` (``daily`` is needed
    by the holdout comparison only)."""
    holdout = holdout_days if purchase_model == "holdout" else None
    summary = value_summary(win, daily=daily, holdout_days=holdout)
    return fit_value_summary(summary, purchase_model=purchase_model)


def fit_value_summary(
    summary: ValueSummary, *, purchase_model: str = "bg_nbd"
) -> tuple[ValueModels, dict]:
    """Fit the purchase model on the duplicate-compressed summaries and Gamma-Gamma on repeat
    buyers. ``purchase_model`` is ``bg_nbd``, ``mbg_nbd``, ``pareto_nbd`` or ``holdout``: the
    one of the three that best predicts the holdout of ``summary`` when fitted on the days
    before (the comparison is in the report)."""
    comparison = None
    if purchase_model == "holdout":
        if summary.holdout is None:
            raise ValueError("the holdout comparison needs the summary's holdout part")
        comparison = compare_on_holdout(summary)
        purchase_model = comparison["chosen"]
    if purchase_model not in PURCHASE_MODELS:
        raise ValueError(f"unknown purchase model {purchase_model!r}")
    histories = summary.histories
    n = histories.customers
    if n == 0:
        raise NoTransactions(N_("no transactions to score: nobody had bought by the scoring date"))
    x, t_x, tt = histories.columns
    weights = histories.weights
    if not np.any(x > 0):
        raise ModelDidNotConverge(
            N_(
                "BG/NBD cannot be fitted: none of the {n} customers bought twice, so repeat"
                " buying cannot be estimated"
            ),
            model="bg_nbd",
            n=n,
        )
    bg, purchase_report = _fit_purchase_model(purchase_model, x, t_x, tt, weights, n)
    # The purchase model's report keeps the key "bg_nbd" (the page and older runs read it).
    report: dict = {"bg_nbd": purchase_report, "purchase_model": purchase_model}
    if comparison is not None:
        report["holdout_comparison"] = comparison
    report["bg_nbd"].update(
        model=PURCHASE_MODELS[purchase_model][1],
        params=bg.model.params,
        standard_errors=dict(bg.standard_errors),
        log_likelihood=bg.log_likelihood,
        customers=n,
        distinct_rows=int(x.size),
        period_transactions=_period_transactions(bg.model, x, tt, weights),
    )
    mean_spend = float(summary.spend_cents / max(summary.purchases, 1))
    repeat = summary.repeat_spend
    gamma_gamma = None
    if repeat.customers >= MIN_REPEAT_BUYERS:
        gx, gm = repeat.columns
        gg = fit_gamma_gamma(frequency=gx, monetary_value=gm, weights=repeat.weights)
        try:
            _check_converged("Gamma-Gamma", gg, repeat.customers)
        except ModelDidNotConverge as failed:
            # Spend is the simpler half: the population's mean is a fair estimate for all.
            report["gamma_gamma"] = {
                "skipped": message(
                    N_("{reason}; the mean spend per purchase is used for everyone"),
                    reason=error_message(failed),
                )
            }
        else:
            gamma_gamma = GammaGammaModel(gg.model.p, gg.model.q, gg.model.gamma * 100.0)
            report["gamma_gamma"] = {
                "params": gg.model.params,
                "standard_errors": dict(gg.standard_errors),
                "log_likelihood": gg.log_likelihood,
                "customers": repeat.customers,
                "unit": "currency",
            }
    else:
        report["gamma_gamma"] = {
            "skipped": plural_message(
                "{count} repeat buyer, {needed} needed; the mean spend per purchase is used for"
                " everyone",
                "{count} repeat buyers, {needed} needed; the mean spend per purchase is used for"
                " everyone",
                repeat.customers,
                needed=MIN_REPEAT_BUYERS,
            )
        }
    chosen_by = "setting" if comparison is None else "holdout"
    return ValueModels(bg.model, gamma_gamma, mean_spend, purchase_model, chosen_by), report


def customer_value(
    win: Window,
    models: ValueModels,
    *,
    margin: float,
    annual_discount_rate: float,
    months: int,
    churn_window_days: int,
) -> dict[str, np.ndarray]:
    """P(alive), expected purchases (12 months and the churn window), expected spend and CLV
    of the customers present at the window's cutoff (arrays aligned with ``win.present``'s
    true entries). Each customer's values depend on their own figures and the models only,
    so any split of the customers gives each one the same values."""
    p = win.present
    frequency, recency, big_t = win.frequency[p], win.recency[p], win.T[p]
    bg = models.bg_nbd
    alive = np.clip(bg.probability_alive(frequency=frequency, recency=recency, T=big_t), 0, 1)
    horizons = np.array([[365.0], [float(churn_window_days)]])
    expected = bg.conditional_expected_purchases(
        t=horizons, frequency=frequency, recency=recency, T=big_t
    )
    if models.gamma_gamma is None:
        spend = np.full(frequency.shape, models.mean_spend_cents)
    else:
        spend = models.gamma_gamma.conditional_expected_spend(
            frequency=frequency, monetary_value=win.monetary_value[p]
        )
    clv = customer_lifetime_value(
        model=bg,
        frequency=frequency,
        recency=recency,
        T=big_t,
        expected_spend=spend,
        margin=margin,
        months=months,
        monthly_discount_rate=monthly_rate_from_annual(annual_discount_rate),
        time_units_per_month=DAYS_PER_MONTH,
    )
    return {
        "probability_alive": alive,
        "expected_purchases_12m": np.maximum(expected[0], 0.0),
        "expected_purchases_churn_window": np.maximum(expected[1], 0.0),
        "expected_spend_cents": np.round(spend),
        "clv_cents": np.round(np.nan_to_num(clv, nan=0.0, posinf=0.0)),
    }


def segments(
    *,
    days_since_last: np.ndarray,
    purchases: np.ndarray,
    spend: np.ndarray,
    rules: Sequence[SegmentRule] = DEFAULT_SEGMENT_RULES,
) -> dict[str, np.ndarray]:
    """RFM code and segment: quintiles of the whole population, so computed over all of it."""
    rfm = rfm_scores(
        days_since_last_purchase=days_since_last, purchase_count=purchases, monetary_value=spend
    )
    return {
        "rfm": rfm.code,
        "segment": assign_segments(scores=rfm, purchase_count=purchases, rules=rules),
    }


def value_deciles(values: np.ndarray) -> np.ndarray:
    """1..10 by rank, 10 being the most valuable tenth (ties broken by position)."""
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return 1 + (rank * 10) // n
