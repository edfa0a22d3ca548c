"""The control-plane store: the shipped migrations build it from empty on SQLite and on the real PostgreSQL
server, agree with the code's tables, and the usage ledger refuses UPDATE and DELETE in the database."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bx_platform.control import store
from bx_platform.control.store import VERSION_TABLE, create_control_engine, head_revision, metadata, open_engine


def test_migrations_upgrade_an_empty_database_to_head(control_url):
    engine = create_control_engine(control_url)
    assert sa.inspect(engine).get_table_names() == []
    assert store.current_revision(engine) is None
    store.upgrade_database(engine)
    assert store.current_revision(engine) == head_revision()
    assert set(sa.inspect(engine).get_table_names()) == set(metadata.tables) | {VERSION_TABLE}
    store.upgrade_database(engine)  # a second upgrade is a no-op
    assert store.current_revision(engine) == head_revision()
    engine.dispose()


def test_the_migrated_schema_is_the_codes_schema(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []


def test_default_url_is_a_sqlite_file_in_bx_home(bx_home, monkeypatch):
    assert store.default_control_url() == f"sqlite:///{bx_home / 'control.sqlite'}"
    monkeypatch.setenv("BX_CONTROL_URL", "postgresql+psycopg2://somewhere/db")
    assert store.default_control_url() == "postgresql+psycopg2://somewhere/db"


def test_the_ledger_refuses_update_and_delete(engine, acme):
    ledger = store.usage_ledger
    for change in (ledger.update().values(millicredits=10**9), ledger.delete()):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(change.where(ledger.c.organization == "acme"))
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE bx_usage_ledger"))
    with engine.connect() as conn:
        assert conn.execute(sa.select(ledger.c.millicredits)).scalars().all() == [1_000_000]


def test_instants_come_back_as_utc_on_both_backends(engine):
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(store.organizations.insert().values(organization="o", created_at=moment))
        assert conn.execute(sa.select(store.organizations.c.created_at)).scalar_one() == moment
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with engine.begin() as conn:
            conn.execute(store.organizations.insert().values(organization="p", created_at=datetime(2026, 3, 1)))


def test_open_engine_migrates(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    assert store.current_revision(engine) == head_revision()
