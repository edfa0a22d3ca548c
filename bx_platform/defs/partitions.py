"""Each benchmark job is one partition of the asset graph, keyed by its job id."""

import dagster as dg

benchmark_jobs = dg.DynamicPartitionsDefinition(name="benchmark_jobs")
