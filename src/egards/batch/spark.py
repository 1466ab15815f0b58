"""Starting Spark, and what it does for each job. Scoring: sum the transactions (a Parquet
export, or PostgreSQL read by JDBC) by customer and day, which is where the volume is (ten
transactions or more per customer-day row on a real history), and score the customers partition
by partition with the single-machine run's own per-customer step after the fits.
Requalification: spread the members over partitions and run the single-machine job's own
evaluation in each (``mapInPandas``); the driver writes the results with the job's writer.

The session is pinned to the settings that make engines agree: ANSI arithmetic (an overflow
fails instead of wrapping), UTC as the session time zone, and explicit orderings.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from egards.accounts.domain import Actor
from egards.batch.errors import SparkJobFailed, SparkUnavailable
from egards.errors import N_, DomainError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from egards.analytics.batch import BatchSettings, Summaries
    from egards.analytics.churn import ChurnModel, CustomerEvents, Found
    from egards.analytics.scoring import DailyPurchases, ValueModels
    from egards.loyalty.service import Requalified

JAVA_PACKAGE = "openjdk-17-jre-headless"
MASTER = re.compile(r"^(local(\[(\d+|\*)\])?|yarn|spark://[^:/\s]+:\d+|k8s://\S+)$")


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_version(java: str) -> int:
    """The major version ``java -version`` reports (17 for "17.0.15", 8 for "1.8.0_402")."""
    output = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    found = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if not found:
        return 0
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def check(master: str) -> None:
    """Refuse, before any work, a Spark that cannot start: no PySpark, no Java 17 or later, or
    a master that is malformed or does not answer. Each error says how to mend it."""
    if not MASTER.match(master):
        raise SparkUnavailable(
            N_(
                "--master {master!r} is not a Spark master: give local[N], local[*], "
                "spark://HOST:PORT, yarn or k8s://URL"
            ),
            field="master",
            master=master,
        )
    if importlib.util.find_spec("pyspark") is None:
        raise SparkUnavailable(
            N_("PySpark is not installed: pip install 'egards[spark]'"), field="engine"
        )
    java = _java()
    if java is None:
        raise SparkUnavailable(
            N_(
                "Spark needs Java 17 and none was found (no JAVA_HOME, no java on PATH): "
                "install it with apt-get install {package}, or set JAVA_HOME"
            ),
            field="engine",
            package=JAVA_PACKAGE,
        )
    if (version := java_version(java)) < 17:
        raise SparkUnavailable(
            N_(
                "Spark 4 needs Java 17 or later; {java} is Java {version}: install {package} "
                "and set JAVA_HOME to it"
            ),
            field="engine",
            java=java,
            version=version,
            package=JAVA_PACKAGE,
        )
    if master.startswith("spark://"):
        host, port = master.removeprefix("spark://").rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as exc:
            raise SparkUnavailable(
                N_(
                    "the Spark master {master} does not answer ({cause}): start it, or give "
                    "another --master"
                ),
                field="master",
                master=master,
                cause=str(exc.strerror or exc),
            ) from None


def _cause(exc: Exception) -> str:
    """The line of a Spark error that names its cause (a JVM error's first line is only
    "An error occurred while calling o37.parquet")."""
    lines = [line.strip(" :\t") for line in str(exc).splitlines() if line.strip()]
    return next((line for line in lines if "Exception:" in line), lines[0] if lines else "")


@contextmanager
def failing_as(message: str, *, field: str = "parquet", **params: Any) -> Iterator[None]:
    """Any error of the block as :class:`SparkJobFailed` with ``message`` (an ``N_``
    template whose ``{cause}`` is the line of the error that names its cause: Py4J wraps the
    JVM's errors in a page of stack)."""
    try:
        yield
    except DomainError:
        raise  # ours already says what is wrong
    except Exception as exc:
        raise SparkJobFailed(message, field=field, cause=_cause(exc), **params) from exc


def similarity_jar() -> str:
    """The string-similarity functions Splink's Spark backend calls (``jaro_winkler``...):
    the jar Splink ships for Spark 4, given to the session from the installed package (no
    download), so that identity linking runs on Spark offline."""
    from splink.backends.spark import similarity_jar_location

    return similarity_jar_location()


JDBC_PACKAGE = "libpostgresql-jdbc-java"  # Debian's PostgreSQL JDBC driver
JDBC_JAR = Path("/usr/share/java/postgresql.jar")  # where that package puts it
JDBC_JAR_VARIABLE = "EGARDS_BATCH_JDBC_JAR"


def jdbc_jar() -> Path | None:
    """The PostgreSQL JDBC driver's jar: ``EGARDS_BATCH_JDBC_JAR`` if set, else the one
    Debian's ``libpostgresql-jdbc-java`` installs; ``None`` if there is none."""
    given = os.environ.get(JDBC_JAR_VARIABLE)
    jar = Path(given) if given else JDBC_JAR
    return jar if jar.is_file() else None


def check_jdbc() -> Path:
    """The JDBC driver's jar, or a refusal saying how to install it (before any work)."""
    jar = jdbc_jar()
    if jar is None:
        raise SparkUnavailable(
            N_(
                "reading by JDBC needs PostgreSQL's JDBC driver, and {jar} is not there: "
                "install it with apt-get install {package}, or set {variable} to its jar"
            ),
            field="jdbc",
            jar=os.environ.get(JDBC_JAR_VARIABLE) or str(JDBC_JAR),
            package=JDBC_PACKAGE,
            variable=JDBC_JAR_VARIABLE,
        )
    return jar


def session(master: str, *, shuffle_partitions: int = 8) -> SparkSession:
    """A Spark session on ``master`` with the settings that keep its results equal to ours."""
    check(master)
    from pyspark.sql import SparkSession

    if master.startswith("local"):
        # Local executors run our functions in this Python (its packages), not in whichever
        # python3 is first on PATH (Spark's default when PYSPARK_PYTHON is not set).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder: Any = SparkSession.builder
    spark = (
        builder.master(master)
        .appName("egards-batch")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # The JDBC driver when installed (Spark takes jars only when the session starts).
        .config("spark.jars", ",".join([similarity_jar(), *map(str, filter(None, [jdbc_jar()]))]))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_parquet(spark: SparkSession, path: Path) -> DataFrame:
    """The transactions of an export of ``egards batch export`` (customer_id, day,
    amount_cents)."""
    return spark.read.parquet(str(path))


def read_jdbc(spark: SparkSession, url: Any, query: str, *, lowest: int, highest: int) -> DataFrame:
    """The rows of ``query`` (customer id, day, amount in cents) read from PostgreSQL by JDBC
    at ``url`` (SQLAlchemy's), in one range of customer ids per core, so that each executor
    reads its share over its own connection."""
    jdbc = f"jdbc:postgresql://{url.host or 'localhost'}:{url.port or 5432}/{url.database}"
    options = {
        "url": jdbc,
        "driver": "org.postgresql.Driver",
        "dbtable": f"({query}) AS t (customer_id, day, amount_cents)",
        "partitionColumn": "customer_id",
        "lowerBound": str(lowest),
        "upperBound": str(highest + 1),
        "numPartitions": str(spark.sparkContext.defaultParallelism),
        "fetchsize": "100000",
        "user": url.username or "",
    }
    if url.password:
        options["password"] = url.password
    return spark.read.format("jdbc").options(**options).load()


def daily_transactions(
    read: Callable[[], DataFrame], *, as_of_day: int, origin: str
) -> tuple[DataFrame, int]:
    """The transactions ``read`` gives (:func:`read_parquet`, :func:`read_jdbc`) summed by
    customer and day up to ``as_of_day`` (days since 1970-01-01), spread over
    ``spark.sql.shuffle.partitions`` partitions by ranges of customer ids (every day of a
    customer in one partition, the partitions in customer order) and cached, for
    :class:`SparkCustomers`; and how many transactions they are. Nothing of them comes to the
    driver but these two counts. ``origin`` names where they were read, for an error.

    Amounts are integer cents summed as BIGINT (exact; ANSI mode fails on overflow), so the
    sums equal what :func:`egards.analytics.scoring.daily_purchases` makes of the raw rows.
    Negative amounts are summed apart and refused, as the single-machine run refuses them.
    """
    from pyspark.sql import functions as F

    from egards.analytics.batch import refuse_negative

    failing = failing_as(
        N_("Spark could not sum the transactions of {origin}: {cause}"), origin=origin
    )
    with failing:  # reading starts at once (footers, the JDBC schema), the sums at the count
        frame = (
            read()
            .where(F.col("day") <= F.lit(as_of_day))
            # Negative amounts apart: summed into a purchase they would slip past the batch's
            # refusal of negative amounts, which must see them.
            .groupBy("customer_id", "day", (F.col("amount_cents") < 0).alias("negative"))
            .agg(
                F.sum("amount_cents").cast("bigint").alias("amount_cents"),
                F.count(F.lit(1)).alias("transactions"),
            )
            .repartitionByRange(F.col("customer_id").asc_nulls_first())
            .cache()
        )
        counted = frame.agg(
            F.sum("transactions").alias("all"),
            F.sum(F.when(F.col("negative"), F.col("transactions")).otherwise(0)).alias("negative"),
        ).first()
    assert counted is not None  # an aggregate without grouping has one row
    refuse_negative(int(counted["negative"] or 0))
    return frame, int(counted["all"] or 0)


@dataclass
class SparkCustomers:
    """The customers of a scoring run held by Spark (:func:`daily_transactions`), for
    :func:`egards.analytics.batch.run_batch`: each partition makes its customers' daily
    purchases with :func:`egards.analytics.scoring.daily_purchases` and runs the
    single-machine run's own functions on them; the driver receives what they return. That
    is the partitions' summaries (compressed histories and counts, merged on the driver for
    the fits), the churn model's drawn customers, and the scores (one row per customer, which
    the driver writes). ``received`` counts the rows each step brought to the driver."""

    frame: DataFrame
    # By the first customer of each partition: its position among the customers present at
    # the churn model's early and late cutoffs (where its share of the draws starts).
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)

    def _each_partition(self, work: Callable[[DailyPurchases], Any], failure: str) -> list[Any]:
        """``work`` on the daily purchases of each partition's customers, what it returns in
        the order of the partitions' first customers; an error as ``failure`` (an ``N_``
        template with ``{cause}``)."""

        def partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            import pyarrow as pa

            from egards.analytics.scoring import daily_purchases

            # The whole partition at once: a customer's days may straddle two Arrow batches.
            received = [batch for batch in batches if batch.num_rows]
            if not received:
                return
            rows = pa.Table.from_batches(received)
            daily = daily_purchases(
                customer_id=rows.column("customer_id").to_numpy(),
                day=rows.column("day").to_numpy(),
                amount_cents=rows.column("amount_cents").to_numpy(),
            )
            done = pickle.dumps(work(daily))  # read back by our own driver
            yield pa.RecordBatch.from_pydict({"first": [int(daily.customers[0])], "done": [done]})

        with failing_as(failure, field="engine"):
            table = (
                self.frame.select("customer_id", "day", "amount_cents")
                .mapInArrow(partition, "first long, done binary")
                .toArrow()
            )
        firsts = table.column("first").to_pylist()
        done = table.column("done").to_pylist()
        return [pickle.loads(done[i]) for i in np.argsort(firsts, kind="stable")]

    def summaries(
        self,
        *,
        as_of: int,
        settings: BatchSettings,
        active_customers: np.ndarray | None,
        fitting: bool,
    ) -> Summaries:
        from egards.analytics.batch import Summaries, summaries

        def summarise(daily: DailyPurchases) -> tuple[int, Summaries]:
            return int(daily.customers[0]), summaries(
                daily,
                as_of=as_of,
                settings=settings,
                active_customers=active_customers,
                fitting=fitting,
            )

        failure = N_("Spark could not summarise the customers: {cause}")
        parts = self._each_partition(summarise, failure)
        early = late = 0
        for first, part in parts:
            self.offsets[first] = (early, late)
            early, late = early + part.churn.customers[0], late + part.churn.customers[1]
        values = [part.value for _, part in parts if part.value is not None]
        self.received["summaries"] = sum(
            h.weights.size
            for value in values
            for h in (value.histories, value.repeat_spend, value.holdout)
            if h is not None
        )
        return Summaries.merge([part for _, part in parts])

    def training_rows(
        self,
        events: CustomerEvents,
        positions: dict[str, np.ndarray],
        *,
        as_of: int,
        horizon: int,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        from egards.analytics.churn import drawn_rows, gathered

        offsets = dict(self.offsets)

        def draw(daily: DailyPurchases) -> Found:
            first = offsets.get(int(daily.customers[0]))
            if first is None:  # a partition the summaries did not see
                raise ValueError("Spark's partitions changed between two passes over them")
            return drawn_rows(daily, events, positions, as_of=as_of, horizon=horizon, first=first)

        parts = self._each_partition(
            draw, N_("Spark could not draw the customers the churn model learns from: {cause}")
        )
        self.received["training"] = sum(rows.size for part in parts for rows, _, _ in part.values())
        return gathered(parts, positions)

    def scores(
        self,
        events: CustomerEvents,
        *,
        as_of: int,
        models: ValueModels,
        churn_model: ChurnModel | None,
        settings: BatchSettings,
    ) -> dict[str, np.ndarray]:
        from egards.analytics.batch import customer_scores

        def score(daily: DailyPurchases) -> dict[str, np.ndarray]:
            return customer_scores(
                daily,
                events,
                as_of=as_of,
                models=models,
                churn_model=churn_model,
                settings=settings,
            )

        parts = self._each_partition(score, N_("Spark could not score the customers: {cause}"))
        scored = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
        self.received["scores"] = int(scored["customer_id"].size)
        return scored


def requalified(
    spark: SparkSession, path: Path, *, as_of: date, actor: Actor, batch_size: int = 20_000
) -> Iterator[Requalified]:
    """Requalification of the members exported at ``path`` (those whose period ended before
    ``as_of``: :func:`egards.batch.service.export_members`), computed by Spark: the members
    are spread over partitions by id, and each partition runs
    :func:`egards.loyalty.service.requalified`, the single-machine job's own evaluation of the
    pure tier rules, on batches of at most ``batch_size`` members. Yields each batch, computed, for
    :func:`egards.loyalty.service.write_requalified`."""
    import pandas as pd
    from pyspark.sql import functions as F

    def evaluate(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from egards.loyalty import service as loyalty

        outcomes: dict[tuple[str, str], Any] = {}  # shared by the partition's batches
        for frame in frames:
            rows = [
                (int(i), int(c), str(p), str(s))
                for i, c, p, s in frame[
                    ["id", "customer_id", "programme", "tier_state"]
                ].itertuples(index=False, name=None)
            ]
            for start in range(0, len(rows), batch_size):
                batch = sorted(rows[start : start + batch_size])
                if len(outcomes) > 200_000:
                    outcomes.clear()
                computed = loyalty.requalified(actor, batch, as_of, outcomes)
                yield pd.DataFrame(
                    {"first_id": [batch[0][0]], "computed": [pickle.dumps(computed)]}
                )

    failing = failing_as(
        N_("Spark could not requalify the members of {path}: {cause}"), path=str(path)
    )
    with failing:
        members = spark.read.parquet(str(path))
        # About one batch per partition, and at least one partition per core: the driver takes
        # the results one partition at a time (toLocalIterator), and a partition of half a
        # million members (one per core at a million) was lost from a local driver's block
        # manager (TaskResultLost, measured).
        partitions = max(spark.sparkContext.defaultParallelism, -(-members.count() // batch_size))
        frame = (
            members.repartition(partitions, "id")
            .sortWithinPartitions(F.col("id").asc_nulls_first())
            .mapInPandas(evaluate, "first_id long, computed binary")
        )
        for row in frame.toLocalIterator():
            yield pickle.loads(row["computed"])  # our own executors' output


@contextmanager
def splink_backend(spark: SparkSession) -> Iterator[Any]:
    """Splink's Spark backend on ``spark`` for one linking run: the jar's similarity functions
    (registered from the session's jar), ``jaro_winkler`` replaced by DuckDB's
    (:func:`egards.batch.similarity.jaro_winkler`), intermediate tables persisted (no
    checkpoint folder to share between executors). The tables the run registers are dropped
    (and uncached) afterwards, so that a long-lived session can link again."""
    from pyspark.sql.functions import pandas_udf
    from splink import SparkAPI

    from egards.batch.similarity import jaro_winkler

    def views() -> set[str]:
        return {table.name for table in spark.catalog.listTables() if table.isTemporary}

    with failing_as(N_("Spark could not load Splink's functions: {cause}"), field="engine"):
        there = views()
        backend = SparkAPI(spark_session=spark, break_lineage_method="persist")
        # pandas_udf's overloads know only its decorator forms, not this call on a function.
        vectorised: Any = pandas_udf(jaro_winkler, "double")  # pyright: ignore[reportCallIssue, reportArgumentType]
        spark.udf.register("jaro_winkler", vectorised)
    try:
        yield backend
    finally:
        for name in views() - there:
            spark.catalog.dropTempView(name)
