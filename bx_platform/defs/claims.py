"""Which run owns a job: the one launched by the job's claimant. Launchers tag their runs with their claimant
name; a run launched from the UI carries no tag and claims the job under its own run id."""

from __future__ import annotations

import dagster as dg

from bx_platform.jobs.store import CLAIMED, StoredJob

CLAIMANT_TAG = "bx/claimant"


def run_claimant(run: dg.DagsterRun) -> str:
    return run.tags.get(CLAIMANT_TAG) or f"dagster-run:{run.run_id}"


def owns_job(stored: StoredJob, run: dg.DagsterRun) -> bool:
    """True when the job is claimed, unfinished, by this run's launcher."""
    return stored.status == CLAIMED and stored.claimed_by == run_claimant(run)
