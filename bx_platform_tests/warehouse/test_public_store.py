"""The public analyst store physically holds public data only: no private row, no view, no path to a partition."""

from __future__ import annotations

import duckdb
import pytest
from dagster import DagsterInstance

from bx_platform.warehouse.store import PUBLIC_TABLES, Warehouse
from bx_platform_tests.defs.helpers import SMALL_JOB, materialize_job


@pytest.fixture(scope="module")
def store_with_a_private_job(tmp_path_factory):
    root = tmp_path_factory.mktemp("public-store")
    warehouse = Warehouse(root / "warehouse").ensure()
    url = f"sqlite:///{root / 'jobs.sqlite'}"
    with DagsterInstance.ephemeral() as instance:
        public_id, public_run = materialize_job({**SMALL_JOB, "organization": "org-a", "visibility": "public"}, url, warehouse.root, instance)
        private_id, private_run = materialize_job(
            {**SMALL_JOB, "organization": "org-b", "visibility": "private", "name": "secret-room"}, url, warehouse.root, instance
        )
    assert public_run.success and private_run.success
    return warehouse, public_id, private_id


def test_public_store_holds_public_rows_only(store_with_a_private_job):
    warehouse, public_id, private_id = store_with_a_private_job
    with warehouse.connect_public() as conn:
        tables = {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert tables == set(PUBLIC_TABLES)
        assert conn.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall() == [(0,)]
        seen_jobs = set()
        for table in PUBLIC_TABLES:
            frame = conn.execute(f"SELECT * FROM {table}").pl()
            text = frame.write_csv()
            assert private_id not in text and "org-b" not in text and "secret-room" not in text, table
            if "job_id" in frame.columns:
                seen_jobs |= set(frame["job_id"])
        assert seen_jobs == {public_id}
        assert conn.execute("SELECT count(*) FROM public_metrics").fetchall()[0][0] > 0


def test_public_store_refuses_reading_a_guessed_private_path(store_with_a_private_job):
    warehouse, _, private_id = store_with_a_private_job
    for table in ("fills", "equity", "scores", "metrics"):
        guessed = warehouse.partition_path("verified", table, private_id)
        assert guessed.exists()  # the file is there on the operator's disk...
        with warehouse.connect_public() as conn, pytest.raises(duckdb.Error, match="disabled|external"):
            conn.execute(f"SELECT * FROM read_parquet('{guessed}')").fetchall()  # ...and out of reach
        # opened like any DuckDB file, the public store still has nothing private in it
        with duckdb.connect(str(warehouse.public_path), read_only=True) as raw:
            for name in PUBLIC_TABLES:
                assert private_id not in raw.execute(f"SELECT * FROM {name}").pl().write_csv()


def test_operator_store_still_sees_both(store_with_a_private_job):
    warehouse, public_id, private_id = store_with_a_private_job
    warehouse.create_views()
    with warehouse.connect_readonly() as conn:
        jobs = {row[0] for row in conn.execute("SELECT job_id FROM scores").fetchall()}
    assert jobs == {public_id, private_id}
