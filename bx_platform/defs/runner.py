"""Running jobs through Dagster in this process: what `bx run`, `bx demo` and `bx worker` do."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa

from bx_platform.control.store import open_engine
from bx_platform.defs.claims import CLAIMANT_TAG, fail_runs_of_ended_jobs, run_failure, step_failure
from bx_platform.defs.instance import dagster_instance
from bx_platform.jobs.spec import JobSpec
from bx_platform.jobs.store import FINISHED, JobStore
from bx_platform.market.archive import default_archive_dir
from bx_platform.pipeline.admission import submit
from bx_platform.pipeline.leagues import job_run_tags
from bx_platform.pipeline.leases import CLAIMED_STEP, enter_step
from bx_platform.pipeline.lifecycle import claim_job, finish_job
from bx_platform.pipeline.recovery import end_lapsed_claims
from bx_platform.terminal import PENDING
from bx_platform.warehouse.store import Warehouse

# `bx run` exit codes (docs/conventions.md)
EXIT_COMPLETE, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 3  # and 2, invalid input: the CLI's
CLAIMANT = "bx run"
WORKER = "bx worker"
WORKER_POLL_SECONDS = 2.0


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
    store, control = JobStore(), open_engine()
    try:
        record, created = submit(spec, store, default_archive_dir(), control)
        progress(f"{'submitted' if created else 'already submitted'}: {record['job_id']}")
        return _claim_and_run(record["job_id"], store, control, progress)
    finally:
        store.dispose()
        control.dispose()


def run_submitted(job_id: str, progress=print, claimant: str = CLAIMANT) -> RunOutcome:
    """Claim and run a job that is already in the job store (an operator's new attempt, `bx rerun --now`)."""
    store, control = JobStore(), open_engine()
    try:
        return _claim_and_run(job_id, store, control, progress, claimant)
    finally:
        store.dispose()
        control.dispose()


def run_worker(progress=print, once: bool = False, stop: threading.Event | None = None) -> Iterator[RunOutcome]:
    """Run the submitted jobs in this process one after another, oldest first, yielding each outcome: `bx
    worker`, a long-running process that pays its imports once (each run the daemon launches is a new process
    that pays them all; docs/engine.md). With `once`, stop when no job waits; otherwise look every
    WORKER_POLL_SECONDS until `stop` is set. A job another process claimed first is left to it; a job store that
    cannot be reached (a database restart) is tried again at the next look."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            waiting = _submitted_job_ids()
            outcome = run_submitted(waiting[0], progress, WORKER) if waiting else None
        except sa.exc.OperationalError as error:
            progress(f"a store cannot be reached ({str(error.orig).strip().splitlines()[0]}); looking again")
            waiting, outcome = [], None
        if outcome is not None and outcome.status != "already-claimed":
            yield outcome
        if not waiting:
            if once:
                return
            stop.wait(WORKER_POLL_SECONDS)


def _submitted_job_ids() -> list[str]:
    store = JobStore()
    try:
        return [job.job_id for job in store.pending()]
    finally:
        store.dispose()


def _claim_and_run(job_id: str, store: JobStore, control: sa.Engine, progress, claimant: str = CLAIMANT) -> RunOutcome:
    from bx_platform.defs.definitions import defs
    from bx_platform.defs.partitions import benchmark_jobs

    warehouse = Warehouse().ensure()
    ended = end_lapsed_claims(store, warehouse, control)  # a dead run of this job is told, not skipped
    for job in ended:
        progress(f"{job.job_id} failed: {job.reason}")
    if ended:
        fail_runs_of_ended_jobs(dagster_instance(), ended)
    if not claim_job(store, job_id, claimant):
        stored = store.get(job_id)
        progress(f"{job_id} was already claimed ({stored.state}); not launching it again")
        return RunOutcome(job_id, stored.outcome or "already-claimed", warehouse.read_result(job_id))

    enter_step(store, job_id, CLAIMED_STEP)  # heartbeats from now: starting Dagster may take a while
    stored = store.get(job_id)
    record, spec = stored.record, stored.spec
    instance = dagster_instance()
    instance.add_dynamic_partitions(benchmark_jobs.name, [job_id])
    job = defs.resolve_job_def("benchmark_job")
    progress(f"running {job_id} through Dagster ({_count(spec.strategies, 'strategy', 'strategies')}, {_count(spec.markets, 'market', 'markets')})")
    run_id = str(uuid.uuid4())  # known before the run starts, to listen to its events
    steps = StepProgress(len(job.graph.nodes), progress)
    instance.add_event_listener(run_id, steps)  # called in this thread as each event of the run is stored
    result = job.execute_in_process(
        instance=instance,
        partition_key=job_id,
        run_id=run_id,
        raise_on_error=False,
        tags={CLAIMANT_TAG: claimant, **job_run_tags(record, warehouse)},
        # the run's full event log is in the instance; the terminal gets our progress lines (a failed quality
        # gate is an expected outcome, reported from the result document, not a stack trace)
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
    )
    progress(f"{steps.finished} of {steps.total} steps in {time.monotonic() - steps.started_at:.1f} s")
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


class StepProgress:
    """Progress lines of a run from Dagster's event stream: `[2/6] execution_fills …` when a step starts, and
    `[2/6] execution_fills: success 3.2 s` when it ends (success, failure or skipped)."""

    def __init__(self, total: int, progress):
        self.total, self.progress = total, progress
        self.started_at = time.monotonic()
        self.step_started: dict[str, float] = {}
        self.finished = 0

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return
        label = step_label(event.step_key)
        if event.is_step_start:
            self.step_started[event.step_key] = time.monotonic()
            self.progress(f"[{self.finished + 1}/{self.total}] {label} {PENDING}")
        elif event.is_step_success or event.is_step_failure or event.is_step_skipped:
            self.finished += 1
            outcome = event.event_type_value.replace("STEP_", "").lower()
            started = self.step_started.get(event.step_key)
            elapsed = f" {time.monotonic() - started:.1f} s" if started is not None else ""
            self.progress(f"[{self.finished}/{self.total}] {label}: {outcome}{elapsed}")


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
