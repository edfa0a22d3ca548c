"""Verifying a job's signed manifest offline and read-only (`bx verify`, docs/verification.md).

`verify` runs each function of `CHECKS` on the evidence and returns what does not match, in plain words. A
check is a small function `Evidence -> list[str]`; a new one (say, revealed scenario seeds) joins the list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bx_platform.control import audit, signing
from bx_platform.jobs.store import JobStore
from bx_platform.market.archive import sha256_file
from bx_platform.pipeline.manifest import MANIFEST_SCHEMA, SIGNATURE_ALGORITHM, artifact_paths, manifest_text, signed_message
from bx_platform.pipeline.trail import spec_sha256
from bx_platform.warehouse.store import Warehouse


@dataclass
class Evidence:
    """What a verification reads: the manifest file's bytes, the stores it points at, and the trusted key."""

    manifest_path: Path
    raw: bytes
    warehouse: Warehouse
    events: list[audit.AuditEvent]
    record: dict | None  # the job store's record of the job (None when the job store does not have it)
    public_key: Ed25519PublicKey
    manifest: dict | None = field(default=None)  # parsed from `raw` by `check_manifest_form`

    @property
    def job_id(self) -> str:
        return self.manifest["job_id"]


def check_manifest_form(evidence: Evidence) -> list[str]:
    """The file is a manifest of the known schema, written exactly in its canonical form (any other byte
    sequence, even one meaning the same JSON, is not what was written)."""
    evidence.manifest = None
    try:
        manifest = json.loads(evidence.raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return [f"the manifest {evidence.manifest_path} is not valid JSON ({exc})"]
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA or not isinstance(manifest.get("job_id"), str):
        return [f"the manifest {evidence.manifest_path} is not a {MANIFEST_SCHEMA} manifest"]
    evidence.manifest = manifest
    if manifest_text(manifest).encode() != evidence.raw:
        return [f"the manifest {evidence.manifest_path} is not byte for byte in its canonical form (it was edited)"]
    return []


def check_signature(evidence: Evidence) -> list[str]:
    """The signature is the trusted key's, over the manifest's content."""
    signature = evidence.manifest.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != SIGNATURE_ALGORITHM:
        return ["the manifest carries no Ed25519 signature"]
    key = evidence.public_key
    problems = []
    trusted_id = signing.key_id(key)
    if signature.get("key_id") != trusted_id or signature.get("public_key") != signing.raw_public(key).hex():
        problems.append(f"the manifest names signing key {signature.get('key_id')!r}, not the trusted key {trusted_id}")
    if not signing.signature_valid(key, signed_message(evidence.manifest), str(signature.get("value"))):
        problems.append("the signature does not match the manifest's content under the trusted key")
    return problems


def check_chain(evidence: Evidence) -> list[str]:
    """The job's audit trail is intact, and the event the manifest signed as its head is in it."""
    signed = evidence.manifest.get("audit") or {}
    problems = audit.verify_chain(evidence.job_id, evidence.events)
    count, head = signed.get("events"), signed.get("head_hash")
    if not isinstance(count, int) or count < 1 or count > len(evidence.events):
        problems.append(f"the manifest signed {count} audit events; the trail has {len(evidence.events)}")
    elif evidence.events[count - 1].hash != head:
        problems.append(f"audit event {count} has hash {evidence.events[count - 1].hash}, the manifest signed {head}")
    return problems


def check_artifacts(evidence: Evidence) -> list[str]:
    """Every file the manifest lists has its size and sha256; no file of the job is missing from the list."""
    problems, listed = [], set()
    root = evidence.warehouse.root
    for entry in evidence.manifest.get("artifacts", []):
        path = root / entry["path"]
        listed.add(path)
        if not path.is_file():
            problems.append(f"{path}: missing (the manifest lists sha256 {entry['sha256']})")
            continue
        actual = sha256_file(path)
        if actual != entry["sha256"] or path.stat().st_size != entry["bytes"]:
            problems.append(f"{path}: sha256 {actual} ({path.stat().st_size} bytes), the manifest signed {entry['sha256']} ({entry['bytes']} bytes)")
    for path in artifact_paths(evidence.warehouse, evidence.job_id):
        if path not in listed:
            problems.append(f"{path}: a file of the job that the manifest does not list")
    return problems


def check_record(evidence: Evidence) -> list[str]:
    """The job store's record is the one the manifest was signed for: its spec and pinned data hashes."""
    record = evidence.record
    if record is None:
        return [f"the job store has no job {evidence.job_id}"]
    problems = []
    if spec_sha256(record) != evidence.manifest.get("spec_sha256"):
        problems.append(f"the stored spec has sha256 {spec_sha256(record)}, the manifest signed {evidence.manifest.get('spec_sha256')}")
    if record["pinned"]["datasets"] != (evidence.manifest.get("data") or {}).get("datasets"):
        problems.append("the stored record's pinned data hashes differ from the manifest's")
    if record["pinned"].get("scenarios") != (evidence.manifest.get("data") or {}).get("scenario_commitments"):
        problems.append("the stored record's scenario seed commitments differ from the manifest's")
    return problems


CHECKS: list[Callable[[Evidence], list[str]]] = [check_signature, check_chain, check_artifacts, check_record]


def verify(evidence: Evidence) -> list[str]:
    """Every mismatch found, in plain words; empty when the manifest, the trail and every artifact agree."""
    problems = check_manifest_form(evidence)
    if evidence.manifest is None:
        return problems
    for check in CHECKS:
        try:
            problems += check(evidence)
        except (KeyError, TypeError, ValueError, AttributeError, OSError) as exc:  # a field missing or of another type
            problems.append(f"{check.__name__}: the manifest is malformed where this check reads it ({type(exc).__name__}: {exc})")
    return problems


def gather(manifest_path: Path, warehouse: Warehouse, jobs: JobStore, control, public_key: Ed25519PublicKey) -> Evidence:
    """Read what `verify` needs: the manifest's bytes, and (by the job id it names) the job's trail and record.
    Reads only."""
    raw = manifest_path.read_bytes()
    try:
        job_id = json.loads(raw).get("job_id")
    except (ValueError, AttributeError):
        job_id = None
    job_id = job_id if isinstance(job_id, str) else manifest_path.stem
    stored = jobs.get(job_id)
    return Evidence(
        manifest_path=manifest_path,
        raw=raw,
        warehouse=warehouse,
        events=audit.trail(control, job_id),
        record=stored.record if stored else None,
        public_key=public_key,
    )
