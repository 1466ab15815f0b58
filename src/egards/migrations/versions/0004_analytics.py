"""analytics: imported transactions, score runs, current scores and their history

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "analytics_transactions",
        sa.Column("id", BIG, nullable=False),
        sa.Column("customer_id", BIG, nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_analytics_transactions_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_transactions")),
    )
    op.create_index(
        "ix_analytics_transactions_customer_on",
        "analytics_transactions",
        ["customer_id", "on"],
        unique=False,
    )
    op.create_index(
        "ix_analytics_transactions_label", "analytics_transactions", ["label"], unique=False
    )
    op.create_table(
        "score_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("model_version", sa.String(length=60), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_runs")),
    )
    op.create_table(
        "customer_scores",
        sa.Column("customer_id", BIG, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("scored_on", sa.Date(), nullable=False),
        sa.Column("model_version", sa.String(length=60), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("spend_cents", sa.BigInteger(), nullable=False),
        sa.Column("mean_spend_cents", sa.BigInteger(), nullable=False),
        sa.Column("first_purchase_on", sa.Date(), nullable=False),
        sa.Column("last_purchase_on", sa.Date(), nullable=False),
        sa.Column("days_since_last", sa.Integer(), nullable=False),
        sa.Column("expected_purchases_12m", sa.Float(), nullable=False),
        sa.Column("probability_alive", sa.Float(), nullable=False),
        sa.Column("expected_spend_cents", sa.BigInteger(), nullable=False),
        sa.Column("clv_cents", sa.BigInteger(), nullable=False),
        sa.Column("value_decile", sa.SmallInteger(), nullable=False),
        sa.Column("rfm", sa.SmallInteger(), nullable=False),
        sa.Column("segment", sa.String(length=40), nullable=False),
        sa.Column("churn_risk", sa.Float(), nullable=False),
        sa.Column("churn_reasons", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_scores_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["score_runs.id"], name=op.f("fk_customer_scores_run_id_score_runs")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_scores")),
    )
    op.create_index("ix_customer_scores_clv", "customer_scores", ["clv_cents"], unique=False)
    op.create_index("ix_customer_scores_segment", "customer_scores", ["segment"], unique=False)
    op.create_table(
        "score_history",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", BIG, nullable=False),
        sa.Column("scored_on", sa.Date(), nullable=False),
        sa.Column("model_version", sa.String(length=60), nullable=False),
        sa.Column("spend_cents", sa.BigInteger(), nullable=False),
        sa.Column("clv_cents", sa.BigInteger(), nullable=False),
        sa.Column("probability_alive", sa.Float(), nullable=False),
        sa.Column("churn_risk", sa.Float(), nullable=False),
        sa.Column("segment", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["score_runs.id"], name=op.f("fk_score_history_run_id_score_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "customer_id", name=op.f("pk_score_history")),
    )


def downgrade() -> None:
    op.drop_table("score_history")
    op.drop_index("ix_customer_scores_segment", table_name="customer_scores")
    op.drop_index("ix_customer_scores_clv", table_name="customer_scores")
    op.drop_table("customer_scores")
    op.drop_table("score_runs")
    op.drop_index("ix_analytics_transactions_label", table_name="analytics_transactions")
    op.drop_index("ix_analytics_transactions_customer_on", table_name="analytics_transactions")
    op.drop_table("analytics_transactions")
