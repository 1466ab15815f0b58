"""analytics: a failed scoring run keeps why as a code and a message, not an English sentence

A failed run stored its cause as English text (``error``: a domain error's message, "abandoned
(process ended)", or an exception's text), and a domain error's message a second time in
``report["error"]``. It now stores a stable code (``error_code``: the domain error's own,
``score_run_abandoned`` or ``score_run_failed``) and the message (``error_message``: an English
msgid and its values, ``egards.messages``), rendered in the reader's language when read.

Rows written before: a domain error's stored message becomes the run's message, its code
told by its English text; "abandoned (process ended)" becomes its message; any other text is
kept as the cause of "failed: {cause}". Expand and contract in one step: nothing but the
analytics code writes or reads these columns. The way down writes each message in English
back into ``error`` (and a domain error's message back into the report).

Revision ID: 0035
Revises: 0004
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ABANDONED = "abandoned (process ended)"
FAILED = "score_run_failed"
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


def _converted(error: str, report: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A stored English cause as (code, message, report without its copy of the message)."""
    said = report.get("error")
    if isinstance(said, dict) and said.get("t"):
        template = str(said["t"])
        code = next((code for start, code in CODES if template.startswith(start)), FAILED)
        return code, said, {k: v for k, v in report.items() if k != "error"}
    if error == ABANDONED:
        return "score_run_abandoned", {"t": ABANDONED}, report
    return FAILED, {"t": "failed: {cause}", "v": {"cause": error}}, report


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


def downgrade() -> None:
    from egards.i18n import render_message

    with op.batch_alter_table("score_runs") as batch:
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
    bind = op.get_bind()
    failed = bind.execute(
        sa.select(runs.c.id, runs.c.error_code, runs.c.error_message, runs.c.report).where(
            runs.c.error_code.is_not(None)
        )
    ).all()
    for row in failed:
        said, report = row.error_message or {}, row.report or {}
        if row.error_code not in (FAILED, "score_run_abandoned"):
            report = {**report, "error": said}
        # An unexpected failure's text was the whole cause; anything else reads in English.
        cause = (said.get("v") or {}).get("cause") if said.get("t") == "failed: {cause}" else None
        error = str(cause) if cause is not None else render_message("en", said)
        bind.execute(
            runs.update().where(runs.c.id == row.id).values(error=error[:4000], report=report)
        )
    with op.batch_alter_table("score_runs") as batch:
        batch.drop_column("error_message")
        batch.drop_column("error_code")
