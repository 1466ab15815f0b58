"""Use cases of customer value and risk: the transaction source, scoring runs written back in
bulk, and the reads behind the 360 panel, the analytics page, the API and the exports.

Batch reads go straight to the driver (COPY TO STDOUT into Arrow on PostgreSQL, chunked
``fetchmany`` on SQLite) and batch writes come back the same way (COPY FROM STDIN, one
``executemany``): never an ORM object per customer. Services flush; the unit of work commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission, Role
from egards.analytics.churn import describe_reasons
from egards.analytics.errors import NotScored, RunInProgress
from egards.analytics.models import CustomerScore, ScoreHistory, ScoreRun, Transaction
from egards.analytics.rfm import (
    DEFAULT_SEGMENT_RULES,
    SegmentRule,
    rules_from_mapping,
    segment_labels,
)
from egards.analytics.settings import AnalyticsSettings, get_analytics_settings
from egards.analytics.sources import (  # what other modules read through the service
    SOURCES as SOURCES,
)
from egards.analytics.sources import (
    Source as Source,
)
from egards.analytics.sources import (
    _active_customers,
    _has_table,
    _read_events,
    _read_members,
    _read_subscriptions,
)
from egards.analytics.sources import (
    customer_id_range as customer_id_range,
)
from egards.analytics.sources import (
    epoch_day as epoch_day,
)
from egards.analytics.sources import (
    imported_transactions_sql as imported_transactions_sql,
)
from egards.analytics.sources import (
    loyalty_transactions_sql as loyalty_transactions_sql,
)
from egards.analytics.sources import (
    read_transactions as read_transactions,
)
from egards.analytics.sources import (
    transactions_query as transactions_query,
)
from egards.analytics.sources import (
    transactions_sql as transactions_sql,
)
from egards.audit import service as audit
from egards.bulk import copy_rows, select_in
from egards.customers.domain import Erasure
from egards.db import Database, utcnow
from egards.errors import N_, InvalidInput, PermissionDenied
from egards.features import hooks
from egards.i18n import render_message
from egards.messages import failure, message

if TYPE_CHECKING:
    from egards.analytics.batch import CustomerScorer

log = logging.getLogger("egards.analytics")

MODEL_FAMILY = "bgnbd-gg-hgb"
STALE_RUN = timedelta(hours=6)  # a run "running" for longer than this has died
STEPS = (
    "read",
    "summaries",
    "value models",
    "churn model",
    "customer scores",
    "aggregates",
    "write",
)


# --- Runs ------------------------------------------------------------------------------------


def _require_runner(actor: Actor) -> None:
    if actor.role not in (Role.ADMIN, Role.SUPERVISOR) or not actor.can(Permission.ANALYTICS_READ):
        raise PermissionDenied(
            N_("{actor} ({role}) may not start a scoring run: supervisors and admins only"),
            permission="analytics:run",
            actor=actor.label,
            role=str(actor.role),
        )


def queue_run(
    session: Session,
    *,
    actor: Actor,
    as_of: date | None = None,
    source: str = "all",
    refit: bool | None = None,
) -> ScoreRun:
    """Record a scoring run to be executed; refused while another one is under way."""
    _require_runner(actor)
    if source not in SOURCES:
        raise InvalidInput(
            N_("unknown source {source}; use one of {choices}"),
            field="source",
            source=repr(source),
            choices=", ".join(SOURCES),
        )
    as_of = as_of or datetime.now(UTC).date()
    if as_of > datetime.now(UTC).date() + timedelta(days=1):
        raise InvalidInput(
            N_("the scoring date {day} is in the future"), field="as_of", day=as_of.isoformat()
        )
    fail_stale_runs(session)
    busy = session.scalar(select(ScoreRun.id).where(ScoreRun.status.in_(("queued", "running"))))
    if busy is not None:
        raise RunInProgress(N_("scoring run {run_id} is still under way"), run_id=busy)
    run = ScoreRun(
        status="queued",
        as_of=as_of,
        source=source,
        parameters={"refit": refit},
        counts={},
        report={},
        requested_by=actor.label,
    )
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="analytics.run_queued",
        entity_type="score_run",
        entity_id=run.id,
        after={"as_of": as_of.isoformat(), "source": source},
    )
    return run


def _last_fit(
    session: Session, settings: AnalyticsSettings, refit: bool | None, as_of: date
) -> tuple[dict[str, Any], str] | None:
    """The parameters of the last successful fit to reuse, or None to fit again."""
    if refit is True:
        return None
    last = session.execute(
        select(ScoreRun.id, ScoreRun.as_of, ScoreRun.parameters, ScoreRun.model_version)
        .where(ScoreRun.status == "succeeded")
        .order_by(ScoreRun.id.desc())
        .limit(20)
    ).all()
    for _, fitted_as_of, parameters, version in last:
        if version is None:  # a successful run always names its model
            continue
        if parameters.get("fitted_as_of"):
            fitted_as_of = date.fromisoformat(parameters["fitted_as_of"])
        if "bg_nbd" not in parameters:
            continue
        chosen = parameters.get("purchase_model") or "bg_nbd"
        if ("holdout" if parameters.get("chosen_by") == "holdout" else chosen) != (
            settings.value_model
        ):
            continue  # fitted under another EGARDS_ANALYTICS_VALUE_MODEL: refit
        fresh = (as_of - fitted_as_of).days < settings.refit_every_days
        if refit is False or fresh:
            return parameters, version
        return None
    return None


def segment_rules(settings: AnalyticsSettings | None = None) -> tuple[SegmentRule, ...]:
    """The segment table in force: from settings when given there, else the default one."""
    settings = settings or get_analytics_settings()
    if settings.segment_rules:
        return rules_from_mapping(settings.segment_rules)
    return DEFAULT_SEGMENT_RULES


def segment_label(segment: str, lang: str = "en") -> str:
    """What people read for a segment code, in English or French, from the segment table."""
    return segment_labels(segment_rules(), lang).get(segment) or segment


@dataclass
class RunOutcome:
    run_id: int
    status: str
    model_version: str | None
    counts: dict[str, Any]
    report: dict[str, Any]


def score(
    db: Database,
    *,
    actor: Actor,
    as_of: date | None = None,
    source: str = "all",
    refit: bool | None = None,
    run_id: int | None = None,
    console: Console | None = None,
    settings: AnalyticsSettings | None = None,
    transactions: tuple[np.ndarray, np.ndarray, np.ndarray, int] | None = None,
    scorer: CustomerScorer | None = None,
) -> RunOutcome:
    """Score every customer from the transactions and write the scores back in bulk.

    Reads transactions and customer facts in bulk, fits BG/NBD and Gamma-Gamma (or reuses the
    last fit), trains the churn model, then replaces ``customer_scores`` and appends to
    ``score_history`` in one transaction. Any failure leaves the previous scores as they were,
    marks the run failed with the cause, and is raised again. ``transactions``, when given,
    are read instead of the database's: (customer id, day, amount) arrays and the count of
    transactions. Another engine (:mod:`egards.batch`) gives empty arrays and its count, and a
    ``scorer`` that holds the sums by customer and day and gives the fits their compressed
    inputs, the churn model's draws and the scores (the same per-customer functions run by
    that engine over partitions) instead of this process.
    """
    from egards.analytics.batch import BatchInput, BatchSettings, run_batch
    from egards.analytics.scoring import ValueModels

    settings = settings or get_analytics_settings()
    if run_id is None:
        with db.unit_of_work() as session:
            run_id = queue_run(session, actor=actor, as_of=as_of, source=source, refit=refit).id
    _require_runner(actor)
    with db.unit_of_work() as session:
        run = session.get_one(ScoreRun, run_id)
        run.status, run.started_at = "running", utcnow()
        as_of, source, refit = run.as_of, run.source, run.parameters.get("refit")
    progress = Progress(
        TextColumn("[bold]Scoring[/] {task.description:<14}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
    )
    try:
        with progress:
            task = progress.add_task(STEPS[0], total=len(STEPS))

            def step(name: str) -> None:
                following = STEPS.index(name) + 1 if name in STEPS else 0
                progress.update(
                    task,
                    advance=1,
                    description=STEPS[following] if following < len(STEPS) else "done",
                )

            with db.unit_of_work() as session:
                if transactions is None:
                    ids, days, amounts = read_transactions(session, source=source, as_of=as_of)
                    count = None
                else:
                    ids, days, amounts, count = transactions
                data = BatchInput(
                    customer_id=ids,
                    day=days,
                    amount_cents=amounts,
                    as_of=epoch_day(as_of),
                    active_customers=_active_customers(session),
                    events=_read_events(session, as_of=as_of),
                    subscriptions=_read_subscriptions(session, as_of=as_of),
                    transactions=count,
                )
                members, programme_tiers = _read_members(session)
                data = BatchInput(
                    **{
                        **{f: getattr(data, f) for f in data.__dataclass_fields__},
                        "members": members,
                        "programme_tiers": programme_tiers,
                    }
                )
                previous = _last_fit(session, settings, refit, as_of)
            step("read")
            batch_settings = BatchSettings(
                margin=settings.margin,
                annual_discount_rate=settings.annual_discount_rate,
                clv_months=settings.clv_months,
                churn_window_days=settings.churn_window_days,
                churn_training_rows=settings.churn_training_rows,
                rules=segment_rules(settings),
                value_model=settings.value_model,
                holdout_days=settings.holdout_days,
            )
            reuse = ValueModels.from_parameters(previous[0]) if previous else None
            result = run_batch(data, batch_settings, reuse=reuse, step=step, scorer=scorer)
            if result.fitted:
                version, fitted_as_of = f"{MODEL_FAMILY}.{run_id}", as_of.isoformat()
            else:
                assert previous is not None  # the batch reuses a fit only when given one
                version, fitted_as_of = previous[1], previous[0].get("fitted_as_of")
            parameters = {
                **result.models.as_parameters(),
                "refit": refit,
                "fitted_as_of": fitted_as_of,
                "margin": settings.margin,
                "annual_discount_rate": settings.annual_discount_rate,
                "clv_months": settings.clv_months,
                "churn_window_days": settings.churn_window_days,
            }
            with db.unit_of_work() as session:
                _write_scores(session, run_id=run_id, as_of=as_of, version=version, batch=result)
                _prune_history(session, run_id=run_id, keep_runs=settings.history_runs)
                run = session.get_one(ScoreRun, run_id)
                run.status, run.finished_at = "succeeded", utcnow()
                run.model_version, run.parameters = version, parameters
                run.counts, run.report = result.counts, _json_safe(result.report)
                audit.record(
                    session,
                    actor=actor,
                    action="analytics.scored",
                    entity_type="score_run",
                    entity_id=run_id,
                    after={"model_version": version, **result.counts},
                )
            step("write")
    except BaseException as exc:
        code, cause = failure(exc, "score_run_failed")
        with db.unit_of_work() as session:
            run = session.get_one(ScoreRun, run_id)
            run.status, run.finished_at = "failed", utcnow()
            run.error_code, run.error_message = code, cause
        log.warning("scoring run %s failed: %s", run_id, render_message("en", cause))
        raise
    return RunOutcome(run_id, "succeeded", version, result.counts, result.report)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


SCORE_COLUMNS = (
    "customer_id",
    "run_id",
    "scored_on",
    "model_version",
    "purchases",
    "spend_cents",
    "mean_spend_cents",
    "first_purchase_on",
    "last_purchase_on",
    "days_since_last",
    "expected_purchases_12m",
    "probability_alive",
    "expected_spend_cents",
    "clv_cents",
    "value_decile",
    "rfm",
    "segment",
    "churn_risk",
    "churn_reasons",
)
HISTORY_COLUMNS = (
    "run_id",
    "customer_id",
    "scored_on",
    "model_version",
    "spend_cents",
    "clv_cents",
    "probability_alive",
    "churn_risk",
    "segment",
)


def _score_table(*, run_id: int, as_of: date, version: str, batch):
    import pyarrow as pa

    c = batch.columns
    n = c["customer_id"].size

    def day32(values):
        return pa.array(np.asarray(values, dtype=np.int32)).cast(pa.date32())

    return pa.table(
        {
            "customer_id": pa.array(c["customer_id"], pa.int64()),
            "run_id": pa.array(np.full(n, run_id), pa.int64()),
            "scored_on": day32(np.full(n, epoch_day(as_of))),
            "model_version": pa.array([version] * n, pa.string()),
            "purchases": pa.array(c["purchases"], pa.int64()),
            "spend_cents": pa.array(c["spend_cents"].astype(np.int64)),
            "mean_spend_cents": pa.array(c["mean_spend_cents"].astype(np.int64)),
            "first_purchase_on": day32(c["first_purchase_day"]),
            "last_purchase_on": day32(c["last_purchase_day"]),
            "days_since_last": pa.array(c["days_since_last"].astype(np.int64)),
            "expected_purchases_12m": pa.array(c["expected_purchases_12m"].astype(float)),
            "probability_alive": pa.array(c["probability_alive"].astype(float)),
            "expected_spend_cents": pa.array(c["expected_spend_cents"].astype(np.int64)),
            "clv_cents": pa.array(c["clv_cents"].astype(np.int64)),
            "value_decile": pa.array(c["value_decile"].astype(np.int64)),
            "rfm": pa.array(np.asarray(c["rfm"]).astype(np.int64)),
            "segment": pa.array(c["segment"], pa.string()),
            "churn_risk": pa.array(c["churn_risk"].astype(float)),
            "churn_reasons": pa.array(c["churn_reasons"], pa.string()),
        }
    )


def _prune_history(session: Session, *, run_id: int, keep_runs: int) -> None:
    """Keep ``score_history`` to this run and the ``keep_runs - 1`` latest successful runs
    before it (``EGARDS_ANALYTICS_HISTORY_RUNS``), in the caller's transaction."""
    kept = select(ScoreRun.id).where(ScoreRun.status == "succeeded", ScoreRun.id != run_id)
    kept = kept.order_by(ScoreRun.id.desc()).limit(keep_runs - 1)
    keep = [run_id, *session.scalars(kept)]
    session.execute(delete(ScoreHistory).where(ScoreHistory.run_id.not_in(keep)))


