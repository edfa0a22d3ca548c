"""The control-plane store: organizations, API keys, capabilities, usage ledger, rate events, webhooks.

Revision ID: 0001_control_plane
Revises:
Create Date: 2026-12-01

Written out in full (not imported from the code's tables) so that later revisions never change it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_control_plane"
down_revision = None
branch_labels = None
depends_on = None

LEDGER = "bx_usage_ledger"
# Shared by every append-only table (the audit trail of issue 9 reuses it).
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION bx_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bx_organizations",
        sa.Column("organization", sa.String(200), primary_key=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("jobs_per_hour", sa.Integer),
        sa.Column("jobs_per_day", sa.Integer),
    )
    op.create_table(
        "bx_api_keys",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("organization", sa.String(200), sa.ForeignKey("bx_organizations.organization"), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("revoked_at", _instant()),
    )
    op.create_index("ix_bx_api_keys_organization", "bx_api_keys", ["organization"])
    op.create_table(
        "bx_key_capabilities",
        sa.Column("key_id", sa.String(40), sa.ForeignKey("bx_api_keys.key_id"), primary_key=True),
        sa.Column("capability", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
    )
    op.create_table(
        LEDGER,
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("organization", sa.String(200), sa.ForeignKey("bx_organizations.organization"), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("millicredits", sa.BigInteger, nullable=False),
        sa.Column("job_id", sa.String(64)),
        sa.Column("key_id", sa.String(40)),
        sa.Column("cpu_seconds", sa.Float),
        sa.Column("bar_steps", sa.BigInteger),
        sa.Column("detail_json", sa.Text),
    )
    op.create_index("ix_bx_usage_ledger_org_at", LEDGER, ["organization", "at"])
    op.create_index("ux_bx_usage_ledger_job_kind", LEDGER, ["job_id", "kind"], unique=True)
    op.create_table(
        "bx_rate_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("organization", sa.String(200), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("job_id", sa.String(64)),
    )
    op.create_index("ix_bx_rate_events_org_at", "bx_rate_events", ["organization", "at"])
    op.create_index("ix_bx_rate_events_key_at", "bx_rate_events", ["key_id", "at"])
    op.create_table(
        "bx_webhook_endpoints",
        sa.Column("endpoint_id", sa.String(40), primary_key=True),
        sa.Column("organization", sa.String(200), sa.ForeignKey("bx_organizations.organization"), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret_encrypted", sa.Text, nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("disabled_at", _instant()),
    )
    op.create_index("ix_bx_webhook_endpoints_organization", "bx_webhook_endpoints", ["organization"])
    op.create_table(
        "bx_webhook_outbox",
        sa.Column("message_id", sa.String(40), primary_key=True),
        sa.Column("endpoint_id", sa.String(40), sa.ForeignKey("bx_webhook_endpoints.endpoint_id"), nullable=False),
        sa.Column("organization", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("event_key", sa.String(200)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _instant()),
        sa.Column("locked_until", _instant()),
        sa.Column("finished_at", _instant()),
    )
    op.create_index("ix_bx_webhook_outbox_organization", "bx_webhook_outbox", ["organization"])
    op.create_index("ix_bx_webhook_outbox_due", "bx_webhook_outbox", ["status", "next_attempt_at"])
    op.create_index("ux_bx_webhook_outbox_event_key", "bx_webhook_outbox", ["endpoint_id", "event_key"], unique=True)
    op.create_table(
        "bx_webhook_attempts",
        sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(40), sa.ForeignKey("bx_webhook_outbox.message_id"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Float, nullable=False),
    )
    op.create_index("ix_bx_webhook_attempts_message_id", "bx_webhook_attempts", ["message_id"])
    _ledger_append_only()


def _ledger_append_only() -> None:
    """The ledger refuses UPDATE, DELETE (and TRUNCATE on PostgreSQL) in the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {LEDGER}_append_only BEFORE UPDATE OR DELETE ON {LEDGER} "
            "FOR EACH ROW EXECUTE FUNCTION bx_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {LEDGER}_no_truncate BEFORE TRUNCATE ON {LEDGER} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bx_refuse_change()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {LEDGER}_no_{operation.lower()} BEFORE {operation} ON {LEDGER} "
                f"BEGIN SELECT RAISE(ABORT, '{LEDGER} is append-only: {operation} refused'); END"
            )


def downgrade() -> None:
    for table in (
        "bx_webhook_attempts",
        "bx_webhook_outbox",
        "bx_webhook_endpoints",
        "bx_rate_events",
        LEDGER,
        "bx_key_capabilities",
        "bx_api_keys",
        "bx_organizations",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS bx_refuse_change()")
