"""The control-plane store: organizations, API keys and their capabilities, the usage ledger, rate-limit
events and the webhook outbox, on SQLite by default and PostgreSQL in production (`BX_CONTROL_URL`).

The schema is owned by the Alembic migrations shipped in `bx_platform/control/migrations/`; `open_engine`
upgrades a database to the newest revision, so no alembic.ini is needed at run time. The tables below are
the code's view of that schema (the migrations are the source of truth, a test checks the two agree).

Writes that must be serialized (admission: rate limits and budgets) run in `write_transaction`: on
PostgreSQL it locks the organization's row, on SQLite it takes the database write lock up front
(BEGIN IMMEDIATE), so concurrent submissions are counted one after the other on both backends.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event

from bx_platform.paths import store_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Alembic's bookkeeping table, named for this store so it can share a database with other stores.
VERSION_TABLE = "bx_control_alembic_version"
_IMMEDIATE = "bx_sqlite_immediate"
_MIGRATION_LOCK = 0x62785F636F6E  # "bx_con": the advisory lock migrations take on PostgreSQL
_log = logging.getLogger("bx_platform.control")
_warned: set[str] = set()


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware UTC instant on both backends (SQLite keeps no offset, so it is stored as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the control store; pass an aware UTC instant")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = sa.MetaData()

organizations = sa.Table(
    "bx_organizations",
    metadata,
    sa.Column("organization", sa.String(200), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Frequency limits shared by all of the organization's keys (None: no organization-wide limit).
    sa.Column("jobs_per_hour", sa.Integer),
    sa.Column("jobs_per_day", sa.Integer),
)

api_keys = sa.Table(
    "bx_api_keys",
    metadata,
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("organization", sa.String(200), sa.ForeignKey("bx_organizations.organization"), nullable=False, index=True),
    # HMAC-SHA256(pepper, secret), hex: the secret itself is never stored.
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

# One row per capability value of a key; multi-valued capabilities (markets, job types) have several rows.
key_capabilities = sa.Table(
    "bx_key_capabilities",
    metadata,
    sa.Column("key_id", sa.String(40), sa.ForeignKey("bx_api_keys.key_id"), primary_key=True),
    sa.Column("capability", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), primary_key=True),
)

# Append-only (triggers refuse UPDATE, DELETE and TRUNCATE). Credits are integer millicredits so sums are exact.
usage_ledger = sa.Table(
    "bx_usage_ledger",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("organization", sa.String(200), sa.ForeignKey("bx_organizations.organization"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # grant | hold | release | usage
    sa.Column("millicredits", sa.BigInteger, nullable=False),  # signed: + adds to the balance, - spends
    sa.Column("job_id", sa.String(64)),
    sa.Column("key_id", sa.String(40)),
    sa.Column("cpu_seconds", sa.Float),
    sa.Column("bar_steps", sa.BigInteger),
    sa.Column("detail_json", sa.Text),
    sa.Index("ix_bx_usage_ledger_org_at", "organization", "at"),
    # A job is held, released and charged at most once: admission and closing are idempotent.
    sa.Index("ux_bx_usage_ledger_job_kind", "job_id", "kind", unique=True),
)

# One row per admitted submission, for the sliding-window frequency limits.
rate_events = sa.Table(
    "bx_rate_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("organization", sa.String(200), nullable=False),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("job_id", sa.String(64)),
    sa.Index("ix_bx_rate_events_org_at", "organization", "at"),
    sa.Index("ix_bx_rate_events_key_at", "key_id", "at"),
)

webhook_endpoints = sa.Table(
    "bx_webhook_endpoints",
    metadata,
    sa.Column("endpoint_id", sa.String(40), primary_key=True),
    sa.Column("organization", sa.String(200), sa.ForeignKey("bx_organizations.organization"), nullable=False, index=True),
    sa.Column("url", sa.String(2000), nullable=False),
    # The signing secret, Fernet-encrypted with BX_WEBHOOK_KEY (it must be recoverable to sign).
    sa.Column("secret_encrypted", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("disabled_at", UTCDateTime),
)

webhook_outbox = sa.Table(
    "bx_webhook_outbox",
    metadata,
    sa.Column("message_id", sa.String(40), primary_key=True),  # the `webhook-id`, the same on every attempt
    sa.Column("endpoint_id", sa.String(40), sa.ForeignKey("bx_webhook_endpoints.endpoint_id"), nullable=False),
    sa.Column("organization", sa.String(200), nullable=False, index=True),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("event_key", sa.String(200)),  # caller's idempotency key (e.g. the job id and event type)
    sa.Column("body", sa.Text, nullable=False),  # the exact bytes sent on every attempt
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("locked_until", UTCDateTime),  # a worker's claim, so two workers never send one message at once
    sa.Column("finished_at", UTCDateTime),
    sa.Index("ix_bx_webhook_outbox_due", "status", "next_attempt_at"),
    sa.Index("ux_bx_webhook_outbox_event_key", "endpoint_id", "event_key", unique=True),
)

webhook_attempts = sa.Table(
    "bx_webhook_attempts",
    metadata,
    sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(40), sa.ForeignKey("bx_webhook_outbox.message_id"), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Float, nullable=False),
)


# A job's audit trail (bx_platform/control/audit.py): append-only like the ledger, one hash chain per job.
audit_events = sa.Table(
    "bx_audit_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),  # 1, 2, ... within the job
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the event's canonical JSON, the bytes its hash is taken of
    sa.Column("hash", sa.String(64), nullable=False),  # sha256 of `body`, hex
    sa.Index("ux_bx_audit_events_job_seq", "job_id", "seq", unique=True),
)


def default_control_url() -> str:
    """BX_CONTROL_URL, default a SQLite file `control.sqlite` in BX_HOME."""
    return store_url("BX_CONTROL_URL", "control.sqlite")


def warn_once(message: str) -> None:
    """Log a configuration warning once per process (on stderr when logging is not configured)."""
    if message not in _warned:
        _warned.add(message)
        _log.warning(message)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def create_control_engine(url: str) -> sa.Engine:
    """An engine whose SQLite connections wait for locks and can begin a transaction IMMEDIATE."""
    if not url.startswith("sqlite"):
        return sa.create_engine(url, future=True, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30}, future=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN cannot be made IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision the shipped migrations define."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def upgrade_database(engine: sa.Engine, revision: str = "head") -> None:
    """Run the shipped Alembic migrations up to `revision` on this engine's database."""
    from alembic import command

    config = _alembic_config()
    # Serialized, so processes opening a fresh database at the same time migrate it once.
    with write_transaction(engine) as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def open_engine(url: str | None = None) -> sa.Engine:
    """The control-plane engine for `url` (default `default_control_url()`), migrated to the newest schema."""
    engine = create_control_engine(url or default_control_url())
    upgrade_database(engine)
    return engine


@contextmanager
def write_transaction(engine: sa.Engine, organization: str | None = None) -> Iterator[sa.Connection]:
    """A transaction serialized with every other one on the same organization (see the module docstring).

    On PostgreSQL the organization's row is locked FOR UPDATE (READ COMMITTED then sees every earlier
    admission once it holds the lock); on SQLite the whole database is write-locked from BEGIN.
    """
    with engine.connect() as conn:
        conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            if organization is not None and engine.dialect.name != "sqlite":
                conn.execute(
                    sa.select(organizations.c.organization)
                    .where(organizations.c.organization == organization)
                    .with_for_update()
                )
            yield conn
