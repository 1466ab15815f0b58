"""loyalty: ledger entries keyed by (member, seq), without a surrogate id

An entry is named by its member and its number in the member's ledger (``seq``), which were
already unique together; the surrogate ``id`` and its index served nothing but the primary
key, and cost every ingest an index write and 8 bytes per row on the largest table. The
(member, seq) pair becomes the primary key (its unique constraint goes with the id).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("loyalty_entries") as batch:
        batch.drop_constraint("uq_loyalty_entries_member_id_seq", type_="unique")
        batch.drop_constraint("pk_loyalty_entries", type_="primary")
        batch.drop_column("id")
        batch.create_primary_key("pk_loyalty_entries", ["member_id", "seq"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE loyalty_entries DROP CONSTRAINT pk_loyalty_entries")
        op.execute("ALTER TABLE loyalty_entries ADD COLUMN id BIGSERIAL")
        op.execute("ALTER TABLE loyalty_entries ADD CONSTRAINT pk_loyalty_entries PRIMARY KEY (id)")
        op.create_unique_constraint(
            "uq_loyalty_entries_member_id_seq", "loyalty_entries", ["member_id", "seq"]
        )
        return
    # SQLite: the table is rebuilt; each entry's id is its row id.
    op.add_column("loyalty_entries", sa.Column("id", KEY, nullable=True))
    op.execute("UPDATE loyalty_entries SET id = rowid")
    with op.batch_alter_table("loyalty_entries") as batch:
        batch.drop_constraint("pk_loyalty_entries", type_="primary")
        batch.alter_column("id", existing_type=KEY, nullable=False)
        batch.create_primary_key("pk_loyalty_entries", ["id"])
        batch.create_unique_constraint("uq_loyalty_entries_member_id_seq", ["member_id", "seq"])
