"""Leagues on a Dagster instance backed by the real PostgreSQL server, with the shipped template (monthly BTC
rounds through 2018): a schedule tick creates exactly one job and one run, and evaluating the same tick again
creates neither; a backfill of three past rounds (what the UI launches: one run per round partition) gives
three jobs, which the sensor launches, and their standings in the store, the public store, the CLI and the API."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timezone

import dagster as dg
import httpx
import polars as pl
import pytest
import yaml

from bx_platform.api.app import create_app
from bx_platform.control.capabilities import Capabilities
from bx_platform.defs.assets import benchmark_assets, benchmark_checks
from bx_platform.defs.instance import POSTGRES_CONFIG
from bx_platform.defs.jobs import benchmark_job
from bx_platform.defs.leagues import league_round_asset
from bx_platform.defs.schedules import league_schedule
from bx_platform.defs.sensors import submitted_jobs
from bx_platform.jobs.leagues import load_league
from bx_platform.jobs.store import JobStore
from bx_platform.paths import REPO_ROOT
from bx_platform.pipeline.leagues import read_standings
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.api.conftest import ALL_JOB_TYPES, LiveServer, make_platform
from bx_platform_tests.defs.helpers import BX, bx_env, job_resources

SHIPPED = REPO_ROOT / "data" / "leagues" / "btc-monthly-2018.yaml"
LEAGUE = load_league(SHIPPED)
STRATEGIES = len(LEAGUE.strategies)


@pytest.fixture
def instance(pg_database, bx_home, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(POSTGRES_CONFIG, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", pg_database)
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        yield instance


@pytest.fixture
def resources(pg_database, bx_home):
    return job_resources(pg_database, bx_home / "warehouse")


def _definitions(resources, schedule=None) -> dg.Definitions:
    """The benchmark job (and a league schedule) over the test's stores."""
    return dg.Definitions(
        assets=benchmark_assets, asset_checks=benchmark_checks, jobs=[benchmark_job],
        schedules=[schedule] if schedule else [], resources=resources,
    )


def _launch(request: dg.RunRequest, instance, resources) -> dg.ExecuteInProcessResult:
    """What the daemon does with a run request: a run of the benchmark job for its partition, with its tags."""
    instance.add_dynamic_partitions("benchmark_jobs", [request.partition_key])
    job = _definitions(resources).resolve_job_def(benchmark_job.name)
    return job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags, raise_on_error=False)


def _tick(schedule, instance, resources, at: datetime):
    repository = _definitions(resources, schedule).get_repository_def()
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=at, resources=resources, repository_def=repository
    ) as context:
        return schedule.evaluate_tick(context)


def test_a_tick_creates_exactly_one_job_and_one_run(instance, resources, pg_database, bx_home):
    schedule = league_schedule(LEAGUE)
    tick = datetime(2018, 4, 1, tzinfo=timezone.utc)
    first = _tick(schedule, instance, resources, tick)
    [request] = first.run_requests
    expected = LEAGUE.round_spec(LEAGUE.round_starting("2018-03-01")).job_id
    assert request.run_key == request.partition_key == expected
    assert {k: v for k, v in request.tags.items() if k.startswith("bx/")} == {
        "bx/claimant": "schedule:league_btc_monthly_2018", "bx/organization": "bx-leagues", "bx/visibility": "public",
        "bx/scoring_version": "bx-score-v3", "bx/league": "btc-monthly-2018",
    }
    # evaluated again before the daemon launched the run: the same run key (Dagster launches one run per key)
    assert [r.run_key for r in _tick(schedule, instance, resources, tick).run_requests] == [expected]

    run = _launch(request, instance, resources)
    assert run.success
    again = _tick(schedule, instance, resources, tick)
    assert again.run_requests == [] and f"is job {expected}, already" in again.skip_message

    store = JobStore(pg_database)
    jobs = store.list_jobs()
    store.dispose()
    assert [job.job_id for job in jobs] == [expected] and jobs[0].state in ("complete", "partial")
    runs = instance.get_runs()
    assert [r.run_id for r in runs] == [run.run_id] and runs[0].tags["bx/league"] == "btc-monthly-2018"
    standings = read_standings(Warehouse(bx_home / "warehouse"), LEAGUE.name)
    assert standings.height == STRATEGIES and set(standings["rounds"]) == {1}
    assert standings["rank"].to_list() == list(range(1, STRATEGIES + 1))

    # a tick before the first round ended, or after the league's last round, creates nothing
    assert "no round" in _tick(schedule, instance, resources, datetime(2018, 1, 20, tzinfo=timezone.utc)).skip_message
    assert "no round" in _tick(schedule, instance, resources, datetime(2026, 12, 1, tzinfo=timezone.utc)).skip_message
    assert len(instance.get_runs()) == 1


