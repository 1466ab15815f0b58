"""audiences of timeline events, notes and audit records; server-side console sessions

Revision ID: 0007
Revises: 0001

Each timeline event, note and audit record gets its audience: internal (null) or shared with
one organisation. What partners wrote so far is shared with their organisation; everything
else stays internal. Console sessions live in a table, so that signing out ends them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0007"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIENCES = ("timeline_events", "notes", "audit_records")
PARTNER_ORGANISATION = (
    "SELECT users.organisation_id FROM users WHERE users.id = {table}.{author}"
    " AND users.role = 'partner'"
)


def upgrade() -> None:
    for table in AUDIENCES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("shared_with_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_shared_with_id_organisations",
                "organisations",
                ["shared_with_id"],
                ["id"],
            )
    op.execute("UPDATE timeline_events SET shared_with_id = organisation_id")
    for table, author in (("notes", "author_id"), ("audit_records", "actor_id")):
        organisation = PARTNER_ORGANISATION.format(table=table, author=author)
        op.execute(f"UPDATE {table} SET shared_with_id = ({organisation})")

    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_user_sessions_secret_hash")),
    )
    with op.batch_alter_table("user_sessions") as batch:
        batch.create_index(batch.f("ix_user_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_index(batch.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")
    for table in AUDIENCES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_shared_with_id_organisations", type_="foreignkey")
            batch.drop_column("shared_with_id")
