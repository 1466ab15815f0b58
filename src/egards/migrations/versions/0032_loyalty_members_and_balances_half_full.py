"""loyalty: members' and balances' pages half full, so that a batch's rewrites stay on them

Migration 0006 left a fifth of each page free (fill factor 80) for the members' and
balances' rewrites to stay on their page and write no index (heap-only updates). A batch
rewrites every row of a page in one statement, and the versions it leaves cannot be
reclaimed before it ends: a fifth of a page holds the new versions of a fifth of its rows,
and the others went to another page and wrote every index (measured in the steady-state
benchmark: 42 % of the members' updates heap-only, 26 % of the balances'). With pages
half full, the new version of every row fits beside the old one (all of them heap-only in
the same benchmark, once the previous day's versions are vacuumed, as autovacuum does after
a batch that rewrote every member; six batches back to back with no vacuum: about half):
the tables are 1.6 times as large. Existing pages are not rewritten here (that would lock
the tables): a row updated off its page goes to a page filled only to the new mark, so the
tables come to it as their rows move (``VACUUM FULL`` in a quiet hour does it at once).
PostgreSQL only: SQLite has no fill factor.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 00:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("loyalty_members", "loyalty_balances")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")
