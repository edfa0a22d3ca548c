"""The audit trail: one append-only, hash-chained row per event of a job (bx_platform/control/audit.py).

Revision ID: 0002_audit_trail
Revises: 0001_control_plane
Create Date: 2026-12-01

Written out in full (not imported from the code's tables) so that later revisions never change it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_audit_trail"
down_revision = "0001_control_plane"
branch_labels = None
depends_on = None

AUDIT = "bx_audit_events"


def upgrade() -> None:
    op.create_table(
        AUDIT,
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ux_bx_audit_events_job_seq", AUDIT, ["job_id", "seq"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        # bx_refuse_change() is the ledger's trigger function, created by 0001_control_plane
        op.execute(
            f"CREATE TRIGGER {AUDIT}_append_only BEFORE UPDATE OR DELETE ON {AUDIT} "
            "FOR EACH ROW EXECUTE FUNCTION bx_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {AUDIT}_no_truncate BEFORE TRUNCATE ON {AUDIT} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bx_refuse_change()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {AUDIT}_no_{operation.lower()} BEFORE {operation} ON {AUDIT} "
                f"BEGIN SELECT RAISE(ABORT, '{AUDIT} is append-only: {operation} refused'); END"
            )


def downgrade() -> None:
    op.drop_table(AUDIT)