def test_a_backfill_of_three_past_rounds_gives_three_jobs_and_their_standings(
    instance, resources, pg_database, bx_home, tmp_path, monkeypatch
):
    asset = league_round_asset(LEAGUE)
    keys = asset.partitions_def.get_partition_keys()
    assert keys == [f"2018-{m:02d}-01" for m in range(1, 13)]
    backfill = keys[:3]
    for key in backfill:  # a backfill from the UI launches one run per partition
        assert dg.materialize([asset], partition_key=key, instance=instance, resources=resources).success
    again = dg.materialize([asset], partition_key=backfill[1], instance=instance, resources=resources)
    assert again.asset_materializations_for_node(asset.op.name)[0].metadata["created"].value is False

    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        requests = submitted_jobs(context).run_requests
    assert len(requests) == 3 and {r.tags["bx/league"] for r in requests} == {LEAGUE.name}
    for request in requests:
        assert _launch(request, instance, resources).success

    store = JobStore(pg_database)
    jobs = store.list_jobs()
    store.dispose()
    assert len(jobs) == 3 and {job.state for job in jobs} <= {"complete", "partial"}
    assert {job.record["spec"]["window"]["start"][:10] for job in jobs} == set(backfill)

    warehouse = Warehouse(bx_home / "warehouse")
    standings = read_standings(warehouse, LEAGUE.name)
    assert standings.height == 3 * STRATEGIES
    assert standings["round"].cast(pl.String).unique().sort().to_list() == backfill
    last = standings.filter(pl.col("round").cast(pl.String) == backfill[-1])
    assert set(last["rounds"]) == {3} and sorted(last["cumulative_rank"]) == list(range(1, STRATEGIES + 1))
    # cumulative score = mean of the three round scores, for every strategy
    means = standings.group_by("strategy").agg(pl.col("score").mean())
    assert dict(last.select("strategy", "cumulative_score").iter_rows()) == pytest.approx(dict(means.iter_rows()))

    with warehouse.connect_public() as conn:
        public = conn.execute("SELECT league, round, strategy, rank, score, tier, rounds, cumulative_score, cumulative_rank FROM public_league_standings").pl()
        # the analyst query of sql/queries.sql: each league after its latest round
        query = (REPO_ROOT / "sql" / "queries.sql").read_text().split("-- name: league_standings_latest")[1].split("-- name:")[0]
        latest = conn.execute(query).pl()
    assert public.height == 3 * STRATEGIES and set(public["league"]) == {LEAGUE.name}
    assert latest.height == STRATEGIES and set(latest["rounds"]) == {3} and latest["cumulative_rank"].to_list() == list(range(1, STRATEGIES + 1))

    env = bx_env(bx_home, BX_JOBSTORE_URL=pg_database)
    printed = subprocess.run([BX, "league", "standings", LEAGUE.name, "--json"], capture_output=True, text=True, env=env)
    assert printed.returncode == 0 and len(json.loads(printed.stdout)) == 3 * STRATEGIES
    table = subprocess.run([BX, "league", "standings", LEAGUE.name], capture_output=True, text=True, env=env)
    assert table.returncode == 0 and f"after round {backfill[-1]}" in table.stdout

    # the API: a public league's standings are readable by any key, a private league's by its organization only
    leagues = tmp_path / "leagues"
    leagues.mkdir()
    shutil.copy(SHIPPED, leagues)
    private = yaml.safe_load(SHIPPED.read_text()) | {"name": "btc-private", "organization": "org-owner", "visibility": "private"}
    (leagues / "private.yaml").write_text(yaml.safe_dump(private))
    monkeypatch.setenv("BX_LEAGUES_DIR", str(leagues))
    capabilities = Capabilities(job_types=ALL_JOB_TYPES)
    jobs_url, control_url, keys = make_platform(tmp_path, {"any": ("org-any", capabilities), "owner": ("org-owner", capabilities)})
    with LiveServer(create_app(jobs_url=jobs_url, control_url=control_url, warehouse_root=warehouse.root)) as url:
        def get(key: str, name: str) -> httpx.Response:
            return httpx.get(f"{url}/v1/leagues/{name}/standings", headers={"Authorization": f"Bearer {keys[key]}"})

        rows = get("any", LEAGUE.name).json()["rows"]
        assert len(rows) == 3 * STRATEGIES and rows[0]["round"] == backfill[0]
        assert set(rows[0]) >= {"league", "round", "strategy", "rank", "score", "tier", "rounds", "cumulative_score", "cumulative_rank"}
        assert get("any", "btc-private").status_code == get("any", "no-such-league").status_code == 404
        assert get("owner", "btc-private").json() == {"rows": []}
