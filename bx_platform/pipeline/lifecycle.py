"""A job's claim and its end: the one place where a job is taken by a run and the one place where it ends."""

from __future__ import annotations

from bx_platform.jobs.store import CLAIMED, JobStore, StoredJob
from bx_platform.pipeline.records import outcome_row
from bx_platform.pipeline.results import failure_document
from bx_platform.warehouse.store import Warehouse

OUTCOMES = ("complete", "partial", "failed")


def claim_job(jobs: JobStore, job_id: str, claimant: str) -> bool:
    """Take the job for one launcher; True only for the first caller (the claim is atomic in the store)."""
    return jobs.claim(job_id, claimant)


def owned_by(stored: StoredJob, claimant: str) -> bool:
    """True when the job is claimed, unfinished, by this claimant."""
    return stored.status == CLAIMED and stored.claimed_by == claimant


def finish_job(record: dict, outcome: str, warehouse: Warehouse, jobs: JobStore, failure: dict | None = None) -> None:
    """The terminal point of every job: record how it ended, in the store (`job_outcomes`) and the job store.

    A failed job also gets its result document, saying where and why it stopped (`failure`: stage, reason,
    failed_expectations); a scored job's document was written by `publish_scores` before it gets here."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    if outcome == "failed":
        warehouse.write_result(record["job_id"], failure_document(record, failure or {}))
    warehouse.write("verified", "job_outcomes", record["job_id"], outcome_row(record, outcome))
    jobs.finish(record["job_id"], outcome)