def _write_scores(session: Session, *, run_id: int, as_of: date, version: str, batch) -> None:
    """Replace the current scores and append the history, in the caller's transaction; then
    what customers said in words (a churn threat they wrote, from the features above through
    the ``stated_churn_threats`` hook) and what their contracts show (a cancellation, through
    the ``observed_churn_risks`` hook) hold their risk up over the model's figure."""
    table = _score_table(run_id=run_id, as_of=as_of, version=version, batch=batch)
    session.flush()
    session.execute(delete(CustomerScore))
    copy_rows(session, "customer_scores", table)
    copy_rows(session, "score_history", table.select(list(HISTORY_COLUMNS)))
    for _feature, stated in hooks("service", "stated_churn_threats"):
        for customer_id, floor, reason in stated(session, as_of=as_of):
            raise_churn_risk(session, customer_id=customer_id, floor=floor, reason=reason)
    for _feature, observed in hooks("service", "observed_churn_risks"):
        raise_churn_risks(session, observed(session, as_of=as_of))


def raise_churn_risk(
    session: Session, *, customer_id: int, floor: float, reason: str
) -> float | None:
    """Raise a scored customer's churn risk to at least ``floor`` at once, with ``reason``
    (a reason code, e.g. ``stated:2026-12-03:je ne serai plus client``) first among the
    reasons; a previous reason of the same kind (the code before the first ``:``) is
    replaced. None when the customer has no score yet (the next run applies it). Returns the
    risk now held."""
    row = session.get(CustomerScore, customer_id)
    if row is None:
        return None
    row.churn_risk = max(float(row.churn_risk), float(floor))
    row.churn_reasons = _reason_first(row.churn_reasons, reason)
    session.flush()
    return row.churn_risk


