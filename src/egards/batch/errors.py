"""Errors of the batch on Spark, each naming what is missing and how to get it."""

from __future__ import annotations

from egards.errors import Conflict, DomainError, InvalidInput


class SparkUnavailable(InvalidInput):
    code = "spark_unavailable"
    title = "Spark cannot start"


class ExportMismatch(Conflict):
    code = "batch_export_mismatch"
    title = "The Parquet export does not cover this run"


class SparkJobFailed(DomainError):
    code = "spark_job_failed"
    status = 502
    title = "The Spark job failed"
