"""Batch runs: a job (scoring, requalification, identity linking) on one machine or on
Spark, recorded in ``batch_runs``.

Scoring: both engines end in the same call, :func:`egards.analytics.service.score`, which fits
with the single-machine code and replaces the scores in one transaction; on Spark the
transactions stay with Spark (summed by customer and day, spread over partitions by customer),
and each partition runs the run's own functions: the summaries the fits need (compressed, merged
on the driver), the churn model's drawn customers, and the scores.
Requalification: Spark evaluates the members of a fresh export partition by partition with
:func:`egards.loyalty.service.requalified`, and the driver writes every batch with
:func:`egards.loyalty.service.write_requalified` in one transaction, as
:func:`egards.loyalty.service.requalify` does on one machine.
Identity linking: :func:`egards.social.service.link_probabilistically` itself, given Splink's
Spark backend to make and score the pairs (the model is trained on the driver either way).
A failure anywhere leaves the previous results in place and marks the run failed with its
reason.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from egards.accounts.domain import Actor, Permission
from egards.analytics import service as analytics
from egards.batch import spark as spark_engine
from egards.batch.errors import ExportMismatch
from egards.batch.models import BatchRun
from egards.db import Database, utcnow
from egards.errors import N_, InvalidInput
from egards.loyalty import service as loyalty
from egards.messages import failure

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

JOBS = ("score", "requalify", "link")
ENGINES = ("local", "spark")
MANIFEST = "manifest.json"
TRANSACTIONS = "transactions"
MEMBERS = "members"


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    run_id: int
    job_run_id: int | None
    counts: dict[str, Any]


def export_parquet(
    db: Database, *, directory: Path, as_of: date, source: str = "all"
) -> dict[str, Any]:
    """Write the transactions up to ``as_of`` to ``directory`` as Parquet (customer_id, day
    since 1970-01-01, amount_cents), with a manifest saying what the export covers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with db.unit_of_work() as session:  # an unknown source is refused here, before any file
        ids, days, amounts = analytics.read_transactions(session, source=source, as_of=as_of)
    folder = directory / TRANSACTIONS
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "customer_id": pa.array(np.asarray(ids, dtype=np.int64)),
            "day": pa.array(np.asarray(days, dtype=np.int64)),
            "amount_cents": pa.array(np.asarray(amounts, dtype=np.int64)),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")
    manifest = {"as_of": as_of.isoformat(), "source": source, "transactions": table.num_rows}
    (directory / MANIFEST).write_text(json.dumps(manifest))
    return manifest


