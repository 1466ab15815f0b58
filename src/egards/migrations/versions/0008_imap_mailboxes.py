"""cases: the IMAP poller remembers UIDs, not flags

The poller read unseen messages and marked them seen: a message a colleague opened first
never became a case, and one whose flags were lost came in twice. ``imap_mailboxes`` keeps,
per mailbox, the UIDVALIDITY and the last UID stored, and the failures in a row that space
out the next attempts. Raw inbound messages are indexed by digest so the poller can tell a
message it already stored when a mailbox is rebuilt.

Revision ID: 0008
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0008"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imap_mailboxes",
        sa.Column("account", sa.String(length=400), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("backlog_until", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("polled_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_imap_mailboxes")),
    )
    op.create_index("ix_raw_inbound_sha256", "raw_inbound", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_raw_inbound_sha256", table_name="raw_inbound")
    op.drop_table("imap_mailboxes")
