"""Behavioural churn risk: features at a cutoff, a calibrated gradient-boosting model trained
on an earlier cutoff and checked on a later one, and the main reasons in words for agents.

A customer *churns* after a cutoff when they buy nothing in the ``horizon`` days that follow.
The model is trained at ``as_of - 2 * horizon`` (labels known at ``as_of - horizon``), evaluated
out of time at ``as_of - horizon`` (labels known today), then retrained at that later cutoff to
score everybody today. Probabilities are calibrated by isotonic regression (a sigmoid below
1,000 calibration customers) on a slice of the training customers the booster never saw.

Reasons are rules over the same features, not the booster's internals: an agent needs "activity
down 70 % in 90 days; 2 complaints not answered within the promised time", which they can check
and say, more than a contribution score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np

from egards.analytics.scoring import DailyPurchases, Window, window
from egards.formats import format_day, format_percentage
from egards.i18n import N_, translate, translate_plural

__all__ = [
    "FEATURES",
    "ChurnModel",
    "CustomerEvents",
    "Labelled",
    "build_features",
    "churn_labels",
    "churn_reasons",
    "describe_reasons",
    "drawn_rows",
    "gathered",
    "labelled_counts",
    "train_and_evaluate",
]

FEATURES = (
    "tenure_days",
    "days_since_last",
    "purchases",
    "purchases_90",
    "purchases_prev_90",
    "spend_90",
    "spend_prev_90",
    "mean_spend",
    "activity_trend",
    "usual_gap_days",
    "downgrades_365",
    "cases_180",
    "broken_promises_90",
    "broken_complaints_90",
)
RECENT_DAYS = 90
PROMISE_DAYS = 90  # a broken promise counts while its case was open in these last days
NEVER = 99_999_999  # a day that never comes: never broken, still open
MIN_LABELLED = 200
MIN_PER_CLASS = 20
MIN_ISOTONIC = 1000  # calibration rows below which a sigmoid is fitted instead


@dataclass(frozen=True, slots=True)
class CustomerEvents:
    """Dated facts beyond purchases, by customer id: tier downgrades and cases.

    With ``has_promises``, each case also says the day its response promise was first broken
    (a first or next response later than promised, or an awaited answer now late; ``NEVER``
    if kept), the day it was resolved or closed (``NEVER`` while open) and whether it is a
    complaint. Days are days since 1970-01-01.
    """

    downgrade_customer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    downgrade_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    downgrade_from: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    case_customer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    case_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    has_cases: bool = False
    case_broken_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    case_closed_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    case_complaint: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    has_promises: bool = False


def _codes_of(daily: DailyPurchases, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes of ``ids`` and a mask of those who have purchases at all."""
    ids = np.asarray(ids, dtype=np.int64)
    pos = np.searchsorted(daily.customers, ids)
    pos = np.minimum(pos, max(daily.size - 1, 0))
    known = daily.customers[pos] == ids if daily.size else np.zeros(ids.size, bool)
    return pos, known


def _count_events(daily, ids, days, *, cutoff: int, span: int) -> np.ndarray:
    codes, known = _codes_of(daily, ids)
    days = np.asarray(days, dtype=np.int64)
    inside = known & (days <= cutoff) & (days > cutoff - span)
    return np.bincount(codes[inside], minlength=daily.size)


