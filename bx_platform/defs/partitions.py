"""Each benchmark job is one partition of the asset graph, keyed by its job id; each league has time partitions,
one per round, keyed by the round's first day."""

import dagster as dg

from bx_platform.jobs.leagues import LeagueTemplate, add_periods

benchmark_jobs = dg.DynamicPartitionsDefinition(name="benchmark_jobs")
PARTITION_TAG = "dagster/partition"  # Dagster tags every run with its partition: a job's runs carry its id


def runs_of_job(job_id: str, statuses: tuple[dg.DagsterRunStatus, ...] = ()) -> dg.RunsFilter:
    """The Dagster runs of a benchmark job (all of them, or those in `statuses`)."""
    return dg.RunsFilter(tags={PARTITION_TAG: job_id}, statuses=list(statuses) or None)


def league_partitions(league: LeagueTemplate) -> dg.TimeWindowPartitionsDefinition:
    """One partition per round of the league (YYYY-MM-DD of its window's start), on the league's cadence."""
    last = league.last_round_start
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=league.cron_schedule,
        start=league.start.isoformat(),
        end=add_periods(last, league.cadence, 1).date().isoformat() if last else None,
        fmt="%Y-%m-%d",
        timezone="UTC",
    )
