"""loyalty: operations start from stored state

Every operation used to replay the member's whole ledger. The state it needs is now stored
beside the ledger: the buckets that still hold points, the buckets each member debit took
(``allocations``), what counts against per-period caps (``loyalty_cap_usage``); reversals
and resolutions are found through partial indexes. Existing ledgers are replayed once to
fill them in.

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0012"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("loyalty_entries", sa.Column("allocations", sa.JSON(), nullable=True))
    for column in ("reverses", "resolves"):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            f"ix_loyalty_entries_{column}",
            "loyalty_entries",
            ["member_id", column],
            postgresql_where=where,
            sqlite_where=where,
        )
    op.create_table(
        "loyalty_buckets",
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=20), nullable=False),
        sa.Column("earned_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_loyalty_buckets_amount_positive")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["loyalty_members.id"],
            name=op.f("fk_loyalty_buckets_member_id_loyalty_members"),
        ),
        sa.PrimaryKeyConstraint("member_id", "seq", name=op.f("pk_loyalty_buckets")),
    )
    op.create_table(
        "loyalty_cap_usage",
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rule_id", sa.String(length=80), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["loyalty_members.id"],
            name=op.f("fk_loyalty_cap_usage_member_id_loyalty_members"),
        ),
        sa.PrimaryKeyConstraint(
            "member_id", "rule_id", "window_start", name=op.f("pk_loyalty_cap_usage")
        ),
    )
    from egards.loyalty import service

    service.store_replayed_state(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_table("loyalty_cap_usage")
    op.drop_table("loyalty_buckets")
    for column in ("reverses", "resolves"):
        op.drop_index(f"ix_loyalty_entries_{column}", table_name="loyalty_entries")
    op.drop_column("loyalty_entries", "allocations")
