"""A job's audit trail: append-only events in the control-plane store, each chained to the one before it.

Canonical serialisation (docs/verification.md): an event is the JSON object

    {"at": ISO 8601 UTC, "detail": {...}, "job_id": ..., "kind": ..., "prev": hex sha256, "seq": 1, 2, ...}

written with sorted keys, no whitespace, UTF-8 (`bx_platform.jobs.spec.canonical_json`); that text is stored
as the row's `body` and its sha256 (hex) as the row's `hash`. `prev` is the hash of the job's previous event,
64 zeros for the first. Changing any byte of any event, removing one or reordering them breaks the chain;
`verify_chain` says where. The table refuses UPDATE and DELETE in the database itself (migration
0002_audit_trail).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bx_platform.control.store import audit_events, utcnow, write_transaction
from bx_platform.jobs.spec import canonical_json

GENESIS = "0" * 64  # the `prev` of a job's first event


@dataclass(frozen=True)
class AuditEvent:
    """One stored event: the row as read (a tampered body may not parse; `verify_chain` says so)."""

    job_id: str
    seq: int
    kind: str
    body: str
    hash: str

    @property
    def content(self) -> dict:
        return json.loads(self.body)


def event_body(job_id: str, seq: int, at: datetime, kind: str, detail: dict, prev: str) -> str:
    """The canonical text of an event (see the module docstring)."""
    return canonical_json(
        {"job_id": job_id, "seq": seq, "at": at.isoformat(timespec="microseconds"), "kind": kind, "detail": detail, "prev": prev}
    )


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def record_event(engine: sa.Engine, job_id: str, kind: str, detail: dict[str, Any], at: datetime | None = None) -> AuditEvent:
    """Append an event to the job's trail, chained to its last event (serialized per job on both backends)."""
    at = at or utcnow()
    with write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serializes writers
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:job))"), {"job": job_id})
        last = conn.execute(
            sa.select(audit_events.c.seq, audit_events.c.hash)
            .where(audit_events.c.job_id == job_id)
            .order_by(audit_events.c.seq.desc())
            .limit(1)
        ).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        body = event_body(job_id, seq, at, kind, detail, prev)
        event = AuditEvent(job_id, seq, kind, body, sha256_text(body))
        conn.execute(audit_events.insert().values(job_id=job_id, seq=seq, at=at, kind=kind, body=body, hash=event.hash))
    return event


def trail(engine: sa.Engine, job_id: str) -> list[AuditEvent]:
    """The job's events in order (empty for a job without any)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_events.c.seq, audit_events.c.kind, audit_events.c.body, audit_events.c.hash)
            .where(audit_events.c.job_id == job_id)
            .order_by(audit_events.c.seq)
        ).all()
    return [AuditEvent(job_id, row.seq, row.kind, row.body, row.hash) for row in rows]


def verify_chain(job_id: str, events: list[AuditEvent]) -> list[str]:
    """What is wrong with a job's trail, in plain words; empty when every event is intact and chained."""
    problems, prev = [], GENESIS
    for position, event in enumerate(events, start=1):
        label = f"audit event {event.seq} ({event.kind})"
        if sha256_text(event.body) != event.hash:
            problems.append(f"{label}: its content does not match its stored hash {event.hash}")
        try:
            content = event.content
        except ValueError:
            problems.append(f"{label}: its stored text is not valid JSON")
            prev = event.hash
            continue
        if event.body != canonical_json(content):
            problems.append(f"{label}: its stored text is not in canonical form")
        expected = {"job_id": job_id, "seq": position, "kind": event.kind, "prev": prev}
        for field, value in expected.items():
            if content.get(field) != value:
                problems.append(f"{label}: `{field}` is {content.get(field)!r}, expected {value!r}")
        if event.seq != position:
            problems.append(f"{label}: stored as event {event.seq}, expected {position} (an event is missing)")
        prev = event.hash
    return problems


def head_hash(events: list[AuditEvent]) -> str:
    """The hash of the last event: it fixes every event before it."""
    return events[-1].hash if events else GENESIS


# -- plain words ---------------------------------------------------------------------------------------
def _submitted(d: dict) -> str:
    return f"submitted by {d['submitted_by']} (spec sha256 {d['spec_sha256']})"


def _admitted(d: dict) -> str:
    quote = f"quoted {d['quote']['credits']} credits" if d.get("quote") else "no quote (operator submission)"
    data = ", ".join(f"{market} sha256 {sha}" for market, sha in d["datasets"].items())
    return f"admitted: {quote}; engine {d['engine_version']}, score version {d['scoring_version']}; pinned data {data}"


def _claimed(d: dict) -> str:
    return f"claimed by {d['claimed_by']} at {d['claimed_at']}"


def _data_loaded(d: dict) -> str:
    return "data loaded: every file matches its pinned hash (" + ", ".join(f"{m} sha256 {s}" for m, s in d["datasets"].items()) + ")"


def _data_changed(d: dict) -> str:
    return f"data of {d['market']} changed after submission: {d['path']} has sha256 {d['actual']}, the job pinned {d['pinned']}"


def _quality_gate(d: dict) -> str:
    verdict = "passed" if d["passed"] else "FAILED"
    failures = "; ".join(f"{f['expectation']}({f['column']}): {f['unexpected_count']} rows" for f in d["failed_expectations"])
    return f"quality gate {d['gate']} {verdict} ({d['expectations_evaluated']} expectations)" + (f": {failures}" if failures else "") + f"; data now {d['partition_now_in']}"


def _strategy_ended(d: dict) -> str:
    when = f" at bar {d['bar_time']}" if d.get("bar_time") else ""
    return f"strategy {d['strategy']} ended: {d['kind']}, {d['reason']}{when}"


def _artifact(d: dict) -> str:
    return f"{d['artifact']} written (sha256 {d['sha256']})"


def _webhook(d: dict) -> str:
    answer = d.get("status_code") or d.get("error")
    return f"webhook {d['event_type']} delivery attempt {d['attempt']} to endpoint {d['endpoint_id']}: {answer} -> {d['status']}"


def _finished(d: dict) -> str:
    if d["outcome"] == "failed":
        return f"FAILED at {d.get('stage', 'run')}: {d.get('reason', 'no reason recorded')}"
    if d["outcome"] == "partial":
        return "ended PARTIAL: " + "; ".join(f"{s}: {', '.join(flags)}" for s, flags in d.get("flags", {}).items())
    return "ended COMPLETE"


DESCRIPTIONS: dict[str, Callable[[dict], str]] = {
    "submitted": _submitted,
    "admitted": _admitted,
    "claimed": _claimed,
    "data_loaded": _data_loaded,
    "data_changed": _data_changed,
    "quality_gate": _quality_gate,
    "strategy_ended": _strategy_ended,
    "artifact": _artifact,
    "webhook_attempt": _webhook,
    "finished": _finished,
}


def describe(event: AuditEvent) -> str:
    """One line in plain words: when, then what happened."""
    try:
        content = event.content
        return f"{content['at']}  {DESCRIPTIONS[event.kind](content['detail'])}"
    except (ValueError, KeyError, TypeError):
        return f"(event {event.seq}, {event.kind}: unreadable)"
