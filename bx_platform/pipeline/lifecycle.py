"""A job's claim and its end: the one place where a job is taken by a run and the one place where it ends."""

from __future__ import annotations

import logging
import resource

import polars as pl
import sqlalchemy as sa

from bx_platform.control.metering import record_usage
from bx_platform.control.webhooks import enqueue_event
from bx_platform.jobs.store import CLAIMED, FINISHED, JobStore, StoredJob
from bx_platform.pipeline.leases import CLAIMED_STEP, hold_lease, release
from bx_platform.pipeline.manifest import write_manifest
from bx_platform.pipeline.records import outcome_row
from bx_platform.pipeline.reports import write_job_report
from bx_platform.pipeline.results import failure_document
from bx_platform.pipeline.trail import record_finish
from bx_platform.warehouse.store import Warehouse

OUTCOMES = ("complete", "partial", "failed")
# The webhook event of each outcome (docs/api.md, "Webhooks").
EVENT_OF_OUTCOME = {"complete": "job.completed", "partial": "job.completed", "failed": "job.failed"}
logger = logging.getLogger(__name__)

# CPU seconds of this process when it began running a job: a job runs in one process (the in-process
# executor), so the difference at its end is the job's measured CPU time for the usage ledger.
_cpu_at_start: dict[str, float] = {}


def _process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def claim_job(jobs: JobStore, job_id: str, claimant: str) -> bool:
    """Take the job for one launcher; True only for the first caller (the claim is atomic in the store). The
    claimant's process holds the job's lease until the run's own process takes it (pipeline/leases.py)."""
    if not jobs.claim(job_id, claimant):
        return False
    hold_lease(jobs, job_id, CLAIMED_STEP)
    return True


def owned_by(stored: StoredJob, claimant: str) -> bool:
    """True when the job is claimed, unfinished, by this claimant."""
    return stored.status == CLAIMED and stored.claimed_by == claimant


def begin_run(job_id: str) -> None:
    """Mark the start of the job's run in this process (its CPU time is metered from here)."""
    _cpu_at_start[job_id] = _process_cpu_seconds()


def finish_job(
    record: dict, outcome: str, warehouse: Warehouse, jobs: JobStore, control: sa.Engine, failure: dict | None = None
) -> bool:
    """The terminal point of every job, whichever step ended it.

    In order: the outcome is recorded (a failed job also gets its result document saying where and why it
    stopped, and its report; a scored job's document and report were written by `publish_scores`) in the store (`job_outcomes`) and the
    job store; then the job's usage is charged against its quote in the ledger, and a `job.completed` or
    `job.failed` event is put in the organization's webhook outbox. The result never depends on those two:
    they come after it is stored, and delivery happens later, from the outbox. Last, the terminal event of
    the job's audit trail (the outcome, and where and why a job failed) and its signed manifest
    (docs/verification.md), which covers every file written before it.

    A job ends once: False, and nothing written, for a job that has already ended (e.g. a late run of a job
    that was ended because its worker had gone silent)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    job_id = record["job_id"]
    stored = jobs.get(job_id)
    if stored is not None and stored.status == FINISHED:
        return False
    if outcome == "failed":
        warehouse.write_result(job_id, failure_document(record, failure or {}), may_use_reserve=True)
    warehouse.write("verified", "job_outcomes", job_id, outcome_row(record, outcome), may_use_reserve=True)
    jobs.finish(job_id, outcome)
    release(job_id)

    started = _cpu_at_start.pop(job_id, None)
    cpu_seconds = _process_cpu_seconds() - started if started is not None else 0.0
    record_usage(control, job_id, cpu_seconds=cpu_seconds, bar_steps=bar_steps_run(record, warehouse))
    organization = record["spec"]["organization"]
    payload = {"job_id": job_id, "status": outcome, "result": f"/v1/jobs/{job_id}/result"}
    enqueue_event(control, organization, EVENT_OF_OUTCOME[outcome], payload, event_key=f"{job_id}:finished")
    record_finish(control, record, outcome, failure, warehouse.read_result(job_id))
    write_manifest(record, outcome, warehouse, jobs, control)
    if outcome == "failed":
        _write_failure_report(job_id, warehouse)
    return True


def _write_failure_report(job_id: str, warehouse: Warehouse) -> None:
    """A failed job's report says where and why it stopped. It is derived from the result document (`bx report`
    renders it again at any time), so a full disk here leaves the job ended, with a warning."""
    try:
        write_job_report(job_id, warehouse)
    except OSError as error:
        logger.warning("the report of %s was not written (%s); `bx report %s` renders it", job_id, error, job_id)


def bar_steps_run(record: dict, warehouse: Warehouse) -> int:
    """Bar-steps the job actually simulated: verified equity rows of its strategies times its markets."""
    job_id = record["job_id"]
    if not warehouse.exists("verified", "equity", job_id):
        return 0
    strategies = record["spec"]["strategies"]
    rows = warehouse.read("verified", "equity", job_id).filter(pl.col("strategy").is_in(strategies)).height
    if warehouse.exists("verified", "scenario_audit", job_id):  # a private evaluation's hidden scenarios
        rows += int(warehouse.read("verified", "scenario_audit", job_id)["bars"].sum()) * len(strategies)
    return rows * len(record["spec"]["markets"])
