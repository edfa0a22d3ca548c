"""The real Dagster daemon: `bx submit` -> the sensor claims the job and launches its run -> scores are stored.
Resubmitting the same spec and several more daemon ticks leave exactly one run for that job."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from dagster import DagsterInstance, RunsFilter

from bx_platform.paths import REPO_ROOT
from bx_platform_tests.defs.helpers import BX, SMALL_JOB, bx_env, start_group, stop_group, wait_for


def _sensor_ticks(dagster_home: Path) -> int:
    db = dagster_home / "schedules" / "schedules.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        query = "SELECT count(*) FROM job_ticks WHERE type = 'SENSOR' AND tick_body LIKE ?"
        return conn.execute(query, ('%"submitted_jobs"%',)).fetchone()[0]


def test_submit_sensor_run_once(tmp_path):
    home = tmp_path / "bx"
    dagster_home = home / "dagster"
    env = bx_env(home)
    spec = tmp_path / "job.yaml"
    spec.write_text(json.dumps(SMALL_JOB))  # JSON is YAML

    first = subprocess.run([BX, "submit", str(spec)], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert first.returncode == 0, first.stderr
    job_id = first.stdout.strip()

    log = tmp_path / "daemon.log"
    daemon = start_group([BX, "daemon"], env, log)
    try:
        result = home / "warehouse" / "results" / f"{job_id}.json"

        def finished():
            assert daemon.poll() is None, f"the daemon exited: {log.read_text()[-3000:]}"
            return result.exists()

        wait_for(finished, timeout=240, what=f"the daemon to run {job_id}; log: {log}")
        assert json.loads(result.read_text())["job_id"] == job_id

        again = subprocess.run([BX, "submit", str(spec)], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
        assert again.returncode == 0 and again.stdout.strip() == job_id
        assert "already submitted" in again.stderr
        ticks = _sensor_ticks(dagster_home)
        wait_for(lambda: _sensor_ticks(dagster_home) >= ticks + 3, timeout=90, what="three more sensor ticks")
    finally:
        stop_group(daemon)

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs(filters=RunsFilter(tags={"dagster/partition": job_id}))
        assert len(runs) == 1
        assert runs[0].status.value == "SUCCESS"
        assert instance.get_dynamic_partitions("benchmark_jobs") == [job_id]
    status = subprocess.run([BX, "result", job_id], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert status.returncode == 0 and status.stdout.strip().splitlines()[-1] in {f"{job_id}: complete", f"{job_id}: partial"}

    with sqlite3.connect(home / "jobs.sqlite") as conn:
        assert conn.execute("SELECT status, claimed_by FROM bx_jobs WHERE job_id = ?", (job_id,)).fetchone()[1] == "sensor:submitted_jobs"
