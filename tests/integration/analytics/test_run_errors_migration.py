"""Migration 0035: a failed scoring or batch run's English cause becomes a code and a message
read in the reader's language, and goes back to the same English on the way down."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from egards.analytics.models import ScoreRun
from egards.batch.models import BatchRun
from egards.i18n import render_message
from tests.conftest import BOTH, migrate, own_database

NO_DATA = "no transactions to score: the transaction source is empty"
BEFORE = [  # (error, report) as the code before 0035 stored them
    (NO_DATA, {"error": {"t": NO_DATA}}),
    ("abandoned (process ended)", {}),
    ("RuntimeError: disk full", {}),
    (None, {"churn": {"auc": 0.8}}),
]
BATCH_BEFORE = ["executor lost half-way", None]


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "run_errors")


def _old_runs() -> sa.TableClause:
    """``score_runs`` as it was before 0035, with its English ``error``."""
    return sa.table(
        "score_runs",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("as_of", sa.Date()),
        sa.column("source", sa.String()),
        sa.column("parameters", sa.JSON()),
        sa.column("counts", sa.JSON()),
        sa.column("report", sa.JSON()),
        sa.column("error", sa.Text()),
        sa.column("requested_by", sa.String()),
        sa.column("created_at", sa.DateTime()),
    )


def _old_batch_runs() -> sa.TableClause:
    """``batch_runs`` as it was before 0035, with its English ``reason``."""
    return sa.table(
        "batch_runs",
        sa.column("id", sa.Integer()),
        sa.column("job", sa.String()),
        sa.column("engine", sa.String()),
        sa.column("status", sa.String()),
        sa.column("as_of", sa.Date()),
        sa.column("counts", sa.JSON()),
        sa.column("reason", sa.Text()),
        sa.column("requested_by", sa.String()),
        sa.column("started_at", sa.DateTime()),
    )


def test_stored_causes_become_codes_and_messages_and_come_back(committed_db):
    db = committed_db
    migrate(db, command.downgrade, "0004")
    old = _old_runs()
    with db.engine.begin() as connection:
        connection.execute(
            old.insert(),
            [
                {
                    "status": "failed" if error else "succeeded",
                    "as_of": date(2026, 12, 1),
                    "source": "all",
                    "parameters": {},
                    "counts": {},
                    "report": report,
                    "error": error,
                    "requested_by": "tests",
                    "created_at": datetime(2026, 12, 1, tzinfo=UTC),
                }
                for error, report in BEFORE
            ],
        )
        connection.execute(
            _old_batch_runs().insert(),
            [
                {
                    "job": "requalify",
                    "engine": "spark",
                    "status": "failed" if reason else "succeeded",
                    "as_of": date(2026, 12, 1),
                    "counts": {},
                    "reason": reason,
                    "requested_by": "tests",
                    "started_at": datetime(2026, 12, 1, tzinfo=UTC),
                }
                for reason in BATCH_BEFORE
            ],
        )

    migrate(db, command.upgrade, "heads")
    with db.unit_of_work() as session:
        after = session.scalars(select(ScoreRun).order_by(ScoreRun.id)).all()
        assert [r.error_code for r in after] == [
            "no_transactions",
            "score_run_abandoned",
            "score_run_failed",
            None,
        ]
        assert [render_message("fr", r.error_message) for r in after] == [
            "aucune transaction à scorer : la source de transactions est vide",
            "abandonné (processus arrêté)",
            "échec : RuntimeError: disk full",
            "",
        ]
        assert [r.report for r in after] == [{}, {}, {}, {"churn": {"auc": 0.8}}]
        batches = session.scalars(select(BatchRun).order_by(BatchRun.id)).all()
        assert [r.reason_code for r in batches] == ["batch_run_failed", None]
        assert render_message("fr", batches[0].reason_message) == "échec : executor lost half-way"

    migrate(db, command.downgrade, "0004")
    old_batches = _old_batch_runs()
    with db.engine.begin() as connection:
        back = connection.execute(select(old.c.error, old.c.report).order_by(old.c.id)).all()
        reasons = connection.scalars(select(old_batches.c.reason).order_by(old_batches.c.id))
        assert list(reasons) == BATCH_BEFORE
    assert [(r.error, r.report) for r in back] == BEFORE
    migrate(db, command.upgrade, "heads")
