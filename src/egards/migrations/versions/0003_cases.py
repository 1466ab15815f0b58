"""cases, listening and the outbox

Revision ID: 0003
Revises: 0001

A branch beside the loyalty tables (0002): only the tables of cases and of the outbox.
Partial indexes keep the sweep, the inbox and the "no silence" view on small index ranges.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import egards.db

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_counters",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "shard", name=op.f("pk_case_counters")),
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ref_type", sa.String(length=40), nullable=True),
        sa.Column("ref_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_messages_key")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_outbox_messages_recipient", ["recipient", "created_at"], unique=False
        )

    op.create_table(
        "webhook_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_receipts")),
        sa.UniqueConstraint("source", "digest", name=op.f("uq_webhook_receipts_source_digest")),
    )
    with op.batch_alter_table("webhook_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_receipts_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "case_agents",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("accepting", sa.Boolean(), nullable=False),
        sa.Column("last_assigned_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_agents_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_case_agents")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("team", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=True),
        sa.Column("sender_address", sa.String(length=320), nullable=True),
        sa.Column("sender_kind", sa.String(length=20), nullable=True),
        sa.Column("loyalty_tier", sa.String(length=40), nullable=True),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sla_policy", sa.String(length=60), nullable=False),
        sa.Column("status_log", sa.JSON(), nullable=False),
        sa.Column("first_response_due_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_breached", sa.Boolean(), nullable=True),
        sa.Column("next_response_started_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_response_due_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_response_breaches", sa.Integer(), nullable=False),
        sa.Column("resolution_due_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution_breached", sa.Boolean(), nullable=True),
        sa.Column("closed_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closure_reason", sa.Text(), nullable=True),
        sa.Column("awaiting_since", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reply_due_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("at_risk_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_state", sa.String(length=12), nullable=False),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("reply_overdue", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_cases_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_cases_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_cases_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_assignee_open",
            ["assignee_id", "due_at", "id"],
            unique=False,
            postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
            sqlite_where=sa.text("status NOT IN ('resolved', 'closed')"),
        )
        batch_op.create_index(
            "ix_cases_at_risk_at",
            ["at_risk_at"],
            unique=False,
            postgresql_where=sa.text("sla_state = 'on_track'"),
            sqlite_where=sa.text("sla_state = 'on_track'"),
        )
        batch_op.create_index("ix_cases_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_cases_customer", ["customer_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_cases_due_at",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text("sla_state IN ('on_track', 'at_risk')"),
            sqlite_where=sa.text("sla_state IN ('on_track', 'at_risk')"),
        )
        batch_op.create_index(
            "ix_cases_next_check",
            ["next_check_at"],
            unique=False,
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_cases_no_silence",
            ["reply_due_at", "id"],
            unique=False,
            postgresql_where=sa.text("awaiting_since IS NOT NULL"),
            sqlite_where=sa.text("awaiting_since IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_cases_organisation", ["organisation_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_cases_reply_pending",
            ["reply_due_at"],
            unique=False,
            postgresql_where=sa.text(
                "awaiting_since IS NOT NULL AND NOT reply_overdue AND sla_state <> 'paused'"
            ),
            sqlite_where=sa.text(
                "awaiting_since IS NOT NULL AND NOT reply_overdue AND sla_state <> 'paused'"
            ),
        )
        batch_op.create_index(
            "ix_cases_team_open",
            ["team", "due_at", "id"],
            unique=False,
            postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
            sqlite_where=sa.text("status NOT IN ('resolved', 'closed')"),
        )

    op.create_table(
        "case_escalations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("clock_started_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("step_key", sa.String(length=60), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("fired_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_escalations_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_escalations")),
        sa.UniqueConstraint(
            "case_id",
            "metric",
            "clock_started_at",
            "step_key",
            name=op.f("uq_case_escalations_case_id_metric_clock_started_at_step_key"),
        ),
    )
    with op.batch_alter_table("case_escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_escalations_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "linked_case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_links_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["linked_case_id"], ["cases.id"], name=op.f("fk_case_links_linked_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_links")),
        sa.UniqueConstraint(
            "case_id",
            "linked_case_id",
            "kind",
            name=op.f("uq_case_links_case_id_linked_case_id_kind"),
        ),
    )
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_links_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_links_linked_case_id"), ["linked_case_id"], unique=False
        )

    op.create_table(
        "case_status_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=30), nullable=True),
        sa.Column("to_status", sa.String(length=30), nullable=False),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_status_changes_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_status_changes")),
    )
    with op.batch_alter_table("case_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_status_changes_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "raw_inbound",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("received_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("mail_kind", sa.String(length=20), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_raw_inbound_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_inbound")),
    )
    with op.batch_alter_table("raw_inbound", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_raw_inbound_message_id"), ["message_id"], unique=False)
        batch_op.create_index("ix_raw_inbound_status", ["status", "received_at"], unique=False)

    op.create_table(
        "case_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("author_label", sa.String(length=200), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("in_reply_to", sa.String(length=300), nullable=True),
        sa.Column("references", sa.Text(), nullable=True),
        sa.Column("raw_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("awaiting_answer", sa.Boolean(), nullable=False),
        sa.Column("answered_at", egards.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivery", sa.String(length=20), nullable=True),
        sa.Column("outbox_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", egards.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_case_messages_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_messages_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["raw_id"], ["raw_inbound.id"], name=op.f("fk_case_messages_raw_id_raw_inbound")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_case_messages_message_id")),
    )
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.create_index("ix_case_messages_case", ["case_id", "id"], unique=False)

    op.create_table(
        "case_attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("refusal", sa.String(length=300), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["case_messages.id"],
            name=op.f("fk_case_attachments_message_id_case_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_attachments_message_id"), ["message_id"], unique=False
        )

    # The "no silence" totals start at zero, one row per name and shard.
    counters = sa.table(
        "case_counters",
        sa.column("name", sa.String),
        sa.column("shard", sa.Integer),
        sa.column("value", sa.BigInteger),
    )
    op.bulk_insert(
        counters,
        [
            {"name": name, "shard": shard, "value": 0}
            for name in ("waiting", "overdue")
            for shard in range(16)
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachments_message_id"))

    op.drop_table("case_attachments")
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_case_messages_case")

    op.drop_table("case_messages")
    with op.batch_alter_table("raw_inbound", schema=None) as batch_op:
        batch_op.drop_index("ix_raw_inbound_status")
        batch_op.drop_index(batch_op.f("ix_raw_inbound_message_id"))

    op.drop_table("raw_inbound")
    with op.batch_alter_table("case_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_status_changes_case_id"))

    op.drop_table("case_status_changes")
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_links_linked_case_id"))
        batch_op.drop_index(batch_op.f("ix_case_links_case_id"))

    op.drop_table("case_links")
    with op.batch_alter_table("case_escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_escalations_case_id"))

    op.drop_table("case_escalations")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_cases_team_open",
            postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
            sqlite_where=sa.text("status NOT IN ('resolved', 'closed')"),
        )
        batch_op.drop_index(
            "ix_cases_reply_pending",
            postgresql_where=sa.text(
                "awaiting_since IS NOT NULL AND NOT reply_overdue AND sla_state <> 'paused'"
            ),
            sqlite_where=sa.text(
                "awaiting_since IS NOT NULL AND NOT reply_overdue AND sla_state <> 'paused'"
            ),
        )
        batch_op.drop_index("ix_cases_organisation")
        batch_op.drop_index(
            "ix_cases_no_silence",
            postgresql_where=sa.text("awaiting_since IS NOT NULL"),
            sqlite_where=sa.text("awaiting_since IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_cases_next_check",
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_cases_due_at",
            postgresql_where=sa.text("sla_state IN ('on_track', 'at_risk')"),
            sqlite_where=sa.text("sla_state IN ('on_track', 'at_risk')"),
        )
        batch_op.drop_index("ix_cases_customer")
        batch_op.drop_index("ix_cases_created_at")
        batch_op.drop_index(
            "ix_cases_at_risk_at",
            postgresql_where=sa.text("sla_state = 'on_track'"),
            sqlite_where=sa.text("sla_state = 'on_track'"),
        )
        batch_op.drop_index(
            "ix_cases_assignee_open",
            postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
            sqlite_where=sa.text("status NOT IN ('resolved', 'closed')"),
        )

    op.drop_table("cases")
    op.drop_table("case_agents")
    with op.batch_alter_table("webhook_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_receipts_received_at"))

    op.drop_table("webhook_receipts")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_recipient")
        batch_op.drop_index("ix_outbox_messages_due")

    op.drop_table("outbox_messages")
    op.drop_table("case_counters")
