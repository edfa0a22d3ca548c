"""Which run owns a job, and how a run failed. Launchers tag their runs with their claimant name; a run
launched from the UI carries no tag and claims the job under its own run id."""

from __future__ import annotations

import dagster as dg

from bx_platform.defs.partitions import runs_of_job
from bx_platform.errors import StoredDataError
from bx_platform.jobs.store import StoredJob
from bx_platform.pipeline.lifecycle import owned_by

CLAIMANT_TAG = "bx/claimant"


def run_claimant(run: dg.DagsterRun) -> str:
    return run.tags.get(CLAIMANT_TAG) or f"dagster-run:{run.run_id}"


def owns_job(stored: StoredJob, run: dg.DagsterRun) -> bool:
    """True when the job is claimed, unfinished, by this run's launcher."""
    return owned_by(stored, run_claimant(run))


def fail_runs_of_ended_jobs(instance: dg.DagsterInstance, ended) -> None:
    """Mark failed, with its job's reason, Dagster's record of every run still started of each job that
    recovery ended (`end_lapsed_claims`): a run killed with its process (an in-process `bx run`) cannot report
    its own end, and the UI would show it running for ever."""
    for job in ended:
        for run in instance.get_runs(runs_of_job(job.job_id, (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED))):
            instance.report_run_failed(run, message=f"{job.job_id} failed: {job.reason}")


def step_failure(events) -> dict:
    """The failure of a run from its step-failure events: the first failed step and its error's class, or,
    when a stored file could not be read, the file and what is wrong with it."""
    for event in events:
        error = event.step_failure_data.error if event.step_failure_data else None
        stored = _stored_data_error(error)
        if stored:
            return {"stage": event.step_key, "reason": f"step {event.step_key} failed: {stored}"}
        return {"stage": event.step_key, "reason": f"step {event.step_key} failed: {_root_cause(error)}; the run log has the details"}
    return {}


def run_failure(events) -> dict:
    """The failure of a run that failed outside its steps (e.g. its instance's database stayed unreachable)."""
    for event in events:
        if event.is_run_failure:
            error = getattr(event.event_specific_data, "error", None)
            return {"stage": "run", "reason": f"the run failed outside its steps: {_root_cause(error) if error else event.message}"}
    return {}


def _root_cause(error) -> str:
    """The innermost error of a step's error chain in one line, e.g. `OSError: [Errno 28] No space left on
    device` (Dagster wraps the step's own error)."""
    if error is None:
        return "error"
    while error.cause is not None:
        error = error.cause
    message = (error.message.strip().splitlines() or [""])[0]
    named = message.split(":", 1)[0].endswith(error.cls_name)  # the message may start with the class's name
    return message if named else f"{error.cls_name}: {message}"


def _stored_data_error(error) -> str | None:
    """The message of a StoredDataError in a step's error chain (Dagster wraps the step's own error)."""
    while error is not None:
        if error.cls_name == StoredDataError.__name__:
            return error.message.strip().removeprefix(f"{StoredDataError.__module__}.{StoredDataError.__name__}: ")
        error = error.cause
    return None