def _reason_first(reasons: str | None, reason: str) -> str:
    kind = reason.split(":", 1)[0] + ":"
    kept = [r for r in (reasons or "").split(";") if r and not r.startswith(kind)]
    return ";".join([reason.replace(";", ","), *kept])


def raise_churn_risks(
    session: Session, risks: Iterable[tuple[int, float, str]], *, chunk: int = 5_000
) -> int:
    """:func:`raise_churn_risk` for many customers at once (customer, floor, reason), in
    chunks of bulk updates; customers without a score are skipped. Returns how many rows
    changed."""
    pending = list(risks)
    changed = 0
    for start in range(0, len(pending), chunk):
        part = {
            customer_id: (floor, reason)
            for customer_id, floor, reason in pending[start : start + chunk]
        }
        rows = session.execute(
            select(
                CustomerScore.customer_id, CustomerScore.churn_risk, CustomerScore.churn_reasons
            ).where(CustomerScore.customer_id.in_(part))
        ).all()
        updates = [
            {
                "customer_id": customer_id,
                "churn_risk": max(float(risk), float(part[customer_id][0])),
                "churn_reasons": _reason_first(reasons, part[customer_id][1]),
            }
            for customer_id, risk, reasons in rows
        ]
        if updates:
            session.flush()
            session.execute(update(CustomerScore), updates)
        changed += len(updates)
    for row in [o for o in session.identity_map.values() if isinstance(o, CustomerScore)]:
        session.expire(row)  # bulk updates bypass the identity map
    return changed


