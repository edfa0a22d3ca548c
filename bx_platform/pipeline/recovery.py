"""Never stuck, never silently retried (docs/architecture.md, "Never stuck").

`end_lapsed_claims` finds claimed jobs whose worker is gone or silent (pipeline/leases.py) and ends each one
`failed` through `finish_job`, with the reason in plain words. Nothing is ever re-run by the platform: an
operator's `bx rerun JOB_ID --reason ...` is a new attempt, a new job id with its own files, recorded with
who asked, when and why; the failed attempt and everything a reader may hold of it stay as they were.
"""

from __future__ import annotations

import getpass
import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from bx_platform.errors import InputError
from bx_platform.jobs.store import FINISHED, JobStore, StoredJob
from bx_platform.pipeline.leases import lapse_reason, this_worker
from bx_platform.pipeline.lifecycle import finish_job
from bx_platform.pipeline.trail import record_submission
from bx_platform.warehouse.store import Warehouse

RERUN_HINT = "not retried; an operator may start a new attempt with `bx rerun {job_id} --reason ...`"
RECOVERY_STEP = "recovery"


@dataclass(frozen=True)
class Ended:
    job_id: str
    reason: str


def end_lapsed_claims(jobs: JobStore, warehouse: Warehouse, control: sa.Engine, now: float | None = None) -> list[Ended]:
    """End every claimed job whose worker died or went silent: `failed`, with the reason and the step it was in.

    Several checkers may run at once (the sensor, `bx jobs`, `bx recover`): each takes the lapsed lease over
    with a compare-and-set first, so exactly one of them ends a given job."""
    now = time.time() if now is None else now
    host, pid = this_worker()
    ended = []
    for stored, lease in jobs.claims():
        reason = lapse_reason(stored, lease, now, host)
        if reason is None or not jobs.take_over(stored.job_id, lease, host, pid, RECOVERY_STEP, now):
            continue
        reason = f"{reason}; {RERUN_HINT.format(job_id=stored.job_id)}"
        failure = {"stage": lease.step if lease else "claim", "reason": reason}
        if finish_job(stored.record, "failed", warehouse, jobs, control, failure):
            ended.append(Ended(stored.job_id, reason))
    return ended


def attempt_id(first_job_id: str, number: int) -> str:
    """The job id of attempt `number` (2, 3, ...) of a job: derived from the first attempt's id, so it has the
    shape of every job id and never collides with a spec's own id."""
    return "job-" + hashlib.sha256(f"{first_job_id}/attempt/{number}".encode()).hexdigest()[:24]


def attempts(jobs: JobStore, job_id: str) -> list[StoredJob]:
    """Every attempt of the job `job_id` belongs to, first attempt first."""
    stored = jobs.existing(job_id)
    first = jobs.get(stored.record.get("attempt", {}).get("of", job_id))
    found, number = [first], 2
    while (next_attempt := jobs.get(attempt_id(first.job_id, number))) is not None:
        found.append(next_attempt)
        number += 1
    return found


def rerun(jobs: JobStore, job_id: str, reason: str, control: sa.Engine, operator: str | None = None) -> dict:
    """Register a new attempt of a failed job, on an operator's explicit and recorded decision; returns its
    record (queued: the sensor, or `bx rerun --now`, runs it). The new attempt copies the first attempt's record
    (same spec, same pinned versions, data hashes and trial count) under its own job id, so its partitions and
    result document are new files; it runs only if the pinned data is still what it was."""
    if not reason.strip():
        raise InputError("--reason", "say why the job is run again (it is recorded with the new attempt)")
    history = attempts(jobs, job_id)
    latest = history[-1]
    if latest.status != FINISHED or latest.outcome != "failed":
        raise InputError(
            "JOB_ID",
            f"only a failed job is run again; the latest attempt of this job, {latest.job_id} (attempt "
            f"{len(history)}), is {latest.state}",
        )
    first = history[0]
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    number = len(history) + 1
    record = {
        **first.record,
        "job_id": attempt_id(first.job_id, number),
        "submitted_at": now,
        "attempt": {
            "number": number, "of": first.job_id, "after": latest.job_id, "reason": reason.strip(),
            "requested_by": operator or getpass.getuser(), "requested_at": now,
        },
    }
    if not jobs.submit(record):  # two operators at once: the other one's attempt stands
        raise InputError("JOB_ID", f"attempt {number} of {first.job_id} was just registered by someone else")
    attempt = record["attempt"]
    record_submission(control, record, f"operator {attempt['requested_by']}: attempt {number} of {first.job_id} after "
                                       f"{latest.job_id} failed, because: {attempt['reason']}")
    return record
