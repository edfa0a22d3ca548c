"""A backfill of three past rounds with the real command and daemon: `dagster job backfill` launches one run per
round partition of the shipped league (each submits its round's job), then `bx daemon`'s sensor launches the
three benchmark runs, and `bx league standings` shows the three rounds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from bx_platform.jobs.leagues import load_league
from bx_platform.paths import REPO_ROOT
from bx_platform_tests.defs.helpers import BX, bx_env, start_group, stop_group, wait_for

LEAGUE = load_league(REPO_ROOT / "data" / "leagues" / "btc-monthly-2018.yaml")
ROUNDS = ["2018-01-01", "2018-02-01", "2018-03-01"]
DAGSTER = str(Path(BX).parent / "dagster")
FINISHED = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


@pytest.mark.timeout(900)  # six run processes (three league runs, three benchmark runs) on a shared 2-core machine
def test_backfill_of_three_rounds_through_the_daemon(tmp_path):
    home = tmp_path / "bx"
    env = bx_env(home)
    assert subprocess.run([BX, "warehouse", "init"], env=env, capture_output=True, cwd=REPO_ROOT).returncode == 0
    env["DAGSTER_HOME"] = str(home / "dagster")  # the instance `bx` writes, so `dagster` uses it too
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    (home / "dagster" / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    job_ids = [LEAGUE.round_spec(LEAGUE.round_starting(day)).job_id for day in ROUNDS]

    backfill = subprocess.run(
        [DAGSTER, "job", "backfill", "-w", "workspace.yaml", "-j", "league_btc_monthly_2018_rounds",
         "--partitions", ",".join(ROUNDS), "--noprompt"],
        env=env, capture_output=True, text=True, cwd=REPO_ROOT,
    )
    assert backfill.returncode == 0, backfill.stderr[-3000:]

    log = tmp_path / "daemon.log"
    daemon = start_group([BX, "daemon"], env, log)
    try:
        def finished():  # the three league runs and the three rounds' benchmark runs have ended
            assert daemon.poll() is None, f"the daemon exited: {log.read_text()[-3000:]}"
            with DagsterInstance.from_config(str(home / "dagster")) as instance:
                runs = instance.get_runs(filters=RunsFilter(statuses=list(FINISHED)))
            return len(runs) == 6

        wait_for(finished, timeout=840, interval=2, what=f"the three rounds to run; log: {log}")
    finally:
        stop_group(daemon)

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        league_runs = instance.get_runs(filters=RunsFilter(job_name="league_btc_monthly_2018_rounds"))
        round_runs = instance.get_runs(filters=RunsFilter(job_name="benchmark_job"))
        assert sorted(run.tags["dagster/partition"] for run in league_runs) == ROUNDS
        assert {run.tags["bx/league"] for run in league_runs} == {LEAGUE.name}
        failed = {run.run_id: _failure(instance, run.run_id) for run in [*league_runs, *round_runs] if run.status.value != "SUCCESS"}
        assert failed == {}
        assert sorted(run.tags["dagster/partition"] for run in round_runs) == sorted(job_ids)
        assert {run.tags["bx/league"] for run in round_runs} == {LEAGUE.name}
    printed = subprocess.run([BX, "league", "standings", LEAGUE.name, "--json"], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert printed.returncode == 0, printed.stderr
    rows = json.loads(printed.stdout)
    assert sorted({row["round"] for row in rows}) == ROUNDS and len(rows) == 3 * len(LEAGUE.strategies)
    assert {row["rounds"] for row in rows if row["round"] == ROUNDS[-1]} == {3}


def _failure(instance: DagsterInstance, run_id: str) -> list[str]:
    """What a failed run's log says went wrong (for the assertion message)."""
    return [
        f"{record.dagster_event.event_type_value}: {record.message[:300]}"
        for record in instance.all_logs(run_id)
        if record.dagster_event and ("FAILURE" in record.dagster_event.event_type_value or "ENGINE" in record.dagster_event.event_type_value)
    ]