def fail_stale_runs(session: Session) -> int:
    """Mark runs left "running" by a dead process as failed, so a new run may start."""
    stale = session.scalars(
        select(ScoreRun).where(
            ScoreRun.status.in_(("queued", "running")), ScoreRun.created_at <= utcnow() - STALE_RUN
        )
    ).all()
    for run in stale:
        run.status, run.finished_at = "failed", utcnow()
        run.error_code = "score_run_abandoned"
        run.error_message = message(N_("abandoned (process ended)"))
    return len(stale)


def runs(session: Session, *, actor: Actor, limit: int = 20) -> list[ScoreRun]:
    actor.require(Permission.ANALYTICS_READ)
    return list(session.scalars(select(ScoreRun).order_by(ScoreRun.id.desc()).limit(limit)))


def get_run(session: Session, *, actor: Actor, run_id: int) -> ScoreRun:
    actor.require(Permission.ANALYTICS_READ)
    run = session.get(ScoreRun, run_id)
    if run is None:
        raise NotScored(N_("no scoring run {run_id}"), field="run_id", run_id=run_id)
    return run


def fitting_run_id(session: Session, run: ScoreRun) -> int | None:
    """The run that fitted the models ``run`` scored with (itself, or an earlier run whose fit
    it reused), or None when it scored nothing."""
    if run.model_version is None:
        return None
    return session.scalar(
        select(func.min(ScoreRun.id)).where(
            ScoreRun.model_version == run.model_version, ScoreRun.status == "succeeded"
        )
    )


