"""The submitted-jobs sensor, evaluated directly: it claims new jobs, and re-requests a job it claimed whose
launch was lost (Dagster's run key then keeps it to one run); jobs other launchers claimed are left alone."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from bx_platform.defs.assets import benchmark_assets, benchmark_checks
from bx_platform.defs.partitions import benchmark_jobs
from bx_platform.defs.sensors import CLAIMANT, submitted_jobs
from bx_platform.jobs.spec import parse_spec
from bx_platform.jobs.store import JobStore
from bx_platform.pipeline.admission import submit
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import SMALL_JOB, job_resources


def _tick(url: str, warehouse_root: Path) -> dg.SensorResult:
    resources = {k: v for k, v in job_resources(url, warehouse_root).items() if k in ("job_store", "warehouse", "control")}
    with dg.DagsterInstance.ephemeral() as instance:
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            return submitted_jobs(context)


def test_claims_new_jobs_and_relaunches_lost_launches_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url)
    new, _ = submit(parse_spec(SMALL_JOB), store)
    lost, _ = submit(parse_spec({**SMALL_JOB, "name": "lost"}), store)
    other, _ = submit(parse_spec({**SMALL_JOB, "name": "run by bx run"}), store)
    assert store.claim(lost["job_id"], CLAIMANT)  # a tick claimed it, then died before launching
    assert store.claim(other["job_id"], "bx run")

    result = _tick(url, tmp_path / "warehouse")
    requested = sorted(r.run_key for r in result.run_requests)
    assert requested == sorted([new["job_id"], lost["job_id"]])
    assert all(r.partition_key == r.run_key for r in result.run_requests)
    assert all(r.tags["bx/organization"] == "acme" and "bx/league" not in r.tags for r in result.run_requests)
    assert store.get(new["job_id"]).claimed_by == CLAIMANT

    store.finish(new["job_id"], "complete")
    store.finish(lost["job_id"], "failed")
    assert _tick(url, tmp_path / "warehouse").run_requests == []
    store.dispose()


def test_a_run_launched_by_hand_claims_its_job(bx_home, tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url)
    record, _ = submit(parse_spec(SMALL_JOB), store)
    job_id = record["job_id"]
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(benchmark_jobs.name, [job_id])
        result = dg.materialize(  # no claimant tag: what the UI's Materialize launches
            [*benchmark_assets, *benchmark_checks], partition_key=job_id, instance=instance,
            resources=job_resources(url, bx_home / "warehouse"),
        )
        tags = instance.get_run_by_id(result.run_id).tags  # the job's run tags, added when the run claimed it
    assert result.success
    assert {k: tags[k] for k in ("bx/organization", "bx/visibility", "bx/scoring_version")} == {
        "bx/organization": "acme", "bx/visibility": "public", "bx/scoring_version": "bx-score-v3",
    }
    stored = store.get(job_id)
    assert stored.claimed_by == f"dagster-run:{result.run_id}" and stored.status == "finished"
    assert _tick(url, tmp_path / "warehouse").run_requests == []  # the sensor leaves it alone
    store.dispose()


def test_a_tick_ends_a_job_whose_run_worker_died_and_never_requests_it_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url)
    record, _ = submit(parse_spec(SMALL_JOB), store)
    job_id = record["job_id"]
    assert store.claim(job_id, CLAIMANT)
    worker = subprocess.Popen([sys.executable, "-c", "pass"])
    worker.wait()  # the run worker that took the lease, now gone
    store.hold(job_id, socket.gethostname(), worker.pid, "execution_fills", time.time())

    assert _tick(url, tmp_path / "warehouse").run_requests == []
    assert store.get(job_id).state == "failed"
    reason = Warehouse(tmp_path / "warehouse").read_result(job_id)["failure"]["reason"]
    assert reason.startswith(f"worker died (process {worker.pid} on {socket.gethostname()} is gone) during step execution_fills")
    assert _tick(url, tmp_path / "warehouse").run_requests == []
    store.dispose()
