"""customers: the unique identity index serves lookups

Identities are unique per (kind, network, value), and looked up by kind and value (searches,
imports, mail intake), so a second index on (kind, value) served the lookups: every identity
written paid for two indexes. The unique constraint now lists its columns as (kind, value,
network), which serves both the uniqueness and the lookups, and the second index is dropped.

Revision ID: 0020
Revises: 0001
Create Date: 2026-12-04 04:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.create_unique_constraint(
            "uq_identities_kind_value_network", ["kind", "value", "network"]
        )
        batch.drop_constraint("uq_identities_kind_network_value", type_="unique")
        batch.drop_index("ix_identities_kind_value")


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.create_index("ix_identities_kind_value", ["kind", "value"], unique=False)
        batch.create_unique_constraint(
            "uq_identities_kind_network_value", ["kind", "network", "value"]
        )
        batch.drop_constraint("uq_identities_kind_value_network", type_="unique")
