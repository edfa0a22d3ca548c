"""The Dagster code location: `dagster dev` (from the repo root) and `bx` load these definitions."""

import dagster as dg

from bx_platform.defs.assets import benchmark_assets, benchmark_checks
from bx_platform.defs.jobs import benchmark_job
from bx_platform.defs.leagues import league_assets, league_jobs
from bx_platform.defs.resources import default_resources
from bx_platform.defs.schedules import league_schedules
from bx_platform.defs.sensors import failed_benchmark_runs, submitted_jobs, webhook_deliveries

defs = dg.Definitions(
    assets=[*benchmark_assets, *league_assets],
    asset_checks=benchmark_checks,
    jobs=[benchmark_job, *league_jobs],
    schedules=league_schedules,
    sensors=[submitted_jobs, failed_benchmark_runs, webhook_deliveries],
    resources=default_resources(),
)
