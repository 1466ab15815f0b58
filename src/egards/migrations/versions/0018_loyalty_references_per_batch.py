"""loyalty: references of the hot tables checked once per batch (contract)

Ledger entries, buckets and activities are the rows an ingest writes by the million. Each of
their foreign keys cost a per-row check that locks the referenced row (``FOR KEY SHARE``),
rewriting the header of an activity row just copied. The invariant stays (no entry without
its member and its activity, no bucket or applied activity without its member; members and
activities are never deleted): the writers check it once per batch (the members locked
first, the entries' activities among the rows written with them), and
``tests/integration/loyalty/test_lean_rows.py`` checks it with one anti-join per reference.
Applied activities drop the copy of their member's number (now empty: it is the member's).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 21:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referred table) of the foreign keys checked per batch since this revision.
DROPPED = (
    ("loyalty_entries", "member_id", "loyalty_members"),
    ("loyalty_entries", "activity_id", "loyalty_activities"),
    ("loyalty_buckets", "member_id", "loyalty_members"),
    ("loyalty_activities", "member_id", "loyalty_members"),
)


def _name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def upgrade() -> None:
    for table, column, referred in DROPPED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_name(table, column, referred), type_="foreignkey")
    op.execute("UPDATE loyalty_activities SET member_number = '' WHERE status = 'applied'")


def downgrade() -> None:
    op.execute(
        "UPDATE loyalty_activities SET member_number = (SELECT number FROM loyalty_members"
        " WHERE loyalty_members.id = loyalty_activities.member_id) WHERE member_number = ''"
    )
    # Activities first: on SQLite a table is rebuilt to get a foreign key, which it can only
    # be while no other table's foreign key refers to it.
    for table, column, referred in reversed(DROPPED):
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(_name(table, column, referred), referred, [column], ["id"])
