"""Shared fixtures: an isolated BX home per test, and the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from bx_platform.paths import REPO_ROOT

PG_ADMIN_URL = os.environ.get("BX_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
JOBS_DIR = REPO_ROOT / "data" / "jobs"


@pytest.fixture
def bx_home(tmp_path, monkeypatch) -> Path:
    """A fresh BX_HOME (job store, warehouse, Dagster home) for one test."""
    home = tmp_path / "bx"
    monkeypatch.setenv("BX_HOME", str(home))
    for name in ("DAGSTER_HOME", "DAGSTER_PG_URL", "BX_JOBSTORE_URL", "BX_WAREHOUSE_DIR", "BX_ARCHIVE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return home


def _pg_reachable() -> str | None:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means: no server here
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of the real PostgreSQL server. Skipped without one, except under CI=true: failed."""
    problem = _pg_reachable()
    if problem:
        message = f"PostgreSQL unreachable at {PG_ADMIN_URL}: {problem}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return PG_ADMIN_URL


@pytest.fixture
def pg_database(pg_server) -> str:
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    import sqlalchemy as sa

    name = f"bx_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()
