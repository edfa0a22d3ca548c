"""Running jobs through Dagster in this process: what `bx run` and `bx demo` do."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from bx_platform.control.store import open_engine
from bx_platform.defs.claims import CLAIMANT_TAG, run_failure, step_failure
from bx_platform.defs.instance import dagster_instance
from bx_platform.jobs.spec import JobSpec
from bx_platform.jobs.store import FINISHED, JobStore
from bx_platform.market.archive import default_archive_dir
from bx_platform.pipeline.admission import submit
from bx_platform.pipeline.leases import CLAIMED_STEP, enter_step
from bx_platform.pipeline.lifecycle import claim_job, finish_job
from bx_platform.pipeline.recovery import end_lapsed_claims
from bx_platform.warehouse.store import Warehouse

# `bx run` exit codes (docs/conventions.md)
EXIT_COMPLETE, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 3  # and 2, invalid input: the CLI's
CLAIMANT = "bx run"


@dataclass
class RunOutcome:
    job_id: str
    status: str  # complete | partial | failed | already-claimed | unrecorded (the store was unreachable)
    result: dict | None
    run_id: str | None = None

    @property
    def exit_code(self) -> int:
        return {"complete": EXIT_COMPLETE, "partial": EXIT_PARTIAL}.get(self.status, EXIT_FAILED)


def run_job(spec: JobSpec, progress=print) -> RunOutcome:
    """Register the job, claim it and materialize its partition in this process on the Dagster instance."""
    store = JobStore()
    try:
        record, created = submit(spec, store, default_archive_dir())
        progress(f"{'submitted' if created else 'already submitted'}: {record['job_id']}")
        return _claim_and_run(record["job_id"], store, progress)
    finally:
        store.dispose()


def run_submitted(job_id: str, progress=print) -> RunOutcome:
    """Claim and run a job that is already in the job store (an operator's new attempt, `bx rerun --now`)."""
    store = JobStore()
    try:
        return _claim_and_run(job_id, store, progress)
    finally:
        store.dispose()


def _claim_and_run(job_id: str, store: JobStore, progress) -> RunOutcome:
    from bx_platform.defs.definitions import defs
    from bx_platform.defs.partitions import benchmark_jobs

    warehouse = Warehouse().ensure()
    control = open_engine()
    try:
        for ended in end_lapsed_claims(store, warehouse, control):  # a dead run of this job is told, not skipped
            progress(f"{ended.job_id} failed: {ended.reason}")
        if not claim_job(store, job_id, CLAIMANT):
            stored = store.get(job_id)
            progress(f"{job_id} was already claimed ({stored.state}); not launching it again")
            return RunOutcome(job_id, stored.outcome or "already-claimed", warehouse.read_result(job_id))

        enter_step(store, job_id, CLAIMED_STEP)  # heartbeats from now: starting Dagster may take a while
        spec = store.get(job_id).spec
        instance = dagster_instance()
        instance.add_dynamic_partitions(benchmark_jobs.name, [job_id])
        job = defs.resolve_job_def("benchmark_job")
        progress(f"running {job_id} through Dagster ({_count(spec.strategies, 'strategy', 'strategies')}, {_count(spec.markets, 'market', 'markets')})")
        result = job.execute_in_process(
            instance=instance,
            partition_key=job_id,
            raise_on_error=False,
            tags={CLAIMANT_TAG: CLAIMANT},
            # the run's full event log is in the instance; the terminal gets our progress lines (a failed quality
            # gate is an expected outcome, reported from the result document, not a stack trace)
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
        for event in result.all_events:
            if event.is_step_success or event.is_step_failure or event.is_step_skipped:
                progress(f"  {step_label(event.step_key)}: {event.event_type_value.replace('STEP_', '').lower()}")
        try:
            stored = store.get(job_id)
            if not result.success and stored.status != FINISHED:
                failures = [e for e in result.all_events if e.is_step_failure]
                failure = step_failure(failures) or run_failure(result.all_events)
                finish_job(stored.record, "failed", warehouse, store, control, failure)
                stored = store.get(job_id)
        except sa.exc.OperationalError as error:  # the database is down: the job's lease lapses when we exit
            progress(
                f"the run's end could not be recorded ({str(error.orig).strip().splitlines()[0]}); once the store is "
                "back, the next check (the sensor, `bx recover`, `bx jobs`) ends the job with the reason"
            )
            return RunOutcome(job_id, "unrecorded", None, result.run_id)
        return RunOutcome(job_id, stored.outcome or "failed", warehouse.read_result(job_id), result.run_id)
    finally:
        control.dispose()


def step_label(step_key: str) -> str:
    """A step's name as users know it: an asset check's step key repeats its asset's name
    (`market_data_market_data_quality_gate`); show the check's own name."""
    from bx_platform.defs.assets import benchmark_checks

    for check in benchmark_checks:
        for key in check.check_keys:
            if step_key == f"{key.asset_key.to_python_identifier()}_{key.name}":
                return key.name
    return step_key


def _count(items, one: str, many: str) -> str:
    return f"{len(items)} {one if len(items) == 1 else many}"
