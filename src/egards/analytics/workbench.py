"""`egards analytics fit`: every value model on the analyst's own file, without a database.

The file (CSV or Parquet) holds either transactions (``customer_id``, ``date`` and, for spend,
``amount``), which are summarised here with the conventions of :mod:`.summary`, or ready
summaries: ``frequency``, ``recency``, ``T`` (BG/NBD, MBG/NBD, Pareto/NBD),
``frequency``, ``monetary_value`` (Gamma-Gamma), ``frequency``, ``recency``, ``n_periods``
(BG/BB), ``survivors`` with an optional ``cohort`` (sBG); an optional ``weights`` column
counts the customers a row stands for. Fitted models are saved to and loaded from JSON.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from egards.analytics.btyd import (
    DAYS_PER_MONTH,
    WEEKS_PER_MONTH,
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    Fitted,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
    customer_lifetime_value,
    fit_bg_bb,
    fit_bg_nbd,
    fit_gamma_gamma,
    fit_mbg_nbd,
    fit_pareto_nbd,
    fit_sbg,
    monthly_rate_from_annual,
)
from egards.analytics.diagnostics import (
    comparison_svg,
    frequency_recency_matrix,
    holdout_by_frequency,
    period_transactions,
    spend_frequency_correlation,
)
from egards.analytics.summary import summarise_transactions
from egards.errors import N_, InvalidInput

__all__ = [
    "MODELS",
    "Workbench",
    "load_model",
    "read_table",
    "run",
    "save_model",
    "write_diagnostics",
    "write_scores",
]

ModelName = Literal["bg-nbd", "mbg-nbd", "pareto-nbd", "bg-bb", "sbg", "gamma-gamma"]
Unit = Literal["D", "W", "M"]

MODELS: dict[str, type] = {
    "bg-nbd": BetaGeoModel,
    "mbg-nbd": ModifiedBetaGeoModel,
    "pareto-nbd": ParetoNBDModel,
    "bg-bb": BetaGeoBetaBinomModel,
    "sbg": ShiftedBetaGeometricModel,
    "gamma-gamma": GammaGammaModel,
}
PURCHASE_MODELS = ("bg-nbd", "mbg-nbd", "pareto-nbd")
UNITS_PER_MONTH = {"D": DAYS_PER_MONTH, "W": WEEKS_PER_MONTH, "M": 1.0}
SYNONYMS = {
    "customer_id": ("customer_id", "customer", "id", "customer_external_id"),
    "amount": ("amount", "monetary_value", "value", "spend", "price"),
    "frequency": ("frequency", "x"),
    "recency": ("recency", "t_x"),
    "T": ("T", "t"),
    "monetary_value": ("monetary_value", "zbar", "mean_spend"),
    "n_periods": ("n_periods", "periods", "n"),
    "weights": ("weights", "count", "customers"),
}


@dataclass
class Table:
    columns: dict[str, np.ndarray]
    first_line: int  # the line of the first row (2 in a CSV with a header, 1 in Parquet)
    name: str

    def find(self, what: str) -> str | None:
        lowered = {c.lower(): c for c in self.columns}
        for candidate in SYNONYMS.get(what, (what,)):
            if candidate in self.columns:
                return candidate
            if candidate.lower() in lowered and candidate != "t":
                return lowered[candidate.lower()]
        return None

    def has(self, *what: str) -> bool:
        return all(self.find(w) for w in what)

    def numbers(self, what: str) -> np.ndarray:
        column = self.find(what)
        if column is None:
            raise InvalidInput(
                N_("{file}: no {what} column"), field=what, file=self.name, what=what
            )
        raw = self.columns[column]
        try:
            values = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            values = None
        if values is None or not np.all(np.isfinite(values)):
            line = self.first_line + _first_bad(raw, float)
            raise InvalidInput(
                N_("{file}, line {line}: {column} is not a number"),
                field=column,
                file=self.name,
                line=line,
                column=column,
            )
        return values

    def dates(self, what: str) -> np.ndarray:
        column = self.find(what)
        if column is None:
            raise InvalidInput(
                N_("{file}: no {what} column"), field=what, file=self.name, what=what
            )
        raw = self.columns[column]
        try:
            values = np.asarray(raw, dtype="datetime64[D]")
        except (TypeError, ValueError):
            values = None
        if values is None or np.any(np.isnat(values)):
            line = self.first_line + _first_bad(raw, np.datetime64)
            raise InvalidInput(
                N_("{file}, line {line}: {column} is not a date (YYYY-MM-DD)"),
                field=column,
                file=self.name,
                line=line,
                column=column,
            )
        return values

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def _first_bad(raw: np.ndarray, parse) -> int:
    for i, value in enumerate(raw):
        try:
            parsed = parse(value)
        except (TypeError, ValueError):
            return i
        if isinstance(parsed, float) and not np.isfinite(parsed):
            return i
        if isinstance(parsed, np.datetime64) and np.isnat(parsed):
            return i
    return 0


def read_table(path: Path) -> Table:
    """A CSV (with a header) or Parquet file as columns; text stays text until used."""
    import duckdb

    suffix = path.suffix.lower()
    quoted = str(path).replace("'", "''")
    if suffix == ".parquet":
        query, first_line = f"SELECT * FROM read_parquet('{quoted}')", 1
    elif suffix in (".csv", ".txt"):
        query = f"SELECT * FROM read_csv('{quoted}', header = true, all_varchar = true)"
        first_line = 2
    else:
        raise InvalidInput(N_("{file}: use a .csv or .parquet file"), field="file", file=path.name)
    con = duckdb.connect()
    try:
        try:
            columns = con.execute(query).fetchnumpy()
        except duckdb.Error as error:
            raise InvalidInput(
                N_("{file}: cannot be read ({reason})"),
                field="file",
                file=path.name,
                reason=str(error),
            ) from None
    finally:
        con.close()
    table = Table({k: np.asarray(v) for k, v in columns.items()}, first_line, path.name)
    if not len(table):
        raise InvalidInput(N_("{file}: no rows"), field="file", file=path.name)
    return table


@dataclass
class Workbench:
    """What a fit (or a loaded model) gives: the fit, the scores and the holdout check."""

    model_name: str
    model: Any
    fitted: Fitted | None
    unit: str
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    holdout: dict[str, float] | None = None
    spend_frequency_correlation: float | None = None


def _ids(raw: np.ndarray) -> np.ndarray:
    """Identifiers as integers when they all are (so that 10 sorts after 9), else as text."""
    try:
        as_int = np.asarray(raw, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        return np.asarray(raw).astype(str)
    return as_int if np.array_equal(as_int.astype(str), np.asarray(raw).astype(str)) else raw


def _summary(table: Table, *, unit: Unit, calibration_end, holdout_end, period=None):
    """Per-customer (frequency, recency, T, spend) from transactions, in ``unit``."""
    dates = table.dates("date")
    ids = _ids(table.columns[table.find("customer_id") or "customer_id"])
    amount = table.numbers("amount") if table.has("amount") else None
    end = holdout_end or (dates.max() if calibration_end is None else None)
    if end is None:
        raise InvalidInput(N_("--calibration-end needs --holdout-end"), field="holdout_end")
    time_unit = "W" if unit == "W" else "D"
    summary = summarise_transactions(
        customer_id=ids,
        date=dates,
        monetary_value=amount,
        observation_end=end,
        calibration_end=calibration_end,
        period=period or "D",
        time_unit=time_unit,
    )
    scale = 1.0 / DAYS_PER_MONTH if unit == "M" else 1.0
    return summary, scale


def run(
    path: Path,
    *,
    model_name: str,
    unit: Unit = "W",
    calibration_end: str | None = None,
    holdout_end: str | None = None,
    model_file: Path | None = None,
    months: int = 12,
    annual_discount: float = 0.10,
) -> Workbench:
    """Fit ``model_name`` on the file (or load it from ``model_file``) and score every row."""
    if model_name not in MODELS:
        raise InvalidInput(N_("unknown model {model}"), field="model", model=repr(model_name))
    if holdout_end is not None and calibration_end is None:
        raise InvalidInput(N_("--holdout-end needs --calibration-end"), field="calibration_end")
    table = read_table(path)
    loaded = load_model(model_file) if model_file else None
    if loaded is not None and loaded[0] != model_name:
        raise InvalidInput(
            N_("{file}: holds a {found} model, not {model}"),
            field="model_file",
            file=str(model_file),
            found=loaded[0],
            model=model_name,
        )
    if model_name == "sbg":
        return _sbg(table, loaded)
    if model_name == "bg-bb":
        return _bg_bb(table, loaded, unit=unit, calibration_end=calibration_end, end=holdout_end)
    transactions = table.has("customer_id", "date")
    holdout = None
    if transactions:
        summary, scale = _summary(
            table, unit=unit, calibration_end=calibration_end, holdout_end=holdout_end
        )
        ids = summary.customer_id
        x, t_x, big_t = summary.frequency, summary.recency * scale, summary.T * scale
        spend = summary.monetary_value
        if summary.frequency_holdout is not None:
            holdout = (summary.frequency_holdout, (summary.duration_holdout or 0.0) * scale)
    else:
        if calibration_end is not None:
            raise InvalidInput(
                N_("{file}: a holdout needs transactions (customer_id, date)"),
                file=table.name,
                field="calibration_end",
            )
        x = table.numbers("frequency")
        ids = table.columns[c] if (c := table.find("customer_id")) else np.arange(1, x.size + 1)
        spend = table.numbers("monetary_value") if table.has("monetary_value") else None
        t_x = table.numbers("recency") if model_name != "gamma-gamma" else None
        big_t = table.numbers("T") if model_name != "gamma-gamma" else None
    weights = table.numbers("weights") if not transactions and table.has("weights") else None
    if model_name == "gamma-gamma":
        return _gamma_gamma(ids, x, spend, weights, loaded, table.name)
    assert t_x is not None and big_t is not None
    if loaded is not None:
        model, fitted = loaded[1], None
    else:
        fit = {"bg-nbd": fit_bg_nbd, "mbg-nbd": fit_mbg_nbd, "pareto-nbd": fit_pareto_nbd}
        try:
            fitted = fit[model_name](frequency=x, recency=t_x, T=big_t, weights=weights)
        except ValueError as error:
            raise InvalidInput(
                N_("{file}: {reason}"), field="file", file=table.name, reason=str(error)
            ) from None
        model = fitted.model
    horizon = UNITS_PER_MONTH[unit] * months
    scores: dict[str, np.ndarray] = {
        "customer_id": ids,
        "frequency": x,
        "recency": t_x,
        "T": big_t,
        "p_alive": model.probability_alive(frequency=x, recency=t_x, T=big_t),
        f"expected_purchases_{months}m": model.conditional_expected_purchases(
            t=horizon, frequency=x, recency=t_x, T=big_t
        ),
    }
    repeat = x > 0
    if spend is not None and np.count_nonzero(repeat) >= 10 and np.all(spend[repeat] > 0):
        gg = fit_gamma_gamma(frequency=x[repeat], monetary_value=spend[repeat]).model
        expected_spend = gg.conditional_expected_spend(frequency=x, monetary_value=spend)
        scores["expected_spend"] = expected_spend
        scores[f"clv_{months}m"] = customer_lifetime_value(
            model=model,
            frequency=x,
            recency=t_x,
            T=big_t,
            expected_spend=expected_spend,
            months=months,
            monthly_discount_rate=monthly_rate_from_annual(annual_discount),
            time_units_per_month=UNITS_PER_MONTH[unit],
        )
    result = Workbench(model_name, model, fitted, unit, scores)
    if spend is not None:
        result.spend_frequency_correlation = spend_frequency_correlation(
            frequency=x, monetary_value=spend
        )
    if holdout is not None:
        actual, duration = holdout
        predicted = model.conditional_expected_purchases(
            t=duration, frequency=x, recency=t_x, T=big_t
        )
        scores["holdout_purchases"] = actual
        scores["holdout_expected"] = predicted
        result.holdout = {
            "duration": duration,
            "actual": float(actual.sum()),
            "predicted": float(predicted.sum()),
        }
    return result


def _gamma_gamma(ids, x, spend, weights, loaded, name: str) -> Workbench:
    if spend is None:
        raise InvalidInput(
            N_("{file}: Gamma-Gamma needs spend (amount)"), field="monetary_value", file=name
        )
    repeat = x > 0
    if loaded is not None:
        model, fitted = loaded[1], None
    else:
        try:
            fitted = fit_gamma_gamma(
                frequency=x[repeat],
                monetary_value=spend[repeat],
                weights=None if weights is None else weights[repeat],
            )
        except ValueError as error:
            raise InvalidInput(
                N_("{file}: {reason}"), field="monetary_value", file=name, reason=str(error)
            ) from None
        model = fitted.model
    scores = {
        "customer_id": ids,
        "frequency": x,
        "monetary_value": spend,
        "expected_spend": model.conditional_expected_spend(frequency=x, monetary_value=spend),
    }
    result = Workbench("gamma-gamma", model, fitted, "", scores)
    result.spend_frequency_correlation = spend_frequency_correlation(
        frequency=x, monetary_value=spend
    )
    return result


def _bg_bb(table: Table, loaded, *, unit: Unit, calibration_end, end) -> Workbench:
    if table.has("customer_id", "date"):
        if unit == "M":
            raise InvalidInput(N_("BG/BB from transactions counts days or weeks"), field="unit")
        summary, _ = _summary(
            table, unit=unit, calibration_end=calibration_end, holdout_end=end, period=unit
        )
        ids, x, t_x = summary.customer_id, summary.frequency, summary.recency
        n, weights = summary.T, None
    else:
        x, t_x, n = table.numbers("frequency"), table.numbers("recency"), table.numbers("n_periods")
        ids = table.columns[c] if (c := table.find("customer_id")) else np.arange(1, x.size + 1)
        weights = table.numbers("weights") if table.has("weights") else None
    if loaded is not None:
        model, fitted = loaded[1], None
    else:
        try:
            fitted = fit_bg_bb(frequency=x, recency=t_x, n_periods=n, weights=weights)
        except ValueError as error:
            raise InvalidInput(
                N_("{file}: {reason}"), field="file", file=table.name, reason=str(error)
            ) from None
        model = fitted.model
    scores = {
        "customer_id": ids,
        "frequency": x,
        "recency": t_x,
        "n_periods": n,
        "p_alive": model.probability_alive(frequency=x, recency=t_x, n_periods=n),
        "expected_purchases_next_period": model.conditional_expected_purchases(
            periods=1, frequency=x, recency=t_x, n_periods=n
        ),
    }
    if weights is not None:
        scores["weights"] = weights
    return Workbench("bg-bb", model, fitted, unit, scores)


def _sbg(table: Table, loaded) -> Workbench:
    survivors = table.numbers("survivors")
    cohort_column = table.find("cohort")
    if cohort_column:
        labels = table.columns[cohort_column]
        series = [survivors[labels == label] for label in dict.fromkeys(labels.tolist())]
    else:
        series = [survivors]
    for s in series:
        if s.size < 2 or np.any(np.diff(s) > 0) or s[-1] < 0:
            raise InvalidInput(
                N_("{file}: survivors must not grow from one period to the next"),
                file=table.name,
                field="survivors",
            )
    if loaded is not None:
        model, fitted = loaded[1], None
    else:
        fitted = fit_sbg(survivors=[s.tolist() for s in series])
        model = fitted.model
    periods = np.arange(1, max(s.size for s in series) + 12, dtype=float)
    scores = {
        "period": periods,
        "survival": model.survival(periods),
        "retention_rate": model.retention_rate(periods),
    }
    return Workbench("sbg", model, fitted, "", scores)


def save_model(path: Path, result: Workbench) -> None:
    """The parameters (and, after a fit, their standard errors and covariance) as JSON."""
    document: dict[str, Any] = {
        "model": result.model_name,
        "params": result.model.params,
        "time_unit": result.unit,
    }
    if result.fitted is not None:
        d = result.fitted.diagnostics
        document |= {
            "standard_errors": dict(d.standard_errors),
            "covariance": np.asarray(d.covariance).tolist(),
            "log_likelihood": d.log_likelihood,
            "n_observations": d.n_observations,
            "converged": d.converged,
        }
    path.write_text(json.dumps(document, indent=2, allow_nan=True) + "\n", encoding="utf-8")


def load_model(path: Path) -> tuple[str, Any]:
    """The model saved by :func:`save_model`: its name and the model object."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        name = document["model"]
        params = {k: float(v) for k, v in document["params"].items()}
        model = MODELS[name](**params)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InvalidInput(
            N_("{file}: not a saved model ({reason})"),
            file=path.name,
            reason=f"{error.__class__.__name__}: {error}",
            field="model_file",
        ) from None
    return name, model


