"""loyalty: leaner bulk writes

A plain post (most ledger entries) is rebuilt from the entry's columns, so its arguments are
no longer stored twice. A member's customer is found through the unique (customer_id,
programme) index, so the index on customer_id alone only cost every member write; activities
are looked up by status only to find the parked ones, so a partial index on those replaces
the index on every row's status. Members and balances are rewritten in bulk at every period
end and activity: with room left on their pages (fill factor 80) and no index on the period's
end (a requalification walks members in id order), most of those rewrites update no index.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-23 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARKED = sa.text("status = 'parked'")


def upgrade() -> None:
    with op.batch_alter_table("loyalty_entries") as batch:
        batch.alter_column("args", existing_type=sa.JSON(), nullable=True)
    op.drop_index("ix_loyalty_members_customer_id", table_name="loyalty_members")
    op.drop_index("ix_loyalty_members_period_end", table_name="loyalty_members")
    op.drop_index("ix_loyalty_activities_status", table_name="loyalty_activities")
    if op.get_bind().dialect.name == "postgresql":
        for table in ("loyalty_members", "loyalty_balances"):
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")
    op.create_index(
        "ix_loyalty_activities_parked",
        "loyalty_activities",
        ["programme", "member_number"],
        postgresql_where=PARKED,
        sqlite_where=PARKED,
    )


def downgrade() -> None:
    op.drop_index("ix_loyalty_activities_parked", table_name="loyalty_activities")
    op.create_index("ix_loyalty_activities_status", "loyalty_activities", ["status"])
    op.create_index("ix_loyalty_members_customer_id", "loyalty_members", ["customer_id"])
    op.create_index("ix_loyalty_members_period_end", "loyalty_members", ["period_end"])
    if op.get_bind().dialect.name == "postgresql":
        for table in ("loyalty_members", "loyalty_balances"):
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    # The arguments of plain posts, as the service encoded them (see egards.loyalty.codec).
    sqlite = op.get_bind().dialect.name == "sqlite"
    obj, arr = (
        ("json_object", "json_array") if sqlite else ("json_build_object", "json_build_array")
    )
    text = "" if sqlite else "::text"

    def account(side: str) -> str:
        member = f"CASE WHEN {side} = 'member' THEN CAST(member_id AS TEXT) END"
        return f"{obj}('$account', {arr}({side}, currency, {member}))"

    pending = (
        "json(CASE WHEN state = 'pending' THEN 'true' ELSE 'false' END)"
        if sqlite
        else "state = 'pending'"
    )
    op.execute(
        f"""UPDATE loyalty_entries SET args = {obj}(
            'key', key, 'debit', {account("debit")}, 'credit', {account("credit")},
            'amount', amount, 'on', {obj}('$date', "on"{text}), 'kind', kind,
            'pending', {pending}, 'rule_id', rule_id,
            'expires_on', CASE WHEN expires_on IS NOT NULL
                THEN {obj}('$date', expires_on{text}) END,
            'memo', memo)
        WHERE args IS NULL"""
    )
    with op.batch_alter_table("loyalty_entries") as batch:
        batch.alter_column("args", existing_type=sa.JSON(), nullable=False)
