"""The batch on Spark gives exactly the scores of the single-machine run, on the same data
(read from a Parquet export, or from PostgreSQL by JDBC): integers, dates, segments and reasons
identical, floating-point figures within 1e-9 relative; and a Spark that cannot start, or a run
that fails half-way, changes nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from egards.accounts.domain import SYSTEM
from egards.analytics.errors import NoTransactions
from egards.analytics.models import CustomerScore, ScoreRun
from egards.analytics.settings import get_analytics_settings
from egards.batch import service
from egards.batch import spark as spark_engine
from egards.batch.errors import ExportMismatch, SparkJobFailed, SparkUnavailable
from egards.batch.models import BatchRun
from egards.errors import InvalidInput
from egards.i18n import readable, render_message, translate
from tests.conftest import _unavailable, own_database
from tests.integration.analytics.conftest import (
    AS_OF,
    add_customers,
    day,
    purchase_history,
    timedelta,
    write_transactions,
)

COMPARED = [
    c.name for c in CustomerScore.__table__.columns if c.name not in ("run_id", "model_version")
]


@pytest.fixture
def history(db):
    """1,000 customers; a third of their purchases come with a second one the same day, so that
    Spark's sums by customer and day are exercised."""
    ids = add_customers(db, 1000, prefix="SP")
    cid, day, amount = purchase_history(ids, seed=21)
    twice = np.arange(cid.size) % 3 == 0
    write_transactions(
        db,
        np.r_[cid, cid[twice]],
        np.r_[day, day[twice]],
        np.r_[amount, amount[twice] // 2 + 1],
    )
    return ids


def _scores(db) -> dict[int, tuple]:
    with db.unit_of_work() as session:
        rows = session.execute(select(*(CustomerScore.__table__.c[n] for n in COMPARED)))
        return {row[0]: tuple(row) for row in rows}


def _same(local: dict[int, tuple], spark: dict[int, tuple]) -> None:
    assert local.keys() == spark.keys()
    for customer, row in local.items():
        for name, a, b in zip(COMPARED, row, spark[customer], strict=True):
            if isinstance(a, float):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0), (customer, name, a, b)
            else:
                assert a == b, (customer, name, a, b)


def _scored_on_both_engines(db, spark, **reading):
    """Scores the customers on one machine, then on Spark (``reading``: how Spark reads the
    transactions), holding the counts and every customer's scores equal; the two runs."""
    local = service.run(
        db, actor=SYSTEM, job="score", engine="local", as_of=AS_OF, source="imported", refit=True
    )
    local_scores = _scores(db)
    on_spark = service.run(
        db,
        actor=SYSTEM,
        job="score",
        engine="spark",
        as_of=AS_OF,
        source="imported",
        refit=True,
        spark=spark,
        **reading,
    )
    assert on_spark.counts == local.counts
    _same(local_scores, _scores(db))
    return local, on_spark


@pytest.fixture
def on_the_driver(monkeypatch) -> list[spark_engine.SparkCustomers]:
    """The customers each Spark run held, with what they sent to the driver."""
    made: list[spark_engine.SparkCustomers] = []

    class Recorded(spark_engine.SparkCustomers):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(spark_engine, "SparkCustomers", Recorded)
    return made