def latest_run(session: Session, *, succeeded: bool = True) -> ScoreRun | None:
    """The last successful run (whose scores are current), or the last attempt of any outcome."""
    query = select(ScoreRun).order_by(ScoreRun.id.desc()).limit(1)
    return session.scalar(query.where(ScoreRun.status == "succeeded") if succeeded else query)


# --- Reads -----------------------------------------------------------------------------------


def can_see_scores(actor: Actor) -> bool:
    """Agents see a customer's score on the 360 because it drives gestures (recovery:grant);
    analytics:read sees all. Seeing the customer alone (customers:read) is not enough."""
    return actor.can(Permission.ANALYTICS_READ) or actor.can(Permission.RECOVERY_GRANT)


def customer_score(
    session: Session, *, actor: Actor, customer_id: int, lang: str = "en"
) -> dict[str, Any]:
    """A customer's current score with its reasons in words and the trend from history."""
    if not can_see_scores(actor):
        actor.require(Permission.ANALYTICS_READ)
    if actor.is_partner:
        raise PermissionDenied(N_("partners do not see customer value"), field="customer_id")
    row = session.get(CustomerScore, customer_id)
    if row is None:
        raise NotScored(
            N_("customer {customer_id} has no score yet (no purchase, or no scoring run since)"),
            field="customer_id",
            customer_id=customer_id,
        )
    labels = segment_labels(segment_rules(), lang)
    data = {c: getattr(row, c) for c in SCORE_COLUMNS}
    data["segment_label"] = labels.get(row.segment, row.segment)
    data["reasons"] = reasons_in_words(
        session, codes=row.churn_reasons, lang=lang, customer_id=customer_id
    )
    data["trend"] = [
        {
            "run_id": r.run_id,
            "scored_on": r.scored_on,
            "clv_cents": r.clv_cents,
            "probability_alive": r.probability_alive,
            "churn_risk": r.churn_risk,
            "segment": r.segment,
            "segment_label": labels.get(r.segment, r.segment),
        }
        for r in session.scalars(
            select(ScoreHistory)
            .where(
                ScoreHistory.customer_id == customer_id,
                ScoreHistory.run_id.in_(
                    select(ScoreRun.id)
                    .where(ScoreRun.status == "succeeded")
                    .order_by(ScoreRun.id.desc())
                    .limit(12)
                    .scalar_subquery()
                ),
            )
            .order_by(ScoreHistory.run_id)
        )
    ]
    return data


