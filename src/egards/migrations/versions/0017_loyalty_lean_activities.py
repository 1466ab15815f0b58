"""loyalty: lean activity rows (expand)

An applied activity no longer stores its earning lines with their reasons in two languages
(``earnings``), the entries it posted (``entry_seqs``) nor its member's number: the entries
say what it earned (their ``activity_id``), and the reasons are rendered at read time from
the programme's rules at the tier the activity earned at, which the new ``tier`` column keeps.
Rows written before keep their lines and stay readable as they are. On the way down, the
rows written without them get them back (rendered), as the code before this revision reads
them. (The number column stays: an applied activity's is empty since revision 0018.)

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-03 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0017"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("loyalty_activities", sa.Column("tier", sa.String(length=40), nullable=True))


def downgrade() -> None:
    from egards.loyalty import service

    session = Session(bind=op.get_bind())
    service.store_earnings_json(session)
    session.flush()
    # (natively on SQLite too: rebuilding loyalty_activities there would trip the entries'
    # references to it)
    op.execute("ALTER TABLE loyalty_activities DROP COLUMN tier")
