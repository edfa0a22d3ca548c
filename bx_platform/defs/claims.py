"""Which run owns a job, and how a run failed. Launchers tag their runs with their claimant name; a run
launched from the UI carries no tag and claims the job under its own run id."""

from __future__ import annotations

import dagster as dg

from bx_platform.jobs.store import StoredJob
from bx_platform.pipeline.lifecycle import owned_by

CLAIMANT_TAG = "bx/claimant"


def run_claimant(run: dg.DagsterRun) -> str:
    return run.tags.get(CLAIMANT_TAG) or f"dagster-run:{run.run_id}"


def owns_job(stored: StoredJob, run: dg.DagsterRun) -> bool:
    """True when the job is claimed, unfinished, by this run's launcher."""
    return owned_by(stored, run_claimant(run))


def step_failure(events) -> dict:
    """The failure of a run from its step-failure events: the first failed step and its error's class."""
    for event in events:
        error = event.step_failure_data.error if event.step_failure_data else None
        cause = error.cls_name if error else "error"
        return {"stage": event.step_key, "reason": f"step {event.step_key} failed ({cause}); the run log has the details"}
    return {}