def segments(session: Session, *, actor: Actor, lang: str = "en") -> list[dict[str, Any]]:
    """Customers, value and risk per segment (code and label in ``lang``), from the current
    scores."""
    actor.require(Permission.ANALYTICS_READ)
    labels = segment_labels(segment_rules(), lang)
    rows = session.execute(
        select(
            CustomerScore.segment,
            func.count(),
            func.sum(CustomerScore.clv_cents),
            func.avg(CustomerScore.clv_cents),
            func.avg(CustomerScore.churn_risk),
            func.avg(CustomerScore.probability_alive),
        )
        .group_by(CustomerScore.segment)
        .order_by(func.sum(CustomerScore.clv_cents).desc())
    ).all()
    return [
        {
            "segment": segment,
            "label": labels.get(segment, segment),
            "customers": count,
            "total_clv_cents": int(total or 0),
            "mean_clv_cents": float(mean or 0),
            "mean_churn_risk": float(risk or 0),
            "mean_probability_alive": float(alive or 0),
        }
        for segment, count, total, mean, risk, alive in rows
    ]


def silent_loyal(
    session: Session, *, actor: Actor, limit: int = 50, lang: str = "en"
) -> tuple[list[dict[str, Any]], int]:
    """High-value customers (top value decile) who never opened a case, never received a
    goodwill gesture and have no social identity: the loyal customers nobody hears."""
    actor.require(Permission.ANALYTICS_READ)
    conditions = [
        "s.value_decile = 10",
        "NOT EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = s.customer_id"
        " AND i.kind = 'social')",
    ]
    if _has_table(session, "cases"):
        conditions.append("NOT EXISTS (SELECT 1 FROM cases k WHERE k.customer_id = s.customer_id)")
    if _has_table(session, "loyalty_entries"):
        conditions.append(
            "NOT EXISTS (SELECT 1 FROM loyalty_entries e JOIN loyalty_members m"
            " ON m.id = e.member_id WHERE m.customer_id = s.customer_id AND e.kind = 'goodwill')"
        )
    where = " AND ".join(conditions)
    total = session.execute(text(f"SELECT count(*) FROM customer_scores s WHERE {where}")).scalar()
    rows = session.execute(
        text(
            "SELECT s.customer_id, c.first_name, c.last_name, s.clv_cents, s.spend_cents,"
            " s.purchases, s.segment, s.churn_risk FROM customer_scores s"
            f" JOIN customers c ON c.id = s.customer_id WHERE {where}"
            " ORDER BY s.clv_cents DESC, s.customer_id LIMIT :limit"
        ),
        {"limit": limit},
    ).all()
    labels = segment_labels(segment_rules(), lang)
    found = [{**r._mapping, "segment_label": labels.get(r.segment, r.segment)} for r in rows]
    return found, int(total or 0)


def tier_names(session: Session, *, lang: str, customer_id: int | None = None) -> dict[str, str]:
    """Loyalty tiers' names in ``lang`` by code, for the reasons that name a tier ("downgraded
    from Gold"): a customer's programmes when one is given, else every programme; a code that
    names different tiers in different programmes is left out (its reason then names none)."""
    from egards.loyalty import service as loyalty

    programmes = loyalty.programmes()
    chosen = list(programmes)
    if customer_id is not None and _has_table(session, "loyalty_members"):
        chosen = loyalty.programmes_of(session, [customer_id]).get(customer_id) or chosen
    found: dict[str, set[str]] = {}
    for code in chosen:
        for tier in programmes[code].tiers if code in programmes else ():
            found.setdefault(tier.code, set()).add(tier.name.get(lang))
    return {code: next(iter(said)) for code, said in found.items() if len(said) == 1}


