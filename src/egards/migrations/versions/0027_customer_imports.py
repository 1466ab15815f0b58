"""customers: one row per import instead of one timeline entry per imported customer

An import wrote a timeline entry and an audit record for every customer it created: at a
million customers, a million entries saying the same thing. ``customer_imports`` keeps one
row per import (file name, who ran it, when, counts; no personal data) and each customer it
created carries its id; the 360's timeline shows "Created by the import of <file> on <date>"
from that row, in the reader's language. Entries written before stay as they are.

Revision ID: 0027
Revises: 0020
Create Date: 2026-12-04 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0027"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_imports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("started_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_imports")),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column(
                "import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch.create_foreign_key(
            batch.f("fk_customers_import_id_customer_imports"),
            "customer_imports",
            ["import_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint(
            batch.f("fk_customers_import_id_customer_imports"), type_="foreignkey"
        )
        batch.drop_column("import_id")
    op.drop_table("customer_imports")
