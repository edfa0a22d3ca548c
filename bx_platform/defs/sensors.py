"""Sensors: launch submitted jobs; record failed runs in the job store."""


import dagster as dg

from bx_platform.defs.jobs import benchmark_job
from bx_platform.defs.partitions import benchmark_jobs
from bx_platform.defs.resources import JobStoreResource, WarehouseResource
from bx_platform.results import close_job

CLAIMANT = "sensor:submitted_jobs"


@dg.sensor(job=benchmark_job, minimum_interval_seconds=5, default_status=dg.DefaultSensorStatus.RUNNING)
def submitted_jobs(context: dg.SensorEvaluationContext, job_store: JobStoreResource) -> dg.SensorResult:
    """Claim each job submitted with `bx submit`, add its partition and launch its run. The claim is atomic in
    the job store and the run key is the job id, so a job is launched at most once whoever else runs it."""
    store = job_store.get()
    claimed = [job.job_id for job in store.pending() if store.claim(job.job_id, CLAIMANT)]
    for job_id in claimed:
        context.log.info(f"claimed {job_id}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=job_id, partition_key=job_id) for job_id in claimed],
        dynamic_partitions_requests=[benchmark_jobs.build_add_request(claimed)] if claimed else [],
    )


@dg.run_failure_sensor(monitored_jobs=[benchmark_job], default_status=dg.DefaultSensorStatus.RUNNING)
def failed_benchmark_runs(
    context: dg.RunFailureSensorContext, job_store: JobStoreResource, warehouse: WarehouseResource
) -> None:
    """A run that failed marks its job failed (it is never retried; the run's logs say why)."""
    jobs = job_store.get()
    stored = jobs.get(context.dagster_run.tags.get("dagster/partition", ""))
    if stored and stored.status != "finished":
        close_job(stored.record, "failed", warehouse.get(), jobs)
