"""A full job materialized on a Dagster instance backed by the real PostgreSQL server (dagster-postgres):
the run and its events are rows of PostgreSQL tables, and the job store lives there too."""

from __future__ import annotations

import json
import shutil

import sqlalchemy as sa
from dagster import DagsterInstance

from bx_platform.defs.instance import POSTGRES_CONFIG
from bx_platform.jobs.store import JobStore
from bx_platform_tests.defs.helpers import SMALL_JOB, materialize_job


def test_full_job_on_postgres_instance(pg_database, bx_home, tmp_path, monkeypatch):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(POSTGRES_CONFIG, dagster_home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("DAGSTER_PG_URL", pg_database)
    instance = DagsterInstance.get()
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"

    job_id, result = materialize_job(SMALL_JOB, pg_database, bx_home / "warehouse", instance)
    assert result.success

    engine = sa.create_engine(pg_database)
    with engine.connect() as conn:
        status = conn.execute(sa.text("SELECT status FROM runs WHERE run_id = :r"), {"r": result.run_id}).scalar_one()
        events = conn.execute(sa.text("SELECT count(*) FROM event_logs WHERE run_id = :r"), {"r": result.run_id}).scalar_one()
        materialized = {
            row[0]
            for row in conn.execute(
                sa.text("SELECT asset_key FROM event_logs WHERE run_id = :r AND dagster_event_type = 'ASSET_MATERIALIZATION'"),
                {"r": result.run_id},
            )
        }
        partitions = conn.execute(
            sa.text("SELECT partition FROM dynamic_partitions WHERE partitions_def_name = 'benchmark_jobs'")
        ).scalars().all()
        job_status = conn.execute(sa.text("SELECT status, outcome FROM bx_jobs WHERE job_id = :j"), {"j": job_id}).one()
    engine.dispose()
    instance.dispose()
    assert status == "SUCCESS" and events > 20
    assert materialized == {f'["{name}"]' for name in ("market_data", "execution_fills", "verified_metrics", "scores", "leaderboard")}
    assert partitions == [job_id]
    stored = JobStore(pg_database).get(job_id)
    assert job_status[0] == "finished" and job_status[1] in ("complete", "partial")
    document = json.loads((bx_home / "warehouse" / "results" / f"{job_id}.json").read_text())
    assert stored.outcome == job_status[1] == document["status"]
