"""analytics, batch: a failed run keeps why as a code and a message, not an English sentence

A failed run stored its cause as English text (``error``: a domain error's message, "abandoned
(process ended)", or an exception's text), and a domain error's message a second time in
``report["error"]``. It now stores a stable code (``error_code``: the domain error's own,
``score_run_abandoned`` or ``score_run_failed``) and the message (``error_message``: an English
msgid and its values, ``egards.messages``), rendered in the reader's language when read.

Rows written before: a domain error's stored message becomes the run's message, its code
told by its English text; "abandoned (process ended)" becomes its message; any other text is
kept as the cause of "failed: {cause}".

A batch run (``batch_runs.reason``) likewise keeps ``reason_code`` (a domain error's own, or
``batch_run_failed``) and ``reason_message``; its rows written before kept no message, so
their text becomes the cause of "failed: {cause}".

Expand and contract in one step: nothing but the analytics and batch code writes or reads
these columns. The way down writes each message in English back into the text columns (an
unexpected failure's cause exactly as it was; a domain error's message back into the report).

Revision ID: 0035
Revises: 0004, 0021
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: tuple[str, ...] = ("0004", "0021")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ABANDONED = "abandoned (process ended)"
FAILED = "score_run_failed"
BATCH_FAILED = "batch_run_failed"
# The domain errors a scoring run stopped on, told by the start of their English text.
CODES = (
    ("no transactions to score", "no_transactions"),
    ("{count} transactions have a negative amount", "no_transactions"),
    ("{model} did not converge", "model_did_not_converge"),
    ("not enough data to score", "model_did_not_converge"),
    ("no holdout comparison", "model_did_not_converge"),
)

runs = sa.table(
    "score_runs",
    sa.column("id", sa.Integer()),
    sa.column("report", sa.JSON()),
    sa.column("error", sa.Text()),
    sa.column("error_code", sa.String(60)),
    sa.column("error_message", sa.JSON()),
)
batch_runs = sa.table(
    "batch_runs",
    sa.column("id", sa.Integer()),
    sa.column("reason", sa.Text()),
    sa.column("reason_code", sa.String(60)),
    sa.column("reason_message", sa.JSON()),
)


def _converted(error: str, report: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A stored English cause as (code, message, report without its copy of the message)."""
    said = report.get("error")
    if isinstance(said, dict) and said.get("t"):
        template = str(said["t"])
        code = next((code for start, code in CODES if template.startswith(start)), FAILED)
        return code, said, {k: v for k, v in report.items() if k != "error"}
    if error == ABANDONED:
        return "score_run_abandoned", {"t": ABANDONED}, report
    return FAILED, _failed(error), report


def _failed(cause: str) -> dict[str, Any]:
    return {"t": "failed: {cause}", "v": {"cause": cause}}


def _english(said: dict[str, Any]) -> str:
    """A stored cause in English, an unexpected failure's text exactly as it was stored."""
    from egards.i18n import render_message

    cause = (said.get("v") or {}).get("cause") if said.get("t") == "failed: {cause}" else None
    return (str(cause) if cause is not None else render_message("en", said))[:4000]


def upgrade() -> None:
    op.add_column("score_runs", sa.Column("error_code", sa.String(length=60), nullable=True))
    op.add_column("score_runs", sa.Column("error_message", sa.JSON(), nullable=True))
    bind = op.get_bind()
    failed = bind.execute(
        sa.select(runs.c.id, runs.c.error, runs.c.report).where(runs.c.error.is_not(None))
    ).all()
    for row in failed:  # one run a day: a few thousand rows at most
        code, said, report = _converted(row.error, row.report or {})
        bind.execute(
            runs.update()
            .where(runs.c.id == row.id)
            .values(error_code=code, error_message=said, report=report)
        )
    with op.batch_alter_table("score_runs") as batch:
        batch.drop_column("error")

    op.add_column("batch_runs", sa.Column("reason_code", sa.String(length=60), nullable=True))
    op.add_column("batch_runs", sa.Column("reason_message", sa.JSON(), nullable=True))
    stopped = bind.execute(
        sa.select(batch_runs.c.id, batch_runs.c.reason).where(batch_runs.c.reason.is_not(None))
    ).all()
    for row in stopped:
        bind.execute(
            batch_runs.update()
            .where(batch_runs.c.id == row.id)
            .values(reason_code=BATCH_FAILED, reason_message=_failed(row.reason))
        )
    with op.batch_alter_table("batch_runs") as batch:
        batch.drop_column("reason")


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("batch_runs") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
    stopped = bind.execute(
        sa.select(batch_runs.c.id, batch_runs.c.reason_message).where(
            batch_runs.c.reason_code.is_not(None)
        )
    ).all()
    for row in stopped:
        bind.execute(
            batch_runs.update()
            .where(batch_runs.c.id == row.id)
            .values(reason=_english(row.reason_message or {}))
        )
    with op.batch_alter_table("batch_runs") as batch:
        batch.drop_column("reason_message")
        batch.drop_column("reason_code")

    with op.batch_alter_table("score_runs") as batch:
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
    failed = bind.execute(
        sa.select(runs.c.id, runs.c.error_code, runs.c.error_message, runs.c.report).where(
            runs.c.error_code.is_not(None)
        )
    ).all()
    for row in failed:
        said, report = row.error_message or {}, row.report or {}
        if row.error_code not in (FAILED, "score_run_abandoned"):
            report = {**report, "error": said}
        bind.execute(
            runs.update().where(runs.c.id == row.id).values(error=_english(said), report=report)
        )
    with op.batch_alter_table("score_runs") as batch:
        batch.drop_column("error_message")
        batch.drop_column("error_code")