def export_members(db: Database, *, directory: Path, as_of: date, batch: int = 100_000) -> int:
    """Write the members whose qualification period ended before ``as_of`` to
    ``directory``/members as Parquet (id, customer_id, programme, tier_state as JSON text),
    what requalification reads; returns how many."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = directory / MEMBERS
    folder.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("customer_id", pa.int64()),
            ("programme", pa.string()),
            ("tier_state", pa.string()),
        ]
    )
    written, last = 0, 0
    with pq.ParquetWriter(folder / "part-0.parquet", schema) as writer, db.unit_of_work() as s:
        while rows := loyalty.members_due(s, as_of=as_of, after_id=last, limit=batch):
            ids, customers, codes, states = (list(column) for column in zip(*rows, strict=True))
            writer.write_table(pa.table([ids, customers, codes, states], schema=schema))
            written, last = written + len(rows), ids[-1]
    return written


def _check_export(directory: Path, *, as_of: date, source: str) -> Path:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ExportMismatch(
            N_("{directory} is not an export of `egards batch export` ({cause})"),
            field="parquet",
            directory=str(directory),
            cause=str(exc),
        ) from None
    if manifest.get("source") != source or date.fromisoformat(manifest["as_of"]) < as_of:
        raise ExportMismatch(
            N_(
                "{directory} holds the {held!r} transactions up to {held_as_of}; this run "
                "needs the {source!r} ones up to {as_of}: export again"
            ),
            field="parquet",
            directory=str(directory),
            held=manifest.get("source"),
            held_as_of=manifest.get("as_of"),
            source=source,
            as_of=as_of.isoformat(),
        )
    return directory / TRANSACTIONS


def run(
    db: Database,
    *,
    actor: Actor,
    job: str,
    engine: str = "local",
    master: str = "local[2]",
    as_of: date | None = None,
    source: str = "all",
    refit: bool | None = None,
    parquet: Path | None = None,
    jdbc: bool = False,
    spark: SparkSession | None = None,
) -> BatchOutcome:
    """Run ``job`` on ``engine`` and record it in ``batch_runs``. Spark is checked before any
    work (PySpark, Java 17, the master); ``parquet`` is an export to read, made afresh in a
    temporary folder when not given; ``spark`` is a session to use instead of starting one;
    ``refit`` is scoring's (fit the value models again, reuse the last fit, or decide)."""
    if job not in JOBS:
        raise InvalidInput(N_("job must be one of {known}"), field="job", known=", ".join(JOBS))
    if engine not in ENGINES:
        raise InvalidInput(
            N_("engine must be one of {known}"), field="engine", known=", ".join(ENGINES)
        )
    if job in ("requalify", "link") and parquet is not None:
        raise InvalidInput(
            N_("{job} reads the current state of the database: give no --parquet"),
            field="parquet",
            job=job,
        )
    if jdbc and (job != "score" or engine != "spark" or parquet is not None):
        raise InvalidInput(
            N_(
                "--jdbc is how Spark reads the transactions to score: give it with score, "
                "--engine spark and no --parquet"
            ),
            field="jdbc",
        )
    if jdbc and db.dialect != "postgresql":
        raise InvalidInput(
            N_("--jdbc reads PostgreSQL, and this database is {dialect}: use the Parquet export"),
            field="jdbc",
            dialect=db.dialect,
        )
    if jdbc:
        spark_engine.check_jdbc()
    if job == "requalify":
        actor.require(Permission.LOYALTY_EXCEPTION)
    if job == "link":  # it adds social identities to customers, as a manual link does
        actor.require(Permission.CUSTOMERS_WRITE)
    if engine == "spark" and spark is None:
        spark_engine.check(master)
    as_of = as_of or datetime.now(UTC).date()
    with db.unit_of_work() as session:
        row = BatchRun(
            job=job,
            engine=engine,
            master=master if engine == "spark" else None,
            status="running",
            as_of=as_of,
            counts={},
            requested_by=actor.label,
        )
        session.add(row)
        session.flush()
        run_id = row.id
    try:
        if job == "requalify":
            job_run_id, counts = None, _requalify(db, actor, engine, master, as_of, spark)
        elif job == "link":
            job_run_id, counts = None, _link(db, engine, master, spark)
        else:
            scored = _score(db, actor, engine, master, as_of, source, refit, parquet, jdbc, spark)
            job_run_id, counts = scored.run_id, scored.counts
    except BaseException as exc:
        code, reason = failure(exc, "batch_run_failed")
        with db.unit_of_work() as session:
            failed = session.get_one(BatchRun, run_id)
            failed.status, failed.finished_at = "failed", utcnow()
            failed.reason_code, failed.reason_message = code, reason
        raise
    with db.unit_of_work() as session:
        done = session.get_one(BatchRun, run_id)
        done.status, done.finished_at = "succeeded", utcnow()
        done.job_run_id, done.counts = job_run_id, counts
    return BatchOutcome(run_id, job_run_id, counts)


@contextmanager
def _spark_session(spark: SparkSession | None, master: str) -> Iterator[SparkSession]:
    """``spark`` if given (left running), or a session on ``master`` stopped afterwards."""
    if spark is not None:
        yield spark
        return
    started = spark_engine.session(master)
    try:
        yield started
    finally:
        started.stop()


