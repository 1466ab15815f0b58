"""stored text is data: timeline entries and escalations keep a message

A timeline entry and an escalation used to store an English sentence only. They now also keep
the message it was made from (its English msgid and values, ``egards.i18n.message``), rendered
in the reader's language when read. Rows written before keep no message and show their stored
text as before.

Revision ID: 0019
Revises: 0008
Create Date: 2026-12-03 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("timeline_events", sa.Column("message", sa.JSON(), nullable=True))
    op.add_column("case_escalations", sa.Column("message", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_escalations") as batch:
        batch.drop_column("message")
    with op.batch_alter_table("timeline_events") as batch:
        batch.drop_column("message")
