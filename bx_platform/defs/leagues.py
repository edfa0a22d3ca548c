"""Leagues in Dagster (docs/leagues.md): for each template under data/leagues, a schedule that starts each round
as it completes (defs/schedules.py) and an asset partitioned by the league's rounds, so past rounds are
backfilled from the UI (*Assets → league_… → Materialize*, pick the rounds). Thin: pipeline/leagues.py does it."""

import dagster as dg

from bx_platform.defs.partitions import league_partitions
from bx_platform.defs.resources import ArchiveResource, JobStoreResource, WarehouseResource
from bx_platform.jobs.leagues import LeagueTemplate, load_leagues
from bx_platform.pipeline.leagues import league_run_tags, submit_round

GROUP = "leagues"


def dagster_name(league: LeagueTemplate) -> str:
    """`league_<name>` with the characters Dagster names allow."""
    return "league_" + league.name.replace("-", "_")


def league_round_asset(league: LeagueTemplate) -> dg.AssetsDefinition:
    @dg.asset(
        name=dagster_name(league),
        partitions_def=league_partitions(league),
        group_name=GROUP,
        description=f"Rounds of league {league.name}: materializing a round submits its job (once); the "
        f"`submitted_jobs` sensor then launches it. {league.description or ''}",
    )
    def _league_round(
        context: dg.AssetExecutionContext, job_store: JobStoreResource, warehouse: WarehouseResource,
        archive: ArchiveResource,
    ) -> dg.MaterializeResult:
        tags = league_run_tags(league)  # the rounds job sets them; a backfill from the asset's page gets them here
        if not tags.items() <= context.run.tags.items():
            context.instance.add_run_tags(context.run_id, tags)
        round_ = league.round_starting(context.partition_key)
        submission = submit_round(league, round_, job_store.get(), warehouse.get(), archive.dir)
        context.log.info(f"round {round_.key}: job {submission.job_id} ({'submitted' if submission.created else 'already submitted'})")
        return dg.MaterializeResult(
            metadata={
                "job_id": submission.job_id,
                "created": submission.created,
                "window": f"{round_.start.isoformat()} to {round_.end.isoformat()}",
            }
        )

    return _league_round


def league_rounds_job(league: LeagueTemplate, asset: dg.AssetsDefinition):
    """The league's rounds as a partitioned job: *Jobs → league_…_rounds → Backfill*, or
    `dagster job backfill -j league_…_rounds --partitions 2018-01-01,2018-02-01`."""
    return dg.define_asset_job(
        f"{dagster_name(league)}_rounds", selection=[asset], partitions_def=asset.partitions_def, tags=league_run_tags(league)
    )


LEAGUES = load_leagues()
league_assets = [league_round_asset(league) for league in LEAGUES]
league_jobs = [league_rounds_job(league, asset) for league, asset in zip(LEAGUES, league_assets)]
