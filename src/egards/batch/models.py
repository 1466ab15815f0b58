"""``batch_runs``: each run of a batch job by ``egards batch run``, on which engine, and how it
ended (why, when it failed: a code and a message read in the reader's language). The job's
own run table (``score_runs``) keeps its figures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from egards.db import Base, utcnow


class BatchRun(Base):
    __tablename__ = "batch_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(20))  # score | requalify | link
    engine: Mapped[str] = mapped_column(String(10))  # local | spark
    master: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # running | succeeded | failed
    as_of: Mapped[date] = mapped_column(Date)
    job_run_id: Mapped[int | None] = mapped_column(Integer)  # e.g. the score_runs row
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Why a run failed: a domain error's code, or ``batch_run_failed``, and a stored message.
    reason_code: Mapped[str | None] = mapped_column(String(60))
    reason_message: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