def test_spark_scores_every_customer_exactly_as_the_single_machine_run(
    db, spark, history, on_the_driver
):
    local, on_spark = _scored_on_both_engines(db, spark)
    assert on_spark.counts["customers_scored"] == len(history)
    with db.unit_of_work() as session:
        fits = [session.get_one(ScoreRun, run.job_run_id).parameters for run in (local, on_spark)]
        reports = [session.get_one(ScoreRun, run.job_run_id).report for run in (local, on_spark)]
        runs = session.scalars(select(BatchRun).order_by(BatchRun.id)).all()
    # The driver received the partitions' compressed histories (each distinct history at most
    # once per partition), the churn model's draws and one score per customer: never the
    # customers' days.
    received, counts = on_the_driver[-1].received, on_spark.counts
    distinct = reports[1]["value_models"]["bg_nbd"]["distinct_rows"]
    repeat_buyers = reports[1]["value_models"]["gamma_gamma"]["customers"]
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    assert distinct <= received["summaries"] <= partitions * distinct + repeat_buyers
    assert received["summaries"] < counts["purchase_days"]
    churn = reports[1]["churn"]
    assert received["training"] == min(churn["train_customers"], 200_000) + 2 * min(
        churn["holdout_customers"], 200_000
    )
    assert received["scores"] == counts["customers_with_purchases"]
    assert reports[0]["value_models"] == reports[1]["value_models"]
    assert reports[0]["churn"] == reports[1]["churn"]
    assert fits[0]["bg_nbd"].keys() == fits[1]["bg_nbd"].keys()
    for name, value in fits[0]["bg_nbd"].items():
        if isinstance(value, float):
            assert math.isclose(value, fits[1]["bg_nbd"][name], rel_tol=1e-9)
    assert [(r.engine, r.status, r.job_run_id) for r in runs[-2:]] == [
        ("local", "succeeded", local.job_run_id),
        ("spark", "succeeded", on_spark.job_run_id),
    ]


@pytest.fixture
def holdout_choice(monkeypatch) -> Iterator[None]:
    """The purchase model chosen by a holdout comparison (its distinct rows go through Spark's
    summaries too)."""
    monkeypatch.setenv("EGARDS_ANALYTICS_VALUE_MODEL", "holdout")
    monkeypatch.setenv("EGARDS_ANALYTICS_HOLDOUT_DAYS", "120")
    get_analytics_settings.cache_clear()
    yield
    get_analytics_settings.cache_clear()


def test_the_holdout_comparison_on_spark_chooses_and_scores_as_on_one_machine(
    db, spark, history, holdout_choice
):
    local, on_spark = _scored_on_both_engines(db, spark)
    with db.unit_of_work() as session:
        reports = [session.get_one(ScoreRun, run.job_run_id).report for run in (local, on_spark)]
    assert "holdout_comparison" in reports[0]["value_models"]
    assert reports[0]["value_models"] == reports[1]["value_models"]


def test_a_spark_run_that_fails_half_way_keeps_the_previous_scores(db, spark, history, tmp_path):
    service.run(db, actor=SYSTEM, job="score", as_of=AS_OF, source="imported")
    before = _scores(db)
    service.export_parquet(db, directory=tmp_path, as_of=AS_OF, source="imported")
    # The export is damaged after the run has started reading it: Spark fails while reading.
    for part in (tmp_path / service.TRANSACTIONS).glob("*.parquet"):
        part.write_bytes(b"PAR1 not a parquet file at all PAR1")
    with pytest.raises(SparkJobFailed, match="Could not read footer"):
        service.run(
            db,
            actor=SYSTEM,
            job="score",
            engine="spark",
            as_of=AS_OF,
            source="imported",
            parquet=tmp_path,
            spark=spark,
        )
    assert _scores(db) == before
    with db.unit_of_work() as session:
        last = session.scalars(select(BatchRun).order_by(BatchRun.id.desc())).first()
    assert last is not None and last.status == "failed" and last.finished_at is not None
    assert last.reason_code == "spark_job_failed"
    said = render_message("en", last.reason_message)
    assert said.startswith("Spark could not sum the transactions")


def test_an_export_older_than_the_run_is_refused_and_the_run_marked_failed(
    db, spark, history, tmp_path: Path
):
    service.export_parquet(
        db, directory=tmp_path, as_of=AS_OF - timedelta(days=1), source="imported"
    )
    with pytest.raises(ExportMismatch, match="export again"):
        service.run(
            db,
            actor=SYSTEM,
            job="score",
            engine="spark",
            as_of=AS_OF,
            source="imported",
            parquet=tmp_path,
            spark=spark,
        )
    with db.unit_of_work() as session:
        last = session.scalars(select(BatchRun).order_by(BatchRun.id.desc())).first()
    assert last is not None and last.status == "failed"
    assert last.reason_code == "batch_export_mismatch"
    assert "export again" in render_message("en", last.reason_message)