def reasons_in_words(
    session: Session, *, codes: str, lang: str, customer_id: int | None = None, limit: int = 3
) -> list[str]:
    """A score's reason codes in words in ``lang``, tiers by their names."""
    tiers = (
        tier_names(session, lang=lang, customer_id=customer_id) if "downgraded:" in codes else {}
    )
    return describe_reasons(codes, lang, limit, tier_names=tiers)


EXPORT_COLUMNS = (*SCORE_COLUMNS, "segment_label")


def iter_scores(session: Session, *, actor: Actor, lang: str = "en") -> Iterator[dict[str, Any]]:
    """Every current score, one per customer, in customer order (for exports), with the
    segment's label and the reasons in words in ``lang``."""
    actor.require(Permission.ANALYTICS_READ)
    labels = segment_labels(segment_rules(), lang)
    result = session.execute(
        select(*(getattr(CustomerScore, c) for c in SCORE_COLUMNS))
        .order_by(CustomerScore.customer_id)
        .execution_options(yield_per=10_000)
    )
    tiers = tier_names(session, lang=lang)
    for row in result:
        data = dict(row._mapping)
        said = describe_reasons(data["churn_reasons"], lang, limit=6, tier_names=tiers)
        data["churn_reasons"] = "; ".join(said)
        data["segment_label"] = labels.get(data["segment"], data["segment"])
        yield data


def count_transactions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Transaction)) or 0


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """The scores held about the customer (profiling), for their GDPR export."""
    current = session.get(CustomerScore, customer_id)
    history = session.execute(
        select(ScoreHistory.__table__).where(ScoreHistory.customer_id == customer_id)
    )
    return {
        "current": None
        if current is None
        else {c.key: _json_safe(getattr(current, c.key)) for c in CustomerScore.__table__.columns},
        "history": [{k: _json_safe(v) for k, v in row._mapping.items()} for row in history],
    }


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Profiling results go with the person; the transactions stay, anonymous, in the totals."""
    ids = erasure.customer_ids
    session.execute(delete(CustomerScore).where(CustomerScore.customer_id.in_(ids)))
    session.execute(delete(ScoreHistory).where(ScoreHistory.customer_id.in_(ids)))


def value_deciles(session: Session, customer_ids: Iterable[int]) -> dict[int, int]:
    """The current value decile (1-10) of each scored customer, in bulk."""
    rows = select_in(
        session, CustomerScore.customer_id, CustomerScore.value_decile, ids=customer_ids
    )
    return {customer_id: int(decile or 0) for customer_id, decile in rows}


def case_standing(session: Session, customer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each scored customer's lifetime value, value decile, churn risk and segment: what a
    case's queue rank is chosen on (the cases' ``case_standing`` hook)."""
    rows = select_in(
        session,
        CustomerScore.customer_id,
        CustomerScore.clv_cents,
        CustomerScore.value_decile,
        CustomerScore.churn_risk,
        CustomerScore.segment,
        ids=customer_ids,
    )
    return {
        customer_id: {
            "clv_cents": int(clv or 0),
            "value_decile": int(decile or 0),
            "churn_risk": float(risk) if risk is not None else None,
            "segment": segment,
        }
        for customer_id, clv, decile, risk, segment in rows
    }


# Value bands of the console's lists, by value decile (10 = the most valuable tenth).
VALUE_BANDS = ((10, "Top 10%"), (8, "Top 30%"), (4, "Middle"), (1, "Lower 30%"))


@dataclass(frozen=True)
class CustomerSignal:
    """What a list of customers shows of their current score: a value band (English label,
    translated by the console) and the churn risk (0 to 1)."""

    value_band: str
    churn_risk: float


def value_band(decile: int) -> str:
    return next((label for floor, label in VALUE_BANDS if decile >= floor), "")


def customer_signals(
    session: Session, *, actor: Actor, customer_ids: Iterable[int]
) -> dict[int, CustomerSignal]:
    """The value band and churn risk of many customers, in bulk (a hook: lists of features
    below analytics show them). Nothing for an actor who may not see scores, nor a partner."""
    if actor.is_partner or not can_see_scores(actor):
        return {}
    rows = select_in(
        session,
        CustomerScore.customer_id,
        CustomerScore.value_decile,
        CustomerScore.churn_risk,
        ids=customer_ids,
    )
    return {
        customer_id: CustomerSignal(value_band(int(decile or 0)), float(risk))
        for customer_id, decile, risk in rows
    }
