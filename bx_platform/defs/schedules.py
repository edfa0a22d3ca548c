"""One schedule per league: each tick submits the round that has just completed and launches its run."""

from datetime import datetime, timezone

import dagster as dg

from bx_platform.defs.claims import CLAIMANT_TAG
from bx_platform.defs.jobs import benchmark_job
from bx_platform.defs.leagues import LEAGUES, dagster_name
from bx_platform.defs.partitions import benchmark_jobs, runs_of_job
from bx_platform.defs.resources import ArchiveResource, JobStoreResource, WarehouseResource
from bx_platform.errors import InputError
from bx_platform.jobs.leagues import LeagueTemplate
from bx_platform.pipeline.leagues import job_run_tags, start_round
from bx_platform.pipeline.lifecycle import owned_by


def league_schedule(league: LeagueTemplate) -> dg.ScheduleDefinition:
    name = dagster_name(league)
    claimant = f"schedule:{name}"

    @dg.schedule(
        name=name,
        cron_schedule=league.cron_schedule,
        execution_timezone="UTC",
        job=benchmark_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"League {league.name}: at each tick, the round that has just completed ({league.describe_rounds()}).",
    )
    def _league_schedule(
        context: dg.ScheduleEvaluationContext, job_store: JobStoreResource, warehouse: WarehouseResource,
        archive: ArchiveResource,
    ):
        """Submit the round complete at the tick (its job id is deterministic), claim it, add its partition and
        request its run. The run key is the job id: a tick evaluated again requests nothing once the run exists
        (and Dagster launches at most one run per run key), so a tick makes one job and one run."""
        tick = context.scheduled_execution_time or datetime.now(timezone.utc)
        round_ = league.round_at(tick)
        if round_ is None:
            return dg.SkipReason(f"no round of league {league.name} completes at {tick.isoformat()} ({league.describe_rounds()})")
        analytical = warehouse.get()
        try:
            launch = start_round(league, round_, job_store.get(), analytical, claimant, archive.dir)
        except InputError as exc:
            return dg.SkipReason(f"round {round_.key} of league {league.name} refused: {exc}")
        job_id = launch.submission.job_id
        # launch a job claimed now, or claimed by an earlier evaluation whose launch was lost
        lost = owned_by(launch.stored, claimant) and not _has_run(context.instance, job_id)
        if not (launch.claimed or lost):
            return dg.SkipReason(f"round {round_.key} of league {league.name} is job {job_id}, already {launch.stored.state}")
        context.instance.add_dynamic_partitions(benchmark_jobs.name, [job_id])
        tags = {CLAIMANT_TAG: claimant, **job_run_tags(launch.stored.record, analytical)}
        return dg.RunRequest(run_key=job_id, partition_key=job_id, tags=tags)

    return _league_schedule


def _has_run(instance: dg.DagsterInstance, job_id: str) -> bool:
    return bool(instance.get_run_ids(filters=runs_of_job(job_id), limit=1))


league_schedules = [league_schedule(league) for league in LEAGUES]