@pytest.mark.parametrize(
    ("master", "says"),
    [
        ("local[two]", "is not a Spark master"),
        ("mesos://old:5050", "is not a Spark master"),
        ("spark://127.0.0.1:1", "does not answer"),
    ],
)
def test_a_wrong_master_is_refused_before_any_work(db, master: str, says: str):
    with pytest.raises(SparkUnavailable, match=says):
        service.run(db, actor=SYSTEM, job="score", engine="spark", master=master, as_of=AS_OF)
    with db.unit_of_work() as session:
        assert session.scalars(select(BatchRun)).first() is None


def test_without_java_the_error_says_how_to_install_it(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkUnavailable, match=r"openjdk-17-jre-headless"):
        spark_engine.check("local[2]")


def test_java_8_is_refused_with_the_version_spark_needs(monkeypatch, tmp_path: Path):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_402\"' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(SparkUnavailable, match=r"Java 17 or later.*Java 8"):
        spark_engine.check("local[2]")


def test_a_negative_amount_is_refused_on_spark_as_on_one_machine(db, spark, history):
    # The same day as a purchase, so that a sum by day would hide it.
    write_transactions(db, [history[0]], [day(AS_OF)], [-500])
    write_transactions(db, [history[0]], [day(AS_OF)], [2_000])
    for engine in ("local", "spark"):
        with pytest.raises(NoTransactions, match="negative amount"):
            service.run(
                db,
                actor=SYSTEM,
                job="score",
                engine=engine,
                as_of=AS_OF,
                source="imported",
                spark=spark,
            )


def test_the_refusals_read_in_french(monkeypatch, tmp_path: Path):
    with pytest.raises(SparkUnavailable) as wrong:
        spark_engine.check("local[two]")
    assert readable("fr", wrong.value) == (
        "--master 'local[two]' n’est pas un maître Spark : donnez local[N], local[*], "
        "spark://HÔTE:PORT, yarn ou k8s://URL"
    )
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkUnavailable) as no_java:
        spark_engine.check("local[2]")
    assert readable("fr", no_java.value).endswith(
        "installez-le avec apt-get install openjdk-17-jre-headless, ou définissez JAVA_HOME"
    )
    assert translate("fr", no_java.value.title) == "Spark ne peut pas démarrer"


@pytest.fixture
def committed(tmp_path):
    """A PostgreSQL database of the test's own, committed for real: Spark's JDBC readers
    connect on their own and see only what is committed."""
    yield from own_database("postgresql", tmp_path, "jdbc")


def test_spark_reading_postgresql_by_jdbc_scores_as_the_single_machine_run(committed, spark):
    if spark_engine.jdbc_jar() is None:
        _unavailable("JDBC reading needs the driver: apt-get install libpostgresql-jdbc-java")
    db = committed
    ids = add_customers(db, 300, prefix="JD")
    write_transactions(db, *purchase_history(ids, seed=7))
    _, by_jdbc = _scored_on_both_engines(db, spark, jdbc=True)
    assert by_jdbc.counts["customers_scored"] == len(ids)


def test_jdbc_reading_is_refused_before_any_work_without_postgresql_or_its_driver(
    db, monkeypatch, tmp_path: Path
):
    monkeypatch.setenv(spark_engine.JDBC_JAR_VARIABLE, str(tmp_path / "postgresql.jar"))
    says = "is sqlite: use the Parquet export" if db.dialect == "sqlite" else "libpostgresql-jdbc"
    with pytest.raises(InvalidInput, match=says) as refused:
        service.run(db, actor=SYSTEM, job="score", engine="spark", as_of=AS_OF, jdbc=True)
    assert refused.value.field == "jdbc"
    with pytest.raises(InvalidInput, match="--engine spark") as refused:
        service.run(db, actor=SYSTEM, job="requalify", engine="spark", as_of=AS_OF, jdbc=True)
    with db.unit_of_work() as session:
        assert session.scalars(select(BatchRun)).first() is None