def write_scores(path: Path, scores: dict[str, np.ndarray]) -> int:
    """One row per customer (or period, for sBG), numbers to six significant digits."""
    names = list(scores)
    columns = [np.asarray(scores[n]) for n in names]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in zip(*columns, strict=True):
            writer.writerow([f"{v:.6g}" if isinstance(v, float | np.floating) else v for v in row])
    return len(columns[0]) if columns else 0


def write_diagnostics(directory: Path, result: Workbench) -> list[Path]:
    """CSV tables and SVG charts of the fit's diagnostics (purchase models only)."""
    if result.model_name not in PURCHASE_MODELS:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    scores, written = result.scores, []

    def table(name: str, header: list[str], rows) -> None:
        path = directory / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(
                [f"{v:.6g}" if isinstance(v, float) else v for v in row] for row in rows
            )
        written.append(path)

    def chart(name: str, comparison, title: str, y_label: str) -> None:
        path = directory / name
        path.write_text(comparison_svg(comparison, title=title, y_label=y_label), "utf-8")
        written.append(path)

    periods = period_transactions(result.model, frequency=scores["frequency"], T=scores["T"])
    table("period_transactions.csv", ["repeat_purchases", "actual", "model"], periods.rows())
    chart("period_transactions.svg", periods, "Customers by repeat purchases", "customers")
    if result.holdout is not None:
        by_frequency = holdout_by_frequency(
            frequency=scores["frequency"],
            holdout_actual=scores["holdout_purchases"],
            holdout_expected=scores["holdout_expected"],
        )
        table(
            "holdout_by_frequency.csv",
            ["calibration_frequency", "actual_mean", "predicted_mean"],
            by_frequency.rows(),
        )
        chart(
            "holdout_by_frequency.svg",
            by_frequency,
            "Holdout purchases by calibration frequency",
            "purchases per customer",
        )
    big_t = float(np.max(scores["T"]))
    frequencies, recencies, expected, alive = frequency_recency_matrix(
        result.model, T=big_t, t=UNITS_PER_MONTH[result.unit]
    )
    for name, grid in (("expected_purchases_matrix.csv", expected), ("p_alive_matrix.csv", alive)):
        table(
            name,
            ["frequency", *(f"recency_{r:.4g}" for r in recencies)],
            [[float(f), *map(float, row)] for f, row in zip(frequencies, grid, strict=True)],
        )
    return written