def broken_promises(
    daily: DailyPurchases, events: CustomerEvents, *, cutoff: int, span: int = PROMISE_DAYS
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer code: cases whose response promise was broken by ``cutoff`` and that were
    open at some point in the ``span`` days to it, and how many of them are complaints.

    Only what was known at the cutoff counts (the breach day, the opening and closing days),
    so that the training cutoffs see the past as it was.
    """
    if not events.has_promises:
        return np.zeros(daily.size), np.zeros(daily.size)
    codes, known = _codes_of(daily, events.case_customer)
    opened = np.asarray(events.case_day, dtype=np.int64)
    broken = np.asarray(events.case_broken_day, dtype=np.int64)
    closed = np.asarray(events.case_closed_day, dtype=np.int64)
    inside = known & (opened <= cutoff) & (broken <= cutoff) & (closed > cutoff - span)
    complaints = inside & np.asarray(events.case_complaint, dtype=bool)
    return (
        np.bincount(codes[inside], minlength=daily.size).astype(float),
        np.bincount(codes[complaints], minlength=daily.size).astype(float),
    )


def last_downgrade_from(
    daily: DailyPurchases, events: CustomerEvents, *, cutoff: int, span: int = 365
) -> np.ndarray:
    """The tier each customer was last downgraded from in the ``span`` days to the cutoff
    ("" if none)."""
    result = np.full(daily.size, "", dtype=object)
    codes, known = _codes_of(daily, events.downgrade_customer)
    days = np.asarray(events.downgrade_day, dtype=np.int64)
    inside = np.flatnonzero(known & (days <= cutoff) & (days > cutoff - span))
    order = inside[np.argsort(days[inside], kind="stable")]
    # Later assignments win: the most recent downgrade names the tier.
    result[codes[order]] = np.asarray(events.downgrade_from, dtype=object)[order]
    return result


def build_features(
    daily: DailyPurchases, events: CustomerEvents, *, cutoff: int, win: Window | None = None
) -> tuple[np.ndarray, Window]:
    """The feature matrix (one row per customer code, columns in ``FEATURES`` order) as things
    stood at ``cutoff``; rows of customers with no purchase yet are meaningless (see
    ``Window.present``)."""
    win = win if win is not None else window(daily, cutoff=cutoff, recent_days=RECENT_DAYS)
    purchases = win.purchases.astype(float)
    spend_90, spend_prev = win.spend_recent, win.spend_before
    # +1 € in both terms keeps the ratio finite for customers with nothing before.
    trend = (spend_90 - spend_prev) / (spend_prev + 100.0)
    tenure = (cutoff - win.first_day).astype(float)
    gap = np.divide(
        (win.last_day - win.first_day).astype(float),
        purchases - 1,
        out=np.full(purchases.shape, np.nan),
        where=purchases > 1,
    )
    matrix = np.column_stack(
        [
            tenure,
            win.days_since_last.astype(float),
            purchases,
            win.purchases_recent.astype(float),
            win.purchases_before.astype(float),
            spend_90 / 100.0,
            spend_prev / 100.0,
            np.divide(win.spend, purchases, out=np.zeros_like(win.spend), where=purchases > 0)
            / 100.0,
            trend,
            gap,
            _count_events(
                daily, events.downgrade_customer, events.downgrade_day, cutoff=cutoff, span=365
            ).astype(float),
            _count_events(
                daily, events.case_customer, events.case_day, cutoff=cutoff, span=180
            ).astype(float)
            if events.has_cases
            else np.zeros(daily.size),
            *broken_promises(daily, events, cutoff=cutoff),
        ]
    )
    return matrix, win


def churn_labels(daily: DailyPurchases, *, cutoff: int, horizon: int) -> np.ndarray:
    """True where the customer bought nothing in (cutoff, cutoff + horizon]."""
    after = (daily.day > cutoff) & (daily.day <= cutoff + horizon)
    return np.bincount(daily.code[after], minlength=daily.size) == 0


class _Classifier(Protocol):
    """What the model needs of scikit-learn's gradient boosting."""

    def predict_proba(self, matrix: np.ndarray, /) -> np.ndarray: ...


class _Calibrator(Protocol):
    """What the model needs of the calibration map (isotonic or sigmoid)."""

    def predict(self, raw: np.ndarray, /) -> np.ndarray: ...


@dataclass
class ChurnModel:
    """A gradient-boosting classifier and the map that calibrates its output (isotonic, or
    a sigmoid on small data)."""

    booster: _Classifier
    calibrator: _Calibrator
    features: tuple[str, ...] = FEATURES

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        with _one_thread():
            raw = self.booster.predict_proba(matrix)[:, 1]
        return np.clip(self.calibrator.predict(raw), 0.0, 1.0)


def _one_thread():
    """OpenMP threads spin-wait for each other; on a busy two-core machine that made the
    booster ten times slower than one thread (7 s against 0.7 s for 75,000 rows)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _fit(matrix: np.ndarray, labels: np.ndarray, *, seed: int) -> ChurnModel:
    """The model learnt from ``matrix`` and ``labels``, rows in the order they were drawn
    (:func:`training_positions`): the first three quarters fit the booster, the rest its
    calibration."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.isotonic import IsotonicRegression

    cut = int(labels.size * 0.75)
    booster = HistGradientBoostingClassifier(
        max_iter=120,
        learning_rate=0.08,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        # scikit-learn takes "auto" or a bool; its untyped signature only shows the default.
        early_stopping=False,  # pyright: ignore[reportArgumentType]
        random_state=seed,
    )
    with _one_thread():
        booster.fit(matrix[:cut], labels[:cut])
        raw = booster.predict_proba(matrix[cut:])[:, 1]
    target = labels[cut:].astype(float)
    if target.size >= MIN_ISOTONIC:
        calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        calibrator.fit(raw, target)
    else:
        calibrator = _Platt().fit(raw, target)
    return ChurnModel(booster, calibrator)


class _Platt:
    """Sigmoid calibration (Platt 1999) for small calibration sets, where isotonic
    regression overfits into steps of 0 and 1."""

    def fit(self, raw: np.ndarray, target: np.ndarray) -> _Platt:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression().fit(_logit(raw)[:, None], target)
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(_logit(raw)[:, None])[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _enough(customers: int, churned: int) -> bool:
    return (
        customers >= MIN_LABELLED
        and churned >= MIN_PER_CLASS
        and customers - churned >= MIN_PER_CLASS
    )


def calibration_table(predicted: np.ndarray, actual: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean predicted risk against the observed churn rate, by tenth of the risk scale."""
    which = np.minimum((predicted * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        if n:
            table.append(
                {
                    "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                    "customers": n,
                    "mean_predicted": float(predicted[inside].mean()),
                    "observed": float(actual[inside].mean()),
                }
            )
    return table


def training_cutoffs(as_of: int, horizon: int) -> tuple[int, int]:
    """The days the churn model is trained at and evaluated at (then retrained there)."""
    return as_of - 2 * horizon, as_of - horizon


def labelled(
    daily: DailyPurchases, events: CustomerEvents, *, cutoff: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Features and churn labels of the customers who had bought by ``cutoff``, in customer
    order: what the churn model learns from at that cutoff."""
    matrix, win = build_features(daily, events, cutoff=cutoff)
    return matrix[win.present], churn_labels(daily, cutoff=cutoff, horizon=horizon)[win.present]


@dataclass(frozen=True, slots=True)
class Labelled:
    """How many customers had bought by each training cutoff (early, late), and how many of
    them churned: what decides whether a model can be learnt, and its draws."""

    customers: tuple[int, int]
    churned: tuple[int, int]

    @classmethod
    def merge(cls, parts: Sequence[Labelled]) -> Labelled:
        return cls(
            (sum(p.customers[0] for p in parts), sum(p.customers[1] for p in parts)),
            (sum(p.churned[0] for p in parts), sum(p.churned[1] for p in parts)),
        )


def labelled_counts(daily: DailyPurchases, *, as_of: int, horizon: int) -> Labelled:
    """The :class:`Labelled` counts of the customers of ``daily``."""
    customers, churned = [], []
    for cutoff in training_cutoffs(as_of, horizon):
        present = window(daily, cutoff=cutoff, recent_days=RECENT_DAYS).present
        customers.append(int(present.sum()))
        churned.append(int(churn_labels(daily, cutoff=cutoff, horizon=horizon)[present].sum()))
    return Labelled((customers[0], customers[1]), (churned[0], churned[1]))


#: The samples of customers training draws: at the early cutoff for the first model, at the
#: late one for the holdout's evaluation and for the model that scores.
SAMPLES = ("early", "checked", "late")


def training_positions(counts: Labelled, *, max_rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    """For each of :data:`SAMPLES`, the positions (among the customers present at its cutoff,
    in customer order) of the at most ``max_rows`` customers drawn at random, in the order
    drawn (the evaluation's in customer order: it only measures)."""
    early, late = counts.customers
    checked = np.random.default_rng(seed + 2).permutation(late)[:max_rows]
    checked.sort()
    return {
        "early": np.random.default_rng(seed).permutation(early)[:max_rows],
        "checked": checked,
        "late": np.random.default_rng(seed + 1).permutation(late)[:max_rows],
    }


#: The rows :func:`train_and_evaluate` asks for: given each sample's positions, the features
#: and labels at them (:func:`labelled` at the sample's cutoff, then indexed).
Rows = Callable[[dict[str, np.ndarray]], dict[str, tuple[np.ndarray, np.ndarray]]]


def train_and_evaluate(
    counts: Labelled,
    rows: Rows,
    *,
    as_of: int,
    horizon: int,
    max_rows: int = 200_000,
    seed: int = 0,
) -> tuple[ChurnModel | None, dict]:
    """Train at ``as_of - 2 horizon``, evaluate out of time at ``as_of - horizon`` (on at most
    ``max_rows`` customers drawn at random), retrain there for today's scores. ``None`` (with
    the reason in the report) when the history is too short or one-sided to learn from.
    ``rows`` gives the drawn customers' features and labels (:func:`labelled`): the customers
    themselves may be anywhere (in this process, or spread over an engine's partitions)."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    early, late = training_cutoffs(as_of, horizon)
    report: dict = {
        "method": "gradient_boosting",
        "horizon_days": horizon,
        "features": list(FEATURES),
        "train_cutoff_day": early,
        "holdout_cutoff_day": late,
        "train_customers": counts.customers[0],
        "holdout_customers": counts.customers[1],
    }
    if not all(map(_enough, counts.customers, counts.churned)):
        report["method"] = "btyd"
        # A message and its values, put in the reader's language when shown.
        report["reason"] = N_(
            "not enough history for a time-based holdout: {early} customers at the training"
            " cutoff and {late} at the holdout cutoff, {needed} each with at least"
            " {per_class} churners and {per_class} stayers needed; risk = probability of no"
            " purchase in the window under BG/NBD"
        )
        report["reason_values"] = {
            "early": counts.customers[0],
            "late": counts.customers[1],
            "needed": MIN_LABELLED,
            "per_class": MIN_PER_CLASS,
        }
        return None, report
    drawn = rows(training_positions(counts, max_rows=max_rows, seed=seed))
    model = _fit(*drawn["early"], seed=seed)
    # A random sample of the holdout measures AUC and calibration to the third decimal; the
    # booster's prediction is the dearest step, so a million customers are not all needed.
    matrix, actual = drawn["checked"]
    predicted = model.predict(matrix)
    report.update(
        holdout_checked=int(actual.size),
        auc=float(roc_auc_score(actual, predicted)),
        brier=float(brier_score_loss(actual, predicted)),
        churn_rate_holdout=float(actual.mean()),
        calibration=calibration_table(predicted, actual),
    )
    return _fit(*drawn["late"], seed=seed + 1), report


#: Drawn rows found among some of the customers: for each sample, where they are in the draw,
#: their features and their labels.
Found = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def drawn_rows(
    daily: DailyPurchases,
    events: CustomerEvents,
    positions: dict[str, np.ndarray],
    *,
    as_of: int,
    horizon: int,
    first: tuple[int, int] = (0, 0),
) -> Found:
    """The drawn customers who are among those of ``daily``: for each sample, the rows of
    :func:`labelled` at its ``positions`` less ``first`` (the position of ``daily``'s first
    customer among all those present at the early and at the late cutoff)."""
    early, late = training_cutoffs(as_of, horizon)
    at = {
        "early": (labelled(daily, events, cutoff=early, horizon=horizon), first[0]),
        "late": (labelled(daily, events, cutoff=late, horizon=horizon), first[1]),
    }
    found: Found = {}
    for name, wanted in positions.items():
        (matrix, labels), offset = at["early" if name == "early" else "late"]
        local = wanted - offset
        mine = np.flatnonzero((local >= 0) & (local < labels.size))
        found[name] = (mine, matrix[local[mine]], labels[local[mine]])
    return found


def gathered(
    parts: Iterable[Found], positions: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The drawn rows of every sample in the order drawn, from the parts that hold them."""
    rows = {
        name: (np.empty((wanted.size, len(FEATURES))), np.zeros(wanted.size, dtype=bool))
        for name, wanted in positions.items()
    }
    filled = dict.fromkeys(positions, 0)
    for found in parts:
        for name, (where, matrix, labels) in found.items():
            rows[name][0][where], rows[name][1][where] = matrix, labels
            filled[name] += where.size
    if filled != {name: wanted.size for name, wanted in positions.items()}:
        raise ValueError(f"the drawn customers were not all found: {filled}")
    return rows


# --- Reasons in words ---------------------------------------------------------------------

# Reasons are stored as codes with their figures (``activity_down:70``) and worded when read,
# in the reader's language: the sentences are in the analytics catalogue.
_TEMPLATES = {
    "activity_down": N_("activity down {percent} in 90 days"),
    "p_alive": N_("probability still active {percent}"),
}


def churn_reasons(
    features: np.ndarray, *, probability_alive: np.ndarray, downgraded_from: np.ndarray
) -> np.ndarray:
    """Reason codes per customer, most telling first, ``;``-separated (``""`` when nothing
    stands out): ``activity_down:70;unanswered:2:2;downgraded:gold``.

    Strings are joined by Arrow's kernels: building them with Python objects cost seconds per
    million customers.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    col = {name: features[:, i] for i, name in enumerate(FEATURES)}
    n = features.shape[0]
    purchases = col["purchases"]
    since = col["days_since_last"]
    spend_90, spend_prev = col["spend_90"], col["spend_prev_90"]
    gap = np.nan_to_num(col["usual_gap_days"], nan=0.0)
    parts = []

    def add(mask: np.ndarray, code: str, *values: np.ndarray) -> None:
        if not mask.any():
            return
        texts = [pc.cast(pa.array(np.asarray(v)), pa.string()) for v in values]
        # "code:value:value;" where the mask holds, "" elsewhere (no nulls: Arrow 26 drops
        # rows from a join whose inputs are all null). pyarrow.compute makes its functions at
        # import time, so a type checker cannot see them (here and below).
        piece = pc.binary_join_element_wise(code, *texts, ":") if texts else code  # pyright: ignore[reportAttributeAccessIssue]
        joined = pc.binary_join_element_wise(piece, ";", "")  # pyright: ignore[reportAttributeAccessIssue]
        parts.append(pc.if_else(pa.array(mask), joined, ""))  # pyright: ignore[reportAttributeAccessIssue]

    down = np.divide(
        100.0 * (spend_prev - spend_90), spend_prev, out=np.zeros(n), where=spend_prev > 0
    )
    add((spend_prev > 0) & (down >= 30), "activity_down", np.round(down).astype(np.int64))
    broken = col["broken_promises_90"]
    add(
        broken >= 1,
        "unanswered",
        broken.astype(np.int64),
        col["broken_complaints_90"].astype(np.int64),
    )
    silent = (purchases >= 2) & (since >= np.maximum(60.0, 2.0 * gap))
    add(silent, "silent", since.astype(np.int64), np.maximum(np.round(gap), 1).astype(np.int64))
    add((purchases == 1) & (since >= 90), "one_off", since.astype(np.int64))
    tiers = np.asarray(downgraded_from, dtype=object)
    add(tiers != "", "downgraded", np.where(tiers != "", tiers, "").astype(str))
    add(col["cases_180"] >= 1, "cases", col["cases_180"].astype(np.int64))
    alive = np.asarray(probability_alive, dtype=float)
    add(
        (alive < 0.5) & (purchases >= 2),
        "p_alive",
        np.round(100 * alive).astype(np.int64),
    )
    if not parts:
        return np.full(n, "", dtype=object)
    joined = pc.binary_join_element_wise(*parts, "")  # pyright: ignore[reportAttributeAccessIssue]
    joined = pc.utf8_rtrim(joined, characters=";")  # pyright: ignore[reportAttributeAccessIssue]
    return joined.to_numpy(zero_copy_only=False).astype(object)


def _days(value: str, lang: str) -> str:
    return translate_plural(lang, "{count} day", "{count} days", int(value))


def _stated(day: str, quote: str, lang: str) -> str:
    """``stated:2026-12-03:quote`` in words: what the customer wrote, and when."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        return f"«{quote}»"
    return translate(lang, "wrote on {day}: «{quote}»", day=format_day(when, lang), quote=quote)


def _contract(code: str, day: str, lang: str) -> str:
    """``cancelling:2026-12-13`` / ``cancelled:2026-12-13`` in words: a cancellation the
    contracts show (observed, not predicted)."""
    try:
        when = format_day(date.fromisoformat(day), lang)
    except ValueError:
        when = ""
    if code == "cancelling":
        if when:
            return translate(lang, "asked to cancel (ends on {day})", day=when)
        return translate(lang, "asked to cancel")
    if when:
        return translate(lang, "contract cancelled, ended on {day}", day=when)
    return translate(lang, "contract cancelled")


def _unanswered(values: list[str], lang: str) -> str:
    """``unanswered:3:2`` in words: complaints named as such, other cases as requests."""
    total, complaints = (int(v) for v in [*values, "0"][:2])
    if complaints == total:
        return translate_plural(
            lang,
            "{count} complaint not answered within the promised time",
            "{count} complaints not answered within the promised time",
            total,
        )
    text = translate_plural(
        lang,
        "{count} request not answered within the promised time",
        "{count} requests not answered within the promised time",
        total,
    )
    if complaints > 0:
        text = translate_plural(
            lang,
            "{requests}, {count} complaint among them",
            "{requests}, {count} complaints among them",
            complaints,
            requests=text,
        )
    return text


def _silent(values: list[str], lang: str) -> str:
    since = _days(values[0], lang)
    if len(values) < 2:
        return translate(lang, "no purchase for {days}", days=since)
    gap = int(values[1])
    usually = (
        translate(lang, "every day")
        if gap == 1
        else translate_plural(lang, "every {count} day", "every {count} days", gap)
    )
    return translate(lang, "no purchase for {days} (usually {every})", days=since, every=usually)


def _downgraded(values: list[str], lang: str, tier_names: Mapping[str, str]) -> str:
    """The tier by its name in the programme when the reader's service knows it; a code is
    never shown."""
    name = tier_names.get(values[0]) if values else None
    if name:
        return translate(lang, "downgraded from {tier}", tier=name)
    return translate(lang, "downgraded in the last 12 months")


def _reason(code: str, values: list[str], lang: str, tier_names: Mapping[str, str]) -> str | None:
    """One reason code in words (``None`` for a code this version does not know)."""
    if code == "stated" and len(values) >= 2:
        return _stated(values[0], ":".join(values[1:]), lang)
    if code in ("cancelling", "cancelled"):
        return _contract(code, values[0] if values else "", lang)
    if code == "unanswered":
        return _unanswered(values, lang)
    if code == "downgraded":
        return _downgraded(values, lang, tier_names)
    if not values:
        return None
    if code == "silent":
        return _silent(values, lang)
    if code == "one_off":
        return translate(lang, "a single purchase, {days} ago", days=_days(values[0], lang))
    if code == "cases":
        return translate_plural(
            lang,
            "{count} case opened in 180 days",
            "{count} cases opened in 180 days",
            int(values[0]),
        )
    if code in _TEMPLATES:
        percent = format_percentage(int(values[0]) / 100, lang)
        return translate(lang, _TEMPLATES[code], percent=percent)
    return None


def describe_reasons(
    codes: str,
    lang: str = "en",
    limit: int = 3,
    *,
    tier_names: Mapping[str, str] | None = None,
) -> list[str]:
    """Reason codes in words, in English or French, at most ``limit`` of them; ``tier_names``
    gives the tiers' names by code in ``lang`` (a downgrade without it says no tier)."""
    out = []
    for item in (codes or "").split(";"):
        if not item:
            continue
        code, *values = item.split(":")
        said = _reason(code, values, lang, tier_names or {})
        if said is None:
            continue
        out.append(said)
        if len(out) == limit:
            break
    return out
