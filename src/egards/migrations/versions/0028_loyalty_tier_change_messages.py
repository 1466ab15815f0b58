"""loyalty: a tier change's reason is a stored message, not two sentences

A tier change stored its reason as an English and a French sentence (``reason``,
``reason_fr``), written by the rules with their numbers, dates and names in each language. It
now stores the message they are made from (an English msgid and its values,
``egards.messages``), rendered in the reader's language when read. The rows written before
keep their two sentences, exactly, as names in each language (``{"l": {"en": ..., "fr":
...}}``: the reader's sentence, as before), and the sentence columns go.

Expand and contract in one step: nothing but the loyalty code writes or reads these columns.
The way down renders each message in both languages.

Revision ID: 0028
Revises: 0018
Create Date: 2026-12-04 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000


def upgrade() -> None:
    op.add_column("loyalty_tier_changes", sa.Column("message", sa.JSON(), nullable=True))
    build = (
        "json_build_object('l', json_strip_nulls(json_build_object("
        "'en', NULLIF(reason, ''), 'fr', NULLIF(reason_fr, ''))))"
        if op.get_bind().dialect.name == "postgresql"
        else "json_object('l', json_patch('{}', json_object("
        "'en', NULLIF(reason, ''), 'fr', NULLIF(reason_fr, ''))))"
    )
    op.execute(f"UPDATE loyalty_tier_changes SET message = {build}")
    with op.batch_alter_table("loyalty_tier_changes") as batch:
        batch.alter_column("message", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("reason")
        batch.drop_column("reason_fr")


def downgrade() -> None:
    from egards.i18n import render_message

    with op.batch_alter_table("loyalty_tier_changes") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reason_fr", sa.Text(), nullable=True))
    changes = sa.table(
        "loyalty_tier_changes",
        sa.column("id", sa.BigInteger()),
        sa.column("message", sa.JSON()),
        sa.column("reason", sa.Text()),
        sa.column("reason_fr", sa.Text()),
    )
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(changes.c.id, changes.c.message)
            .where(changes.c.id > last)
            .order_by(changes.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        bind.execute(
            changes.update()
            .where(changes.c.id == sa.bindparam("row_id"))
            .values(reason=sa.bindparam("en"), reason_fr=sa.bindparam("fr")),
            [
                {
                    "row_id": row.id,
                    "en": render_message("en", row.message),
                    "fr": render_message("fr", row.message),
                }
                for row in rows
            ],
        )
    with op.batch_alter_table("loyalty_tier_changes") as batch:
        batch.alter_column("reason", existing_type=sa.Text(), nullable=False)
        batch.alter_column("reason_fr", existing_type=sa.Text(), nullable=False)
        batch.drop_column("message")
