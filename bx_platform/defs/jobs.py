"""The benchmark job: the whole asset graph for one job partition, in one process, never retried."""

import dagster as dg

from bx_platform.defs.assets import benchmark_assets, benchmark_checks
from bx_platform.defs.partitions import benchmark_jobs

benchmark_job = dg.define_asset_job(
    name="benchmark_job",
    selection=dg.AssetSelection.assets(*benchmark_assets) | dg.AssetSelection.checks(*benchmark_checks),
    partitions_def=benchmark_jobs,
    # the in-process executor: ~4 s a job instead of ~19 s with a process per step (measured: docs/architecture.md)
    executor_def=dg.in_process_executor,
    # jobs are never silently retried (baas-overview: failure handling)
    tags={"dagster/max_retries": "0"},
)
