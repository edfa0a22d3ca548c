"""The events of a job's audit trail, recorded where they happen (docs/verification.md lists them).

Each function builds one kind of event from what the lifecycle has in hand and appends it with
`bx_platform.control.audit.record_event`; `describe` there turns each kind back into plain words."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from bx_platform.control.audit import AuditEvent, record_event
from bx_platform.jobs.spec import JobSpec, canonical_json
from bx_platform.jobs.store import StoredJob
from bx_platform.market.archive import sha256_file
from bx_platform.pipeline.staging import PinnedDataChanged, check_pinned_data

CLI_SUBMITTER = "cli"  # the submitter of a job registered with `bx submit` / `bx run` (no API key)


def spec_sha256(record: dict) -> str:
    """sha256 of the job's resolved spec in canonical JSON (the job id is its first 24 hex digits)."""
    return hashlib.sha256(canonical_json(record["spec"]).encode()).hexdigest()


def record_submission(control: sa.Engine, record: dict, submitted_by: str, quote: dict | None = None) -> None:
    """`submitted` (spec hash, who) then `admitted` (quote, pinned versions and data hashes) of a new job."""
    job_id, pinned = record["job_id"], record["pinned"]
    record_event(control, job_id, "submitted", {"spec_sha256": spec_sha256(record), "submitted_by": submitted_by})
    record_event(
        control,
        job_id,
        "admitted",
        {
            "quote": quote,
            "engine_version": pinned["engine_version"],
            "scoring_version": pinned["scoring_version"],
            "scoring_version_sha256": pinned["scoring_version_sha256"],
            "libraries": pinned["libraries"],
            "strategies": {handle: pin.get("revision") for handle, pin in pinned["strategies"].items()},
            "data_manifest_hash": pinned["data_manifest_hash"],
            "datasets": pinned["datasets"],
        },
    )


def record_claim(control: sa.Engine, stored: StoredJob) -> None:
    record_event(control, stored.job_id, "claimed", {"claimed_by": stored.claimed_by, "claimed_at": stored.claimed_at})


def check_data(control: sa.Engine, record: dict, spec: JobSpec, archive_dir: Path | None = None) -> None:
    """Re-hash the job's data files against its pins (`check_pinned_data`) and record the outcome: `data_loaded`
    with the hashes checked, or `data_changed` naming both hashes, and PinnedDataChanged is raised on."""
    try:
        checked = check_pinned_data(record, spec, archive_dir)
    except PinnedDataChanged as changed:
        detail = {"market": changed.market, "path": str(changed.path), "pinned": changed.pinned, "actual": changed.actual}
        record_event(control, record["job_id"], "data_changed", detail)
        raise
    record_event(control, record["job_id"], "data_loaded", {"datasets": checked})


def record_gate(control: sa.Engine, job_id: str, check: str, gate, zone: str) -> None:
    """A quality gate's verdict: its expectations (each one checked, how many evaluations over the groups, each
    one that failed) and where the gated data went."""
    record_event(
        control,
        job_id,
        "quality_gate",
        {
            "gate": check,
            "passed": gate.success,
            "expectations": gate.expectations,
            "expectations_evaluated": gate.evaluated,
            "failed_expectations": gate.failures,
            "partition_now_in": zone,
        },
    )


def strategy_ending(strategy: str, flags: list[str], last_bar: str) -> dict:
    """How a strategy's run ended, from its flags (`halted_drawdown at T`, `strategy_violation: timeout at T`,
    docs/engine.md): the first flag names the kind, the reason and the bar; no flag: it ran to the window's end."""
    if not flags:
        return {"strategy": strategy, "kind": "completed", "reason": "ran to the end of the window", "bar_time": last_bar}
    flag = flags[0]
    reason, _, bar_time = flag.rpartition(" at ") if " at " in flag else (flag, "", None)
    kind = "halted" if flag.startswith("halted") else "violation" if flag.startswith("strategy_violation") else "flagged"
    return {"strategy": strategy, "kind": kind, "reason": reason, "bar_time": bar_time, "flags": flags}


def record_strategy_endings(control: sa.Engine, job_id: str, flags: dict[str, list[str]], last_bar: str) -> None:
    for strategy, strategy_flags in flags.items():
        record_event(control, job_id, "strategy_ended", strategy_ending(strategy, strategy_flags, last_bar))


def record_artifact(control: sa.Engine, job_id: str, artifact: str, path: Path) -> None:
    """A written table partition or document, with the sha256 of its bytes."""
    record_event(control, job_id, "artifact", {"artifact": artifact, "sha256": sha256_file(path)})


def record_finish(control: sa.Engine, record: dict, outcome: str, failure: dict | None, document: dict | None) -> AuditEvent:
    """The terminal event: the outcome, and for a failed job where and why it stopped, for a partial one the
    flags of each flagged strategy."""
    detail: dict = {"outcome": outcome}
    if outcome == "failed":
        detail.update(stage=(failure or {}).get("stage", "run"), reason=(failure or {}).get("reason", "the run failed"))
    if document and outcome == "partial":
        detail["flags"] = {s["strategy"]: s["flags"] for s in document.get("strategies", []) if s.get("flags")}
    return record_event(control, record["job_id"], "finished", detail)