def _score(
    db: Database,
    actor: Actor,
    engine: str,
    master: str,
    as_of: date,
    source: str,
    refit: bool | None,
    parquet: Path | None,
    jdbc: bool,
    spark: SparkSession | None,
) -> analytics.RunOutcome:
    if engine == "local":
        return analytics.score(db, actor=actor, as_of=as_of, source=source, refit=refit)
    with contextlib.ExitStack() as stack:
        session_ = stack.enter_context(_spark_session(spark, master))
        if jdbc:
            with db.unit_of_work() as session:  # an unknown source is refused here
                query = analytics.transactions_query(session, source=source, as_of=as_of)
                lowest, highest = analytics.customer_id_range(session)
            url = db.engine.url

            def read() -> DataFrame:
                return spark_engine.read_jdbc(session_, url, query, lowest=lowest, highest=highest)

            origin = f"PostgreSQL ({url.database})"
        else:
            if parquet is None:
                parquet = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="egards-")))
                export_parquet(db, directory=parquet, as_of=as_of, source=source)
            path = _check_export(parquet, as_of=as_of, source=source)

            def read() -> DataFrame:
                return spark_engine.read_parquet(session_, path)

            origin = str(path)
        frame, transactions = spark_engine.daily_transactions(
            read, as_of_day=analytics.epoch_day(as_of), origin=origin
        )
        stack.callback(frame.unpersist)
        nothing = np.zeros(0, dtype=np.int64)  # the transactions stay with Spark
        return analytics.score(
            db,
            actor=actor,
            as_of=as_of,
            source=source,
            refit=refit,
            transactions=(nothing, nothing, nothing, transactions),
            scorer=spark_engine.SparkCustomers(frame),
        )


def _requalify(
    db: Database,
    actor: Actor,
    engine: str,
    master: str,
    as_of: date,
    spark: SparkSession | None,
) -> dict[str, int]:
    """Close the periods that ended before ``as_of``: on one machine, ``loyalty.requalify``;
    on Spark, its evaluation run by Spark on a fresh export and its writer on the driver, every
    batch in one transaction (a failure leaves every member as it was). A member whose tier
    state moved after the export (an activity posted while Spark computed) is not overwritten:
    the writer leaves it, and the single-machine job requalifies it from its new state in the
    same transaction."""
    if engine == "local":
        with db.unit_of_work() as session:
            return loyalty.requalify(session, actor=actor, as_of=as_of)
    counts = {"members": 0, "changed": 0, "moved": 0, "left": 0}
    moved: list[int] = []
    with tempfile.TemporaryDirectory(prefix="egards-batch-") as scratch:
        export_members(db, directory=Path(scratch), as_of=as_of)
        with _spark_session(spark, master) as session_, db.unit_of_work() as session:
            batches = spark_engine.requalified(
                session_, Path(scratch) / MEMBERS, as_of=as_of, actor=actor
            )
            for batch in batches:
                done = loyalty.write_requalified(session, batch)
                counts["members"] += done.members
                counts["changed"] += done.changed
                counts["moved"] += len(done.moved)
                moved.extend(done.moved)
            if moved:  # activities posted since the export: evaluated again from their state
                again = loyalty.requalify(session, actor=actor, as_of=as_of, member_ids=moved)
                counts = {name: counts[name] + again[name] for name in counts}
    return counts


def _link(db: Database, engine: str, master: str, spark: SparkSession | None) -> dict[str, int]:
    """Link the unlinked social profiles to customers: ``social.link_probabilistically``, the
    single-machine job, with the pairs made and scored by Splink on Spark when ``engine`` is
    spark (the model is trained on the driver, as on one machine). Links and review proposals
    are written in one transaction: a failure leaves the links and the queue as they were."""
    from egards.social import service as social

    with contextlib.ExitStack() as stack:
        session = stack.enter_context(db.unit_of_work())
        backend = None
        if engine == "spark":
            spark = stack.enter_context(_spark_session(spark, master))
            backend = stack.enter_context(spark_engine.splink_backend(spark))
            stack.enter_context(
                spark_engine.failing_as(
                    N_("Spark could not link the social profiles: {cause}"), field="engine"
                )
            )
        done = social.link_with_settings(session, now=utcnow(), db_api=backend)
    return {
        "profiles": done.profiles,
        "customers": done.customers,
        "linked": done.linked,
        "to_review": done.to_review,
    }
