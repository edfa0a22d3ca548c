"""`bx worker`, a real long-running process: it runs the submitted jobs one after another, oldest first, in
its own process through Dagster, and a SIGTERM stops it only after the job in hand has finished."""

from __future__ import annotations

import json
import subprocess
import time

import dagster as dg

from bx_platform.defs.claims import CLAIMANT_TAG
from bx_platform.defs.runner import run_worker
from bx_platform.jobs.store import FINISHED, JobStore
from bx_platform.paths import REPO_ROOT
from bx_platform_tests.defs.helpers import BX, SMALL_JOB, bx_env

MONTH = {"window": {"start": "2018-01-01", "end": "2018-02-01"}}


def _submit(tmp_path, env, *names: str) -> list[str]:
    ids = []
    for name in names:
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(json.dumps({**SMALL_JOB, **MONTH, "name": name}))
        done = subprocess.run([BX, "submit", str(spec)], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
        assert done.returncode == 0, done.stderr
        ids.append(done.stdout.strip())
    return ids


def test_a_worker_runs_the_submitted_jobs_in_its_process_oldest_first(tmp_path):
    home = tmp_path / "bx"
    env = bx_env(home)
    first, second = _submit(tmp_path, env, "first", "second")

    done = subprocess.run([BX, "worker", "--once", "--json"], env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)

    assert done.returncode == 0, done.stderr
    finished = [json.loads(line)["job_id"] for line in done.stdout.splitlines()]
    assert finished == [first, second]
    jobs = JobStore(f"sqlite:///{home / 'jobs.sqlite'}")
    assert [(jobs.get(j).status, jobs.get(j).claimed_by) for j in finished] == [(FINISHED, "bx worker")] * 2
    jobs.dispose()
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs()
    assert sorted((run.tags["dagster/partition"], run.tags[CLAIMANT_TAG], run.status) for run in runs) == sorted(
        (job, "bx worker", dg.DagsterRunStatus.SUCCESS) for job in (first, second)
    )


def test_sigterm_stops_the_worker_after_the_job_in_hand(tmp_path):
    home = tmp_path / "bx"
    env = bx_env(home)
    (job,) = _submit(tmp_path, env, "in-hand")
    worker = subprocess.Popen([BX, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    jobs = JobStore(f"sqlite:///{home / 'jobs.sqlite'}")
    deadline = time.monotonic() + 120
    while jobs.get(job).claimed_by is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert jobs.get(job).claimed_by == "bx worker"
    worker.terminate()
    stdout, stderr = worker.communicate(timeout=300)
    assert worker.returncode == 0, stderr
    assert jobs.get(job).status == FINISHED and jobs.get(job).outcome in ("complete", "partial")
    assert f"{job}: {jobs.get(job).outcome}" in stdout
    jobs.dispose()


def test_a_store_that_cannot_be_reached_is_said_and_looked_at_again(monkeypatch, tmp_path):
    monkeypatch.setenv("BX_HOME", str(tmp_path / "bx"))
    monkeypatch.setenv("BX_JOBSTORE_URL", "postgresql+psycopg2://root@127.0.0.1:1/nothing")  # nothing listens there
    said = []
    assert list(run_worker(progress=said.append, once=True)) == []
    assert said and said[0].startswith("a store cannot be reached (") and said[0].endswith("); looking again")
