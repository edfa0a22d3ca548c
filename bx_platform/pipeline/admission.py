"""Admission: check a spec against the archive, the strategy registry and the limits, then pin and store it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bx_platform.errors import InputError
from bx_platform.pipeline.evaluation import job_periods_per_year
from bx_platform.evaluation.luck import trial_pins
from bx_platform.jobs.spec import MAX_BAR_STEPS, PRIVATE_EVALUATION, TIMEFRAME_SECONDS, JobSpec
from bx_platform.jobs.store import JobStore
from bx_platform.market import archive
from bx_platform.market.calendars import periods_per_year
from bx_platform.pipeline.private_evaluation import scenario_pins
from bx_platform.pipeline.staging import bars_by_market, job_bars
from bx_platform.pipeline.trail import CLI_SUBMITTER, record_submission
from bx_platform.scenarios.sister import sister_bars
from bx_platform.scoring import governance
from bx_platform.scoring.evidence import require_minimum_evidence
from bx_platform.strategies.handles import HandleRegistry
from bx_platform.versions import ENGINE_VERSION, library_versions


def admit(spec: JobSpec, archive_dir: Path | None = None, store: JobStore | None = None) -> dict[str, dict]:
    """Raise InputError naming the field if the job cannot run; return what the job pins: each strategy
    handle's resolved revision (`strategies`) and each dataset's hash (`datasets`)."""
    strategies = HandleRegistry(store.engine if store else None).admit(spec.organization, spec.strategies)
    if spec.scoring_version not in governance.released_versions():
        raise InputError(
            "scoring_version",
            f"unknown score version {spec.scoring_version!r}; released: {', '.join(governance.released_versions())}",
        )
    if spec.job_type == PRIVATE_EVALUATION and governance.load_score_version(spec.scoring_version).private_evaluation is None:
        raise InputError(
            "scoring_version",
            f"{spec.scoring_version!r} defines no official private score; a private evaluation needs one of: "
            f"{', '.join(governance.private_versions())}",
        )
    if spec.bar_steps() * spec.runs > MAX_BAR_STEPS:
        raise InputError(
            "window",
            f"job too large: {spec.bar_steps() * spec.runs:,} bar-steps (bars x markets x strategies x runs); the limit is {MAX_BAR_STEPS:,}",
        )
    datasets, calendars = {}, set()
    for i, market in enumerate(spec.markets):
        info = archive.find_dataset(market.venue, market.symbol, spec.timeframe, archive_dir)
        # the archive lists the last bar's open time; the data covers up to that bar's close
        start, end = info.start, info.end + timedelta(seconds=TIMEFRAME_SECONDS[spec.timeframe])
        if spec.window.start < start or spec.window.end > end:
            raise InputError(
                "window",
                f"{spec.window.start.isoformat()} to {spec.window.end.isoformat()} is outside the data for "
                f"{market.key} at {spec.timeframe} (its first bar opens {info.start.isoformat()}, its last bar opens "
                f"{info.end.isoformat()})",
            )
        datasets[market.key] = archive.dataset_sha256(info, archive_dir)
        calendars.add(info.calendar)
    if len(calendars) > 1:
        raise InputError("markets", f"all markets of a job must share one calendar; got {sorted(calendars)}")
    staged = job_bars(spec, spec.job_id, archive_dir)
    bars = staged["ts"].n_unique()
    if spec.job_type == PRIVATE_EVALUATION:
        sister_bars(bars_by_market(staged, spec), spec.timeframe, archive_dir)  # InputError when there is no real sister
    require_minimum_evidence(bars, spec.sessions, spec.timeframe, periods_per_year(calendars.pop(), spec.timeframe))
    return {"strategies": strategies, "datasets": datasets}


def build_record(spec: JobSpec, store: JobStore, archive_dir: Path | None = None) -> dict[str, Any]:
    """The immutable job record: the resolved spec plus everything pinned at submission. A job already
    submitted keeps its record, admitted when it was submitted: what changed since (an archive file) is checked
    against its pins when it runs, and fails it naming both hashes."""
    existing = store.get(spec.job_id)
    if existing:
        return existing.record
    pins = admit(spec, archive_dir, store)
    previous, sharpes = store.trial_history(spec.organization)
    ppy = job_periods_per_year(spec)
    return {
        "job_id": spec.job_id,
        "spec": spec.model_dump(mode="json"),
        "submitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pinned": {
            "data_manifest_hash": archive.manifest_hash(archive_dir),
            "datasets": pins["datasets"],
            "engine_version": ENGINE_VERSION,
            "scoring_version": spec.scoring_version,
            "scoring_version_sha256": governance.load_score_version(spec.scoring_version).sha256,
            "libraries": library_versions(),
            "strategies": pins["strategies"],
            "trials": trial_pins(previous, len(spec.strategies), sharpes, ppy),
            **({"scenarios": scenario_pins(spec.job_id)} if spec.job_type == PRIVATE_EVALUATION else {}),
        },
    }


def submit(
    spec: JobSpec, store: JobStore, archive_dir: Path | None = None, control: sa.Engine | None = None
) -> tuple[dict[str, Any], bool]:
    """Register the job; returns (record, created). A resubmission returns the stored record unchanged.
    With the control-plane store, a new job's trail starts: submitted by the operator's CLI, admitted."""
    record = build_record(spec, store, archive_dir)
    created = store.submit(record)
    if created and control is not None:
        record_submission(control, record, CLI_SUBMITTER)
    return (record if created else store.get(spec.job_id).record), created


def submit_job(spec: JobSpec) -> tuple[dict[str, Any], bool]:
    """`submit` on the default job store, archive and control plane (what `bx submit` does)."""
    from bx_platform.control.store import open_engine

    store, control = JobStore(), open_engine()
    try:
        return submit(spec, store, archive.default_archive_dir(), control)
    finally:
        store.dispose()
        control.dispose()
