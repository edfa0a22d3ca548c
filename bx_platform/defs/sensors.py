"""Sensors: launch submitted jobs; record failed runs in the job store."""


import dagster as dg

from bx_platform.defs.claims import CLAIMANT_TAG, fail_runs_of_ended_jobs, owns_job, run_failure, step_failure
from bx_platform.defs.jobs import benchmark_job
from bx_platform.defs.partitions import PARTITION_TAG, benchmark_jobs, runs_of_job
from bx_platform.defs.resources import ControlPlaneResource, JobStoreResource, WarehouseResource
from bx_platform.control.webhooks import deliver_due
from bx_platform.pipeline.leagues import job_run_tags
from bx_platform.pipeline.leases import CLAIMED_STEP, hold_lease
from bx_platform.pipeline.lifecycle import claim_job, finish_job
from bx_platform.pipeline.recovery import end_lapsed_claims

CLAIMANT = "sensor:submitted_jobs"
# A run in these states has not started executing: the sensor still answers for its job's lease.
NOT_STARTED = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING)


def _launch_pending(instance: dg.DagsterInstance, job_id: str) -> bool:
    """True while the job's run is not launched yet or has not started executing."""
    runs = instance.get_runs(filters=runs_of_job(job_id), limit=1)
    return not runs or runs[0].status in NOT_STARTED


@dg.sensor(job=benchmark_job, minimum_interval_seconds=5, default_status=dg.DefaultSensorStatus.RUNNING)
def submitted_jobs(
    context: dg.SensorEvaluationContext, job_store: JobStoreResource, warehouse: WarehouseResource,
    control: ControlPlaneResource,
) -> dg.SensorResult:
    """Claim each job submitted with `bx submit`, add its partition and launch its run, tagged with the job's
    organization, visibility, score version and league (pipeline/leagues.py `job_run_tags`).

    The claim is atomic in the job store, so no other launcher takes the job. Jobs this sensor claimed that
    have not finished are requested again on every tick: the run key is the job id, and Dagster launches at
    most one run per run key of a sensor, so a job whose launch was lost (a tick that died after the claim)
    is launched by the next tick and a launched job is never launched twice.

    Each tick first renews the lease of the jobs it claimed whose run has not started executing (this sensor
    answers for them until their run takes the lease), then ends, `failed` with the reason, every claimed job whose worker
    died or went silent (docs/architecture.md, "Never stuck"): such a job is never launched again."""
    store = job_store.get()
    for stored, lease in store.claims():
        awaiting_run = lease is None or lease.step == CLAIMED_STEP
        if stored.claimed_by == CLAIMANT and awaiting_run and _launch_pending(context.instance, stored.job_id):
            hold_lease(store, stored.job_id, CLAIMED_STEP)
    ended = end_lapsed_claims(store, warehouse.get(), control.get())
    for job in ended:
        context.log.warning(f"{job.job_id} failed: {job.reason}")
    fail_runs_of_ended_jobs(context.instance, ended)
    claimed = [job.job_id for job in store.pending() if claim_job(store, job.job_id, CLAIMANT)]
    for job_id in claimed:
        context.log.info(f"claimed {job_id}")
    unfinished = store.claimed_unfinished(CLAIMANT)
    analytical = warehouse.get()
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=job_id, partition_key=job_id,
                tags={CLAIMANT_TAG: CLAIMANT, **job_run_tags(store.get(job_id).record, analytical)},
            )
            for job_id in unfinished
        ],
        dynamic_partitions_requests=[benchmark_jobs.build_add_request(unfinished)] if unfinished else [],
    )


@dg.run_failure_sensor(monitored_jobs=[benchmark_job], default_status=dg.DefaultSensorStatus.RUNNING)
def failed_benchmark_runs(
    context: dg.RunFailureSensorContext, job_store: JobStoreResource, warehouse: WarehouseResource,
    control: ControlPlaneResource,
) -> None:
    """A run that failed marks its job failed (it is never retried; the run's logs say why)."""
    jobs = job_store.get()
    stored = jobs.get(context.dagster_run.tags.get(PARTITION_TAG, ""))
    if stored and owns_job(stored, context.dagster_run):  # not a run that was refused a job it did not own
        failure = step_failure(context.get_step_failure_events()) or run_failure([context.dagster_event])
        finish_job(stored.record, "failed", warehouse.get(), jobs, control.get(), failure)


@dg.sensor(minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def webhook_deliveries(context: dg.SensorEvaluationContext, control: ControlPlaneResource) -> dg.SkipReason:
    """Deliver due webhook messages from the durable outbox (signed, retried with backoff, every attempt
    recorded). Delivery retries are not job retries: a job's result never depends on them."""
    report = deliver_due(control.get())
    return dg.SkipReason(f"delivered {report.delivered}, retrying {report.retrying}, given up {report.failed}")
