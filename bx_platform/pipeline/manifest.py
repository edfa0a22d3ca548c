"""A finished job's signed result manifest (format: docs/verification.md).

Written by `finish_job` after the result and the terminal audit event: what the job is (id, spec hash),
what it ran with (versions, data hashes), the sha256 of every file it produced (each Parquet partition of the
job in the warehouse, whichever zone, the result document; the recorded remote answers are the
`remote_calls` partition), the head of its audit trail and its timestamps, signed with the platform's Ed25519
key over the canonical JSON of everything but `signature`. The file is that same content, pretty-printed
canonically, so a changed byte anywhere is either a different content or a non-canonical file.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from bx_platform.control import audit, signing
from bx_platform.jobs.spec import canonical_json
from bx_platform.jobs.store import JobStore
from bx_platform.market.archive import sha256_file
from bx_platform.pipeline.trail import spec_sha256
from bx_platform.versions import RESULT_SCHEMA_VERSION
from bx_platform.warehouse.schema import TABLES
from bx_platform.warehouse.store import ZONES, Warehouse

MANIFEST_SCHEMA = "bx-manifest-1"
SIGNATURE_ALGORITHM = "Ed25519"


def manifest_path(warehouse: Warehouse, job_id: str) -> Path:
    return warehouse.root / "manifests" / f"{job_id}.json"


def artifact_paths(warehouse: Warehouse, job_id: str) -> list[Path]:
    """Every file the job has in the warehouse: its partition of each table in each zone, its result document."""
    partitions = [warehouse.partition_path(zone, table, job_id) for zone in ZONES for table in TABLES]
    return [path for path in [*partitions, warehouse.results / f"{job_id}.json"] if path.exists()]


def artifact_entry(warehouse: Warehouse, path: Path) -> dict:
    return {"path": path.relative_to(warehouse.root).as_posix(), "sha256": sha256_file(path), "bytes": path.stat().st_size}


def build_manifest(record: dict, outcome: str, warehouse: Warehouse, jobs: JobStore, control: sa.Engine) -> dict:
    """The unsigned manifest of a finished job."""
    job_id, pinned = record["job_id"], record["pinned"]
    stored = jobs.get(job_id)
    events = audit.trail(control, job_id)
    return {
        "schema": MANIFEST_SCHEMA,
        "job_id": job_id,
        "outcome": outcome,
        "spec_sha256": spec_sha256(record),
        "versions": {
            "engine": pinned["engine_version"],
            "scoring": pinned["scoring_version"],
            "scoring_sha256": pinned["scoring_version_sha256"],
            "result_schema": RESULT_SCHEMA_VERSION,
            "libraries": pinned["libraries"],
            "strategies": {handle: pin.get("revision") for handle, pin in pinned["strategies"].items()},
        },
        "data": {"manifest_hash": pinned["data_manifest_hash"], "datasets": pinned["datasets"],
                 "scenario_commitments": pinned.get("scenarios")},  # a private evaluation's, else null
        "artifacts": [artifact_entry(warehouse, path) for path in artifact_paths(warehouse, job_id)],
        "audit": {"events": len(events), "head_hash": audit.head_hash(events)},
        "timestamps": {
            "submitted_at": record["submitted_at"],
            "claimed_at": stored.claimed_at,
            "finished_at": stored.finished_at,
            "signed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }


def signed_message(manifest: dict) -> bytes:
    """The bytes the signature is over: the canonical JSON of the manifest without its `signature`."""
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"}).encode()


def manifest_text(manifest: dict) -> str:
    """The one file form of a manifest: sorted keys, two-space indent, a final newline."""
    return json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def sign_manifest(manifest: dict) -> dict:
    key = signing.signing_key()
    public = key.public_key()
    return {
        **manifest,
        "signature": {
            "algorithm": SIGNATURE_ALGORITHM,
            "key_id": signing.key_id(public),
            "public_key": signing.raw_public(public).hex(),
            "value": signing.sign(key, signed_message(manifest)),
        },
    }


def write_manifest(record: dict, outcome: str, warehouse: Warehouse, jobs: JobStore, control: sa.Engine) -> Path:
    """Build, sign and write the job's manifest (atomically: a reader sees the whole file or the previous one)."""
    signed = sign_manifest(build_manifest(record, outcome, warehouse, jobs, control))
    return warehouse.write_text(manifest_text(signed), manifest_path(warehouse, record["job_id"]))


def altered_partitions(warehouse: Warehouse, table: str) -> dict[str, str]:
    """Finished jobs whose verified partition of `table` is no longer the file their manifest hashed, each with
    the problem in plain words. Jobs without a manifest (still running) are not judged here."""
    altered = {}
    for path in sorted((warehouse.root / "manifests").glob("*.json")):
        try:
            manifest = json.loads(path.read_bytes())
            hashed = {entry["path"]: entry["sha256"] for entry in manifest["artifacts"]}
            job_id = manifest["job_id"]
        except (OSError, ValueError, KeyError, TypeError):
            altered[path.stem] = f"its manifest {path} is unreadable"
            continue
        partition = warehouse.partition_path("verified", table, job_id)
        relative = partition.relative_to(warehouse.root).as_posix()
        if relative in hashed and (not partition.exists() or sha256_file(partition) != hashed[relative]):
            altered[job_id] = f"{partition} is not the file its signed manifest hashed ({hashed[relative]})"
    return altered
