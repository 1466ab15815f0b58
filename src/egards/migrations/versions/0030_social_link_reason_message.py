"""social: a proposed link keeps the message its reason was made from

A link sent to review stored its reason as an English sentence ("another customer (N) is
close", "the evidence names different customers"). It now also keeps the message (its English
msgid and values, ``egards.messages.message``), rendered in the reader's language when read.
Rows written before keep no message and show their stored text as before.

Revision ID: 0030
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("social_links", sa.Column("reason_message", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("social_links") as batch:
        batch.drop_column("reason_message")
